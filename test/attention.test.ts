// attention (native/cpu/attention.cc) against the float64 reference in
// test/reference/attention.ts, on every instruction set, outputs NaN-poisoned.

import test from 'ava';
import { getNumThreads, ops, setNumThreads, Tensor } from '../lib/index.js';
import { attentionRef, type AttentionRefOptions } from './reference/attention.js';
import { forEachIsa, relError, sameBytes, snapshot } from './helpers.js';

interface Case {
  b?: number;
  Tq: number;
  Tk?: number;
  H: number;
  Hkv?: number;
  D: number;
  causal?: boolean;
  window?: number;
  softcap?: number;
  scale?: number;
  kvLengths?: number[];
  /** multiplies q: large values make the running max move by a lot between tiles */
  qStd?: number;
}

function describeCase(c: Case): string {
  const parts = [`b=${c.b ?? 1} Tq=${c.Tq} Tk=${c.Tk ?? c.Tq} H=${c.H} Hkv=${c.Hkv ?? c.H} D=${c.D}`];
  if (c.causal) parts.push('causal');
  if (c.window) parts.push(`window=${c.window}`);
  if (c.softcap) parts.push(`softcap=${c.softcap}`);
  if (c.scale !== undefined) parts.push(`scale=${c.scale}`);
  if (c.kvLengths) parts.push(`kvLengths=[${c.kvLengths.join(',')}]`);
  if (c.qStd) parts.push(`|q|×${c.qStd}`);
  return parts.join(' ');
}

function inputs(c: Case, seed: number) {
  const b = c.b ?? 1;
  const Tk = c.Tk ?? c.Tq;
  const Hkv = c.Hkv ?? c.H;
  return {
    q: Tensor.randn([b, c.Tq, c.H, c.D], { seed, std: c.qStd ?? 1 }),
    k: Tensor.randn([b, Tk, Hkv, c.D], { seed: seed + 1 }),
    v: Tensor.randn([b, Tk, Hkv, c.D], { seed: seed + 2 }),
    kvLengths: c.kvLengths ? Tensor.from(c.kvLengths, [b], 'int32') : undefined,
    dims: { b, Tq: c.Tq, Tk, H: c.H, Hkv, D: c.D },
  };
}

function refOptions(c: Case): AttentionRefOptions {
  return { causal: c.causal, window: c.window, softcap: c.softcap, scale: c.scale, kvLengths: c.kvLengths };
}

function opOptions(c: Case) {
  return { causal: c.causal, window: c.window, softcap: c.softcap, scale: c.scale };
}

/** Runs a case on every ISA against the reference (the reference is O(Tq·Tk·H·D): keep large cases few). */
function checkCase(t: import('ava').ExecutionContext, c: Case, seed = 1, tolerance = 1e-5): void {
  const { q, k, v, kvLengths, dims } = inputs(c, seed);
  const ref = attentionRef(q.data, k.data, v.data, dims, refOptions(c));
  forEachIsa((isa) => {
    const { o } = ops.attentionSync({ q, k, v, kvLengths, ...opOptions(c) });
    t.deepEqual(o.shape, q.shape);
    const err = relError(o.data as Float32Array, ref);
    t.true(err <= tolerance, `${isa} ${describeCase(c)}: relative error ${err}`);
  });
}

test('the reference computes a hand-worked example', (t) => {
  // One query [1, 0], keys [1, 0] and [0, 1], scale 1: weights e/(e+1), 1/(e+1).
  const e = Math.E;
  const o = attentionRef([1, 0], [1, 0, 0, 1], [10, 0, 0, 20], { b: 1, Tq: 1, Tk: 2, H: 1, Hkv: 1, D: 2 }, { scale: 1 });
  t.true(Math.abs(o[0]! - (10 * e) / (e + 1)) < 1e-12 && Math.abs(o[1]! - 20 / (e + 1)) < 1e-12);
  // Causal, two queries over two keys: the first sees only key 0.
  const c = attentionRef([1, 0, 1, 0], [1, 0, 0, 1], [10, 0, 0, 20], { b: 1, Tq: 2, Tk: 2, H: 1, Hkv: 1, D: 2 }, { scale: 1, causal: true });
  t.deepEqual(Array.from(c.subarray(0, 2)), [10, 0]);
  // window 1: each query sees only itself.
  const w = attentionRef([1, 0, 1, 0], [1, 0, 0, 1], [10, 0, 0, 20], { b: 1, Tq: 2, Tk: 2, H: 1, Hkv: 1, D: 2 }, { scale: 1, causal: true, window: 1 });
  t.deepEqual(Array.from(w), [10, 0, 0, 20]);
  // Softcap 1 bounds the score: tanh(5) for a q·k of 5.
  const s = attentionRef([5, 0], [1, 0, 0, 1], [1, 0, 0, 1], { b: 1, Tq: 1, Tk: 2, H: 1, Hkv: 1, D: 2 }, { scale: 1, softcap: 1 });
  const p = Math.exp(Math.tanh(5)) / (Math.exp(Math.tanh(5)) + 1);
  t.true(Math.abs(s[0]! - p) < 1e-12);
});

// Odd sizes: T ∈ {1, 7, 65, 1000}, heads 1/3, head dims 16/64/80.
const SIZES: Case[] = [
  { Tq: 1, H: 1, D: 16 },
  { Tq: 1, H: 3, D: 80, causal: true },
  { Tq: 7, H: 3, D: 80 },
  { Tq: 7, H: 1, D: 64, causal: true },
  { Tq: 65, H: 3, D: 16, causal: true },
  { Tq: 65, H: 1, D: 80 },
  { b: 2, Tq: 65, H: 3, Hkv: 1, D: 64, causal: true },
  { Tq: 1000, H: 1, D: 64, causal: true },
  { Tq: 1000, H: 3, D: 80, causal: true, window: 129 },
  { Tq: 1000, H: 1, D: 16 },
];
for (const c of SIZES) {
  test(`attention ${describeCase(c)} matches the float64 reference on every ISA`, (t) => checkCase(t, c));
}

// Masks, grouping and capping together, on sizes that cross tile edges (64 keys).
for (const [H, Hkv] of [[6, 6], [6, 2], [6, 1]] as const) {
  test(`attention causal/window/softcap combinations, H=${H} Hkv=${Hkv}`, (t) => {
    let seed = 10;
    for (const window of [undefined, 1, 7, 64, 130]) {
      for (const softcap of [undefined, 2.5]) {
        checkCase(t, { Tq: 131, H, Hkv, D: 16, causal: true, window, softcap }, seed++);
      }
    }
    checkCase(t, { Tq: 70, H, Hkv, D: 80, softcap: 30 }, seed++);
    checkCase(t, { Tq: 33, H, Hkv, D: 16, scale: 0.3, causal: true, window: 5 }, seed++);
  });
}

test('attention with fewer queries than keys aligns the causal mask bottom-right (KV cache)', (t) => {
  let seed = 40;
  for (const Tq of [1, 3, 7, 65]) {
    for (const Tk of [100, 700]) {
      checkCase(t, { Tq, Tk, H: 4, Hkv: 2, D: 64, causal: true }, seed++);
      checkCase(t, { Tq, Tk, H: 3, D: 16, causal: true, window: 50, softcap: 4 }, seed++);
      checkCase(t, { Tq, Tk, H: 2, Hkv: 1, D: 80 }, seed++);
    }
  }
});

test('attention with more queries than keys gives zeros to queries that see no key', (t) => {
  const c: Case = { Tq: 9, Tk: 4, H: 2, D: 16, causal: true };
  checkCase(t, c, 60);
  const { q, k, v } = inputs(c, 60);
  const { o } = ops.attentionSync({ q, k, v, causal: true });
  // Queries 0..4 sit at positions −5..−1.
  t.true(Array.from(o.data.subarray(0, 5 * 2 * 16)).every((x) => x === 0));
  t.true(Array.from(o.data.subarray(5 * 2 * 16)).some((x) => x !== 0));
});

test('attention with kvLengths ignores keys past each row\'s length (ragged batch rows)', (t) => {
  checkCase(t, { b: 3, Tq: 1, Tk: 200, H: 4, Hkv: 2, D: 64, causal: true, kvLengths: [200, 37, 1] }, 70);
  checkCase(t, { b: 3, Tq: 5, Tk: 90, H: 2, D: 16, causal: true, window: 8, kvLengths: [90, 0, 66] }, 71);
  checkCase(t, { b: 2, Tq: 70, Tk: 70, H: 1, D: 80, kvLengths: [3, 70] }, 72);
  // The ignored keys may hold anything, NaN included.
  const { q, k, v } = inputs({ b: 1, Tq: 2, Tk: 10, H: 1, D: 16 }, 73);
  const kNaN = k.clone();
  kNaN.data.fill(NaN, 6 * 16);
  const { o } = ops.attentionSync({ q, k: kNaN, v, causal: true, kvLengths: Tensor.from([6], [1], 'int32') });
  const ref = attentionRef(q.data, k.data, v.data, { b: 1, Tq: 2, Tk: 10, H: 1, Hkv: 1, D: 16 }, { causal: true, kvLengths: [6] });
  t.true(relError(o.data as Float32Array, ref) < 1e-5);
});

test('attention stays finite and accurate when the running max jumps between tiles', (t) => {
  // |q·k|·scale around 100: exp would overflow without the running-max shift,
  // and each new tile's max rescales the accumulator by a large factor.
  // Softmax of scores this large is ill-conditioned (a 1e-7 relative error in a
  // score of 100 moves its weight by 1e-5), hence the looser bound.
  checkCase(t, { Tq: 200, H: 2, D: 64, causal: true, qStd: 12 }, 80, 2e-4);
  checkCase(t, { Tq: 1, Tk: 3000, H: 2, D: 64, qStd: 12 }, 81, 2e-4);
});

test('decode (Tq = 1…4) equals the matching rows of a full causal pass', (t) => {
  // Tk ≥ 1024 splits the keys over threads (flash-decoding); 4 threads force
  // more splits than cores. GQA with 8 query heads per kv head takes the
  // rows-in-lanes layout, one query head per kv head the rows-over-D layout.
  // The scalar kernels get shorter sequences: the full pass is quadratic.
  const threads = getNumThreads();
  const configs = [[3000, 8, 1, 64, undefined], [2500, 2, 2, 80, undefined], [700, 4, 4, 16, 100], [300, 3, 1, 64, undefined]] as const;
  try {
    forEachIsa((isa) => {
      for (const [fullT, H, Hkv, D, window] of configs) {
        const T = isa === 'scalar' ? Math.min(fullT, 1100) : fullT;
        const q = Tensor.randn([1, T, H, D], { seed: T + H });
        const k = Tensor.randn([1, T, Hkv, D], { seed: T + 1 });
        const v = Tensor.randn([1, T, Hkv, D], { seed: T + 2 });
        setNumThreads(threads);
        const full = ops.attentionSync({ q, k, v, causal: true, window }).o;
        for (const n of [threads, 4]) {
          setNumThreads(n);
          for (const Tq of [1, 4]) {
            const tail = ops.sliceSync({ x: q, axis: 1, start: T - Tq, end: T }).y;
            const { o } = ops.attentionSync({ q: tail, k, v, causal: true, window });
            const rows = full.data.subarray((T - Tq) * H * D);
            const err = relError(o.data as Float32Array, rows);
            t.true(err < 1e-5, `${isa} threads=${n} T=${T} H=${H} Hkv=${Hkv} D=${D} Tq=${Tq}: decode vs full ${err}`);
          }
        }
      }
    });
  } finally {
    setNumThreads(threads);
  }
  // And one decode against the reference directly, keys split.
  checkCase(t, { Tq: 1, Tk: 2100, H: 4, Hkv: 1, D: 64, causal: true, window: 1500 }, 90);
});

test('attention leaves its inputs unchanged', (t) => {
  const { q, k, v } = inputs({ Tq: 70, H: 4, Hkv: 2, D: 16 }, 100);
  const before = [q, k, v].map(snapshot);
  ops.attentionSync({ q, k, v, causal: true, window: 9, softcap: 3 });
  ops.attentionSync({ q: ops.sliceSync({ x: q, axis: 1, start: 69, end: 70 }).y, k, v, causal: true });
  [q, k, v].forEach((x, i) => t.true(sameBytes(x, before[i]!), `input ${'qkv'[i]} was modified`));
});

test('the async form matches the sync form', async (t) => {
  const { q, k, v } = inputs({ Tq: 65, H: 3, D: 64 }, 110);
  const sync = ops.attentionSync({ q, k, v, causal: true }).o;
  const asyncO = (await ops.attention({ q, k, v, causal: true })).o;
  t.deepEqual(Array.from(asyncO.data as Float32Array), Array.from(sync.data as Float32Array));
});

test('attention rejects bad arguments with a TypeError or RangeError naming them', (t) => {
  const q = Tensor.randn([2, 5, 4, 16], { seed: 1 });
  const k = Tensor.randn([2, 7, 2, 16], { seed: 2 });
  const v = Tensor.randn([2, 7, 2, 16], { seed: 3 });
  const before = [q, k, v].map(snapshot);
  const bad = (args: unknown, instanceOf: typeof TypeError | typeof RangeError, message: RegExp) =>
    t.throws(() => ops.attentionSync(args as never), { instanceOf, message });
  bad(undefined, TypeError, /attention: expected one arguments object/);
  bad({ q, k }, TypeError, /attention: v must be a Tensor, got undefined/);
  bad({ q, k, v: [1, 2] }, TypeError, /attention: v must be a Tensor, got an Array/);
  bad({ q, k, v, casual: true }, TypeError, /unknown argument 'casual'/);
  bad({ q: q.toBFloat16(), k, v }, TypeError, /attention: q must be float32, got bfloat16/);
  bad({ q: Tensor.zeros([5, 4, 16]), k, v }, RangeError, /attention: q must have rank 4 \(\[b, Tq, H, D\]\), got shape \[5, 4, 16\]/);
  bad({ q, k: Tensor.zeros([2, 7, 32]), v }, RangeError, /attention: k must have rank 4 \(\[b, Tk, Hkv, D\]\)/);
  bad({ q, k: Tensor.zeros([2, 0, 2, 16]), v }, RangeError, /attention: k has an empty dimension 1/);
  bad({ q: Tensor.zeros([2, 5, 4, 0]), k, v }, RangeError, /attention: q has an empty dimension 3/);
  bad({ q, k: Tensor.zeros([2, 7, 2, 8]), v }, RangeError, /attention: k must have shape \[2, \?, \?, 16\]|attention: k must have shape .*D=16/);
  bad({ q, k: Tensor.zeros([1, 7, 2, 16]), v }, RangeError, /attention: k must have shape .*b=2/);
  bad({ q, k: Tensor.zeros([2, 7, 3, 16]), v: Tensor.zeros([2, 7, 3, 16]) }, RangeError, /attention: k's kv heads \(3\) must divide q's heads \(4\)/);
  bad({ q, k, v: Tensor.zeros([2, 6, 2, 16]) }, RangeError, /attention: v must have shape \[2, 7, 2, 16\] \(k's shape\), got \[2, 6, 2, 16\]/);
  bad({ q, k, v, causal: 1 }, TypeError, /attention: causal must be a boolean, got number 1/);
  bad({ q, k, v, causal: true, window: 0 }, RangeError, /attention: window must be ≥ 1, got 0/);
  bad({ q, k, v, causal: true, window: 2.5 }, RangeError, /attention: window must be an integer, got 2.5/);
  bad({ q, k, v, window: 3 }, RangeError, /attention: window needs causal: true/);
  bad({ q, k, v, scale: 'big' }, TypeError, /attention: scale must be a number, got the string "big"/);
  bad({ q, k, v, scale: Infinity }, RangeError, /attention: scale must be finite, got Infinity/);
  bad({ q, k, v, softcap: -1 }, RangeError, /attention: softcap must be ≥ 0, got -1/);
  bad({ q, k, v, kvLengths: Tensor.from([7, 7], [2]) }, TypeError, /attention: kvLengths must be int32, got float32/);
  bad({ q, k, v, kvLengths: Tensor.from([7], [1], 'int32') }, RangeError, /attention: kvLengths must have shape \[2\] \(\[b\]\), got \[1\]/);
  bad({ q, k, v, kvLengths: Tensor.from([7, 8], [2], 'int32') }, RangeError, /attention: kvLengths\[1\] must be in \[0, Tk=7\], got 8/);
  bad({ q, k, v, kvLengths: Tensor.from([-1, 3], [2], 'int32') }, RangeError, /attention: kvLengths\[0\] must be in \[0, Tk=7\], got -1/);
  bad({ q, k, v, out: { o: Tensor.zeros([2, 5, 4, 8]) } }, RangeError, /out\.o must have shape \[2, 5, 4, 16\]/);
  [q, k, v].forEach((x, i) => t.true(sameBytes(x, before[i]!), `input ${'qkv'[i]} was modified`));
});
