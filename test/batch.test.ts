// OpBatch: ops recorded and run as one native job, sync or async, in order.

import test from 'ava';
import { OpBatch, ops, Tensor } from '../lib/index.js';
import { relError } from './helpers.js';

test('a recorded chain gives the same results as running the ops one by one', async (t) => {
  const x = Tensor.randn([3, 16], { seed: 1 });
  const w1 = Tensor.randn([32, 16], { seed: 2 });
  const w2 = Tensor.randn([16, 32], { seed: 3 });
  const direct = (() => {
    const h = ops.linearSync({ x, weight: w1 }).y;
    const a = ops.elementwiseSync({ expr: 'silu(h)', inputs: { h } }).y;
    const o = ops.linearSync({ x: a, weight: w2 }).y;
    return ops.rmsNormSync({ x: o, residual: x }).y;
  })();
  for (const mode of ['async', 'sync'] as const) {
    const batch = new OpBatch();
    const h = batch.ops.linear({ x, weight: w1 }).y;
    const a = batch.ops.elementwise({ expr: 'silu(h)', inputs: { h } }).y;
    const o = batch.ops.linear({ x: a, weight: w2 }).y;
    const { y } = batch.ops.rmsNorm({ x: o, residual: x });
    t.is(batch.size, 4);
    t.true(Number.isNaN(y.data[0] as number), 'nothing has run yet (outputs are poisoned)');
    if (mode === 'async') await batch.run();
    else batch.runSync();
    t.true(relError(y.data as Float32Array, direct.data as Float32Array) < 1e-6, mode);
  }
});

test('a batch validates each call as it is recorded, and an error while running rejects', async (t) => {
  const batch = new OpBatch();
  t.throws(() => batch.ops.matmul({ a: Tensor.zeros([2, 3]), b: Tensor.zeros([4, 2]) }), { instanceOf: RangeError });
  t.is(batch.size, 0);
  batch.ops.embedding({ ids: new Tensor(Int32Array.from([9]), [1]), table: Tensor.zeros([3, 2]) });
  await t.throwsAsync(batch.run(), { instanceOf: RangeError, message: /embedding: ids\[0\] = 9/ });
  t.throws(() => batch.runSync(), { instanceOf: RangeError, message: /embedding: ids\[0\] = 9/ });
});

test('an empty batch runs', async (t) => {
  await new OpBatch().run();
  new OpBatch().runSync();
  t.pass();
});
