// Async ops run on native threads: the event loop stays free, inputs stay
// alive until the op settles, concurrent ops give correct results and do not
// oversubscribe the cores.

import test from 'ava';
import { getNumThreads, ops, Tensor } from '../lib/index.js';
import { matmulRef } from './reference/matmul.js';
import { relError } from './helpers.js';

test.serial('a timer keeps firing while a large matmul runs', async (t) => {
  const a = Tensor.randn([1536, 1536], { seed: 1 });
  const b = Tensor.randn([1536, 1536], { seed: 2 });
  // Calibrate: how long does one run take here?
  const t0 = performance.now();
  ops.matmulSync({ a, b });
  const syncMs = performance.now() - t0;

  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const start = performance.now();
  const runs = Math.max(1, Math.ceil(400 / syncMs));
  for (let i = 0; i < runs; i++) await ops.matmul({ a, b });
  const elapsed = performance.now() - start;
  clearInterval(timer);
  // A blocked loop would give ~0 ticks; a free one about elapsed / 5.
  t.true(ticks >= (elapsed / 5) * 0.3, `${ticks} ticks in ${elapsed.toFixed(0)} ms of async matmul`);
});

test.serial('inputs stay alive while an async op runs, even when the caller drops them', async (t) => {
  const gc = (globalThis as { gc?: () => void }).gc;
  t.truthy(gc, 'tests run with --expose-gc');
  const reference: Float64Array[] = [];
  const pending: Promise<{ y: Tensor }>[] = [];
  for (let i = 0; i < 6; i++) {
    // The only references to a and b are inside this block.
    const a = Tensor.randn([300, 300], { seed: 10 + i });
    const b = Tensor.randn([300, 300], { seed: 20 + i });
    reference.push(matmulRef(a.data, b.data as Float32Array, 300, 300, 300, false));
    pending.push(ops.matmul({ a, b }));
  }
  for (let i = 0; i < 10; i++) {
    gc!();
    await new Promise((r) => setImmediate(r));
  }
  const results = await Promise.all(pending);
  results.forEach(({ y }, i) => t.true(relError(y.data as Float32Array, reference[i]!) < 1e-5));
});

test.serial('many async ops in flight give the right answers and use at most the pool\'s cores', async (t) => {
  const threads = getNumThreads();
  const jobs = Array.from({ length: 8 }, (_, i) => ({
    a: Tensor.randn([400 + i, 500], { seed: i }),
    b: Tensor.randn([500, 300], { seed: 100 + i }),
  }));
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const results = await Promise.all(jobs.map(({ a, b }) => ops.matmul({ a, b })));
  const wall = (performance.now() - wallBefore) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cores = (cpu.user + cpu.system) / 1e6 / wall;
  results.forEach(({ y }, i) => {
    const { a, b } = jobs[i]!;
    t.true(relError(y.data as Float32Array, matmulRef(a.data, b.data as Float32Array, a.shape[0]!, 500, 300, false)) < 1e-5);
  });
  // Compute threads are capped at the pool size; allow for the JS thread and GC.
  t.true(cores <= threads + 0.75, `${cores.toFixed(2)} cores busy with a pool of ${threads}`);
});

test('an op rejected asynchronously leaves no job behind: later ops still run', async (t) => {
  const a = Tensor.randn([3, 4], { seed: 1 });
  await t.throwsAsync(ops.matmul({ a, b: Tensor.randn([5, 2], { seed: 2 }) }));
  const { y } = await ops.matmul({ a, b: Tensor.randn([4, 2], { seed: 2 }) });
  t.deepEqual(y.shape, [3, 2]);
});
