// softmax (native/cpu/softmax.cc) and embedding (native/cpu/embedding.cc)
// against their float64 references.

import test from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { softmaxRef } from './reference/softmax.js';
import { embeddingRef } from './reference/embedding.js';
import { forEachIsa, relError, values } from './helpers.js';

test('softmax and log-softmax match the reference, with large logits and scales', (t) => {
  for (const [rows, dim] of [[1, 1], [3, 7], [2, 33], [4, 1000], [1, 50280]] as [number, number][]) {
    const x = Tensor.randn([rows, dim], { seed: dim, std: 30 });
    for (const scale of [1, 0.5]) {
      for (const log of [false, true]) {
        const ref = softmaxRef(x.data, dim, scale, log);
        forEachIsa((isa) => {
          const { y } = ops.softmaxSync({ x, scale, log });
          t.true(relError(y.data as Float32Array, ref) < 1e-5, `${isa} ${rows}x${dim} scale=${scale} log=${log}`);
        });
      }
    }
  }
});

test('softmax of a row holding -Infinity entries gives them probability 0', (t) => {
  const x = Tensor.from([0, -Infinity, 1, -Infinity], [1, 4]);
  const y = ops.softmaxSync({ x }).y.data as Float32Array;
  t.is(y[1], 0);
  t.true(Math.abs(y[0]! + y[2]! - 1) < 1e-6);
});

test('embedding gathers rows of float32, bfloat16 and float16 tables', (t) => {
  for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
    const table = Tensor.randn([50, 37], { seed: 1, dtype });
    const ids = new Tensor(Int32Array.from([3, 0, 49, 3, 17, 8]), [2, 3]);
    forEachIsa((isa) => {
      const { y } = ops.embeddingSync({ ids, table });
      t.deepEqual(y.shape, [2, 3, 37]);
      t.is(relError(y.data as Float32Array, embeddingRef(ids.data, values(table), 37)), 0, `${isa} ${dtype}`);
    });
  }
});

test('embedding rejects out-of-range ids before writing anything, and bad arguments', async (t) => {
  const table = Tensor.randn([5, 4], { seed: 1 });
  const y = Tensor.full([2, 4], 7);
  t.throws(() => ops.embeddingSync({ ids: new Tensor(Int32Array.from([1, 5]), [2]), table, out: { y } }), { instanceOf: RangeError, message: /ids\[1\] = 5 is outside \[0, 5\)/ });
  t.true((y.data as Float32Array).every((v) => v === 7), 'nothing written');
  await t.throwsAsync(ops.embedding({ ids: new Tensor(Int32Array.from([-1]), [1]), table }), { instanceOf: RangeError, message: /ids\[0\] = -1/ });
  t.throws(() => ops.embeddingSync({ ids: Tensor.zeros([2]), table }), { instanceOf: TypeError, message: /ids must be int32, got float32/ });
  t.throws(() => ops.embeddingSync({ ids: Tensor.zeros([2], 'int32'), table: Tensor.zeros([20]) }), { instanceOf: RangeError, message: /table must have rank 2/ });
});
