// Griffin / Hawk's recurrent block (De et al. 2024), as huggingface transformers
// models/recurrent_gemma/modeling_recurrent_gemma.py RecurrentGemmaRecurrentBlock
// with RecurrentGemmaRglru:
//
//   g   = gelu_tanh(linear_y(u))                          gate branch
//   x   = conv_1d(linear_x(u))                            depthwise causal conv, width 4, with bias
//   i_t = σ(x_t W_i + b_i),  r_t = σ(x_t W_r + b_r)       block-diagonal per head (x·W, W [heads, bw, bw])
//   log a_t = −c·r_t·softplus(Λ),  c = 8                  i.e. a_t = σ(−Λ)^{c·r_t}: the paper's σ(Λ)^{c·r_t},
//                                                          Λ stored with HF's sign (recurrent_param)
//   h_t = a_t ⊙ h_{t−1} + √(1 − a_t²) ⊙ (i_t ⊙ x_t)       (the first token of a sequence: multiplier 1)
//   out = linear_out(h ⊙ g)
//
// Parallel mode is one diagonalScan over the data-dependent a_t; the two gate
// matmuls are one bmm over heads (the gates' weights side by side, cached), with
// the result permuted so each gate is a contiguous view. L = 1 with a state runs
// the same ops. √(1 − a²) is computed as √(−2τ/(1 − τ)), τ = tanh(log a), which
// equals 1 − a² = −expm1(2 log a) without the cancellation of 1 − exp(·) in float32.
//
// Reset: HF multiplies position 0 of a sequence (position_ids == 0) by 1 instead of
// √(1 − a²) (its state is zero there, so only the normalisation differs). We follow
// it: the state carries `started` (0 for createState(), 1 once a token went
// through), so the first token after a fresh state — in parallel mode, step by
// step, or split across calls — gets the reset, and no other does. Rows merged
// from separate prefills all have started = 1, so merging stays consistent.
// State: conv [b, lru_width, conv1d_width − 1], h [b, lru_width], started.
//
// Init: _init_weights of RecurrentGemmaPreTrainedModel with w_init_variance_scale
// 0.01 and final_w_init_variance_scale 1 (HF's is 2/num_hidden_layers, a
// model-level choice): linear_x/linear_y N(0, 1/d), linear_out N(0, 1/lru_width),
// biases 0; conv N(0, 0.01/width), bias 0; gate weights N(0, 0.01/bw), biases 0;
// Λ such that a^(1/c) at r = 1 is uniform in the square-root domain over [0.9, 0.999].

import type { OpRunner } from '../../ops/index.js';
import { Tensor, type Device } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';
import { Derived } from './derived.js';

export interface RglruConfig extends BaseConfig {
  /** 0 means dModel */
  lruWidth: number;
  /** heads of the block-diagonal gates; must divide lruWidth */
  numHeads: number;
  conv1dWidth: number;
}

type RglruState = { conv: Tensor; h: Tensor; started: number };

const C_FACTOR = 8;

// multiplier √(1 − a²) from log a (see the header), times the gated input.
const NORM = `sqrt(-2 * tanh(LOGA) / (1 - tanh(LOGA)))`;
const LOGA = `(-${C_FACTOR} * sigmoid(rg + rb) * softplus(lam))`;
const A_EXPR = `exp(${LOGA})`;
const B_EXPR = `${NORM.replaceAll('LOGA', LOGA)} * sigmoid(ig + ib) * x`;
const B_RESET_EXPR = `(reset + (1 - reset) * ${NORM.replaceAll('LOGA', LOGA)}) * sigmoid(ig + ib) * x`;

class RglruMixer implements Mixer<RglruState> {
  readonly kind = 'rglru';
  readonly dModel: number;
  readonly width: number;
  readonly heads: number;
  readonly parameters: Record<string, Tensor>;
  /** the gate weights are not here: they are re-laid out (cached) for the bmm */
  readonly linearWeights = ['linear_y.weight', 'linear_x.weight', 'linear_out.weight'];
  /** [heads, bw, 2·bw]: input gate weight then recurrent gate weight, side by side */
  private readonly gateW = new Derived((wi, wr) => {
    const [H, bw] = wi.shape as [number, number];
    const t = Tensor.zeros([H, bw, 2 * bw]);
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < bw; i++) {
        for (let j = 0; j < bw; j++) {
          t.data[(h * bw + i) * 2 * bw + j] = wi.data[(h * bw + i) * bw + j]!;
          t.data[(h * bw + i) * 2 * bw + bw + j] = wr.data[(h * bw + i) * bw + j]!;
        }
      }
    }
    return t;
  });
  private resetMask: Tensor | undefined;

  constructor(readonly config: Readonly<RglruConfig>) {
    const d = config.dModel;
    const W = (this.width = config.lruWidth || d);
    const H = (this.heads = config.numHeads);
    if (!Number.isInteger(W) || W < 1) throw new RangeError(`rglru: lruWidth must be a positive integer, got ${config.lruWidth}`);
    if (!Number.isInteger(H) || H < 1 || W % H !== 0) throw new RangeError(`rglru: numHeads (${H}) must be a positive integer dividing lruWidth (${W})`);
    if (!Number.isInteger(config.conv1dWidth) || config.conv1dWidth < 1) throw new RangeError(`rglru: conv1dWidth must be a positive integer, got ${config.conv1dWidth}`);
    this.dModel = d;
    const bw = W / H;
    const w = config.conv1dWidth;
    const init = new Init(config.seed ?? 0);
    const wScale = 0.01;
    const r = init.rng();
    const lam = Tensor.zeros([W]);
    for (let i = 0; i < W; i++) {
      const u = 0.9 ** 2 + 1e-8 + (0.999 ** 2 - 0.9 ** 2) * r.uniform();
      lam.data[i] = Math.log(Math.exp(-0.5 * Math.log(u)) - 1); // softplus(Λ) = −log √u
    }
    this.parameters = {
      'linear_y.weight': init.normal([W, d], Math.sqrt(1 / d)),
      'linear_y.bias': init.zeros([W]),
      'linear_x.weight': init.normal([W, d], Math.sqrt(1 / d)),
      'linear_x.bias': init.zeros([W]),
      'linear_out.weight': init.normal([d, W], Math.sqrt(1 / W)),
      'linear_out.bias': init.zeros([d]),
      'conv_1d.weight': init.normal([W, 1, w], Math.sqrt(wScale / w)),
      'conv_1d.bias': init.zeros([W]),
      'rg_lru.recurrent_param': lam,
      'rg_lru.input_gate_weight': init.normal([H, bw, bw], Math.sqrt(wScale / bw)),
      'rg_lru.input_gate_bias': init.zeros([H, bw]),
      'rg_lru.recurrent_gate_weight': init.normal([H, bw, bw], Math.sqrt(wScale / bw)),
      'rg_lru.recurrent_gate_bias': init.zeros([H, bw]),
    };
  }

  private shapes(batch: number): Record<string, number[]> {
    return { conv: [batch, this.width, this.config.conv1dWidth - 1], h: [batch, this.width] };
  }

  createState(batch: number): RglruState {
    const s = this.shapes(batch);
    return { conv: Tensor.zeros(s.conv!), h: Tensor.zeros(s.h!), started: 0 };
  }

  /**
   * [L, W]: 1 on the first row (the reset position), 0 elsewhere; only its first row is used, so any L ≥ 1 fits.
   * Kept on the device of the input (uploaded once per length) so a device forward reads no host tensor.
   */
  private reset(L: number, device: Device): Tensor {
    if (!this.resetMask || this.resetMask.shape[0] !== L || this.resetMask.device !== device) {
      const m = Tensor.zeros([L, this.width]);
      m.data.fill(1, 0, this.width);
      this.resetMask = m.toDeviceSync(device);
    }
    return this.resetMask;
  }

  forward(run: OpRunner, u: Tensor, state?: RglruState): MixerOutput<RglruState> {
    const [batch, L] = checkInput(this.kind, this.dModel, u);
    if (state !== undefined) {
      checkState(this.kind, state, this.shapes(batch));
      if (state.started !== 0 && state.started !== 1) throw new TypeError(`rglru: state.started must be 0 or 1 (a state from createState()), got ${String(state.started)}`);
    }
    const p = this.parameters;
    const { width: W, heads: H } = this;
    const bw = W / H;
    const w = this.config.conv1dWidth;

    const yBranch = run.linear({ x: u, weight: p['linear_y.weight']!, bias: p['linear_y.bias'] }).y;
    const xBranch = run.linear({ x: u, weight: p['linear_x.weight']!, bias: p['linear_x.bias'] }).y;
    const conv = run.causalConv1d({
      x: xBranch,
      weight: p['conv_1d.weight']!.reshape([W, w]),
      bias: p['conv_1d.bias'],
      initialState: state?.conv,
      returnFinalState: state !== undefined,
    });
    const x = conv.y;

    // Both gates: [heads, b·L, bw] · [heads, bw, 2bw], then laid out [2, b·L, heads, bw] so each gate is a view.
    const xh = run.permute({ x: x.reshape([batch * L, H, bw]), dims: [1, 0, 2] }).y;
    const g = run.bmm({ a: xh, b: this.gateW.get(p['rg_lru.input_gate_weight']!, p['rg_lru.recurrent_gate_weight']!) }).y;
    const gates = run.permute({ x: g.reshape([H, batch * L, 2, bw]), dims: [2, 1, 0, 3] }).y;
    const ig = gates.select(0).reshape([batch, L, W]);
    const rg = gates.select(1).reshape([batch, L, W]);
    const common = {
      rg,
      rb: p['rg_lru.recurrent_gate_bias']!.reshape([W]),
      lam: p['rg_lru.recurrent_param']!,
    };
    const a = run.elementwise({ expr: A_EXPR, inputs: common }).y;
    const fresh = state === undefined || state.started === 0;
    const inputs = { ...common, ig, ib: p['rg_lru.input_gate_bias']!.reshape([W]), x };
    const b = fresh
      ? run.elementwise({ expr: B_RESET_EXPR, inputs: { ...inputs, reset: this.reset(L, u.device) } }).y
      : run.elementwise({ expr: B_EXPR, inputs }).y;
    const scan = run.diagonalScan({ a, b, initialState: state?.h });
    const hg = run.elementwise({ expr: 'h * gelu_tanh(g)', inputs: { h: scan.h, g: yBranch } }).y;
    const y = run.linear({ x: hg, weight: p['linear_out.weight']!, bias: p['linear_out.bias'] }).y;
    return state === undefined ? { y } : { y, state: { conv: conv.finalState!, h: scan.lastState, started: 1 } };
  }
}

export const rglruSpec = registerMixer<RglruConfig>({
  name: 'rglru',
  family: 'rnn',
  paper: {
    title: 'Griffin: Mixing Gated Linear Recurrences with Local Attention for Efficient Language Models',
    authors: 'De, Smith, Fernando, Botev, et al.',
    year: 2024,
    url: 'https://arxiv.org/abs/2402.19427',
  },
  summary: "Hawk/Griffin recurrent block: causal conv → RG-LRU h_t = a_t⊙h_{t−1} + √(1−a_t²)⊙(i_t⊙x_t), a_t = σ(Λ)^{8r_t}, times a GeLU gate branch (HF RecurrentGemmaRecurrentBlock)",
  defaults: { lruWidth: 0, numHeads: 4, conv1dWidth: 4 },
  variants: [{ lruWidth: 40, numHeads: 2, conv1dWidth: 2 }],
  constantState: true,
  create: (config) => new RglruMixer(config),
});
