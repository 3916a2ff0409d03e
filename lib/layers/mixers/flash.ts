// FLASH (Hua et al. 2022, §4): GAU with mixed chunk attention, linear in the length. Causal form; parameter
// names as lucidrains/FLASH-pytorch flash_pytorch/flash_pytorch.py FLASH (pre-norm and residual left out).
// Tokens fall in chunks of C (counted from the stream's first token); for token t in chunk g:
//
//   v, u, z           as GAU (gau.ts);  q_quad, q_lin, k_quad, k_lin = z·γ_r + β_r  (qk_offset_scale [4, s])
//   local_t  = Σ_{j in g, j ≤ t} relu(q_quad_t·k_quad_j / √s)² / C · v_j          (quadratic, within the chunk)
//   global_t = q_lin_t · Σ_{j in chunks before g} k_lin_jᵀ v_j / maxLen            (linear, across chunks)
//   y        = to_out(u ⊙ (local + global))
//
// The paper's code divides the global sum by n (the sequence length); for causality that is the fixed maxLen
// here, as in gau.ts. No relative position bias, no RoPE (see gau.ts).
//
// Ops, both modes alike: the global part is linearAttention (no decay, scale 1/maxLen) over the new tokens,
// which sums up to and including t; the in-chunk part of that sum is taken back out inside the chunk
// attention, so each chunk needs one masked [C, C] score block:
//   out_t = linearAttention_t + Σ_{j in g, j ≤ t} (relu(q_quad·k_quad/√s)²/C − q_lin·k_lin/maxLen) v_j
// The chunk blocks come from [buffered rows of the open chunk, new rows, zero padding to a multiple of C]
// viewed as [b·G, C, ·]: bmm ×2, one elementwise (relu², mask, difference), bmm.
// State (constant size): S [b, 1, s, e] = Σ k_lin v over all tokens so far; the open chunk's z and v rows,
// z [b, C, s] and v [b, C, e] (its first `count` rows, zeros after), and count (< C, the same for every row;
// states at different counts cannot be merged, which the default merge already refuses).
//
// Init as gau.ts (qk_offset_scale.gamma N(0, 0.02), beta 0).

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { checkGauConfig, gauParameters, gauProjections, num, offsetScale } from './gau.js';

export interface FlashConfig extends BaseConfig {
  expand: number;
  qkDim: number;
  /** C: tokens per chunk */
  chunk: number;
  /** the global part's normaliser (the paper's sequence length n, fixed for causality) */
  maxLen: number;
}

type FlashState = { S: Tensor; z: Tensor; v: Tensor; count: number };

class FlashMixer implements Mixer<FlashState> {
  readonly kind = 'flash';
  readonly dModel: number;
  readonly e: number;
  readonly parameters: Record<string, Tensor>;
  readonly linearWeights = ['to_hidden.0.weight', 'to_qk.0.weight', 'to_out.0.weight'];
  private readonly causal: Tensor;

  constructor(readonly config: Readonly<FlashConfig>) {
    checkGauConfig('flash', config);
    const C = config.chunk;
    if (!Number.isInteger(C) || C < 1) throw new RangeError(`flash: chunk must be a positive integer, got ${C}`);
    this.dModel = config.dModel;
    this.e = config.expand * config.dModel;
    this.parameters = gauParameters(new Init(config.seed ?? 0), config.dModel, this.e, config.qkDim, 4, 'qk_offset_scale');
    this.causal = Tensor.zeros([C, C]);
    for (let i = 0; i < C; i++) this.causal.data.fill(1, i * C, i * C + i + 1);
  }

  private shapes(batch: number): Record<string, number[]> {
    return { S: [batch, 1, this.config.qkDim, this.e], z: [batch, this.config.chunk, this.config.qkDim], v: [batch, this.config.chunk, this.e] };
  }

  createState(batch: number): FlashState {
    const s = this.shapes(batch);
    return { S: Tensor.zeros(s.S!), z: Tensor.zeros(s.z!), v: Tensor.zeros(s.v!), count: 0 };
  }

  forward(run: OpRunner, x: Tensor, state?: FlashState): MixerOutput<FlashState> {
    const [batch, L] = checkInput(this.kind, this.dModel, x);
    if (state !== undefined) checkState(this.kind, state, this.shapes(batch));
    const c0 = state?.count ?? 0;
    if (!Number.isInteger(c0) || c0 < 0 || c0 >= this.config.chunk) throw new RangeError(`flash: state.count must be an integer in [0, ${this.config.chunk}), got ${c0}`);
    const p = this.parameters;
    const { qkDim: s, chunk: C, maxLen } = this.config;
    const e = this.e;
    const gamma = p['qk_offset_scale.gamma']!;
    const beta = p['qk_offset_scale.beta']!;

    const { v, uPre, z } = gauProjections(run, x, p, e);
    // Global part: all tokens so far, through linearAttention's running Σ k_lin vᵀ.
    const qLin = offsetScale(run, z, gamma, beta, 1);
    const kLin = offsetScale(run, z, gamma, beta, 3);
    const heads = (t: Tensor, w: number) => t.reshape([batch, L, 1, w]);
    const lin = run.linearAttention({
      q: heads(qLin, s),
      k: heads(kLin, s),
      v: heads(v, e),
      scale: 1 / maxLen,
      initialState: state?.S,
      outputFinalState: state !== undefined,
    });

    // Chunk part over [open chunk's rows, new rows, zero padding]: T = c0 + L rows in G whole chunks.
    const T = c0 + L;
    const G = Math.ceil(T / C);
    const pad = G * C - T;
    const extend = (cur: Tensor, held: Tensor | undefined, w: number) => {
      const parts: Tensor[] = [];
      if (c0 > 0) parts.push(run.slice({ x: held!, axis: 1, start: 0, end: c0 }).y);
      parts.push(cur);
      if (pad > 0) parts.push(Tensor.zeros([batch, pad, w]));
      return parts.length === 1 ? cur : run.concat({ inputs: parts, axis: 1 }).y;
    };
    const zE = extend(z, state?.z, s);
    const vE = extend(v, state?.v, e);
    const blocks = (t: Tensor) => t.reshape([batch * G, C, t.shape[2]!]);
    const quad = run.bmm({ a: blocks(offsetScale(run, zE, gamma, beta, 0)), b: blocks(offsetScale(run, zE, gamma, beta, 2)), transB: true }).y;
    const linIn = run.bmm({ a: blocks(offsetScale(run, zE, gamma, beta, 1)), b: blocks(offsetScale(run, zE, gamma, beta, 3)), transB: true }).y;
    const A = run.elementwise({
      expr: `m * (square(relu(a * ${num(1 / Math.sqrt(s))})) * ${num(1 / C)} - l * ${num(1 / maxLen)})`,
      inputs: { a: quad, l: linIn, m: this.causal },
    }).y;
    let local = run.bmm({ a: A, b: blocks(vE) }).y.reshape([batch, G * C, e]);
    if (c0 > 0 || pad > 0) local = run.slice({ x: local, axis: 1, start: c0, end: c0 + L }).y;

    const gated = run.elementwise({ expr: 'silu(u) * (a + b)', inputs: { u: uPre, a: local, b: lin.o.reshape([batch, L, e]) } }).y;
    const y = run.linear({ x: gated, weight: p['to_out.0.weight']!, bias: p['to_out.0.bias'] }).y;
    if (state === undefined) return { y };
    // The open chunk after this call: the last (partial) chunk of the extended rows, already zero-padded.
    const count = T % C;
    const tail = (t: Tensor, w: number) => (count > 0 ? run.slice({ x: t, axis: 1, start: (G - 1) * C, end: G * C }).y : Tensor.zeros([batch, C, w]));
    return { y, state: { S: lin.finalState!, z: tail(zE, s), v: tail(vE, e), count } };
  }
}

export const flashSpec = registerMixer<FlashConfig>({
  name: 'flash',
  family: 'linear-attention',
  paper: { title: 'Transformer Quality in Linear Time', authors: 'Hua, Dai, Liu, Le', year: 2022, url: 'https://arxiv.org/abs/2202.10447' },
  summary: 'GAU with mixed chunk attention: relu² quadratic attention within chunks of C plus causal linear attention across chunks, gated by u (FLASH)',
  defaults: { expand: 2, qkDim: 16, chunk: 8, maxLen: 64 },
  variants: [{ expand: 1, qkDim: 8, chunk: 5, maxLen: 16 }],
  constantState: true,
  create: (config) => new FlashMixer(config),
});
