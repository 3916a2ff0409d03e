// Tensor: construction, views, seeded randomness and dtype conversions.

import test from 'ava';
import { Tensor, Rng } from '../lib/index.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../lib/dtype.js';

test('the API.md example: dtype from the array, zero-copy data, size', (t) => {
  const data = new Float32Array(6);
  const x = new Tensor(data, [2, 3]);
  t.is(x.dtype, 'float32');
  t.is(x.data, data);
  t.deepEqual(x.shape, [2, 3]);
  t.is(x.size, 6);
  t.is(new Tensor(new Uint16Array(2), [2]).dtype, 'bfloat16');
  t.is(new Tensor(new Uint16Array(2), [2], 'float16').dtype, 'float16');
  t.is(new Tensor(new Int32Array(2), [2]).dtype, 'int32');
  t.deepEqual(Tensor.zeros([2, 3]).shape, [2, 3]);
  t.true(Object.isFrozen(x.shape));
});

test('randn is reproducible for a seed, differs across seeds, and has the asked moments', (t) => {
  const a = Tensor.randn([10000], { seed: 7 });
  const b = Tensor.randn([10000], { seed: 7 });
  const c = Tensor.randn([10000], { seed: 8 });
  t.deepEqual(Array.from(a.data as Float32Array), Array.from(b.data as Float32Array));
  t.notDeepEqual(Array.from(a.data as Float32Array).slice(0, 10), Array.from(c.data as Float32Array).slice(0, 10));
  const s = Tensor.randn([200000], { seed: 1, mean: 2, std: 3 });
  const v = s.data as Float32Array;
  const mean = v.reduce((p, x) => p + x, 0) / v.length;
  const variance = v.reduce((p, x) => p + (x - mean) ** 2, 0) / v.length;
  t.true(Math.abs(mean - 2) < 0.03, `mean ${mean}`);
  t.true(Math.abs(Math.sqrt(variance) - 3) < 0.03, `std ${Math.sqrt(variance)}`);
  // Fixed values pin the generator: seeded weights must not change between releases.
  const rng = new Rng(42);
  t.deepEqual([rng.nextUint32(), rng.nextUint32()], [2837322924, 544945897]);
  t.deepEqual(Array.from(Tensor.randn([3], { seed: 42 }).data as Float32Array), [0.6953712105751038, 0.5878986120223999, 2.2422637939453125]);
});

test('reshape, slice and select are views over the same memory', (t) => {
  const x = Tensor.from(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
  const r = x.reshape([6, -1]);
  t.deepEqual(r.shape, [6, 4]);
  t.is(r.data.buffer, x.data.buffer);
  const s = x.slice(1, 2);
  t.deepEqual(s.shape, [1, 3, 4]);
  t.deepEqual(s.toArray().slice(0, 3), [12, 13, 14]);
  const row = x.select(1, 2);
  t.deepEqual(row.shape, [4]);
  t.deepEqual(row.toArray(), [20, 21, 22, 23]);
  row.data[0] = -1;
  t.is(x.data[20], -1);
  t.throws(() => x.reshape([5, 5]), { instanceOf: RangeError, message: /cannot become \[5, 5\]/ });
  t.throws(() => x.slice(1, 3), { instanceOf: RangeError, message: /0 ≤ start ≤ end ≤ 2/ });
  t.throws(() => x.select(2), { instanceOf: RangeError, message: /index 0 must be an integer in \[0, 2\)/ });
});

test('bfloat16 conversion rounds to nearest even and keeps specials', (t) => {
  t.is(f32ToBf16Bits(1), 0x3f80);
  t.is(bf16BitsToF32(0x3f80), 1);
  // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties go to the even (1)
  t.is(f32ToBf16Bits(1 + 2 ** -8), 0x3f80);
  t.is(f32ToBf16Bits(1 + 3 * 2 ** -8), 0x3f82);
  t.is(f32ToBf16Bits(Infinity), 0x7f80);
  t.true(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN))));
  t.is(bf16BitsToF32(f32ToBf16Bits(-0)), -0);
  const x = Tensor.randn([1000], { seed: 3 });
  const back = x.toBFloat16().toFloat32().data as Float32Array;
  const src = x.data as Float32Array;
  for (let i = 0; i < src.length; i++) t.true(Math.abs(back[i]! - src[i]!) <= Math.abs(src[i]!) * 2 ** -8);
});

test('float16 conversion rounds to nearest even, handles subnormals and overflow', (t) => {
  t.is(f32ToF16Bits(1), 0x3c00);
  t.is(f16BitsToF32(0x3c00), 1);
  t.is(f32ToF16Bits(65504), 0x7bff);
  t.is(f32ToF16Bits(65520), 0x7c00); // rounds up to infinity
  t.is(f32ToF16Bits(2 ** -24), 0x0001); // smallest subnormal
  t.is(f32ToF16Bits(2 ** -25), 0x0000); // halfway to zero: ties to even
  t.is(f32ToF16Bits(3 * 2 ** -25), 0x0002);
  t.is(f16BitsToF32(0x0001), 2 ** -24);
  t.is(f32ToF16Bits(1 + 2 ** -11), 0x3c00); // tie to even
  t.is(f32ToF16Bits(-2), 0xc000);
  t.true(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN))));
  for (let bits = 0; bits < 0x7c00; bits += 7) t.is(f32ToF16Bits(f16BitsToF32(bits)), bits);
});

test('astype, clone and toArray', (t) => {
  const x = Tensor.from([1.5, -2.25, 3], [3]);
  t.deepEqual(x.toFloat16().toArray(), [1.5, -2.25, 3]);
  t.deepEqual(x.astype('int32').toArray(), [1, -2, 3]);
  const c = x.clone();
  c.data[0] = 9;
  t.is(x.data[0], 1.5);
  t.throws(() => x.astype('float64' as never), { instanceOf: TypeError });
  t.throws(() => Tensor.from([1, 2], [3]), { instanceOf: RangeError });
});
