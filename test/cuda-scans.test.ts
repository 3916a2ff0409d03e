// diagonalScan and blockScan on the CUDA device (native/cuda/diagonal_scan.cu, block_scan.cu)
// against the CPU ops and the float64 references. Skipped, with the reason printed, where no
// CUDA device is available (under the emulator build, CROSSROAD_BUILD=emu, they run for real).
//
// Which device schedule runs depends on (batch · channels) against the threads the device
// holds: few sequences with L ≥ 128 take the time-chunked path (reduce, warp carry scan,
// rescan), many take one pass. The sizes below reach both: c = 1, 3 or 16 with L ≥ 1000 is
// chunked on any device, c = 1000 with short L is one pass.

import test from 'ava';
import { configure, ops, Tensor } from '../lib/index.js';
import { native } from '../lib/native.js';
import { cudaOpNames } from '../lib/cuda.js';
import { diagonalScanRef } from './reference/diagonal_scan.js';
import { blockScanRef } from './reference/block_scan.js';
import { cudaTests, relError } from './helpers.js';
import { diagonalScanInputs } from './inputs.js';

const { cuda, gpu } = cudaTests('cuda-scans.test');

// Device outputs start as NaN: an element a kernel forgets to write fails the comparison.
configure({ poisonOutputs: true });

test('diagonalScan and blockScan are CUDA ops exactly when the build has CUDA', (t) => {
  const names = cudaOpNames();
  for (const op of ['diagonalScan', 'blockScan']) t.is(names.has(op), cuda.built, op);
});

async function host(x: Tensor): Promise<Float32Array> {
  return (await x.toHost()).data as Float32Array;
}

async function onDevice<T extends Record<string, Tensor | undefined>>(tensors: T): Promise<T> {
  const out: Record<string, Tensor | undefined> = {};
  for (const [k, v] of Object.entries(tensors)) out[k] = v === undefined ? undefined : await v.toDevice('cuda');
  return out as T;
}

/** Steps [t0, t1) of a host tensor [b, L, ...], copied. */
function timeSlice(x: Tensor, t0: number, t1: number): Tensor {
  const [batch, L, ...rest] = x.shape as number[];
  const row = rest.reduce((p, d) => p * d, 1);
  const out = new Float32Array(batch! * (t1 - t0) * row);
  const src = x.data as Float32Array;
  for (let bi = 0; bi < batch!; bi++) out.set(src.subarray((bi * L! + t0) * row, (bi * L! + t1) * row), bi * (t1 - t0) * row);
  return new Tensor(out, [batch!, t1 - t0, ...rest]);
}

function sameBits(x: Float32Array, y: Float32Array): boolean {
  if (x.length !== y.length) return false;
  const a = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const b = new Uint32Array(y.buffer, y.byteOffset, y.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---- diagonalScan ------------------------------------------------------------------------


/** Runs diagonalScan on the device and checks it against the CPU op and the float64 reference. */
async function checkDiagonal(t: import('ava').ExecutionContext, label: string, a: Tensor, b: Tensor, complex: boolean, state: Tensor | undefined, bound = 1e-5) {
  const [batch, L, c] = a.shape as [number, number, number];
  const ref = diagonalScanRef(a.data, b.data, [batch, L, c], complex, state?.data);
  const cpu = ops.diagonalScanSync({ a, b, initialState: state, complex });
  const dev = await onDevice({ a, b, state });
  const got = ops.diagonalScanSync({ a: dev.a, b: dev.b, initialState: dev.state, complex });
  t.is(got.h.device, 'cuda');
  const h = await host(got.h);
  const last = await host(got.lastState);
  const eh = relError(h, ref.h);
  const es = relError(last, ref.lastState);
  const ec = relError(h, cpu.h.data as Float32Array);
  t.true(eh <= bound && es <= bound && ec <= bound, `${label}: h vs reference ${eh}, lastState ${es}, h vs CPU op ${ec}`);
}

gpu('diagonalScan on the device matches the CPU op and the reference (real/complex, L 1…4097, c 1…1000, batch 1–2, with and without a state)', async (t) => {
  const shapes: [number, number, number][] = [
    [1, 1, 1], [2, 7, 3], [1, 33, 33], [2, 1000, 3], [1, 4097, 1], [2, 33, 1000], [1, 1000, 33], [2, 4097, 3], [1, 7, 1000],
  ];
  for (const complex of [false, true]) {
    for (const [batch, L, c] of shapes) {
      const { a, b, state } = diagonalScanInputs(batch, L, c, complex, L + c);
      for (const initial of [undefined, state]) {
        await checkDiagonal(t, `b=${batch} L=${L} c=${c} complex=${complex} state=${initial !== undefined}`, a, b, complex, initial);
      }
    }
  }
});

gpu('diagonalScan on the device: long L with few channels (the time-chunked path), real and complex', async (t) => {
  for (const complex of [false, true]) {
    const { a, b, state } = diagonalScanInputs(1, 65536, 16, complex, 7, 0.9, 0.9999);
    await checkDiagonal(t, `L=65536 c=16 complex=${complex}`, a, b, complex, state, 1e-4);
  }
});

gpu('diagonalScan on the device: decays near 0 (products underflow) and near 1, on both schedules', async (t) => {
  const regimes: [string, number, number][] = [
    ['|a| ≤ 1e-20', 0, 1e-20],
    ['|a| in [1e-3, 1e-2]', 1e-3, 1e-2],
    ['|a| in [1 − 1e-4, 1]', 1 - 1e-4, 1],
  ];
  for (const [name, low, high] of regimes) {
    for (const complex of [false, true]) {
      for (const [batch, L, c] of [[2, 300, 33], [1, 8192, 5]] as [number, number, number][]) {
        const { a, b, state } = diagonalScanInputs(batch, L, c, complex, 3, low, high);
        // |a| up to 1 keeps everything: float32 rounding grows like a random walk over L steps.
        await checkDiagonal(t, `${name} L=${L} c=${c} complex=${complex}`, a, b, complex, state, high === 1 ? 1e-4 : 1e-5);
      }
    }
  }
  // a = 0 forgets everything: h = b bit for bit; a = 1, b = 1 counts exactly through every chunk carry.
  const b = Tensor.randn([1, 5000, 3], { seed: 9 });
  const dev = await onDevice({ a: Tensor.zeros([1, 5000, 3]), b, s: Tensor.randn([1, 3], { seed: 1 }) });
  t.true(sameBits(await host(ops.diagonalScanSync({ a: dev.a, b: dev.b, initialState: dev.s }).h), b.data as Float32Array), 'a = 0');
  const ones = await new Tensor(new Float32Array(9000).fill(1), [1, 9000, 1]).toDevice('cuda');
  const count = ops.diagonalScanSync({ a: ones, b: ones, initialState: await new Tensor(Float32Array.of(5), [1, 1]).toDevice('cuda') });
  t.true(sameBits(await host(count.h), Float32Array.from({ length: 9000 }, (_, i) => 6 + i)), 'a = 1 counts');
  t.true(sameBits(await host(count.lastState), Float32Array.of(9005)), 'a = 1 last state');
});

gpu('diagonalScan on the device: two calls chained through lastState equal one call', async (t) => {
  for (const complex of [false, true]) {
    for (const [L, c, cut] of [[2500, 3, 1000], [300, 1000, 7], [5000, 1, 4999]] as [number, number, number][]) {
      const { a, b, state } = diagonalScanInputs(2, L, c, complex, 11);
      const dev = await onDevice({ a, b, state, a1: timeSlice(a, 0, cut), b1: timeSlice(b, 0, cut), a2: timeSlice(a, cut, L), b2: timeSlice(b, cut, L) });
      const whole = ops.diagonalScanSync({ a: dev.a, b: dev.b, initialState: dev.state, complex });
      const first = ops.diagonalScanSync({ a: dev.a1, b: dev.b1, initialState: dev.state, complex });
      const second = ops.diagonalScanSync({ a: dev.a2, b: dev.b2, initialState: first.lastState, complex });
      const wholeH = await whole.h.toHost();
      const label = `L=${L} c=${c} cut=${cut} complex=${complex}`;
      t.true(relError(await host(first.h), timeSlice(wholeH, 0, cut).data as Float32Array) <= 1e-5, `${label}: first part`);
      t.true(relError(await host(second.h), timeSlice(wholeH, cut, L).data as Float32Array) <= 1e-5, `${label}: second part`);
      t.true(relError(await host(second.lastState), await host(whole.lastState)) <= 1e-5, `${label}: lastState`);
    }
  }
});

gpu('diagonalScan on the device: sync and async agree; inputs are left unchanged; complex views at an odd float offset', async (t) => {
  for (const complex of [false, true]) {
    const { a, b, state } = diagonalScanInputs(2, 3000, 5, complex, 21);
    const dev = await onDevice({ a, b, state });
    const sync = ops.diagonalScanSync({ a: dev.a, b: dev.b, initialState: dev.state, complex });
    const pending = ops.diagonalScan({ a: dev.a, b: dev.b, initialState: dev.state, complex });
    t.true(pending instanceof Promise);
    const asyncResult = await pending;
    t.true(sameBits(await host(asyncResult.h), await host(sync.h)), `async h, complex=${complex}`);
    t.true(sameBits(await host(asyncResult.lastState), await host(sync.lastState)), `async lastState, complex=${complex}`);
    for (const [name, x] of [['a', a], ['b', b], ['state', state]] as const) {
      t.true(sameBits(await host(dev[name]), x.data as Float32Array), `${name} modified, complex=${complex}`);
    }
  }
  // A complex tensor 4 bytes past an 8-byte boundary takes the two-float loads.
  const { a, b, state } = diagonalScanInputs(1, 700, 7, true, 31);
  const shift = async (x: Tensor) => {
    const flat = new Float32Array(x.size + 1);
    flat.set(x.data as Float32Array, 1);
    return (await new Tensor(flat, [x.size + 1]).toDevice('cuda')).slice(1).reshape(x.shape as number[]);
  };
  const da = await shift(a), db = await shift(b), ds = await shift(state);
  t.is(da.deviceOffset! % 8, 4);
  const expected = ops.diagonalScanSync({ a, b, initialState: state, complex: true });
  const got = ops.diagonalScanSync({ a: da, b: db, initialState: ds, complex: true });
  t.true(relError(await host(got.h), expected.h.data as Float32Array) <= 1e-5, 'unaligned complex h');
  t.true(relError(await host(got.lastState), expected.lastState.data as Float32Array) <= 1e-5, 'unaligned complex lastState');
});

gpu('diagonalScan on the device rejects bad arguments with the CPU op\'s errors', async (t) => {
  const a = await Tensor.randn([2, 5, 3], { seed: 1 }).toDevice('cuda');
  const b = await Tensor.randn([2, 5, 3], { seed: 2 }).toDevice('cuda');
  const h = Tensor.zeros([2, 5, 3], 'float32', { device: 'cuda' });
  const lastState = Tensor.zeros([2, 3], 'float32', { device: 'cuda' });
  const zeros = (shape: number[]) => Tensor.zeros(shape, 'float32', { device: 'cuda' });
  t.throws(() => ops.diagonalScanSync({ a, b: zeros([2, 5, 4]) }), { instanceOf: RangeError, message: /b must have shape \[2, 5, 3\]/ });
  t.throws(() => ops.diagonalScanSync({ a, b, complex: true }), { instanceOf: RangeError, message: /a must have shape \[b, L, c, 2\] when complex is true/ });
  t.throws(() => ops.diagonalScanSync({ a, b, initialState: zeros([2, 4]) }), { instanceOf: RangeError, message: /initialState must have shape \[2, 3\]/ });
  t.throws(() => ops.diagonalScanSync({ a, b: Tensor.zeros([2, 5, 3]) }), { instanceOf: TypeError, message: /a is on cuda but b is on cpu/ });
  await t.throwsAsync(ops.diagonalScan({ a, b: zeros([2, 6, 3]) }), { instanceOf: RangeError, message: /b must have shape \[2, 5, 3\]/ });
  // The native checks, reached directly with device tensors.
  t.throws(() => native.runSync('diagonalScan', { a, b: zeros([2, 4, 3]), h, lastState }, {}), { instanceOf: RangeError, message: /diagonalScan: b must have shape \[2, 5, 3\], got \[2, 4, 3\]/ });
  t.throws(() => native.runSync('diagonalScan', { a, b, h: zeros([2, 5]), lastState }, {}), { instanceOf: RangeError, message: /h must have shape/ });
  t.throws(() => native.runSync('diagonalScan', { a, b, h, lastState: zeros([3, 2]) }, {}), { instanceOf: RangeError, message: /lastState must have shape \[2, 3\]/ });
  t.throws(() => native.runSync('diagonalScan', { a, b, h, lastState, initialState: zeros([2]) }, {}), { instanceOf: RangeError, message: /initialState must have shape \[2, 3\]/ });
  t.throws(() => native.runSync('diagonalScan', { a, b, h, lastState }, { complex: true }), { instanceOf: RangeError, message: /a must have rank 4/ });
  t.throws(() => native.runSync('diagonalScan', { a: zeros([2, 0, 3]), b: zeros([2, 0, 3]), h: zeros([2, 0, 3]), lastState }, {}), { instanceOf: RangeError, message: /a must have no empty dimension/ });
  t.throws(() => native.runSync('diagonalScan', { a, b: Tensor.zeros([2, 5, 3], 'bfloat16', { device: 'cuda' }), h, lastState }, {}), { instanceOf: TypeError, message: /b must be float32, got bfloat16/ });
});

// ---- blockScan ---------------------------------------------------------------------------

// Stable random blocks (as test/block-scan.test.ts): Frobenius norm `radius`, so the spectral radius is below it.
function stableBlocks(c: number, n: number, seed: number, radius = 0.97): Tensor {
  const a = Tensor.randn([c, n, n], { seed, std: 1 / Math.sqrt(n) });
  const d = a.data as Float32Array;
  for (let k = 0; k < c; k++) {
    let norm = 0;
    for (let i = 0; i < n * n; i++) norm += d[k * n * n + i]! ** 2;
    const s = radius / Math.sqrt(norm);
    for (let i = 0; i < n * n; i++) d[k * n * n + i]! *= s;
  }
  return a;
}

async function checkBlock(t: import('ava').ExecutionContext, label: string, a: Tensor, b: Tensor, state: Tensor | undefined, bound = 1e-5) {
  const [batch, L, C, n] = b.shape as [number, number, number, number];
  const ref = blockScanRef(a.data, b.data, state?.data, batch, L, C, n);
  const cpu = ops.blockScanSync({ a, b, initialState: state });
  const dev = await onDevice({ a, b, state });
  const got = ops.blockScanSync({ a: dev.a, b: dev.b, initialState: dev.state });
  t.is(got.h.device, 'cuda');
  const h = await host(got.h);
  const last = await host(got.lastState);
  const eh = relError(h, ref.h);
  const es = relError(last, ref.last);
  const ec = relError(h, cpu.h.data as Float32Array);
  t.true(eh <= bound && es <= bound && ec <= bound, `${label}: h vs reference ${eh}, lastState ${es}, h vs CPU op ${ec}`);
}

gpu('blockScan on the device matches the CPU op and the reference (n 1…256, L 1…4097, c 1…1000, with and without a state)', async (t) => {
  const shapes: [number, number, number, number][] = [
    // batch, L, c, n
    [1, 1, 1, 2], [2, 7, 3, 2], [1, 33, 33, 2], [2, 1000, 3, 2], [1, 4097, 1, 2], [2, 33, 1000, 2], [1, 1000, 33, 2],
    [1, 1, 1, 1], [2, 1000, 3, 1], [1, 300, 5, 3], [2, 1000, 4, 4], [1, 33, 1000, 4],
    [1, 33, 5, 5], [2, 20, 3, 16], [1, 20, 2, 33], [2, 7, 3, 64],
    [1, 9, 2, 111], // Aᵀ no longer fits in 48 KB of shared memory: read from global memory
    [1, 5, 1, 256],
  ];
  for (const [batch, L, c, n] of shapes) {
    const a = stableBlocks(c, n, L + n);
    const b = Tensor.randn([batch, L, c, n], { seed: c + n });
    const state = Tensor.randn([batch, c, n], { seed: n });
    for (const initial of [undefined, state]) {
      await checkBlock(t, `b=${batch} L=${L} c=${c} n=${n} state=${initial !== undefined}`, a, b, initial);
    }
  }
});

gpu('blockScan on the device: long L with few channels (the time-chunked path); spectral radius near 1 and near 0', async (t) => {
  for (const [L, c, n, radius, bound] of [
    [65536, 16, 2, 0.999, 1e-4], [20000, 2, 2, 0.9999, 1e-4], [8192, 3, 4, 0.999, 1e-4], [8192, 5, 3, 1e-3, 1e-5], [5000, 1, 1, 1e-30, 1e-5],
  ] as [number, number, number, number, number][]) {
    const a = stableBlocks(c, n, 5, radius);
    const b = Tensor.randn([1, L, c, n], { seed: 6 });
    const state = Tensor.randn([1, c, n], { seed: 7 });
    await checkBlock(t, `L=${L} c=${c} n=${n} radius=${radius}`, a, b, state, bound);
  }
  // A rotation by a quarter turn (LinOSS-like oscillator, |λ| = 1): exact in float32 through every chunk carry.
  const L = 9001;
  const rot = new Tensor(Float32Array.of(0, -1, 1, 0), [1, 2, 2]);
  const b = new Tensor(new Float32Array(2 * L).fill(0), [1, L, 1, 2]);
  const h0 = new Tensor(Float32Array.of(3, 5), [1, 1, 2]);
  const dev = await onDevice({ rot, b, h0 });
  const got = ops.blockScanSync({ a: dev.rot, b: dev.b, initialState: dev.h0 });
  const turns = [[-5, 3], [-3, -5], [5, -3], [3, 5]];
  t.true(sameBits(await host(got.h), Float32Array.from({ length: 2 * L }, (_, i) => turns[Math.floor(i / 2) % 4]![i % 2]!)), 'rotation');
});

gpu('blockScan on the device: two calls chained through lastState equal one call', async (t) => {
  for (const [L, c, n, cut] of [[5000, 2, 2, 1234], [300, 500, 2, 150], [60, 3, 7, 17]] as [number, number, number, number][]) {
    const hostB = Tensor.randn([2, L, c, n], { seed: 2 });
    const dev = await onDevice({ a: stableBlocks(c, n, 1), b: hostB, b1: timeSlice(hostB, 0, cut), b2: timeSlice(hostB, cut, L) });
    const whole = ops.blockScanSync({ a: dev.a, b: dev.b });
    const first = ops.blockScanSync({ a: dev.a, b: dev.b1 });
    const second = ops.blockScanSync({ a: dev.a, b: dev.b2, initialState: first.lastState });
    const label = `L=${L} c=${c} n=${n} cut=${cut}`;
    t.true(relError(await host(second.h), timeSlice(await whole.h.toHost(), cut, L).data as Float32Array) <= 1e-5, `${label}: h`);
    t.true(relError(await host(second.lastState), await host(whole.lastState)) <= 1e-5, `${label}: lastState`);
  }
});

gpu('blockScan on the device: sync and async agree; inputs are left unchanged; bad arguments', async (t) => {
  for (const n of [2, 6]) {
    const a = stableBlocks(3, n, 4);
    const b = Tensor.randn([2, 3000, 3, n], { seed: 5 });
    const state = Tensor.randn([2, 3, n], { seed: 6 });
    const dev = await onDevice({ a, b, state });
    const sync = ops.blockScanSync({ a: dev.a, b: dev.b, initialState: dev.state });
    const asyncResult = await ops.blockScan({ a: dev.a, b: dev.b, initialState: dev.state });
    t.true(sameBits(await host(asyncResult.h), await host(sync.h)), `async h n=${n}`);
    t.true(sameBits(await host(asyncResult.lastState), await host(sync.lastState)), `async lastState n=${n}`);
    for (const [name, x] of [['a', a], ['b', b], ['state', state]] as const) {
      t.true(sameBits(await host(dev[name]), x.data as Float32Array), `${name} modified, n=${n}`);
    }
  }
  const zeros = (shape: number[]) => Tensor.zeros(shape, 'float32', { device: 'cuda' });
  const a = zeros([3, 2, 2]);
  t.throws(() => ops.blockScanSync({ a, b: zeros([1, 5, 3, 3]) }), { instanceOf: RangeError, message: /b must have shape \[1, 5, 3, 2\]/ });
  t.throws(() => ops.blockScanSync({ a: zeros([3, 2, 3]), b: zeros([1, 5, 3, 2]) }), { instanceOf: RangeError, message: /a must have shape \[3, 2, 2\]/ });
  t.throws(() => ops.blockScanSync({ a, b: zeros([1, 5, 3, 2]), initialState: zeros([1, 3]) }), { instanceOf: RangeError, message: /initialState must have shape \[1, 3, 2\]/ });
  t.throws(() => ops.blockScanSync({ a, b: Tensor.zeros([1, 5, 3, 2]) }), { instanceOf: TypeError, message: /a is on cuda but b is on cpu/ });
  await t.throwsAsync(ops.blockScan({ a, b: zeros([1, 5, 3, 3]) }), { instanceOf: RangeError, message: /b must have shape/ });
  const b = zeros([1, 5, 3, 2]);
  const h = zeros([1, 5, 3, 2]);
  const lastState = zeros([1, 3, 2]);
  t.throws(() => native.runSync('blockScan', { a: zeros([3, 300, 300]), b: zeros([1, 1, 3, 300]), h: zeros([1, 1, 3, 300]), lastState: zeros([1, 3, 300]) }, {}), { instanceOf: RangeError, message: /1 ≤ n ≤ 256, got n=300/ });
  t.throws(() => native.runSync('blockScan', { a, b, h: zeros([1, 5, 3, 3]), lastState }, {}), { instanceOf: RangeError, message: /h must have shape \[1, 5, 3, 2\]/ });
  t.throws(() => native.runSync('blockScan', { a, b, h, lastState: zeros([1, 3]) }, {}), { instanceOf: RangeError, message: /lastState must have shape \[1, 3, 2\]/ });
  t.throws(() => native.runSync('blockScan', { a, b, h, lastState, initialState: zeros([2, 3, 2]) }, {}), { instanceOf: RangeError, message: /initialState must have shape \[1, 3, 2\]/ });
  t.throws(() => native.runSync('blockScan', { a: zeros([3, 2]), b, h, lastState }, {}), { instanceOf: RangeError, message: /a must have rank 3/ });
  // The native op takes L = 0 (TypeScript refuses it): the last state is the initial one, or zeros.
  const initialState = await Tensor.randn([1, 3, 2], { seed: 8 }).toDevice('cuda');
  const empty = zeros([1, 0, 3, 2]);
  native.runSync('blockScan', { a, b: empty, h: zeros([1, 0, 3, 2]), lastState, initialState }, {});
  t.true(sameBits(await host(lastState), await host(initialState)), 'L = 0 with a state');
  native.runSync('blockScan', { a, b: empty, h: zeros([1, 0, 3, 2]), lastState }, {});
  t.true(sameBits(await host(lastState), new Float32Array(6)), 'L = 0 without a state');
});
