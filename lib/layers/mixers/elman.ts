// Elman RNN as a sequence mixer: torch.nn.RNN(dModel, hiddenSize, nonlinearity,
// batch_first=True) (then out_proj back to dModel when hiddenSize ≠ dModel; see torch_rnn.ts).
//
//   h_t = φ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh),   φ = tanh or relu
//
// Both modes are the fused ops.rnn. State: h [b, H].

import { registerMixer } from '../registry.js';
import { TorchRnnMixer, type TorchRnnConfig } from './torch_rnn.js';

export interface ElmanConfig extends TorchRnnConfig {
  nonlinearity: 'tanh' | 'relu';
}

export const elmanSpec = registerMixer<ElmanConfig>({
  name: 'elman',
  family: 'rnn',
  paper: { title: 'Finding Structure in Time', authors: 'Elman', year: 1990, url: 'https://doi.org/10.1207/s15516709cog1402_1' },
  summary: 'h_t = φ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), φ = tanh or relu (torch.nn.RNN)',
  defaults: { hiddenSize: 0, nonlinearity: 'tanh' },
  variants: [{ nonlinearity: 'relu' }, { hiddenSize: 40 }],
  constantState: true,
  create: (config) => {
    if (config.nonlinearity !== 'tanh' && config.nonlinearity !== 'relu') {
      throw new RangeError(`elman: nonlinearity must be 'tanh' or 'relu', got '${config.nonlinearity}'`);
    }
    return new TorchRnnMixer('elman', config.nonlinearity, config);
  },
});
