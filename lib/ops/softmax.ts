// softmax / log-softmax over the last dimension (native/cpu/softmax.cc).

import type { Tensor } from '../tensor.js';
import { checkArgs, expectDType, expectMinRank, expectNonEmpty, expectTensor, optionalBoolean, optionalNumber } from '../validate.js';
import { defineOp } from './registry.js';

export interface SoftmaxArgs {
  /** [..., n] */
  x: Tensor;
  /** multiplies x first (a temperature's inverse); default 1 */
  scale?: number;
  /** return log-probabilities */
  log?: boolean;
  out?: { y?: Tensor };
}

export const softmax = defineOp<SoftmaxArgs, { y: Tensor }>({
  name: 'softmax',
  prepare(args, output) {
    const op = 'softmax';
    checkArgs(op, args, ['x', 'scale', 'log']);
    const x = expectTensor(op, 'x', args.x);
    expectDType(op, 'x', x, ['float32']);
    expectMinRank(op, 'x', x, 1);
    expectNonEmpty(op, 'x', x);
    const scale = optionalNumber(op, 'scale', args.scale, 1);
    if (!Number.isFinite(scale)) throw new RangeError(`${op}: scale must be finite, got ${scale}`);
    const log = optionalBoolean(op, 'log', args.log, false);
    const y = output('y', x.shape);
    return { tensors: { x, y }, attrs: { scale, log }, result: { y } };
  },
});
