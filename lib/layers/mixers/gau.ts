// GAU, the gated attention unit of "Transformer Quality in Linear Time" (Hua et al. 2022), causal,
// in its quadratic form. Parameter names as lucidrains/FLASH-pytorch flash_pytorch/flash_pytorch.py GAU;
// the pre-norm and the residual shortcut of the paper's block belong to the model and are left out.
//
//   v, u = silu(to_hidden(x))            two halves of Linear(d, 2e) with bias (v first, as FLASH-pytorch)
//   z    = silu(to_qk(x))                Linear(d, s) with bias: the shared, small (s) attention basis
//   q, k = z·γ_0 + β_0,  z·γ_1 + β_1     per-dim scale and offset (offsetscale.gamma/beta [2, s])
//   A_ij = relu(q_i·k_j / √s)² / maxLen  for j ≤ i, else 0
//   y    = to_out(u ⊙ (A v))              Linear(e, d) with bias
//
// Departures from the paper: it writes relu²(q kᵀ/n + b) with n the sequence length and a T5-style relative
// position bias b (and RoPE on q, k in its code); n is replaced by the fixed maxLen (a length that depends on
// the future is not causal), q·k is scaled by 1/√s as in softmax attention, and there is no relative position
// bias and no RoPE.
//
// Parallel mode: bmm for the scores, one elementwise for relu², the causal mask and the normaliser, bmm for
// A v. The state is the k and v rows of the tokens so far, k [b, P, s] and v [b, P, e] (it grows: softmax-free
// attention still needs all keys); a call attends to [state rows, new rows] and returns the concatenation.
//
// Init: Linears PyTorch's default U(±1/√in); gamma N(0, 0.02), beta 0 (FLASH-pytorch OffsetScale).

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';

export interface GauConfig extends BaseConfig {
  /** e = expand · dModel: width of u and v */
  expand: number;
  /** s: width of the shared q/k basis z */
  qkDim: number;
  /** the attention normaliser n (the paper's sequence length, fixed for causality) */
  maxLen: number;
}

type GauState = { k: Tensor; v: Tensor };

/** The shared projections of GAU and FLASH: v, u (pre-activation) [b, L, e] and z [b, L, s]. */
export function gauProjections(run: OpRunner, x: Tensor, p: Record<string, Tensor>, e: number): { v: Tensor; uPre: Tensor; z: Tensor } {
  const W = p['to_hidden.0.weight']!;
  const b = p['to_hidden.0.bias']!;
  const vPre = run.linear({ x, weight: W.slice(0, e), bias: b.slice(0, e) }).y;
  const uPre = run.linear({ x, weight: W.slice(e, 2 * e), bias: b.slice(e, 2 * e) }).y;
  const zPre = run.linear({ x, weight: p['to_qk.0.weight']!, bias: p['to_qk.0.bias'] }).y;
  return { v: run.elementwise({ expr: 'silu(a)', inputs: { a: vPre } }).y, uPre, z: run.elementwise({ expr: 'silu(a)', inputs: { a: zPre } }).y };
}

/** Row r of an offset-scale pair: z·γ_r + β_r. */
export function offsetScale(run: OpRunner, z: Tensor, gamma: Tensor, beta: Tensor, r: number): Tensor {
  const s = gamma.shape[1]!;
  return run.elementwise({ expr: 'z * g + b', inputs: { z, g: gamma.slice(r, r + 1).reshape([s]), b: beta.slice(r, r + 1).reshape([s]) } }).y;
}

/** A number as elementwise expression text. */
export const num = (v: number): string => (v < 0 ? `(0 - ${String(-v)})` : String(v));

export function gauParameters(init: Init, d: number, e: number, s: number, offsetRows: number, offsetName: string): Record<string, Tensor> {
  return {
    'to_hidden.0.weight': init.linear(2 * e, d),
    'to_hidden.0.bias': init.linearBias(2 * e, d),
    'to_qk.0.weight': init.linear(s, d),
    'to_qk.0.bias': init.linearBias(s, d),
    [`${offsetName}.gamma`]: init.normal([offsetRows, s], 0.02),
    [`${offsetName}.beta`]: init.zeros([offsetRows, s]),
    'to_out.0.weight': init.linear(d, e),
    'to_out.0.bias': init.linearBias(d, e),
  };
}

export function checkGauConfig(kind: string, c: { expand: number; qkDim: number; maxLen: number }): void {
  for (const [k, v] of [['expand', c.expand], ['qkDim', c.qkDim]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${kind}: ${k} must be a positive integer, got ${v}`);
  }
  if (!(c.maxLen > 0)) throw new RangeError(`${kind}: maxLen must be positive, got ${c.maxLen}`);
}

class GauMixer implements Mixer<GauState> {
  readonly kind = 'gau';
  readonly dModel: number;
  readonly e: number;
  readonly parameters: Record<string, Tensor>;
  readonly linearWeights = ['to_hidden.0.weight', 'to_qk.0.weight', 'to_out.0.weight'];
  private masks = new Map<string, Tensor>();

  constructor(readonly config: Readonly<GauConfig>) {
    checkGauConfig('gau', config);
    this.dModel = config.dModel;
    this.e = config.expand * config.dModel;
    this.parameters = gauParameters(new Init(config.seed ?? 0), config.dModel, this.e, config.qkDim, 2, 'offsetscale');
  }

  createState(batch: number): GauState {
    return { k: Tensor.zeros([batch, 0, this.config.qkDim]), v: Tensor.zeros([batch, 0, this.e]) };
  }

  /** [L, P + L]: 1 where new token i (at position P + i) may see position j ≤ P + i. */
  private mask(L: number, P: number): Tensor {
    const key = `${L},${P}`;
    let m = this.masks.get(key);
    if (!m) {
      m = Tensor.zeros([L, P + L]);
      for (let i = 0; i < L; i++) m.data.fill(1, i * (P + L), i * (P + L) + P + i + 1);
      if (this.masks.size > 64) this.masks.clear();
      this.masks.set(key, m);
    }
    return m;
  }

  private checkState(state: unknown, batch: number): number {
    const kind = this.kind;
    if (typeof state !== 'object' || state === null) throw new TypeError(`${kind}: state must be an object from createState()`);
    const { k, v } = state as Record<string, unknown>;
    if (!(k instanceof Tensor) || !(v instanceof Tensor)) throw new TypeError(`${kind}: state.k and state.v must be Tensors (a state from createState())`);
    const s = this.config.qkDim;
    if (k.rank !== 3 || k.shape[2] !== s || v.rank !== 3 || v.shape[2] !== this.e || v.shape[1] !== k.shape[1] || v.shape[0] !== k.shape[0]) {
      throw new RangeError(`${kind}: state.k must be [b, P, ${s}] and state.v [b, P, ${this.e}], got [${k.shape.join(', ')}] and [${v.shape.join(', ')}]`);
    }
    if (k.shape[0] !== batch) throw new RangeError(`${kind}: the state is for batch ${k.shape[0]}, x has batch ${batch}`);
    return k.shape[1]!;
  }

  forward(run: OpRunner, x: Tensor, state?: GauState): MixerOutput<GauState> {
    const [batch, L] = checkInput(this.kind, this.dModel, x);
    const P = state === undefined ? 0 : this.checkState(state, batch);
    const p = this.parameters;
    const { qkDim: s, maxLen } = this.config;

    const { v, uPre, z } = gauProjections(run, x, p, this.e);
    const q = offsetScale(run, z, p['offsetscale.gamma']!, p['offsetscale.beta']!, 0);
    const k = offsetScale(run, z, p['offsetscale.gamma']!, p['offsetscale.beta']!, 1);
    const kAll = P > 0 ? run.concat({ inputs: [state!.k, k], axis: 1 }).y : k;
    const vAll = P > 0 ? run.concat({ inputs: [state!.v, v], axis: 1 }).y : v;
    const scores = run.bmm({ a: q, b: kAll, transB: true }).y; // [b, L, P + L]
    const A = run.elementwise({ expr: `m * square(relu(a * ${num(1 / Math.sqrt(s))})) * ${num(1 / maxLen)}`, inputs: { a: scores, m: this.mask(L, P) } }).y;
    const o = run.bmm({ a: A, b: vAll }).y; // [b, L, e]
    const gated = run.elementwise({ expr: 'silu(u) * o', inputs: { u: uPre, o } }).y;
    const y = run.linear({ x: gated, weight: p['to_out.0.weight']!, bias: p['to_out.0.bias'] }).y;
    return state === undefined ? { y } : { y, state: { k: kAll, v: vAll } };
  }
}

export const gauSpec = registerMixer<GauConfig>({
  name: 'gau',
  family: 'attention',
  paper: { title: 'Transformer Quality in Linear Time', authors: 'Hua, Dai, Liu, Le', year: 2022, url: 'https://arxiv.org/abs/2202.10447' },
  summary: 'gated attention unit: one shared small basis z gives q, k by per-dim scale/offset; relu²(q kᵀ/√s)/maxLen causal attention over v, gated by u (quadratic form)',
  defaults: { expand: 2, qkDim: 16, maxLen: 64 },
  variants: [{ expand: 1, qkDim: 8, maxLen: 16 }],
  constantState: false,
  create: (config) => new GauMixer(config),
});
