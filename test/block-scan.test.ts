// blockScan (native/cpu/block_scan.cc) against test/reference/block_scan.ts,
// including the time-chunked path, thread counts and state chaining.

import test from 'ava';
import { getNumThreads, ops, setNumThreads, Tensor } from '../lib/index.js';
import { blockScanRef } from './reference/block_scan.js';
import { forEachIsa, relError } from './helpers.js';

// Stable random blocks: spectral radius below 1, so long scans neither blow up nor vanish at once.
function stableBlocks(c: number, n: number, seed: number, radius = 0.97): Tensor {
  const a = Tensor.randn([c, n, n], { seed, std: 1 / Math.sqrt(n) });
  const d = a.data as Float32Array;
  for (let k = 0; k < c; k++) {
    let norm = 0; // Frobenius norm bounds the spectral radius
    for (let i = 0; i < n * n; i++) norm += d[k * n * n + i]! ** 2;
    const s = radius / Math.sqrt(norm);
    for (let i = 0; i < n * n; i++) d[k * n * n + i]! *= s;
  }
  return a;
}

test('blockScan matches the reference for 2×2 and larger blocks, with and without an initial state', (t) => {
  for (const [batch, L, c, n] of [[1, 1, 1, 1], [2, 7, 3, 2], [1, 33, 5, 4], [3, 100, 2, 16], [1, 20, 2, 33]] as [number, number, number, number][]) {
    const a = stableBlocks(c, n, L);
    const b = Tensor.randn([batch, L, c, n], { seed: c });
    const h0 = Tensor.randn([batch, c, n], { seed: n });
    for (const initialState of [undefined, h0]) {
      const ref = blockScanRef(a.data, b.data, initialState?.data, batch, L, c, n);
      forEachIsa((isa) => {
        const out = ops.blockScanSync({ a, b, initialState });
        t.true(relError(out.h.data as Float32Array, ref.h) < 1e-5, `${isa} ${[batch, L, c, n]}`);
        t.true(relError(out.lastState.data as Float32Array, ref.last) < 1e-5);
      });
    }
  }
});

test.serial('the time-chunked path (few channels, long L) matches, on 1 and 2 threads', (t) => {
  const original = getNumThreads();
  const L = 20000;
  const a = stableBlocks(2, 2, 5, 0.999);
  const b = Tensor.randn([1, L, 2, 2], { seed: 6 });
  const h0 = Tensor.randn([1, 2, 2], { seed: 7 });
  const ref = blockScanRef(a.data, b.data, h0.data, 1, L, 2, 2);
  try {
    for (const threads of [1, 2, 3]) {
      setNumThreads(threads);
      const out = ops.blockScanSync({ a, b, initialState: h0 });
      t.true(relError(out.h.data as Float32Array, ref.h) < 1e-5, `threads=${threads}`);
      t.true(relError(out.lastState.data as Float32Array, ref.last) < 1e-5);
    }
  } finally {
    setNumThreads(original);
  }
});

test('two calls chained through lastState equal one call', (t) => {
  const a = stableBlocks(3, 2, 1);
  const b = Tensor.randn([2, 50, 3, 2], { seed: 2 });
  const full = ops.blockScanSync({ a, b });
  const first = ops.blockScanSync({ a, b: ops.sliceSync({ x: b, axis: 1, start: 0, end: 17 }).y });
  const second = ops.blockScanSync({ a, b: ops.sliceSync({ x: b, axis: 1, start: 17 }).y, initialState: first.lastState });
  const tail = ops.sliceSync({ x: full.h, axis: 1, start: 17 }).y;
  t.true(relError(second.h.data as Float32Array, tail.data as Float32Array) < 1e-6);
  t.true(relError(second.lastState.data as Float32Array, full.lastState.data as Float32Array) < 1e-6);
});

test('blockScan rejects mismatched shapes', async (t) => {
  const a = Tensor.zeros([3, 2, 2]);
  t.throws(() => ops.blockScanSync({ a, b: Tensor.zeros([1, 5, 3, 3]) }), { instanceOf: RangeError, message: /b must have shape \[1, 5, 3, 2\]/ });
  t.throws(() => ops.blockScanSync({ a: Tensor.zeros([3, 2, 3]), b: Tensor.zeros([1, 5, 3, 2]) }), { instanceOf: RangeError, message: /a must have shape \[3, 2, 2\]/ });
  t.throws(() => ops.blockScanSync({ a, b: Tensor.zeros([1, 5, 3, 2]), initialState: Tensor.zeros([1, 3]) }), { instanceOf: RangeError, message: /initialState must have shape \[1, 3, 2\]/ });
  t.throws(() => ops.blockScanSync({ a, b: Tensor.zeros([1, 0, 3, 2]) }), { instanceOf: RangeError, message: /empty dimension/ });
  const { h } = await ops.blockScan({ a, b: Tensor.zeros([1, 5, 3, 2]) });
  t.deepEqual(h.shape, [1, 5, 3, 2]);
});
