// rmsNorm / layerNorm (native/cpu/norm.cc) against test/reference/norm.ts.

import test from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { normRef } from './reference/norm.js';
import { forEachIsa, relError, sameBytes, snapshot } from './helpers.js';

for (const rms of [true, false]) {
  const name = rms ? 'rmsNorm' : 'layerNorm';
  test(`${name} matches the float64 reference with every option combination, on every ISA`, (t) => {
    for (const [rows, dim, groupSize] of [[1, 1, 1], [3, 7, 7], [5, 33, 11], [2, 1000, 250], [4, 64, 16]] as [number, number, number][]) {
      const x = Tensor.randn([rows, dim], { seed: dim, mean: 3 }); // a large mean tests layerNorm's two-pass variance
      const weight = Tensor.randn([dim], { seed: 2 });
      const bias = Tensor.randn([dim], { seed: 3 });
      const residual = Tensor.randn([rows, dim], { seed: 4 });
      const gate = Tensor.randn([rows, dim], { seed: 5 });
      for (const useResidual of [false, true]) {
        for (const gateMode of ['none', 'after', 'before'] as const) {
          const args = {
            x,
            weight,
            ...(rms ? {} : { bias }),
            ...(useResidual ? { residual } : {}),
            ...(gateMode !== 'none' ? { gate, gateBefore: gateMode === 'before' } : {}),
            eps: 1e-5,
            groupSize,
          };
          const ref = normRef(x.data, dim, {
            rms,
            weight: weight.data,
            ...(rms ? {} : { bias: bias.data }),
            ...(useResidual ? { residual: residual.data } : {}),
            ...(gateMode !== 'none' ? { gate: gate.data, gateBefore: gateMode === 'before' } : {}),
            eps: 1e-5,
            groupSize,
          } as never);
          forEachIsa((isa) => {
            const out = rms ? ops.rmsNormSync(args) : ops.layerNormSync(args);
            const label = `${isa} rows=${rows} dim=${dim} group=${groupSize} residual=${useResidual} gate=${gateMode}`;
            t.true(relError(out.y.data as Float32Array, ref.y) < 1e-5, label);
            if (useResidual) t.true(relError(out.residualOut!.data as Float32Array, ref.sum) < 1e-7, label);
            else t.is(out.residualOut, undefined);
          });
        }
      }
    }
  });
}

test('norms without weight, and rejected arguments', (t) => {
  const x = Tensor.randn([2, 6], { seed: 1 });
  const before = snapshot(x);
  const ref = normRef(x.data, 6, { rms: true, eps: 1e-6, groupSize: 6 });
  t.true(relError(ops.rmsNormSync({ x, eps: 1e-6 }).y.data as Float32Array, ref.y) < 1e-6);
  t.throws(() => ops.rmsNormSync({ x, weight: Tensor.zeros([5]) }), { instanceOf: RangeError, message: /weight must have shape \[6\] \(\[d\]\), got \[5\]/ });
  t.throws(() => ops.rmsNormSync({ x, bias: Tensor.zeros([6]) } as never), { instanceOf: TypeError, message: /unknown argument 'bias'/ });
  t.throws(() => ops.layerNormSync({ x, groupSize: 4 }), { instanceOf: RangeError, message: /groupSize must divide the last dimension 6, got 4/ });
  t.throws(() => ops.layerNormSync({ x, gateBefore: true }), { instanceOf: RangeError, message: /gateBefore needs a gate/ });
  t.throws(() => ops.layerNormSync({ x, gate: Tensor.zeros([2, 5]) }), { instanceOf: RangeError, message: /gate must have shape \[2, 6\]/ });
  t.throws(() => ops.layerNormSync({ x, eps: -1 }), { instanceOf: RangeError, message: /eps must be ≥ 0, got -1/ });
  t.throws(() => ops.layerNormSync({ x: Tensor.zeros([2, 0]) }), { instanceOf: RangeError, message: /empty dimension/ });
  t.true(sameBytes(x, before));
});

test('rmsNorm async form', async (t) => {
  const x = Tensor.randn([3, 8], { seed: 2 });
  const { y } = await ops.rmsNorm({ x });
  t.true(relError(y.data as Float32Array, normRef(x.data, 8, { rms: true, eps: 1e-5, groupSize: 8 }).y) < 1e-6);
});
