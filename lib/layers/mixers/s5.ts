// S5 (Smith, Warrington, Linderman 2023, "Simplified State Space Layers for
// Sequence Modeling"): one MIMO state of P complex modes shared by all H
// channels, diagonal, discretised per mode:
//
//   Λ̄ = exp(ΛΔ), B̄ = (Λ̄ − 1)/Λ · B̃   (ZOH; bilinear: Λ̄ = (1 + ΔΛ/2)/(1 − ΔΛ/2), B̄ = Δ/(1 − ΔΛ/2)·B̃)
//   h_t = Λ̄ ⊙ h_{t−1} + B̄ u_t,   y_t = 2·Re(C̃ h_t) + D ⊙ u_t        (conjugate-symmetric modes)
//
// Init (lindermanlab/S5 run_train.py + ssm_init.py): Λ block-diagonal, J = `blocks`
// copies of the eigenvalues of HiPPO-N of real size 2P/J (the normal part of
// HiPPO-LegS, keeping the P/J modes with Im > 0: lib/layers/hippo.ts nplrLegs);
// with V = blockdiag(V_b) its eigenvectors [2P, P], B̃ = V*·B for a real lecun-normal
// B [2P, H] and C̃ = C·V for a complex C [H, 2P] (each part std 1/√(2P): their
// "trunc_standard_normal", untruncated here); log Δ uniform in [log dtMin, log dtMax] per mode.
// Names as lindermanlab/S5 s5/ssm.py: Lambda_re, Lambda_im, B [P, H, 2], C [H, P, 2], D, log_step
// (their log_step is [P, 1]; here [P]).
// Both modes are one complex diagonalScan (the parallel scan): B̄u as one real
// linear to interleaved (re, im) pairs, 2·Re(C̃h) as one real linear back.
// State: h [b, P, 2].

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { nplrLegs } from '../hippo.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { Derived } from './derived.js';

export interface S5Config extends BaseConfig {
  /** P, complex modes (their ssm_size / 2 with conj_sym) */
  ssmSize: number;
  /** J: Λ initialised as J copies of a HiPPO-N block of P/J modes (init only) */
  blocks: number;
  discretization: 'zoh' | 'bilinear';
  dtMin: number;
  dtMax: number;
}

type S5State = { h: Tensor };

interface Discrete {
  lambdaBar: Tensor; // [P, 2]
  inMap: Tensor; // [2P, H]: rows (2p, 2p+1) = (Re, Im) of B̄[p, :]
  outMap: Tensor; // [H, 2P]: columns (2p, 2p+1) = (2·Re C̃[:, p], −2·Im C̃[:, p])
}

class S5Mixer implements Mixer<S5State> {
  readonly kind = 's5';
  readonly dModel: number;
  readonly parameters: Record<string, Tensor>;
  private readonly P: number;
  private readonly discrete = new Derived((lr, li, B, C, logStep) => this.discretise(lr, li, B, C, logStep));

  constructor(readonly config: Readonly<S5Config>) {
    const { dModel: H, ssmSize: P } = config;
    if (!Number.isInteger(P) || P < 1) throw new RangeError(`s5: ssmSize must be a positive integer, got ${P}`);
    if (config.discretization !== 'zoh' && config.discretization !== 'bilinear') throw new RangeError(`s5: discretization must be 'zoh' or 'bilinear', got '${config.discretization}'`);
    if (!(config.dtMin > 0 && config.dtMax >= config.dtMin)) throw new RangeError(`s5: need 0 < dtMin ≤ dtMax, got ${config.dtMin}, ${config.dtMax}`);
    const J = config.blocks;
    if (!Number.isInteger(J) || J < 1 || P % J !== 0) throw new RangeError(`s5: blocks must be a positive integer dividing ssmSize ${P}, got ${J}`);
    this.dModel = H;
    this.P = P;
    const m = P / J; // modes per block; the block's HiPPO-N is 2m × 2m
    const hippoN = nplrLegs(2 * m);
    const init = new Init(config.seed ?? 0);
    const r = init.rng();
    const logStep = Tensor.zeros([P]);
    for (let p = 0; p < P; p++) logStep.data[p] = r.uniform() * (Math.log(config.dtMax) - Math.log(config.dtMin)) + Math.log(config.dtMin);
    const bReal = init.normal([2 * P, H], 1 / Math.sqrt(2 * P)).data as Float32Array;
    const cCplx = init.normal([H, 2 * P, 2], 1 / Math.sqrt(2 * P)).data as Float32Array;
    const B = Tensor.zeros([P, H, 2]);
    const C = Tensor.zeros([H, P, 2]);
    for (let p = 0; p < P; p++) {
      const [j, k] = [Math.floor(p / m), p % m]; // block, column of V_b
      for (let n = 0; n < 2 * m; n++) {
        const [vr, vi] = [hippoN.vRe[n * m + k]!, hippoN.vIm[n * m + k]!];
        const row = 2 * m * j + n; // row of V = blockdiag(V_b)
        for (let h = 0; h < H; h++) {
          // B̃[p, h] += conj(V[row, p])·B[row, h];  C̃[h, p] += C[h, row]·V[row, p]
          B.data[2 * (p * H + h)] += vr * bReal[row * H + h]!;
          B.data[2 * (p * H + h) + 1] += -vi * bReal[row * H + h]!;
          const [cr, ci] = [cCplx[2 * (h * 2 * P + row)]!, cCplx[2 * (h * 2 * P + row) + 1]!];
          C.data[2 * (h * P + p)] += cr * vr - ci * vi;
          C.data[2 * (h * P + p) + 1] += cr * vi + ci * vr;
        }
      }
    }
    this.parameters = {
      Lambda_re: new Tensor(Float32Array.from({ length: P }, (_, p) => hippoN.wRe[p % m]!), [P]),
      Lambda_im: new Tensor(Float32Array.from({ length: P }, (_, p) => hippoN.wIm[p % m]!), [P]),
      B,
      C,
      D: init.normal([H], 1),
      log_step: logStep,
    };
  }

  private discretise(lr: Tensor, li: Tensor, B: Tensor, C: Tensor, logStep: Tensor): Discrete {
    const [H, P] = [this.dModel, this.P];
    const lambdaBar = new Float32Array(2 * P);
    const inMap = new Float32Array(2 * P * H);
    const outMap = new Float32Array(H * 2 * P);
    const b = B.data as Float32Array;
    const c = C.data as Float32Array;
    for (let p = 0; p < P; p++) {
      const [ar, ai] = [(lr.data as Float32Array)[p]!, (li.data as Float32Array)[p]!];
      const dt = Math.exp((logStep.data as Float32Array)[p]!);
      let abr: number, abi: number, sr: number, si: number; // Λ̄ and the factor s with B̄ = s·B̃
      if (this.config.discretization === 'zoh') {
        const e = Math.exp(dt * ar);
        [abr, abi] = [e * Math.cos(dt * ai), e * Math.sin(dt * ai)];
        const d = ar * ar + ai * ai; // (Λ̄ − 1)/Λ
        [sr, si] = [((abr - 1) * ar + abi * ai) / d, (abi * ar - (abr - 1) * ai) / d];
      } else {
        const [dr, di] = [1 - (dt * ar) / 2, -(dt * ai) / 2];
        const d = dr * dr + di * di;
        const [nr, ni] = [1 + (dt * ar) / 2, (dt * ai) / 2];
        [abr, abi] = [(nr * dr + ni * di) / d, (ni * dr - nr * di) / d];
        [sr, si] = [(dt * dr) / d, (-dt * di) / d];
      }
      lambdaBar[2 * p] = abr;
      lambdaBar[2 * p + 1] = abi;
      for (let h = 0; h < H; h++) {
        const [br, bi] = [b[2 * (p * H + h)]!, b[2 * (p * H + h) + 1]!];
        inMap[2 * p * H + h] = sr * br - si * bi;
        inMap[(2 * p + 1) * H + h] = sr * bi + si * br;
        outMap[h * 2 * P + 2 * p] = 2 * c[2 * (h * P + p)]!;
        outMap[h * 2 * P + 2 * p + 1] = -2 * c[2 * (h * P + p) + 1]!;
      }
    }
    return { lambdaBar: new Tensor(lambdaBar, [P, 2]), inMap: new Tensor(inMap, [2 * P, H]), outMap: new Tensor(outMap, [H, 2 * P]) };
  }

  createState(batch: number): S5State {
    return { h: Tensor.zeros([batch, this.P, 2]) };
  }

  forward(run: OpRunner, u: Tensor, state?: S5State): MixerOutput<S5State> {
    const [batch, L] = checkInput(this.kind, this.dModel, u);
    if (state !== undefined) checkState(this.kind, state, { h: [batch, this.P, 2] });
    const p = this.parameters;
    const P = this.P;
    const dis = this.discrete.get(p.Lambda_re!, p.Lambda_im!, p.B!, p.C!, p.log_step!);
    const bu = run.linear({ x: u, weight: dis.inMap }).y.reshape([batch, L, P, 2]);
    const a = run.expand({ x: dis.lambdaBar.reshape([1, 1, P, 2]), shape: [batch, L, P, 2] }).y;
    const scan = run.diagonalScan({ a, b: bu, initialState: state?.h, complex: true });
    const ch = run.linear({ x: scan.h.reshape([batch, L, 2 * P]), weight: dis.outMap }).y;
    const y = run.elementwise({ expr: 'ch + d * u', inputs: { ch, d: p.D!, u } }).y;
    return state === undefined ? { y } : { y, state: { h: scan.lastState } };
  }
}

export const s5Spec = registerMixer<S5Config>({
  name: 's5',
  family: 'ssm',
  paper: { title: 'Simplified State Space Layers for Sequence Modeling', authors: 'Smith, Warrington, Linderman', year: 2023, url: 'https://arxiv.org/abs/2208.04933' },
  summary: 'one MIMO diagonal complex state shared by all channels (HiPPO-N eigenvalues), per-mode step sizes, parallel scan; y = 2·Re(C̃h) + D⊙u',
  defaults: { ssmSize: 16, blocks: 1, discretization: 'zoh', dtMin: 0.001, dtMax: 0.1 },
  variants: [{ ssmSize: 5, discretization: 'bilinear' }, { blocks: 4 }],
  constantState: true,
  create: (config) => new S5Mixer(config),
});
