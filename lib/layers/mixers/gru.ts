// GRU as a sequence mixer: torch.nn.GRU(dModel, hiddenSize, batch_first=True),
// then, when hiddenSize ≠ dModel, a linear map back to dModel.
//
//   r = σ(W_ir x + b_ir + W_hr h + b_hr),   z = σ(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//   h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
//
// Parallel and recurrent mode are the same fused kernel (ops.gru): the input
// projection of all steps is one GEMM, then the recurrence. State: h [b, H].

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';

export interface GruConfig extends BaseConfig {
  /** H; 0 means dModel */
  hiddenSize: number;
}

type GruState = { h: Tensor };

class GruMixer implements Mixer<GruState> {
  readonly kind = 'gru';
  readonly dModel: number;
  readonly hidden: number;
  readonly parameters: Record<string, Tensor>;

  constructor(readonly config: Readonly<GruConfig>) {
    const d = config.dModel;
    const H = (this.hidden = config.hiddenSize || d);
    this.dModel = d;
    const init = new Init(config.seed ?? 0);
    // torch.nn.GRU: every weight and bias U(−1/√H, 1/√H); gate blocks in the order r, z, n.
    const bound = 1 / Math.sqrt(H);
    this.parameters = {
      weight_ih_l0: init.uniform([3 * H, d], -bound, bound),
      weight_hh_l0: init.uniform([3 * H, H], -bound, bound),
      bias_ih_l0: init.uniform([3 * H], -bound, bound),
      bias_hh_l0: init.uniform([3 * H], -bound, bound),
    };
    if (H !== d) this.parameters['out_proj.weight'] = init.linear(d, H);
  }

  createState(batch: number): GruState {
    return { h: Tensor.zeros([batch, this.hidden]) };
  }

  forward(run: OpRunner, x: Tensor, state?: GruState): MixerOutput<GruState> {
    const [batch] = checkInput(this.kind, this.dModel, x);
    if (state !== undefined) checkState(this.kind, state, { h: [batch, this.hidden] });
    const p = this.parameters;
    const { y, h } = run.gru({
      x,
      weightIH: p.weight_ih_l0!,
      weightHH: p.weight_hh_l0!,
      biasIH: p.bias_ih_l0,
      biasHH: p.bias_hh_l0,
      h0: state?.h,
    });
    const out = p['out_proj.weight'] ? run.linear({ x: y, weight: p['out_proj.weight'] }).y : y;
    return state === undefined ? { y: out } : { y: out, state: { h } };
  }
}

export const gruSpec = registerMixer<GruConfig>({
  name: 'gru',
  family: 'rnn',
  paper: {
    title: 'Learning Phrase Representations using RNN Encoder-Decoder for Statistical Machine Translation',
    authors: 'Cho, van Merriënboer, Gulcehre, Bahdanau, Bougares, Schwenk, Bengio',
    year: 2014,
    url: 'https://arxiv.org/abs/1406.1078',
  },
  summary: 'gated update h_t = (1−z)⊙n + z⊙h_{t−1}, n = tanh(W_in x + r⊙(W_hn h + b_hn)) (torch.nn.GRU)',
  defaults: { hiddenSize: 0 },
  variants: [{ hiddenSize: 40 }],
  constantState: true,
  create: (config) => new GruMixer(config),
});
