// LinOSS (Rusch & Rus 2024, "Oscillatory State-Space Models"): the LinOSSLayer of
// tk-rusch/linoss models/LinOSS.py. P forced harmonic oscillators
//   y'' = −A y + B u,  z = y',   A = relu(A_diag) ≥ 0 (diagonal),  B, C complex,
// discretised with step Δ = σ(steps) (per oscillator), either
//   IM   (implicit):           z_n = z_{n−1} + Δ(−A y_n + B u_n),      y_n = y_{n−1} + Δ z_n
//   IMEX (symplectic Euler):   z_n = z_{n−1} + Δ(−A y_{n−1} + B u_n),  y_n = y_{n−1} + Δ z_n
// Both are a per-oscillator 2×2 linear map [z; y]_n = M [z; y]_{n−1} + F_n:
//   IM:   S = 1/(1 + Δ²A),  M = [[S, −ΔAS], [ΔS, S]],     F = [ΔS, Δ²S]·Bu_n
//   IMEX:                   M = [[1, −ΔA], [Δ, 1 − Δ²A]], F = [Δ, Δ²]·Bu_n
// Output: out_n = Re(C y_n) + D ⊙ u_n.
//
// Both modes are one blockScan (h_t = a·h_{t−1} + b_t with a [c, 2, 2]; its
// parallel path over time is the chunked associative scan, as the reference
// code's jax.lax.associative_scan). B u is complex while M is real, so each
// oscillator's real and imaginary parts are two channels sharing one block:
// channel c = 2p + k (k = 0 re, 1 im), state [z, y] per channel. Everything
// that depends only on parameters is folded and cached: the input linear's
// rows give F directly (row 2c + j = F's coefficient j times B's part k of
// oscillator p), and the output linear reads only the y entries (Re(C y) =
// C_re y_re − C_im y_im). Ops: linear, blockScan, linear, elementwise.
// State: h [b, P, 2, 2] = (oscillator, re/im, [z, y]).
//
// Init as LinOSSLayer: A_diag, steps U[0, 1); B U(±1/√H) and C U(±1/√P) as
// (re, im) pairs in the last dimension ([P, H, 2], [H, P, 2]); D N(0, 1).

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { Derived } from './derived.js';

export interface LinossConfig extends BaseConfig {
  /** P, the number of oscillators */
  ssmSize: number;
  discretization: 'im' | 'imex';
}

type LinossState = { h: Tensor };

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** Per oscillator p: M (row-major 2×2) and F's coefficients [f_z, f_y], in float64. */
export function linossDiscretisation(discretization: 'im' | 'imex', aDiag: number, step: number): { M: number[]; f: number[] } {
  const A = Math.max(aDiag, 0);
  const dt = sigmoid(step);
  if (discretization === 'im') {
    const S = 1 / (1 + dt * dt * A);
    return { M: [S, -dt * A * S, dt * S, S], f: [dt * S, dt * dt * S] };
  }
  return { M: [1, -dt * A, dt, 1 - dt * dt * A], f: [dt, dt * dt] };
}

class LinossMixer implements Mixer<LinossState> {
  readonly kind = 'linoss';
  readonly dModel: number;
  readonly P: number;
  readonly parameters: Record<string, Tensor>;
  /** none: B and C reach the linears only through the cached, re-laid-out weights */
  readonly linearWeights: readonly string[] = [];
  /** blockScan's a [2P, 2, 2]: M of oscillator p for both its re and im channels */
  private readonly blocks = new Derived((aDiag, steps) => {
    const P = aDiag.size;
    const a = Tensor.zeros([2 * P, 2, 2]);
    for (let p = 0; p < P; p++) {
      const { M } = linossDiscretisation(this.config.discretization, aDiag.data[p]!, steps.data[p]!);
      for (let k = 0; k < 2; k++) a.data.set(M, (2 * p + k) * 4);
    }
    return a;
  });
  /** [4P, H]: row (2p + k)·2 + j = f_j(p) · B[p, :, k], so linear(u) is F laid out as blockScan's b [.., 2P, 2] */
  private readonly inW = new Derived((aDiag, steps, B) => {
    const P = aDiag.size;
    const H = this.dModel;
    const w = Tensor.zeros([4 * P, H]);
    for (let p = 0; p < P; p++) {
      const { f } = linossDiscretisation(this.config.discretization, aDiag.data[p]!, steps.data[p]!);
      for (let k = 0; k < 2; k++) {
        for (let j = 0; j < 2; j++) {
          const row = ((2 * p + k) * 2 + j) * H;
          for (let h = 0; h < H; h++) w.data[row + h] = f[j]! * B.data[(p * H + h) * 2 + k]!;
        }
      }
    }
    return w;
  });
  /** [H, 4P]: out_h = Σ_p C_re[h, p]·y_re[p] − C_im[h, p]·y_im[p]; the z entries get 0 */
  private readonly outW = new Derived((C) => {
    const [H, P] = C.shape as [number, number];
    const w = Tensor.zeros([H, 4 * P]);
    for (let h = 0; h < H; h++) {
      for (let p = 0; p < P; p++) {
        w.data[h * 4 * P + (2 * p + 0) * 2 + 1] = C.data[(h * P + p) * 2]!;
        w.data[h * 4 * P + (2 * p + 1) * 2 + 1] = -C.data[(h * P + p) * 2 + 1]!;
      }
    }
    return w;
  });

  constructor(readonly config: Readonly<LinossConfig>) {
    if (config.discretization !== 'im' && config.discretization !== 'imex') {
      throw new RangeError(`linoss: discretization must be 'im' or 'imex', got '${config.discretization}'`);
    }
    const P = (this.P = config.ssmSize);
    if (!Number.isInteger(P) || P < 1) throw new RangeError(`linoss: ssmSize must be a positive integer, got ${P}`);
    const H = (this.dModel = config.dModel);
    const init = new Init(config.seed ?? 0);
    this.parameters = {
      A_diag: init.uniform([P], 0, 1),
      B: init.uniform([P, H, 2], -1 / Math.sqrt(H), 1 / Math.sqrt(H)),
      C: init.uniform([H, P, 2], -1 / Math.sqrt(P), 1 / Math.sqrt(P)),
      D: init.normal([H], 1),
      steps: init.uniform([P], 0, 1),
    };
  }

  createState(batch: number): LinossState {
    return { h: Tensor.zeros([batch, this.P, 2, 2]) };
  }

  forward(run: OpRunner, u: Tensor, state?: LinossState): MixerOutput<LinossState> {
    const [batch, L] = checkInput(this.kind, this.dModel, u);
    const P = this.P;
    if (state !== undefined) checkState(this.kind, state, { h: [batch, P, 2, 2] });
    const p = this.parameters;
    const F = run.linear({ x: u, weight: this.inW.get(p.A_diag!, p.steps!, p.B!) }).y.reshape([batch, L, 2 * P, 2]);
    const scan = run.blockScan({ a: this.blocks.get(p.A_diag!, p.steps!), b: F, initialState: state?.h.reshape([batch, 2 * P, 2]) });
    const cy = run.linear({ x: scan.h.reshape([batch, L, 4 * P]), weight: this.outW.get(p.C!) }).y;
    const y = run.elementwise({ expr: 'cy + D * u', inputs: { cy, D: p.D!, u } }).y;
    return state === undefined ? { y } : { y, state: { h: scan.lastState.reshape([batch, P, 2, 2]) } };
  }
}

export const linossSpec = registerMixer<LinossConfig>({
  name: 'linoss',
  family: 'ssm',
  paper: { title: 'Oscillatory State-Space Models', authors: 'Rusch, Rus', year: 2024, url: 'https://arxiv.org/abs/2410.03943' },
  summary: "forced harmonic oscillators y'' = −Ay + Bu (A ≥ 0 diagonal) discretised implicitly (IM) or symplectically (IMEX), run as a 2×2-block scan; out = Re(C y) + D u",
  defaults: { ssmSize: 16, discretization: 'im' },
  variants: [{ discretization: 'imex', ssmSize: 7 }],
  constantState: true,
  create: (config) => new LinossMixer(config),
});
