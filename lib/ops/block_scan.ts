// blockScan: the block-diagonal linear recurrence h_t = a · h_{t−1} + b_t
// (native/cpu/block_scan.cc), with one time-invariant n×n block per channel.
// LinOSS runs on it with 2×2 blocks; any dense per-channel recurrence with a
// small state fits. Long sequences with few channels are scanned in parallel
// over time (chunked associative scan).

import type { Tensor } from '../tensor.js';
import { checkArgs, expectDType, expectNonEmpty, expectRank, expectShape, expectTensor, optionalTensor } from '../validate.js';
import { defineOp } from './registry.js';

export interface BlockScanArgs {
  /** [c, n, n]: each channel's transition block */
  a: Tensor;
  /** [batch, L, c, n]: the input term of each step */
  b: Tensor;
  /** [batch, c, n] (zeros when absent) */
  initialState?: Tensor;
  out?: { h?: Tensor; lastState?: Tensor };
}

export const blockScan = defineOp<BlockScanArgs, { h: Tensor; lastState: Tensor }>({
  name: 'blockScan',
  prepare(args, output) {
    const op = 'blockScan';
    checkArgs(op, args, ['a', 'b', 'initialState']);
    const a = expectTensor(op, 'a', args.a);
    const b = expectTensor(op, 'b', args.b);
    const initialState = optionalTensor(op, 'initialState', args.initialState);
    expectDType(op, 'a', a, ['float32']);
    expectDType(op, 'b', b, ['float32']);
    expectRank(op, 'a', a, 3, '[c, n, n]');
    expectRank(op, 'b', b, 4, '[batch, L, c, n]');
    expectNonEmpty(op, 'a', a);
    expectNonEmpty(op, 'b', b);
    const [c, n] = a.shape as [number, number];
    expectShape(op, 'a', a, [c, n, n], '[c, n, n]');
    if (n > 256) throw new RangeError(`${op}: blocks are at most 256×256, got ${n}×${n}`);
    const [batch, L] = b.shape as [number, number];
    expectShape(op, 'b', b, [batch, L, c, n], `[batch, L, c=${c}, n=${n}]`);
    if (initialState) {
      expectDType(op, 'initialState', initialState, ['float32']);
      expectShape(op, 'initialState', initialState, [batch, c, n], '[batch, c, n]');
    }
    const h = output('h', [batch, L, c, n]);
    const lastState = output('lastState', [batch, c, n]);
    return { tensors: { a, b, initialState, h, lastState }, result: { h, lastState } };
  },
});
