// `models`: create a language model by architecture name, or load one from a checkpoint folder.

import { LanguageModel } from './model.js';
import { modelNames, presetConfig, presets, type ModelOptions } from './presets.js';
import type { ModelConfig } from './config.js';
import { loadModel, saveModel } from './checkpoint.js';

export const models = {
  /** A model with seeded random weights: a preset (mamba, llama, griffin, jamba, …) or any zoo mixer name. */
  create(name: string, options: ModelOptions = {}): LanguageModel {
    return new LanguageModel(presetConfig(name, options));
  },
  /** A model from a full config (e.g. a saved one). */
  fromConfig(config: ModelConfig): LanguageModel {
    return new LanguageModel(config);
  },
  /** A model from a checkpoint folder (config.json + safetensors; Hugging Face, state-spaces or crossroad format), with its tokenizer when the folder has one. */
  load(dir: string, options: { mmap?: boolean } = {}): Promise<LanguageModel> {
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
