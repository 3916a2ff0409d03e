// Performer (Choromanski et al. 2021), FAVOR+: causal softmax attention
// estimated with positive orthogonal random features, as lucidrains'
// performer-pytorch SelfAttention(causal=True) (performer_pytorch/performer_pytorch.py:
// to_q/to_k/to_v/to_out, FastAttention.projection_matrix, softmax_kernel). Per
// head of size K = dModel / heads, with m random features ω_1…ω_m (rows of the
// projection matrix P [m, K]) and x̃ = K^(−1/4)·x (so q̃·k̃ = q·k/√K):
//
//   φ(x) = exp(P x̃ − ‖x̃‖²/2) / √m          E[φ(q)·φ(k)] = exp(q·k/√K)
//   y_t = φ(q_t) Σ_{s≤t} φ(k_s)ᵀ v_s / (φ(q_t)·Σ_{s≤t} φ(k_s) + eps)
//
// P: blocks of K mutually orthogonal rows (QR of a Gaussian K×K matrix), the
// last block truncated, each row then rescaled to the norm of an independent
// Gaussian K-vector (chi-distributed, orthoScaling 0) or to √K (orthoScaling 1).
// P is a fixed buffer drawn from (seed, featureSeed); redrawFeatures(newSeed)
// draws a fresh one (a state built with the old features is then meaningless).
//
// Stabilisation. Subtracting a max over tokens (lucidrains does so for keys)
// would let future tokens change past outputs, so it is not used. Queries: each
// token's features are scaled by its own positive constant, which cancels
// between numerator and denominator, so φ(q_t) is replaced by softmax_j(P q̃_t)
// (= φ(q_t)/Σ_j φ_j(q_t): the per-token stabiliser, always ≤ 1). Keys keep the
// plain form, which needs none: ω·k̃ − ‖k̃‖²/2 ≤ ‖ω‖²/2 for every k, so
// φ(k) ≤ exp(max_j ‖ω_j‖²/2)/√m, a bound set by P alone (≈ e^(K/2) for chi norms).
// eps, added to the denominator as computed with these sum-1 query features,
// only keeps it positive if every key feature underflows (keys of huge norm).
//
// Both modes are one linearAttention call with a column of ones in v (state
// S [b, h, m, K + 1]: Σφ(k)ᵀv and Σφ(k); normalised_linear_attention.ts).

import type { OpRunner } from '../../ops/index.js';
import { Rng } from '../../random.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { Derived } from './derived.js';
import { normalisedLinearAttention, withOnesColumn } from './normalised_linear_attention.js';

export interface PerformerConfig extends BaseConfig {
  heads: number;
  /** m, the number of random features; 0: ⌊K·ln K⌋ (performer-pytorch's default) */
  numFeatures: number;
  /** seeds the random features (with seed); a new value redraws them */
  featureSeed: number;
  /** 0: row norms chi-distributed (as Gaussian rows); 1: every row norm √K */
  orthoScaling: number;
  /** keeps the denominator positive (performer-pytorch: 1e-6) */
  eps: number;
}

type PerformerState = { S: Tensor };

/**
 * FAVOR+ projection [m, K] in float64: ⌈m/K⌉ blocks of K orthonormal rows (the last one cut to the
 * remaining rows), each row rescaled to a chi_K-distributed norm (scaling 0) or √K (scaling 1).
 */
export function gaussianOrthogonalRandomMatrix(m: number, K: number, scaling: number, rng: Rng): Float64Array {
  const P = new Float64Array(m * K);
  for (let start = 0; start < m; start += K) {
    // Gram-Schmidt on the rows of a Gaussian K×K matrix (= Qᵀ of its QR): Haar-distributed orthonormal rows.
    const G = Float64Array.from({ length: K * K }, () => rng.normal());
    for (let i = 0; i < K; i++) {
      for (let j = 0; j < i; j++) {
        let dot = 0;
        for (let c = 0; c < K; c++) dot += G[i * K + c]! * G[j * K + c]!;
        for (let c = 0; c < K; c++) G[i * K + c] -= dot * G[j * K + c]!;
      }
      let norm = 0;
      for (let c = 0; c < K; c++) norm += G[i * K + c]! ** 2;
      norm = Math.sqrt(norm);
      for (let c = 0; c < K; c++) G[i * K + c] /= norm;
    }
    for (let i = 0; i < Math.min(K, m - start); i++) P.set(G.subarray(i * K, (i + 1) * K), (start + i) * K);
  }
  for (let r = 0; r < m; r++) {
    let norm = Math.sqrt(K);
    if (scaling === 0) {
      let ss = 0;
      for (let c = 0; c < K; c++) ss += rng.normal() ** 2;
      norm = Math.sqrt(ss);
    }
    for (let c = 0; c < K; c++) P[r * K + c] *= norm;
  }
  return P;
}

class PerformerMixer implements Mixer<PerformerState> {
  readonly kind = 'performer';
  readonly dModel: number;
  readonly heads: number;
  readonly headDim: number;
  readonly numFeatures: number;
  readonly parameters: Record<string, Tensor>;
  readonly config: Readonly<PerformerConfig>;
  /** the same object as config, writable for redrawFeatures */
  private readonly cfg: PerformerConfig;
  private readonly valueOnes = new Derived((w) => withOnesColumn(w, undefined, this.heads));
  /** [m, K] of ones: linear(k², ones) puts ‖k‖² in every feature slot */
  private readonly ones: Tensor;

  constructor(config: Readonly<PerformerConfig>) {
    this.config = this.cfg = { ...config };
    const d = (this.dModel = config.dModel);
    const h = (this.heads = config.heads);
    if (!Number.isInteger(h) || h < 1 || d % h !== 0) throw new RangeError(`performer: heads must be a positive integer dividing dModel ${d}, got ${h}`);
    const K = (this.headDim = d / h);
    const m = config.numFeatures || Math.max(1, Math.floor(K * Math.log(K)));
    if (!Number.isInteger(m) || m < 1) throw new RangeError(`performer: numFeatures must be a positive integer (or 0), got ${config.numFeatures}`);
    if (config.orthoScaling !== 0 && config.orthoScaling !== 1) throw new RangeError(`performer: orthoScaling must be 0 or 1, got ${config.orthoScaling}`);
    if (!(config.eps >= 0)) throw new RangeError(`performer: eps must be ≥ 0, got ${config.eps}`);
    this.numFeatures = m;
    this.ones = Tensor.full([m, K], 1);
    const init = new Init(config.seed ?? 0);
    // nn.Linear default init; performer-pytorch: no q/k/v bias, an output bias.
    this.parameters = {
      'to_q.weight': init.linear(d, d),
      'to_k.weight': init.linear(d, d),
      'to_v.weight': init.linear(d, d),
      'to_out.weight': init.linear(d, d),
      'to_out.bias': init.linearBias(d, d),
      'fast_attention.projection_matrix': this.drawFeatures(config.featureSeed),
    };
  }

  private drawFeatures(featureSeed: number): Tensor<'float32'> {
    if (!Number.isFinite(featureSeed)) throw new TypeError(`performer: featureSeed must be a finite number, got ${featureSeed}`);
    // Its own stream, apart from the parameters' (Init's streams are seed·1000003 + 7919·n).
    const rng = new Rng(((this.config.seed ?? 0) * 1000003) ^ (featureSeed * 2654435761 + 0x5bd1e995));
    const P = gaussianOrthogonalRandomMatrix(this.numFeatures, this.headDim, this.config.orthoScaling, rng);
    return new Tensor(Float32Array.from(P), [this.numFeatures, this.headDim]);
  }

  /** Redraws the random features from a new featureSeed (performer-pytorch's redraw_projection_matrix). */
  redrawFeatures(featureSeed: number): void {
    this.parameters['fast_attention.projection_matrix'] = this.drawFeatures(featureSeed);
    this.cfg.featureSeed = featureSeed;
  }

  createState(batch: number): PerformerState {
    return { S: Tensor.zeros([batch, this.heads, this.numFeatures, this.headDim + 1]) };
  }

  forward(run: OpRunner, x: Tensor, state?: PerformerState): MixerOutput<PerformerState> {
    const [batch, L] = checkInput(this.kind, this.dModel, x);
    const h = this.heads;
    const K = this.headDim;
    const m = this.numFeatures;
    if (state !== undefined) checkState(this.kind, state, { S: [batch, h, m, K + 1] });
    const p = this.parameters;
    const P = p['fast_attention.projection_matrix']!;
    const c = K ** -0.25;
    const q = run.linear({ x, weight: p['to_q.weight']! }).y.reshape([batch, L, h, K]);
    const k = run.linear({ x, weight: p['to_k.weight']! }).y.reshape([batch, L, h, K]);
    // φ(q) up to a per-token factor: softmax over the m features of P·q̃.
    const fq = run.softmax({ x: run.linear({ x: q, weight: P }).y, scale: c }).y;
    // φ(k) = exp(P·k̃ − ‖k̃‖²/2)/√m; ‖k‖² comes from a linear of k² against ones, already [.., m] wide.
    const pk = run.linear({ x: k, weight: P }).y;
    const kk = run.linear({ x: run.elementwise({ expr: 'square(k)', inputs: { k } }).y, weight: this.ones }).y;
    const fk = run.elementwise({ expr: `exp(${c} * a - ${c * c * 0.5} * s) * ${m ** -0.5}`, inputs: { a: pk, s: kk } }).y;
    const vw = this.valueOnes.get(p['to_v.weight']!);
    const v1 = run.linear({ x, weight: vw.weight, bias: vw.bias }).y.reshape([batch, L, h, K + 1]);
    const { y, S } = normalisedLinearAttention(run, fq, fk, v1, this.config.eps, state?.S);
    const out = run.linear({ x: y.reshape([batch, L, h * K]), weight: p['to_out.weight']!, bias: p['to_out.bias'] }).y;
    return state === undefined ? { y: out } : { y: out, state: { S: S! } };
  }
}

export const performerSpec = registerMixer<PerformerConfig>({
  name: 'performer',
  family: 'linear-attention',
  paper: {
    title: 'Rethinking Attention with Performers',
    authors: 'Choromanski, Likhosherstov, Dohan, Song, Gane, Sarlos, Hawkins, Davis, Mohiuddin, Kaiser, Belanger, Colwell, Weller',
    year: 2021,
    url: 'https://arxiv.org/abs/2009.14794',
  },
  summary: 'FAVOR+: causal softmax attention estimated with positive orthogonal random features φ(x) = exp(ωx − ‖x‖²/2)/√m (redrawable)',
  defaults: { heads: 2, numFeatures: 0, featureSeed: 0, orthoScaling: 0, eps: 1e-6 },
  variants: [{ numFeatures: 40, orthoScaling: 1 }],
  constantState: true,
  create: (config) => new PerformerMixer(config),
});
