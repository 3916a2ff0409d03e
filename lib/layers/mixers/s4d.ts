// S4D (Gu, Gupta, Goel, Ré 2022, "On the Parameterization and Initialization of
// Diagonal State Space Models"), as state-spaces/s4 models/s4/s4d.py: per
// channel h (H = dModel channels) a diagonal complex SSM of N/2 modes,
//
//   A = −exp(log_A_real) + i·A_imag,  Δ = exp(log_dt),  B = 1
//   ZOH: Ā = exp(ΔA), B̄ = (Ā − 1)/A;  bilinear: Ā = (1 + ΔA/2)/(1 − ΔA/2), B̄ = Δ/(1 − ΔA/2)
//   h_t = Ā h_{t−1} + B̄ u_t,   y_t = 2·Re(C·h_t) + D u_t
//   out = GLU(output_linear(gelu(y)))                 (the S4D block's output layer)
//
// Init 'lin' (S4D-Lin): A = −½ + iπn; 'inv' (S4D-Inv): A = −½ + i·(N/π)(N/(2n+1) − 1).
// Convolution mode (a whole sequence, no state): K = ssmKernel(A, B, C, Δ, L), y = fftConv(u, K, D).
// Recurrent mode (with a state, any L): one complex diagonalScan over the modes, then the C
// contraction as a batched product per channel. State: h [b, H, N/2, 2].

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { Derived } from './derived.js';

export interface S4dConfig extends BaseConfig {
  /** N: state size per channel (N/2 complex modes) */
  dState: number;
  init: 'lin' | 'inv';
  discretization: 'zoh' | 'bilinear';
  dtMin: number;
  dtMax: number;
}

type S4dState = { h: Tensor };

interface Discrete {
  A: Tensor; // [H, M, 2] continuous A
  delta: Tensor; // [H]
  aBar: Tensor; // [H·M, 2]
  bBar: Tensor; // [H, M, 2]
  cPacked: Tensor; // [H, 2M, 1]: (2·C_re, −2·C_im) so that h·c = 2·Re(C·h)
}

function complexDiv(ar: number, ai: number, br: number, bi: number): [number, number] {
  const d = br * br + bi * bi;
  return [(ar * br + ai * bi) / d, (ai * br - ar * bi) / d];
}

class S4dMixer implements Mixer<S4dState> {
  readonly kind = 's4d';
  readonly dModel: number;
  readonly parameters: Record<string, Tensor>;
  readonly linearWeights = ['output_linear.0.weight'];
  private readonly M: number;
  /** S4D's B = 1 for every mode, as (re, im) [H, M, 2] */
  private readonly bOnes: Tensor;
  private readonly discrete = new Derived((logAReal, aImag, logDt, C) => this.discretise(logAReal, aImag, logDt, C));

  constructor(readonly config: Readonly<S4dConfig>) {
    const { dModel: H, dState: N } = config;
    if (!Number.isInteger(N) || N < 2 || N % 2 !== 0) throw new RangeError(`s4d: dState must be an even integer ≥ 2, got ${N}`);
    if (config.init !== 'lin' && config.init !== 'inv') throw new RangeError(`s4d: init must be 'lin' or 'inv', got '${config.init}'`);
    if (config.discretization !== 'zoh' && config.discretization !== 'bilinear') throw new RangeError(`s4d: discretization must be 'zoh' or 'bilinear', got '${config.discretization}'`);
    if (!(config.dtMin > 0 && config.dtMax >= config.dtMin)) throw new RangeError(`s4d: need 0 < dtMin ≤ dtMax, got ${config.dtMin}, ${config.dtMax}`);
    this.dModel = H;
    const M = (this.M = N / 2);
    this.bOnes = Tensor.zeros([H, M, 2]);
    for (let i = 0; i < H * M; i++) this.bOnes.data[2 * i] = 1;
    const init = new Init(config.seed ?? 0);
    const r = init.rng();
    const logDt = Tensor.zeros([H]);
    for (let h = 0; h < H; h++) logDt.data[h] = r.uniform() * (Math.log(config.dtMax) - Math.log(config.dtMin)) + Math.log(config.dtMin);
    const logAReal = Tensor.full([H, M], Math.log(0.5));
    const aImag = Tensor.zeros([H, M]);
    for (let h = 0; h < H; h++) {
      for (let n = 0; n < M; n++) aImag.data[h * M + n] = config.init === 'lin' ? Math.PI * n : (N / Math.PI) * (N / (2 * n + 1) - 1);
    }
    this.parameters = {
      'kernel.log_dt': logDt,
      'kernel.log_A_real': logAReal,
      'kernel.A_imag': aImag,
      'kernel.C': init.normal([H, M, 2], Math.sqrt(0.5)),
      D: init.normal([H], 1),
      'output_linear.0.weight': init.linear(2 * H, H),
      'output_linear.0.bias': init.linearBias(2 * H, H),
    };
  }

  private discretise(logAReal: Tensor, aImag: Tensor, logDt: Tensor, C: Tensor): Discrete {
    const [H, M] = [this.dModel, this.M];
    const A = new Float32Array(H * M * 2);
    const aBar = new Float32Array(H * M * 2);
    const bBar = new Float32Array(H * M * 2);
    const cPacked = new Float32Array(H * M * 2);
    const delta = new Float32Array(H);
    for (let h = 0; h < H; h++) {
      const dt = Math.exp((logDt.data as Float32Array)[h]!);
      delta[h] = dt;
      for (let n = 0; n < M; n++) {
        const i = h * M + n;
        const ar = -Math.exp((logAReal.data as Float32Array)[i]!);
        const ai = (aImag.data as Float32Array)[i]!;
        A[2 * i] = ar;
        A[2 * i + 1] = ai;
        let abr: number, abi: number, bbr: number, bbi: number;
        if (this.config.discretization === 'zoh') {
          const e = Math.exp(dt * ar);
          [abr, abi] = [e * Math.cos(dt * ai), e * Math.sin(dt * ai)];
          [bbr, bbi] = complexDiv(abr - 1, abi, ar, ai);
        } else {
          const [dr, di] = [1 - (dt * ar) / 2, -(dt * ai) / 2];
          [abr, abi] = complexDiv(1 + (dt * ar) / 2, (dt * ai) / 2, dr, di);
          [bbr, bbi] = complexDiv(dt, 0, dr, di);
        }
        aBar[2 * i] = abr;
        aBar[2 * i + 1] = abi;
        bBar[2 * i] = bbr;
        bBar[2 * i + 1] = bbi;
        cPacked[h * 2 * M + 2 * n] = 2 * (C.data as Float32Array)[2 * i]!;
        cPacked[h * 2 * M + 2 * n + 1] = -2 * (C.data as Float32Array)[2 * i + 1]!;
      }
    }
    return {
      A: new Tensor(A, [H, M, 2]),
      delta: new Tensor(delta, [H]),
      aBar: new Tensor(aBar, [H * M, 2]),
      bBar: new Tensor(bBar, [H, M, 2]),
      cPacked: new Tensor(cPacked, [H, 2 * M, 1]),
    };
  }

  createState(batch: number): S4dState {
    return { h: Tensor.zeros([batch, this.dModel, this.M, 2]) };
  }

  forward(run: OpRunner, u: Tensor, state?: S4dState): MixerOutput<S4dState> {
    const [batch, L] = checkInput(this.kind, this.dModel, u);
    if (state !== undefined) checkState(this.kind, state, { h: [batch, this.dModel, this.M, 2] });
    const p = this.parameters;
    const [H, M] = [this.dModel, this.M];
    const dis = this.discrete.get(p['kernel.log_A_real']!, p['kernel.A_imag']!, p['kernel.log_dt']!, p['kernel.C']!);
    let y: Tensor;
    let next: S4dState | undefined;
    if (state === undefined) {
      const { k } = run.ssmKernel({ A: dis.A, B: this.bOnes, C: p['kernel.C']!, delta: dis.delta, length: L, discretization: this.config.discretization });
      y = run.fftConv({ u, k, D: p.D }).y;
    } else {
      // b_t = B̄·u_t per mode, a = Ā for every step; h [b, L, H·M, 2].
      const uModes = run.expand({ x: u.reshape([batch, L, H, 1, 1]), shape: [batch, L, H, M, 2] }).y;
      const bt = run.elementwise({ expr: 'u * bb', inputs: { u: uModes, bb: dis.bBar } }).y.reshape([batch, L, H * M, 2]);
      const a = run.expand({ x: dis.aBar.reshape([1, 1, H * M, 2]), shape: [batch, L, H * M, 2] }).y;
      const scan = run.diagonalScan({ a, b: bt, initialState: state.h.reshape([batch, H * M, 2]), complex: true });
      // 2·Re(C·h) per channel: [H, b·L, 2M] × [H, 2M, 1].
      const hPerChannel = run.permute({ x: scan.h.reshape([batch * L, H, 2 * M]), dims: [1, 0, 2] }).y;
      const c = run.bmm({ a: hPerChannel, b: dis.cPacked }).y; // [H, b·L, 1]
      const yc = run.permute({ x: c.reshape([H, batch * L]), dims: [1, 0] }).y.reshape([batch, L, H]);
      y = run.elementwise({ expr: 'yc + d * u', inputs: { yc, d: p.D!, u } }).y;
      next = { h: scan.lastState.reshape([batch, H, M, 2]) };
    }
    const g = run.elementwise({ expr: 'gelu(y)', inputs: { y } }).y;
    const z = run.linear({ x: g, weight: p['output_linear.0.weight']!, bias: p['output_linear.0.bias'] }).y;
    // GLU over the last dimension: first half × σ(second half).
    const zz = z.reshape([batch, L, 2, H]);
    const first = run.slice({ x: zz, axis: 2, start: 0, end: 1 }).y;
    const second = run.slice({ x: zz, axis: 2, start: 1, end: 2 }).y;
    const out = run.elementwise({ expr: 'a * sigmoid(b)', inputs: { a: first, b: second } }).y.reshape([batch, L, H]);
    return next ? { y: out, state: next } : { y: out };
  }
}

export const s4dSpec = registerMixer<S4dConfig>({
  name: 's4d',
  family: 'ssm',
  paper: { title: 'On the Parameterization and Initialization of Diagonal State Space Models', authors: 'Gu, Gupta, Goel, Ré', year: 2022, url: 'https://arxiv.org/abs/2206.11893' },
  summary: 'diagonal complex SSM per channel (S4D-Lin / S4D-Inv), convolution mode by ssmKernel + fftConv, recurrent mode by a complex scan; GELU + GLU output',
  defaults: { dState: 16, init: 'lin', discretization: 'zoh', dtMin: 0.001, dtMax: 0.1 },
  variants: [{ init: 'inv', discretization: 'bilinear', dState: 6 }, { discretization: 'bilinear' }],
  constantState: true,
  create: (config) => new S4dMixer(config),
});
