// Orthogonal RNN: an Elman recurrence whose hidden matrix is kept exactly
// orthogonal by the Cayley parametrisation of scoRNN (Helfrich, Willmott & Ye
// 2018, with its scaling D = I):
//
//   S = (X − Xᵀ)/2            skew-symmetric part of the free generator X (weight_hh_skew)
//   W = (I − S)(I + S)⁻¹      orthogonal for every X, so ‖h‖ is neither blown up nor shrunk by W
//   h_t = φ(W_ih x_t + b_ih + W h_{t−1}),   φ = tanh, relu or modReLU
//   modReLU(z) = sign(z)·relu(|z| + b)      (the nonlinearity of scoRNN and expRNN)
//
// W depends only on parameters: computed in float64 (lib/linalg cayley) and
// cached as the float32 weightHH of the fused rnn op. For modReLU there is no
// real op, so the recurrence runs in the complexRnn op with zero imaginary parts
// (W real, u = W_ih x + b_ih real): modReLU of a real z is sign(z)·relu(|z| + b).
// Both modes use the same fused kernel; L = 1 with a state is the decode step.
// State: h [b, H]. Output: h_t, through out_proj when H ≠ dModel.
//
// Init (scoRNN's "Cayley init", also expRNN's cayley_init_): S block-diagonal
// with 2×2 blocks [[0, s], [−s, 0]], s = −√((1 − cos θ)/(1 + cos θ)), θ ~ U[0, π/2],
// so W is a block rotation by random angles θ; input weights Kaiming-normal and
// modReLU bias U(−0.01, 0.01) as in expRNN; b_ih zeros.

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { cayley } from '../../linalg.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { Derived } from './derived.js';

export interface OrthogonalRnnConfig extends BaseConfig {
  /** H; 0 means dModel */
  hiddenSize: number;
  nonlinearity: 'tanh' | 'relu' | 'modrelu';
}

type OrthogonalRnnState = { h: Tensor };

/** W = Cayley((X − Xᵀ)/2) in float64, as float32 [H, H]. */
export function orthogonalFromGenerator(generator: Tensor): Tensor<'float32'> {
  const H = generator.shape[0]!;
  const X = generator.data;
  const S = new Float64Array(H * H);
  for (let i = 0; i < H; i++) for (let j = 0; j < H; j++) S[i * H + j] = (X[i * H + j]! - X[j * H + i]!) / 2;
  return new Tensor(Float32Array.from(cayley(S, H)), [H, H]);
}

class OrthogonalRnnMixer implements Mixer<OrthogonalRnnState> {
  readonly kind = 'orthogonal-rnn';
  readonly dModel: number;
  readonly hidden: number;
  readonly parameters: Record<string, Tensor>;
  private readonly W = new Derived((g) => orthogonalFromGenerator(g));
  /** modReLU path: W as a complex [H, H, 2] matrix, input weight/bias with zero imaginary rows */
  private readonly Wc = new Derived((w) => interleaveZeros(w.data, w.size, [w.shape[0]!, w.shape[1]!, 2]));
  private readonly inC = new Derived((w, b) => ({
    weight: interleaveRowsWithZeros(w),
    bias: interleaveZeros(b.data, b.size, [2 * b.size]),
  }));

  constructor(readonly config: Readonly<OrthogonalRnnConfig>) {
    if (!['tanh', 'relu', 'modrelu'].includes(config.nonlinearity)) {
      throw new RangeError(`orthogonal-rnn: nonlinearity must be 'tanh', 'relu' or 'modrelu', got '${config.nonlinearity}'`);
    }
    const d = config.dModel;
    const H = (this.hidden = config.hiddenSize || d);
    this.dModel = d;
    const init = new Init(config.seed ?? 0);
    const skew = Tensor.zeros([H, H]);
    const r = init.rng();
    for (let k = 0; k + 1 < H; k += 2) {
      const theta = (Math.PI / 2) * r.uniform();
      const s = -Math.sqrt((1 - Math.cos(theta)) / (1 + Math.cos(theta)));
      skew.data[k * H + k + 1] = s;
      skew.data[(k + 1) * H + k] = -s;
    }
    this.parameters = {
      weight_ih_l0: init.normal([H, d], Math.sqrt(2 / d)),
      bias_ih_l0: init.zeros([H]),
      weight_hh_skew: skew,
    };
    if (config.nonlinearity === 'modrelu') this.parameters['modrelu.b'] = init.uniform([H], -0.01, 0.01);
    if (H !== d) this.parameters['out_proj.weight'] = init.linear(d, H);
  }

  /** The orthogonal hidden matrix as fed to the op (float32 [H, H]). */
  get weightHH(): Tensor {
    return this.W.get(this.parameters.weight_hh_skew!);
  }

  createState(batch: number): OrthogonalRnnState {
    return { h: Tensor.zeros([batch, this.hidden]) };
  }

  forward(run: OpRunner, x: Tensor, state?: OrthogonalRnnState): MixerOutput<OrthogonalRnnState> {
    const [batch, L] = checkInput(this.kind, this.dModel, x);
    const H = this.hidden;
    if (state !== undefined) checkState(this.kind, state, { h: [batch, H] });
    const p = this.parameters;
    let y: Tensor;
    let h: Tensor | undefined;
    if (this.config.nonlinearity === 'modrelu') {
      const { weight, bias } = this.inC.get(p.weight_ih_l0!, p.bias_ih_l0!);
      const u = run.linear({ x, weight, bias }).y.reshape([batch, L, H, 2]);
      const h0 = state ? run.concat({ inputs: [state.h.reshape([batch, H, 1]), Tensor.zeros([batch, H, 1])], axis: 2 }).y : undefined;
      const out = run.complexRnn({ u, weight: this.Wc.get(this.weightHH), bias: p['modrelu.b']!, h0 });
      y = run.slice({ x: out.y, axis: 3, start: 0, end: 1 }).y.reshape([batch, L, H]);
      if (state) h = run.slice({ x: out.h, axis: 2, start: 0, end: 1 }).y.reshape([batch, H]);
    } else {
      ({ y, h } = run.rnn({
        x,
        weightIH: p.weight_ih_l0!,
        weightHH: this.weightHH,
        biasIH: p.bias_ih_l0,
        h0: state?.h,
        nonlinearity: this.config.nonlinearity,
      }));
    }
    const out = p['out_proj.weight'] ? run.linear({ x: y, weight: p['out_proj.weight'] }).y : y;
    return state === undefined ? { y: out } : { y: out, state: { h: h! } };
  }
}

/** values as the real parts of a complex tensor of `shape` (last dimension 2), imaginary parts 0. */
function interleaveZeros(values: ArrayLike<number>, n: number, shape: number[]): Tensor<'float32'> {
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) out[2 * i] = values[i]!;
  return new Tensor(out, shape);
}

/** [H, d] → [2H, d] with row 2i = row i and row 2i + 1 = 0, so a linear gives (re, 0) pairs. */
function interleaveRowsWithZeros(w: Tensor): Tensor<'float32'> {
  const [H, d] = w.shape as [number, number];
  const out = new Float32Array(2 * H * d);
  for (let i = 0; i < H; i++) for (let j = 0; j < d; j++) out[2 * i * d + j] = w.data[i * d + j]!;
  return new Tensor(out, [2 * H, d]);
}

export const orthogonalRnnSpec = registerMixer<OrthogonalRnnConfig>({
  name: 'orthogonal-rnn',
  family: 'rnn',
  paper: {
    title: 'Orthogonal Recurrent Neural Networks with Scaled Cayley Transform',
    authors: 'Helfrich, Willmott, Ye',
    year: 2018,
    url: 'https://arxiv.org/abs/1707.09520',
  },
  summary: 'h_t = φ(W_ih x_t + b_ih + W h_{t−1}) with W = (I − S)(I + S)⁻¹ orthogonal, S skew (Cayley parametrisation)',
  defaults: { hiddenSize: 0, nonlinearity: 'tanh' },
  variants: [{ nonlinearity: 'relu' }, { nonlinearity: 'modrelu' }, { hiddenSize: 41, nonlinearity: 'modrelu' }],
  constantState: true,
  create: (config) => new OrthogonalRnnMixer(config),
});
