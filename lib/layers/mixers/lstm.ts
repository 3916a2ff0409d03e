// LSTM as a sequence mixer: torch.nn.LSTM(dModel, hiddenSize, batch_first=True)
// (then out_proj back to dModel when hiddenSize ≠ dModel; see torch_rnn.ts).
//
//   i, f, g, o = σ(W_ii x + b_ii + W_hi h + b_hi), σ(…f…), tanh(…g…), σ(…o…)
//   c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
//
// Both modes are the fused ops.lstm. State: h, c [b, H].

import { registerMixer } from '../registry.js';
import { TorchRnnMixer, type TorchRnnConfig } from './torch_rnn.js';

export const lstmSpec = registerMixer<TorchRnnConfig>({
  name: 'lstm',
  family: 'rnn',
  paper: { title: 'Long Short-Term Memory', authors: 'Hochreiter, Schmidhuber', year: 1997, url: 'https://doi.org/10.1162/neco.1997.9.8.1735' },
  summary: 'gated cell state c_t = f⊙c_{t−1} + i⊙g, output h_t = o⊙tanh(c_t) (torch.nn.LSTM)',
  defaults: { hiddenSize: 0 },
  variants: [{ hiddenSize: 40 }],
  constantState: true,
  create: (config) => new TorchRnnMixer('lstm', 'lstm', config),
});
