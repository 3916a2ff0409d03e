// rope (native/cpu/rope.cc) against test/reference/rope.ts.

import test from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { ropeRef } from './reference/rope.js';
import { forEachIsa, relError, sameBytes, snapshot } from './helpers.js';

test('rope matches the reference: halves and interleaved, partial rotary dims, offsets, per-row and per-token positions', (t) => {
  for (const [b, T, H, D] of [[1, 1, 1, 2], [2, 7, 3, 16], [1, 33, 2, 64], [3, 5, 4, 80]] as [number, number, number, number][]) {
    const x = Tensor.randn([b, T, H, D], { seed: T * D });
    const rowOffsets = new Tensor(Int32Array.from({ length: b }, (_, i) => 5 + 100 * i), [b]);
    const positions = new Tensor(Int32Array.from({ length: b * T }, (_, i) => (i * 37) % 1000), [b, T]);
    for (const rotaryDim of [D, Math.max(2, D / 2)]) {
      for (const interleaved of [false, true]) {
        const cases: [Parameters<typeof ops.ropeSync>[0], (r: number, tt: number) => number][] = [
          [{ x, rotaryDim, interleaved }, (_r, tt) => tt],
          [{ x, rotaryDim, interleaved, offset: 4093, base: 500000 }, (_r, tt) => 4093 + tt],
          [{ x, rotaryDim, interleaved, rowOffsets }, (r, tt) => 5 + 100 * r + tt],
          [{ x, rotaryDim, interleaved, positions, positionScale: 0.25 }, (r, tt) => ((r * T + tt) * 37) % 1000],
        ];
        for (const [args, pos] of cases) {
          const ref = ropeRef(x.data, [b, T, H, D], pos, { rotaryDim, base: args.base ?? 10000, interleaved, positionScale: args.positionScale });
          forEachIsa((isa) => {
            const { y } = ops.ropeSync(args);
            t.true(relError(y.data as Float32Array, ref) < 1e-6, `${isa} ${JSON.stringify([b, T, H, D, rotaryDim, interleaved])}`);
          });
        }
      }
    }
  }
});

test('rope at large positions stays accurate (angles computed in double)', (t) => {
  const x = Tensor.randn([1, 4, 1, 128], { seed: 1 });
  const { y } = ops.ropeSync({ x, offset: 1_000_000 });
  t.true(relError(y.data as Float32Array, ropeRef(x.data, [1, 4, 1, 128], (_r, tt) => 1_000_000 + tt, { rotaryDim: 128, base: 10000, interleaved: false })) < 1e-6);
});

test('rope rejects bad arguments', (t) => {
  const x = Tensor.randn([2, 3, 4, 8], { seed: 1 });
  const before = snapshot(x);
  t.throws(() => ops.ropeSync({ x: Tensor.zeros([2, 3, 8]) }), { instanceOf: RangeError, message: /x must have rank 4 \(\[b, T, heads, D\]\)/ });
  t.throws(() => ops.ropeSync({ x, rotaryDim: 3 }), { instanceOf: RangeError, message: /rotaryDim must be even, got 3/ });
  t.throws(() => ops.ropeSync({ x, rotaryDim: 16 }), { instanceOf: RangeError, message: /rotaryDim must be ≤ 8/ });
  t.throws(() => ops.ropeSync({ x, offset: -1 }), { instanceOf: RangeError, message: /offset must be ≥ 0/ });
  t.throws(() => ops.ropeSync({ x, rowOffsets: Tensor.zeros([3], 'int32') }), { instanceOf: RangeError, message: /rowOffsets must have shape \[2\]/ });
  t.throws(() => ops.ropeSync({ x, rowOffsets: Tensor.zeros([2]) }), { instanceOf: TypeError, message: /rowOffsets must be int32, got float32/ });
  t.throws(() => ops.ropeSync({ x, offset: 1, positions: Tensor.zeros([2, 3], 'int32') }), { instanceOf: RangeError, message: /at most one of offset, rowOffsets, positions/ });
  t.true(sameBytes(x, before));
});
