// xLSTM's mLSTM layer (Beck et al. 2024): NX-AI xlstm, xlstm/blocks/mlstm/layer.py mLSTMLayer with its
// mLSTMCell (blocks/mlstm/cell.py). The block's pre-norm and residual belong to the model.
//
//   x_m, z  = proj_up(x)                                 two halves of Linear(d, 2·inner, bias=False)
//   c       = silu(conv1d(x_m))                          depthwise causal conv, width dConv, with bias
//   q, k, v = q_proj(c), k_proj(c), v_proj(x_m)          headwise (block-diagonal, blocks of qkvBlocksize)
//   ĩ, f̃    = igate([q,k,v]), fgate([q,k,v])            Linear(3·inner, heads) with bias: gate pre-activations
//   m_t = max(log σ(f̃_t) + m_{t−1}, ĩ_t)                 the stabiliser (per head)
//   C_t = e^{log σ(f̃_t)+m_{t−1}−m_t} C_{t−1} + e^{ĩ_t−m_t} k_t v_tᵀ/√dh,   n_t likewise with k_t/√dh
//   h_t = C_tᵀ q_t / (max(|n_t·q_t|, e^{−m_t}) + 1e-6)
//   y   = proj_down((GroupNorm_heads(h)·(1 + outnorm.weight) + learnable_skip ⊙ c) ⊙ silu(z))
//
// q_proj/k_proj/v_proj are NX-AI's LinearHeadwiseExpand (xlstm/components/linear_headwise.py, bias=False):
// weight [inner/bs, bs, bs] (block, out, in), block j of the input feeds only block j of the output, so a
// checkpoint's weights map by name and shape. They run as permute → bmm (one product per block) → permute.
// outnorm is NX-AI's MultiHeadLayerNorm with a residual weight: the stored weight is an offset from 1.
//
// Both modes are the same ops: linear, causalConv1d, permute/bmm, concat, mlstm (chunked for a sequence,
// its recurrent step for L = 1), layerNorm with groupSize = dh, elementwise. The mlstm op's state starts at C = n = m = 0,
// i.e. NX-AI's recurrent step (its parallel training kernel starts the max from −∞ rather than m_0 = 0,
// which only changes the normaliser's floor e^{−m} for the first tokens).
// State: conv [b, inner, dConv − 1], C [b, heads, dh, dh], n [b, heads, dh], m [b, heads].
//
// Init as NX-AI (layer.py reset_parameters): proj_up and q/k/v small_init N(0, √(2/(5·dModel))) — q/k/v
// too use the embedding dim, not inner; proj_down wang_init N(0, 2/numBlocks/√d);
// igate weight 0, bias N(0, 0.1); fgate weight 0, bias linspace(3, 6); learnable_skip 1; outnorm offset 0;
// conv1d PyTorch's default U(±1/√dConv).

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { Derived } from './derived.js';

export interface MlstmConfig extends BaseConfig {
  /** NX-AI proj_factor: inner = expand · dModel */
  expand: number;
  heads: number;
  dConv: number;
  /** tokens per chunk of the mlstm op in parallel mode */
  chunkSize: number;
  /** blocks in the model (only scales proj_down's init, wang_init) */
  numBlocks: number;
  /** NX-AI qkv_proj_blocksize: q/k/v projections are block-diagonal with blocks of this size */
  qkvBlocksize: number;
}

type MlstmState = { conv: Tensor; C: Tensor; n: Tensor; m: Tensor };

/** Rows of x [b, L, n] as blocks [n/bs, b·L, bs], ready for headwise(). */
export function toBlocks(run: OpRunner, x: Tensor, bs: number): Tensor {
  const [b, L, n] = x.shape as [number, number, number];
  return run.permute({ x: x.reshape([b * L, n / bs, bs]), dims: [1, 0, 2] }).y;
}

/** NX-AI LinearHeadwiseExpand without bias: blocks [nb, b·L, in] (toBlocks) through W [nb, out, in] → [b, L, nb·out]. */
export function headwise(run: OpRunner, blocks: Tensor, W: Tensor, batch: number, L: number): Tensor {
  const y = run.bmm({ a: blocks, b: W, transB: true }).y; // [nb, b·L, out]
  return run.permute({ x: y, dims: [1, 0, 2] }).y.reshape([batch, L, W.shape[0]! * W.shape[1]!]);
}

/** 1 + w: NX-AI LayerNorm's residual weight. */
export const residualWeight = (w: Tensor): Tensor => new Tensor(Float32Array.from(w.toArray(), (v) => 1 + v), w.shape);

class MlstmMixer implements Mixer<MlstmState> {
  readonly kind = 'mlstm';
  readonly dModel: number;
  readonly inner: number;
  readonly dh: number;
  readonly parameters: Record<string, Tensor>;
  readonly linearWeights = ['proj_up.weight', 'q_proj.weight', 'k_proj.weight', 'v_proj.weight', 'mlstm_cell.igate.weight', 'mlstm_cell.fgate.weight', 'proj_down.weight'];
  private readonly normWeight = new Derived(residualWeight);

  constructor(readonly config: Readonly<MlstmConfig>) {
    const { dModel: d, expand, heads: H, dConv } = config;
    const bs = config.qkvBlocksize;
    for (const [k, v] of [['expand', expand], ['heads', H], ['dConv', dConv], ['chunkSize', config.chunkSize], ['numBlocks', config.numBlocks], ['qkvBlocksize', bs]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`mlstm: ${k} must be a positive integer, got ${v}`);
    }
    const inner = (this.inner = expand * d);
    if (inner % H !== 0) throw new RangeError(`mlstm: heads (${H}) must divide expand·dModel (${inner})`);
    if (inner % bs !== 0) throw new RangeError(`mlstm: qkvBlocksize (${bs}) must divide expand·dModel (${inner})`);
    this.dModel = d;
    this.dh = inner / H;
    const init = new Init(config.seed ?? 0);
    const small = (shape: number[]) => init.normal(shape, Math.sqrt(2 / (5 * d))); // small_init_init_(dim = embedding_dim)
    const convBound = 1 / Math.sqrt(dConv);
    const fBias = Tensor.zeros([H]);
    for (let h = 0; h < H; h++) fBias.data[h] = H === 1 ? 3 : 3 + (3 * h) / (H - 1);
    this.parameters = {
      'proj_up.weight': small([2 * inner, d]),
      'q_proj.weight': small([inner / bs, bs, bs]),
      'k_proj.weight': small([inner / bs, bs, bs]),
      'v_proj.weight': small([inner / bs, bs, bs]),
      'conv1d.conv.weight': init.uniform([inner, 1, dConv], -convBound, convBound),
      'conv1d.conv.bias': init.uniform([inner], -convBound, convBound),
      'mlstm_cell.igate.weight': init.zeros([H, 3 * inner]),
      'mlstm_cell.igate.bias': init.normal([H], 0.1),
      'mlstm_cell.fgate.weight': init.zeros([H, 3 * inner]),
      'mlstm_cell.fgate.bias': fBias,
      'mlstm_cell.outnorm.weight': init.zeros([inner]),
      learnable_skip: init.full([inner], 1),
      'proj_down.weight': init.normal([d, inner], 2 / config.numBlocks / Math.sqrt(d)),
    };
  }

  private shapes(batch: number): Record<string, number[]> {
    const { heads: H, dConv } = this.config;
    return { conv: [batch, this.inner, dConv - 1], C: [batch, H, this.dh, this.dh], n: [batch, H, this.dh], m: [batch, H] };
  }

  createState(batch: number): MlstmState {
    const s = this.shapes(batch);
    return { conv: Tensor.zeros(s.conv!), C: Tensor.zeros(s.C!), n: Tensor.zeros(s.n!), m: Tensor.zeros(s.m!) };
  }

  forward(run: OpRunner, x: Tensor, state?: MlstmState): MixerOutput<MlstmState> {
    const [batch, L] = checkInput(this.kind, this.dModel, x);
    if (state !== undefined) checkState(this.kind, state, this.shapes(batch));
    const p = this.parameters;
    const { inner, dh } = this;
    const { heads: H, dConv } = this.config;
    const up = p['proj_up.weight']!;

    const xm = run.linear({ x, weight: up.slice(0, inner) }).y;
    const z = run.linear({ x, weight: up.slice(inner, 2 * inner) }).y;
    const conv = run.causalConv1d({
      x: xm,
      weight: p['conv1d.conv.weight']!.reshape([inner, dConv]),
      bias: p['conv1d.conv.bias'],
      activation: 'silu',
      initialState: state?.conv,
      returnFinalState: state !== undefined,
    });
    const c = conv.y;
    const bs = this.config.qkvBlocksize;
    const cBlocks = toBlocks(run, c, bs);
    const q = headwise(run, cBlocks, p['q_proj.weight']!, batch, L);
    const k = headwise(run, cBlocks, p['k_proj.weight']!, batch, L);
    const v = headwise(run, toBlocks(run, xm, bs), p['v_proj.weight']!, batch, L);
    // The gates see q, k and v of the token (cell.py: if_gate_input = cat([q, k, v], -1)).
    const qkv = run.concat({ inputs: [q, k, v], axis: 2 }).y;
    const i = run.linear({ x: qkv, weight: p['mlstm_cell.igate.weight']!, bias: p['mlstm_cell.igate.bias'] }).y;
    const f = run.linear({ x: qkv, weight: p['mlstm_cell.fgate.weight']!, bias: p['mlstm_cell.fgate.bias'] }).y;
    const heads = (t: Tensor) => t.reshape([batch, L, H, dh]);
    const cell = run.mlstm({
      q: heads(q),
      k: heads(k),
      v: heads(v),
      i,
      f,
      ...(state ? { initialC: state.C, initialN: state.n, initialM: state.m } : {}),
      scale: dh ** -0.5, // NX-AI scales k by 1/√dh; on q it is the same product
      outputFinalState: state !== undefined,
      chunkSize: this.config.chunkSize,
    });
    const hn = run.layerNorm({ x: cell.h.reshape([batch, L, inner]), weight: this.normWeight.get(p['mlstm_cell.outnorm.weight']!), groupSize: dh, eps: 1e-5 }).y;
    const gated = run.elementwise({ expr: '(h + skip * c) * silu(z)', inputs: { h: hn, skip: p.learnable_skip!, c, z } }).y;
    const y = run.linear({ x: gated, weight: p['proj_down.weight']! }).y;
    return state === undefined ? { y } : { y, state: { conv: conv.finalState!, C: cell.finalC!, n: cell.finalN!, m: cell.finalM! } };
  }
}

export const mlstmSpec = registerMixer<MlstmConfig>({
  name: 'mlstm',
  family: 'rnn',
  paper: { title: 'xLSTM: Extended Long Short-Term Memory', authors: 'Beck et al.', year: 2024, url: 'https://arxiv.org/abs/2405.04517' },
  summary: 'matrix memory C_t = f_t C_{t−1} + i_t k_t v_tᵀ with exponential input gate, normaliser and max-stabiliser, after a causal conv, group norm, skip, silu(z) gate (NX-AI mLSTMLayer)',
  defaults: { expand: 2, heads: 4, dConv: 4, chunkSize: 16, numBlocks: 1, qkvBlocksize: 4 },
  variants: [{ expand: 1, heads: 2, dConv: 2, chunkSize: 8, qkvBlocksize: 6 }],
  constantState: true,
  create: (config) => new MlstmMixer(config),
});
