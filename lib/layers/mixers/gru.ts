// GRU as a sequence mixer: torch.nn.GRU(dModel, hiddenSize, batch_first=True)
// (then out_proj back to dModel when hiddenSize ≠ dModel; see torch_rnn.ts).
//
//   r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
//
// Both modes are the fused ops.gru (gate blocks in PyTorch's order r, z, n). State: h [b, H].

import { registerMixer } from '../registry.js';
import { TorchRnnMixer, type TorchRnnConfig } from './torch_rnn.js';

export const gruSpec = registerMixer<TorchRnnConfig>({
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
  create: (config) => new TorchRnnMixer('gru', 'gru', config),
});
