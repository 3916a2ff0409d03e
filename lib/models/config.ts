// A language model's configuration: the layer pattern is data, so a hybrid
// (Jamba, Griffin, Zamba) is a list of layer specs, not new code.
//
//   tokens → embedding → for each layer: x += mixer(norm(x)); x += mlp(norm2(x)) → norm_f → lm_head → logits

export type NormKind = 'rms' | 'layer';
/**
 * What follows the mixer in a block: nothing, a GELU MLP, a SwiGLU MLP (Llama), a GeGLU MLP (gelu-tanh gate,
 * RecurrentGemma), GeGLU with the exact (erf) GELU (Zamba), or a sparse mixture of SwiGLU experts (Mixtral, Jamba).
 */
export type MlpKind = 'none' | 'gelu' | 'swiglu' | 'geglu' | 'geglu-exact' | 'moe';

export interface LayerSpec {
  /** registry name of the mixer */
  mixer: string;
  /** the mixer's config fields (beyond dModel/seed) */
  mixerConfig?: Record<string, unknown>;
  mlp?: MlpKind;
  /**
   * Layers naming the same group share one set of parameters (mixer, norms and MLP) but keep their own state —
   * Zamba's shared attention block applied every k layers.
   */
  sharedGroup?: string;
  /**
   * Zamba's shared transformer block: it reads norm(concat(x, embeddings)) (a 2·dModel norm; its mixer is built with
   * dModel = 2·dModel), then norm2 → MLP; its output t is not added to the residual stream but handed to the next
   * layer, which must have `zambaInject`.
   */
  zambaShared?: boolean;
  /** Zamba's hybrid layer: its own `linear` (dModel × dModel) maps the preceding block's t, and the mixer reads norm(x + linear(t)) */
  zambaInject?: boolean;
}

export interface ModelConfig {
  /** preset the config came from (informational; saved in config.json) */
  architecture: string;
  vocabSize: number;
  dModel: number;
  layers: LayerSpec[];
  norm: NormKind;
  normEps: number;
  /** MLP / expert hidden size */
  mlpHidden: number;
  experts: number;
  topK: number;
  tieEmbeddings: boolean;
  seed: number;
  /** multiplies the embedding output (Gemma / RecurrentGemma: √dModel); default 1 */
  embedScale?: number;
  /** > 0: logits → softcap·tanh(logits / softcap) (RecurrentGemma: 30); default 0 (off) */
  logitSoftcap?: number;
  /** biases on the MLP's projections (RecurrentGemma); default false */
  mlpBias?: boolean;
}

const MLP_KINDS: readonly MlpKind[] = ['none', 'gelu', 'swiglu', 'geglu', 'geglu-exact', 'moe'];

function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1) {
    throw new RangeError(`model config: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Checks a full config; throws a TypeError/RangeError naming the field. */
export function checkModelConfig(c: ModelConfig): ModelConfig {
  if (typeof c !== 'object' || c === null) throw new TypeError('model config must be an object');
  positiveInt('vocabSize', c.vocabSize);
  positiveInt('dModel', c.dModel);
  positiveInt('mlpHidden', c.mlpHidden);
  if (!Array.isArray(c.layers) || c.layers.length === 0) throw new RangeError('model config: layers must be a non-empty array of layer specs');
  c.layers.forEach((l, i) => {
    if (typeof l !== 'object' || l === null || typeof l.mixer !== 'string') throw new TypeError(`model config: layers[${i}].mixer must be a mixer name`);
    if (l.mlp !== undefined && !MLP_KINDS.includes(l.mlp)) throw new RangeError(`model config: layers[${i}].mlp must be one of ${MLP_KINDS.join(', ')}, got ${JSON.stringify(l.mlp)}`);
    if (l.zambaInject && !c.layers[i - 1]?.zambaShared) throw new RangeError(`model config: layers[${i}].zambaInject needs a zambaShared layer before it`);
    if (l.zambaShared && !c.layers[i + 1]?.zambaInject) throw new RangeError(`model config: layers[${i}].zambaShared must be followed by a zambaInject layer`);
    if (l.mlp === 'moe') {
      positiveInt('experts', c.experts);
      positiveInt('topK', c.topK);
      if (c.topK > c.experts) throw new RangeError(`model config: topK (${c.topK}) must not exceed experts (${c.experts})`);
    }
  });
  if (c.norm !== 'rms' && c.norm !== 'layer') throw new RangeError(`model config: norm must be 'rms' or 'layer', got ${JSON.stringify(c.norm)}`);
  if (typeof c.normEps !== 'number' || !(c.normEps > 0)) throw new RangeError(`model config: normEps must be a positive number, got ${JSON.stringify(c.normEps)}`);
  if (typeof c.tieEmbeddings !== 'boolean') throw new TypeError('model config: tieEmbeddings must be a boolean');
  if (typeof c.seed !== 'number' || !Number.isFinite(c.seed)) throw new TypeError('model config: seed must be a finite number');
  if (c.embedScale !== undefined && !(typeof c.embedScale === 'number' && Number.isFinite(c.embedScale))) throw new RangeError(`model config: embedScale must be a finite number, got ${JSON.stringify(c.embedScale)}`);
  if (c.logitSoftcap !== undefined && !(typeof c.logitSoftcap === 'number' && c.logitSoftcap >= 0)) throw new RangeError(`model config: logitSoftcap must be a number ≥ 0, got ${JSON.stringify(c.logitSoftcap)}`);
  return c;
}
