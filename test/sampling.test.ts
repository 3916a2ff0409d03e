// Token sampling: greedy, temperature, top-k, top-p, determinism for a seed.

import test from 'ava';
import { Rng } from '../lib/random.js';
import { checkSampling, sampleToken } from '../lib/generate/sampling.js';

const logits = Float32Array.from([1, 3, 2, -1, 2.5]);

test('temperature 0 and topK 1 are greedy', (t) => {
  t.is(sampleToken(logits, checkSampling('t', { temperature: 0 }), new Rng(1)), 1);
  t.is(sampleToken(logits, checkSampling('t', { topK: 1 }), new Rng(1)), 1);
});

test('sampling frequencies follow softmax(logits / T)', (t) => {
  const rng = new Rng(7);
  const counts = new Array(5).fill(0);
  const opts = checkSampling('t', { temperature: 2 });
  const draws = 40000;
  for (let i = 0; i < draws; i++) counts[sampleToken(logits, opts, rng)]++;
  const p = Array.from(logits, (l) => Math.exp(l / 2));
  const z = p.reduce((a, b) => a + b, 0);
  p.forEach((pi, i) => t.true(Math.abs(counts[i] / draws - pi / z) < 0.01, `token ${i}: ${counts[i] / draws} vs ${pi / z}`));
});

test('topK and topP restrict the candidates', (t) => {
  const rng = new Rng(3);
  const seenK = new Set<number>();
  for (let i = 0; i < 2000; i++) seenK.add(sampleToken(logits, checkSampling('t', { topK: 2 }), rng));
  t.deepEqual([...seenK].sort(), [1, 4]);
  // probabilities at T=1: token 1 ≈ 0.47, token 4 ≈ 0.29, token 2 ≈ 0.17 → topP 0.7 keeps {1, 4}
  const seenP = new Set<number>();
  for (let i = 0; i < 2000; i++) seenP.add(sampleToken(logits, checkSampling('t', { topP: 0.7 }), rng));
  t.deepEqual([...seenP].sort(), [1, 4]);
});

test('the same seed gives the same tokens', (t) => {
  const a = new Rng(11);
  const b = new Rng(11);
  const opts = checkSampling('t', { temperature: 0.8, topP: 0.9 });
  const x = Array.from({ length: 50 }, () => sampleToken(logits, opts, a));
  const y = Array.from({ length: 50 }, () => sampleToken(logits, opts, b));
  t.deepEqual(x, y);
});

test('bad options are rejected', (t) => {
  t.throws(() => checkSampling('generate', { temperature: -1 }), { instanceOf: RangeError, message: /temperature must be a finite number ≥ 0, got -1/ });
  t.throws(() => checkSampling('generate', { topK: 1.5 }), { instanceOf: RangeError, message: /topK must be an integer ≥ 0/ });
  t.throws(() => checkSampling('generate', { topP: 0 }), { instanceOf: RangeError, message: /topP must be in \(0, 1\]/ });
});
