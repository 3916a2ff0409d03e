// Checks specific to the linear-attention mixers beyond the table-driven zoo
// test: the Performer's random features (orthogonal blocks, chi/√K norms,
// featureSeed and redraw), that FAVOR+ with many features approximates causal
// softmax attention, that huge inputs stay finite (the stabiliser), and that
// every mixer here runs one linearAttention call per forward in both modes.

import test from 'ava';
import '../lib/layers/mixers/index.js';
import { createMixer } from '../lib/layers/registry.js';
import type { Mixer } from '../lib/layers/mixer.js';
import { immediate, type OpRunner } from '../lib/ops/index.js';
import { Tensor } from '../lib/tensor.js';
import { relError } from './helpers.js';
import { linear } from './reference/layers/common.js';

const D = 24;

function projection(mixer: Mixer): { P: Float64Array; m: number; K: number } {
  const t = mixer.parameters['fast_attention.projection_matrix']!;
  return { P: Float64Array.from(t.toArray()), m: t.shape[0]!, K: t.shape[1]! };
}

function row(P: Float64Array, K: number, i: number): Float64Array {
  return P.subarray(i * K, (i + 1) * K);
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, e, i) => s + e * b[i]!, 0);

test('performer: rows of ω are orthogonal within each block, not across blocks; norms chi-distributed or √K', (t) => {
  for (const orthoScaling of [0, 1]) {
    const mixer = createMixer('performer', { dModel: D, seed: 3, numFeatures: 40, orthoScaling });
    const { P, m, K } = projection(mixer);
    t.is(K, 12);
    t.is(m, 40);
    let across = 0;
    for (let i = 0; i < m; i++) {
      const a = row(P, K, i);
      if (orthoScaling === 1) t.true(Math.abs(Math.sqrt(dot(a, a)) - Math.sqrt(K)) < 1e-5, `row ${i} norm`);
      for (let j = i + 1; j < m; j++) {
        const b = row(P, K, j);
        const cos = dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
        if (Math.floor(i / K) === Math.floor(j / K)) t.true(Math.abs(cos) < 1e-6, `rows ${i}, ${j}: cos ${cos}`);
        else across = Math.max(across, Math.abs(cos));
      }
    }
    t.true(across > 0.1, 'rows of different blocks are independent, not orthogonal');
    if (orthoScaling === 0) {
      const norms = Array.from({ length: m }, (_, i) => Math.sqrt(dot(row(P, K, i), row(P, K, i))));
      t.true(new Set(norms.map((n) => n.toFixed(6))).size === m, 'chi norms differ row to row');
      const meanSq = norms.reduce((s, n) => s + n * n, 0) / m;
      t.true(meanSq > K / 2 && meanSq < 2 * K, `E‖ω‖² ≈ K: ${meanSq}`);
    }
  }
  // The default feature count is ⌊K ln K⌋ (performer-pytorch), here 2 full blocks of 12 and 5 rows.
  t.is(projection(createMixer('performer', { dModel: D })).m, Math.floor(12 * Math.log(12)));
});

test('performer: featureSeed draws the features; redrawFeatures(seed) equals creating with that seed', (t) => {
  const a = createMixer('performer', { dModel: D, seed: 5, featureSeed: 1 });
  const b = createMixer('performer', { dModel: D, seed: 5, featureSeed: 2 });
  const a2 = createMixer('performer', { dModel: D, seed: 5, featureSeed: 1 });
  const c = createMixer('performer', { dModel: D, seed: 6, featureSeed: 1 });
  t.deepEqual(projection(a).P, projection(a2).P, 'same seeds, same features');
  t.true(relError(projection(a).P, projection(b).P) > 0.5, 'another featureSeed, other features');
  t.true(relError(projection(a).P, projection(c).P) > 0.5, 'layers with other seeds get other features');
  t.deepEqual(a.parameters['to_q.weight']!.toArray(), b.parameters['to_q.weight']!.toArray(), 'the trainable weights do not depend on featureSeed');
  const x = Tensor.randn([2, 9, D], { seed: 4 });
  const ya = a.forward(immediate, x).y.toArray();
  (a as unknown as { redrawFeatures(s: number): void }).redrawFeatures(2);
  t.is(a.config.featureSeed, 2);
  t.deepEqual(projection(a).P, projection(b).P);
  t.deepEqual(a.forward(immediate, x).y.toArray(), b.forward(immediate, x).y.toArray());
  t.true(relError(ya, Float64Array.from(b.forward(immediate, x).y.toArray())) > 1e-3, 'redrawn features change the output');
});

/** Float64 causal softmax attention with the Performer's own projections (scale K^−1/2), through to_out. */
function softmaxAttention(mixer: Mixer, x: Float64Array, batch: number, L: number): Float64Array {
  const H = mixer.config.heads as number;
  const K = D / H;
  const p = (n: string) => Float64Array.from(mixer.parameters[n]!.toArray());
  const rows = batch * L;
  const q = linear(x, rows, D, p('to_q.weight'), D);
  const k = linear(x, rows, D, p('to_k.weight'), D);
  const v = linear(x, rows, D, p('to_v.weight'), D);
  const y = new Float64Array(rows * D);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < L; t++) {
        const at = (b * L + t) * D + h * K;
        const w = Array.from({ length: t + 1 }, (_, s) => {
          let e = 0;
          for (let i = 0; i < K; i++) e += q[at + i]! * k[(b * L + s) * D + h * K + i]!;
          return Math.exp(e / Math.sqrt(K));
        });
        const z = w.reduce((s, e) => s + e, 0);
        for (let c = 0; c < K; c++) y[at + c] = w.reduce((s, e, si) => s + e * v[(b * L + si) * D + h * K + c]!, 0) / z;
      }
    }
  }
  return linear(y, rows, D, p('to_out.weight'), D, p('to_out.bias'));
}

// The estimator's variance grows like exp(‖q̃ + k̃‖²)/m, so inputs of modest norm (|q·k|/√K ≲ 1) are
// used; the error then falls roughly as 1/√m (≈ 0.07 at m = 64, ≈ 0.01 at m = 4096 for these seeds).
test('performer: with many random features it approximates causal softmax attention', (t) => {
  const x = Tensor.randn([2, 37, D], { seed: 8, std: 0.5 });
  const errs: Record<number, number> = {};
  for (const m of [64, 4096]) {
    const mixer = createMixer('performer', { dModel: D, seed: 2, numFeatures: m });
    const approx = mixer.forward(immediate, x).y;
    // Compare the attention outputs with to_out's bias removed (it would flatter the error).
    const bias = mixer.parameters['to_out.bias']!.toArray();
    const exact = softmaxAttention(mixer, Float64Array.from(x.toArray()), 2, 37).map((e, i) => e - bias[i % D]!);
    errs[m] = relError(Float64Array.from(approx.toArray()).map((e, i) => e - bias[i % D]!), exact);
  }
  t.log(`relative error vs softmax attention: m = 64: ${errs[64]!.toFixed(4)}, m = 4096: ${errs[4096]!.toFixed(4)}`);
  t.true(errs[4096]! < 0.05, `m = 4096: ${errs[4096]}`);
  t.true(errs[4096]! < errs[64]! / 2, 'more features, smaller error');
});

test('performer: inputs of huge norm stay finite (per-token query stabiliser, bounded key features)', (t) => {
  const mixer = createMixer('performer', { dModel: D, seed: 1 });
  for (const std of [30, 1000]) {
    const x = Tensor.randn([1, 37, D], { seed: 9, std });
    const y = mixer.forward(immediate, x, mixer.createState(1));
    t.true(y.y.toArray().every(Number.isFinite), `output finite at std ${std}`);
    t.true((y.state!.S as Tensor).toArray().every(Number.isFinite), `state finite at std ${std}`);
  }
});

/** Counts the op calls of one forward. */
function opCalls(mixer: Mixer, L: number, withState: boolean): { counts: Record<string, number>; la: Record<string, unknown>[] } {
  const counts: Record<string, number> = {};
  const la: Record<string, unknown>[] = [];
  const runner = Object.fromEntries(
    Object.entries(immediate).map(([name, op]) => [
      name,
      (args: Record<string, unknown>) => {
        counts[name] = (counts[name] ?? 0) + 1;
        if (name === 'linearAttention') la.push(args);
        return (op as (a: unknown) => unknown)(args);
      },
    ]),
  ) as unknown as OpRunner;
  mixer.forward(runner, Tensor.randn([2, L, D], { seed: 3 }), withState ? mixer.createState(2) : undefined);
  return { counts, la };
}

for (const name of ['linear-transformer', 'performer', 'retnet', 'gla']) {
  test(`${name}: one linearAttention call per forward, the same ops for a sequence and for one token`, (t) => {
    const mixer = createMixer(name, { dModel: D, seed: 1 });
    const seq = opCalls(mixer, 37, true);
    const step = opCalls(mixer, 1, true);
    t.is(seq.counts.linearAttention, 1);
    t.deepEqual(seq.counts, step.counts, 'no op issued per time step');
    const total = Object.values(seq.counts).reduce((s, n) => s + n, 0);
    t.true(total <= 16, `${total} ops`);
    // 37 tokens with the default chunk size 32: the chunked kernel (auto picks it for T ≥ chunkSize/2).
    const q = seq.la[0]!.q as Tensor;
    t.is(q.shape[1], 37);
    t.is(seq.la[0]!.chunkSize, undefined);
    t.is(seq.la[0]!.mode, undefined);
  });
}

test('retnet: the decay fed to linearAttention is log(1 − 2^(−5−h)) per head, for every token', (t) => {
  const mixer = createMixer('retnet', { dModel: D, seed: 1, heads: 3, valueFactor: 1 });
  const { la } = opCalls(mixer, 5, false);
  const g = (la[0]!.g as Tensor).toArray();
  t.is(g.length, 2 * 5 * 3);
  g.forEach((e, i) => t.true(Math.abs(e - Math.log(1 - 2 ** (-5 - (i % 3)))) < 1e-7));
});

test('gla: the per-key-channel log decay is in (log σ(·))/16, i.e. α in (0, 1) and near 1 at init', (t) => {
  const mixer = createMixer('gla', { dModel: D, seed: 1 });
  const { la } = opCalls(mixer, 7, false);
  const gk = (la[0]!.gk as Tensor).toArray();
  t.deepEqual((la[0]!.gk as Tensor).shape, [2, 7, 4, 3]);
  t.true(gk.every((e) => e < 0 && e > -0.2), 'log α ∈ (−0.2, 0)');
});
