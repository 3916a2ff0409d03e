// causalConv1d (native/cpu/causal_conv1d.cc) against test/reference/causal_conv1d.ts
// (PyTorch's depthwise Conv1d with padding w − 1, first L outputs).

import test from 'ava';
import { getNumThreads, ops, setNumThreads, Tensor } from '../lib/index.js';
import { causalConv1dRef } from './reference/causal_conv1d.js';
import { forEachIsa, relError, sameBytes, snapshot } from './helpers.js';

/** Steps [t0, t1) of x [b, L, c], copied. */
function timeSlice(t: Tensor, t0: number, t1: number): Tensor {
  const [batch, L, c] = t.shape as [number, number, number];
  const out = new Float32Array(batch * (t1 - t0) * c);
  const src = t.data as Float32Array;
  for (let bi = 0; bi < batch; bi++) out.set(src.subarray((bi * L + t0) * c, (bi * L + t1) * c), bi * (t1 - t0) * c);
  return new Tensor(out, [batch, t1 - t0, c]);
}

function timeConcat(pieces: Tensor[]): Float32Array {
  const [batch, , c] = pieces[0]!.shape as [number, number, number];
  const L = pieces.reduce((s, p) => s + p.shape[1]!, 0);
  const out = new Float32Array(batch * L * c);
  let t0 = 0;
  for (const p of pieces) {
    const len = p.shape[1]!;
    for (let bi = 0; bi < batch; bi++) out.set((p.data as Float32Array).subarray(bi * len * c, (bi + 1) * len * c), (bi * L + t0) * c);
    t0 += len;
  }
  return out;
}

/** Same float32 bits everywhere (NaN-safe, and fast on large arrays where t.deepEqual is not). */
function sameBits(x: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; length: number }, y: typeof x): boolean {
  if (x.length !== y.length) return false;
  const a = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const b = new Uint32Array(y.buffer, y.byteOffset, y.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function withThreads<T>(n: number, fn: () => T): T {
  const original = getNumThreads();
  setNumThreads(n);
  try {
    return fn();
  } finally {
    setNumThreads(original);
  }
}

function problem(batch: number, L: number, c: number, w: number, seed: number) {
  return {
    x: Tensor.randn([batch, L, c], { seed }),
    weight: Tensor.randn([c, w], { seed: seed + 1, std: 0.5 }),
    bias: Tensor.randn([c], { seed: seed + 2 }),
    state: Tensor.randn([batch, c, w - 1], { seed: seed + 3 }),
  };
}

test('causalConv1d matches the reference on odd sizes and widths, with and without bias, state and silu, on every ISA', (t) => {
  let variant = 0;
  for (const c of [1, 7, 33, 130]) {
    for (const L of [1, 7, 1000, 4097]) {
      const batch = L >= 1000 ? 1 : 2;
      for (const w of [1, 2, 4, 5, 8]) {
        const { x, weight, bias, state } = problem(batch, L, c, w, c + L + w);
        // Four option sets per shape, rotated so every shape sees each option on and off.
        for (let k = 0; k < 2; k++, variant++) {
          const withBias = variant % 2 === 0;
          const withState = (variant >> 1) % 2 === 0;
          const silu = (variant >> 2) % 2 === 0;
          const args = {
            x, weight,
            bias: withBias ? bias : undefined,
            initialState: withState && w > 1 ? state : undefined,
            activation: silu ? ('silu' as const) : ('none' as const),
            returnFinalState: true,
          };
          const ref = causalConv1dRef(x.data, weight.data, [batch, L, c, w], { bias: args.bias?.data, initialState: args.initialState?.data, silu });
          forEachIsa((isa) => {
            const { y, finalState } = ops.causalConv1dSync(args);
            const label = `${isa} b=${batch} L=${L} c=${c} w=${w} bias=${withBias} state=${withState} silu=${silu}`;
            t.deepEqual(y.shape, [batch, L, c]);
            t.deepEqual(finalState!.shape, [batch, c, w - 1]);
            t.true(relError(y.data as Float32Array, ref.y) < 1e-5, `${label}: ${relError(y.data as Float32Array, ref.y)}`);
            // finalState is copied inputs: exact.
            t.true(sameBits(finalState!.data as Float32Array, Float32Array.from(ref.finalState)), label);
          });
        }
      }
    }
  }
});

test('causalConv1d with wide kernels (w = 13, 33) and L shorter than the state', (t) => {
  for (const [batch, L, c, w] of [[2, 40, 19, 13], [1, 3, 70, 13], [2, 5, 9, 33]] as [number, number, number, number][]) {
    const { x, weight, bias, state } = problem(batch, L, c, w, w);
    const ref = causalConv1dRef(x.data, weight.data, [batch, L, c, w], { bias: bias.data, initialState: state.data });
    forEachIsa((isa) => {
      const { y, finalState } = ops.causalConv1dSync({ x, weight, bias, initialState: state, returnFinalState: true });
      t.true(relError(y.data as Float32Array, ref.y) < 1e-5, `${isa} ${L} ${c} ${w}`);
      t.true(sameBits(finalState!.data as Float32Array, Float32Array.from(ref.finalState)));
    });
  }
});

test('causalConv1d leaves finalState out unless asked, and gives [b, c, 0] for w = 1', (t) => {
  const { x, weight } = problem(2, 5, 3, 4, 1);
  const plain = ops.causalConv1dSync({ x, weight });
  t.false('finalState' in plain);
  const w1 = Tensor.randn([3, 1], { seed: 2 });
  const first = ops.causalConv1dSync({ x, weight: w1, returnFinalState: true });
  t.deepEqual(first.finalState!.shape, [2, 3, 0]);
  // The empty state chains like any other.
  const again = ops.causalConv1dSync({ x, weight: w1, initialState: first.finalState, returnFinalState: true });
  t.true(sameBits(again.y.data as Float32Array, first.y.data as Float32Array));
  // w = 1 is a per-channel scale: y = w · x.
  const ref = causalConv1dRef(x.data, w1.data, [2, 5, 3, 1]);
  t.true(relError(first.y.data as Float32Array, ref.y) < 1e-6);
});

test('causalConv1d state chaining: two calls equal one, and L = 1 steps equal one call, bit for bit', (t) => {
  for (const w of [1, 2, 4, 6]) {
    const [batch, L, c] = [2, 23, 37];
    const { x, weight, bias, state } = problem(batch, L, c, w, 40 + w);
    const initialState = w > 1 ? state : undefined;
    forEachIsa((isa) => {
      const whole = ops.causalConv1dSync({ x, weight, bias, initialState, activation: 'silu', returnFinalState: true });
      // Splits, including pieces shorter than the state (L < w − 1).
      for (const cuts of [[10], [1, 2, 3], [20, 21]]) {
        const bounds = [0, ...cuts, L];
        let carry = initialState;
        const pieces: Tensor[] = [];
        for (let i = 0; i + 1 < bounds.length; i++) {
          const r = ops.causalConv1dSync({ x: timeSlice(x, bounds[i]!, bounds[i + 1]!), weight, bias, initialState: carry, activation: 'silu', returnFinalState: true });
          pieces.push(r.y);
          carry = r.finalState;
        }
        t.true(sameBits(timeConcat(pieces), whole.y.data as Float32Array), `${isa} w=${w} cuts=${cuts}`);
        t.true(sameBits(carry!.data as Float32Array, whole.finalState!.data as Float32Array));
      }
      // The decode loop: one token at a time from no state.
      const fromZero = ops.causalConv1dSync({ x, weight, bias, returnFinalState: true });
      let carry: Tensor | undefined;
      const steps: Tensor[] = [];
      for (let s = 0; s < L; s++) {
        const r = ops.causalConv1dSync({ x: timeSlice(x, s, s + 1), weight, bias, initialState: carry, returnFinalState: true });
        steps.push(r.y);
        carry = r.finalState;
      }
      t.true(sameBits(timeConcat(steps), fromZero.y.data as Float32Array), `${isa} w=${w} steps`);
      t.true(sameBits(carry!.data as Float32Array, fromZero.finalState!.data as Float32Array));
    });
  }
});

test.serial('causalConv1d gives the same bits on 1, 2 and 3 threads (rows and channel blocks split differently)', (t) => {
  // [1, 1, 5000] w = 16 (a decode step) and [1, 3, 4099] split channels into blocks; the others split rows.
  for (const [batch, L, c, w] of [[1, 1, 5000, 16], [1, 3, 4099, 8], [2, 1000, 33, 4], [3, 77, 517, 4]] as [number, number, number, number][]) {
    const { x, weight, bias, state } = problem(batch, L, c, w, c);
    const ref = causalConv1dRef(x.data, weight.data, [batch, L, c, w], { bias: bias.data, initialState: state.data, silu: true });
    forEachIsa((isa) => {
      const outputs = [1, 2, 3].map((threads) =>
        withThreads(threads, () => ops.causalConv1dSync({ x, weight, bias, initialState: state, activation: 'silu', returnFinalState: true })),
      );
      t.true(relError(outputs[0]!.y.data as Float32Array, ref.y) < 1e-5, `${isa} ${c}`);
      for (const o of outputs.slice(1)) {
        t.true(sameBits(o.y.data as Float32Array, outputs[0]!.y.data as Float32Array), `${isa} b=${batch} L=${L} c=${c}`);
        t.true(sameBits(o.finalState!.data as Float32Array, Float32Array.from(ref.finalState)));
      }
    });
  }
});

test('causalConv1d leaves its inputs unchanged', (t) => {
  const { x, weight, bias, state } = problem(2, 9, 20, 4, 3);
  const before = [x, weight, bias, state].map(snapshot);
  ops.causalConv1dSync({ x, weight, bias, initialState: state, activation: 'silu', returnFinalState: true });
  [x, weight, bias, state].forEach((a, i) => t.true(sameBytes(a, before[i]!), `argument ${i} modified`));
});

test('causalConv1d rejects bad arguments with clear errors', (t) => {
  const { x, weight, bias, state } = problem(2, 5, 3, 4, 1);
  const before = [x, weight, bias, state].map(snapshot);
  const run = (args: unknown) => () => ops.causalConv1dSync(args as never);
  t.throws(run(x), { instanceOf: TypeError, message: /causalConv1d: expected one arguments object/ });
  t.throws(run({ x }), { instanceOf: TypeError, message: /causalConv1d: weight must be a Tensor, got undefined/ });
  t.throws(run({ x: new Float32Array(30), weight }), { instanceOf: TypeError, message: /x must be a Tensor, got a Float32Array/ });
  t.throws(run({ x, weight, activaton: 'silu' }), { instanceOf: TypeError, message: /unknown argument 'activaton'/ });
  // dtypes
  t.throws(run({ x: x.toBFloat16(), weight }), { instanceOf: TypeError, message: /causalConv1d: x must be float32, got bfloat16/ });
  t.throws(run({ x, weight: new Tensor(new Int32Array(12), [3, 4]) }), { instanceOf: TypeError, message: /weight must be float32, got int32/ });
  t.throws(run({ x, weight, bias: Tensor.zeros([3], 'int32') }), { instanceOf: TypeError, message: /bias must be float32, got int32/ });
  t.throws(run({ x, weight, initialState: state.toBFloat16() }), { instanceOf: TypeError, message: /initialState must be float32, got bfloat16/ });
  // shapes
  t.throws(run({ x: Tensor.zeros([5, 3]), weight }), { instanceOf: RangeError, message: /x must have rank 3 \(\[b, L, c\]\), got shape \[5, 3\]/ });
  t.throws(run({ x, weight: Tensor.zeros([4, 4]) }), { instanceOf: RangeError, message: /weight must have shape \[3, \*\] \(\[c, w\] with c = 3 from x\), got \[4, 4\]/ });
  t.throws(run({ x, weight: Tensor.zeros([3, 1, 4]) }), { instanceOf: RangeError, message: /weight must have rank 2 \(\[c, w\]\), got shape \[3, 1, 4\]; squeeze PyTorch's \[c, 1, w\]/ });
  t.throws(run({ x, weight: Tensor.zeros([12]) }), { instanceOf: RangeError, message: /weight must have shape \[3, \*\]/ });
  t.throws(run({ x, weight: Tensor.zeros([3, 0]) }), { instanceOf: RangeError, message: /causalConv1d: weight must have width w ≥ 1 \(\[c, w\]\), got shape \[3, 0\]/ });
  t.throws(run({ x, weight, bias: Tensor.zeros([4]) }), { instanceOf: RangeError, message: /bias must have shape \[3\] \(\[c\]\), got \[4\]/ });
  t.throws(run({ x, weight, initialState: Tensor.zeros([2, 3, 4]) }), { instanceOf: RangeError, message: /initialState must have shape \[2, 3, 3\] \(\[b, c, w − 1\]\), got \[2, 3, 4\]/ });
  t.throws(run({ x, weight, initialState: Tensor.zeros([2, 3]) }), { instanceOf: RangeError, message: /initialState must have shape \[2, 3, 3\]/ });
  t.throws(run({ x, weight: Tensor.zeros([3, 1]), initialState: Tensor.zeros([2, 3, 1]) }), { instanceOf: RangeError, message: /initialState must have shape \[2, 3, 0\]/ });
  // L = 0 and other empty dimensions
  t.throws(run({ x: Tensor.zeros([2, 0, 3]), weight }), { instanceOf: RangeError, message: /causalConv1d: x has an empty dimension 1/ });
  t.throws(run({ x: Tensor.zeros([0, 5, 3]), weight }), { instanceOf: RangeError, message: /x has an empty dimension 0/ });
  // options
  t.throws(run({ x, weight, activation: 'relu' }), { instanceOf: RangeError, message: /activation must be one of 'silu', 'none', got the string "relu"/ });
  t.throws(run({ x, weight, returnFinalState: 'yes' }), { instanceOf: TypeError, message: /returnFinalState must be a boolean/ });
  t.throws(run({ x, weight, out: { finalState: Tensor.zeros([2, 3, 3]) } }), { instanceOf: TypeError, message: /out.finalState is not an output of this call/ });
  [x, weight, bias, state].forEach((a, i) => t.true(sameBytes(a, before[i]!), `argument ${i} modified`));
});

test('causalConv1d: the native layer re-checks shapes that bypass TypeScript', async (t) => {
  const { native } = await import('../lib/native.js');
  const { x, weight, state } = problem(2, 5, 3, 4, 1);
  const y = Tensor.zeros([2, 5, 3]);
  t.throws(() => native.runSync('causalConv1d', { x, weight: Tensor.zeros([2, 4]), y }, {}), { instanceOf: RangeError, message: /weight must have shape \[3, 4\], got \[2, 4\]/ });
  t.throws(() => native.runSync('causalConv1d', { x, weight: Tensor.zeros([3, 0]), y }, {}), { instanceOf: RangeError, message: /weight must have width w ≥ 1/ });
  t.throws(() => native.runSync('causalConv1d', { x, weight, y: Tensor.zeros([2, 4, 3]) }, {}), { instanceOf: RangeError, message: /y must have shape \[2, 5, 3\]/ });
  t.throws(() => native.runSync('causalConv1d', { x, weight, y, initialState: Tensor.zeros([2, 3, 2]) }, {}), { instanceOf: RangeError, message: /initialState must have shape \[2, 3, 3\]/ });
  t.throws(() => native.runSync('causalConv1d', { x, weight, y, finalState: Tensor.zeros([2, 3]) }, {}), { instanceOf: RangeError, message: /finalState must have shape \[2, 3, 3\]/ });
  t.throws(() => native.runSync('causalConv1d', { x, weight, y, bias: Tensor.zeros([5]) }, {}), { instanceOf: RangeError, message: /bias must have shape \[3\]/ });
  t.throws(() => native.runSync('causalConv1d', { x, weight, y }, { activation: 'gelu' }), { instanceOf: RangeError, message: /activation must be 'silu' or 'none', got 'gelu'/ });
  t.throws(() => native.runSync('causalConv1d', { x: Tensor.zeros([2, 0, 3]), weight, y: Tensor.zeros([2, 0, 3]) }, {}), { instanceOf: RangeError, message: /x must have no empty dimension/ });
  t.notThrows(() => native.runSync('causalConv1d', { x, weight, y, initialState: state }, {}));
});

test('causalConv1d async form gives the sync result and rejects bad input', async (t) => {
  const { x, weight, bias, state } = problem(2, 300, 40, 4, 8);
  const args = { x, weight, bias, initialState: state, activation: 'silu' as const, returnFinalState: true };
  const sync = ops.causalConv1dSync(args);
  const pending = ops.causalConv1d(args);
  t.true(pending instanceof Promise);
  const result = await pending;
  t.true(sameBits(result.y.data as Float32Array, sync.y.data as Float32Array));
  t.true(sameBits(result.finalState!.data as Float32Array, sync.finalState!.data as Float32Array));
  await t.throwsAsync(ops.causalConv1d({ x, weight: Tensor.zeros([3, 4]) }), { instanceOf: RangeError, message: /weight must have shape \[40, \*\]/ });
});
