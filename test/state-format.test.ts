// Serialised states: round trip, and corrupt or mismatched bytes rejected.

import test from 'ava';
import { Tensor } from '../lib/index.js';
import { configHash, decodeState, encodeState } from '../lib/io/state-format.js';

const entries = () => ({
  'layers.0.ssm': Tensor.randn([2, 3, 4], { seed: 1 }),
  'layers.0.conv': Tensor.randn([2, 3], { seed: 2, dtype: 'bfloat16' }),
  'layers.1.k': new Tensor(Int32Array.from([1, 2]), [2]),
  position: 17,
});

test('encode → decode round trip is bit-exact', (t) => {
  const hash = configHash({ b: 2, a: [1, { c: 3 }] });
  t.is(hash, configHash({ a: [1, { c: 3 }], b: 2 }), 'key order does not matter');
  const { entries: back } = decodeState(encodeState(entries(), hash), hash);
  const orig = entries();
  for (const [name, v] of Object.entries(orig)) {
    if (typeof v === 'number') t.is(back[name], v);
    else {
      const b = back[name] as Tensor;
      t.is(b.dtype, v.dtype);
      t.deepEqual(b.shape, v.shape);
      t.deepEqual(Array.from(b.data), Array.from(v.data));
    }
  }
});

test('corrupt, truncated, foreign or mismatched bytes are rejected clearly', (t) => {
  const hash = configHash({ model: 'x' });
  const bytes = encodeState(entries(), hash);
  const flipped = bytes.slice();
  flipped[bytes.length - 40] ^= 1;
  t.throws(() => decodeState(flipped, hash), { instanceOf: RangeError, message: /checksum mismatch/ });
  t.throws(() => decodeState(bytes.subarray(0, bytes.length - 1), hash), { instanceOf: RangeError, message: /checksum mismatch/ });
  t.throws(() => decodeState(bytes.subarray(0, 10), hash), { instanceOf: RangeError, message: /too short/ });
  const foreign = bytes.slice();
  foreign[0] = 0x41;
  t.throws(() => decodeState(foreign, hash), { instanceOf: RangeError, message: /bad magic/ });
  t.throws(() => decodeState(bytes, configHash({ model: 'y' })), { instanceOf: RangeError, message: /different configuration/ });
  t.throws(() => decodeState('abc' as never, hash), { instanceOf: TypeError, message: /must be a Uint8Array/ });
  t.throws(() => encodeState({ x: NaN }, hash), { instanceOf: TypeError, message: /finite number/ });
});
