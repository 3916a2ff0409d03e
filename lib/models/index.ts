// `models`: create a language model by architecture name, or load one from a checkpoint folder.

import { LanguageModel } from './model.js';
import { modelNames, presetConfig, presets, type ModelOptions } from './presets.js';
import type { ModelConfig } from './config.js';
import { checkModelDevice, loadModel, saveModel } from './checkpoint.js';
import type { Device } from '../tensor.js';

/** Where models.create/fromConfig/load put the model: 'cpu' (default) or 'cuda' (parameters uploaded once). */
export interface ModelPlacement {
  device?: Device;
}

function placed(where: string, placement: unknown): Device {
  if (placement !== undefined && (typeof placement !== 'object' || placement === null)) throw new TypeError(`${where}: the third argument must be an options object like { device: 'cuda' }`);
  return checkModelDevice(where, (placement as ModelPlacement | undefined)?.device);
}

export const models = {
  /**
   * A model with seeded random weights: a preset (mamba, llama, griffin, jamba, …) or any zoo mixer name.
   * `{ device: 'cuda' }` puts it on the GPU (an Error saying why when CUDA is not available).
   */
  create(name: string, options: ModelOptions = {}, placement: ModelPlacement = {}): LanguageModel {
    const device = placed('models.create', placement);
    const model = new LanguageModel(presetConfig(name, options));
    return device === 'cuda' ? model.toDeviceSync('cuda') : model;
  },
  /** A model from a full config (e.g. a saved one). */
  fromConfig(config: ModelConfig, placement: ModelPlacement = {}): LanguageModel {
    const device = placed('models.fromConfig', placement);
    const model = new LanguageModel(config);
    return device === 'cuda' ? model.toDeviceSync('cuda') : model;
  },
  /**
   * A model from a checkpoint folder (config.json + safetensors; Hugging Face, state-spaces or crossroad format), with
   * its tokenizer when the folder has one; `device: 'cuda'` uploads the weights once, in their stored dtype.
   */
  load(dir: string, options: { mmap?: boolean; device?: Device } = {}): Promise<LanguageModel> {
    return loadModel(dir, options);
  },
  /** Writes config.json + model.safetensors. */
  save(model: LanguageModel, dir: string): void {
    saveModel(model, dir);
  },
  /** Names accepted by create(). */
  names(): string[] {
    return modelNames();
  },
  presets,
};

export { LanguageModel, type TokenInput, type ForwardOptions, type GenerateOptions, type GeneratedToken } from './model.js';
export { ModelState } from './state.js';
export type { TextTokenizer } from './tokenizer.js';
export type { ModelConfig, LayerSpec, MlpKind, NormKind } from './config.js';
export type { ModelOptions } from './presets.js';
