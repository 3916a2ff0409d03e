// linearAttention (native/cpu/linear_attention.cc) against the float64
// recurrence in test/reference/linear_attention.ts, on every instruction set;
// the chunked and recurrent paths against each other; strong decays; state
// chaining; bad input.

import test from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { linearAttentionRef } from './reference/linear_attention.js';
import { forEachIsa, relError, sameBytes, snapshot } from './helpers.js';

type DecayKind = 'none' | 'g' | 'gk' | 'g+gk';
const DECAYS: DecayKind[] = ['none', 'g', 'gk', 'g+gk'];

interface Inputs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  g?: Tensor;
  gk?: Tensor;
  initialState?: Tensor;
}

/** Log decays in [minLog, 0]; `spiky`: each step is either 0 or minLog (a reset next to no decay at all). */
function logDecays(shape: number[], seed: number, minLog: number, spiky = false): Tensor {
  const t = Tensor.rand(shape, { seed, low: minLog, high: 0 });
  if (spiky) {
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] = d[i]! < minLog / 2 ? minLog : 0;
  }
  return t;
}

function makeInputs(
  [b, T, h, K, V]: number[],
  decay: DecayKind,
  seed: number,
  options: { minLog?: number; spiky?: boolean; state?: boolean } = {},
): Inputs {
  const minLog = options.minLog ?? -1;
  const x: Inputs = {
    q: Tensor.randn([b!, T!, h!, K!], { seed }),
    k: Tensor.randn([b!, T!, h!, K!], { seed: seed + 1 }),
    v: Tensor.randn([b!, T!, h!, V!], { seed: seed + 2 }),
  };
  if (decay === 'g' || decay === 'g+gk') x.g = logDecays([b!, T!, h!], seed + 3, minLog, options.spiky);
  if (decay === 'gk' || decay === 'g+gk') x.gk = logDecays([b!, T!, h!, K!], seed + 4, minLog, options.spiky);
  if (options.state ?? true) x.initialState = Tensor.randn([b!, h!, K!, V!], { seed: seed + 5 });
  return x;
}

function reference([b, T, h, K, V]: number[], x: Inputs, scale?: number) {
  return linearAttentionRef({
    b: b!, T: T!, h: h!, K: K!, V: V!,
    q: x.q.data as Float32Array,
    k: x.k.data as Float32Array,
    v: x.v.data as Float32Array,
    g: x.g?.data as Float32Array | undefined,
    gk: x.gk?.data as Float32Array | undefined,
    initialState: x.initialState?.data as Float32Array | undefined,
    scale,
  });
}

function allFinite(t: Tensor): boolean {
  return (t.data as Float32Array).every(Number.isFinite);
}

// [b, T, h, K, V]: decode (T = 1), tails of every register tile (7, 65, 80),
// several chunks with a partial last one (1000), one and three heads.
const SIZES: number[][] = [
  [1, 1, 3, 64, 80],
  [2, 7, 3, 16, 80],
  [1, 65, 3, 64, 64],
  [2, 65, 1, 80, 16],
  [1, 1000, 1, 16, 64],
  [1, 1000, 3, 80, 80],
];

for (const dims of SIZES) {
  for (const decay of DECAYS) {
    test(`linearAttention ${JSON.stringify(dims)} decay ${decay} matches the float64 reference, chunked and recurrent, on every ISA`, (t) => {
      const x = makeInputs(dims, decay, dims[1]! * 7 + dims[3]!);
      const ref = reference(dims, x);
      const [b, T, h, K, V] = dims as [number, number, number, number, number];
      forEachIsa((isa) => {
        // The scalar kernels are ~20× slower: the largest size runs on the vector ISAs only.
        if (isa === 'scalar' && T * h * K * V > 5e6) return;
        for (const mode of ['auto', 'chunked', 'recurrent'] as const) {
          const { o, finalState } = ops.linearAttentionSync({ ...x, outputFinalState: true, mode });
          t.deepEqual(o.shape, [b, T, h, V]);
          t.deepEqual(finalState!.shape, [b, h, K, V]);
          const errO = relError(o.data as Float32Array, ref.o);
          const errS = relError(finalState!.data as Float32Array, ref.finalState);
          t.true(errO < 1e-5, `${isa} ${mode}: o relative error ${errO}`);
          t.true(errS < 1e-5, `${isa} ${mode}: finalState relative error ${errS}`);
        }
      });
    });
  }
}

test('linearAttention without a state, with a custom scale, and without outputFinalState', (t) => {
  const dims = [2, 70, 3, 16, 24];
  const x = makeInputs(dims, 'g', 11, { state: false });
  const ref = reference(dims, x, 0.37);
  forEachIsa((isa) => {
    const result = ops.linearAttentionSync({ ...x, scale: 0.37, chunkSize: 16 });
    t.deepEqual(Object.keys(result), ['o'], isa);
    const err = relError(result.o.data as Float32Array, ref.o);
    t.true(err < 1e-5, `${isa}: relative error ${err}`);
  });
});

// Chunk sizes around the register tiles and T = 203, never a multiple of them.
for (const decay of DECAYS) {
  test(`linearAttention chunked == recurrent with decay ${decay} for chunk sizes 1, 5, 16, 64, 100, 300 (T = 203)`, (t) => {
    const dims = [2, 203, 2, 48, 40];
    const x = makeInputs(dims, decay, 21);
    forEachIsa((isa) => {
      const rec = ops.linearAttentionSync({ ...x, outputFinalState: true, mode: 'recurrent' });
      for (const chunkSize of [1, 5, 16, 64, 100, 300]) {
        const ch = ops.linearAttentionSync({ ...x, outputFinalState: true, mode: 'chunked', chunkSize });
        const errO = relError(ch.o.data as Float32Array, rec.o.data as Float32Array);
        const errS = relError(ch.finalState!.data as Float32Array, rec.finalState!.data as Float32Array);
        t.true(errO < 1e-5, `${isa} chunkSize ${chunkSize}: o differs by ${errO}`);
        t.true(errS < 1e-5, `${isa} chunkSize ${chunkSize}: finalState differs by ${errS}`);
      }
    });
  });
}

// Products of decays of e^−20 per step underflow within a few steps; a form
// built on exp(cumsum) differences would overflow or cancel here.
for (const decay of ['g', 'gk', 'g+gk'] as const) {
  for (const spiky of [false, true]) {
    test(`linearAttention stays finite and exact with log decays down to −20 per step (${decay}${spiky ? ', 0 or −20' : ', uniform'})`, (t) => {
      const dims = [1, 333, 3, 64, 32];
      const x = makeInputs(dims, decay, 31, { minLog: -20, spiky });
      const ref = reference(dims, x);
      forEachIsa((isa) => {
        for (const mode of ['chunked', 'recurrent'] as const) {
          for (const chunkSize of [16, 64]) {
            const { o, finalState } = ops.linearAttentionSync({ ...x, outputFinalState: true, mode, chunkSize });
            t.true(allFinite(o) && allFinite(finalState!), `${isa} ${mode}: non-finite output`);
            const errO = relError(o.data as Float32Array, ref.o);
            const errS = relError(finalState!.data as Float32Array, ref.finalState);
            t.true(errO < 1e-5, `${isa} ${mode} ${chunkSize}: o relative error ${errO}`);
            t.true(errS < 1e-5, `${isa} ${mode} ${chunkSize}: finalState relative error ${errS}`);
          }
        }
      });
    });
  }
}

test('linearAttention with a constant log decay of −20 per step: each output sees only its own token', (t) => {
  // exp(−20) ≈ 2e−9: below float32's resolution next to the current token's term.
  const dims = [1, 100, 2, 16, 16];
  const x = makeInputs(dims, 'g', 41, { state: false });
  (x.g!.data as Float32Array).fill(-20);
  const { o } = ops.linearAttentionSync({ ...x, chunkSize: 32, mode: 'chunked' });
  t.true(allFinite(o));
  // Token by token: scale·(q_t·k_t)·v_t, scale = 16^−0.5.
  const q = x.q.data as Float32Array, k = x.k.data as Float32Array, v = x.v.data as Float32Array;
  const expected = new Float64Array(200 * 16);
  for (let row = 0; row < 200; row++) {
    let qk = 0;
    for (let i = 0; i < 16; i++) qk += q[row * 16 + i]! * k[row * 16 + i]!;
    for (let j = 0; j < 16; j++) expected[row * 16 + j] = 0.25 * qk * v[row * 16 + j]!;
  }
  const err = relError(o.data as Float32Array, expected);
  t.true(err < 1e-6, `relative error ${err}`);
});

function sliceT(x: Tensor | undefined, t0: number, t1: number): Tensor | undefined {
  if (!x) return undefined;
  const [b, T, ...rest] = x.shape as number[];
  const inner = rest.reduce((p, c) => p * c, 1);
  const out = new Float32Array(b! * (t1 - t0) * inner);
  for (let bi = 0; bi < b!; bi++) {
    out.set((x.data as Float32Array).subarray((bi * T! + t0) * inner, (bi * T! + t1) * inner), bi * (t1 - t0) * inner);
  }
  return new Tensor(out, [b!, t1 - t0, ...rest]);
}

function sliceInputs(x: Inputs, t0: number, t1: number): Inputs {
  return {
    q: sliceT(x.q, t0, t1)!,
    k: sliceT(x.k, t0, t1)!,
    v: sliceT(x.v, t0, t1)!,
    g: sliceT(x.g, t0, t1),
    gk: sliceT(x.gk, t0, t1),
  };
}

for (const decay of DECAYS) {
  test(`linearAttention state chaining (decay ${decay}): prefill, decode steps, another chunk == one call`, (t) => {
    const dims = [2, 150, 3, 32, 48];
    const [b, T, h, , V] = dims as [number, number, number, number, number];
    const x = makeInputs(dims, decay, 51);
    // Pieces: a chunked prefill, three one-token decode steps, a short recurrent piece, a chunked rest.
    const cuts = [0, 100, 101, 102, 103, 110, T];
    forEachIsa((isa) => {
      const whole = ops.linearAttentionSync({ ...x, outputFinalState: true, chunkSize: 32 });
      let state = x.initialState;
      const o = new Float32Array(b * T * h * V);
      for (let p = 0; p + 1 < cuts.length; p++) {
        const [t0, t1] = [cuts[p]!, cuts[p + 1]!];
        const piece = ops.linearAttentionSync({ ...sliceInputs(x, t0, t1), initialState: state, outputFinalState: true, chunkSize: 32 });
        const po = piece.o.data as Float32Array;
        for (let bi = 0; bi < b; bi++) o.set(po.subarray(bi * (t1 - t0) * h * V, (bi + 1) * (t1 - t0) * h * V), (bi * T + t0) * h * V);
        state = piece.finalState;
      }
      const errO = relError(o, whole.o.data as Float32Array);
      const errS = relError(state!.data as Float32Array, whole.finalState!.data as Float32Array);
      t.true(errO < 1e-5, `${isa}: o differs by ${errO}`);
      t.true(errS < 1e-5, `${isa}: finalState differs by ${errS}`);
    });
  });
}

test('linearAttention leaves its inputs unchanged (both paths, with a state)', (t) => {
  const x = makeInputs([2, 77, 3, 16, 16], 'g+gk', 61);
  const tensors = [x.q, x.k, x.v, x.g!, x.gk!, x.initialState!];
  const before = tensors.map(snapshot);
  for (const mode of ['chunked', 'recurrent'] as const) ops.linearAttentionSync({ ...x, outputFinalState: true, mode, chunkSize: 16 });
  tensors.forEach((x, i) => t.true(sameBytes(x, before[i]!), `input ${i} was modified`));
});

test('linearAttention async form gives the same result as the sync form', async (t) => {
  const dims = [1, 130, 2, 32, 32];
  const x = makeInputs(dims, 'gk', 71);
  const sync = ops.linearAttentionSync({ ...x, outputFinalState: true });
  const pending = ops.linearAttention({ ...x, outputFinalState: true });
  t.true(pending instanceof Promise);
  const async = await pending;
  t.deepEqual(Array.from(async.o.data), Array.from(sync.o.data));
  t.deepEqual(Array.from(async.finalState!.data), Array.from(sync.finalState!.data));
  const ref = reference(dims, x);
  t.true(relError(async.o.data as Float32Array, ref.o) < 1e-5);
});

// ---- bad input ----

const q = Tensor.randn([1, 5, 2, 8], { seed: 1 });
const k = Tensor.randn([1, 5, 2, 8], { seed: 2 });
const v = Tensor.randn([1, 5, 2, 4], { seed: 3 });

test('linearAttention rejects missing, unknown and non-tensor arguments', (t) => {
  t.throws(() => ops.linearAttentionSync(undefined as never), { instanceOf: TypeError, message: /linearAttention: expected one arguments object/ });
  t.throws(() => ops.linearAttentionSync({ q, k } as never), { instanceOf: TypeError, message: /linearAttention: v must be a Tensor, got undefined/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v, decay: 1 } as never), { instanceOf: TypeError, message: /linearAttention: unknown argument 'decay'/ });
  t.throws(() => ops.linearAttentionSync({ q: [1, 2] as never, k, v }), { instanceOf: TypeError, message: /linearAttention: q must be a Tensor, got an Array/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v, g: new Float32Array(10) as never }), { instanceOf: TypeError, message: /linearAttention: g must be a Tensor, got a Float32Array/ });
});

test('linearAttention rejects wrong ranks, shapes, dtypes and empty dimensions, naming the argument', (t) => {
  t.throws(() => ops.linearAttentionSync({ q: Tensor.zeros([5, 2, 8]), k, v }), { instanceOf: RangeError, message: /linearAttention: q must have rank 4 \(\[b, T, h, K\]\), got shape \[5, 2, 8\]/ });
  t.throws(() => ops.linearAttentionSync({ q, k: Tensor.zeros([1, 5, 2, 7]), v }), { instanceOf: RangeError, message: /linearAttention: k must have shape \[1, 5, 2, 8\].*got \[1, 5, 2, 7\]/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v: Tensor.zeros([1, 6, 2, 4]) }), { instanceOf: RangeError, message: /linearAttention: v must have shape \[1, 5, 2, \*\] \(\[b, T, h, V\] with q.s b, T, h\), got \[1, 6, 2, 4\]/ });
  t.throws(() => ops.linearAttentionSync({ q: Tensor.zeros([1, 0, 2, 8]), k: Tensor.zeros([1, 0, 2, 8]), v: Tensor.zeros([1, 0, 2, 4]) }), { instanceOf: RangeError, message: /linearAttention: q has an empty dimension 1/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v: Tensor.zeros([1, 5, 2, 0]) }), { instanceOf: RangeError, message: /linearAttention: v has an empty dimension 3/ });
  t.throws(() => ops.linearAttentionSync({ q: q.toBFloat16(), k, v }), { instanceOf: TypeError, message: /linearAttention: q must be float32, got bfloat16/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v, g: Tensor.zeros([1, 5, 2, 1]) }), { instanceOf: RangeError, message: /linearAttention: g must have shape \[1, 5, 2\] \(\[b, T, h\]\), got \[1, 5, 2, 1\]/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v, gk: Tensor.zeros([1, 5, 2]) }), { instanceOf: RangeError, message: /linearAttention: gk must have shape \[1, 5, 2, 8\] \(\[b, T, h, K\]\), got \[1, 5, 2\]/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v, gk: new Tensor(new Int32Array(80), [1, 5, 2, 8]) }), { instanceOf: TypeError, message: /linearAttention: gk must be float32, got int32/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v, initialState: Tensor.zeros([1, 2, 4, 8]) }), { instanceOf: RangeError, message: /linearAttention: initialState must have shape \[1, 2, 8, 4\] \(\[b, h, K, V\]\), got \[1, 2, 4, 8\]/ });
});

test('linearAttention rejects bad options', (t) => {
  t.throws(() => ops.linearAttentionSync({ q, k, v, chunkSize: 0 }), { instanceOf: RangeError, message: /linearAttention: chunkSize must be ≥ 1, got 0/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v, chunkSize: 1025 }), { instanceOf: RangeError, message: /linearAttention: chunkSize must be ≤ 1024, got 1025/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v, chunkSize: 2.5 }), { instanceOf: RangeError, message: /linearAttention: chunkSize must be an integer, got 2.5/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v, chunkSize: '64' as never }), { instanceOf: TypeError, message: /linearAttention: chunkSize must be a number/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v, scale: Infinity }), { instanceOf: RangeError, message: /linearAttention: scale must be a finite number, got Infinity/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v, scale: NaN }), { instanceOf: TypeError, message: /linearAttention: scale must be a number/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v, mode: 'fast' as never }), { instanceOf: RangeError, message: /linearAttention: mode must be one of 'auto', 'chunked', 'recurrent'/ });
  t.throws(() => ops.linearAttentionSync({ q, k, v, outputFinalState: 1 as never }), { instanceOf: TypeError, message: /linearAttention: outputFinalState must be a boolean/ });
});

test('the native linearAttention op re-checks shapes, dtypes and options itself', async (t) => {
  const { native } = await import('../lib/native.js');
  const o = Tensor.zeros([1, 5, 2, 4]);
  t.throws(() => native.runSync('linearAttention', { q: { data: new Float32Array(7), shape: [1, 5, 2, 8], dtype: 'float32' }, k, v, o }, {}), { instanceOf: RangeError });
  t.throws(() => native.runSync('linearAttention', { q, k: Tensor.zeros([1, 5, 2, 7]), v, o }, {}), { instanceOf: RangeError, message: /k must have shape/ });
  t.throws(() => native.runSync('linearAttention', { q, k, v, o: Tensor.zeros([1, 5, 2, 3]) }, {}), { instanceOf: RangeError, message: /o must have shape/ });
  t.throws(() => native.runSync('linearAttention', { q, k, v }, {}), { instanceOf: RangeError, message: /missing output o/ });
  t.throws(() => native.runSync('linearAttention', { q, k, v, o, g: Tensor.zeros([1, 5, 3]) }, {}), { instanceOf: RangeError, message: /g must have shape/ });
  t.throws(() => native.runSync('linearAttention', { q, k, v, o, finalState: Tensor.zeros([1, 2, 8, 5]) }, {}), { instanceOf: RangeError, message: /finalState must have shape/ });
  t.throws(() => native.runSync('linearAttention', { q, k, v, o }, { chunkSize: 0 }), { instanceOf: RangeError, message: /chunkSize must be an integer in \[1, 1024\], got 0/ });
  t.throws(() => native.runSync('linearAttention', { q, k, v, o }, { chunkSize: 4096 }), { instanceOf: RangeError, message: /chunkSize must be an integer in \[1, 1024\], got 4096/ });
  t.throws(() => native.runSync('linearAttention', { q, k, v, o }, { mode: 'fast' }), { instanceOf: RangeError, message: /mode must be/ });
  t.throws(() => native.runSync('linearAttention', { q: Tensor.zeros([1, 0, 2, 8]), k: Tensor.zeros([1, 0, 2, 8]), v: Tensor.zeros([1, 0, 2, 4]), o: Tensor.zeros([1, 0, 2, 4]) }, {}), { instanceOf: RangeError, message: /no empty dimension/ });
});
