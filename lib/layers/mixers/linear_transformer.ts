// Linear Transformer (Katharopoulos, Vyas, Pappas & Fleuret 2020): causal
// softmax attention with exp(q·k) replaced by the kernel φ(q)·φ(k),
// φ(x) = elu(x) + 1, so attention becomes a recurrence with a constant-size
// state. As fast-transformers' AttentionLayer + CausalLinearAttention
// (idiap/fast-transformers, fast_transformers/attention/attention_layer.py,
// causal_linear_attention.py), per head of size K = dModel / heads:
//
//   q, k, v = W_q x + b_q, W_k x + b_k, W_v x + b_v
//   S_t = S_{t−1} + φ(k_t)ᵀ v_t,   z_t = z_{t−1} + φ(k_t)
//   y_t = φ(q_t) S_t / (φ(q_t)·z_t + eps),   out = W_o [y heads] + b_o
//
// Both modes are one linearAttention call (chunked for a sequence, the
// recurrence at L = 1) whose values carry a column of ones, so S and z are one
// state tensor S [b, h, K, V + 1] (normalised_linear_attention.ts).

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { Derived } from './derived.js';
import { normalisedLinearAttention, withOnesColumn } from './normalised_linear_attention.js';

export interface LinearTransformerConfig extends BaseConfig {
  heads: number;
  /** added to the denominator (fast-transformers: 1e-6) */
  eps: number;
}

type LinearTransformerState = { S: Tensor };

// elu(x) + 1 without an elu op: x + 1 for x > 0, exp(x) for x ≤ 0.
const ELU_PLUS_ONE = 'relu(x) + exp(min(x, 0))';

class LinearTransformerMixer implements Mixer<LinearTransformerState> {
  readonly kind = 'linear-transformer';
  readonly dModel: number;
  readonly heads: number;
  readonly headDim: number;
  readonly parameters: Record<string, Tensor>;
  private readonly valueOnes = new Derived((w, b) => withOnesColumn(w, b, this.heads));

  constructor(readonly config: Readonly<LinearTransformerConfig>) {
    const d = (this.dModel = config.dModel);
    const h = (this.heads = config.heads);
    if (!Number.isInteger(h) || h < 1 || d % h !== 0) throw new RangeError(`linear-transformer: heads must be a positive integer dividing dModel ${d}, got ${h}`);
    if (!(config.eps >= 0)) throw new RangeError(`linear-transformer: eps must be ≥ 0, got ${config.eps}`);
    this.headDim = d / h;
    const init = new Init(config.seed ?? 0);
    // torch.nn.Linear's default init for every projection.
    this.parameters = {};
    for (const name of ['query_projection', 'key_projection', 'value_projection', 'out_projection']) {
      this.parameters[`${name}.weight`] = init.linear(d, d);
      this.parameters[`${name}.bias`] = init.linearBias(d, d);
    }
  }

  createState(batch: number): LinearTransformerState {
    return { S: Tensor.zeros([batch, this.heads, this.headDim, this.headDim + 1]) };
  }

  forward(run: OpRunner, x: Tensor, state?: LinearTransformerState): MixerOutput<LinearTransformerState> {
    const [batch, L] = checkInput(this.kind, this.dModel, x);
    const h = this.heads;
    const K = this.headDim;
    if (state !== undefined) checkState(this.kind, state, { S: [batch, h, K, K + 1] });
    const p = this.parameters;
    const feature = (name: string) => {
      const y = run.linear({ x, weight: p[`${name}.weight`]!, bias: p[`${name}.bias`] }).y;
      return run.elementwise({ expr: ELU_PLUS_ONE, inputs: { x: y } }).y.reshape([batch, L, h, K]);
    };
    const fq = feature('query_projection');
    const fk = feature('key_projection');
    const v1w = this.valueOnes.get(p['value_projection.weight']!, p['value_projection.bias']!);
    const v1 = run.linear({ x, weight: v1w.weight, bias: v1w.bias }).y.reshape([batch, L, h, K + 1]);
    const { y, S } = normalisedLinearAttention(run, fq, fk, v1, this.config.eps, state?.S);
    const out = run.linear({ x: y.reshape([batch, L, h * K]), weight: p['out_projection.weight']!, bias: p['out_projection.bias'] }).y;
    return state === undefined ? { y: out } : { y: out, state: { S: S! } };
  }
}

export const linearTransformerSpec = registerMixer<LinearTransformerConfig>({
  name: 'linear-transformer',
  family: 'linear-attention',
  paper: {
    title: 'Transformers are RNNs: Fast Autoregressive Transformers with Linear Attention',
    authors: 'Katharopoulos, Vyas, Pappas, Fleuret',
    year: 2020,
    url: 'https://arxiv.org/abs/2006.16236',
  },
  summary: 'causal attention with kernel φ(q)·φ(k), φ = elu + 1: y_t = φ(q_t)Σφ(k_s)ᵀv_s / φ(q_t)·Σφ(k_s)',
  defaults: { heads: 4, eps: 1e-6 },
  variants: [{ heads: 1 }],
  constantState: true,
  create: (config) => new LinearTransformerMixer(config),
});
