// Named architectures as layer patterns over the zoo's mixers. A preset turns
// user options (sizes, and any mixer config field such as dState) into a full
// ModelConfig; hybrids are just patterns. Any registered mixer name also works
// as a preset: a plain stack of that mixer with SwiGLU MLPs.

import { getMixerSpec, mixerSpecs } from '../layers/registry.js';
import type { LayerSpec, MlpKind, ModelConfig, NormKind } from './config.js';

export interface ModelOptions {
  vocabSize?: number;
  dModel?: number;
  nLayer?: number;
  seed?: number;
  norm?: NormKind;
  normEps?: number;
  mlpHidden?: number;
  experts?: number;
  topK?: number;
  tieEmbeddings?: boolean;
  /** any other field is a mixer config field (e.g. dState, heads), given to every mixer that has it */
  [field: string]: unknown;
}

export interface Preset {
  summary: string;
  /** the layer pattern for nLayer layers */
  layers(nLayer: number): LayerSpec[];
  defaults?: Partial<Omit<ModelConfig, 'layers' | 'architecture'>>;
}

const every = (n: number, mixer: string, mlp: MlpKind): LayerSpec[] => Array.from({ length: n }, () => ({ mixer, mlp }));

export const presets: Record<string, Preset> = {
  mamba: { summary: 'Mamba: selective-scan blocks, no MLP (Gu & Dao 2023)', layers: (n) => every(n, 'mamba', 'none'), defaults: { tieEmbeddings: true } },
  mamba2: { summary: 'Mamba-2: SSD blocks, no MLP (Dao & Gu 2024)', layers: (n) => every(n, 'mamba2', 'none'), defaults: { tieEmbeddings: true } },
  llama: { summary: 'Llama: RoPE multi-head attention with GQA, SwiGLU MLP (the attention baseline)', layers: (n) => every(n, 'attention', 'swiglu') },
  hawk: { summary: 'Hawk: RG-LRU recurrent blocks with GeGLU MLPs (De et al. 2024)', layers: (n) => every(n, 'rglru', 'geglu'), defaults: { tieEmbeddings: true } },
  griffin: {
    summary: 'Griffin / RecurrentGemma: two RG-LRU blocks then one local (sliding-window) MQA block, GeGLU MLPs',
    layers: (n) => Array.from({ length: n }, (_, i) => ({ mixer: i % 3 === 2 ? 'local-attention' : 'rglru', mlp: 'geglu' as const })),
    defaults: { tieEmbeddings: true },
  },
  jamba: {
    summary: 'Jamba: Mamba with one attention layer in eight (offset 4), MoE top-2 every other layer (Lieber et al. 2024)',
    layers: (n) => Array.from({ length: n }, (_, i) => ({ mixer: i % 8 === 4 ? 'attention' : 'mamba', mlp: (i % 2 === 1 ? 'moe' : 'swiglu') as MlpKind })),
    defaults: { experts: 4, topK: 2 },
  },
  zamba: {
    summary: 'Zamba: a Mamba backbone with one shared attention block applied every 6 layers (Glorioso et al. 2024)',
    layers: (n) => {
      const out: LayerSpec[] = [];
      for (let i = 0; i < n; i++) {
        out.push({ mixer: 'mamba', mlp: 'none' });
        if (i % 6 === 5) out.push({ mixer: 'attention', mlp: 'swiglu', sharedGroup: 'attention' });
      }
      return out;
    },
  },
  xlstm: {
    summary: 'xLSTM[7:1]: mLSTM blocks with an sLSTM block (and its MLP) every eighth layer (Beck et al. 2024)',
    layers: (n) => Array.from({ length: n }, (_, i) => (i % 8 === 7 ? { mixer: 'slstm', mlp: 'geglu' as const } : { mixer: 'mlstm', mlp: 'none' as const })),
  },
  retnet: { summary: 'RetNet: multi-scale retention with SwiGLU MLPs (Sun et al. 2023)', layers: (n) => every(n, 'retnet', 'swiglu') },
  gla: { summary: 'GLA Transformer: gated linear attention with SwiGLU MLPs (Yang et al. 2024)', layers: (n) => every(n, 'gla', 'swiglu') },
};

const MODEL_FIELDS = new Set(['vocabSize', 'dModel', 'nLayer', 'seed', 'norm', 'normEps', 'mlpHidden', 'experts', 'topK', 'tieEmbeddings']);

/** Preset names and the mixers usable as plain stacks. */
export function modelNames(): string[] {
  return [...Object.keys(presets), ...mixerSpecs().map((s) => s.name).filter((n) => !(n in presets))];
}

export function presetConfig(name: string, options: ModelOptions = {}): ModelConfig {
  if (typeof options !== 'object' || options === null) throw new TypeError(`models.create: options must be an object`);
  const preset = presets[name];
  let layers: LayerSpec[];
  const nLayer = options.nLayer ?? 2;
  if (!Number.isInteger(nLayer) || nLayer < 1 || nLayer > 1024) throw new RangeError(`models.create: nLayer must be an integer in [1, 1024], got ${String(nLayer)}`);
  if (preset) {
    layers = preset.layers(nLayer);
  } else if (mixerSpecs().some((s) => s.name === name)) {
    layers = every(nLayer, name, 'swiglu');
  } else {
    throw new RangeError(`models.create: unknown model '${name}' (known: ${modelNames().join(', ')})`);
  }
  // Mixer fields go to every mixer that declares them; a field nobody declares is a typo.
  const mixerFields = Object.keys(options).filter((k) => !MODEL_FIELDS.has(k));
  for (const field of mixerFields) {
    const takers = layers.filter((l) => field in getMixerSpec(l.mixer).defaults);
    if (takers.length === 0) {
      throw new TypeError(`models.create: unknown option '${field}' for '${name}' (model options: ${[...MODEL_FIELDS].join(', ')}; mixer options: ${[...new Set(layers.flatMap((l) => Object.keys(getMixerSpec(l.mixer).defaults)))].join(', ')})`);
    }
  }
  layers = layers.map((l) => {
    const defaults = getMixerSpec(l.mixer).defaults as Record<string, unknown>;
    const mixerConfig: Record<string, unknown> = { ...l.mixerConfig };
    for (const field of mixerFields) if (field in defaults) mixerConfig[field] = options[field];
    return { ...l, mixerConfig };
  });
  const dModel = options.dModel ?? 64;
  const base = preset?.defaults ?? {};
  return {
    architecture: name,
    vocabSize: options.vocabSize ?? 256,
    dModel,
    layers,
    norm: options.norm ?? base.norm ?? 'rms',
    normEps: options.normEps ?? base.normEps ?? 1e-5,
    mlpHidden: options.mlpHidden ?? base.mlpHidden ?? Math.ceil((8 * dModel) / 3 / 8) * 8,
    experts: options.experts ?? base.experts ?? 4,
    topK: options.topK ?? base.topK ?? 2,
    tieEmbeddings: options.tieEmbeddings ?? base.tieEmbeddings ?? false,
    seed: options.seed ?? 0,
  };
}
