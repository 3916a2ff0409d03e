// expand / permute / concat / slice (native/cpu/copy.cc) and bmm against
// index-arithmetic and float64 references.

import test from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { concatRef, expandRef, permuteRef, sliceRef } from './reference/layout.js';
import { matmulRef } from './reference/matmul.js';
import { forEachIsa, relError, values } from './helpers.js';

const seq = (shape: number[], dtype: 'float32' | 'int32' | 'bfloat16' = 'float32') =>
  Tensor.from(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (dtype === 'bfloat16' ? (i % 200) - 100 : i)), shape, dtype);

test('expand broadcasts size-1 and missing leading dimensions, any dtype', (t) => {
  for (const [xs, shape] of [[[1], [5]], [[3, 1], [2, 3, 4]], [[1, 4], [3, 4]], [[2, 1, 3], [2, 5, 3]], [[7], [2, 3, 7]]] as [number[], number[]][]) {
    for (const dtype of ['float32', 'int32', 'bfloat16'] as const) {
      const x = seq(xs, dtype);
      forEachIsa(() => t.deepEqual(ops.expandSync({ x, shape }).y.toArray(), expandRef(x.toArray(), xs, shape)));
    }
  }
  t.throws(() => ops.expandSync({ x: seq([3]), shape: [4] }), { instanceOf: RangeError, message: /cannot broadcast to \[4\]/ });
  t.throws(() => ops.expandSync({ x: seq([2, 3]), shape: [3] }), { instanceOf: RangeError, message: /fewer dimensions/ });
});

test('permute reorders dimensions', (t) => {
  for (const [shape, dims] of [[[2, 3], [1, 0]], [[2, 3, 4], [2, 0, 1]], [[1, 5, 1, 7], [3, 1, 2, 0]], [[3, 33, 65], [0, 2, 1]]] as [number[], number[]][]) {
    const x = seq(shape);
    forEachIsa(() => t.deepEqual(ops.permuteSync({ x, dims }).y.toArray(), permuteRef(x.toArray(), shape, dims)));
  }
  t.throws(() => ops.permuteSync({ x: seq([2, 3]), dims: [0, 0] }), { instanceOf: RangeError, message: /permutation of 0\.\.1/ });
  t.throws(() => ops.permuteSync({ x: seq([2, 3]), dims: 'ab' as never }), { instanceOf: TypeError, message: /dims must be an array of integers/ });
});

test('concat joins along any axis', (t) => {
  const a = seq([2, 3, 4]);
  const b = Tensor.randn([2, 5, 4], { seed: 1 });
  const c = Tensor.randn([2, 1, 4], { seed: 2 });
  const y = ops.concatSync({ inputs: [a, b, c], axis: 1 }).y;
  t.deepEqual(y.shape, [2, 9, 4]);
  t.deepEqual(y.toArray(), concatRef([a, b, c].map((x) => ({ data: x.toArray(), shape: [...x.shape] })), 1));
  const last = ops.concatSync({ inputs: [a, a], axis: -1 }).y;
  t.deepEqual(last.toArray(), concatRef([a, a].map((x) => ({ data: x.toArray(), shape: [...x.shape] })), 2));
  t.throws(() => ops.concatSync({ inputs: [a, Tensor.zeros([2, 3, 5])], axis: 1 }), { instanceOf: RangeError, message: /inputs\[1\] \[2, 3, 5\] must match inputs\[0\] \[2, 3, 4\] except along axis 1/ });
  t.throws(() => ops.concatSync({ inputs: [a, seq([2, 3, 4], 'int32')], axis: 0 }), { instanceOf: TypeError, message: /inputs\[1\] is int32/ });
  t.throws(() => ops.concatSync({ inputs: [], axis: 0 }), { instanceOf: TypeError, message: /non-empty array/ });
  t.throws(() => ops.concatSync({ inputs: [a], axis: 3 }), { instanceOf: RangeError, message: /axis must be in \[-3, 3\), got 3/ });
});

test('slice copies a strided range along one axis', (t) => {
  const x = seq([3, 10, 4]);
  for (const [axis, start, end, step] of [[1, 2, 9, 3], [0, 1, 3, 1], [2, 0, 4, 2], [1, 0, 10, 1]]) {
    const { y } = ops.sliceSync({ x, axis: axis!, start: start!, end: end!, step: step! });
    t.deepEqual(y.toArray(), sliceRef(x.toArray(), [3, 10, 4], axis!, start!, end!, step!));
  }
  t.throws(() => ops.sliceSync({ x, axis: 1, start: 5, end: 5 }), { instanceOf: RangeError, message: /0 ≤ start < end ≤ 10/ });
  t.throws(() => ops.sliceSync({ x, axis: 1, start: 0, step: 0 }), { instanceOf: RangeError, message: /step must be ≥ 1/ });
});

test('bmm multiplies batch by batch, with transB and 16-bit b', (t) => {
  for (const [batch, M, K, N] of [[1, 1, 1, 1], [3, 7, 33, 5], [4, 65, 20, 17], [2, 130, 300, 70]] as [number, number, number, number][]) {
    for (const transB of [false, true]) {
      for (const dtype of ['float32', 'bfloat16'] as const) {
        const a = Tensor.randn([batch, M, K], { seed: M });
        const b = Tensor.randn(transB ? [batch, N, K] : [batch, K, N], { seed: N, dtype });
        const bv = values(b);
        const ref = new Float64Array(batch * M * N);
        for (let i = 0; i < batch; i++) {
          ref.set(matmulRef((a.data as Float32Array).subarray(i * M * K, (i + 1) * M * K), bv.subarray(i * K * N, (i + 1) * K * N), M, K, N, transB), i * M * N);
        }
        forEachIsa((isa) => {
          const { y } = ops.bmmSync({ a, b, transB });
          t.true(relError(y.data as Float32Array, ref) < 1e-5, `${isa} ${[batch, M, K, N, transB, dtype]}`);
        });
      }
    }
  }
  const a = Tensor.zeros([2, 3, 4]);
  t.throws(() => ops.bmmSync({ a, b: Tensor.zeros([3, 4, 5]) }), { instanceOf: RangeError, message: /must have a's leading dimensions \[2\]/ });
  t.throws(() => ops.bmmSync({ a, b: Tensor.zeros([2, 5, 5]) }), { instanceOf: RangeError, message: /does not match K=4/ });
  t.throws(() => ops.bmmSync({ a: Tensor.zeros([3, 4]), b: Tensor.zeros([4, 5]) }), { instanceOf: RangeError, message: /rank ≥ 3/ });
});
