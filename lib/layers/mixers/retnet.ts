// RetNet multi-scale retention (Sun et al. 2023), as torchscale's
// MultiScaleRetention + RetNetRelPos (microsoft/torchscale,
// torchscale/component/multiscale_retention.py, torchscale/architecture/retnet.py).
// Per head h (key size K = dModel/heads, value size V = valueFactor·dModel/heads):
//
//   q_n = R_n W_q x_n,  k_n = R_n W_k x_n · K^(−1/2),  v_n = W_v x_n
//     R_n rotates channel pairs (2i, 2i+1) by n·θ_i, θ_i = 10000^(−i/(K/2 − 1))  (torchscale's linspace)
//   S_n = γ_h S_{n−1} + k_nᵀ v_n,   o_n = q_n S_n,   γ_h = 1 − 2^(−5−h)
//   y = W_out (swish(W_g x) ⊙ GroupNorm_heads(o))
//
// torchscale divides its parallel scores by their row sums and its recurrent
// state by a running scale ("invariant after normalization"): those are
// positive factors per head and token, which the per-head norm removes (up to
// its eps), so the plain recurrence above is computed.
//
// Parallel mode: the chunked linearAttention with g = log γ_h (a constant per
// head, expanded to [b, L, h]); the rotation is the rope op (interleaved pairs;
// its θ_i = base^(−2i/K) equals torchscale's linspace angles for
// base = 10000^(K/(K − 2))). Recurrent mode: the same ops at L = 1, the
// rotation offset by the tokens seen. State: S [b, h, K, V] and offset (tokens so far).

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { xavierUniform } from './normalised_linear_attention.js';

export interface RetNetConfig extends BaseConfig {
  heads: number;
  /** value width / dModel (torchscale: decoder_value_embed_dim / decoder_embed_dim; the paper uses 2) */
  valueFactor: number;
  /** the per-head norm: 'rms' (torchscale today: RMSNorm, no affine) or 'layer' (the paper's GroupNorm, no affine) */
  groupNorm: 'rms' | 'layer';
  /** torchscale RetNetConfig layernorm_eps */
  normEps: number;
}

type RetNetState = { S: Tensor; offset: number };

class RetNetMixer implements Mixer<RetNetState> {
  readonly kind = 'retnet';
  readonly dModel: number;
  readonly heads: number;
  readonly keyDim: number;
  readonly valueDim: number;
  readonly parameters: Record<string, Tensor>;
  /** log γ_h [h] */
  readonly logDecay: Tensor;
  private deviceLogDecay: Tensor | undefined;
  /** rope base that gives torchscale's angles 10000^(−i/(K/2 − 1)) */
  private readonly ropeBase: number;

  constructor(readonly config: Readonly<RetNetConfig>) {
    const d = (this.dModel = config.dModel);
    const h = (this.heads = config.heads);
    if (!Number.isInteger(h) || h < 1 || d % h !== 0) throw new RangeError(`retnet: heads must be a positive integer dividing dModel ${d}, got ${h}`);
    const K = (this.keyDim = d / h);
    if (K % 2 !== 0) throw new RangeError(`retnet: the key size per head dModel/heads must be even for the rotation, got ${K}`);
    const V = (this.valueDim = (config.valueFactor * d) / h);
    if (!Number.isInteger(V) || V < 1) throw new RangeError(`retnet: valueFactor·dModel/heads must be a positive integer, got ${V}`);
    if (config.groupNorm !== 'rms' && config.groupNorm !== 'layer') throw new RangeError(`retnet: groupNorm must be 'rms' or 'layer', got '${config.groupNorm}'`);
    if (!(config.normEps >= 0)) throw new RangeError(`retnet: normEps must be ≥ 0, got ${config.normEps}`);
    this.ropeBase = K > 2 ? 10000 ** (K / (K - 2)) : 10000;
    this.logDecay = new Tensor(Float32Array.from({ length: h }, (_, i) => Math.log(1 - 2 ** (-5 - i))), [h]);
    const init = new Init(config.seed ?? 0);
    // torchscale reset_parameters: Xavier-uniform, gain 2^−2.5 (out_proj 2^−1); no biases.
    this.parameters = {
      'q_proj.weight': xavierUniform(init, d, d, 2 ** -2.5),
      'k_proj.weight': xavierUniform(init, d, d, 2 ** -2.5),
      'v_proj.weight': xavierUniform(init, h * V, d, 2 ** -2.5),
      'g_proj.weight': xavierUniform(init, h * V, d, 2 ** -2.5),
      'out_proj.weight': xavierUniform(init, d, h * V, 2 ** -1),
    };
  }

  createState(batch: number): RetNetState {
    return { S: Tensor.zeros([batch, this.heads, this.keyDim, this.valueDim]), offset: 0 };
  }

  forward(run: OpRunner, x: Tensor, state?: RetNetState): MixerOutput<RetNetState> {
    const [batch, L] = checkInput(this.kind, this.dModel, x);
    const { heads: h, keyDim: K, valueDim: V } = this;
    if (state !== undefined) {
      checkState(this.kind, state, { S: [batch, h, K, V] });
      if (!Number.isInteger(state.offset) || state.offset < 0) throw new TypeError(`retnet: state.offset must be a non-negative integer (a state from createState()), got ${String(state.offset)}`);
    }
    const offset = state?.offset ?? 0;
    const p = this.parameters;
    const rotated = (name: string) => {
      const t = run.linear({ x, weight: p[name]! }).y.reshape([batch, L, h, K]);
      return run.rope({ x: t, offset, base: this.ropeBase, interleaved: true }).y;
    };
    const q = rotated('q_proj.weight');
    const k = rotated('k_proj.weight');
    const v = run.linear({ x, weight: p['v_proj.weight']! }).y.reshape([batch, L, h, V]);
    // A constant, not a parameter: a device forward uses a copy uploaded once.
    const logDecay = x.device === 'cpu' ? this.logDecay : (this.deviceLogDecay ??= this.logDecay.toDeviceSync(x.device));
    const g = run.expand({ x: logDecay, shape: [batch, L, h] }).y;
    const { o, finalState } = run.linearAttention({ q, k, v, g, scale: K ** -0.5, initialState: state?.S, outputFinalState: state !== undefined });
    // GroupNorm over heads (no affine), then the swish output gate: swish(W_g x) ⊙ norm(o).
    const gate = run.linear({ x, weight: p['g_proj.weight']! }).y;
    const normArgs = { x: o.reshape([batch, L, h * V]), gate, groupSize: V, eps: this.config.normEps };
    const normed = (this.config.groupNorm === 'rms' ? run.rmsNorm(normArgs) : run.layerNorm(normArgs)).y;
    const out = run.linear({ x: normed, weight: p['out_proj.weight']! }).y;
    return state === undefined ? { y: out } : { y: out, state: { S: finalState!, offset: offset + L } };
  }
}

export const retnetSpec = registerMixer<RetNetConfig>({
  name: 'retnet',
  family: 'linear-attention',
  paper: {
    title: 'Retentive Network: A Successor to Transformer for Large Language Models',
    authors: 'Sun, Dong, Huang, Ma, Xia, Xue, Wang, Wei',
    year: 2023,
    url: 'https://arxiv.org/abs/2307.08621',
  },
  summary: 'multi-scale retention S_n = γ_h S_{n−1} + k_nᵀv_n, o_n = q_n S_n (fixed decay per head, rotated q/k), group norm, swish gate',
  defaults: { heads: 2, valueFactor: 2, groupNorm: 'rms', normEps: 1e-6 },
  variants: [{ groupNorm: 'layer', heads: 3, valueFactor: 1 }],
  constantState: true,
  create: (config) => new RetNetMixer(config),
});
