// causalConv1d (native/cpu/causal_conv1d.cc): the short depthwise causal
// convolution of Mamba and Griffin,
//   y[t, ch] = bias[ch] + Σ_{j<w} weight[ch, j] · x[t − (w − 1) + j, ch],
// which is PyTorch's Conv1d(c, c, w, groups=c, padding=w − 1) cut to the first
// L outputs (mamba_simple.py). Inputs before t = 0 come from initialState (the
// previous w − 1 inputs, oldest first) or are zeros. finalState holds the last
// w − 1 inputs (reaching into initialState when L < w − 1), so chained calls,
// down to one token at a time, equal one call over the whole sequence.
// With w = 1 the state is empty: initialState may be left out (or be
// [b, c, 0]), and finalState has shape [b, c, 0].

import type { Tensor } from '../tensor.js';
import {
  checkArgs,
  expectDType,
  expectNonEmpty,
  expectRank,
  expectShape,
  expectTensor,
  optionalBoolean,
  optionalString,
  optionalTensor,
  shapeString,
} from '../validate.js';
import { defineOp } from './registry.js';

export interface CausalConv1dArgs {
  /** [b, L, c] */
  x: Tensor;
  /** [c, w]: PyTorch's depthwise Conv1d weight [c, 1, w] squeezed */
  weight: Tensor;
  /** [c] */
  bias?: Tensor;
  /** [b, c, w − 1]: the w − 1 inputs before x, oldest first (zeros when absent) */
  initialState?: Tensor;
  /** applied to the output (default 'none') */
  activation?: 'silu' | 'none';
  /** also return the last w − 1 inputs as finalState (default false) */
  returnFinalState?: boolean;
  out?: { y?: Tensor; finalState?: Tensor };
}

export interface CausalConv1dResult {
  /** [b, L, c] */
  y: Tensor;
  /** [b, c, w − 1], with returnFinalState */
  finalState?: Tensor;
}

export const causalConv1d = defineOp<CausalConv1dArgs, CausalConv1dResult>({
  name: 'causalConv1d',
  prepare(args, output) {
    const op = 'causalConv1d';
    checkArgs(op, args, ['x', 'weight', 'bias', 'initialState', 'activation', 'returnFinalState']);
    const x = expectTensor(op, 'x', args.x);
    expectDType(op, 'x', x, ['float32']);
    expectRank(op, 'x', x, 3, '[b, L, c]');
    expectNonEmpty(op, 'x', x);
    const [batch, L, c] = x.shape as [number, number, number];
    const weight = expectTensor(op, 'weight', args.weight);
    expectDType(op, 'weight', weight, ['float32']);
    if (weight.rank === 3 && weight.shape[1] === 1) {
      throw new RangeError(`${op}: weight must have rank 2 ([c, w]), got shape ${shapeString(weight.shape)}; squeeze PyTorch's [c, 1, w] to [c, w]`);
    }
    expectShape(op, 'weight', weight, [c, null], `[c, w] with c = ${c} from x`);
    const w = weight.shape[1]!;
    if (w < 1) throw new RangeError(`${op}: weight must have width w ≥ 1 ([c, w]), got shape ${shapeString(weight.shape)}`);
    const bias = optionalTensor(op, 'bias', args.bias);
    if (bias) {
      expectDType(op, 'bias', bias, ['float32']);
      expectShape(op, 'bias', bias, [c], '[c]');
    }
    const initialState = optionalTensor(op, 'initialState', args.initialState);
    if (initialState) {
      expectDType(op, 'initialState', initialState, ['float32']);
      expectShape(op, 'initialState', initialState, [batch, c, w - 1], '[b, c, w − 1]');
    }
    const activation = optionalString(op, 'activation', args.activation, ['silu', 'none'] as const, 'none');
    const returnFinalState = optionalBoolean(op, 'returnFinalState', args.returnFinalState, false);
    const y = output('y', x.shape);
    const finalState = returnFinalState ? output('finalState', [batch, c, w - 1]) : undefined;
    // Ignore the (empty) state tensors of w = 1 natively: nothing to read or write.
    const tensors = { x, weight, bias, y, initialState: w > 1 ? initialState : undefined, finalState: w > 1 ? finalState : undefined };
    const result: CausalConv1dResult = finalState ? { y, finalState } : { y };
    return { tensors, attrs: { activation }, result };
  },
});
