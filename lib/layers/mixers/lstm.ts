// LSTM as a sequence mixer: torch.nn.LSTM(dModel, hiddenSize, batch_first=True)
// followed, when hiddenSize ≠ dModel, by a linear map back to dModel.
//
//   i, f, g, o = σ(W_ii x + b_ii + W_hi h + b_hi), σ(…f…), tanh(…g…), σ(…o…)
//   c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
//
// Parallel and recurrent mode are the same fused kernel (ops.lstm): its input
// projection for all steps is one GEMM, then the recurrence. State: h, c [b, H].

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';

export interface LstmConfig extends BaseConfig {
  /** H; 0 means dModel */
  hiddenSize: number;
}

type LstmState = { h: Tensor; c: Tensor };

class LstmMixer implements Mixer<LstmState> {
  readonly kind = 'lstm';
  readonly dModel: number;
  readonly hidden: number;
  readonly parameters: Record<string, Tensor>;

  constructor(readonly config: Readonly<LstmConfig>) {
    const d = config.dModel;
    const H = (this.hidden = config.hiddenSize || d);
    this.dModel = d;
    const init = new Init(config.seed ?? 0);
    // torch.nn.LSTM: every weight and bias U(−1/√H, 1/√H).
    const bound = 1 / Math.sqrt(H);
    this.parameters = {
      weight_ih_l0: init.uniform([4 * H, d], -bound, bound),
      weight_hh_l0: init.uniform([4 * H, H], -bound, bound),
      bias_ih_l0: init.uniform([4 * H], -bound, bound),
      bias_hh_l0: init.uniform([4 * H], -bound, bound),
    };
    if (H !== d) this.parameters['out_proj.weight'] = init.linear(d, H);
  }

  createState(batch: number): LstmState {
    return { h: Tensor.zeros([batch, this.hidden]), c: Tensor.zeros([batch, this.hidden]) };
  }

  forward(run: OpRunner, x: Tensor, state?: LstmState): MixerOutput<LstmState> {
    const [batch] = checkInput(this.kind, this.dModel, x);
    if (state !== undefined) checkState(this.kind, state, { h: [batch, this.hidden], c: [batch, this.hidden] });
    const p = this.parameters;
    const { y, h, c } = run.lstm({
      x,
      weightIH: p.weight_ih_l0!,
      weightHH: p.weight_hh_l0!,
      biasIH: p.bias_ih_l0,
      biasHH: p.bias_hh_l0,
      h0: state?.h,
      c0: state?.c,
    });
    const out = p['out_proj.weight'] ? run.linear({ x: y, weight: p['out_proj.weight'] }).y : y;
    return state === undefined ? { y: out } : { y: out, state: { h, c: c! } };
  }
}

export const lstmSpec = registerMixer<LstmConfig>({
  name: 'lstm',
  family: 'rnn',
  paper: { title: 'Long Short-Term Memory', authors: 'Hochreiter, Schmidhuber', year: 1997, url: 'https://doi.org/10.1162/neco.1997.9.8.1735' },
  summary: 'gated cell state c_t = f⊙c_{t−1} + i⊙g, output h_t = o⊙tanh(c_t) (torch.nn.LSTM)',
  defaults: { hiddenSize: 0 },
  variants: [{ hiddenSize: 40 }],
  constantState: true,
  create: (config) => new LstmMixer(config),
});
