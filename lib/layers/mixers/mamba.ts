// Mamba (Gu & Dao 2023): the block of state-spaces/mamba mamba_ssm/modules/mamba_simple.py.
//
//   x, z = in_proj(u)                              two halves of one Linear(d, 2·d_inner, bias=False)
//   x    = silu(conv1d(x))                         depthwise causal conv, width d_conv, with bias
//   dt, B, C = x_proj(x)                           widths dt_rank, d_state, d_state
//   Δ    = softplus(dt_proj.weight · dt + dt_proj.bias)
//   h_t  = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t x_t,  A = −exp(A_log)   (per channel, d_state wide)
//   y_t  = (C_t · h_t + D x_t) ⊙ silu(z_t)
//   out  = out_proj(y)
//
// heads > 1 (Zamba's n_mamba_heads): the d_inner channels split into `heads` equal
// groups, each with its own x_proj, dt_proj and B, C. Stored as one block-diagonal
// x_proj [heads·(dt_rank + 2·d_state), d_inner] (rows dt of every head | B of every
// head | C of every head) and dt_proj [d_inner, heads·dt_rank]; B, C go to the scan
// as `heads` groups.
//
// Both modes are the same four kernels (linear, causalConv1d, selectiveScan,
// linear); with L = 1 and a state they are Mamba's step(). in_proj and x_proj
// are applied as several linears over row views of their weights (free views
// of the parameters), so no slice copies are needed. conv1d.weight keeps
// PyTorch's [d_inner, 1, d_conv] shape and is viewed as the op's [c, w].
// State: conv [b, d_inner, d_conv − 1] (the last inputs of the conv),
// ssm [b, d_inner, d_state].
//
// Init as mamba_simple.py: A_log = log(1..d_state) per channel (S4D-real), D = 1,
// dt_proj.weight U(±dt_rank^−½), dt_proj.bias = softplus⁻¹(dt) with
// dt = exp(U[log dt_min, log dt_max]) clamped at 1e-4; the rest PyTorch defaults.

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { Derived } from './derived.js';

export interface MambaConfig extends BaseConfig {
  dState: number;
  dConv: number;
  expand: number;
  /** 0 means 'auto': ceil(dModel / 16) */
  dtRank: number;
  dtMin: number;
  dtMax: number;
  /** Jamba's Mamba: RMSNorms on dt, B and C after x_proj (dt_layernorm, b_layernorm, c_layernorm) */
  innerNorms: boolean;
  /** their epsilon */
  innerNormEps: number;
  /** Zamba's n_mamba_heads: per-head x_proj/dt_proj and B, C (block-diagonal weights); default 1 */
  heads?: number;
}

type MambaState = { conv: Tensor; ssm: Tensor };

class MambaMixer implements Mixer<MambaState> {
  readonly kind = 'mamba';
  readonly dModel: number;
  readonly dInner: number;
  readonly dtRank: number;
  readonly parameters: Record<string, Tensor>;
  readonly linearWeights = ['in_proj.weight', 'x_proj.weight', 'dt_proj.weight', 'out_proj.weight'];
  /** A = −exp(A_log), float32 [d_inner, d_state] */
  private readonly A = new Derived((aLog) => new Tensor(Float32Array.from(aLog.toArray(), (v) => -Math.exp(v)), aLog.shape));

  constructor(readonly config: Readonly<MambaConfig>) {
    const { dModel: d, dState: n, dConv, expand } = config;
    for (const [k, v] of [['dState', n], ['dConv', dConv], ['expand', expand], ['dtRank', config.dtRank]] as const) {
      if (!Number.isInteger(v) || v < (k === 'dtRank' ? 0 : 1)) throw new RangeError(`mamba: ${k} must be a ${k === 'dtRank' ? 'non-negative' : 'positive'} integer, got ${v}`);
    }
    if (!(config.dtMin > 0 && config.dtMax >= config.dtMin)) throw new RangeError(`mamba: need 0 < dtMin ≤ dtMax, got ${config.dtMin}, ${config.dtMax}`);
    this.dModel = d;
    const dI = (this.dInner = expand * d);
    const R = (this.dtRank = config.dtRank || Math.ceil(d / 16));
    const h = config.heads ?? 1;
    if (!Number.isInteger(h) || h < 1 || dI % h !== 0) throw new RangeError(`mamba: heads must be a positive integer dividing d_inner (${dI}), got ${h}`);
    if (h > 1 && config.innerNorms) throw new RangeError('mamba: innerNorms with heads > 1 is not supported');
    const init = new Init(config.seed ?? 0);
    const convBound = 1 / Math.sqrt(dConv); // Conv1d default: fan_in = (in/groups)·kernel = d_conv
    const dtStd = R ** -0.5;
    const r = init.rng();
    const dtBias = Tensor.zeros([dI]);
    for (let i = 0; i < dI; i++) {
      const u = r.uniform();
      const dt = Math.max(Math.exp(u * (Math.log(config.dtMax) - Math.log(config.dtMin)) + Math.log(config.dtMin)), 1e-4);
      dtBias.data[i] = dt + Math.log(-Math.expm1(-dt)); // softplus⁻¹(dt)
    }
    const aLog = Tensor.zeros([dI, n]);
    for (let c = 0; c < dI; c++) for (let j = 0; j < n; j++) aLog.data[c * n + j] = Math.log(j + 1);
    this.parameters = {
      'in_proj.weight': init.linear(2 * dI, d),
      'conv1d.weight': init.uniform([dI, 1, dConv], -convBound, convBound),
      'conv1d.bias': init.uniform([dI], -convBound, convBound),
      'x_proj.weight': blockDiagonal(init.linear(h * (R + 2 * n), dI), h, [R, n, n]),
      'dt_proj.weight': blockDiagonal(init.uniform([dI, h * R], -dtStd, dtStd).reshape([dI, h * R]), h, [dI / h], R),
      'dt_proj.bias': dtBias,
      A_log: aLog,
      D: init.full([dI], 1),
      'out_proj.weight': init.linear(d, dI),
    };
    if (config.innerNorms) {
      this.parameters['dt_layernorm.weight'] = init.full([R], 1);
      this.parameters['b_layernorm.weight'] = init.full([n], 1);
      this.parameters['c_layernorm.weight'] = init.full([n], 1);
    }
  }

  private shapes(batch: number): Record<string, number[]> {
    return { conv: [batch, this.dInner, this.config.dConv - 1], ssm: [batch, this.dInner, this.config.dState] };
  }

  createState(batch: number): MambaState {
    const s = this.shapes(batch);
    return { conv: Tensor.zeros(s.conv!), ssm: Tensor.zeros(s.ssm!) };
  }

  forward(run: OpRunner, u: Tensor, state?: MambaState): MixerOutput<MambaState> {
    const [batch, L] = checkInput(this.kind, this.dModel, u);
    if (state !== undefined) checkState(this.kind, state, this.shapes(batch));
    const p = this.parameters;
    const { dInner: dI } = this;
    const { dState: n, dConv } = this.config;
    const h = this.config.heads ?? 1;
    const R = h * this.dtRank;
    const inW = p['in_proj.weight']!;
    const xW = p['x_proj.weight']!;

    const x0 = run.linear({ x: u, weight: inW.slice(0, dI) }).y;
    const z = run.linear({ x: u, weight: inW.slice(dI, 2 * dI) }).y;
    const conv = run.causalConv1d({
      x: x0,
      weight: p['conv1d.weight']!.reshape([dI, dConv]),
      bias: p['conv1d.bias'],
      activation: 'silu',
      initialState: state?.conv,
      returnFinalState: state !== undefined,
    });
    const x = conv.y;
    let dt = run.linear({ x, weight: xW.slice(0, R) }).y;
    let B = run.linear({ x, weight: xW.slice(R, R + h * n) }).y;
    let C = run.linear({ x, weight: xW.slice(R + h * n, R + 2 * h * n) }).y;
    if (this.config.innerNorms) {
      const eps = this.config.innerNormEps;
      dt = run.rmsNorm({ x: dt, weight: p['dt_layernorm.weight'], eps }).y;
      B = run.rmsNorm({ x: B, weight: p['b_layernorm.weight'], eps }).y;
      C = run.rmsNorm({ x: C, weight: p['c_layernorm.weight'], eps }).y;
    }
    B = B.reshape([batch, L, h, n]);
    C = C.reshape([batch, L, h, n]);
    const delta = run.linear({ x: dt, weight: p['dt_proj.weight']! }).y; // the bias goes in with the softplus
    const scan = run.selectiveScan({
      u: x,
      delta,
      z,
      A: this.A.get(p.A_log!),
      B,
      C,
      D: p.D,
      deltaBias: p['dt_proj.bias'],
      deltaSoftplus: true,
      initialState: state?.ssm,
      returnLastState: state !== undefined,
    });
    const y = run.linear({ x: scan.y, weight: p['out_proj.weight']! }).y;
    return state === undefined ? { y } : { y, state: { conv: conv.finalState!, ssm: scan.lastState! } };
  }
}

/**
 * Zeroes the off-diagonal blocks of w [rows, cols] for `heads` heads. Rows come in sections (each section holds
 * `heads` blocks of its size); columns in `heads` blocks of cols/heads (or of colBlock when given).
 */
function blockDiagonal(w: Tensor, heads: number, sections: number[], colBlock?: number): Tensor {
  if (heads === 1) return w;
  const [rows, cols] = [w.shape[0]!, w.shape[1]!];
  const cb = colBlock ?? cols / heads;
  const data = w.data as Float32Array;
  let r0 = 0;
  for (const size of sections) {
    for (let r = 0; r < heads * size; r++) {
      const head = Math.floor(r / size);
      for (let c = 0; c < cols; c++) if (Math.floor(c / cb) !== head) data[(r0 + r) * cols + c] = 0;
    }
    r0 += heads * size;
  }
  if (r0 !== rows) throw new Error('blockDiagonal: sections do not cover the rows');
  return w;
}

export const mambaSpec = registerMixer<MambaConfig>({
  name: 'mamba',
  family: 'ssm',
  paper: { title: 'Mamba: Linear-Time Sequence Modeling with Selective State Spaces', authors: 'Gu, Dao', year: 2023, url: 'https://arxiv.org/abs/2312.00752' },
  summary: 'selective SSM h_t = exp(Δ_t A)h_{t−1} + Δ_t B_t x_t with input-dependent Δ, B, C, after a causal conv, gated by silu(z) (mamba_simple.py)',
  defaults: { dState: 16, dConv: 4, expand: 2, dtRank: 0, dtMin: 0.001, dtMax: 0.1, innerNorms: false, innerNormEps: 1e-6, heads: 1 },
  variants: [{ dState: 8, dConv: 2, expand: 1, dtRank: 5, dtMin: 0.01, dtMax: 0.5 }, { innerNorms: true, dtRank: 3 }, { heads: 2, dtRank: 3 }],
  constantState: true,
  create: (config) => new MambaMixer(config),
});
