// Checks for the xLSTM / GAU group beyond the table-driven zoo test:
// - with every parameter randomised (the paper inits zero some weights, e.g. mLSTM's gate weights and
//   sLSTM's recurrent kernel, which would leave those paths untested), each mixer still matches its
//   float64 reference, in parallel mode and step by step;
// - the inits the papers give.

import test from 'ava';
import '../lib/layers/mixers/index.js';
import { createMixer } from '../lib/layers/registry.js';
import type { Mixer } from '../lib/layers/mixer.js';
import { immediate, ops } from '../lib/ops/index.js';
import { Tensor } from '../lib/tensor.js';
import { Rng } from '../lib/random.js';
import { relError } from './helpers.js';
import { layerReferences } from './reference/layers/index.js';

const D = 24;
const L = 29;

const MIXERS: [string, Record<string, unknown>][] = [
  ['mlstm', {}],
  ['mlstm', { expand: 1, heads: 2, dConv: 2, chunkSize: 8 }],
  ['slstm', {}],
  ['slstm', { heads: 2, dConv: 0 }],
  ['gau', {}],
  ['gau', { expand: 1, qkDim: 8, maxLen: 16 }],
];

function randomise(mixer: Mixer, seed: number, scale: number): void {
  const r = new Rng(seed);
  for (const t of Object.values(mixer.parameters)) {
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] = d[i]! + scale * r.normal();
  }
  // GAU/FLASH's gamma starts near 0 (N(0, 0.02)), which leaves the attention scores ≈ 0: move it to ≈ 1.
  for (const [n, t] of Object.entries(mixer.parameters)) if (n.endsWith('.gamma')) (t.data as Float32Array).forEach((v, i, a) => (a[i] = v + 1));
}

for (const [name, config] of MIXERS) {
  test(`${name} ${JSON.stringify(config)}: randomised parameters still match the reference, parallel and stepped`, (t) => {
    const mixer = createMixer(name, { ...config, dModel: D, seed: 3 });
    randomise(mixer, 5, 0.3);
    const x = Tensor.randn([2, L, D], { seed: 21 });
    const { y } = mixer.forward(immediate, x);
    const ref = layerReferences[name]!.forward(mixer, Float64Array.from(x.toArray()), 2, L);
    const err = relError(y.data as Float32Array, ref);
    t.true(err <= 1e-5, `parallel: relative error ${err}`);
    let state = mixer.createState(2);
    const steps: Tensor[] = [];
    for (let i = 0; i < L; i++) {
      const out = mixer.forward(immediate, ops.sliceSync({ x, axis: 1, start: i, end: i + 1 }).y, state);
      state = out.state!;
      steps.push(out.y);
    }
    const stepped = ops.concatSync({ inputs: steps, axis: 1 }).y;
    const e2 = relError(stepped.data as Float32Array, ref);
    t.true(e2 <= 1e-5, `stepped: relative error ${e2}`);
  });
}

test('mlstm init follows NX-AI: gate weights zero, forget bias linspace(3, 6), skip 1, outnorm offset 0', (t) => {
  const m = createMixer('mlstm', { dModel: D, seed: 1 });
  const p = m.parameters;
  t.true(p['mlstm_cell.igate.weight']!.toArray().every((v) => v === 0));
  t.true(p['mlstm_cell.fgate.weight']!.toArray().every((v) => v === 0));
  t.deepEqual(p['mlstm_cell.fgate.bias']!.toArray(), [3, 4, 5, 6]);
  t.true(p.learnable_skip!.toArray().every((v) => v === 1));
  t.true(p['mlstm_cell.outnorm.weight']!.toArray().every((v) => v === 0));
  t.deepEqual(p['q_proj.weight']!.shape, [48, 48]);
  t.deepEqual(p['mlstm_cell.igate.weight']!.shape, [4, 144]);
});

test('slstm init follows NX-AI: recurrent kernel zeros by default, forget-gate power-law bias, other biases 0', (t) => {
  const m = createMixer('slstm', { dModel: D, seed: 1 });
  const p = m.parameters;
  t.true(p['slstm_cell._recurrent_kernel_']!.toArray().every((v) => v === 0));
  t.deepEqual(p['slstm_cell._recurrent_kernel_']!.shape, [4, 6, 4, 6]);
  const b = p['slstm_cell._bias_']!.toArray(); // [4 heads, 4 gates, 6]
  for (let h = 0; h < 4; h++) {
    for (let g = 0; g < 4; g++) {
      const row = b.slice((h * 4 + g) * 6, (h * 4 + g + 1) * 6);
      if (g === 1) {
        t.true(Math.abs(row[0]! - 5) < 1e-6 && Math.abs(row[5]! + 7) < 1e-6, `forget bias from 5 down to −7: ${row}`);
        for (let j = 1; j < 6; j++) t.true(row[j]! < row[j - 1]!);
      } else t.true(row.every((v) => v === 0));
    }
  }
  const s = createMixer('slstm', { dModel: D, seed: 1, recurrentInit: 'standard' });
  t.true(s.parameters['slstm_cell._recurrent_kernel_']!.toArray().some((v) => v !== 0));
  t.throws(() => createMixer('slstm', { dModel: D, recurrentInit: 'nope' }), { instanceOf: RangeError, message: /recurrentInit/ });
  t.throws(() => createMixer('slstm', { dModel: D, heads: 5 }), { instanceOf: RangeError, message: /heads/ });
});
