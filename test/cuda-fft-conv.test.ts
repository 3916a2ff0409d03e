// fftConv and ssmKernel on the device (native/cuda/fft_conv.cu, ssm_kernel.cu) against the CPU
// ops and the float64 references: every path (in-block FFT rows, the four-step path for rows
// longer than 2^14 complex points, the direct sum, the automatic choice), sync and async, out:,
// bad input, inputs unchanged. Skipped, with the reason printed, where there is no device (or
// emulator build).

import test from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { cudaOpNames } from '../lib/cuda.js';
import { fftConvRef, fftConvRefByFft } from './reference/fft_conv.js';
import { ssmKernelRef, type Discretization } from './reference/ssm_kernel.js';
import { cudaTests, relError } from './helpers.js';
import { s4dLayer, type S4dLayer } from './inputs.js';

const { cuda, gpu } = cudaTests('cuda-fft-conv.test');

const dev = (t: Tensor): Tensor => t.toDeviceSync('cuda');
const host = (t: Tensor): Float32Array => t.toHostSync().data as Float32Array;

/** Bytes of a device tensor, to prove an op left it alone. */
function bytesOf(t: Tensor): Uint8Array {
  const h = t.toHostSync();
  return new Uint8Array(h.data.buffer, h.data.byteOffset, h.data.byteLength).slice();
}
function sameArray(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

test('the CUDA op table lists fftConv and ssmKernel exactly when the build has CUDA', (t) => {
  const names = cudaOpNames();
  for (const op of ['fftConv', 'ssmKernel']) t.is(names.has(op), cuda.built, op);
});

// (b, L, c, Lk, methods). FFT rows: L + Lk − 1 ≤ 2^15 fits one block (H ≤ 2^14); 65536 + 65536
// takes the four-step path (H = 2^16 = 2^8 × 2^8). 4097 + 4097 − 1 lands just past 2^13 (N = 2^14,
// H = 2^13); 4097 + 2049 − 1 likewise; 16384 + 3617 − 1 gives the largest in-block row (H = 2^14). Channels 1 / 3 / 33 cover partial
// 32-channel tiles of the transposes and of the direct kernel.
const CASES: [number, number, number, number, readonly ('fft' | 'direct' | 'auto')[]][] = [
  [1, 1, 1, 1, ['fft', 'direct', 'auto']],
  [2, 7, 3, 7, ['fft', 'direct', 'auto']],
  [1, 7, 33, 1, ['fft', 'direct', 'auto']],
  [2, 33, 33, 5, ['fft', 'direct', 'auto']],
  [1, 33, 3, 33, ['fft', 'direct', 'auto']],
  [2, 1000, 3, 1000, ['fft', 'direct', 'auto']],
  [1, 1000, 33, 100, ['fft', 'direct', 'auto']],
  [2, 1000, 1, 17, ['fft', 'auto']],
  [1, 4097, 3, 4097, ['fft', 'auto']],
  [2, 4097, 1, 2049, ['fft', 'direct']],
  [1, 4097, 33, 300, ['fft']],
  [1, 16384, 2, 3617, ['fft']],
];

for (const [b, L, c, Lk, methods] of CASES) {
  const withD = (b + L + c + Lk) % 2 === 1;
  gpu(`fftConv on the device b=${b} L=${L} c=${c} Lk=${Lk}${withD ? ' with D' : ''} (${methods.join(', ')}) matches the CPU op and the float64 sum`, async (t) => {
    const seed = b * 1009 + L * 31 + c * 7 + Lk;
    const u = Tensor.randn([b, L, c], { seed });
    const k = Tensor.randn([c, Lk], { seed: seed + 1, std: 1 / Math.sqrt(Lk) });
    const D = withD ? Tensor.randn([c], { seed: seed + 2 }) : undefined;
    const ref = fftConvRef(u.data, k.data, D?.data, b, L, c, Lk);
    const [ud, kd] = [dev(u), dev(k)];
    const Dd = D ? dev(D) : undefined;
    for (const [i, method] of methods.entries()) {
      const cpu = ops.fftConvSync({ u, k, D, method }).y.data as Float32Array;
      // Alternate the sync and async forms.
      const y = i % 2 === 0 ? ops.fftConvSync({ u: ud, k: kd, D: Dd, method }).y : (await ops.fftConv({ u: ud, k: kd, D: Dd, method })).y;
      t.is(y.device, 'cuda');
      t.deepEqual(y.shape, [b, L, c]);
      const got = host(y);
      const eRef = relError(got, ref);
      const eCpu = relError(got, cpu);
      t.true(eRef <= 1e-5 && eCpu <= 1e-5, `${method}: relative error ${eRef} vs float64, ${eCpu} vs the CPU op`);
    }
  });
}

gpu('fftConv on the device at L = Lk = 65536 (four-step path) matches a float64 FFT reference and the CPU op to 1e-5', async (t) => {
  const [b, L, c, Lk] = [1, 65536, 1, 65536];
  const u = Tensor.randn([b, L, c], { seed: 11 });
  const k = Tensor.randn([c, Lk], { seed: 12, std: 1 / Math.sqrt(Lk) });
  const D = Tensor.randn([c], { seed: 13 });
  const ref = fftConvRefByFft(u.data, k.data, D.data, b, L, c, Lk);
  const cpu = ops.fftConvSync({ u, k, D, method: 'fft' }).y.data as Float32Array;
  const got = host((await ops.fftConv({ u: dev(u), k: dev(k), D: dev(D) })).y);
  const eRef = relError(got, ref);
  const eCpu = relError(got, cpu);
  t.true(eRef <= 1e-5 && eCpu <= 1e-5, `relative error ${eRef} vs float64, ${eCpu} vs the CPU op`);
});

gpu('fftConv on the device: a shorter kernel on the four-step path, batch 2, several channels', (t) => {
  // L + Lk − 1 = 33767 → N = 2^16, H = 2^15 = 2^7 × 2^8 (unequal factors; column blocks of 32 columns).
  const [b, L, c, Lk] = [2, 32768, 3, 1000];
  const u = Tensor.randn([b, L, c], { seed: 21 });
  const k = Tensor.randn([c, Lk], { seed: 22, std: 1 / Math.sqrt(Lk) });
  const ref = fftConvRefByFft(u.data, k.data, undefined, b, L, c, Lk);
  const got = host(ops.fftConvSync({ u: dev(u), k: dev(k), method: 'fft' }).y);
  const err = relError(got, ref);
  t.true(err <= 1e-5, `relative error ${err}`);
});

gpu('fftConv on the device: batch rows are independent (one call with b = 2 equals two calls with b = 1)', (t) => {
  const [L, c, Lk] = [777, 5, 300];
  const u = Tensor.randn([2, L, c], { seed: 31 });
  const k = dev(Tensor.randn([c, Lk], { seed: 32, std: 0.05 }));
  const D = dev(Tensor.randn([c], { seed: 33 }));
  for (const method of ['fft', 'direct'] as const) {
    const both = host(ops.fftConvSync({ u: dev(u), k, D, method }).y);
    const first = host(ops.fftConvSync({ u: dev(u.slice(0, 1)), k, D, method }).y);
    const second = host(ops.fftConvSync({ u: dev(u.slice(1, 2)), k, D, method }).y);
    t.true(relError(both.subarray(0, L * c), first) === 0 && relError(both.subarray(L * c), second) === 0, method);
  }
});

gpu('fftConv on the device writes out: in place and leaves its inputs unchanged', async (t) => {
  const [b, L, c, Lk] = [2, 500, 7, 200];
  const u = dev(Tensor.randn([b, L, c], { seed: 41 }));
  const k = dev(Tensor.randn([c, Lk], { seed: 42, std: 0.07 }));
  const D = dev(Tensor.randn([c], { seed: 43 }));
  const before = [u, k, D].map(bytesOf);
  const expected = host(ops.fftConvSync({ u, k, D }).y);
  const y = Tensor.zeros([b, L, c], 'float32', { device: 'cuda' });
  t.is(ops.fftConvSync({ u, k, D, method: 'fft', out: { y } }).y, y);
  t.true(relError(host(y), expected) <= 1e-5);
  t.is((await ops.fftConv({ u, k, D, method: 'direct', out: { y } })).y, y);
  t.true(relError(host(y), expected) <= 1e-5);
  [u, k, D].forEach((x, i) => t.true(sameArray(bytesOf(x), before[i]!), `input ${i} changed`));
});

gpu('fftConv on the device rejects bad input with errors naming the argument', async (t) => {
  const u = dev(Tensor.randn([1, 10, 3], { seed: 1 }));
  const k = dev(Tensor.randn([3, 4], { seed: 2 }));
  t.throws(() => ops.fftConvSync({ u, k: dev(Tensor.randn([3, 11], { seed: 3 })) }), { instanceOf: RangeError, message: /fftConv: k's length Lk must be ≤ L=10/ });
  t.throws(() => ops.fftConvSync({ u, k: dev(Tensor.randn([2, 4], { seed: 3 })) }), { instanceOf: RangeError, message: /fftConv: k must have shape \[c=3, Lk\]/ });
  t.throws(() => ops.fftConvSync({ u, k, D: dev(Tensor.randn([4], { seed: 3 })) }), { instanceOf: RangeError, message: /fftConv: D must have shape/ });
  t.throws(() => ops.fftConvSync({ u, k, method: 'fast' as never }), { instanceOf: RangeError, message: /fftConv: method/ });
  t.throws(() => ops.fftConvSync({ u: dev(Tensor.zeros([1, 10, 3], 'bfloat16')), k }), { instanceOf: TypeError, message: /fftConv: u must be/ });
  t.throws(() => ops.fftConvSync({ u, k: Tensor.randn([3, 4], { seed: 2 }) }), { instanceOf: TypeError, message: /fftConv: u is on cuda but k is on cpu/ });
  await t.throwsAsync(ops.fftConv({ u, k, out: { y: dev(Tensor.zeros([1, 10, 4])) } }), { instanceOf: RangeError, message: /fftConv: out.y must have shape \[1, 10, 3\]/ });
});

// ---- ssmKernel ------------------------------------------------------------------------------

function onDevice(layer: S4dLayer): S4dLayer {
  return { A: dev(layer.A), B: dev(layer.B), C: dev(layer.C), delta: dev(layer.delta) };
}

const DISCRETIZATIONS: Discretization[] = ['zoh', 'bilinear'];

// (c, n, L): odd mode counts, L below, at and past the blocking's multiples of 16.
for (const [c, n, L] of [[1, 1, 1], [3, 7, 7], [33, 3, 1000], [3, 33, 4097], [1, 64, 65536]] as const) {
  gpu(`ssmKernel on the device c=${c} n=${n} L=${L} (zoh, bilinear) matches the CPU op and the float64 reference`, async (t) => {
    const layer = s4dLayer(c, n, c * 100 + n + L, L === 7 || L === 4097);
    const devLayer = onDevice(layer);
    for (const [i, discretization] of DISCRETIZATIONS.entries()) {
      const ref = ssmKernelRef(layer.A.data, layer.B.data, layer.C.data, layer.delta.data, c, n, L, discretization);
      const cpu = ops.ssmKernelSync({ ...layer, length: L, discretization }).k.data as Float32Array;
      const k = i === 0 ? ops.ssmKernelSync({ ...devLayer, length: L, discretization }).k : (await ops.ssmKernel({ ...devLayer, length: L, discretization })).k;
      t.is(k.device, 'cuda');
      t.deepEqual(k.shape, [c, L]);
      const got = host(k);
      const eRef = relError(got, ref);
      const eCpu = relError(got, cpu);
      t.true(eRef <= 1e-6 && eCpu <= 1e-5, `${discretization}: relative error ${eRef} vs float64, ${eCpu} vs the CPU op`);
    }
  });
}

gpu('ssmKernel on the device stays accurate for strongly decaying and long-memory states', (t) => {
  const [c, n, L] = [4, 8, 3000];
  const layer = s4dLayer(c, n, 77);
  const delta = new Tensor(Float32Array.from([5, 1e-4, 0.3, 2e-3]), [c]);
  const A = layer.A.clone();
  const a = A.data as Float32Array;
  for (let i = 0; i < n; i++) a[2 * i] = -20;  // channel 0: |Ā| = e^{−100}
  for (const discretization of DISCRETIZATIONS) {
    const ref = ssmKernelRef(A.data, layer.B.data, layer.C.data, delta.data, c, n, L, discretization);
    const k = host(ops.ssmKernelSync({ ...onDevice({ ...layer, A, delta }), length: L, discretization }).k);
    for (let ch = 0; ch < c; ch++) {
      const err = relError(k.subarray(ch * L, (ch + 1) * L), ref.subarray(ch * L, (ch + 1) * L));
      t.true(err <= 1e-6, `${discretization} channel ${ch}: relative error ${err}`);
    }
  }
});

for (const discretization of DISCRETIZATIONS) {
  gpu(`ssmKernel + fftConv on the device equal the CPU pair (${discretization})`, async (t) => {
    const [b, L, c, n] = [2, 3000, 5, 9];
    const layer = s4dLayer(c, n, 91);
    const u = Tensor.randn([b, L, c], { seed: 92 });
    const D = Tensor.randn([c], { seed: 93 });
    const kCpu = ops.ssmKernelSync({ ...layer, length: L, discretization }).k;
    const kDev = (await ops.ssmKernel({ ...onDevice(layer), length: L, discretization })).k;
    for (const method of ['auto', 'fft', 'direct'] as const) {
      const expected = ops.fftConvSync({ u, k: kCpu, D, method }).y.data as Float32Array;
      const got = host((await ops.fftConv({ u: dev(u), k: kDev, D: dev(D), method })).y);
      const err = relError(got, expected);
      t.true(err <= 1e-5, `${method}: relative error ${err}`);
    }
  });
}

gpu('ssmKernel on the device writes out: in place and leaves its inputs unchanged', async (t) => {
  const layer = onDevice(s4dLayer(6, 10, 5));
  const before = [layer.A, layer.B, layer.C, layer.delta].map(bytesOf);
  const expected = host(ops.ssmKernelSync({ ...layer, length: 777 }).k);
  const k = Tensor.zeros([6, 777], 'float32', { device: 'cuda' });
  t.is((await ops.ssmKernel({ ...layer, length: 777, out: { k } })).k, k);
  t.true(relError(host(k), expected) === 0);
  t.is(ops.ssmKernelSync({ ...layer, length: 777, discretization: 'bilinear', out: { k } }).k, k);
  [layer.A, layer.B, layer.C, layer.delta].forEach((x, i) => t.true(sameArray(bytesOf(x), before[i]!), `input ${i} changed`));
});

gpu('ssmKernel on the device rejects bad input with the CPU op\'s errors (values checked on a host copy)', async (t) => {
  const layer = s4dLayer(3, 4, 1);
  const devLayer = onDevice(layer);
  const call = (over: Record<string, unknown>) => () => ops.ssmKernelSync({ ...devLayer, length: 10, ...over } as never);
  t.throws(call({ delta: dev(new Tensor(Float32Array.from([0.1, 0, 0.1]), [3])) }), {
    instanceOf: RangeError,
    message: /ssmKernel: delta must be finite and > 0 \(a step size, not its log\), got delta\[1\] = 0/,
  });
  t.throws(call({ delta: dev(new Tensor(Float32Array.from([0.1, 0.1, NaN]), [3])) }), { instanceOf: RangeError, message: /got delta\[2\] = nan/i });
  t.throws(call({ delta: dev(new Tensor(Float32Array.from([Infinity, 0.1, 0.1]), [3])) }), { instanceOf: RangeError, message: /got delta\[0\] = inf/i });
  const unstable = layer.A.clone();
  (unstable.data as Float32Array)[2 * (1 * 4 + 2)] = 0.25;
  t.throws(call({ A: dev(unstable) }), { instanceOf: RangeError, message: /ssmKernel: A must have real parts ≤ 0 \(a stable SSM\), got Re A\[1, 2\] = 0\.25/ });
  await t.throwsAsync(ops.ssmKernel({ ...devLayer, A: dev(unstable), length: 10 }), { instanceOf: RangeError, message: /A must have real parts ≤ 0/ });
  t.throws(call({ B: dev(Tensor.zeros([3, 5, 2])) }), { instanceOf: RangeError, message: /ssmKernel: B must have shape \[3, 4, 2\]/ });
  t.throws(call({ length: 0 }), { instanceOf: RangeError, message: /ssmKernel: length must be an integer/ });
  t.throws(call({ discretization: 'euler' }), { instanceOf: RangeError, message: /ssmKernel: discretization/ });
  t.throws(call({ C: layer.C }), { instanceOf: TypeError, message: /is on cuda but C is on cpu/ });
});
