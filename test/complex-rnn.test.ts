// complexRnn (native/cpu/complex_rnn.cc) against the float64 recurrence.

import test from 'ava';
import { getNumThreads, ops, setNumThreads, Tensor } from '../lib/index.js';
import { complexRnnRef } from './reference/complex_rnn.js';
import { forEachIsa, relError } from './helpers.js';

test.serial('complexRnn matches the reference on every ISA and thread count', (t) => {
  const original = getNumThreads();
  try {
    for (const [B, L, H] of [[1, 1, 1], [2, 7, 5], [1, 33, 40], [3, 10, 130]] as [number, number, number][]) {
      const u = Tensor.randn([B, L, H, 2], { seed: L });
      const weight = Tensor.randn([H, H, 2], { seed: H, std: 0.7 / Math.sqrt(H) });
      const bias = Tensor.randn([H], { seed: 3, std: 0.3 });
      const h0 = Tensor.randn([B, H, 2], { seed: 4 });
      for (const init of [undefined, h0]) {
        const ref = complexRnnRef(u.data, weight.data, bias.data, init?.data, B, L, H);
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          forEachIsa((isa) => {
            const out = ops.complexRnnSync({ u, weight, bias, h0: init });
            t.true(relError(out.y.data as Float32Array, ref.y) < 1e-5, `${isa} threads=${threads} ${[B, L, H]}`);
            t.true(relError(out.h.data as Float32Array, ref.last) < 1e-5);
          });
        }
      }
    }
  } finally {
    setNumThreads(original);
  }
});

test('complexRnn rejects bad shapes', async (t) => {
  const u = Tensor.zeros([1, 3, 4, 2]);
  t.throws(() => ops.complexRnnSync({ u, weight: Tensor.zeros([4, 4]), bias: Tensor.zeros([4]) }), { instanceOf: RangeError, message: /weight must have shape \[4, 4, 2\]/ });
  t.throws(() => ops.complexRnnSync({ u: Tensor.zeros([1, 3, 4, 3]), weight: Tensor.zeros([4, 4, 2]), bias: Tensor.zeros([4]) }), { instanceOf: RangeError, message: /last dimension must be 2/ });
  const out = await ops.complexRnn({ u, weight: Tensor.zeros([4, 4, 2]), bias: Tensor.zeros([4]) });
  t.deepEqual(out.h.shape, [1, 4, 2]);
});
