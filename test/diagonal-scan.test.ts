// diagonalScan (native/cpu/diagonal_scan.cc) against test/reference/diagonal_scan.ts.
//
// Which schedule runs depends on the shape and the thread count: b · ⌈c / lanes⌉
// channel vectors against the threads, and L ≥ 1024 for time chunks. The
// sizes below cover both: short or wide inputs run channel-parallel; b = 1
// with one or a few channels and L = 4097 or 100000 on 2+ threads runs the
// time-chunked reduce-then-scan (on every ISA: c = 1 is one vector on each).

import test from 'ava';
import { getNumThreads, ops, setNumThreads, Tensor } from '../lib/index.js';
import { diagonalScanRef } from './reference/diagonal_scan.js';
import { forEachIsa, relError, sameBytes, snapshot } from './helpers.js';
import { diagonalScanInputs as inputs } from './inputs.js';

/** Steps [t0, t1) of a [b, L, ...] tensor, copied. */
function timeSlice(t: Tensor, t0: number, t1: number): Tensor {
  const [batch, L, ...rest] = t.shape as number[];
  const row = rest.reduce((p, d) => p * d, 1);
  const out = new Float32Array(batch! * (t1 - t0) * row);
  const src = t.data as Float32Array;
  for (let bi = 0; bi < batch!; bi++) out.set(src.subarray((bi * L! + t0) * row, (bi * L! + t1) * row), bi * (t1 - t0) * row);
  return new Tensor(out, [batch!, t1 - t0, ...rest]);
}

/** Pieces along time glued back together. */
function timeConcat(pieces: Tensor[]): Float32Array {
  const [batch, , ...rest] = pieces[0]!.shape as number[];
  const row = rest.reduce((p, d) => p * d, 1);
  const L = pieces.reduce((s, p) => s + p.shape[1]!, 0);
  const out = new Float32Array(batch! * L * row);
  let t0 = 0;
  for (const p of pieces) {
    const len = p.shape[1]!;
    for (let bi = 0; bi < batch!; bi++) out.set((p.data as Float32Array).subarray(bi * len * row, (bi + 1) * len * row), (bi * L + t0) * row);
    t0 += len;
  }
  return out;
}

/** Same float32 bits everywhere (NaN-safe, and fast on large arrays where t.deepEqual is not). */
function sameBits(x: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; length: number }, y: typeof x): boolean {
  if (x.length !== y.length) return false;
  const a = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const b = new Uint32Array(y.buffer, y.byteOffset, y.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function withThreads<T>(n: number, fn: () => T): T {
  const original = getNumThreads();
  setNumThreads(n);
  try {
    return fn();
  } finally {
    setNumThreads(original);
  }
}

test('diagonalScan matches the reference on odd sizes, real and complex, with and without a state, on every ISA', (t) => {
  for (const c of [1, 7, 33]) {
    for (const L of [1, 7, 1000, 4097]) {
      const batch = L === 4097 ? 1 : 2;
      for (const complex of [false, true]) {
        const { a, b, state } = inputs(batch, L, c, complex, 10 * c + L);
        for (const initialState of [undefined, state]) {
          const ref = diagonalScanRef(a.data, b.data, [batch, L, c], complex, initialState?.data);
          forEachIsa((isa) => {
            const { h, lastState } = ops.diagonalScanSync({ a, b, initialState, complex });
            t.deepEqual(h.shape, a.shape);
            t.deepEqual(lastState.shape, complex ? [batch, c, 2] : [batch, c]);
            const label = `${isa} b=${batch} L=${L} c=${c} complex=${complex} state=${!!initialState}`;
            t.true(relError(h.data as Float32Array, ref.h) < 1e-5, `h ${label}: ${relError(h.data as Float32Array, ref.h)}`);
            t.true(relError(lastState.data as Float32Array, ref.lastState) < 1e-5, `lastState ${label}`);
          });
        }
      }
    }
  }
});

test.serial('diagonalScan over wide rows and many batches (channel-parallel) gives the same bits on 1, 2 and 3 threads', (t) => {
  for (const [batch, L, c] of [[3, 65, 130], [8, 33, 1536], [1, 2048, 100], [5, 700, 17]] as [number, number, number][]) {
    for (const complex of [false, true]) {
      const { a, b, state } = inputs(batch, L, c, complex, batch + L + c);
      const ref = diagonalScanRef(a.data, b.data, [batch, L, c], complex, state.data);
      forEachIsa((isa) => {
        const [first, ...others] = [1, 2, 3].map((threads) => withThreads(threads, () => ops.diagonalScanSync({ a, b, initialState: state, complex })));
        t.true(relError(first!.h.data as Float32Array, ref.h) < 1e-5, `${isa} ${batch} ${L} ${c} ${complex}`);
        t.true(relError(first!.lastState.data as Float32Array, ref.lastState) < 1e-5);
        // Each channel's recurrence runs whole on one thread, however the channels are split.
        for (const other of others) {
          t.true(sameBits(other.h.data as Float32Array, first!.h.data as Float32Array), `${isa} ${batch} ${L} ${c} ${complex}`);
          t.true(sameBits(other.lastState.data as Float32Array, first!.lastState.data as Float32Array));
        }
      });
    }
  }
});

test.serial('diagonalScan on long sequences with few channels (time-chunked) matches the reference on 1, 2, 3 and 5 threads, which agree to rounding', (t) => {
  const cases: [number, number, number][] = [[1, 100_000, 1], [1, 4097, 1], [1, 4097, 16], [2, 6000, 3], [1, 20_000, 33]];
  for (const [batch, L, c] of cases) {
    for (const complex of [false, true]) {
      // |a| up to 0.9999: memories of up to 10⁴ steps cross many chunk boundaries.
      const { a, b, state } = inputs(batch, L, c, complex, L + c, 0.9, 0.9999);
      for (const initialState of [undefined, state]) {
        const ref = diagonalScanRef(a.data, b.data, [batch, L, c], complex, initialState?.data);
        forEachIsa((isa) => {
          let single: Float32Array | undefined;
          for (const threads of [1, 2, 3, 5]) {
            const { h, lastState } = withThreads(threads, () => ops.diagonalScanSync({ a, b, initialState, complex }));
            const label = `${isa} threads=${threads} b=${batch} L=${L} c=${c} complex=${complex} state=${!!initialState}`;
            // A float32 recurrence with a memory of 1/(1 − |a|) = 10⁴ steps
            // rounds that many times per output: ≈ 1e-6 here, bound 1e-5.
            t.true(relError(h.data as Float32Array, ref.h) < 1e-5, `h ${label}: ${relError(h.data as Float32Array, ref.h)}`);
            t.true(relError(lastState.data as Float32Array, ref.lastState) < 1e-5, `lastState ${label}`);
            if (threads === 1) single = h.data as Float32Array;
            else t.true(relError(h.data as Float32Array, single!) < 2e-6, `vs 1 thread: ${label}: ${relError(h.data as Float32Array, single!)}`);
          }
        });
      }
    }
  }
});

test('diagonalScan state chaining: two calls equal one, and L = 1 steps equal one call', (t) => {
  for (const complex of [false, true]) {
    const [batch, L, c] = [2, 29, 7];
    const { a, b, state } = inputs(batch, L, c, complex, 77);
    forEachIsa((isa) => {
      const whole = ops.diagonalScanSync({ a, b, initialState: state, complex });
      // Split in two.
      const first = ops.diagonalScanSync({ a: timeSlice(a, 0, 11), b: timeSlice(b, 0, 11), initialState: state, complex });
      const second = ops.diagonalScanSync({ a: timeSlice(a, 11, L), b: timeSlice(b, 11, L), initialState: first.lastState, complex });
      // One channel-parallel pass is the same arithmetic in the same order: equal bits.
      t.true(sameBits(timeConcat([first.h, second.h]), whole.h.data as Float32Array), `${isa} two calls`);
      t.true(sameBits(second.lastState.data as Float32Array, whole.lastState.data as Float32Array));
      // Token by token (the decode step), starting from no state.
      const zero = ops.diagonalScanSync({ a, b, complex });
      let carry: Tensor | undefined;
      const steps: Tensor[] = [];
      for (let s = 0; s < L; s++) {
        const step = ops.diagonalScanSync({ a: timeSlice(a, s, s + 1), b: timeSlice(b, s, s + 1), initialState: carry, complex });
        steps.push(step.h);
        carry = step.lastState;
      }
      t.true(sameBits(timeConcat(steps), zero.h.data as Float32Array), `${isa} steps`);
      t.true(sameBits(carry!.data as Float32Array, zero.lastState.data as Float32Array));
    });
  }
});

test.serial('diagonalScan chaining across the time-chunked path: two long calls equal one', (t) => {
  for (const complex of [false, true]) {
    const [batch, L, c] = [1, 50_000, 2];
    const { a, b, state } = inputs(batch, L, c, complex, 5, 0.9, 0.9999);
    withThreads(3, () => {
      const whole = ops.diagonalScanSync({ a, b, initialState: state, complex });
      const first = ops.diagonalScanSync({ a: timeSlice(a, 0, 20_001), b: timeSlice(b, 0, 20_001), initialState: state, complex });
      const second = ops.diagonalScanSync({ a: timeSlice(a, 20_001, L), b: timeSlice(b, 20_001, L), initialState: first.lastState, complex });
      t.true(relError(timeConcat([first.h, second.h]), whole.h.data as Float32Array) < 2e-6);
      t.true(relError(second.lastState.data as Float32Array, whole.lastState.data as Float32Array) < 2e-6);
    });
  }
});

test.serial('diagonalScan with strong decays: |a| near 0 (products underflow to 0) and near 1, on both schedules', (t) => {
  const regimes: [string, number, number][] = [
    ['|a| ≤ 1e-20', 0, 1e-20],
    ['|a| in [1e-3, 1e-2]', 1e-3, 1e-2],
    ['|a| in [1 − 1e-4, 1]', 1 - 1e-4, 1],
  ];
  for (const [name, low, high] of regimes) {
    for (const complex of [false, true]) {
      for (const [batch, L, c] of [[2, 300, 33], [1, 30_000, 1], [1, 8192, 5]] as [number, number, number][]) {
        const { a, b, state } = inputs(batch, L, c, complex, 3, low, high);
        const ref = diagonalScanRef(a.data, b.data, [batch, L, c], complex, state.data);
        // |a| up to 1 keeps everything: the sums grow like √t and their float32
        // rounding with them (a random walk of L roundings), so allow 1e-4 there.
        const bound = high === 1 ? 1e-4 : 1e-5;
        for (const threads of [1, 3]) {
          forEachIsa((isa) => {
            const { h, lastState } = withThreads(threads, () => ops.diagonalScanSync({ a, b, initialState: state, complex }));
            const label = `${name} ${isa} threads=${threads} L=${L} c=${c} complex=${complex}`;
            const err = relError(h.data as Float32Array, ref.h);
            t.true(err < bound, `${label}: ${err}`);
            t.true(relError(lastState.data as Float32Array, ref.lastState) < bound, label);
          });
        }
      }
    }
  }
  // a = 0 exactly forgets everything: h = b, bit for bit, and the state is never read.
  const b = Tensor.randn([1, 5000, 3], { seed: 9 });
  const { h } = withThreads(3, () => ops.diagonalScanSync({ a: Tensor.zeros([1, 5000, 3]), b, initialState: Tensor.randn([1, 3], { seed: 1 }) }));
  t.true(sameBits(h.data as Float32Array, b.data as Float32Array));
  // a = 1 exactly with b = 1 counts: h_t = h_0 + t + 1, exact in float32.
  const count = withThreads(3, () =>
    ops.diagonalScanSync({ a: new Tensor(new Float32Array(9000).fill(1), [1, 9000, 1]), b: new Tensor(new Float32Array(9000).fill(1), [1, 9000, 1]), initialState: new Tensor(Float32Array.of(5), [1, 1]) }),
  );
  t.true(sameBits(count.h.data as Float32Array, Float32Array.from({ length: 9000 }, (_, i) => 6 + i)));
});

test('diagonalScan leaves its inputs unchanged', (t) => {
  for (const complex of [false, true]) {
    const { a, b, state } = inputs(1, 5000, 2, complex, 1);
    const before = [a, b, state].map(snapshot);
    ops.diagonalScanSync({ a, b, initialState: state, complex });
    [a, b, state].forEach((x, i) => t.true(sameBytes(x, before[i]!), `argument ${i} modified`));
  }
});

test('diagonalScan rejects bad arguments with clear errors', (t) => {
  const a = Tensor.randn([2, 5, 3], { seed: 1 });
  const b = Tensor.randn([2, 5, 3], { seed: 2 });
  const ac = Tensor.randn([2, 5, 3, 2], { seed: 3 });
  const bc = Tensor.randn([2, 5, 3, 2], { seed: 4 });
  const before = [a, b, ac, bc].map(snapshot);
  const run = (args: unknown) => () => ops.diagonalScanSync(args as never);
  t.throws(run(undefined), { instanceOf: TypeError, message: /diagonalScan: expected one arguments object/ });
  t.throws(run({ a }), { instanceOf: TypeError, message: /diagonalScan: b must be a Tensor, got undefined/ });
  t.throws(run({ a: [1, 2, 3], b }), { instanceOf: TypeError, message: /diagonalScan: a must be a Tensor, got an Array of length 3/ });
  t.throws(run({ a, b, initialStat: b }), { instanceOf: TypeError, message: /unknown argument 'initialStat'/ });
  // dtypes
  t.throws(run({ a: a.toBFloat16(), b }), { instanceOf: TypeError, message: /diagonalScan: a must be float32, got bfloat16/ });
  t.throws(run({ a, b: new Tensor(new Int32Array(30), [2, 5, 3]) }), { instanceOf: TypeError, message: /diagonalScan: b must be float32, got int32/ });
  t.throws(run({ a, b, initialState: Tensor.zeros([2, 3], 'int32') }), { instanceOf: TypeError, message: /initialState must be float32, got int32/ });
  t.throws(run({ a, b, complex: 1 }), { instanceOf: TypeError, message: /diagonalScan: complex must be a boolean, got number 1/ });
  // shapes
  t.throws(run({ a: Tensor.zeros([5, 3]), b }), { instanceOf: RangeError, message: /diagonalScan: a must have rank 3 \(\[b, L, c\]\), got shape \[5, 3\]/ });
  t.throws(run({ a, b: Tensor.zeros([2, 5, 4]) }), { instanceOf: RangeError, message: /diagonalScan: b must have shape \[2, 5, 3\] \(\[b, L, c\], like a\), got \[2, 5, 4\]/ });
  t.throws(run({ a, b: Tensor.zeros([2, 6, 3]) }), { instanceOf: RangeError, message: /b must have shape \[2, 5, 3\]/ });
  // the complex flag against the last dimension
  t.throws(run({ a: ac, b: bc }), { instanceOf: RangeError, message: /a must have rank 3 \(\[b, L, c\]\), got shape \[2, 5, 3, 2\]; for \(re, im\) pairs pass complex: true/ });
  t.throws(run({ a, b, complex: true }), { instanceOf: RangeError, message: /a must have shape \[b, L, c, 2\] when complex is true .*got \[2, 5, 3\]/ });
  t.throws(run({ a: Tensor.zeros([2, 5, 3, 3]), b: bc, complex: true }), { instanceOf: RangeError, message: /a must have shape \[b, L, c, 2\] when complex is true/ });
  t.throws(run({ a: ac, b, complex: true }), { instanceOf: RangeError, message: /b must have shape \[2, 5, 3, 2\] \(\[b, L, c, 2\], like a\), got \[2, 5, 3\]/ });
  // L = 0 and other empty dimensions
  t.throws(run({ a: Tensor.zeros([2, 0, 3]), b: Tensor.zeros([2, 0, 3]) }), { instanceOf: RangeError, message: /diagonalScan: a has an empty dimension 1/ });
  t.throws(run({ a: Tensor.zeros([2, 5, 0]), b: Tensor.zeros([2, 5, 0]) }), { instanceOf: RangeError, message: /a has an empty dimension 2/ });
  // state shapes
  t.throws(run({ a, b, initialState: Tensor.zeros([2, 4]) }), { instanceOf: RangeError, message: /initialState must have shape \[2, 3\] \(\[b, c\]\), got \[2, 4\]/ });
  t.throws(run({ a, b, initialState: Tensor.zeros([2, 3, 2]) }), { instanceOf: RangeError, message: /initialState must have shape \[2, 3\] \(\[b, c\]\), got \[2, 3, 2\]/ });
  t.throws(run({ a: ac, b: bc, complex: true, initialState: Tensor.zeros([2, 3]) }), { instanceOf: RangeError, message: /initialState must have shape \[2, 3, 2\] \(\[b, c, 2\]\), got \[2, 3\]/ });
  t.throws(run({ a, b, initialState: Tensor.zeros([1, 3]) }), { instanceOf: RangeError, message: /initialState must have shape \[2, 3\]/ });
  // outputs
  t.throws(run({ a, b, out: { h: Tensor.zeros([2, 5, 2]) } }), { instanceOf: RangeError, message: /out.h must have shape \[2, 5, 3\]/ });
  t.throws(run({ a, b, out: { h: a } }), { instanceOf: RangeError, message: /out.h overlaps the memory of input a/ });
  [a, b, ac, bc].forEach((x, i) => t.true(sameBytes(x, before[i]!), `argument ${i} modified`));
});

test('diagonalScan: the native layer re-checks shapes that bypass TypeScript', async (t) => {
  const { native } = await import('../lib/native.js');
  const a = Tensor.randn([2, 5, 3], { seed: 1 });
  const b = Tensor.randn([2, 5, 3], { seed: 2 });
  const h = Tensor.zeros([2, 5, 3]);
  const lastState = Tensor.zeros([2, 3]);
  t.throws(() => native.runSync('diagonalScan', { a, b: Tensor.zeros([2, 4, 3]), h, lastState }, {}), { instanceOf: RangeError, message: /diagonalScan: b must have shape \[2, 5, 3\], got \[2, 4, 3\]/ });
  t.throws(() => native.runSync('diagonalScan', { a, b, h: Tensor.zeros([2, 5]), lastState }, {}), { instanceOf: RangeError, message: /h must have shape/ });
  t.throws(() => native.runSync('diagonalScan', { a, b, h, lastState: Tensor.zeros([3, 2]) }, {}), { instanceOf: RangeError, message: /lastState must have shape \[2, 3\]/ });
  t.throws(() => native.runSync('diagonalScan', { a, b, h, lastState, initialState: Tensor.zeros([2]) }, {}), { instanceOf: RangeError, message: /initialState must have shape \[2, 3\]/ });
  t.throws(() => native.runSync('diagonalScan', { a, b, h, lastState }, { complex: true }), { instanceOf: RangeError, message: /a must have rank 4/ });
  t.throws(() => native.runSync('diagonalScan', { a: Tensor.zeros([2, 5, 3, 3]), b, h, lastState }, { complex: true }), { instanceOf: RangeError, message: /a must have shape \[b, L, c, 2\]/ });
  t.throws(() => native.runSync('diagonalScan', { a: Tensor.zeros([2, 0, 3]), b: Tensor.zeros([2, 0, 3]), h: Tensor.zeros([2, 0, 3]), lastState }, {}), { instanceOf: RangeError, message: /a must have no empty dimension/ });
  t.throws(() => native.runSync('diagonalScan', { a, b: a.toBFloat16(), h, lastState }, {}), { instanceOf: TypeError, message: /b must be float32, got bfloat16/ });
});

test('diagonalScan async form gives the sync result and rejects bad input', async (t) => {
  const { a, b, state } = inputs(2, 300, 9, true, 4);
  const sync = ops.diagonalScanSync({ a, b, initialState: state, complex: true });
  const pending = ops.diagonalScan({ a, b, initialState: state, complex: true });
  t.true(pending instanceof Promise);
  const result = await pending;
  t.true(sameBits(result.h.data as Float32Array, sync.h.data as Float32Array));
  t.true(sameBits(result.lastState.data as Float32Array, sync.lastState.data as Float32Array));
  await t.throwsAsync(ops.diagonalScan({ a, b, complex: false }), { instanceOf: RangeError, message: /pass complex: true/ });
});
