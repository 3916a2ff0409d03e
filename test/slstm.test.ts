// slstm (native/cpu/slstm.cc) against the float64 recurrence, state chaining,
// large gate pre-activations.

import test from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { slstmRef } from './reference/slstm.js';
import { forEachIsa, relError } from './helpers.js';

test('slstm matches the reference, with and without bias and initial state', (t) => {
  for (const [b, L, H, dh] of [[1, 1, 1, 1], [2, 7, 3, 4], [1, 65, 2, 16], [3, 20, 4, 33]] as [number, number, number, number][]) {
    const gates = Tensor.randn([b, L, 4, H, dh], { seed: L, std: 2 });
    const recurrent = Tensor.randn([H, dh, 4, dh], { seed: dh, std: 1 / Math.sqrt(dh) });
    const bias = Tensor.randn([H, 4, dh], { seed: 3 });
    const init = { initialY: Tensor.randn([b, H * dh], { seed: 4 }), initialC: Tensor.randn([b, H * dh], { seed: 5 }), initialN: Tensor.rand([b, H * dh], { seed: 6, low: 0.5, high: 2 }), initialM: Tensor.randn([b, H * dh], { seed: 7 }) };
    for (const withState of [false, true]) {
      const ref = slstmRef(gates.data, recurrent.data, bias.data, b, L, H, dh, withState ? { y: init.initialY.data, c: init.initialC.data, n: init.initialN.data, m: init.initialM.data } : undefined);
      forEachIsa((isa) => {
        const out = ops.slstmSync({ gates, recurrent, bias, ...(withState ? init : {}) });
        t.true(relError(out.y.data as Float32Array, ref.out) < 1e-5, `${isa} ${[b, L, H, dh, withState]}`);
        t.true(relError(out.lastC.data as Float32Array, ref.c) < 1e-5);
        t.true(relError(out.lastN.data as Float32Array, ref.n) < 1e-5);
        t.true(relError(out.lastM.data as Float32Array, ref.m) < 1e-5);
      });
    }
  }
});

test('slstm: step-by-step calls chained through the last states equal one call; huge pre-activations stay finite', (t) => {
  const [b, L, H, dh] = [2, 12, 2, 8];
  const gates = Tensor.randn([b, L, 4, H, dh], { seed: 1, std: 30 });
  const recurrent = Tensor.randn([H, dh, 4, dh], { seed: 2, std: 0.3 });
  const full = ops.slstmSync({ gates, recurrent });
  t.true(Array.from(full.y.data as Float32Array).every(Number.isFinite));
  let state = {};
  const ys: number[] = [];
  for (let i = 0; i < L; i++) {
    const step = ops.slstmSync({ gates: ops.sliceSync({ x: gates, axis: 1, start: i, end: i + 1 }).y, recurrent, ...state });
    state = { initialY: step.lastY, initialC: step.lastC, initialN: step.lastN, initialM: step.lastM };
    ys.push(...Array.from(step.y.data as Float32Array).slice(0));
  }
  // reorder [t][b] → [b][t]
  const stepwise = new Float32Array(b * L * H * dh);
  for (let i = 0; i < L; i++) for (let bi = 0; bi < b; bi++) for (let j = 0; j < H * dh; j++) stepwise[(bi * L + i) * H * dh + j] = ys[(i * b + bi) * H * dh + j]!;
  t.true(relError(stepwise, full.y.data as Float32Array) < 1e-6);
});

test('slstm rejects bad shapes', async (t) => {
  const gates = Tensor.zeros([1, 3, 4, 2, 5]);
  t.throws(() => ops.slstmSync({ gates, recurrent: Tensor.zeros([2, 5, 4, 4]) }), { instanceOf: RangeError, message: /recurrent must have shape \[2, 5, 4, 5\]/ });
  t.throws(() => ops.slstmSync({ gates: Tensor.zeros([1, 3, 3, 2, 5]), recurrent: Tensor.zeros([2, 5, 4, 5]) }), { instanceOf: RangeError, message: /4 gates/ });
  t.throws(() => ops.slstmSync({ gates, recurrent: Tensor.zeros([2, 5, 4, 5]), initialC: Tensor.zeros([1, 9]) }), { instanceOf: RangeError, message: /initialC must have shape \[1, 10\]/ });
  const out = await ops.slstm({ gates, recurrent: Tensor.zeros([2, 5, 4, 5]) });
  t.deepEqual(out.y.shape, [1, 3, 10]);
});
