// complexRnn: the recurrence of unitary RNNs (native/cpu/complex_rnn.cc):
// h_t = modReLU(W h_{t−1} + u_t, bias) over complex vectors stored as
// (re, im) pairs, modReLU(z) = (|z| + bias) · z/|z| where |z| + bias > 0, else 0
// (Arjovsky, Shah & Bengio, "Unitary Evolution Recurrent Neural Networks", 2016).

import type { Tensor } from '../tensor.js';
import { checkArgs, expectDType, expectNonEmpty, expectRank, expectShape, expectTensor, optionalTensor } from '../validate.js';
import { defineOp } from './registry.js';

export interface ComplexRnnArgs {
  /** [b, L, H, 2]: the input term of each step (V·x_t, complex) */
  u: Tensor;
  /** [H, H, 2]: the (unitary) recurrent matrix, complex */
  weight: Tensor;
  /** [H]: modReLU bias */
  bias: Tensor;
  /** [b, H, 2] (zeros when absent) */
  h0?: Tensor;
  out?: { y?: Tensor; h?: Tensor };
}

export const complexRnn = defineOp<ComplexRnnArgs, { y: Tensor; h: Tensor }>({
  name: 'complexRnn',
  prepare(args, output) {
    const op = 'complexRnn';
    checkArgs(op, args, ['u', 'weight', 'bias', 'h0']);
    const u = expectTensor(op, 'u', args.u);
    const weight = expectTensor(op, 'weight', args.weight);
    const bias = expectTensor(op, 'bias', args.bias);
    const h0 = optionalTensor(op, 'h0', args.h0);
    for (const [name, t] of [['u', u], ['weight', weight], ['bias', bias]] as const) expectDType(op, name, t, ['float32']);
    expectRank(op, 'u', u, 4, '[b, L, H, 2]');
    expectNonEmpty(op, 'u', u);
    const [b, L, H, two] = u.shape as [number, number, number, number];
    if (two !== 2) throw new RangeError(`${op}: u's last dimension must be 2 (re, im), got ${two}`);
    expectShape(op, 'weight', weight, [H, H, 2], '[H, H, 2]');
    expectShape(op, 'bias', bias, [H], '[H]');
    if (h0) {
      expectDType(op, 'h0', h0, ['float32']);
      expectShape(op, 'h0', h0, [b, H, 2], '[b, H, 2]');
    }
    const y = output('y', [b, L, H, 2]);
    const h = output('h', [b, H, 2]);
    return { tensors: { u, weight, bias, h0, y, h }, result: { y, h } };
  },
});
