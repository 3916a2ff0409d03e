// Language models: every preset and every zoo mixer as a model — prefill equals
// step-by-step decoding; a serialised state restores and continues exactly;
// generation is seeded, handles prompts of different lengths, stops on stop
// tokens and on an aborted signal; bad input gets clear errors.

import test from 'ava';
import { models, LanguageModel, Tensor } from '../lib/index.js';
import { relError } from './helpers.js';

const VOCAB = 61;
const small = { dModel: 24, nLayer: 2, vocabSize: VOCAB, seed: 3 };

function tokenRows(batch: number, L: number, seed: number): number[][] {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) >>> 0) % VOCAB);
  return Array.from({ length: batch }, () => Array.from({ length: L }, next));
}

function layersFor(name: string): number {
  // Enough layers that every kind in a hybrid's pattern appears at least once.
  return ({ jamba: 5, zamba: 6, xlstm: 8, griffin: 3 } as Record<string, number>)[name] ?? 2;
}

for (const name of models.names()) {
  test(`${name}: prefill logits equal step-by-step decoding, and a prefix + steps equal one prefill`, (t) => {
    const m = models.create(name, { ...small, nLayer: layersFor(name) });
    const L = 13;
    const rows = tokenRows(2, L, 5);
    const full = m.forwardSync(rows).logits;
    t.deepEqual(full.shape, [2, L, VOCAB]);
    const state = m.createState({ batch: 2 });
    const prefix = m.forwardSync(rows.map((r) => r.slice(0, 6)), { state }).logits;
    const stepped: Float32Array[] = [];
    for (let i = 6; i < L; i++) stepped.push(m.stepSync(rows.map((r) => r[i]!), state).logits.data as Float32Array);
    t.deepEqual([...state.positions], [L, L]);
    const expected: number[] = [];
    const got: number[] = [];
    for (let b = 0; b < 2; b++) {
      for (let i = 0; i < L; i++) {
        const row = (full.data as Float32Array).subarray((b * L + i) * VOCAB, (b * L + i + 1) * VOCAB);
        expected.push(...row);
        got.push(...(i < 6 ? (prefix.data as Float32Array).subarray((b * 6 + i) * VOCAB, (b * 6 + i + 1) * VOCAB) : stepped[i - 6]!.subarray(b * VOCAB, (b + 1) * VOCAB)));
      }
    }
    const err = relError(got, expected);
    t.true(err <= 1e-5, `relative error ${err}`);
  });
}

test('serialize → restore → continue equals an uninterrupted run; corrupt or foreign bytes are rejected', (t) => {
  const m = models.create('lstm', small);
  const rows = tokenRows(1, 9, 8);
  const a = m.createState();
  m.forwardSync([rows[0]!.slice(0, 5)], { state: a });
  const bytes = a.serialize();
  const b = m.restoreState(bytes);
  t.deepEqual([...b.positions], [5]);
  const tail = [rows[0]!.slice(5)];
  const ya = m.forwardSync(tail, { state: a }).logits.data as Float32Array;
  const yb = m.forwardSync(tail, { state: b }).logits.data as Float32Array;
  t.deepEqual([...yb], [...ya]);
  const corrupt = bytes.slice();
  corrupt[corrupt.length >> 1] ^= 0x40;
  t.throws(() => m.restoreState(corrupt), { instanceOf: RangeError });
  const other = models.create('lstm', { ...small, dModel: 32 });
  t.throws(() => other.restoreState(bytes), { instanceOf: RangeError, message: /config|model/ });
});

test('generation is deterministic for a seed, rows of different lengths decode as they would alone, stop tokens end rows', async (t) => {
  const m = models.create('gru', small);
  const prompts = [tokenRows(1, 7, 1)[0]!, tokenRows(1, 3, 2)[0]!];
  const collect = async (p: number[] | number[][], options: object) => {
    const out: (number | null)[][] = [];
    for await (const step of m.generate(p, { maxTokens: 6, temperature: 0, ...options })) out.push(step.tokens);
    return out;
  };
  const together = await collect(prompts, {});
  const alone = [await collect(prompts[0]!, {}), await collect(prompts[1]!, {})];
  t.is(together.length, 6);
  for (let i = 0; i < 6; i++) t.deepEqual(together[i], [alone[0]![i]![0], alone[1]![i]![0]]);
  const s1 = await collect(prompts, { temperature: 1, seed: 9 });
  const s2 = await collect(prompts, { temperature: 1, seed: 9 });
  const s3 = await collect(prompts, { temperature: 1, seed: 10 });
  t.deepEqual(s1, s2);
  t.notDeepEqual(s1, s3);
  const first = together[0]![0]!;
  const stopped = await collect(prompts[0]!, { stop: [first] });
  t.deepEqual(stopped, [[first]]);
});

test('an aborted signal stops generation promptly', async (t) => {
  const m = models.create('lstm', small);
  const controller = new AbortController();
  const seen: number[] = [];
  let caught: unknown;
  try {
    for await (const step of m.generate([1, 2, 3], { maxTokens: 1000, signal: controller.signal })) {
      seen.push(step.index);
      if (step.index === 2) controller.abort();
    }
  } catch (e) {
    caught = e;
  }
  t.is((caught as { name?: string } | undefined)?.name, 'AbortError');
  t.deepEqual(seen, [0, 1, 2]);
  // Aborted before it starts: nothing is generated.
  await t.throwsAsync(async () => {
    for await (const _ of m.generate([1], { signal: AbortSignal.abort() })) t.fail('no token after an abort');
  }, { any: true, message: /abort/i });
});

test('async forward runs off the event loop and equals forwardSync', async (t) => {
  const m = models.create('lstm', { ...small, dModel: 256, nLayer: 4 });
  const rows = tokenRows(1, 512, 4);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const pending = m.forward(rows);
  const { logits } = await pending;
  clearInterval(timer);
  t.true(ticks > 0, 'the timer fired while the model ran');
  t.deepEqual([...(logits.data as Float32Array).subarray(0, 50)], [...(m.forwardSync(rows).logits.data as Float32Array).subarray(0, 50)]);
});

test('bad input gets clear errors', (t) => {
  t.throws(() => models.create('nope'), { instanceOf: RangeError, message: /unknown model 'nope'/ });
  t.throws(() => models.create('lstm', { dStat: 4 }), { instanceOf: TypeError, message: /unknown option 'dStat'/ });
  t.throws(() => models.create('lstm', { nLayer: 0 }), { instanceOf: RangeError, message: /nLayer/ });
  const m = models.create('lstm', small);
  t.throws(() => m.forwardSync([[1, VOCAB]]), { instanceOf: RangeError, message: /token id 61 at 1 is outside \[0, 61\)/ });
  t.throws(() => m.forwardSync([[1, 2], [3]]), { instanceOf: RangeError, message: /equal lengths/ });
  t.throws(() => m.forwardSync('hello' as never), { instanceOf: TypeError, message: /tokens must be/ });
  t.throws(() => m.forwardSync(new Tensor(new Float32Array(4), [1, 4])), { instanceOf: TypeError, message: /int32/ });
  t.throws(() => m.forwardSync([[1, 2]], { state: m.createState({ batch: 2 }) }), { instanceOf: RangeError, message: /batch 2/ });
  t.throws(() => m.stepSync([1], undefined as never), { instanceOf: TypeError, message: /state is required/ });
  t.throws(() => m.createState({ batch: 0 }), { instanceOf: RangeError, message: /batch/ });
  t.true(m instanceof LanguageModel);
});

test('castWeights stores the matrix weights in bf16/f16 (close logits, half the bytes) and rejects other dtypes', (t) => {
  const m = models.create('mamba', { ...small, seed: 4 });
  const rows = tokenRows(1, 9, 3);
  const before = m.forwardSync(rows).logits.data as Float32Array;
  const bytes = () => Object.values(m.parameters).reduce((n, p) => n + p.data.byteLength, 0);
  const f32Bytes = bytes();
  m.castWeights('bfloat16');
  t.is(m.parameters['backbone.embedding.weight']!.dtype, 'bfloat16');
  t.is(m.parameters['backbone.layers.0.mixer.in_proj.weight']!.dtype, 'bfloat16');
  t.is(m.parameters['backbone.layers.0.mixer.A_log']!.dtype, 'float32', 'state-space parameters stay float32');
  t.true(bytes() < 0.75 * f32Bytes);
  const after = m.forwardSync(rows).logits.data as Float32Array;
  t.true(relError(after, before) < 3e-2, `bf16 weights: relative error ${relError(after, before)}`);
  t.throws(() => m.castWeights('int32' as never), { instanceOf: RangeError, message: /castWeights: dtype must be/ });
});

test("Zamba's wiring (zambaShared / zambaInject): steps equal prefill, state restore, save → load bit-exact, ragged generation, bf16, misuse errors", async (t) => {
  const attention = { heads: 4, kvHeads: 2, headDim: 12, ropeFraction: 0, dOut: 24, scale: Math.SQRT2 / Math.sqrt(12) };
  const mamba = { dState: 4, expand: 2, dtRank: 4, heads: 2 };
  const shared = { mixer: 'attention', mixerConfig: attention, mlp: 'geglu-exact', sharedGroup: 'shared', zambaShared: true } as const;
  const inject = { mixer: 'mamba', mixerConfig: mamba, mlp: 'none', zambaInject: true } as const;
  const plain = { mixer: 'mamba', mixerConfig: mamba, mlp: 'none' } as const;
  const config = {
    architecture: 'zamba-test', vocabSize: VOCAB, dModel: 24, layers: [plain, shared, inject, shared, inject, plain] as never[], norm: 'rms' as const, normEps: 1e-5,
    mlpHidden: 32, experts: 1, topK: 1, tieEmbeddings: true, seed: 5,
  };
  const m = models.fromConfig(config);
  t.deepEqual(m.parameters['backbone.shared.shared.norm.weight']!.shape, [48], 'the shared block reads [x ‖ embeddings]');
  const rows = tokenRows(2, 9, 11);
  const full = m.forwardSync(rows).logits.data as Float32Array;
  const state = m.createState({ batch: 2 });
  m.forwardSync(rows.map((r) => r.slice(0, 4)), { state });
  const bytes = state.serialize();
  let last: Float32Array = new Float32Array();
  for (let i = 4; i < 9; i++) last = m.stepSync(rows.map((r) => r[i]!), state).logits.data as Float32Array;
  const ref = Float32Array.from({ length: 2 * VOCAB }, (_, j) => full[(Math.floor(j / VOCAB) * 9 + 8) * VOCAB + (j % VOCAB)]!);
  t.true(relError(last, ref) <= 1e-5, 'prefix + steps equal one prefill');
  const cont = m.forwardSync(rows.map((r) => r.slice(4)), { state: m.restoreState(bytes), lastOnly: true }).logits.data as Float32Array;
  t.true(relError(cont, ref) <= 1e-5, 'a restored state continues');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'crossroad-zamba-'));
  try {
    m.save(dir);
    t.deepEqual([...((await models.load(dir)).forwardSync(rows).logits.data as Float32Array)], [...full], 'save → load is bit-exact');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const out: (number | null)[] = [];
  for await (const step of m.generate([rows[0]!.slice(0, 6), rows[1]!.slice(0, 3)], { maxTokens: 3, temperature: 0 })) out.push(step.tokens[1]!);
  const alone: (number | null)[] = [];
  for await (const step of m.generate(rows[1]!.slice(0, 3), { maxTokens: 3, temperature: 0 })) alone.push(step.tokens[0]!);
  t.deepEqual(out, alone, 'rows of different lengths decode as they would alone');
  m.castWeights('bfloat16');
  t.is(m.parameters['backbone.layers.2.linear.weight']!.dtype, 'bfloat16', "the hybrid layer's linear is a matrix weight too");
  t.true(relError(m.forwardSync(rows).logits.data as Float32Array, full) < 3e-2);
  t.throws(() => models.fromConfig({ ...config, layers: [plain, shared] as never[] }), { instanceOf: RangeError, message: /zambaShared/ });
  t.throws(() => models.fromConfig({ ...config, layers: [plain, inject] as never[] }), { instanceOf: RangeError, message: /zambaInject/ });
});
