// mlstm (native/cpu/mlstm.cc) against the float64 stabilised recurrence in
// test/reference/mlstm.ts, on every instruction set; chunked against
// recurrent; strong gates; state chaining; bad input.

import test from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { mlstmRef } from './reference/mlstm.js';
import { forEachIsa, relError, sameBytes, snapshot } from './helpers.js';

interface Inputs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  i: Tensor;
  f: Tensor;
  initialC?: Tensor;
  initialN?: Tensor;
  initialM?: Tensor;
}

// typical: forget gates near 1 (xLSTM's forget bias), input gates around 0.
// strongForget: log σ(f) down to −20 per step. largeInput: input gates up to
// 30, so the stabiliser m runs far from 0 and exp(−m) never floors the normaliser.
type Gates = 'typical' | 'strongForget' | 'largeInput';

function absolute(t: Tensor): Tensor {
  const d = t.data as Float32Array;
  for (let j = 0; j < d.length; j++) d[j] = Math.abs(d[j]!);
  return t;
}

function makeInputs(
  [b, T, h, K, V]: number[],
  gates: Gates,
  seed: number,
  options: { state?: boolean; positiveQk?: boolean } = {},
): Inputs {
  const qk = (s: number) => {
    const t = Tensor.randn([b!, T!, h!, K!], { seed: s });
    return options.positiveQk ? absolute(t) : t;
  };
  const x: Inputs = {
    q: qk(seed),
    k: qk(seed + 1),
    v: Tensor.randn([b!, T!, h!, V!], { seed: seed + 2 }),
    i: gates === 'largeInput' ? Tensor.rand([b!, T!, h!], { seed: seed + 3, low: -10, high: 30 }) : Tensor.randn([b!, T!, h!], { seed: seed + 3, std: 2 }),
    f: gates === 'strongForget' ? Tensor.rand([b!, T!, h!], { seed: seed + 4, low: -20, high: 5 }) : Tensor.rand([b!, T!, h!], { seed: seed + 4, low: 0, high: 6 }),
  };
  if (options.state ?? true) {
    x.initialC = Tensor.randn([b!, h!, K!, V!], { seed: seed + 5 });
    x.initialN = Tensor.randn([b!, h!, K!], { seed: seed + 6 });
    x.initialM = Tensor.randn([b!, h!], { seed: seed + 7 });
  }
  return x;
}

function reference([b, T, h, K, V]: number[], x: Inputs, options: { scale?: number; eps?: number } = {}) {
  const data = (t?: Tensor) => t?.data as Float32Array | undefined;
  return mlstmRef({
    b: b!, T: T!, h: h!, K: K!, V: V!,
    q: data(x.q)!, k: data(x.k)!, v: data(x.v)!, i: data(x.i)!, f: data(x.f)!,
    initialC: data(x.initialC), initialN: data(x.initialN), initialM: data(x.initialM),
    ...options,
  });
}

type Result = { h: Tensor; finalC?: Tensor; finalN?: Tensor; finalM?: Tensor };

function errors(r: Result, ref: ReturnType<typeof mlstmRef>) {
  return {
    h: relError(r.h.data as Float32Array, ref.h),
    C: relError(r.finalC!.data as Float32Array, ref.finalC),
    n: relError(r.finalN!.data as Float32Array, ref.finalN),
    m: relError(r.finalM!.data as Float32Array, ref.finalM),
  };
}

const SIZES: number[][] = [
  [1, 1, 3, 64, 80],
  [2, 7, 3, 16, 80],
  [1, 65, 3, 64, 64],
  [2, 65, 1, 80, 16],
  [1, 1000, 1, 16, 64],
  [1, 1000, 3, 80, 80],
];

for (const dims of SIZES) {
  for (const gates of ['typical', 'strongForget'] as const) {
    test(`mlstm ${JSON.stringify(dims)} ${gates} gates matches the float64 reference, chunked and recurrent, on every ISA`, (t) => {
      const x = makeInputs(dims, gates, dims[1]! * 5 + dims[3]!);
      const ref = reference(dims, x);
      const [b, T, h, K, V] = dims as [number, number, number, number, number];
      forEachIsa((isa) => {
        if (isa === 'scalar' && T * h * K * V > 5e6) return; // the scalar kernels are ~20× slower
        for (const mode of ['auto', 'chunked', 'recurrent'] as const) {
          const r = ops.mlstmSync({ ...x, outputFinalState: true, mode });
          t.deepEqual(r.h.shape, [b, T, h, V]);
          t.deepEqual([r.finalC!.shape, r.finalN!.shape, r.finalM!.shape], [[b, h, K, V], [b, h, K], [b, h]]);
          const e = errors(r, ref);
          t.true(e.h < 1e-5 && e.C < 1e-5 && e.n < 1e-5 && e.m < 1e-5, `${isa} ${mode}: relative errors ${JSON.stringify(e)}`);
        }
      });
    });
  }
}

// h divides by max(|q̃·n_t|, exp(−m_t)). With large input gates exp(−m_t) is
// tiny, and for signed q, k the sum q̃·n_t can land arbitrarily close to 0:
// the division then amplifies the rounding of that sum without bound, in any
// summation order (the recurrent path shows the same 1e−4 deviations as the
// chunked one). So the states are checked on signed inputs, and h on positive
// q, k, where q̃·n_t is a sum of positive terms and h a weighted mean of v.
for (const dims of [[1, 65, 3, 64, 64], [1, 1000, 2, 32, 48]]) {
  test(`mlstm ${JSON.stringify(dims)} with input gates up to 30: states on signed inputs, h on positive q, k`, (t) => {
    const signed = makeInputs(dims, 'largeInput', 81);
    const positive = makeInputs(dims, 'largeInput', 91, { positiveQk: true });
    const refSigned = reference(dims, signed);
    const refPositive = reference(dims, positive);
    forEachIsa((isa) => {
      if (isa === 'scalar' && dims[1]! > 100) return;
      for (const mode of ['chunked', 'recurrent'] as const) {
        const e = errors(ops.mlstmSync({ ...signed, outputFinalState: true, mode }), refSigned);
        t.true(e.C < 1e-5 && e.n < 1e-5 && e.m < 1e-5, `${isa} ${mode} signed: ${JSON.stringify(e)}`);
        const p = errors(ops.mlstmSync({ ...positive, outputFinalState: true, mode }), refPositive);
        t.true(p.h < 1e-5 && p.C < 1e-5 && p.n < 1e-5 && p.m < 1e-5, `${isa} ${mode} positive: ${JSON.stringify(p)}`);
      }
    });
  });
}

test('mlstm without a state, with custom scale and eps, and without outputFinalState', (t) => {
  const dims = [2, 70, 3, 16, 24];
  const x = makeInputs(dims, 'typical', 11, { state: false });
  const ref = reference(dims, x, { scale: 0.3, eps: 1e-3 });
  forEachIsa((isa) => {
    for (const mode of ['chunked', 'recurrent'] as const) {
      const result = ops.mlstmSync({ ...x, scale: 0.3, eps: 1e-3, chunkSize: 16, mode });
      t.deepEqual(Object.keys(result), ['h'], isa);
      const err = relError(result.h.data as Float32Array, ref.h);
      t.true(err < 1e-5, `${isa} ${mode}: relative error ${err}`);
    }
  });
});

for (const gates of ['typical', 'strongForget', 'largeInput'] as const) {
  test(`mlstm chunked == recurrent with ${gates} gates for chunk sizes 1, 5, 16, 64, 100, 300 (T = 203)`, (t) => {
    const dims = [2, 203, 2, 48, 40];
    const x = makeInputs(dims, gates, 21, { positiveQk: gates === 'largeInput' });
    forEachIsa((isa) => {
      const rec = ops.mlstmSync({ ...x, outputFinalState: true, mode: 'recurrent' });
      for (const chunkSize of [1, 5, 16, 64, 100, 300]) {
        const ch = ops.mlstmSync({ ...x, outputFinalState: true, mode: 'chunked', chunkSize });
        const e = {
          h: relError(ch.h.data as Float32Array, rec.h.data as Float32Array),
          C: relError(ch.finalC!.data as Float32Array, rec.finalC!.data as Float32Array),
          n: relError(ch.finalN!.data as Float32Array, rec.finalN!.data as Float32Array),
          m: relError(ch.finalM!.data as Float32Array, rec.finalM!.data as Float32Array),
        };
        t.true(e.h < 1e-5 && e.C < 1e-5 && e.n < 1e-5 && e.m < 1e-5, `${isa} chunkSize ${chunkSize}: ${JSON.stringify(e)}`);
      }
    });
  });
}

function sliceT(x: Tensor, t0: number, t1: number): Tensor {
  const [b, T, ...rest] = x.shape as number[];
  const inner = rest.reduce((p, c) => p * c, 1);
  const out = new Float32Array(b! * (t1 - t0) * inner);
  for (let bi = 0; bi < b!; bi++) {
    out.set((x.data as Float32Array).subarray((bi * T! + t0) * inner, (bi * T! + t1) * inner), bi * (t1 - t0) * inner);
  }
  return new Tensor(out, [b!, t1 - t0, ...rest]);
}

for (const gates of ['typical', 'strongForget'] as const) {
  test(`mlstm state chaining (${gates} gates): prefill, decode steps, another chunk == one call`, (t) => {
    const dims = [2, 150, 3, 32, 48];
    const [b, T, h, , V] = dims as [number, number, number, number, number];
    const x = makeInputs(dims, gates, 51);
    const cuts = [0, 100, 101, 102, 103, 110, T];
    forEachIsa((isa) => {
      const whole = ops.mlstmSync({ ...x, outputFinalState: true, chunkSize: 32 });
      let state = { initialC: x.initialC, initialN: x.initialN, initialM: x.initialM };
      const out = new Float32Array(b * T * h * V);
      for (let p = 0; p + 1 < cuts.length; p++) {
        const [t0, t1] = [cuts[p]!, cuts[p + 1]!];
        const piece = ops.mlstmSync({
          q: sliceT(x.q, t0, t1), k: sliceT(x.k, t0, t1), v: sliceT(x.v, t0, t1), i: sliceT(x.i, t0, t1), f: sliceT(x.f, t0, t1),
          ...state, outputFinalState: true, chunkSize: 32,
        });
        const ph = piece.h.data as Float32Array;
        for (let bi = 0; bi < b; bi++) out.set(ph.subarray(bi * (t1 - t0) * h * V, (bi + 1) * (t1 - t0) * h * V), (bi * T + t0) * h * V);
        state = { initialC: piece.finalC, initialN: piece.finalN, initialM: piece.finalM };
      }
      const e = {
        h: relError(out, whole.h.data as Float32Array),
        C: relError(state.initialC!.data as Float32Array, whole.finalC!.data as Float32Array),
        n: relError(state.initialN!.data as Float32Array, whole.finalN!.data as Float32Array),
        m: relError(state.initialM!.data as Float32Array, whole.finalM!.data as Float32Array),
      };
      t.true(e.h < 1e-5 && e.C < 1e-5 && e.n < 1e-5 && e.m < 1e-5, `${isa}: ${JSON.stringify(e)}`);
    });
  });
}

test('mlstm leaves its inputs unchanged (both paths, with a state)', (t) => {
  const x = makeInputs([2, 77, 3, 16, 16], 'typical', 61);
  const tensors = [x.q, x.k, x.v, x.i, x.f, x.initialC!, x.initialN!, x.initialM!];
  const before = tensors.map(snapshot);
  for (const mode of ['chunked', 'recurrent'] as const) ops.mlstmSync({ ...x, outputFinalState: true, mode, chunkSize: 16 });
  tensors.forEach((x, i) => t.true(sameBytes(x, before[i]!), `input ${i} was modified`));
});

test('mlstm async form gives the same result as the sync form', async (t) => {
  const dims = [1, 130, 2, 32, 32];
  const x = makeInputs(dims, 'typical', 71);
  const sync = ops.mlstmSync({ ...x, outputFinalState: true });
  const pending = ops.mlstm({ ...x, outputFinalState: true });
  t.true(pending instanceof Promise);
  const async = await pending;
  t.deepEqual(Array.from(async.h.data), Array.from(sync.h.data));
  t.deepEqual(Array.from(async.finalC!.data), Array.from(sync.finalC!.data));
  t.deepEqual(Array.from(async.finalM!.data), Array.from(sync.finalM!.data));
  t.true(relError(async.h.data as Float32Array, reference(dims, x).h) < 1e-5);
});

// ---- bad input ----

const q = Tensor.randn([1, 5, 2, 8], { seed: 1 });
const k = Tensor.randn([1, 5, 2, 8], { seed: 2 });
const v = Tensor.randn([1, 5, 2, 4], { seed: 3 });
const i = Tensor.randn([1, 5, 2], { seed: 4 });
const f = Tensor.randn([1, 5, 2], { seed: 5 });

test('mlstm rejects missing, unknown and non-tensor arguments', (t) => {
  t.throws(() => ops.mlstmSync(undefined as never), { instanceOf: TypeError, message: /mlstm: expected one arguments object/ });
  t.throws(() => ops.mlstmSync({ q, k, v, f } as never), { instanceOf: TypeError, message: /mlstm: i must be a Tensor, got undefined/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i } as never), { instanceOf: TypeError, message: /mlstm: f must be a Tensor, got undefined/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i, f, g: i } as never), { instanceOf: TypeError, message: /mlstm: unknown argument 'g'/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i: [1, 2] as never, f }), { instanceOf: TypeError, message: /mlstm: i must be a Tensor, got an Array/ });
});

test('mlstm rejects wrong ranks, shapes, dtypes, empty dimensions and a partial state', (t) => {
  t.throws(() => ops.mlstmSync({ q: Tensor.zeros([5, 2, 8]), k, v, i, f }), { instanceOf: RangeError, message: /mlstm: q must have rank 4 \(\[b, T, h, K\]\), got shape \[5, 2, 8\]/ });
  t.throws(() => ops.mlstmSync({ q, k: Tensor.zeros([1, 5, 3, 8]), v, i, f }), { instanceOf: RangeError, message: /mlstm: k must have shape \[1, 5, 2, 8\].*got \[1, 5, 3, 8\]/ });
  t.throws(() => ops.mlstmSync({ q, k, v: Tensor.zeros([2, 5, 2, 4]), i, f }), { instanceOf: RangeError, message: /mlstm: v must have shape \[1, 5, 2, \*\].*got \[2, 5, 2, 4\]/ });
  t.throws(() => ops.mlstmSync({ q: Tensor.zeros([1, 5, 2, 0]), k: Tensor.zeros([1, 5, 2, 0]), v, i, f }), { instanceOf: RangeError, message: /mlstm: q has an empty dimension 3/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i: Tensor.zeros([1, 5, 2, 1]), f }), { instanceOf: RangeError, message: /mlstm: i must have shape \[1, 5, 2\] \(\[b, T, h\]\), got \[1, 5, 2, 1\]/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i, f: Tensor.zeros([1, 4, 2]) }), { instanceOf: RangeError, message: /mlstm: f must have shape \[1, 5, 2\] \(\[b, T, h\]\), got \[1, 4, 2\]/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i, f: f.toBFloat16() }), { instanceOf: TypeError, message: /mlstm: f must be float32, got bfloat16/ });
  const initialC = Tensor.zeros([1, 2, 8, 4]);
  const initialN = Tensor.zeros([1, 2, 8]);
  const initialM = Tensor.zeros([1, 2]);
  t.throws(() => ops.mlstmSync({ q, k, v, i, f, initialC }), { instanceOf: RangeError, message: /mlstm: initialC, initialN and initialM must be given together \(got 1 of 3\)/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i, f, initialC, initialN }), { instanceOf: RangeError, message: /got 2 of 3/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i, f, initialC: Tensor.zeros([1, 2, 4, 8]), initialN, initialM }), { instanceOf: RangeError, message: /mlstm: initialC must have shape \[1, 2, 8, 4\] \(\[b, h, K, V\]\), got \[1, 2, 4, 8\]/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i, f, initialC, initialN: Tensor.zeros([1, 2, 4]), initialM }), { instanceOf: RangeError, message: /mlstm: initialN must have shape \[1, 2, 8\] \(\[b, h, K\]\), got \[1, 2, 4\]/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i, f, initialC, initialN, initialM: Tensor.zeros([2]) }), { instanceOf: RangeError, message: /mlstm: initialM must have shape \[1, 2\] \(\[b, h\]\), got \[2\]/ });
});

test('mlstm rejects bad options', (t) => {
  t.throws(() => ops.mlstmSync({ q, k, v, i, f, chunkSize: -4 }), { instanceOf: RangeError, message: /mlstm: chunkSize must be ≥ 1, got -4/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i, f, eps: -1 }), { instanceOf: RangeError, message: /mlstm: eps must be ≥ 0, got -1/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i, f, eps: Infinity }), { instanceOf: RangeError, message: /mlstm: eps must be a finite number/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i, f, scale: -Infinity }), { instanceOf: RangeError, message: /mlstm: scale must be a finite number/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i, f, mode: 'chunk' as never }), { instanceOf: RangeError, message: /mlstm: mode must be one of 'auto', 'chunked', 'recurrent'/ });
  t.throws(() => ops.mlstmSync({ q, k, v, i, f, outputFinalState: 'yes' as never }), { instanceOf: TypeError, message: /mlstm: outputFinalState must be a boolean/ });
});

test('the native mlstm op re-checks gates, state shapes and options itself', async (t) => {
  const { native } = await import('../lib/native.js');
  const h = Tensor.zeros([1, 5, 2, 4]);
  t.throws(() => native.runSync('mlstm', { q, k, v, h }, {}), { instanceOf: RangeError, message: /the gates i and f are required/ });
  t.throws(() => native.runSync('mlstm', { q, k, v, i, f: Tensor.zeros([1, 5, 1]), h }, {}), { instanceOf: RangeError, message: /f must have shape/ });
  t.throws(() => native.runSync('mlstm', { q, k, v, i, f }, {}), { instanceOf: RangeError, message: /missing output h/ });
  t.throws(() => native.runSync('mlstm', { q, k, v, i, f, h, initialC: Tensor.zeros([1, 2, 8, 4]) }, {}), { instanceOf: RangeError, message: /must be given together/ });
  t.throws(() => native.runSync('mlstm', { q, k, v, i, f, h, finalN: Tensor.zeros([1, 2, 4]) }, {}), { instanceOf: RangeError, message: /finalN must have shape/ });
  t.throws(() => native.runSync('mlstm', { q, k, v, i, f, h }, { eps: -1 }), { instanceOf: RangeError, message: /eps must be a finite number/ });
  t.throws(() => native.runSync('mlstm', { q, k, v, i, f, h }, { chunkSize: 1.5 }), { instanceOf: RangeError, message: /chunkSize must be an integer in \[1, 1024\], got 1.5/ });
});
