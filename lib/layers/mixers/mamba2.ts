// Mamba-2 (Dao & Gu 2024): the block of state-spaces/mamba
// mamba_ssm/modules/mamba2_simple.py, whose SSD layer is linear attention with a
// scalar decay per head:
//
//   z, xBC, dt = in_proj(u)                     widths d_inner, d_inner + 2·G·N, H
//   x, B, C    = silu(conv1d(xBC))              depthwise causal conv, width d_conv, with bias
//   Δ          = softplus(dt + dt_bias),  A = −exp(A_log)          per head
//   S_t        = exp(Δ_t A) S_{t−1} + B_t (Δ_t x_t)ᵀ               S [N, P] per head
//   y_t        = C_tᵀ S_t + D x_t                                   (head h reads group h / (H/G))
//   out        = out_proj(rmsnorm(y ⊙ silu(z)) · norm.weight)       RMSNormGated, norm_before_gate=False,
//                                                                   groups of d_inner / G channels
// (the norm's groups are mamba2.py's and HF Mamba2's group_size = d_inner / ngroups; mamba2_simple.py
// normalises over all of d_inner — the same thing for its ngroups = 1, different for G > 1.)
//
// So the scan is ops.linearAttention with q = C, k = B, v = Δ·x and log decay
// g = Δ·A (chunked for a sequence, recurrent for a step), scale 1. in_proj and
// the conv are applied per part (x, B, C, z, dt) on row views of the weights —
// the depthwise conv is per channel, so three convs equal one — with no copies.
// State: conv_x [b, d_inner, d_conv−1], conv_B, conv_C [b, G·N, d_conv−1],
// ssm [b, H, N, P].
//
// Init as mamba2_simple.py: A_log = log U[1, 16] per head, D = 1, dt_bias =
// softplus⁻¹(exp U[log dt_min, log dt_max]) (floored at 1e-4), norm.weight = 1,
// the rest PyTorch defaults.

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { Derived } from './derived.js';

export interface Mamba2Config extends BaseConfig {
  dState: number;
  dConv: number;
  expand: number;
  /** P, channels per head; 0: 64 when it divides d_inner, else 16 when it does, else d_inner */
  headdim: number;
  /** G, groups sharing B and C (divides the heads) */
  ngroups: number;
  dtMin: number;
  dtMax: number;
}

type Mamba2State = { convX: Tensor; convB: Tensor; convC: Tensor; ssm: Tensor };

class Mamba2Mixer implements Mixer<Mamba2State> {
  readonly kind = 'mamba2';
  readonly dModel: number;
  readonly parameters: Record<string, Tensor>;
  readonly linearWeights = ['in_proj.weight', 'out_proj.weight'];
  private readonly dInner: number;
  private readonly heads: number;
  private readonly P: number;
  /** A = −exp(A_log) [H] */
  private readonly A = new Derived((aLog) => new Tensor(Float32Array.from(aLog.toArray(), (v) => -Math.exp(v)), aLog.shape));
  /** D repeated over each head's channels [H, P] */
  private readonly Dfull = new Derived((D) => new Tensor(Float32Array.from({ length: this.heads * this.P }, (_, i) => (D.data as Float32Array)[Math.floor(i / this.P)]!), [this.heads, this.P]));

  constructor(readonly config: Readonly<Mamba2Config>) {
    const { dModel: d, dState: N, dConv, expand, ngroups: G } = config;
    for (const [k, v] of [['dState', N], ['dConv', dConv], ['expand', expand], ['ngroups', G]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`mamba2: ${k} must be a positive integer, got ${v}`);
    }
    if (!(config.dtMin > 0 && config.dtMax >= config.dtMin)) throw new RangeError(`mamba2: need 0 < dtMin ≤ dtMax, got ${config.dtMin}, ${config.dtMax}`);
    this.dModel = d;
    const dI = (this.dInner = expand * d);
    const P = (this.P = config.headdim || (dI % 64 === 0 ? 64 : dI % 16 === 0 ? 16 : dI));
    if (!Number.isInteger(P) || P < 1 || dI % P !== 0) throw new RangeError(`mamba2: headdim (${P}) must divide d_inner = expand·dModel = ${dI}`);
    const H = (this.heads = dI / P);
    if (H % G !== 0) throw new RangeError(`mamba2: ngroups (${G}) must divide the number of heads (${H})`);
    const init = new Init(config.seed ?? 0);
    const convDim = dI + 2 * G * N;
    const convBound = 1 / Math.sqrt(dConv);
    const r = init.rng();
    const dtBias = Tensor.zeros([H]);
    const aLog = Tensor.zeros([H]);
    for (let h = 0; h < H; h++) {
      const dt = Math.max(Math.exp(r.uniform() * (Math.log(config.dtMax) - Math.log(config.dtMin)) + Math.log(config.dtMin)), 1e-4);
      dtBias.data[h] = dt + Math.log(-Math.expm1(-dt)); // softplus⁻¹(dt)
      aLog.data[h] = Math.log(1 + 15 * r.uniform());
    }
    this.parameters = {
      'in_proj.weight': init.linear(2 * dI + 2 * G * N + H, d),
      'conv1d.weight': init.uniform([convDim, 1, dConv], -convBound, convBound),
      'conv1d.bias': init.uniform([convDim], -convBound, convBound),
      dt_bias: dtBias,
      A_log: aLog,
      D: init.full([H], 1),
      'norm.weight': init.full([dI], 1),
      'out_proj.weight': init.linear(d, dI),
    };
  }

  private shapes(batch: number): Record<string, number[]> {
    const { dState: N, dConv, ngroups: G } = this.config;
    return {
      convX: [batch, this.dInner, dConv - 1],
      convB: [batch, G * N, dConv - 1],
      convC: [batch, G * N, dConv - 1],
      ssm: [batch, this.heads, N, this.P],
    };
  }

  createState(batch: number): Mamba2State {
    const s = this.shapes(batch);
    return { convX: Tensor.zeros(s.convX!), convB: Tensor.zeros(s.convB!), convC: Tensor.zeros(s.convC!), ssm: Tensor.zeros(s.ssm!) };
  }

  forward(run: OpRunner, u: Tensor, state?: Mamba2State): MixerOutput<Mamba2State> {
    const [batch, L] = checkInput(this.kind, this.dModel, u);
    if (state !== undefined) checkState(this.kind, state, this.shapes(batch));
    const p = this.parameters;
    const { dInner: dI, heads: H, P } = this;
    const { dState: N, dConv, ngroups: G } = this.config;
    const inW = p['in_proj.weight']!;
    const convW = p['conv1d.weight']!.reshape([dI + 2 * G * N, dConv]);
    const convBias = p['conv1d.bias']!;
    // in_proj rows: z | x | B | C | dt; conv channels: x | B | C.
    const part = (from: number, to: number) => run.linear({ x: u, weight: inW.slice(from, to) }).y;
    const conv = (x: Tensor, from: number, to: number, initialState?: Tensor) =>
      run.causalConv1d({ x, weight: convW.slice(from, to), bias: convBias.slice(from, to), activation: 'silu', initialState, returnFinalState: state !== undefined });
    const z = part(0, dI);
    const cx = conv(part(dI, 2 * dI), 0, dI, state?.convX);
    const cB = conv(part(2 * dI, 2 * dI + G * N), dI, dI + G * N, state?.convB);
    const cC = conv(part(2 * dI + G * N, 2 * dI + 2 * G * N), dI + G * N, dI + 2 * G * N, state?.convC);
    const dt = part(2 * dI + 2 * G * N, 2 * dI + 2 * G * N + H);

    const delta = run.elementwise({ expr: 'softplus(dt + bias)', inputs: { dt, bias: p.dt_bias! } }).y; // [b, L, H]
    const g = run.elementwise({ expr: 'delta * a', inputs: { delta, a: this.A.get(p.A_log!) } }).y;
    const x = cx.y.reshape([batch, L, H, P]);
    const deltaP = run.expand({ x: delta.reshape([batch, L, H, 1]), shape: [batch, L, H, P] }).y;
    const v = run.elementwise({ expr: 'x * delta', inputs: { x, delta: deltaP } }).y;
    const perHead = (t: Tensor) =>
      G === H ? t.reshape([batch, L, H, N]) : run.expand({ x: t.reshape([batch, L, G, 1, N]), shape: [batch, L, G, H / G, N] }).y.reshape([batch, L, H, N]);
    const ssd = run.linearAttention({
      q: perHead(cC.y),
      k: perHead(cB.y),
      v,
      g,
      scale: 1,
      initialState: state?.ssm,
      outputFinalState: state !== undefined,
    });
    const y = run.elementwise({ expr: 'o + x * d', inputs: { o: ssd.o, x, d: this.Dfull.get(p.D!) } }).y.reshape([batch, L, dI]);
    const normed = run.rmsNorm({ x: y, weight: p['norm.weight'], gate: z, gateBefore: true, groupSize: dI / G, eps: 1e-5 }).y;
    const out = run.linear({ x: normed, weight: p['out_proj.weight']! }).y;
    return state === undefined
      ? { y: out }
      : { y: out, state: { convX: cx.finalState!, convB: cB.finalState!, convC: cC.finalState!, ssm: ssd.finalState! } };
  }
}

export const mamba2Spec = registerMixer<Mamba2Config>({
  name: 'mamba2',
  family: 'linear-attention',
  paper: { title: 'Transformers are SSMs: Generalized Models and Efficient Algorithms Through Structured State Space Duality', authors: 'Dao, Gu', year: 2024, url: 'https://arxiv.org/abs/2405.21060' },
  summary: 'SSD: per-head scalar-decay state S_t = exp(Δ_t A)S_{t−1} + B_t(Δ_t x_t)ᵀ, y = C_tᵀS_t + Dx, after a causal conv, gated RMSNorm (mamba2_simple.py)',
  defaults: { dState: 16, dConv: 4, expand: 2, headdim: 0, ngroups: 1, dtMin: 0.001, dtMax: 0.1 },
  variants: [{ headdim: 8, ngroups: 2, dState: 8, dConv: 3 }, { headdim: 12, ngroups: 4 }],
  constantState: true,
  create: (config) => new Mamba2Mixer(config),
});
