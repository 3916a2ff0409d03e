// Unitary RNN (Arjovsky, Shah & Bengio 2016) with a full-capacity unitary
// hidden matrix (Wisdom et al. 2016), kept exactly unitary by a Cayley
// parametrisation (as in scuRNN, Maduranga, Helfrich & Ye 2019, with D = I):
//
//   A = (X − X^H)/2              skew-Hermitian part of the free generator X (weight_hh_skew, [H, H, 2])
//   W = (I − A)(I + A)⁻¹         unitary for every X
//   h_t = modReLU(W h_{t−1} + V x_t, b) ∈ ℂ^H,  modReLU(z) = (|z| + b)·z/|z| where |z| + b > 0, else 0
//   y_t = U [Re h_t, Im h_t] + c
//
// Complex numbers are (re, im) pairs in the last dimension, so V x is one
// linear with 2H output rows (row 2j: Re of unit j, row 2j + 1: Im) giving
// u [b, L, H, 2] directly, and U acts on h [b, L, H, 2] read as [b, L, 2H]
// (column 2j: Re h_j, column 2j + 1: Im h_j). The recurrence is the fused
// complexRnn op in both modes; W depends only on parameters and is computed in
// float64 (lib/linalg complexCayley) and cached. State: h [b, H, 2].
//
// Init: V and U Glorot-uniform, modReLU bias U(−0.01, 0.01), output bias 0 (the
// uRNN code, amarshah/complex_RNN); W Haar-random on U(H) (Gram-Schmidt of a
// complex Gaussian matrix), stored as its generator X = Cayley(W) (the Cayley
// map is its own inverse).

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { complexCayley, type ComplexMatrix } from '../../linalg.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { Derived } from './derived.js';

export interface UnitaryRnnConfig extends BaseConfig {
  /** H complex units; 0 means dModel */
  hiddenSize: number;
}

type UnitaryRnnState = { h: Tensor };

/** W = Cayley((X − X^H)/2) in float64, as float32 [H, H, 2]. */
export function unitaryFromGenerator(generator: Tensor): Tensor<'float32'> {
  const H = generator.shape[0]!;
  const X = generator.data;
  const A: ComplexMatrix = { n: H, re: new Float64Array(H * H), im: new Float64Array(H * H) };
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < H; j++) {
      A.re[i * H + j] = (X[(i * H + j) * 2]! - X[(j * H + i) * 2]!) / 2;
      A.im[i * H + j] = (X[(i * H + j) * 2 + 1]! + X[(j * H + i) * 2 + 1]!) / 2;
    }
  }
  return complexToTensor(complexCayley(A));
}

function complexToTensor(m: ComplexMatrix): Tensor<'float32'> {
  const out = new Float32Array(2 * m.n * m.n);
  for (let i = 0; i < m.n * m.n; i++) {
    out[2 * i] = m.re[i]!;
    out[2 * i + 1] = m.im[i]!;
  }
  return new Tensor(out, [m.n, m.n, 2]);
}

/** A Haar-random H×H unitary: Gram-Schmidt on the columns of a complex Gaussian matrix. */
function haarUnitary(init: Init, H: number): ComplexMatrix {
  const r = init.rng();
  const re = Float64Array.from({ length: H * H }, () => r.normal());
  const im = Float64Array.from({ length: H * H }, () => r.normal());
  for (let j = 0; j < H; j++) {
    for (let k = 0; k < j; k++) {
      // ⟨q_k, q_j⟩ = Σ conj(q_k)·q_j, then q_j −= ⟨q_k, q_j⟩ q_k
      let dr = 0;
      let di = 0;
      for (let i = 0; i < H; i++) {
        const ar = re[i * H + k]!, ai = im[i * H + k]!, br = re[i * H + j]!, bi = im[i * H + j]!;
        dr += ar * br + ai * bi;
        di += ar * bi - ai * br;
      }
      for (let i = 0; i < H; i++) {
        const ar = re[i * H + k]!, ai = im[i * H + k]!;
        re[i * H + j] -= dr * ar - di * ai;
        im[i * H + j] -= dr * ai + di * ar;
      }
    }
    let norm = 0;
    for (let i = 0; i < H; i++) norm += re[i * H + j]! ** 2 + im[i * H + j]! ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < H; i++) {
      re[i * H + j] /= norm;
      im[i * H + j] /= norm;
    }
  }
  return { n: H, re, im };
}

class UnitaryRnnMixer implements Mixer<UnitaryRnnState> {
  readonly kind = 'unitary-rnn';
  readonly dModel: number;
  readonly hidden: number;
  readonly parameters: Record<string, Tensor>;
  private readonly W = new Derived((g) => unitaryFromGenerator(g));

  constructor(readonly config: Readonly<UnitaryRnnConfig>) {
    const d = config.dModel;
    const H = (this.hidden = config.hiddenSize || d);
    this.dModel = d;
    const init = new Init(config.seed ?? 0);
    const glorot = (fanIn: number, fanOut: number) => Math.sqrt(6 / (fanIn + fanOut));
    // Generator X = Cayley(U) for a Haar U: skew-Hermitian up to rounding, and Cayley(X) = U.
    const skew = complexCayley(haarUnitary(init, H));
    this.parameters = {
      'input_proj.weight': init.uniform([2 * H, d], -glorot(d, 2 * H), glorot(d, 2 * H)),
      weight_hh_skew: complexToTensor(skew),
      'modrelu.b': init.uniform([H], -0.01, 0.01),
      'out_proj.weight': init.uniform([d, 2 * H], -glorot(2 * H, d), glorot(2 * H, d)),
      'out_proj.bias': init.zeros([d]),
    };
  }

  /** The unitary hidden matrix as fed to the op (float32 [H, H, 2]). */
  get weightHH(): Tensor {
    return this.W.get(this.parameters.weight_hh_skew!);
  }

  createState(batch: number): UnitaryRnnState {
    return { h: Tensor.zeros([batch, this.hidden, 2]) };
  }

  forward(run: OpRunner, x: Tensor, state?: UnitaryRnnState): MixerOutput<UnitaryRnnState> {
    const [batch, L] = checkInput(this.kind, this.dModel, x);
    const H = this.hidden;
    if (state !== undefined) checkState(this.kind, state, { h: [batch, H, 2] });
    const p = this.parameters;
    const u = run.linear({ x, weight: p['input_proj.weight']! }).y.reshape([batch, L, H, 2]);
    const { y, h } = run.complexRnn({ u, weight: this.weightHH, bias: p['modrelu.b']!, h0: state?.h });
    const out = run.linear({ x: y.reshape([batch, L, 2 * H]), weight: p['out_proj.weight']!, bias: p['out_proj.bias'] }).y;
    return state === undefined ? { y: out } : { y: out, state: { h } };
  }
}

export const unitaryRnnSpec = registerMixer<UnitaryRnnConfig>({
  name: 'unitary-rnn',
  family: 'rnn',
  paper: {
    title: 'Unitary Evolution Recurrent Neural Networks',
    authors: 'Arjovsky, Shah, Bengio',
    year: 2016,
    url: 'https://arxiv.org/abs/1511.06464',
  },
  summary: 'complex h_t = modReLU(W h_{t−1} + V x_t), W = Cayley(skew-Hermitian) unitary (full capacity), y = U[Re h, Im h]',
  defaults: { hiddenSize: 0 },
  variants: [{ hiddenSize: 10 }],
  constantState: true,
  create: (config) => new UnitaryRnnMixer(config),
});
