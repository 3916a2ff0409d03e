// Elman RNN as a sequence mixer: torch.nn.RNN(dModel, hiddenSize,
// nonlinearity, batch_first=True), then, when hiddenSize ≠ dModel, a linear map
// back to dModel.
//
//   h_t = φ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh),   φ = tanh or relu
//
// Parallel and recurrent mode are the same fused kernel (ops.rnn): the input
// projection of all steps is one GEMM, then the recurrence. State: h [b, H].

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';

export interface ElmanConfig extends BaseConfig {
  /** H; 0 means dModel */
  hiddenSize: number;
  nonlinearity: 'tanh' | 'relu';
}

type ElmanState = { h: Tensor };

class ElmanMixer implements Mixer<ElmanState> {
  readonly kind = 'elman';
  readonly dModel: number;
  readonly hidden: number;
  readonly parameters: Record<string, Tensor>;

  constructor(readonly config: Readonly<ElmanConfig>) {
    if (config.nonlinearity !== 'tanh' && config.nonlinearity !== 'relu') {
      throw new RangeError(`elman: nonlinearity must be 'tanh' or 'relu', got '${config.nonlinearity}'`);
    }
    const d = config.dModel;
    const H = (this.hidden = config.hiddenSize || d);
    this.dModel = d;
    const init = new Init(config.seed ?? 0);
    // torch.nn.RNN: every weight and bias U(−1/√H, 1/√H).
    const bound = 1 / Math.sqrt(H);
    this.parameters = {
      weight_ih_l0: init.uniform([H, d], -bound, bound),
      weight_hh_l0: init.uniform([H, H], -bound, bound),
      bias_ih_l0: init.uniform([H], -bound, bound),
      bias_hh_l0: init.uniform([H], -bound, bound),
    };
    if (H !== d) this.parameters['out_proj.weight'] = init.linear(d, H);
  }

  createState(batch: number): ElmanState {
    return { h: Tensor.zeros([batch, this.hidden]) };
  }

  forward(run: OpRunner, x: Tensor, state?: ElmanState): MixerOutput<ElmanState> {
    const [batch] = checkInput(this.kind, this.dModel, x);
    if (state !== undefined) checkState(this.kind, state, { h: [batch, this.hidden] });
    const p = this.parameters;
    const { y, h } = run.rnn({
      x,
      weightIH: p.weight_ih_l0!,
      weightHH: p.weight_hh_l0!,
      biasIH: p.bias_ih_l0,
      biasHH: p.bias_hh_l0,
      h0: state?.h,
      nonlinearity: this.config.nonlinearity,
    });
    const out = p['out_proj.weight'] ? run.linear({ x: y, weight: p['out_proj.weight'] }).y : y;
    return state === undefined ? { y: out } : { y: out, state: { h } };
  }
}

export const elmanSpec = registerMixer<ElmanConfig>({
  name: 'elman',
  family: 'rnn',
  paper: { title: 'Finding Structure in Time', authors: 'Elman', year: 1990, url: 'https://doi.org/10.1207/s15516709cog1402_1' },
  summary: 'h_t = φ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), φ = tanh or relu (torch.nn.RNN)',
  defaults: { hiddenSize: 0, nonlinearity: 'tanh' },
  variants: [{ nonlinearity: 'relu' }, { hiddenSize: 40 }],
  constantState: true,
  create: (config) => new ElmanMixer(config),
});
