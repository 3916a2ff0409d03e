// What torch.nn.LSTM / GRU / RNN mixers share: PyTorch's parameters
// (weight_ih_l0 [G·H, d], weight_hh_l0 [G·H, H], bias_ih_l0, bias_hh_l0, all
// U(−1/√H, 1/√H)), one fused op for both modes (the input projection of all
// steps as one GEMM, then the recurrence), and, when hiddenSize ≠ dModel, a
// linear map back to dModel (out_proj). lstm.ts, gru.ts and elman.ts give the
// cell's math and register it.

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput, type MixerState } from '../mixer.js';
import type { BaseConfig } from '../registry.js';

export interface TorchRnnConfig extends BaseConfig {
  /** H; 0 means dModel */
  hiddenSize: number;
}

export type TorchRnnCell = 'lstm' | 'gru' | 'tanh' | 'relu';

const GATES: Record<TorchRnnCell, number> = { lstm: 4, gru: 3, tanh: 1, relu: 1 };

export class TorchRnnMixer implements Mixer<MixerState> {
  readonly dModel: number;
  readonly hidden: number;
  readonly parameters: Record<string, Tensor>;
  readonly linearWeights = ['out_proj.weight'];

  constructor(readonly kind: string, readonly cell: TorchRnnCell, readonly config: Readonly<TorchRnnConfig>) {
    const d = config.dModel;
    const H = (this.hidden = config.hiddenSize || d);
    if (!Number.isInteger(H) || H < 1) throw new RangeError(`${kind}: hiddenSize must be a positive integer (0 = dModel), got ${config.hiddenSize}`);
    this.dModel = d;
    const init = new Init(config.seed ?? 0);
    const G = GATES[cell];
    const bound = 1 / Math.sqrt(H);
    this.parameters = {
      weight_ih_l0: init.uniform([G * H, d], -bound, bound),
      weight_hh_l0: init.uniform([G * H, H], -bound, bound),
      bias_ih_l0: init.uniform([G * H], -bound, bound),
      bias_hh_l0: init.uniform([G * H], -bound, bound),
    };
    if (H !== d) this.parameters['out_proj.weight'] = init.linear(d, H);
  }

  createState(batch: number): MixerState {
    const h = Tensor.zeros([batch, this.hidden]);
    return this.cell === 'lstm' ? { h, c: Tensor.zeros([batch, this.hidden]) } : { h };
  }

  forward(run: OpRunner, x: Tensor, state?: MixerState): MixerOutput<MixerState> {
    const [batch] = checkInput(this.kind, this.dModel, x);
    const lstm = this.cell === 'lstm';
    if (state !== undefined) checkState(this.kind, state, lstm ? { h: [batch, this.hidden], c: [batch, this.hidden] } : { h: [batch, this.hidden] });
    const p = this.parameters;
    const common = { x, weightIH: p.weight_ih_l0!, weightHH: p.weight_hh_l0!, biasIH: p.bias_ih_l0, biasHH: p.bias_hh_l0, h0: state?.h as Tensor | undefined };
    const result = lstm
      ? run.lstm({ ...common, c0: state?.c as Tensor | undefined })
      : this.cell === 'gru'
        ? run.gru(common)
        : run.rnn({ ...common, nonlinearity: this.cell });
    const y = p['out_proj.weight'] ? run.linear({ x: result.y, weight: p['out_proj.weight'] }).y : result.y;
    if (state === undefined) return { y };
    return { y, state: lstm ? { h: result.h, c: (result as unknown as { c: Tensor }).c } : { h: result.h } };
  }
}
