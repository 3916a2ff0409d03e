// KVCache (lib/kv-cache.ts): chunked appends, the sliding-window ring and
// ragged batch rows, each against one float64 reference pass over the whole
// sequence (test/reference/attention.ts).

import test from 'ava';
import { KVCache, ops, Tensor } from '../lib/index.js';
import { attentionRef } from './reference/attention.js';
import { forEachIsa, relError, sameBytes, snapshot } from './helpers.js';

interface Sequence {
  q: Tensor;
  k: Tensor;
  v: Tensor;
}

function sequence(b: number, L: number, H: number, Hkv: number, D: number, seed: number): Sequence {
  return {
    q: Tensor.randn([b, L, H, D], { seed }),
    k: Tensor.randn([b, L, Hkv, D], { seed: seed + 1 }),
    v: Tensor.randn([b, L, Hkv, D], { seed: seed + 2 }),
  };
}

const chunkOf = (x: Tensor, start: number, end: number) => ops.sliceSync({ x, axis: 1, start, end }).y;

/** Feeds a sequence to a cache in chunks of the given sizes; returns the outputs joined along the sequence. */
function feed(cache: KVCache, s: Sequence, chunks: number[]): Float32Array {
  const outputs: Tensor[] = [];
  let start = 0;
  for (const n of chunks) {
    const end = start + n;
    outputs.push(cache.attendSync({ q: chunkOf(s.q, start, end), k: chunkOf(s.k, start, end), v: chunkOf(s.v, start, end) }).o);
    start = end;
  }
  return ops.concatSync({ inputs: outputs, axis: 1 }).y.data as Float32Array;
}

test('appends across calls (growing the storage) equal one causal pass over the whole sequence', async (t) => {
  const [b, L, H, Hkv, D] = [2, 37, 4, 2, 16];
  const s = sequence(b, L, H, Hkv, D, 1);
  const ref = attentionRef(s.q.data, s.k.data, s.v.data, { b, Tq: L, Tk: L, H, Hkv, D }, { causal: true });
  forEachIsa((isa) => {
    const cache = new KVCache({ batch: b, kvHeads: Hkv, headDim: D, capacity: 8 });
    const o = feed(cache, s, [5, 1, 1, 13, 1, 16]);
    t.true(relError(o, ref) < 1e-5, `${isa}: ${relError(o, ref)}`);
    t.deepEqual(cache.lengths, [L, L]);
    t.is(cache.capacity, 64);
    // contents() gives back exactly what went in.
    const { k, v, lengths } = cache.contents();
    t.deepEqual(Array.from(k.data), Array.from(s.k.data));
    t.deepEqual(Array.from(v.data), Array.from(s.v.data));
    t.deepEqual(Array.from(lengths.data), [L, L]);
  });
  // The async form, one decode step after a prefill, against the same reference rows.
  const cache = new KVCache({ batch: b, kvHeads: Hkv, headDim: D });
  cache.append(chunkOf(s.k, 0, L - 1), chunkOf(s.v, 0, L - 1));
  const { o } = await cache.attend({ q: chunkOf(s.q, L - 1, L), k: chunkOf(s.k, L - 1, L), v: chunkOf(s.v, L - 1, L) });
  const lastRows = new Float64Array(b * H * D);
  for (let r = 0; r < b; r++) lastRows.set(ref.subarray(((r * L + L - 1) * H) * D, ((r * L + L) * H) * D), r * H * D);
  t.true(relError(o.data as Float32Array, lastRows) < 1e-5);
});

for (const window of [1, 8, 100]) {
  test(`a ring of window = ${window} slots, wrapping around, equals full attention with that window`, (t) => {
    const [b, L, H, Hkv, D] = [2, 45, 3, 1, 16];
    const s = sequence(b, L, H, Hkv, D, 10 + window);
    const ref = attentionRef(s.q.data, s.k.data, s.v.data, { b, Tq: L, Tk: L, H, Hkv, D }, { causal: true, window });
    forEachIsa((isa) => {
      const cache = new KVCache({ batch: b, kvHeads: Hkv, headDim: D, window });
      const bytes = cache.bytes;
      // Single tokens (the ring in place), chunks shorter and longer than the window.
      const o = feed(cache, s, [3, 1, 1, 10, 1, 1, 1, 20, 1, 1, 5]);
      t.true(relError(o, ref) < 1e-5, `${isa}: ${relError(o, ref)}`);
      t.is(cache.bytes, bytes, 'the ring never grows');
      t.deepEqual(cache.lengths, [L, L]);
      t.deepEqual(cache.held, [Math.min(L, window), Math.min(L, window)]);
      // The ring holds the last `window` tokens; contents() gives them oldest first.
      const held = Math.min(L, window);
      const { k } = cache.contents();
      const expected = chunkOf(s.k, L - held, L);
      t.deepEqual(Array.from(k.data), Array.from(expected.data));
    });
  });
}

test('ragged batch rows (left-padded chunks with per-row counts) match each row attended on its own', (t) => {
  const [b, H, Hkv, D] = [3, 4, 2, 16];
  // Per call: T and the real new tokens of each row.
  const calls: [number, number[]][] = [
    [5, [5, 2, 0]],
    [1, [1, 1, 1]],
    [4, [0, 4, 3]],
    [1, [1, 0, 1]],
    [9, [9, 9, 2]],
    [1, [1, 1, 0]],
  ];
  const total = [0, 1, 2].map((r) => calls.reduce((n, [, counts]) => n + counts[r]!, 0));
  const rows = total.map((L, r) => sequence(1, L, H, Hkv, D, 30 + r));
  for (const window of [undefined, 6]) {
    const refs = rows.map((s, r) =>
      attentionRef(s.q.data, s.k.data, s.v.data, { b: 1, Tq: total[r]!, Tk: total[r]!, H, Hkv, D }, { causal: true, window }),
    );
    forEachIsa((isa) => {
      const cache = new KVCache({ batch: b, kvHeads: Hkv, headDim: D, window, capacity: window ? undefined : 4 });
      const done = [0, 0, 0];
      for (const [T, counts] of calls) {
        // Left padding: row r's tokens go to the last counts[r] of the T places; the rest is NaN,
        // which must never reach a real row.
        const chunk = (which: 'q' | 'k' | 'v', heads: number) => {
          const x = Tensor.full([b, T, heads, D], NaN);
          for (let r = 0; r < b; r++) {
            const row = heads * D;
            const src = rows[r]![which].data.subarray(done[r]! * row, (done[r]! + counts[r]!) * row);
            x.data.set(src, (r * T + T - counts[r]!) * row);
          }
          return x;
        };
        const q = chunk('q', H);
        const k = chunk('k', Hkv);
        const v = chunk('v', Hkv);
        const before = [q, k, v].map(snapshot);
        const { o } = cache.attendSync({ q, k, v, counts });
        [q, k, v].forEach((x, i) => t.true(sameBytes(x, before[i]!), 'an input was modified'));
        for (let r = 0; r < b; r++) {
          const n = counts[r]!;
          if (n === 0) continue;
          const got = o.data.subarray((r * T + T - n) * H * D, (r * T + T) * H * D);
          const want = refs[r]!.subarray(done[r]! * H * D, (done[r]! + n) * H * D);
          const err = relError(got, want);
          t.true(err < 1e-5, `${isa} window=${window} row ${r} tokens ${done[r]}..${done[r]! + n}: ${err}`);
          done[r]! += n;
        }
      }
      t.deepEqual(cache.lengths, total);
    });
  }
});

test('clone gives an independent cache; reset forgets the tokens', (t) => {
  const s = sequence(1, 10, 2, 2, 16, 50);
  const cache = new KVCache({ batch: 1, kvHeads: 2, headDim: 16 });
  feed(cache, s, [6]);
  const branch = cache.clone();
  const a = feed(cache, s, [4]);
  t.deepEqual(branch.lengths, [6]);
  const b = feed(branch, s, [4]);
  t.deepEqual(Array.from(a), Array.from(b));
  branch.reset();
  t.deepEqual(branch.lengths, [0]);
  t.deepEqual(cache.lengths, [10]);
});

test('KVCache rejects bad options and arguments with a TypeError or RangeError naming them', (t) => {
  t.throws(() => new KVCache(undefined as never), { instanceOf: TypeError, message: /KVCache: expected an options object/ });
  t.throws(() => new KVCache({ batch: 1, kvHeads: 2 } as never), { instanceOf: TypeError, message: /KVCache: headDim must be a positive integer, got undefined/ });
  t.throws(() => new KVCache({ batch: 0, kvHeads: 2, headDim: 8 }), { instanceOf: RangeError, message: /KVCache: batch must be a positive integer, got number 0/ });
  t.throws(() => new KVCache({ batch: 1, kvHeads: 2, headDim: 8, window: 2.5 }), { instanceOf: RangeError, message: /KVCache: window must be a positive integer/ });
  t.throws(() => new KVCache({ batch: 1, kvHeads: 2, headDim: 8, window: 4, capacity: 8 }), { instanceOf: RangeError, message: /capacity is for a full cache/ });
  t.throws(() => new KVCache({ batch: 1, kvHeads: 2, headDim: 8, size: 3 } as never), { instanceOf: TypeError, message: /KVCache: unknown option 'size'/ });
  t.throws(() => new KVCache({ batch: 1, kvHeads: 2, headDim: 8, device: 'gpu' as 'cuda' }), { instanceOf: TypeError, message: /KVCache: device must be 'cpu' or 'cuda', got "gpu"/ });

  const cache = new KVCache({ batch: 2, kvHeads: 2, headDim: 8 });
  const q = Tensor.randn([2, 3, 4, 8], { seed: 1 });
  const k = Tensor.randn([2, 3, 2, 8], { seed: 2 });
  const v = Tensor.randn([2, 3, 2, 8], { seed: 3 });
  const bad = (args: unknown, instanceOf: typeof TypeError | typeof RangeError, message: RegExp) =>
    t.throws(() => cache.attendSync(args as never), { instanceOf, message });
  bad(null, TypeError, /KVCache\.attend: expected one arguments object/);
  bad({ q, k }, TypeError, /KVCache\.attend: v must be a Tensor, got undefined/);
  bad({ q, k, v, causal: true }, TypeError, /KVCache\.attend: unknown argument 'causal'/);
  bad({ q, k: Tensor.zeros([2, 3, 1, 8]), v }, RangeError, /KVCache\.attend: k must have shape \[batch=2, T ≥ 1, kvHeads=2, headDim=8\], got \[2, 3, 1, 8\]/);
  bad({ q, k, v: Tensor.zeros([2, 2, 2, 8]) }, RangeError, /KVCache\.attend: v must have k's shape \[2, 3, 2, 8\], got \[2, 2, 2, 8\]/);
  bad({ q, k: k.toBFloat16(), v }, TypeError, /KVCache\.attend: k must be float32, got bfloat16/);
  bad({ q: Tensor.zeros([2, 2, 4, 8]), k, v }, RangeError, /KVCache\.attend: q must have shape \[batch=2, T=3, H, headDim=8\], got \[2, 2, 4, 8\]/);
  bad({ q: Tensor.zeros([2, 3, 3, 8]), k, v }, RangeError, /KVCache\.attend: q's heads \(3\) must be a multiple of kvHeads \(2\)/);
  bad({ q, k, v, scale: NaN }, RangeError, /KVCache\.attend: scale must be a finite number, got/);
  bad({ q, k, v, softcap: -2 }, RangeError, /KVCache\.attend: softcap must be a finite number ≥ 0, got number -2/);
  bad({ q, k, v, counts: [3] }, TypeError, /KVCache\.attend: counts must be an array of 2 integers/);
  bad({ q, k, v, counts: [3, 4] }, RangeError, /KVCache\.attend: counts\[1\] must be an integer in \[0, T=3\], got number 4/);
  t.throws(() => cache.append(k, Tensor.zeros([2, 3, 2, 4])), { instanceOf: RangeError, message: /KVCache\.append: v must have shape/ });
  // A call that fails writes nothing.
  t.deepEqual(cache.lengths, [0, 0]);
});
