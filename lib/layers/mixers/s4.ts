// S4 (Gu, Goel, Ré 2022, "Efficiently Modeling Long Sequences with Structured
// State Spaces"): per channel h a state of N/2 complex modes (conjugate pairs
// of a real N-dim state) with the HiPPO-LegS matrix in DPLR form, shared by the
// channels, and a per-channel step Δ and output C̃:
//
//   A = Λ − p p*   (Λ, p, B from HiPPO-LegS: lib/layers/hippo.ts nplrLegs)
//   bilinear: Ā = (I − Δ/2·A)⁻¹(I + Δ/2·A),  B̄ = Δ(I − Δ/2·A)⁻¹B
//   h_t = Ā h_{t−1} + B̄ u_t,   y_t = 2·Re(C̃ h_t) + D u_t,  out = GLU(output_linear(gelu(y)))
//
// Convolution mode (whole sequence, no state) — the paper's algorithm: the
// kernel's truncated generating function at the roots of unity,
//   K̂(z) = 2/(1+z) · C̃(I − Ā^L′)[g(z) − A]⁻¹B,  g(z) = (2/Δ)(1−z)/(1+z),
// with [g − Λ + pp*]⁻¹ by Sherman–Morrison (Cauchy sums over the modes: O(N) per
// frequency), then an inverse FFT; all in float64, cached per length (L′ = next
// power of two ≥ L), then ops.fftConv. Recurrent mode (with a state): the
// discrete Ā as a real 2M×2M block per channel through ops.blockScan. The two
// share only the parameters — the zoo test checks them against each other.
// Names follow state-spaces/s4 (kernel.log_dt, kernel.inv_w_real, kernel.w_imag,
// kernel.P, kernel.B, kernel.C, D, output_linear). State: h [b, H, 2M] as (re…, im…).

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { nplrLegs } from '../hippo.js';
import { complexInverse, complexMatmul, identity, type ComplexMatrix } from '../../linalg.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { Derived } from './derived.js';

export interface S4Config extends BaseConfig {
  /** N: real state size per channel (N/2 complex modes) */
  dState: number;
  dtMin: number;
  dtMax: number;
}

type S4State = { h: Tensor };

interface Discrete {
  aBar: ComplexMatrix[]; // per channel, M×M
  bBar: { re: Float64Array; im: Float64Array }[];
  blocks: Tensor; // [H, 2M, 2M] real form of Ā
  bReal: Tensor; // [H, 2M]: (Re B̄, Im B̄)
  cPacked: Tensor; // [H, 2M, 1]: (2·Re C̃, −2·Im C̃)
}

const f32 = (t: Tensor) => t.data as Float32Array;

/** In-place iterative radix-2 FFT of (re, im), length a power of two; inverse = conjugate transform without scaling. */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const [wr, wi] = [Math.cos(ang * k), Math.sin(ang * k)];
        const [xr, xi] = [re[i + k + len / 2]!, im[i + k + len / 2]!];
        const [tr, ti] = [xr * wr - xi * wi, xr * wi + xi * wr];
        re[i + k + len / 2] = re[i + k]! - tr;
        im[i + k + len / 2] = im[i + k]! - ti;
        re[i + k] = re[i + k]! + tr;
        im[i + k] = im[i + k]! + ti;
      }
    }
  }
}

class S4Mixer implements Mixer<S4State> {
  readonly kind = 's4';
  readonly dModel: number;
  readonly parameters: Record<string, Tensor>;
  readonly linearWeights = ['output_linear.0.weight'];
  private readonly M: number;
  private readonly discrete = new Derived((...t) => this.discretise(t[0]!, t[1]!, t[2]!, t[3]!, t[4]!, t[5]!));
  private readonly kernels = new Map<number, { sources: Tensor[]; copy: Float32Array[]; k: Tensor }>();

  constructor(readonly config: Readonly<S4Config>) {
    const { dModel: H, dState: N } = config;
    if (!Number.isInteger(N) || N < 2 || N % 2 !== 0) throw new RangeError(`s4: dState must be an even integer ≥ 2, got ${N}`);
    if (!(config.dtMin > 0 && config.dtMax >= config.dtMin)) throw new RangeError(`s4: need 0 < dtMin ≤ dtMax, got ${config.dtMin}, ${config.dtMax}`);
    this.dModel = H;
    const M = (this.M = N / 2);
    const nplr = nplrLegs(N);
    const init = new Init(config.seed ?? 0);
    const r = init.rng();
    const logDt = Tensor.zeros([H]);
    for (let h = 0; h < H; h++) logDt.data[h] = r.uniform() * (Math.log(config.dtMax) - Math.log(config.dtMin)) + Math.log(config.dtMin);
    const pair = (re: Float64Array, im: Float64Array) => new Tensor(Float32Array.from({ length: 2 * M }, (_, i) => (i % 2 ? im : re)[i >> 1]!), [M, 2]);
    this.parameters = {
      'kernel.log_dt': logDt,
      'kernel.inv_w_real': new Tensor(Float32Array.from(nplr.wRe, (w) => Math.log(-w)), [M]),
      'kernel.w_imag': new Tensor(Float32Array.from(nplr.wIm), [M]),
      'kernel.P': pair(nplr.pRe, nplr.pIm),
      'kernel.B': pair(nplr.bRe, nplr.bIm),
      'kernel.C': init.normal([H, M, 2], Math.sqrt(0.5)),
      D: init.normal([H], 1),
      'output_linear.0.weight': init.linear(2 * H, H),
      'output_linear.0.bias': init.linearBias(2 * H, H),
    };
  }

  private params(): Tensor[] {
    const p = this.parameters;
    return [p['kernel.inv_w_real']!, p['kernel.w_imag']!, p['kernel.P']!, p['kernel.B']!, p['kernel.C']!, p['kernel.log_dt']!];
  }

  /** The continuous A = Λ − pp* as a dense complex matrix. */
  private continuousA(invWReal: Tensor, wImag: Tensor, P: Tensor): ComplexMatrix {
    const M = this.M;
    const re = new Float64Array(M * M);
    const im = new Float64Array(M * M);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < M; j++) {
        const [pir, pii, pjr, pji] = [f32(P)[2 * i]!, f32(P)[2 * i + 1]!, f32(P)[2 * j]!, f32(P)[2 * j + 1]!];
        re[i * M + j] = -(pir * pjr + pii * pji); // −p_i·conj(p_j)
        im[i * M + j] = -(pii * pjr - pir * pji);
      }
      re[i * M + i] += -Math.exp(f32(invWReal)[i]!);
      im[i * M + i] += f32(wImag)[i]!;
    }
    return { n: M, re, im };
  }

  private discretise(invWReal: Tensor, wImag: Tensor, P: Tensor, B: Tensor, C: Tensor, logDt: Tensor): Discrete {
    const [H, M] = [this.dModel, this.M];
    const A = this.continuousA(invWReal, wImag, P);
    const aBar: ComplexMatrix[] = [];
    const bBar: { re: Float64Array; im: Float64Array }[] = [];
    const blocks = new Float32Array(H * 4 * M * M);
    const bReal = new Float32Array(H * 2 * M);
    const cPacked = new Float32Array(H * 2 * M);
    for (let h = 0; h < H; h++) {
      const dt = Math.exp(f32(logDt)[h]!);
      const minus: ComplexMatrix = { n: M, re: identity(M), im: new Float64Array(M * M) };
      const plus: ComplexMatrix = { n: M, re: identity(M), im: new Float64Array(M * M) };
      for (let i = 0; i < M * M; i++) {
        minus.re[i] -= (dt / 2) * A.re[i]!;
        minus.im[i] -= (dt / 2) * A.im[i]!;
        plus.re[i] += (dt / 2) * A.re[i]!;
        plus.im[i] += (dt / 2) * A.im[i]!;
      }
      const inv = complexInverse(minus);
      const ab = complexMatmul(inv, plus);
      const bb = { re: new Float64Array(M), im: new Float64Array(M) };
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < M; j++) {
          const [br, bi] = [f32(B)[2 * j]!, f32(B)[2 * j + 1]!];
          bb.re[i] += dt * (inv.re[i * M + j]! * br - inv.im[i * M + j]! * bi);
          bb.im[i] += dt * (inv.re[i * M + j]! * bi + inv.im[i * M + j]! * br);
        }
      }
      aBar.push(ab);
      bBar.push(bb);
      const base = h * 4 * M * M;
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < M; j++) {
          // [[Re, −Im], [Im, Re]] acting on (re…, im…)
          blocks[base + i * 2 * M + j] = ab.re[i * M + j]!;
          blocks[base + i * 2 * M + M + j] = -ab.im[i * M + j]!;
          blocks[base + (M + i) * 2 * M + j] = ab.im[i * M + j]!;
          blocks[base + (M + i) * 2 * M + M + j] = ab.re[i * M + j]!;
        }
        bReal[h * 2 * M + i] = bb.re[i]!;
        bReal[h * 2 * M + M + i] = bb.im[i]!;
        cPacked[h * 2 * M + i] = 2 * f32(C)[2 * (h * M + i)]!;
        cPacked[h * 2 * M + M + i] = -2 * f32(C)[2 * (h * M + i) + 1]!;
      }
    }
    return { aBar, bBar, blocks: new Tensor(blocks, [H, 2 * M, 2 * M]), bReal: new Tensor(bReal, [H, 2 * M]), cPacked: new Tensor(cPacked, [H, 2 * M, 1]) };
  }

  /** K [H, L] by the truncated generating function at L′ = 2^⌈log₂ L⌉ roots of unity (cached per L while the parameters are unchanged). */
  private kernel(L: number): Tensor {
    const sources = this.params();
    const hit = this.kernels.get(L);
    if (hit && hit.sources.every((s, i) => s === sources[i] && f32(s).every((v, j) => Object.is(v, hit.copy[i]![j])))) return hit.k;
    const [invWReal, wImag, P, B, C, logDt] = sources as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const dis = this.discrete.get(...sources);
    const [H, M] = [this.dModel, this.M];
    const Lp = 2 ** Math.ceil(Math.log2(Math.max(L, 2)));
    const lamRe = Float64Array.from(f32(invWReal), (v) => -Math.exp(v));
    const lamIm = Float64Array.from(f32(wImag));
    const k = new Float32Array(H * L);
    for (let h = 0; h < H; h++) {
      const dt = Math.exp(f32(logDt)[h]!);
      // C̃ = C(I − Ā^L′): Ā^L′ by repeated squaring.
      let pw = dis.aBar[h]!;
      for (let s = 1; s < Lp; s *= 2) pw = complexMatmul(pw, pw);
      const ctRe = new Float64Array(M);
      const ctIm = new Float64Array(M);
      for (let j = 0; j < M; j++) {
        let sr = f32(C)[2 * (h * M + j)]!;
        let si = f32(C)[2 * (h * M + j) + 1]!;
        for (let i = 0; i < M; i++) {
          const [cr, ci] = [f32(C)[2 * (h * M + i)]!, f32(C)[2 * (h * M + i) + 1]!];
          sr -= cr * pw.re[i * M + j]! - ci * pw.im[i * M + j]!;
          si -= cr * pw.im[i * M + j]! + ci * pw.re[i * M + j]!;
        }
        ctRe[j] = sr;
        ctIm[j] = si;
      }
      const specRe = new Float64Array(Lp);
      const specIm = new Float64Array(Lp);
      for (let f = 0; f < Lp; f++) {
        const [zr, zi] = [Math.cos((-2 * Math.PI * f) / Lp), Math.sin((-2 * Math.PI * f) / Lp)];
        // r_n = 2 / ((2/Δ)(1 − z) − (1 + z)Λ_n);  s = (1 + z)/2
        let cbR = 0, cbI = 0, cpR = 0, cpI = 0, pbR = 0, pbI = 0, ppR = 0, ppI = 0;
        for (let n = 0; n < M; n++) {
          const dr = (2 / dt) * (1 - zr) - ((1 + zr) * lamRe[n]! - zi * lamIm[n]!);
          const di = (2 / dt) * -zi - ((1 + zr) * lamIm[n]! + zi * lamRe[n]!);
          const dd = dr * dr + di * di;
          const [rr, ri] = [(2 * dr) / dd, (-2 * di) / dd];
          const [br, bi] = [f32(B)[2 * n]!, f32(B)[2 * n + 1]!];
          const [pr, pi] = [f32(P)[2 * n]!, f32(P)[2 * n + 1]!];
          const mul = (ar: number, ai: number, xr: number, xi: number): [number, number] => [ar * xr - ai * xi, ar * xi + ai * xr];
          const [cbr, cbi] = mul(...mul(ctRe[n]!, ctIm[n]!, br, bi), rr, ri);
          const [cpr, cpi] = mul(...mul(ctRe[n]!, ctIm[n]!, pr, pi), rr, ri);
          const [pbr, pbi] = mul(...mul(pr, -pi, br, bi), rr, ri);
          cbR += cbr; cbI += cbi; cpR += cpr; cpI += cpi; pbR += pbr; pbI += pbi;
          ppR += (pr * pr + pi * pi) * rr;
          ppI += (pr * pr + pi * pi) * ri;
        }
        const [sr, si] = [(1 + zr) / 2, zi / 2];
        // K̂ = ΣC̃Br − s(ΣC̃pr)(Σp̄Br)/(1 + sΣ|p|²r)
        const [nr0, ni0] = [cpR * pbR - cpI * pbI, cpR * pbI + cpI * pbR];
        const [nr, ni] = [sr * nr0 - si * ni0, sr * ni0 + si * nr0];
        const [dr, di] = [1 + sr * ppR - si * ppI, sr * ppI + si * ppR];
        const dd = dr * dr + di * di;
        specRe[f] = cbR - (nr * dr + ni * di) / dd;
        specIm[f] = cbI - (ni * dr - nr * di) / dd;
      }
      fft(specRe, specIm, true);
      for (let l = 0; l < L; l++) k[h * L + l] = (2 * specRe[l]!) / Lp;
    }
    const kt = new Tensor(k, [H, L]);
    this.kernels.set(L, { sources, copy: sources.map((s) => Float32Array.from(f32(s))), k: kt });
    if (this.kernels.size > 8) this.kernels.delete(this.kernels.keys().next().value!);
    return kt;
  }

  createState(batch: number): S4State {
    return { h: Tensor.zeros([batch, this.dModel, 2 * this.M]) };
  }

  forward(run: OpRunner, u: Tensor, state?: S4State): MixerOutput<S4State> {
    const [batch, L] = checkInput(this.kind, this.dModel, u);
    if (state !== undefined) checkState(this.kind, state, { h: [batch, this.dModel, 2 * this.M] });
    const p = this.parameters;
    const [H, M] = [this.dModel, this.M];
    let y: Tensor;
    let next: S4State | undefined;
    if (state === undefined) {
      y = run.fftConv({ u, k: this.kernel(L), D: p.D }).y;
    } else {
      const dis = this.discrete.get(...this.params());
      const uModes = run.expand({ x: u.reshape([batch, L, H, 1]), shape: [batch, L, H, 2 * M] }).y;
      const bt = run.elementwise({ expr: 'u * bb', inputs: { u: uModes, bb: dis.bReal } }).y;
      const scan = run.blockScan({ a: dis.blocks, b: bt, initialState: state.h });
      const hPerChannel = run.permute({ x: scan.h.reshape([batch * L, H, 2 * M]), dims: [1, 0, 2] }).y;
      const c = run.bmm({ a: hPerChannel, b: dis.cPacked }).y;
      const yc = run.permute({ x: c.reshape([H, batch * L]), dims: [1, 0] }).y.reshape([batch, L, H]);
      y = run.elementwise({ expr: 'yc + d * u', inputs: { yc, d: p.D!, u } }).y;
      next = { h: scan.lastState };
    }
    const g = run.elementwise({ expr: 'gelu(y)', inputs: { y } }).y;
    const z = run.linear({ x: g, weight: p['output_linear.0.weight']!, bias: p['output_linear.0.bias'] }).y.reshape([batch, L, 2, H]);
    const first = run.slice({ x: z, axis: 2, start: 0, end: 1 }).y;
    const second = run.slice({ x: z, axis: 2, start: 1, end: 2 }).y;
    const out = run.elementwise({ expr: 'a * sigmoid(b)', inputs: { a: first, b: second } }).y.reshape([batch, L, H]);
    return next ? { y: out, state: next } : { y: out };
  }
}

export const s4Spec = registerMixer<S4Config>({
  name: 's4',
  family: 'ssm',
  paper: { title: 'Efficiently Modeling Long Sequences with Structured State Spaces', authors: 'Gu, Goel, Ré', year: 2022, url: 'https://arxiv.org/abs/2111.00396' },
  summary: 'HiPPO-LegS in DPLR form per channel; convolution mode by the Cauchy/Woodbury generating function + fftConv, recurrent mode by a dense bilinear step (blockScan); GELU + GLU output',
  defaults: { dState: 16, dtMin: 0.001, dtMax: 0.1 },
  variants: [{ dState: 6, dtMin: 0.01, dtMax: 0.5 }],
  constantState: true,
  create: (config) => new S4Mixer(config),
});
