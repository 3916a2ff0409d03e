// Gated Linear Attention (Yang, Wang, Shen, Panda & Kim 2024), as
// flash-linear-attention's GatedLinearAttention layer (fla-org/flash-linear-attention,
// fla/layers/gla.py; defaults: no short conv, no feature map, swish output gate
// fused with the norm). Per head (key size K = expandK·dModel/heads, value size
// V = expandV·dModel/heads):
//
//   α_t = exp(logsigmoid(W_gk2 W_gk1 x_t + b_gk) / τ)     data-dependent decay per key channel, low rank
//   S_t = diag(α_t) S_{t−1} + k_tᵀ v_t,   o_t = K^(−1/2) q_t S_t
//   y_t = W_o [RMSNorm_head(o_t) ⊙ w ⊙ swish(W_g x_t)]     (fla's FusedRMSNormGated, w shared by the heads)
//
// τ = gate_logit_normalizer (16) keeps α close to 1 at init. Both modes are the
// linearAttention op with gk = log α (chunked for a sequence, the recurrence
// at L = 1), and rmsNorm with its gate option. State: S [b, h, K, V].

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { xavierUniform } from './normalised_linear_attention.js';

export interface GlaConfig extends BaseConfig {
  heads: number;
  /** key width = ⌊expandK·dModel⌋ (fla: 0.5) */
  expandK: number;
  /** value width = ⌊expandV·dModel⌋ (fla: 1) */
  expandV: number;
  /** rank of the gk projection (fla: gate_low_rank_dim 16) */
  gateLowRankDim: number;
  /** τ: log α = logsigmoid(·)/τ (fla: gate_logit_normalizer 16) */
  gateLogitNormalizer: number;
  /** fla: norm_eps 1e-5 */
  normEps: number;
}

type GlaState = { S: Tensor };

class GlaMixer implements Mixer<GlaState> {
  readonly kind = 'gla';
  readonly dModel: number;
  readonly heads: number;
  /** per head */
  readonly keyDim: number;
  readonly valueDim: number;
  readonly parameters: Record<string, Tensor>;

  constructor(readonly config: Readonly<GlaConfig>) {
    const d = (this.dModel = config.dModel);
    const h = (this.heads = config.heads);
    const keyWidth = Math.floor(d * config.expandK);
    const valueWidth = Math.floor(d * config.expandV);
    if (!Number.isInteger(h) || h < 1) throw new RangeError(`gla: heads must be a positive integer, got ${h}`);
    if (keyWidth < h || keyWidth % h !== 0) throw new RangeError(`gla: ⌊expandK·dModel⌋ = ${keyWidth} must be a positive multiple of heads ${h}`);
    if (valueWidth < h || valueWidth % h !== 0) throw new RangeError(`gla: ⌊expandV·dModel⌋ = ${valueWidth} must be a positive multiple of heads ${h}`);
    const r = config.gateLowRankDim;
    if (!Number.isInteger(r) || r < 1) throw new RangeError(`gla: gateLowRankDim must be a positive integer, got ${r}`);
    if (!(config.gateLogitNormalizer > 0)) throw new RangeError(`gla: gateLogitNormalizer must be > 0, got ${config.gateLogitNormalizer}`);
    if (!(config.normEps >= 0)) throw new RangeError(`gla: normEps must be ≥ 0, got ${config.normEps}`);
    this.keyDim = keyWidth / h;
    this.valueDim = valueWidth / h;
    const init = new Init(config.seed ?? 0);
    // The GLA layer's _initialize_weights: Xavier-uniform with gain 2^−2.5, zero biases; the norm weight ones.
    const w = (out: number, inF: number) => xavierUniform(init, out, inF, 2 ** -2.5);
    this.parameters = {
      'q_proj.weight': w(keyWidth, d),
      'k_proj.weight': w(keyWidth, d),
      'v_proj.weight': w(valueWidth, d),
      'g_proj.weight': w(valueWidth, d),
      'gk_proj.0.weight': w(r, d),
      'gk_proj.1.weight': w(keyWidth, r),
      'gk_proj.1.bias': init.zeros([keyWidth]),
      'g_norm_swish_gate.weight': init.full([this.valueDim], 1),
      'o_proj.weight': w(d, valueWidth),
    };
  }

  createState(batch: number): GlaState {
    return { S: Tensor.zeros([batch, this.heads, this.keyDim, this.valueDim]) };
  }

  forward(run: OpRunner, x: Tensor, state?: GlaState): MixerOutput<GlaState> {
    const [batch, L] = checkInput(this.kind, this.dModel, x);
    const { heads: h, keyDim: K, valueDim: V } = this;
    if (state !== undefined) checkState(this.kind, state, { S: [batch, h, K, V] });
    const p = this.parameters;
    const proj = (name: string, per: number) => run.linear({ x, weight: p[name]! }).y.reshape([batch, L, h, per]);
    const q = proj('q_proj.weight', K);
    const k = proj('k_proj.weight', K);
    const v = proj('v_proj.weight', V);
    const low = run.linear({ x, weight: p['gk_proj.0.weight']! }).y;
    const logits = run.linear({ x: low, weight: p['gk_proj.1.weight']!, bias: p['gk_proj.1.bias'] }).y;
    const gk = run.elementwise({ expr: `logsigmoid(a) / ${this.config.gateLogitNormalizer}`, inputs: { a: logits } }).y.reshape([batch, L, h, K]);
    const { o, finalState } = run.linearAttention({ q, k, v, gk, scale: K ** -0.5, initialState: state?.S, outputFinalState: state !== undefined });
    // FusedRMSNormGated: RMSNorm over each head's V channels, × weight, × swish(g).
    const gated = run.rmsNorm({ x: o, weight: p['g_norm_swish_gate.weight'], gate: proj('g_proj.weight', V), eps: this.config.normEps }).y;
    const out = run.linear({ x: gated.reshape([batch, L, h * V]), weight: p['o_proj.weight']! }).y;
    return state === undefined ? { y: out } : { y: out, state: { S: finalState! } };
  }
}

export const glaSpec = registerMixer<GlaConfig>({
  name: 'gla',
  family: 'linear-attention',
  paper: {
    title: 'Gated Linear Attention Transformers with Hardware-Efficient Training',
    authors: 'Yang, Wang, Shen, Panda, Kim',
    year: 2024,
    url: 'https://arxiv.org/abs/2312.06635',
  },
  summary: 'S_t = diag(α_t) S_{t−1} + k_tᵀv_t, o_t = q_t S_t with a data-dependent low-rank gate α_t per key channel; RMSNorm ⊙ swish gate',
  defaults: { heads: 4, expandK: 0.5, expandV: 1, gateLowRankDim: 16, gateLogitNormalizer: 16, normEps: 1e-5 },
  variants: [{ heads: 2, expandV: 2, gateLogitNormalizer: 1 }],
  constantState: true,
  create: (config) => new GlaMixer(config),
});
