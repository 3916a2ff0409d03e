// xLSTM's sLSTM layer (Beck et al. 2024): NX-AI xlstm, xlstm/blocks/slstm/layer.py sLSTMLayer with its
// sLSTMCell (blocks/slstm/cell.py, the 'vanilla' backend). The block's pre-norm, residual and the
// post up-projection FFN (gated MLP) belong to the model and are left out.
//
//   c_x            = silu(conv1d(x))  (dConv > 0; else c_x = x)    depthwise causal conv with bias
//   ĩ, f̃ = fgate(c_x), igate(c_x);   z̃, õ = zgate(x), ogate(x)     headwise W·x, no bias
//   g̃_t = W·x_t + R y_{t−1} + b    for g ∈ {i, f, z, o}, R block-diagonal: head h's y feeds only head h
//   m_t = max(log σ(f̃_t) + m_{t−1}, ĩ_t)     (ĩ_t alone on the first token)
//   c_t = e^{log σ(f̃)+m_{t−1}−m_t} c_{t−1} + e^{ĩ−m_t} tanh(z̃_t),   n_t likewise with 1
//   y_t = σ(õ_t) c_t / n_t;      out = GroupNorm_heads(y)·(1 + group_norm.weight)
//
// Note ĩ comes from fgate and f̃ from igate: NX-AI's sLSTMLayer.forward/step write
// `i, f, z, o = (self.fgate(x_conv), self.igate(x_conv), …)` (unchanged up to 2025), so a trained checkpoint's
// fgate.weight is the one that feeds the input gate; this layer keeps that wiring so weights map by name. Both
// get the same init, so the swap matters only for loaded weights.
//
// The four gate projections are LinearHeadwiseExpand (xlstm/components/linear_headwise.py, bias=False) with
// one block per head: weight [heads, dh, dh] (head, out, in), run as permute → bmm → permute (mlstm.ts).
// slstm_cell._recurrent_kernel_ is [heads, dh, 4, dh] (input channel, gate i/f/z/o, output channel) — NX-AI's
// external layout (the `recurrent_kernel` proxy; the cuda backend stores it so, the vanilla one permutes it
// internally) — and _bias_ is [heads, 4, dh].
//
// Both modes are: permute/bmm ×4 for the gates, concat, the fused slstm op (a sequential scan: the recurrence
// through R is nonlinear, so there is no parallel form), layerNorm with groupSize = dh; plus causalConv1d when
// dConv > 0. State: conv [b, d, dConv − 1] (when dConv > 0), y, c, n, m [b, d].
//
// Init as NX-AI: gate weights small_init N(0, √(2/(5d))); recurrent kernel zeros ('zeros', NX-AI's default)
// or U(±1/√d) ('standard', d = hidden_size); bias 0 except the forget gate's power law over each head's
// channels, b_f[j] = −(−5 + 12·(j/(dh−1))^0.3) (block-dependent exponent at block 0); group_norm offset 0;
// conv1d PyTorch's default U(±1/√dConv).

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { Derived } from './derived.js';
import { residualWeight, toBlocks } from './mlstm.js';

export interface SlstmConfig extends BaseConfig {
  heads: number;
  /** causal conv width feeding the i and f gates; 0: no conv */
  dConv: number;
  /** the recurrent kernel's init: 'zeros' (NX-AI default) or 'standard' U(±1/√dModel) */
  recurrentInit: string;
}

type SlstmState = { conv?: Tensor; y: Tensor; c: Tensor; n: Tensor; m: Tensor };

class SlstmMixer implements Mixer<SlstmState> {
  readonly kind = 'slstm';
  readonly dModel: number;
  readonly dh: number;
  readonly parameters: Record<string, Tensor>;
  readonly linearWeights = ['igate.weight', 'fgate.weight', 'zgate.weight', 'ogate.weight'];
  private readonly normWeight = new Derived(residualWeight);

  constructor(readonly config: Readonly<SlstmConfig>) {
    const { dModel: d, heads: H, dConv } = config;
    if (!Number.isInteger(H) || H < 1 || d % H !== 0) throw new RangeError(`slstm: heads (${H}) must be a positive integer dividing dModel (${d})`);
    if (!Number.isInteger(dConv) || dConv < 0) throw new RangeError(`slstm: dConv must be a non-negative integer, got ${dConv}`);
    if (config.recurrentInit !== 'zeros' && config.recurrentInit !== 'standard') {
      throw new RangeError(`slstm: recurrentInit must be 'zeros' or 'standard', got '${config.recurrentInit}'`);
    }
    this.dModel = d;
    const dh = (this.dh = d / H);
    const init = new Init(config.seed ?? 0);
    const small = () => init.normal([H, dh, dh], Math.sqrt(2 / (5 * d))); // small_init_init_(dim = embedding_dim)
    const bias = Tensor.zeros([H, 4, dh]);
    for (let h = 0; h < H; h++) {
      for (let j = 0; j < dh; j++) bias.data[(h * 4 + 1) * dh + j] = -(-5 + 12 * (dh === 1 ? 0 : j / (dh - 1)) ** 0.3);
    }
    const bound = 1 / Math.sqrt(d);
    const recurrent = config.recurrentInit === 'zeros' ? init.zeros([H, dh, 4, dh]) : init.uniform([H, dh, 4, dh], -bound, bound);
    this.parameters = {
      ...(dConv > 0
        ? { 'conv1d.conv.weight': init.uniform([d, 1, dConv], -1 / Math.sqrt(dConv), 1 / Math.sqrt(dConv)), 'conv1d.conv.bias': init.uniform([d], -1 / Math.sqrt(dConv), 1 / Math.sqrt(dConv)) }
        : {}),
      'igate.weight': small(),
      'fgate.weight': small(),
      'zgate.weight': small(),
      'ogate.weight': small(),
      'slstm_cell._recurrent_kernel_': recurrent,
      'slstm_cell._bias_': bias,
      'group_norm.weight': init.zeros([d]),
    };
  }

  private shapes(batch: number): Record<string, number[]> {
    const d = this.dModel;
    const s: Record<string, number[]> = { y: [batch, d], c: [batch, d], n: [batch, d], m: [batch, d] };
    if (this.config.dConv > 0) s.conv = [batch, d, this.config.dConv - 1];
    return s;
  }

  createState(batch: number): SlstmState {
    return Object.fromEntries(Object.entries(this.shapes(batch)).map(([k, s]) => [k, Tensor.zeros(s)])) as SlstmState;
  }

  forward(run: OpRunner, x: Tensor, state?: SlstmState): MixerOutput<SlstmState> {
    const [batch, L] = checkInput(this.kind, this.dModel, x);
    if (state !== undefined) checkState(this.kind, state, this.shapes(batch));
    const p = this.parameters;
    const { dModel: d, dh } = this;
    const { heads: H, dConv } = this.config;

    const conv =
      dConv > 0
        ? run.causalConv1d({
            x,
            weight: p['conv1d.conv.weight']!.reshape([d, dConv]),
            bias: p['conv1d.conv.bias'],
            activation: 'silu',
            initialState: state?.conv,
            returnFinalState: state !== undefined,
          })
        : undefined;
    const cx = conv ? conv.y : x;
    // W·x of the four gates in the op's layout [b, L, 4, heads, dh]: per gate a bmm over the head blocks
    // [H, b·L, dh], stacked on a gate axis, then moved in front of the heads. Slot i gets fgate, slot f igate (see top).
    const xB = toBlocks(run, x, dh);
    const cB = conv ? toBlocks(run, cx, dh) : xB;
    const gate = (name: string, blocks: Tensor) => run.bmm({ a: blocks, b: p[name]!, transB: true }).y.reshape([H, batch * L, 1, dh]);
    const stacked = run.concat({ inputs: [gate('fgate.weight', cB), gate('igate.weight', cB), gate('zgate.weight', xB), gate('ogate.weight', xB)], axis: 2 }).y;
    const wx = run.permute({ x: stacked, dims: [1, 2, 0, 3] }).y; // [b·L, 4, H, dh]
    const cell = run.slstm({
      gates: wx.reshape([batch, L, 4, H, dh]),
      recurrent: p['slstm_cell._recurrent_kernel_']!,
      bias: p['slstm_cell._bias_'],
      ...(state ? { initialY: state.y, initialC: state.c, initialN: state.n, initialM: state.m } : {}),
    });
    const y = run.layerNorm({ x: cell.y, weight: this.normWeight.get(p['group_norm.weight']!), groupSize: dh, eps: 1e-5 }).y;
    if (state === undefined) return { y };
    const next: SlstmState = { y: cell.lastY, c: cell.lastC, n: cell.lastN, m: cell.lastM };
    if (conv) next.conv = conv.finalState!;
    return { y, state: next };
  }
}

export const slstmSpec = registerMixer<SlstmConfig>({
  name: 'slstm',
  family: 'rnn',
  paper: { title: 'xLSTM: Extended Long Short-Term Memory', authors: 'Beck et al.', year: 2024, url: 'https://arxiv.org/abs/2405.04517' },
  summary: 'scalar memory c_t = f_t c_{t−1} + i_t z_t with exponential gating, normaliser n_t and stabiliser m_t, block-diagonal (per-head) recurrence, group norm (NX-AI sLSTMLayer)',
  defaults: { heads: 4, dConv: 4, recurrentInit: 'zeros' },
  variants: [{ heads: 2, dConv: 0, recurrentInit: 'standard' }, { recurrentInit: 'standard' }],
  constantState: true,
  create: (config) => new SlstmMixer(config),
});
