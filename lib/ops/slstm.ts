// slstm: xLSTM's sLSTM recurrence (native/cpu/slstm.cc) — scalar memory with
// exponential gating, a normaliser and a stabiliser, and block-diagonal
// (per-head) recurrent weights. The input projections are computed by the
// caller (W·x for the four gates); this op runs the recurrence.

import type { Tensor } from '../tensor.js';
import { checkArgs, expectDType, expectNonEmpty, expectRank, expectShape, expectTensor, optionalTensor } from '../validate.js';
import { defineOp } from './registry.js';

export interface SlstmArgs {
  /** [b, L, 4, heads, dh]: pre-activations W·x of the gates i, f, z, o */
  gates: Tensor;
  /** [heads, dh, 4, dh]: R, mapping each head's y_{t−1} to its four gates */
  recurrent: Tensor;
  /** [heads, 4, dh] */
  bias?: Tensor;
  /** [b, heads·dh] each; zeros when absent */
  initialY?: Tensor;
  initialC?: Tensor;
  initialN?: Tensor;
  initialM?: Tensor;
  out?: { y?: Tensor; lastY?: Tensor; lastC?: Tensor; lastN?: Tensor; lastM?: Tensor };
}

export interface SlstmResult {
  /** [b, L, heads·dh] */
  y: Tensor;
  lastY: Tensor;
  lastC: Tensor;
  lastN: Tensor;
  lastM: Tensor;
}

export const slstm = defineOp<SlstmArgs, SlstmResult>({
  name: 'slstm',
  prepare(args, output) {
    const op = 'slstm';
    checkArgs(op, args, ['gates', 'recurrent', 'bias', 'initialY', 'initialC', 'initialN', 'initialM']);
    const gates = expectTensor(op, 'gates', args.gates);
    const recurrent = expectTensor(op, 'recurrent', args.recurrent);
    const bias = optionalTensor(op, 'bias', args.bias);
    expectDType(op, 'gates', gates, ['float32']);
    expectDType(op, 'recurrent', recurrent, ['float32']);
    expectRank(op, 'gates', gates, 5, '[b, L, 4, heads, dh]');
    expectNonEmpty(op, 'gates', gates);
    const [b, L, four, heads, dh] = gates.shape as [number, number, number, number, number];
    if (four !== 4) throw new RangeError(`${op}: gates must have 4 gates (i, f, z, o) in dimension 2, got ${four}`);
    expectShape(op, 'recurrent', recurrent, [heads, dh, 4, dh], '[heads, dh, 4, dh]');
    if (bias) {
      expectDType(op, 'bias', bias, ['float32']);
      expectShape(op, 'bias', bias, [heads, 4, dh], '[heads, 4, dh]');
    }
    const initial: Record<string, Tensor | undefined> = {};
    for (const name of ['initialY', 'initialC', 'initialN', 'initialM'] as const) {
      const t = optionalTensor(op, name, args[name]);
      if (t) {
        expectDType(op, name, t, ['float32']);
        expectShape(op, name, t, [b, heads * dh], '[b, heads·dh]');
      }
      initial[name] = t;
    }
    const y = output('y', [b, L, heads * dh]);
    const lastY = output('lastY', [b, heads * dh]);
    const lastC = output('lastC', [b, heads * dh]);
    const lastN = output('lastN', [b, heads * dh]);
    const lastM = output('lastM', [b, heads * dh]);
    return {
      tensors: { gates, recurrent, bias, ...initial, y, lastY, lastC, lastN, lastM },
      result: { y, lastY, lastC, lastN, lastM },
    };
  },
});
