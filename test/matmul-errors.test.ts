// Bad input to matmul / linear: a TypeError or RangeError naming the argument,
// what was expected and what came; never a crash; the caller's data unchanged.

import test from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { sameBytes, snapshot } from './helpers.js';

const a = Tensor.randn([4, 8], { seed: 1 });
const b = Tensor.randn([8, 3], { seed: 2 });

function unchanged(t: import('ava').ExecutionContext, tensors: Tensor[], fn: () => void): void {
  const before = tensors.map(snapshot);
  fn();
  tensors.forEach((x, i) => t.true(sameBytes(x, before[i]!), `argument ${i} was modified`));
}

test('matmul rejects a missing or non-object argument', (t) => {
  t.throws(() => ops.matmulSync(undefined as never), { instanceOf: TypeError, message: /matmul: expected one arguments object/ });
  t.throws(() => ops.matmulSync(a as never), { instanceOf: TypeError, message: /matmul: expected one arguments object/ });
  t.throws(() => ops.matmulSync({ a } as never), { instanceOf: TypeError, message: /matmul: b must be a Tensor, got undefined/ });
  t.throws(() => ops.matmulSync({ a, b, tranzB: true } as never), { instanceOf: TypeError, message: /unknown argument 'tranzB'/ });
});

test('matmul rejects plain arrays and typed arrays in place of tensors', (t) => {
  t.throws(() => ops.matmulSync({ a: [1, 2, 3] as never, b }), { instanceOf: TypeError, message: /matmul: a must be a Tensor, got an Array of length 3/ });
  t.throws(() => ops.matmulSync({ a, b: new Float32Array(24) as never }), { instanceOf: TypeError, message: /b must be a Tensor, got a Float32Array/ });
});

test('matmul rejects wrong ranks and mismatched K, naming both shapes', (t) => {
  unchanged(t, [a, b], () => {
    t.throws(() => ops.matmulSync({ a: Tensor.zeros([8]), b }), { instanceOf: RangeError, message: /a must have rank ≥ 2 \(\[\.\.\., M, K\]\), got shape \[8\]/ });
    t.throws(() => ops.matmulSync({ a, b: Tensor.zeros([2, 8, 3]) }), { instanceOf: RangeError, message: /b must have rank 2/ });
    t.throws(() => ops.matmulSync({ a, b: Tensor.zeros([7, 3]) }), { instanceOf: RangeError, message: /b must have shape \[K=8, N\] to match a \[4, 8\], got \[7, 3\]/ });
    t.throws(() => ops.matmulSync({ a, b, transB: true }), { instanceOf: RangeError, message: /b must have shape \[N, K=8\] to match a \[4, 8\], got \[8, 3\]/ });
  });
});

test('matmul rejects wrong dtypes', (t) => {
  t.throws(() => ops.matmulSync({ a: a.toBFloat16(), b }), { instanceOf: TypeError, message: /a must be float32, got bfloat16/ });
  t.throws(() => ops.matmulSync({ a, b: new Tensor(new Int32Array(24), [8, 3]) }), { instanceOf: TypeError, message: /b must be float32 or bfloat16 or float16, got int32/ });
  t.throws(() => ops.matmulSync({ a, b, transB: 1 as never }), { instanceOf: TypeError, message: /transB must be a boolean, got number 1/ });
});

test('matmul rejects empty dimensions', (t) => {
  t.throws(() => ops.matmulSync({ a: Tensor.zeros([0, 8]), b }), { instanceOf: RangeError, message: /a has an empty dimension 0/ });
  t.throws(() => ops.matmulSync({ a, b: Tensor.zeros([8, 0]) }), { instanceOf: RangeError, message: /b has an empty dimension 1/ });
});

test('tensors with zero, negative, fractional, huge dims or the wrong data length are rejected when built', (t) => {
  t.throws(() => new Tensor(new Float32Array(6), [2, -3]), { instanceOf: RangeError, message: /shape\[1\] must be a non-negative integer, got -3/ });
  t.throws(() => new Tensor(new Float32Array(6), [2, 1.5]), { instanceOf: RangeError, message: /shape\[1\] must be a non-negative integer, got 1.5/ });
  t.throws(() => new Tensor(new Float32Array(6), [2, 4]), { instanceOf: RangeError, message: /shape \[2, 4\] needs 8 elements, data has 6/ });
  t.throws(() => Tensor.zeros([1e6, 1e6, 1e6]), { instanceOf: RangeError, message: /above the maximum/ });
  t.throws(() => new Tensor([1, 2, 3] as never, [3]), { instanceOf: TypeError, message: /data must be a Float32Array, Int32Array or Uint16Array, got an Array/ });
  t.throws(() => new Tensor(new Float64Array(3) as never, [3]), { instanceOf: TypeError, message: /got a Float64Array/ });
  t.throws(() => new Tensor(new Float32Array(3) as never, [3], 'bfloat16'), { instanceOf: TypeError, message: /'bfloat16' is stored in a Uint16Array/ });
});

test('linear rejects a weight whose in-features differ from x, and a bias of the wrong length', (t) => {
  const x = Tensor.randn([2, 5], { seed: 1 });
  const weight = Tensor.randn([3, 5], { seed: 2 });
  unchanged(t, [x, weight], () => {
    t.throws(() => ops.linearSync({ x, weight: Tensor.zeros([3, 4]) }), { instanceOf: RangeError, message: /weight must have shape \[out, in=5\] to match x \[2, 5\], got \[3, 4\]/ });
    t.throws(() => ops.linearSync({ x, weight, bias: Tensor.zeros([4]) }), { instanceOf: RangeError, message: /bias must have shape \[3\] \(\[out\]\), got \[4\]/ });
    t.throws(() => ops.linearSync({ x, weight, bias: Tensor.zeros([3], 'int32') }), { instanceOf: TypeError, message: /bias must be float32, got int32/ });
  });
});

test('async forms reject (not throw) on bad input', async (t) => {
  const pending = ops.matmul({ a, b: Tensor.zeros([7, 3]) });
  t.true(pending instanceof Promise);
  await t.throwsAsync(pending, { instanceOf: RangeError, message: /b must have shape \[K=8, N\]/ });
  await t.throwsAsync(ops.linear({ x: 'x' as never, weight: b }), { instanceOf: TypeError, message: /x must be a Tensor/ });
});

test('the native layer itself rejects inconsistent tensors that bypass the TypeScript checks', async (t) => {
  const { native } = await import('../lib/native.js');
  const y = Tensor.zeros([4, 3]);
  // shape and data length disagree
  t.throws(() => native.runSync('matmul', { a: { data: new Float32Array(5), shape: [4, 8], dtype: 'float32' }, b, y }, {}), {
    instanceOf: RangeError,
    message: /a has 5 elements but its shape \[4, 8\] needs 32/,
  });
  // array type and dtype disagree
  t.throws(() => native.runSync('matmul', { a: { data: new Int32Array(32), shape: [4, 8], dtype: 'float32' }, b, y }, {}), {
    instanceOf: TypeError,
    message: /a\.data does not hold float32 elements/,
  });
  // mismatched K, caught natively
  t.throws(() => native.runSync('matmul', { a, b: Tensor.zeros([7, 3]), y }, {}), { instanceOf: RangeError, message: /does not match K=8/ });
  // output of the wrong size
  t.throws(() => native.runSync('matmul', { a, b, y: Tensor.zeros([4, 2]) }, {}), { instanceOf: RangeError, message: /y must have shape/ });
  // unknown op, missing tensors, bad option types
  t.throws(() => native.runSync('nope', {}, {}), { instanceOf: TypeError, message: /unknown op 'nope'/ });
  t.throws(() => native.runSync('matmul', { a, y }, {}), { instanceOf: TypeError, message: /missing tensor argument 'b'/ });
  t.throws(() => native.runSync('matmul', { a, b, y }, { transB: 'yes' }), { instanceOf: TypeError, message: /transB' must be a boolean/ });
  await t.throwsAsync(native.runAsync('matmul', { a, b: Tensor.zeros([7, 3]), y }, {}), { instanceOf: RangeError });
});
