// Checks for the xLSTM / GAU group beyond the table-driven zoo test:
// - with every parameter randomised (the paper inits zero some weights, e.g. mLSTM's gate weights and
//   sLSTM's recurrent kernel, which would leave those paths untested), each mixer still matches its
//   float64 reference, in parallel mode and step by step;
// - the inits the papers give;
// - flash with one chunk over the whole sequence is gau; flash's open-chunk buffer and count; gau's growing state.

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
  ['flash', {}],
  ['flash', { expand: 1, qkDim: 8, chunk: 5, maxLen: 16 }],
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
  t.deepEqual(p['q_proj.weight']!.shape, [12, 4, 4]);
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

test('flash with one chunk covering the sequence is gau (normaliser C) with its quadratic q/k rows', (t) => {
  const C = 12;
  const flash = createMixer('flash', { dModel: D, seed: 4, chunk: C, maxLen: 50 });
  randomise(flash, 8, 0.3);
  const gau = createMixer('gau', { dModel: D, seed: 9, maxLen: C });
  for (const [n, v] of Object.entries(gau.parameters)) {
    const src = n.startsWith('offsetscale.') ? flash.parameters[n.replace('offsetscale.', 'qk_offset_scale.')]! : flash.parameters[n]!;
    const s = 16;
    const d = v.data as Float32Array;
    if (n.startsWith('offsetscale.')) {
      d.set((src.data as Float32Array).subarray(0, s), 0); // q_quad
      d.set((src.data as Float32Array).subarray(2 * s, 3 * s), s); // k_quad
    } else d.set(src.data as Float32Array);
  }
  const x = Tensor.randn([2, C, D], { seed: 2 });
  const a = flash.forward(immediate, x).y;
  const b = gau.forward(immediate, x).y;
  t.true(relError(a.data as Float32Array, Float64Array.from(b.toArray())) <= 1e-5);
  // Past one chunk the global (linear) part comes in and they differ.
  const x2 = Tensor.randn([2, 2 * C + 3, D], { seed: 2 });
  t.true(relError(flash.forward(immediate, x2).y.data as Float32Array, Float64Array.from(gau.forward(immediate, x2).y.toArray())) > 1e-3);
});

test('flash state: count runs through the chunk; the buffers hold the open chunk, zero after it', (t) => {
  const m = createMixer('flash', { dModel: D, seed: 1, chunk: 5 });
  let state = m.createState(2);
  const counts: number[] = [];
  for (let i = 0; i < 7; i++) {
    state = m.forward(immediate, Tensor.randn([2, 1, D], { seed: 30 + i }), state).state!;
    counts.push(state.count as number);
  }
  t.deepEqual(counts, [1, 2, 3, 4, 0, 1, 2]);
  const z = (state.z as Tensor).toArray(); // [2, 5, 16]
  for (let b = 0; b < 2; b++) {
    for (let r = 0; r < 5; r++) {
      const row = z.slice((b * 5 + r) * 16, (b * 5 + r + 1) * 16);
      t.is(row.some((v) => v !== 0), r < 2, `row ${r}`);
    }
  }
  t.throws(() => m.forward(immediate, Tensor.randn([2, 1, D], { seed: 1 }), { ...state, count: 5 }), { instanceOf: RangeError, message: /flash: state.count/ });
});

test('gau state grows by the new tokens and keeps the earlier rows', (t) => {
  const m = createMixer('gau', { dModel: D, seed: 1 });
  const s1 = m.forward(immediate, Tensor.randn([2, 3, D], { seed: 1 }), m.createState(2)).state!;
  const s2 = m.forward(immediate, Tensor.randn([2, 2, D], { seed: 2 }), s1).state!;
  t.deepEqual((s1.k as Tensor).shape, [2, 3, 16]);
  t.deepEqual((s2.v as Tensor).shape, [2, 5, 48]);
  const k1 = (s1.k as Tensor).toArray();
  const k2 = (s2.k as Tensor).toArray();
  t.deepEqual(k2.slice(0, 3 * 16), k1.slice(0, 3 * 16));
  t.throws(() => m.forward(immediate, Tensor.randn([2, 1, D], { seed: 1 }), { k: s1.k, v: s2.v } as never), { instanceOf: RangeError, message: /gau: state/ });
});
