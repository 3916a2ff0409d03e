// LRU — the Linear Recurrent Unit (Orvieto et al. 2023, "Resurrecting Recurrent
// Neural Networks for Long Sequences"), the layer of the paper's pseudocode:
//
//   λ   = exp(−exp(ν_log) + i·exp(θ_log))          diagonal, inside the unit disk by construction
//   γ   = exp(γ_log) = √(1 − |λ|²) at init          normalises the input so ‖h‖ stays O(1)
//   h_t = λ ⊙ h_{t−1} + γ ⊙ (B x_t),  B = B_re + i·B_im  [N, H]
//   y_t = Re(C h_t) + D ⊙ x_t,         C = C_re + i·C_im  [H, N]
//
// Ring init: |λ| uniform in area on r_min ≤ |λ| ≤ r_max, arg λ uniform in [0, max_phase];
// defaults r_min = 0, r_max = 1, max_phase = 6.28 as the paper's init_lru_parameters
// (Appendix A; its long-range experiments use e.g. r_min 0.9, r_max 0.999, max_phase π/10).
// Both modes are one complex diagonalScan: the input map γ⊙B and the output map
// Re(C·) are real linears over interleaved (re, im) pairs, cached from the parameters.
// State: h [b, N, 2].

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { Derived } from './derived.js';

export interface LruConfig extends BaseConfig {
  /** N, complex state size */
  stateDim: number;
  rMin: number;
  rMax: number;
  maxPhase: number;
}

type LruState = { h: Tensor };

/** λ as (re, im) pairs [N, 2]. */
export function lruLambda(nuLog: Float32Array, thetaLog: Float32Array): Float32Array {
  const out = new Float32Array(2 * nuLog.length);
  for (let n = 0; n < nuLog.length; n++) {
    const mod = Math.exp(-Math.exp(nuLog[n]!));
    const phase = Math.exp(thetaLog[n]!);
    out[2 * n] = mod * Math.cos(phase);
    out[2 * n + 1] = mod * Math.sin(phase);
  }
  return out;
}

class LruMixer implements Mixer<LruState> {
  readonly kind = 'lru';
  readonly dModel: number;
  readonly parameters: Record<string, Tensor>;
  private readonly N: number;
  private readonly lambda = new Derived((nu, theta) => new Tensor(lruLambda(nu.data as Float32Array, theta.data as Float32Array), [nu.shape[0]!, 2]));
  /** rows (2n, 2n+1) = γ_n·(B_re[n], B_im[n]): x [.., H] → B̄x as (re, im) pairs */
  private readonly inMap = new Derived((gammaLog, bRe, bIm) => {
    const [N, H] = bRe.shape as [number, number];
    const w = new Float32Array(2 * N * H);
    for (let n = 0; n < N; n++) {
      const g = Math.exp((gammaLog.data as Float32Array)[n]!);
      for (let h = 0; h < H; h++) {
        w[2 * n * H + h] = g * (bRe.data as Float32Array)[n * H + h]!;
        w[(2 * n + 1) * H + h] = g * (bIm.data as Float32Array)[n * H + h]!;
      }
    }
    return new Tensor(w, [2 * N, H]);
  });
  /** columns (2n, 2n+1) = (C_re[:, n], −C_im[:, n]): Re(C h) from h as (re, im) pairs */
  private readonly outMap = new Derived((cRe, cIm) => {
    const [H, N] = cRe.shape as [number, number];
    const w = new Float32Array(H * 2 * N);
    for (let h = 0; h < H; h++) {
      for (let n = 0; n < N; n++) {
        w[h * 2 * N + 2 * n] = (cRe.data as Float32Array)[h * N + n]!;
        w[h * 2 * N + 2 * n + 1] = -(cIm.data as Float32Array)[h * N + n]!;
      }
    }
    return new Tensor(w, [H, 2 * N]);
  });

  constructor(readonly config: Readonly<LruConfig>) {
    const { dModel: H, stateDim: N, rMin, rMax, maxPhase } = config;
    if (!Number.isInteger(N) || N < 1) throw new RangeError(`lru: stateDim must be a positive integer, got ${N}`);
    if (!(rMin >= 0 && rMax > rMin && rMax <= 1)) throw new RangeError(`lru: need 0 ≤ rMin < rMax ≤ 1, got ${rMin}, ${rMax}`);
    if (!(maxPhase > 0)) throw new RangeError(`lru: maxPhase must be > 0, got ${maxPhase}`);
    this.dModel = H;
    this.N = N;
    const init = new Init(config.seed ?? 0);
    const r = init.rng();
    const nu = Tensor.zeros([N]);
    const theta = Tensor.zeros([N]);
    const gamma = Tensor.zeros([N]);
    for (let n = 0; n < N; n++) {
      // |λ|² uniform on [r_min², r_max²] (uniform in area), −log|λ| = exp(ν_log).
      // Kept strictly inside (0, 1) so ν_log and γ_log stay finite at the edges r_min = 0, r_max = 1.
      const mod2 = Math.min(Math.max(r.uniform() * (rMax * rMax - rMin * rMin) + rMin * rMin, 1e-8), 1 - 1e-6);
      nu.data[n] = Math.log(-0.5 * Math.log(mod2));
      theta.data[n] = Math.log(maxPhase * Math.max(r.uniform(), 1e-7));
      gamma.data[n] = Math.log(Math.sqrt(1 - mod2));
    }
    this.parameters = {
      nu_log: nu,
      theta_log: theta,
      gamma_log: gamma,
      B_re: init.normal([N, H], 1 / Math.sqrt(2 * H)),
      B_im: init.normal([N, H], 1 / Math.sqrt(2 * H)),
      C_re: init.normal([H, N], 1 / Math.sqrt(N)),
      C_im: init.normal([H, N], 1 / Math.sqrt(N)),
      D: init.normal([H], 1),
    };
  }

  createState(batch: number): LruState {
    return { h: Tensor.zeros([batch, this.N, 2]) };
  }

  forward(run: OpRunner, x: Tensor, state?: LruState): MixerOutput<LruState> {
    const [batch, L] = checkInput(this.kind, this.dModel, x);
    if (state !== undefined) checkState(this.kind, state, { h: [batch, this.N, 2] });
    const p = this.parameters;
    const N = this.N;
    const bx = run.linear({ x, weight: this.inMap.get(p.gamma_log!, p.B_re!, p.B_im!) }).y.reshape([batch, L, N, 2]);
    const a = run.expand({ x: this.lambda.get(p.nu_log!, p.theta_log!).reshape([1, 1, N, 2]), shape: [batch, L, N, 2] }).y;
    const scan = run.diagonalScan({ a, b: bx, initialState: state?.h, complex: true });
    const re = run.linear({ x: scan.h.reshape([batch, L, 2 * N]), weight: this.outMap.get(p.C_re!, p.C_im!) }).y;
    const y = run.elementwise({ expr: 're + d * x', inputs: { re, d: p.D!, x } }).y;
    return state === undefined ? { y } : { y, state: { h: scan.lastState } };
  }
}

export const lruSpec = registerMixer<LruConfig>({
  name: 'lru',
  family: 'ssm',
  paper: { title: 'Resurrecting Recurrent Neural Networks for Long Sequences', authors: 'Orvieto, Smith, Gu, Fernando, Gulcehre, Pascanu, De', year: 2023, url: 'https://arxiv.org/abs/2303.06349' },
  summary: 'h_t = λ⊙h_{t−1} + γ⊙(Bx_t), λ = exp(−exp(ν) + i·exp(θ)) ring-initialised, y = Re(Ch) + D⊙x',
  defaults: { stateDim: 16, rMin: 0, rMax: 1, maxPhase: 6.28 },
  variants: [{ stateDim: 5, rMin: 0.9, rMax: 0.999, maxPhase: 0.314 }],
  constantState: true,
  create: (config) => new LruMixer(config),
});
