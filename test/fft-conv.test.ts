// fftConv (native/cpu/fft_conv.cc) against the float64 references in
// test/reference/fft_conv.ts, on every instruction set, through both paths
// (FFT and direct) and the automatic choice; bad input; inputs unchanged.

import test from 'ava';
import { getNumThreads, ops, setNumThreads, Tensor } from '../lib/index.js';
import { fftConvRef, fftConvRefByFft, fftRef } from './reference/fft_conv.js';
import { forEachIsa, relError, sameBytes, snapshot } from './helpers.js';

/** Bitwise-equal contents (t.deepEqual on long arrays overflows ava's differ). */
function identical(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

const METHODS = ['fft', 'direct', 'auto'] as const;

test('the references agree with a hand-worked convolution and with each other', (t) => {
  // u = [1, 2, 3, 4], k = [1, 10, 100], D = 0.5:
  // y = [1, 12, 123, 234] + 0.5·u
  const u = [1, 2, 3, 4];
  const k = [1, 10, 100];
  t.deepEqual(Array.from(fftConvRef(u, k, [0.5], 1, 4, 1, 3)), [1.5, 13, 124.5, 236]);
  t.deepEqual(Array.from(fftConvRef(u, k, undefined, 1, 4, 1, 3)), [1, 12, 123, 234]);
  // The FFT reference: a DFT of an impulse is flat, and forward-then-inverse is n × identity.
  const [re, im] = fftRef(Float64Array.from([1, 0, 0, 0]), new Float64Array(4), -1);
  t.deepEqual(Array.from(re), [1, 1, 1, 1]);
  t.deepEqual(Array.from(im).map((x) => Math.abs(x) < 1e-15), [true, true, true, true]);
  const x = Tensor.randn([2, 300, 3], { seed: 5 });
  const kk = Tensor.randn([3, 123], { seed: 6 });
  const D = Tensor.randn([3], { seed: 7 });
  const direct = fftConvRef(x.data, kk.data, D.data, 2, 300, 3, 123);
  const byFft = fftConvRefByFft(x.data, kk.data, D.data, 2, 300, 3, 123);
  t.true(relError(byFft, direct) < 1e-13, `float64 FFT reference vs direct sum: ${relError(byFft, direct)}`);
});

// (b, L, c, Lk): sizes of 1, odd sizes, partial SIMD blocks (7, 33 channels),
// kernels as short as one tap and as long as the sequence, FFT lengths just past
// a power of two (4097), and batches that share the kernel's spectrum.
const CASES: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [3, 1, 7, 1],
  [1, 7, 1, 1],
  [3, 7, 7, 4],
  [1, 7, 33, 7],
  [3, 1000, 1, 1],
  [1, 1000, 7, 17],
  [1, 1000, 33, 333],
  [3, 1000, 33, 1000],
  [1, 4097, 1, 4097],
  [3, 4097, 7, 4097],
  [3, 4097, 7, 2049],
  [1, 4097, 33, 100],
];

for (const [b, L, c, Lk] of CASES) {
  const withD = (b + L + c + Lk) % 2 === 0;
  test(`fftConv b=${b} L=${L} c=${c} Lk=${Lk}${withD ? ' with D' : ''}: fft, direct and auto match the direct float64 sum on every ISA`, (t) => {
    const seed = b * 1009 + L * 31 + c * 7 + Lk;
    const u = Tensor.randn([b, L, c], { seed });
    const k = Tensor.randn([c, Lk], { seed: seed + 1, std: 1 / Math.sqrt(Lk) });
    const D = withD ? Tensor.randn([c], { seed: seed + 2 }) : undefined;
    const ref = fftConvRef(u.data, k.data, D?.data, b, L, c, Lk);
    forEachIsa((isa) => {
      for (const method of METHODS) {
        const { y } = ops.fftConvSync({ u, k, D, method });
        t.deepEqual(y.shape, [b, L, c]);
        const err = relError(y.data as Float32Array, ref);
        t.true(err <= 1e-5, `${isa} ${method}: relative error ${err}`);
      }
    });
  });
}

test('fftConv matches a float64 FFT reference to 1e-5 at L = Lk = 65536 on every ISA', (t) => {
  // A 65536 × 65536 direct sum is 4e9 operations; the textbook float64 FFT is the oracle here.
  const [b, L, c, Lk] = [1, 65536, 2, 65536];
  const u = Tensor.randn([b, L, c], { seed: 11 });
  const k = Tensor.randn([c, Lk], { seed: 12, std: 1 / Math.sqrt(Lk) });
  const D = Tensor.randn([c], { seed: 13 });
  const ref = fftConvRefByFft(u.data, k.data, D.data, b, L, c, Lk);
  forEachIsa((isa) => {
    const { y } = ops.fftConvSync({ u, k, D });
    const err = relError(y.data as Float32Array, ref);
    t.true(err <= 1e-5, `${isa}: relative error ${err}`);
  });
});

test('fftConv at L = 65536 with a short kernel: both paths match the direct float64 sum', (t) => {
  const [b, L, c, Lk] = [1, 65536, 2, 64];
  const u = Tensor.randn([b, L, c], { seed: 21 });
  const k = Tensor.randn([c, Lk], { seed: 22, std: 0.125 });
  const ref = fftConvRef(u.data, k.data, undefined, b, L, c, Lk);
  forEachIsa((isa) => {
    for (const method of ['fft', 'direct'] as const) {
      const err = relError(ops.fftConvSync({ u, k, method }).y.data as Float32Array, ref);
      t.true(err <= 1e-5, `${isa} ${method}: relative error ${err}`);
    }
  });
});

test('auto picks the direct sum for short sequences or kernels and the FFT for long ones', (t) => {
  // Each path has its own rounding, so bitwise equality shows which one ran.
  const pick = (b: number, L: number, c: number, Lk: number) => {
    const u = Tensor.randn([b, L, c], { seed: L });
    const k = Tensor.randn([c, Lk], { seed: Lk });
    const run = (method: 'auto' | 'fft' | 'direct') => ops.fftConvSync({ u, k, method }).y.data as Float32Array;
    const auto = run('auto');
    const fft = run('fft');
    const direct = run('direct');
    t.false(identical(fft, direct), `L=${L} Lk=${Lk}: the two paths round differently`);
    return identical(auto, fft) ? 'fft' : identical(auto, direct) ? 'direct' : 'neither';
  };
  t.is(pick(1, 40, 16, 40), 'direct');
  t.is(pick(2, 8192, 16, 8), 'direct');
  t.is(pick(1, 4097, 16, 4097), 'fft');
  t.is(pick(3, 2000, 16, 1500), 'fft');
});

test('fftConv gives the same result on one thread and on all, with few and with many channel blocks', (t) => {
  // Few channel blocks and several batch rows take the path that spreads batch
  // rows over threads with shared kernel spectra; many blocks, one task per block.
  const threads = getNumThreads();
  try {
    for (const [b, L, c, Lk] of [[5, 700, 3, 500], [2, 700, 40, 700]] as [number, number, number, number][]) {
      const u = Tensor.randn([b, L, c], { seed: 31 });
      const k = Tensor.randn([c, Lk], { seed: 32, std: 0.05 });
      const ref = fftConvRef(u.data, k.data, undefined, b, L, c, Lk);
      setNumThreads(1);
      const one = ops.fftConvSync({ u, k, method: 'fft' }).y.data as Float32Array;
      setNumThreads(Math.max(2, threads));
      const many = ops.fftConvSync({ u, k, method: 'fft' }).y.data as Float32Array;
      t.true(relError(one, ref) <= 1e-5 && relError(many, ref) <= 1e-5, `b=${b} c=${c}`);
      t.true(identical(many, one), `b=${b} c=${c}: each channel's arithmetic does not depend on the thread count`);
    }
  } finally {
    setNumThreads(threads);
  }
});

// Serial: a concurrent test switching the ISA or thread count while this call is in flight would change its rounding.
test.serial('fftConv async form gives the sync result, and out: is written in place', async (t) => {
  const u = Tensor.randn([2, 900, 9], { seed: 41 });
  const k = Tensor.randn([9, 800], { seed: 42, std: 0.05 });
  const D = Tensor.randn([9], { seed: 43 });
  const sync = ops.fftConvSync({ u, k, D }).y;
  const pending = ops.fftConv({ u, k, D });
  t.true(pending instanceof Promise);
  const asyncY = (await pending).y;
  t.true(identical(asyncY.data as Float32Array, sync.data as Float32Array));
  const y = Tensor.zeros([2, 900, 9]);
  t.is((await ops.fftConv({ u, k, D, out: { y } })).y, y);
  t.true(identical(y.data as Float32Array, sync.data as Float32Array));
});

test('fftConv leaves its inputs unchanged', (t) => {
  const u = Tensor.randn([2, 300, 5], { seed: 51 });
  const k = Tensor.randn([5, 300], { seed: 52 });
  const D = Tensor.randn([5], { seed: 53 });
  const before = [u, k, D].map(snapshot);
  forEachIsa(() => {
    for (const method of METHODS) ops.fftConvSync({ u, k, D, method });
  });
  [u, k, D].forEach((x, i) => t.true(sameBytes(x, before[i]!), `input ${['u', 'k', 'D'][i]} was modified`));
});

test('fftConv rejects bad input with errors naming the argument', (t) => {
  const u = Tensor.randn([2, 10, 3], { seed: 1 });
  const k = Tensor.randn([3, 4], { seed: 2 });
  const before = [u, k].map(snapshot);
  t.throws(() => ops.fftConvSync({ u, k: Tensor.zeros([3, 11]) }), { instanceOf: RangeError, message: /fftConv: k's length Lk must be ≤ L=10 \(u \[2, 10, 3\]\), got k \[3, 11\]/ });
  t.throws(() => ops.fftConvSync({ u, k: Tensor.zeros([4, 4]) }), { instanceOf: RangeError, message: /fftConv: k must have shape \[c=3, Lk\] to match u \[2, 10, 3\], got \[4, 4\]/ });
  t.throws(() => ops.fftConvSync({ u: Tensor.zeros([10, 3]), k }), { instanceOf: RangeError, message: /fftConv: u must have rank 3 \(\[b, L, c\]\), got shape \[10, 3\]/ });
  t.throws(() => ops.fftConvSync({ u, k: Tensor.zeros([3, 4, 1]) }), { instanceOf: RangeError, message: /fftConv: k must have rank 2 \(\[c, Lk\]\)/ });
  t.throws(() => ops.fftConvSync({ u, k, D: Tensor.zeros([4]) }), { instanceOf: RangeError, message: /fftConv: D must have shape \[3\] \(\[c\]\), got \[4\]/ });
  t.throws(() => ops.fftConvSync({ u: Tensor.zeros([2, 0, 3]), k: Tensor.zeros([3, 1]) }), { instanceOf: RangeError, message: /fftConv: u has an empty dimension 1/ });
  t.throws(() => ops.fftConvSync({ u, k: Tensor.zeros([3, 0]) }), { instanceOf: RangeError, message: /fftConv: k has an empty dimension 1/ });
  t.throws(() => ops.fftConvSync({ u: u.toBFloat16(), k }), { instanceOf: TypeError, message: /fftConv: u must be float32, got bfloat16/ });
  t.throws(() => ops.fftConvSync({ u, k: new Tensor(new Int32Array(12), [3, 4]) }), { instanceOf: TypeError, message: /fftConv: k must be float32, got int32/ });
  t.throws(() => ops.fftConvSync({ u, k, D: Tensor.zeros([3], 'int32') }), { instanceOf: TypeError, message: /fftConv: D must be float32, got int32/ });
  t.throws(() => ops.fftConvSync({ u: new Float32Array(60) as never, k }), { instanceOf: TypeError, message: /fftConv: u must be a Tensor, got a Float32Array/ });
  t.throws(() => ops.fftConvSync({ u, k: [1, 2, 3] as never }), { instanceOf: TypeError, message: /fftConv: k must be a Tensor, got an Array of length 3/ });
  t.throws(() => ops.fftConvSync({ u, k, method: 'fast' as never }), { instanceOf: RangeError, message: /fftConv: method must be one of 'auto', 'fft', 'direct', got the string "fast"/ });
  t.throws(() => ops.fftConvSync({ u, k, kernel: k } as never), { instanceOf: TypeError, message: /fftConv: unknown argument 'kernel'/ });
  t.throws(() => ops.fftConvSync({ u } as never), { instanceOf: TypeError, message: /fftConv: k must be a Tensor, got undefined/ });
  t.throws(() => ops.fftConvSync({ u, k, out: { y: Tensor.zeros([2, 10, 4]) } }), { instanceOf: RangeError, message: /fftConv: out\.y must have shape \[2, 10, 3\]/ });
  [u, k].forEach((x, i) => t.true(sameBytes(x, before[i]!), `input ${i} was modified`));
});

test('fftConv async form rejects bad input', async (t) => {
  await t.throwsAsync(ops.fftConv({ u: Tensor.zeros([1, 4, 2]), k: Tensor.zeros([2, 5]) }), { instanceOf: RangeError, message: /Lk must be ≤ L=4/ });
});

test('the native fftConv re-checks what memory safety depends on', async (t) => {
  const { native } = await import('../lib/native.js');
  const u = Tensor.randn([1, 8, 2], { seed: 1 });
  const k = Tensor.randn([2, 3], { seed: 2 });
  const y = Tensor.zeros([1, 8, 2]);
  t.throws(() => native.runSync('fftConv', { u, k: Tensor.zeros([2, 9]), y }, {}), { instanceOf: RangeError, message: /fftConv: k's length Lk must be in \[1, L=8\], got 9/ });
  t.throws(() => native.runSync('fftConv', { u, k: Tensor.zeros([3, 3]), y }, {}), { instanceOf: RangeError, message: /fftConv: k must have shape \[c=2, Lk\]/ });
  t.throws(() => native.runSync('fftConv', { u, k, y: Tensor.zeros([1, 7, 2]) }, {}), { instanceOf: RangeError, message: /fftConv: y must have shape/ });
  t.throws(() => native.runSync('fftConv', { u, k, y, D: Tensor.zeros([3]) }, {}), { instanceOf: RangeError, message: /fftConv: D must have shape/ });
  t.throws(() => native.runSync('fftConv', { u: Tensor.zeros([8, 2]), k, y }, {}), { instanceOf: RangeError, message: /fftConv: u must have rank 3/ });
  t.throws(() => native.runSync('fftConv', { u, k, y }, { method: 'fast' }), { instanceOf: RangeError, message: /fftConv: method must be 'auto', 'fft' or 'direct'/ });
  t.throws(() => native.runSync('fftConv', { u, y }, {}), { instanceOf: TypeError, message: /missing tensor argument 'k'/ });
});
