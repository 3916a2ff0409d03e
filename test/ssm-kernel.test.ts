// ssmKernel (native/cpu/ssm_kernel.cc) against the float64 reference in
// test/reference/ssm_kernel.ts on every instruction set; and the check that
// ties the convolution mode to the recurrent one: ssmKernel + fftConv equals
// h_t = Ā h_{t−1} + B̄ u_t, y_t = 2·Re(C·h_t) + D u_t for a random S4D layer.

import test from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { discretizeRef, ssmKernelRef, ssmRecurrenceRef, type Discretization } from './reference/ssm_kernel.js';
import { forEachIsa, relError, sameBytes, snapshot } from './helpers.js';
import { s4dLayer } from './inputs.js';

/** Bitwise-equal contents (t.deepEqual on long arrays overflows ava's differ). */
function identical(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

const DISCRETIZATIONS: Discretization[] = ['zoh', 'bilinear'];

test('the reference reproduces hand-worked kernels of a one-state real SSM', (t) => {
  // A = −1, B = C = 1, Δ = 1. ZOH: Ā = e^{−1}, B̄ = 1 − e^{−1}, K[l] = 2(1 − e^{−1})e^{−l}.
  // Bilinear: Ā = (1 − ½)/(1 + ½) = 1/3, B̄ = 1/(1 + ½) = 2/3, K[l] = (4/3)(1/3)^l.
  const A = [-1, 0];
  const one = [1, 0];
  const zoh = ssmKernelRef(A, one, one, [1], 1, 1, 4, 'zoh');
  const bilinear = ssmKernelRef(A, one, one, [1], 1, 1, 4, 'bilinear');
  for (let l = 0; l < 4; l++) {
    t.true(Math.abs(zoh[l]! - 2 * (1 - Math.exp(-1)) * Math.exp(-l)) < 1e-14, `zoh K[${l}] = ${zoh[l]}`);
    t.true(Math.abs(bilinear[l]! - (4 / 3) * 3 ** -l) < 1e-14, `bilinear K[${l}] = ${bilinear[l]}`);
  }
  // A = 0 under ZOH takes the limit B̄ = Δ·B.
  const { Bbar } = discretizeRef([0, 0], [2, 1], [0.5], 1, 0, 0, 'zoh');
  t.deepEqual([Bbar.re, Bbar.im], [1, 0.5]);
});

// (c, n, L): sizes of 1, odd channel counts, long kernels up to 65536.
const CASES: [number, number, number][] = [
  [1, 1, 1],
  [7, 16, 7],
  [33, 32, 1000],
  [7, 64, 4097],
  [2, 32, 65536],
];

for (const [c, n, L] of CASES) {
  for (const discretization of DISCRETIZATIONS) {
    test(`ssmKernel c=${c} n=${n} L=${L} ${discretization} matches the float64 reference to 1e-6 on every ISA`, (t) => {
      const layer = s4dLayer(c, n, c * 100 + n + L, L === 7 || L === 4097);
      const ref = ssmKernelRef(layer.A.data, layer.B.data, layer.C.data, layer.delta.data, c, n, L, discretization);
      forEachIsa((isa) => {
        const { k } = ops.ssmKernelSync({ ...layer, length: L, discretization });
        t.deepEqual(k.shape, [c, L]);
        const err = relError(k.data as Float32Array, ref);
        t.true(err <= 1e-6, `${isa}: relative error ${err}`);
      });
    });
  }
}

test('ssmKernel stays accurate for strongly decaying and for long-memory states', (t) => {
  // Large Δ·Re(A) (the kernel vanishes within a few steps, powers underflow)
  // next to tiny ones (memory longer than L): each channel is compared on its own.
  const c = 4;
  const n = 8;
  const layer = s4dLayer(c, n, 77);
  const delta = new Tensor(Float32Array.from([5, 1e-4, 0.3, 2e-3]), [c]);
  const A = layer.A.clone();
  const a = A.data as Float32Array;
  for (let i = 0; i < n; i++) a[2 * i] = -20;  // channel 0: |Ā| = e^{−100}
  for (const discretization of DISCRETIZATIONS) {
    const L = 3000;
    const ref = ssmKernelRef(A.data, layer.B.data, layer.C.data, delta.data, c, n, L, discretization);
    forEachIsa((isa) => {
      const k = ops.ssmKernelSync({ ...layer, A, delta, length: L, discretization }).k.data as Float32Array;
      for (let ch = 0; ch < c; ch++) {
        const err = relError(k.subarray(ch * L, (ch + 1) * L), ref.subarray(ch * L, (ch + 1) * L));
        t.true(err <= 1e-6, `${isa} ${discretization} channel ${ch}: relative error ${err}`);
      }
    });
  }
});

for (const discretization of DISCRETIZATIONS) {
  test(`ssmKernel + fftConv equals the recurrent mode of a random S4D layer (${discretization})`, (t) => {
    const [b, L, c, n] = [2, 3000, 5, 8];
    const layer = s4dLayer(c, n, 91);
    const u = Tensor.randn([b, L, c], { seed: 92 });
    const D = Tensor.randn([c], { seed: 93 });
    const recurrent = ssmRecurrenceRef(layer.A.data, layer.B.data, layer.C.data, layer.delta.data, D.data, u.data, b, L, c, n, discretization);
    forEachIsa((isa) => {
      const { k } = ops.ssmKernelSync({ ...layer, length: L, discretization });
      for (const method of ['auto', 'fft', 'direct'] as const) {
        const { y } = ops.fftConvSync({ u, k, D, method });
        const err = relError(y.data as Float32Array, recurrent);
        t.true(err <= 1e-5, `${isa} ${method}: relative error ${err} against the recurrence`);
      }
    });
  });
}

test('ssmKernel async form gives the sync result, and out: is written in place', async (t) => {
  const layer = s4dLayer(6, 10, 5);
  const sync = ops.ssmKernelSync({ ...layer, length: 777 }).k;
  const pending = ops.ssmKernel({ ...layer, length: 777 });
  t.true(pending instanceof Promise);
  t.true(identical((await pending).k.data as Float32Array, sync.data as Float32Array));
  const k = Tensor.zeros([6, 777]);
  t.is((await ops.ssmKernel({ ...layer, length: 777, out: { k } })).k, k);
  t.true(identical(k.data as Float32Array, sync.data as Float32Array));
});

test('ssmKernel leaves its inputs unchanged', (t) => {
  const layer = s4dLayer(3, 5, 9, true);
  const inputs = [layer.A, layer.B, layer.C, layer.delta];
  const before = inputs.map(snapshot);
  forEachIsa(() => {
    for (const discretization of DISCRETIZATIONS) ops.ssmKernelSync({ ...layer, length: 100, discretization });
  });
  inputs.forEach((x, i) => t.true(sameBytes(x, before[i]!), `input ${['A', 'B', 'C', 'delta'][i]} was modified`));
});

test('ssmKernel rejects bad input with errors naming the argument', (t) => {
  const layer = s4dLayer(3, 4, 1);
  const before = [layer.A, layer.B, layer.C, layer.delta].map(snapshot);
  const call = (over: Record<string, unknown>) => () => ops.ssmKernelSync({ ...layer, length: 10, ...over } as never);
  t.throws(call({ length: 0 }), { instanceOf: RangeError, message: /ssmKernel: length must be an integer in \[1, 2\^31 − 1\], got 0/ });
  t.throws(call({ length: 2.5 }), { instanceOf: RangeError, message: /ssmKernel: length must be an integer .*, got 2\.5/ });
  t.throws(call({ length: -3 }), { instanceOf: RangeError, message: /length must be an integer .*, got -3/ });
  t.throws(call({ length: undefined }), { instanceOf: TypeError, message: /ssmKernel: length must be a number \(the kernel length L\), got undefined/ });
  t.throws(call({ length: '10' }), { instanceOf: TypeError, message: /length must be a number .*, got the string "10"/ });
  t.throws(call({ delta: new Tensor(Float32Array.from([0.1, 0, 0.1]), [3]) }), { instanceOf: RangeError, message: /ssmKernel: delta must be finite and > 0 \(a step size, not its log\), got delta\[1\] = 0/ });
  t.throws(call({ delta: new Tensor(Float32Array.from([0.1, 0.1, -2]), [3]) }), { instanceOf: RangeError, message: /delta\[2\] = -2/ });
  t.throws(call({ delta: new Tensor(Float32Array.from([NaN, 0.1, 0.1]), [3]) }), { instanceOf: RangeError, message: /delta\[0\] = NaN/ });
  const unstable = layer.A.clone();
  (unstable.data as Float32Array)[2 * 6] = 0.25;  // channel 1, state 2
  t.throws(call({ A: unstable }), { instanceOf: RangeError, message: /ssmKernel: A must have real parts ≤ 0 \(a stable SSM\), got Re A\[1, 2\] = 0\.25/ });
  t.throws(call({ A: Tensor.zeros([3, 4]) }), { instanceOf: RangeError, message: /ssmKernel: A must have rank 3 \(\[c, n, 2\] as \(re, im\)\), got shape \[3, 4\]/ });
  t.throws(call({ A: Tensor.zeros([3, 4, 3]) }), { instanceOf: RangeError, message: /ssmKernel: A must have shape \[c, n, 2\] \(complex as re, im\), got \[3, 4, 3\]/ });
  t.throws(call({ B: Tensor.zeros([3, 5, 2]) }), { instanceOf: RangeError, message: /ssmKernel: B must have shape \[3, 4, 2\] \(\[c, n, 2\] like A\), got \[3, 5, 2\]/ });
  t.throws(call({ C: Tensor.zeros([2, 4, 2]) }), { instanceOf: RangeError, message: /ssmKernel: C must have shape \[3, 4, 2\]/ });
  t.throws(call({ delta: Tensor.zeros([3, 1]) }), { instanceOf: RangeError, message: /ssmKernel: delta must have shape \[3\] \(\[c\]\), got \[3, 1\]/ });
  t.throws(call({ A: Tensor.zeros([0, 4, 2]) }), { instanceOf: RangeError, message: /ssmKernel: A has an empty dimension 0/ });
  t.throws(call({ B: layer.B.toBFloat16() }), { instanceOf: TypeError, message: /ssmKernel: B must be float32, got bfloat16/ });
  t.throws(call({ delta: new Tensor(new Int32Array(3), [3]) }), { instanceOf: TypeError, message: /ssmKernel: delta must be float32, got int32/ });
  t.throws(call({ C: [1, 2] }), { instanceOf: TypeError, message: /ssmKernel: C must be a Tensor, got an Array of length 2/ });
  t.throws(call({ discretization: 'euler' }), { instanceOf: RangeError, message: /ssmKernel: discretization must be one of 'zoh', 'bilinear', got the string "euler"/ });
  t.throws(call({ logDelta: layer.delta }), { instanceOf: TypeError, message: /ssmKernel: unknown argument 'logDelta'/ });
  t.throws(call({ out: { k: Tensor.zeros([3, 11]) } }), { instanceOf: RangeError, message: /ssmKernel: out\.k must have shape \[3, 10\]/ });
  [layer.A, layer.B, layer.C, layer.delta].forEach((x, i) => t.true(sameBytes(x, before[i]!), `input ${i} was modified`));
});

test('ssmKernel async form rejects bad input', async (t) => {
  const layer = s4dLayer(2, 2, 3);
  await t.throwsAsync(ops.ssmKernel({ ...layer, length: 0 }), { instanceOf: RangeError, message: /length must be an integer/ });
});

test('the native ssmKernel re-checks what memory safety depends on', async (t) => {
  const { native } = await import('../lib/native.js');
  const layer = s4dLayer(2, 3, 4);
  const k = Tensor.zeros([2, 5]);
  const tensors = { ...layer, k };
  t.throws(() => native.runSync('ssmKernel', tensors, { length: 6 }), { instanceOf: RangeError, message: /ssmKernel: k must have shape/ });
  t.throws(() => native.runSync('ssmKernel', tensors, { length: 0 }), { instanceOf: RangeError, message: /ssmKernel: length must be an integer ≥ 1, got 0/ });
  t.throws(() => native.runSync('ssmKernel', tensors, { length: 4.5 }), { instanceOf: RangeError, message: /length must be an integer ≥ 1/ });
  t.throws(() => native.runSync('ssmKernel', { ...tensors, B: Tensor.zeros([2, 4, 2]) }, { length: 5 }), { instanceOf: RangeError, message: /ssmKernel: B must have shape/ });
  t.throws(() => native.runSync('ssmKernel', { ...tensors, delta: Tensor.zeros([3]) }, { length: 5 }), { instanceOf: RangeError, message: /ssmKernel: delta must have shape/ });
  t.throws(() => native.runSync('ssmKernel', { ...tensors, A: Tensor.zeros([2, 3, 3]) }, { length: 5 }), { instanceOf: RangeError, message: /ssmKernel: A must have shape \[c, n, 2\]/ });
  t.throws(() => native.runSync('ssmKernel', tensors, { length: 5, discretization: 'euler' }), { instanceOf: RangeError, message: /discretization must be 'zoh' or 'bilinear'/ });
  t.notThrows(() => native.runSync('ssmKernel', tensors, { length: 5 }));
});
