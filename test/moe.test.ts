// moe (native/cpu/moe.cc) against test/reference/moe.ts.

import test from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { moeRef } from './reference/moe.js';
import { forEachIsa, relError, values } from './helpers.js';

test('moe matches the reference: prefill and single tokens, top-1/2, normalised or not, 16-bit experts', (t) => {
  for (const [tokens, d, ffn, experts] of [[1, 8, 16, 4], [7, 33, 20, 5], [40, 64, 96, 8]] as [number, number, number, number][]) {
    for (const dtype of ['float32', 'bfloat16'] as const) {
      const x = Tensor.randn([tokens, d], { seed: tokens });
      const router = Tensor.randn([experts, d], { seed: 2, std: 0.5 });
      const gate = Tensor.randn([experts, ffn, d], { seed: 3, std: 0.3, dtype });
      const up = Tensor.randn([experts, ffn, d], { seed: 4, std: 0.3, dtype });
      const down = Tensor.randn([experts, d, ffn], { seed: 5, std: 0.3, dtype });
      for (const topK of [1, 2]) {
        for (const normalize of [false, true]) {
          const ref = moeRef(x.data, router.data, values(gate), values(up), values(down), d, ffn, experts, topK, normalize);
          forEachIsa((isa) => {
            const { y, chosen } = ops.moeSync({ x, router, gate, up, down, topK, normalize, returnChoices: true });
            t.deepEqual(Array.from(chosen!.data), ref.chosen, `${isa} choices`);
            t.true(relError(y.data as Float32Array, ref.y) < 1e-5, `${isa} ${[tokens, d, ffn, experts, dtype, topK, normalize]}`);
          });
        }
      }
    }
  }
});

test('moe rejects mismatched expert shapes and topK out of range', async (t) => {
  const x = Tensor.randn([2, 4], { seed: 1 });
  const args = { x, router: Tensor.zeros([3, 4]), gate: Tensor.zeros([3, 5, 4]), up: Tensor.zeros([3, 5, 4]), down: Tensor.zeros([3, 4, 5]) };
  t.throws(() => ops.moeSync({ ...args, topK: 4 }), { instanceOf: RangeError, message: /topK must be ≤ 3, got 4/ });
  t.throws(() => ops.moeSync({ ...args, down: Tensor.zeros([3, 5, 4]) }), { instanceOf: RangeError, message: /down must have shape \[3, 4, 5\]/ });
  t.throws(() => ops.moeSync({ ...args, up: Tensor.zeros([3, 5, 4], 'bfloat16') }), { instanceOf: TypeError, message: /must share a dtype/ });
  t.throws(() => ops.moeSync({ ...args, router: Tensor.zeros([3, 5]) }), { instanceOf: RangeError, message: /router must have shape \[3, 4\]/ });
  const { y } = await ops.moe(args);
  t.deepEqual(y.shape, [2, 4]);
});
