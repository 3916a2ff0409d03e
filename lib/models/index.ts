// `models`: create a language model by architecture name, or load one from a checkpoint folder.

import { LanguageModel } from './model.js';
import { modelNames, presetConfig, presets, type ModelOptions } from './presets.js';
import type { ModelConfig } from './config.js';

export const models = {
  /** A model with seeded random weights: a preset (mamba, llama, griffin, jamba, …) or any zoo mixer name. */
  create(name: string, options: ModelOptions = {}): LanguageModel {
    return new LanguageModel(presetConfig(name, options));
  },
  /** A model from a full config (e.g. a saved one). */
  fromConfig(config: ModelConfig): LanguageModel {
    return new LanguageModel(config);
  },
  /** Names accepted by create(). */
  names(): string[] {
    return modelNames();
  },
  presets,
};

export { LanguageModel, type TokenInput, type ForwardOptions, type GenerateOptions, type GeneratedToken } from './model.js';
export { ModelState } from './state.js';
export type { ModelConfig, LayerSpec, MlpKind, NormKind } from './config.js';
export type { ModelOptions } from './presets.js';
