// matmul / linear (native/cpu/gemm.cc, gemv.cc) against the float64 reference
// in test/reference/matmul.ts, on every instruction set.

import test from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { matmulRef, linearRef } from './reference/matmul.js';
import { forEachIsa, relError, values } from './helpers.js';

test('the reference multiplies a hand-worked example', (t) => {
  // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]
  t.deepEqual(Array.from(matmulRef([1, 2, 3, 4], [5, 6, 7, 8], 2, 2, 2, false)), [19, 22, 43, 50]);
  t.deepEqual(Array.from(matmulRef([1, 2, 3, 4], [5, 7, 6, 8], 2, 2, 2, true)), [19, 22, 43, 50]);
  t.deepEqual(Array.from(linearRef([1, 1], [1, 2, 3, 4], [10, 20], 1, 2, 2)), [13, 27]);
});

// (M, K, N): the decode path (M ≤ 8), row/column tails of the packed kernel,
// K across several K blocks, and sizes of 1.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 33],
  [1, 1000, 7],
  [2, 33, 65],
  [7, 4097, 3],
  [8, 64, 129],
  [9, 33, 17],
  [17, 7, 1],
  [33, 1000, 33],
  [65, 129, 97],
  [100, 1100, 40],
  [1000, 7, 33],
  [130, 520, 300],
];

for (const [M, K, N] of SHAPES) {
  for (const transB of [false, true]) {
    test(`matmul (${M}, ${K}, ${N})${transB ? ' transB' : ''} matches the float64 reference on every ISA`, (t) => {
      const a = Tensor.randn([M, K], { seed: M * 31 + K });
      const b = Tensor.randn(transB ? [N, K] : [K, N], { seed: N * 17 + K });
      const ref = matmulRef(a.data, b.data as Float32Array, M, K, N, transB);
      forEachIsa((isa) => {
        const { y } = ops.matmulSync({ a, b, transB });
        t.deepEqual(y.shape, [M, N]);
        const err = relError(y.data as Float32Array, ref);
        t.true(err < 1e-5, `${isa}: relative error ${err}`);
      });
    });
  }
}

for (const dtype of ['bfloat16', 'float16'] as const) {
  for (const [M, K, N] of [[1, 100, 33], [5, 257, 70], [40, 600, 50]] as [number, number, number][]) {
    for (const transB of [false, true]) {
      test(`matmul with ${dtype} weights (${M}, ${K}, ${N})${transB ? ' transB' : ''} matches the reference on the same rounded weights`, (t) => {
        const a = Tensor.randn([M, K], { seed: 3 });
        const b = Tensor.randn(transB ? [N, K] : [K, N], { seed: 4, dtype });
        // The kernel widens the 16-bit weights exactly: compare with the rounded values.
        const ref = matmulRef(a.data, values(b), M, K, N, transB);
        forEachIsa((isa) => {
          const { y } = ops.matmulSync({ a, b, transB });
          const err = relError(y.data as Float32Array, ref);
          t.true(err < 1e-5, `${isa}: relative error ${err}`);
        });
      });
    }
  }
}

test('matmul folds leading dimensions of a into M (batched)', (t) => {
  const a = Tensor.randn([3, 2, 5, 33], { seed: 9 });
  const b = Tensor.randn([33, 19], { seed: 10 });
  const { y } = ops.matmulSync({ a, b });
  t.deepEqual(y.shape, [3, 2, 5, 19]);
  const ref = matmulRef(a.data, b.data as Float32Array, 30, 33, 19, false);
  t.true(relError(y.data as Float32Array, ref) < 1e-5);
});

test('linear adds the bias, takes [..., in] input and PyTorch [out, in] weights', (t) => {
  for (const [rows, inF, outF] of [[1, 768, 7], [6, 33, 100], [70, 65, 33]] as [number, number, number][]) {
    const x = Tensor.randn([rows, inF], { seed: rows });
    const weight = Tensor.randn([outF, inF], { seed: inF });
    const bias = Tensor.randn([outF], { seed: outF });
    const ref = linearRef(x.data, weight.data as Float32Array, bias.data as Float32Array, rows, inF, outF);
    forEachIsa((isa) => {
      const { y } = ops.linearSync({ x, weight, bias });
      t.true(relError(y.data as Float32Array, ref) < 1e-5, `${isa} (${rows}, ${inF}, ${outF})`);
    });
  }
  // rank-1 and rank-3 inputs
  const w = Tensor.randn([4, 3], { seed: 1 });
  t.deepEqual(ops.linearSync({ x: Tensor.randn([3], { seed: 2 }), weight: w }).y.shape, [4]);
  t.deepEqual(ops.linearSync({ x: Tensor.randn([2, 5, 3], { seed: 2 }), weight: w }).y.shape, [2, 5, 4]);
});

test('bf16 weights in linear match the reference for the decode path and the packed path', (t) => {
  for (const rows of [1, 3, 8, 9, 64]) {
    const x = Tensor.randn([rows, 300], { seed: rows });
    const weight = Tensor.randn([77, 300], { seed: 5, dtype: 'bfloat16' });
    const ref = linearRef(x.data, values(weight), undefined, rows, 300, 77);
    forEachIsa((isa) => {
      const { y } = ops.linearSync({ x, weight });
      t.true(relError(y.data as Float32Array, ref) < 1e-5, `${isa} rows=${rows}`);
    });
  }
});

test('sync and async forms give identical results', async (t) => {
  const a = Tensor.randn([37, 200], { seed: 1 });
  const b = Tensor.randn([200, 45], { seed: 2 });
  const sync = ops.matmulSync({ a, b }).y;
  const asyncY = (await ops.matmul({ a, b })).y;
  t.deepEqual(Array.from(asyncY.data as Float32Array), Array.from(sync.data as Float32Array));
});

test('out: writes into the caller\'s tensor, validated', (t) => {
  const a = Tensor.randn([4, 8], { seed: 1 });
  const b = Tensor.randn([8, 3], { seed: 2 });
  const y = Tensor.zeros([4, 3]);
  const result = ops.matmulSync({ a, b, out: { y } });
  t.is(result.y, y);
  t.true(relError(y.data, matmulRef(a.data, b.data as Float32Array, 4, 8, 3, false)) < 1e-5);
  t.throws(() => ops.matmulSync({ a, b, out: { y: Tensor.zeros([4, 4]) } }), { instanceOf: RangeError, message: /out\.y must have shape \[4, 3\]/ });
  t.throws(() => ops.matmulSync({ a, b, out: { z: y } as never }), { instanceOf: TypeError, message: /out\.z is not an output/ });
  const aliased = new Tensor(a.data.subarray(0, 12) as Float32Array, [4, 3]);
  t.throws(() => ops.matmulSync({ a, b, out: { y: aliased } }), { instanceOf: RangeError, message: /overlaps the memory of input a/ });
});
