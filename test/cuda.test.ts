// The CUDA backend: device tensors, placement dispatch and the device GEMM.
// Tests that need a GPU run only where info().cuda.available; elsewhere they
// are skipped and the reason is printed. What works without a GPU (device
// tensors refused clearly, .data of a device tensor, placement errors) is
// tested for real everywhere.

import test from 'ava';
import { info, ops, Tensor, OpBatch } from '../lib/index.js';
import { DeviceStorage } from '../lib/tensor.js';
import { native, type DeviceBuffer } from '../lib/native.js';
import { cudaMemory, cudaOpNames } from '../lib/cuda.js';
import { cudaTests, relError } from './helpers.js';

const { cuda, skipReason, gpu, noGpu } = cudaTests('cuda.test');

test('the reason CUDA tests are skipped is reported', (t) => {
  if (skipReason === null) {
    t.true(cuda.devices.length > 0);
    return;
  }
  t.false(cuda.available);
  t.true(typeof skipReason === 'string' && skipReason.length > 0);
});

// A device tensor over a buffer that native code never made: enough for
// everything that fails before a kernel (and native code rejects the buffer).
function fakeDeviceTensor(shape: number[], dtype: 'float32' | 'bfloat16' = 'float32'): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  const buffer: DeviceBuffer = { bytes: size * (dtype === 'float32' ? 4 : 2), device: 0 };
  return new Tensor(new DeviceStorage(buffer, 0, size), shape, dtype);
}

// ---- without a GPU ----------------------------------------------------------------------

noGpu('toDevice/toDeviceSync/zeros on cuda fail with an Error that says why', async (t) => {
  const x = Tensor.randn([3, 5], { seed: 1 });
  const e1 = await t.throwsAsync(x.toDevice('cuda'));
  t.is(e1.constructor, Error);
  t.true(e1.message.startsWith('Tensor.toDevice: CUDA is not available: '), e1.message);
  t.true(e1.message.includes(skipReason!), e1.message);
  t.throws(() => x.toDeviceSync('cuda'), { instanceOf: Error, message: /^Tensor.toDeviceSync: CUDA is not available: / });
  t.throws(() => Tensor.zeros([2, 2], 'float32', { device: 'cuda' }), { message: /^Tensor.zeros: CUDA is not available: / });
});

test('a device name other than cpu or cuda is a TypeError', async (t) => {
  const x = Tensor.randn([2], { seed: 1 });
  await t.throwsAsync(x.toDevice('gpu' as 'cuda'), { instanceOf: TypeError, message: /device must be 'cpu' or 'cuda', got "gpu"/ });
  t.throws(() => Tensor.zeros([2], 'float32', { device: 'tpu' as 'cuda' }), { instanceOf: TypeError });
});

test('a host tensor says it is on the cpu; toDevice(cpu) and toHost return it', async (t) => {
  const x = Tensor.randn([2, 3], { seed: 1 });
  t.is(x.device, 'cpu');
  t.is(x.deviceBuffer, undefined);
  t.is(await x.toHost(), x);
  t.is(x.toHostSync(), x);
  t.is(await x.toDevice('cpu'), x);
});

test('.data of a device tensor throws a TypeError naming the way out', (t) => {
  const d = fakeDeviceTensor([2, 3]);
  t.is(d.device, 'cuda');
  t.is(String(d), 'Tensor(float32, [2, 3], cuda)');
  const message = /this tensor lives on the cuda device; copy it to the host first with `await t.toHost\(\)` or `t.toHostSync\(\)`/;
  t.throws(() => d.data, { instanceOf: TypeError, message });
  t.throws(() => d.toArray(), { instanceOf: TypeError, message });
  t.throws(() => d.astype('bfloat16'), { instanceOf: TypeError, message });
  // Views stay on the device and share the buffer.
  const r = d.reshape([3, 2]);
  t.is(r.device, 'cuda');
  t.is(r.deviceBuffer, d.deviceBuffer);
  const s = d.slice(1);
  t.is(s.deviceOffset, 12);
  t.deepEqual(s.shape, [1, 3]);
  t.is(d.select(1, 2).deviceOffset, 20);
  t.throws(() => r.data, { instanceOf: TypeError });
});

test('mixing devices in one op is a TypeError naming both tensors', async (t) => {
  const a = fakeDeviceTensor([4, 3]);
  const b = Tensor.randn([3, 2], { seed: 1 });
  const message = 'matmul: a is on cuda but b is on cpu; move both with toDevice/toHost';
  t.throws(() => ops.matmulSync({ a, b }), { instanceOf: TypeError, message });
  await t.throwsAsync(ops.matmul({ a, b }), { instanceOf: TypeError, message });
  t.throws(() => ops.linearSync({ x: Tensor.randn([2, 3], { seed: 2 }), weight: fakeDeviceTensor([4, 3]) }), {
    instanceOf: TypeError,
    message: 'linear: x is on cpu but weight is on cuda; move both with toDevice/toHost',
  });
  t.throws(() => ops.matmulSync({ a: Tensor.randn([4, 3], { seed: 3 }), b, out: { y: fakeDeviceTensor([4, 2]) } }), {
    instanceOf: TypeError,
    message: 'matmul: a is on cpu but out.y is on cuda; move both with toDevice/toHost',
  });
  const batch = new OpBatch();
  t.throws(() => batch.ops.matmul({ a, b }), { instanceOf: TypeError, message });
});

test('an op without a CUDA implementation says so', (t) => {
  t.throws(() => ops.complexRnnSync({ x: fakeDeviceTensor([2, 4]) } as unknown as Parameters<typeof ops.complexRnnSync>[0]), {
    instanceOf: TypeError,
    message: /^complexRnn: has no CUDA implementation yet; move its tensors to the cpu with toHost\(\)/,
  });
});

test('the CUDA op table lists the GEMM, sequence and small ops exactly when the build has CUDA', (t) => {
  const names = cudaOpNames();
  if (!cuda.built) {
    t.is(names.size, 0);
    return;
  }
  for (const op of ['matmul', 'linear', 'bmm', 'attention', 'selectiveScan', 'causalConv1d']) t.true(names.has(op), op);
  const small = ['elementwise', 'rmsNorm', 'layerNorm', 'softmax', 'rope', 'embedding', 'expand', 'permute', 'concat', 'slice', 'moe'];
  for (const op of small) t.true(names.has(op), op);
});

test('native code never trusts a device buffer it did not make', (t) => {
  const a = fakeDeviceTensor([4, 3]);
  const b = fakeDeviceTensor([3, 2]);
  const y = fakeDeviceTensor([4, 2]);
  const message = cuda.built ? /matmul: a.deviceBuffer is not a DeviceBuffer/ : /matmul: a is a device tensor, but this build has no CUDA support/;
  t.throws(() => native.runSync('matmul', { a, b, y }, {}), { instanceOf: TypeError, message });
});

// ---- on a GPU ------------------------------------------------------------------------------

function bitsOf(x: Tensor): Buffer {
  return Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength);
}

function randomBits16(size: number, seed: number): Uint16Array {
  const out = new Uint16Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xffff;
  }
  return out;
}

gpu('round trip to the device and back is bit-exact (every dtype, sync and async, past the staging size)', async (t) => {
  const tensors: Tensor[] = [
    Tensor.randn([7, 13], { seed: 1 }),
    Tensor.randn([3_000_001], { seed: 2 }), // 12 MB: three staging chunks
    new Tensor(randomBits16(1001, 3), [1001], 'bfloat16'), // NaN and subnormal patterns included
    new Tensor(randomBits16(4_500_003, 4), [4_500_003], 'float16'),
    new Tensor(Int32Array.from({ length: 999 }, (_, i) => (i * 2654435761) | 0), [999], 'int32'),
    Tensor.zeros([0]),
  ];
  for (const x of tensors) {
    const d = await x.toDevice('cuda');
    t.is(d.device, 'cuda');
    t.is(d.dtype, x.dtype);
    t.deepEqual(d.shape, x.shape);
    // Buffer.equals, not deepEqual: ava's deep comparison takes seconds per megabyte.
    t.true(bitsOf(await d.toHost()).equals(bitsOf(x)), `${x} async`);
    const s = x.toDeviceSync('cuda');
    t.true(bitsOf(s.toHostSync()).equals(bitsOf(x)), `${x} sync`);
    t.true(bitsOf(d.clone().toHostSync()).equals(bitsOf(x)), `${x} clone`);
  }
});

gpu('device views (reshape, slice, select) read the right elements', (t) => {
  const x = Tensor.randn([5, 4, 3], { seed: 5 });
  const d = x.toDeviceSync('cuda');
  t.deepEqual(d.slice(2, 4).toHostSync().toArray(), x.slice(2, 4).toArray());
  t.deepEqual(d.select(3, 1).toHostSync().toArray(), x.select(3, 1).toArray());
  t.deepEqual(d.reshape([20, 3]).slice(7).toHostSync().toArray(), x.reshape([20, 3]).slice(7).toArray());
  const z = Tensor.zeros([3, 9], 'bfloat16', { device: 'cuda' });
  t.deepEqual(Array.from(z.toHostSync().data), new Array(27).fill(0));
});

// The GEMM on the device against the CPU op. float32 weights: the same sums in
// another order. bf16/f16 weights with M > 8 run on tensor cores, which round
// the activations to the weights' type: against the CPU op on those rounded
// activations the only difference is summation order (≤ 1e-5); against the
// unrounded float32 product the rounding itself shows (≤ 1e-2 for N(0,1)
// data: each product's relative error is ≤ 2^-9 for bf16, and they average
// down). M ≤ 8 (GEMV) widens the weights and keeps float32 activations.
function rounded(x: Tensor, dtype: 'bfloat16' | 'float16'): Tensor {
  return x.astype(dtype).astype('float32');
}

const gemmShapes: [number, number, number][] = [
  // [M, N, K]: GEMV (M ≤ 8), tails of every tile size, unaligned K and N.
  [1, 1, 1], [1, 4096, 4096], [1, 300, 5000], [3, 129, 77], [8, 1000, 1023], [8, 7, 3],
  [9, 16, 16], [17, 33, 65], [128, 128, 32], [130, 257, 129], [255, 100, 31], [300, 513, 1000], [1024, 768, 512],
];

for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
  gpu(`matmul and linear on the device match the CPU op (${dtype} weights, every shape class)`, async (t) => {
    let seed = 100;
    for (const [M, N, K] of gemmShapes) {
      for (const transB of [false, true]) {
        const a = Tensor.randn([M, K], { seed: seed++ });
        const b = Tensor.randn(transB ? [N, K] : [K, N], { seed: seed++, dtype });
        const tensorCores = dtype !== 'float32' && M > 8;
        const aUsed = tensorCores ? rounded(a, dtype) : a;
        const ref = ops.matmulSync({ a: aUsed, b, transB }).y;
        const y = (await ops.matmul({ a: await a.toDevice('cuda'), b: await b.toDevice('cuda'), transB })).y;
        t.is(y.device, 'cuda');
        const out = (await y.toHost()).data as Float32Array;
        const err = relError(out, ref.data as Float32Array);
        t.true(err <= 1e-5, `matmul ${dtype} M=${M} N=${N} K=${K} transB=${transB}: ${err}`);
        if (tensorCores) {
          const exact = relError(out, ops.matmulSync({ a, b, transB }).y.data as Float32Array);
          t.true(exact <= 1e-2, `matmul ${dtype} vs unrounded float32 M=${M} N=${N} K=${K}: ${exact}`);
        }
      }
      // linear: weight [out, in], with bias, leading dims folded into M.
      const x = Tensor.randn([1, M, K], { seed: seed++ });
      const weight = Tensor.randn([N, K], { seed: seed++, dtype, std: 0.1 });
      const bias = Tensor.randn([N], { seed: seed++ });
      const xUsed = dtype !== 'float32' && M > 8 ? rounded(x, dtype) : x;
      const ref = ops.linearSync({ x: xUsed, weight, bias }).y;
      const [xd, wd, bd] = [x, weight, bias].map((v) => v.toDeviceSync('cuda'));
      const y = ops.linearSync({ x: xd!, weight: wd!, bias: bd! }).y;
      t.deepEqual(y.shape, [1, M, N]);
      const err = relError(y.toHostSync().data as Float32Array, ref.data as Float32Array);
      t.true(err <= 1e-5, `linear ${dtype} M=${M} N=${N} K=${K}: ${err}`);
    }
  });
}

gpu('unaligned device views take the scalar load paths and still match', (t) => {
  // Offsets of one element break 16-byte alignment of A and B rows.
  for (const dtype of ['float32', 'bfloat16'] as const) {
    const M = 70, N = 90, K = 64;
    const aBig = Tensor.randn([M * K + 1], { seed: 7 });
    const bBig = Tensor.randn([N * K + 1], { seed: 8, dtype });
    const a = aBig.slice(1).reshape([M, K]);
    const b = bBig.slice(1).reshape([N, K]);
    const ad = aBig.toDeviceSync('cuda').slice(1).reshape([M, K]);
    const bd = bBig.toDeviceSync('cuda').slice(1).reshape([N, K]);
    for (const rows of [M, 5]) {
      const aRows = a.reshape([M, K]).slice(0, rows);
      const ref = ops.matmulSync({ a: dtype === 'float32' || rows <= 8 ? aRows : rounded(aRows, dtype), b, transB: true }).y;
      const y = ops.matmulSync({ a: ad.slice(0, rows), b: bd, transB: true }).y;
      const err = relError(y.toHostSync().data as Float32Array, ref.data as Float32Array);
      t.true(err <= 1e-5, `${dtype} rows=${rows}: ${err}`);
    }
  }
});

gpu('bmm and out: on the device', (t) => {
  const a = Tensor.randn([3, 20, 17], { seed: 9 });
  const b = Tensor.randn([3, 17, 11], { seed: 10 });
  const ref = ops.bmmSync({ a, b }).y;
  const out = Tensor.zeros([3, 20, 11], 'float32', { device: 'cuda' });
  const { y } = ops.bmmSync({ a: a.toDeviceSync('cuda'), b: b.toDeviceSync('cuda'), out: { y: out } });
  t.is(y, out);
  t.true(relError(y.toHostSync().data as Float32Array, ref.data as Float32Array) <= 1e-5);
});

gpu('native dispatch refuses a mix of host and device tensors too', (t) => {
  const a = Tensor.randn([4, 3], { seed: 1 }).toDeviceSync('cuda');
  const b = Tensor.randn([3, 2], { seed: 2 });
  const y = Tensor.zeros([4, 2], 'float32', { device: 'cuda' });
  t.throws(() => native.runSync('matmul', { a, b, y }, {}), {
    instanceOf: TypeError,
    message: /matmul: \w+ is on (cuda|cpu) but \w+ is on (cpu|cuda); move both with toDevice\/toHost/,
  });
});

gpu('async device ops keep the event loop free', async (t) => {
  // The emulator (info().cuda.emulated) runs kernels on the CPU: a 4096³ product would take minutes;
  // 512³ still takes long enough that issuing a call is a small part of it.
  const n = cuda.emulated ? 512 : 4096;
  const a = Tensor.randn([n, n], { seed: 1 }).toDeviceSync('cuda');
  const b = Tensor.randn([n, n], { seed: 2 }).toDeviceSync('cuda');
  const y = Tensor.zeros([n, n], 'float32', { device: 'cuda' });
  const t0 = performance.now();
  ops.matmulSync({ a, b, out: { y } });
  const syncMs = performance.now() - t0;
  let ticks = 0;
  const timer = setInterval(() => ticks++, 2);
  const start = performance.now();
  const runs = Math.max(2, Math.ceil(300 / Math.max(syncMs, 0.1)));
  let callMs = 0;
  for (let i = 0; i < runs; i++) {
    const c0 = performance.now();
    const pending = ops.matmul({ a, b, out: { y } });
    callMs += performance.now() - c0;
    await pending;
  }
  const elapsed = performance.now() - start;
  clearInterval(timer);
  t.true(callMs < elapsed * 0.2, `issuing took ${callMs.toFixed(1)} of ${elapsed.toFixed(0)} ms`);
  // Under the emulator the "device" is an executor thread competing with the event loop for the
  // same (possibly busy) CPU cores, so only a smaller share of the timer ticks is guaranteed.
  const share = cuda.emulated ? 0.1 : 0.3;
  t.true(ticks >= (elapsed / 2) * share, `${ticks} ticks in ${elapsed.toFixed(0)} ms of async device matmul`);
});

gpu('device memory goes back to the cache when tensors are collected', async (t) => {
  const gc = (globalThis as { gc?: () => void }).gc;
  t.truthy(gc, 'tests run with --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((r) => setImmediate(r));
  }
  const before = cudaMemory().inUse;
  (() => {
    for (let i = 0; i < 8; i++) Tensor.zeros([1 << 20], 'float32', { device: 'cuda' });
  })();
  t.true(cudaMemory().inUse >= before + 8 * 4 * (1 << 20));
  for (let i = 0; i < 5; i++) {
    gc!();
    await new Promise((r) => setImmediate(r));
  }
  t.true(cudaMemory().inUse <= before, `${cudaMemory().inUse} bytes in use, ${before} before`);
  t.true(cudaMemory().cached >= 8 * 4 * (1 << 20));
});

// ---- sequence kernels on the GPU, against the CPU ops ----------------------------------

async function onDevice<T extends Record<string, Tensor | undefined>>(tensors: T): Promise<T> {
  const out: Record<string, Tensor | undefined> = {};
  for (const [k, v] of Object.entries(tensors)) out[k] = v === undefined ? undefined : await v.toDevice('cuda');
  return out as T;
}

gpu('attention on the device matches the CPU op (causal, window, GQA, softcap, ragged rows, split-key decode)', async (t) => {
  const cases: [number, number, number, number, number, number, Record<string, unknown>][] = [
    // b, Tq, Tk, H, Hkv, D, options
    [1, 7, 7, 3, 3, 16, { causal: true }],
    [2, 65, 65, 4, 2, 64, { causal: true, window: 9 }],
    [1, 33, 33, 4, 1, 80, { causal: true, softcap: 20 }],
    [2, 5, 100, 2, 1, 64, { causal: true }],
    [1, 1, 4097, 8, 2, 128, { causal: true }],
    [2, 3, 3000, 4, 4, 64, { causal: false }],
    [1, 40, 30, 2, 2, 32, { causal: true }],
  ];
  for (const [b, Tq, Tk, H, Hkv, D, options] of cases) {
    const q = Tensor.randn([b, Tq, H, D], { seed: Tq + D });
    const k = Tensor.randn([b, Tk, Hkv, D], { seed: Tk + 1 });
    const v = Tensor.randn([b, Tk, Hkv, D], { seed: Tk + 2 });
    const expected = ops.attentionSync({ q, k, v, ...options }).o.data as Float32Array;
    const dev = await onDevice({ q, k, v });
    const { o } = await ops.attention({ q: dev.q!, k: dev.k!, v: dev.v!, ...options });
    const got = (await o.toHost()).data as Float32Array;
    const err = relError(got, expected);
    t.true(err <= 1e-5, `b=${b} Tq=${Tq} Tk=${Tk} H=${H}/${Hkv} D=${D} ${JSON.stringify(options)}: relative error ${err}`);
  }
  const q = Tensor.randn([2, 1, 2, 16], { seed: 5 });
  const k = Tensor.randn([2, 50, 2, 16], { seed: 6 });
  const v = Tensor.randn([2, 50, 2, 16], { seed: 7 });
  const kvLengths = Tensor.from([17, 50], [2], 'int32');
  const expected = ops.attentionSync({ q, k, v, kvLengths, causal: true }).o.data as Float32Array;
  const dev = await onDevice({ q, k, v, kvLengths });
  const got = (await (await ops.attention({ q: dev.q!, k: dev.k!, v: dev.v!, kvLengths: dev.kvLengths!, causal: true })).o.toHost()).data as Float32Array;
  t.true(relError(got, expected) <= 1e-5, 'ragged kvLengths');
});

gpu('selectiveScan on the device matches the CPU op (groups, z, D, softplus, states, n up to 256)', async (t) => {
  for (const [b, L, d, n, g] of [[1, 1, 7, 16, 1], [2, 33, 24, 16, 2], [1, 1000, 33, 1, 1], [1, 65, 8, 256, 4]] as const) {
    const args = {
      u: Tensor.randn([b, L, d], { seed: 1 }),
      delta: Tensor.randn([b, L, d], { seed: 2, std: 0.5 }),
      A: Tensor.rand([d, n], { seed: 3, low: -2, high: -0.1 }),
      B: Tensor.randn([b, L, g, n], { seed: 4 }),
      C: Tensor.randn([b, L, g, n], { seed: 5 }),
      D: Tensor.randn([d], { seed: 6 }),
      z: Tensor.randn([b, L, d], { seed: 7 }),
      deltaBias: Tensor.randn([d], { seed: 8, std: 0.1 }),
      initialState: Tensor.randn([b, d, n], { seed: 9 }),
    };
    const expected = ops.selectiveScanSync({ ...args, deltaSoftplus: true, returnLastState: true });
    const dev = await onDevice(args);
    const got = await ops.selectiveScan({ ...(dev as typeof args), deltaSoftplus: true, returnLastState: true });
    const ey = relError((await got.y.toHost()).data as Float32Array, expected.y.data as Float32Array);
    const es = relError((await got.lastState!.toHost()).data as Float32Array, expected.lastState!.data as Float32Array);
    t.true(ey <= 1e-5 && es <= 1e-5, `b=${b} L=${L} d=${d} n=${n} g=${g}: y ${ey}, state ${es}`);
  }
});

gpu('causalConv1d on the device matches the CPU op (widths 1…8, silu, states)', async (t) => {
  for (const [b, L, c, w] of [[1, 1, 7, 4], [2, 33, 100, 4], [1, 1000, 33, 1], [3, 7, 5, 8]] as const) {
    const x = Tensor.randn([b, L, c], { seed: 11 });
    const weight = Tensor.randn([c, w], { seed: 12 });
    const bias = Tensor.randn([c], { seed: 13 });
    const initialState = Tensor.randn([b, c, w - 1], { seed: 14 });
    const expected = ops.causalConv1dSync({ x, weight, bias, initialState, activation: 'silu', returnFinalState: true });
    const dev = await onDevice({ x, weight, bias, initialState });
    const got = await ops.causalConv1d({ x: dev.x!, weight: dev.weight!, bias: dev.bias!, initialState: dev.initialState!, activation: 'silu', returnFinalState: true });
    t.true(relError((await got.y.toHost()).data as Float32Array, expected.y.data as Float32Array) <= 1e-5, `b=${b} L=${L} c=${c} w=${w}: y`);
    if (w > 1) t.true(relError((await got.finalState!.toHost()).data as Float32Array, expected.finalState!.data as Float32Array) === 0, 'finalState');
  }
});

gpu('attention on the device: odd and large head dims, rows that see no key, ragged non-causal rows, window on the split path', async (t) => {
  const cases: [number, number, number, number, number, number, Record<string, unknown>, number[]?][] = [
    // b, Tq, Tk, H, Hkv, D, options, kvLengths
    [1, 9, 13, 2, 1, 7, { causal: true }],
    [1, 17, 17, 2, 2, 256, { causal: true, softcap: 30 }],
    [2, 3, 21, 3, 1, 160, { causal: false, scale: 0.3 }],
    [1, 20, 6, 2, 2, 32, { causal: true }],                       // rows 0…13 see no key: zeros
    [3, 2, 40, 2, 1, 16, { causal: false }, [0, 25, 40]],         // a row with no keys at all
    [2, 5, 33, 2, 2, 24, { causal: true, window: 4 }, [33, 3]],   // kvLength < Tq on one row
    [1, 1, 2500, 4, 2, 96, { causal: true, window: 700 }],        // split keys with a window
    [2, 4, 3000, 6, 3, 64, { causal: true, softcap: 15 }, [1, 2999]],
  ];
  for (const [b, Tq, Tk, H, Hkv, D, options, lengths] of cases) {
    const q = Tensor.randn([b, Tq, H, D], { seed: 3 * Tq + D });
    const k = Tensor.randn([b, Tk, Hkv, D], { seed: Tk + 11 });
    const v = Tensor.randn([b, Tk, Hkv, D], { seed: Tk + 12 });
    const kvLengths = lengths ? Tensor.from(lengths, [b], 'int32') : undefined;
    const expected = ops.attentionSync({ q, k, v, ...(kvLengths ? { kvLengths } : {}), ...options }).o.data as Float32Array;
    const dev = await onDevice({ q, k, v, kvLengths });
    const { o } = await ops.attention({ q: dev.q!, k: dev.k!, v: dev.v!, ...(dev.kvLengths ? { kvLengths: dev.kvLengths } : {}), ...options });
    const got = (await o.toHost()).data as Float32Array;
    const err = relError(got, expected);
    const label = `b=${b} Tq=${Tq} Tk=${Tk} H=${H}/${Hkv} D=${D} ${JSON.stringify(options)} kvLengths=${JSON.stringify(lengths)}`;
    t.true(err <= 1e-5, `${label}: relative error ${err}`);
    t.true(got.every(Number.isFinite), `${label}: non-finite output`);
  }
});

gpu('selectiveScan on the device: n of 1, 5, 48, chunk tails, groups straddling blocks, optional inputs left out', async (t) => {
  // b, L, d, n, groups, with the optional inputs
  for (const [b, L, d, n, g, full] of [
    [1, 130, 300, 1, 3, true], [2, 67, 20, 5, 4, true], [1, 200, 10, 48, 5, true], [1, 9, 6, 256, 3, true],
    [2, 65, 37, 16, 1, false], [1, 1, 129, 16, 1, false],
  ] as const) {
    const args = {
      u: Tensor.randn([b, L, d], { seed: 21 }),
      delta: Tensor.rand([b, L, d], { seed: 22, low: 0.001, high: 0.2 }),
      A: Tensor.rand([d, n], { seed: 23, low: -2, high: -0.1 }),
      B: Tensor.randn([b, L, g, n], { seed: 24 }),
      C: Tensor.randn([b, L, g, n], { seed: 25 }),
      ...(full
        ? {
            D: Tensor.randn([d], { seed: 26 }),
            z: Tensor.randn([b, L, d], { seed: 27 }),
            deltaBias: Tensor.randn([d], { seed: 28, std: 0.1 }),
            initialState: Tensor.randn([b, d, n], { seed: 29 }),
          }
        : {}),
    };
    const options = { deltaSoftplus: full, returnLastState: true };
    const expected = ops.selectiveScanSync({ ...args, ...options });
    const dev = await onDevice(args as Record<string, Tensor | undefined>);
    const got = await ops.selectiveScan({ ...(dev as typeof args), ...options });
    const ey = relError((await got.y.toHost()).data as Float32Array, expected.y.data as Float32Array);
    const es = relError((await got.lastState!.toHost()).data as Float32Array, expected.lastState!.data as Float32Array);
    t.true(ey <= 1e-5 && es <= 1e-5, `b=${b} L=${L} d=${d} n=${n} g=${g} full=${full}: y ${ey}, state ${es}`);
  }
});

gpu('causalConv1d on the device: wide kernels, runs longer than one thread run, no bias / state / activation', async (t) => {
  for (const [b, L, c, w, full] of [[2, 100, 130, 12, true], [1, 70, 3, 3, false], [2, 5, 9, 12, true], [1, 1, 1, 2, false]] as const) {
    const x = Tensor.randn([b, L, c], { seed: 31 });
    const weight = Tensor.randn([c, w], { seed: 32 });
    const extra = full ? { bias: Tensor.randn([c], { seed: 33 }), initialState: Tensor.randn([b, c, w - 1], { seed: 34 }) } : {};
    const options = full ? { activation: 'silu' as const, returnFinalState: true } : { returnFinalState: true };
    const expected = ops.causalConv1dSync({ x, weight, ...extra, ...options });
    const dev = await onDevice({ x, weight, ...extra } as Record<string, Tensor | undefined>);
    const got = await ops.causalConv1d({ ...(dev as { x: Tensor; weight: Tensor }), ...options });
    t.true(relError((await got.y.toHost()).data as Float32Array, expected.y.data as Float32Array) <= 1e-5, `b=${b} L=${L} c=${c} w=${w}: y`);
    t.true(relError((await got.finalState!.toHost()).data as Float32Array, expected.finalState!.data as Float32Array) === 0, `b=${b} L=${L} c=${c} w=${w}: finalState`);
  }
});
