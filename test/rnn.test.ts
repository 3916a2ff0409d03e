// lstm / gru / rnn (native/cpu/rnn.cc) against the float64 recurrences in
// test/reference/rnn.ts, on every instruction set; the decode step (L = 1)
// against the fused sequence path; thread counts; state chaining.

import test from 'ava';
import { getNumThreads, ops, setNumThreads, Tensor } from '../lib/index.js';
import { gatesOf, recurrentRef, type Cell, type RecurrentOutputs } from './reference/rnn.js';
import { forEachIsa, relError, sameBytes, snapshot, values } from './helpers.js';

const CELLS: Cell[] = ['lstm', 'gru', 'rnn-tanh', 'rnn-relu'];

interface Case {
  x: Tensor;
  weightIH: Tensor;
  weightHH: Tensor;
  biasIH?: Tensor;
  biasHH?: Tensor;
  h0?: Tensor;
  c0?: Tensor;
}

interface Dims {
  batch: number;
  seqLen: number;
  inputSize: number;
  hiddenSize: number;
}

/** Random inputs at PyTorch's initial scale (weights ~ 1/√fan-in), so the gates neither saturate nor vanish. */
function makeCase(cell: Cell, d: Dims, seed: number, opts: { bias?: boolean; h0?: boolean; c0?: boolean; weights?: 'float32' | 'bfloat16' | 'float16' } = {}): Case {
  const G = gatesOf(cell);
  const { batch: B, seqLen: L, inputSize: I, hiddenSize: H } = d;
  const dtype = opts.weights ?? 'float32';
  const c: Case = {
    x: Tensor.randn([B, L, I], { seed }),
    weightIH: Tensor.randn([G * H, I], { seed: seed + 1, std: 1 / Math.sqrt(I), dtype }),
    weightHH: Tensor.randn([G * H, H], { seed: seed + 2, std: 1 / Math.sqrt(H), dtype }),
  };
  if (opts.bias) {
    c.biasIH = Tensor.randn([G * H], { seed: seed + 3, std: 0.5 });
    c.biasHH = Tensor.randn([G * H], { seed: seed + 4, std: 0.5 });
  }
  if (opts.h0) c.h0 = Tensor.randn([B, H], { seed: seed + 5, std: 0.5 });
  if (opts.c0 && cell === 'lstm') c.c0 = Tensor.randn([B, H], { seed: seed + 6 });
  return c;
}

interface Out {
  y: Tensor;
  h: Tensor;
  c?: Tensor;
}

function run(cell: Cell, c: Case): Out {
  const common = { x: c.x, weightIH: c.weightIH, weightHH: c.weightHH, biasIH: c.biasIH, biasHH: c.biasHH, h0: c.h0 };
  if (cell === 'lstm') return ops.lstmSync({ ...common, c0: c.c0 });
  if (cell === 'gru') return ops.gruSync(common);
  return ops.rnnSync({ ...common, nonlinearity: cell === 'rnn-relu' ? 'relu' : 'tanh' });
}

async function runAsync(cell: Cell, c: Case): Promise<Out> {
  const common = { x: c.x, weightIH: c.weightIH, weightHH: c.weightHH, biasIH: c.biasIH, biasHH: c.biasHH, h0: c.h0 };
  if (cell === 'lstm') return ops.lstm({ ...common, c0: c.c0 });
  if (cell === 'gru') return ops.gru(common);
  return ops.rnn({ ...common, nonlinearity: cell === 'rnn-relu' ? 'relu' : 'tanh' });
}

function dimsOf(c: Case): Dims {
  const [batch, seqLen, inputSize] = c.x.shape as [number, number, number];
  return { batch, seqLen, inputSize, hiddenSize: c.weightHH.shape[1]! };
}

/** The reference on the exact (rounded) weights the kernel sees. */
function reference(cell: Cell, c: Case): RecurrentOutputs {
  return recurrentRef(cell, {
    x: c.x.data as Float32Array,
    weightIH: values(c.weightIH),
    weightHH: values(c.weightHH),
    biasIH: c.biasIH?.data as Float32Array | undefined,
    biasHH: c.biasHH?.data as Float32Array | undefined,
    h0: c.h0?.data as Float32Array | undefined,
    c0: c.c0?.data as Float32Array | undefined,
    ...dimsOf(c),
  });
}

// float32 with 1-ulp transcendental functions: errors stay near 1e-7 per step
// and the cells contract them, so 1e-5 holds over hundreds of steps.
const TOLERANCE = 1e-5;

function checkAgainstReference(t: import('ava').ExecutionContext, cell: Cell, c: Case, label: string): void {
  const ref = reference(cell, c);
  forEachIsa((isa) => {
    const out = run(cell, c);
    const d = dimsOf(c);
    t.deepEqual(out.y.shape, [d.batch, d.seqLen, d.hiddenSize]);
    const errY = relError(out.y.data as Float32Array, ref.y);
    const errH = relError(out.h.data as Float32Array, ref.h);
    t.true(errY < TOLERANCE && errH < TOLERANCE, `${isa} ${label}: y error ${errY}, h error ${errH}`);
    if (cell === 'lstm') {
      const errC = relError(out.c!.data as Float32Array, ref.c);
      t.true(errC < TOLERANCE, `${isa} ${label}: c error ${errC}`);
    } else {
      t.is(out.c, undefined);
    }
  });
}

test('the reference reproduces hand-worked PyTorch-order steps', (t) => {
  // One unit, one input: every gate gets a different pre-activation, so a gate-order mix-up changes the result.
  const lstm = recurrentRef('lstm', {
    x: [1], weightIH: [0.5, -1, 2, 1.5], weightHH: [0.1, 0.2, 0.3, 0.4], biasIH: [0.1, 0.2, -0.3, 0.05],
    h0: [0.5], c0: [-0.25], batch: 1, seqLen: 1, inputSize: 1, hiddenSize: 1,
  });
  t.true(Math.abs(lstm.h[0]! - 0.421518800329829) < 1e-14);
  t.true(Math.abs(lstm.c[0]! - 0.5423539947064278) < 1e-14);
  // GRU: b_hn sits inside r·(…), unlike the other biases.
  const gru = recurrentRef('gru', {
    x: [1], weightIH: [0.5, -1, 2], weightHH: [0.1, 0.2, 0.3], biasIH: [0.1, 0.2, -0.3], biasHH: [0, 0, 0.7],
    h0: [0.5], batch: 1, seqLen: 1, inputSize: 1, hiddenSize: 1,
  });
  t.true(Math.abs(gru.h[0]! - 0.8196548524621661) < 1e-14);
  const rnn = recurrentRef('rnn-tanh', {
    x: [1], weightIH: [0.5], weightHH: [0.1], biasIH: [0.1], biasHH: [0.2], h0: [0.5], batch: 1, seqLen: 1, inputSize: 1, hiddenSize: 1,
  });
  t.true(Math.abs(rnn.h[0]! - 0.6910694698329305) < 1e-14);
  const relu = recurrentRef('rnn-relu', {
    x: [1, 1], weightIH: [-2], weightHH: [0.1], biasIH: [0.1], biasHH: [0.2], h0: [0.5], batch: 1, seqLen: 2, inputSize: 1, hiddenSize: 1,
  });
  t.deepEqual(Array.from(relu.y), [0, 0]);
});

// Odd sizes: every (batch, seqLen, H) with in cycling through 1, 7, 33, and
// biases / initial states cycling through their combinations.
const BATCHES = [1, 3];
const SEQ_LENS = [1, 7, 65];
const INPUTS = [1, 7, 33];
const HIDDEN = [1, 7, 33, 64];

for (const cell of CELLS) {
  test(`${cell} matches the float64 reference on odd sizes on every ISA`, (t) => {
    let i = 0;
    for (const batch of BATCHES) {
      for (const seqLen of SEQ_LENS) {
        for (const hiddenSize of HIDDEN) {
          const inputSize = INPUTS[i % INPUTS.length]!;
          const opts = { bias: i % 2 === 0, h0: (i >> 1) % 2 === 0, c0: (i >> 2) % 2 === 0 };
          const d = { batch, seqLen, inputSize, hiddenSize };
          checkAgainstReference(t, cell, makeCase(cell, d, 100 + i, opts), `${JSON.stringify(d)} ${JSON.stringify(opts)}`);
          i++;
        }
      }
    }
  });

  test(`${cell} with and without biases and initial states, decode step and sequence`, (t) => {
    for (const seqLen of [1, 5]) {
      for (const bias of [false, true]) {
        for (const h0 of [false, true]) {
          for (const c0 of cell === 'lstm' ? [false, true] : [false]) {
            const opts = { bias, h0, c0 };
            const d = { batch: 3, seqLen, inputSize: 9, hiddenSize: 20 };
            checkAgainstReference(t, cell, makeCase(cell, d, 7, opts), `L=${seqLen} ${JSON.stringify(opts)}`);
          }
        }
      }
    }
    // Only one of the two biases.
    const d = { batch: 2, seqLen: 4, inputSize: 5, hiddenSize: 17 };
    const both = makeCase(cell, d, 8, { bias: true, h0: true });
    checkAgainstReference(t, cell, { ...both, biasIH: undefined }, 'biasHH only');
    checkAgainstReference(t, cell, { ...both, biasHH: undefined }, 'biasIH only');
  });

  test(`${cell} long sequence (L = 200, H = 256) matches the reference on every ISA`, (t) => {
    const c = makeCase(cell, { batch: 2, seqLen: 200, inputSize: 33, hiddenSize: 256 }, 5, { bias: true, h0: true, c0: true });
    checkAgainstReference(t, cell, c, 'L=200 H=256');
  });

  test(`${cell} with bfloat16 and float16 weights matches the reference on the rounded weights`, (t) => {
    for (const weights of ['bfloat16', 'float16'] as const) {
      for (const [seqLen, hiddenSize] of [[1, 33], [9, 33], [6, 64]] as [number, number][]) {
        const c = makeCase(cell, { batch: 3, seqLen, inputSize: 7, hiddenSize }, 11, { bias: true, h0: true, c0: true, weights });
        checkAgainstReference(t, cell, c, `${weights} L=${seqLen} H=${hiddenSize}`);
      }
    }
    // Mixed: float32 input weights, bfloat16 hidden weights.
    const c = makeCase(cell, { batch: 2, seqLen: 5, inputSize: 7, hiddenSize: 40 }, 12, { bias: true, h0: true });
    checkAgainstReference(t, cell, { ...c, weightHH: c.weightHH.toBFloat16() }, 'f32 weightIH, bf16 weightHH');
  });

  test(`${cell} gives identical results on 1 and 2 threads`, (t) => {
    const original = getNumThreads();
    try {
      // Large enough that the recurrence splits its unit blocks over threads.
      for (const d of [
        { batch: 1, seqLen: 20, inputSize: 33, hiddenSize: 256 },
        { batch: 3, seqLen: 9, inputSize: 7, hiddenSize: 64 },
        { batch: 5, seqLen: 1, inputSize: 7, hiddenSize: 100 },
        // Fewer unit blocks than threads: the batch is split instead.
        { batch: 41, seqLen: 5, inputSize: 3, hiddenSize: 16 },
      ]) {
        const c = makeCase(cell, d, 21, { bias: true, h0: true, c0: true });
        forEachIsa((isa) => {
          setNumThreads(1);
          const one = run(cell, c);
          setNumThreads(2);
          const two = run(cell, c);
          t.deepEqual(Array.from(two.y.data as Float32Array), Array.from(one.y.data as Float32Array), `${isa} ${JSON.stringify(d)}`);
          t.deepEqual(Array.from(two.h.data as Float32Array), Array.from(one.h.data as Float32Array));
          if (cell === 'lstm') t.deepEqual(Array.from(two.c!.data as Float32Array), Array.from(one.c!.data as Float32Array));
        });
      }
    } finally {
      setNumThreads(original);
    }
  });

  test(`${cell}: two calls passing the state on, and L = 1 steps, equal one call`, (t) => {
    const d = { batch: 3, seqLen: 12, inputSize: 7, hiddenSize: 33 };
    const c = makeCase(cell, d, 31, { bias: true, h0: true, c0: true });
    const timeSlice = (t0: number, t1: number) => {
      const out = new Float32Array(d.batch * (t1 - t0) * d.inputSize);
      const src = c.x.data as Float32Array;
      for (let b = 0; b < d.batch; b++) out.set(src.subarray((b * d.seqLen + t0) * d.inputSize, (b * d.seqLen + t1) * d.inputSize), b * (t1 - t0) * d.inputSize);
      return new Tensor(out, [d.batch, t1 - t0, d.inputSize]);
    };
    forEachIsa((isa) => {
      const whole = run(cell, c);
      const wholeY = whole.y.data as Float32Array;
      const sliceY = (t0: number, t1: number) => {
        const out: number[] = [];
        for (let b = 0; b < d.batch; b++) out.push(...wholeY.subarray((b * d.seqLen + t0) * d.hiddenSize, (b * d.seqLen + t1) * d.hiddenSize));
        return out;
      };
      // Split at 5: both halves take the sequence path.
      const first = run(cell, { ...c, x: timeSlice(0, 5) });
      const second = run(cell, { ...c, x: timeSlice(5, d.seqLen), h0: first.h, c0: first.c });
      t.true(relError(first.y.data as Float32Array, sliceY(0, 5)) < 1e-6, `${isa} first half`);
      t.true(relError(second.y.data as Float32Array, sliceY(5, d.seqLen)) < 1e-6, `${isa} second half`);
      t.true(relError(second.h.data as Float32Array, whole.h.data as Float32Array) < 1e-6, `${isa} h`);
      if (cell === 'lstm') t.true(relError(second.c!.data as Float32Array, whole.c!.data as Float32Array) < 1e-6, `${isa} c`);
      // One step at a time: the decode path, chained.
      let h = c.h0;
      let cs = c.c0;
      for (let step = 0; step < d.seqLen; step++) {
        const out = run(cell, { ...c, x: timeSlice(step, step + 1), h0: h, c0: cs });
        t.true(relError(out.y.data as Float32Array, sliceY(step, step + 1)) < 1e-6, `${isa} step ${step}`);
        h = out.h;
        cs = out.c;
      }
      t.true(relError(h!.data as Float32Array, whole.h.data as Float32Array) < 1e-6, `${isa} chained h`);
      if (cell === 'lstm') t.true(relError(cs!.data as Float32Array, whole.c!.data as Float32Array) < 1e-6, `${isa} chained c`);
    });
  });

  test(`${cell} async form matches the sync form and leaves its inputs unchanged`, async (t) => {
    const c = makeCase(cell, { batch: 2, seqLen: 9, inputSize: 7, hiddenSize: 33 }, 41, { bias: true, h0: true, c0: true });
    const inputs = Object.values(c).filter((v): v is Tensor => v instanceof Tensor);
    const before = inputs.map(snapshot);
    const sync = run(cell, c);
    const pending = runAsync(cell, c);
    t.true(pending instanceof Promise);
    const asyncOut = await pending;
    t.deepEqual(Array.from(asyncOut.y.data as Float32Array), Array.from(sync.y.data as Float32Array));
    t.deepEqual(Array.from(asyncOut.h.data as Float32Array), Array.from(sync.h.data as Float32Array));
    inputs.forEach((x, i) => t.true(sameBytes(x, before[i]!), `input ${i} was modified`));
    t.true(relError(sync.y.data as Float32Array, reference(cell, c).y) < TOLERANCE);
  });
}

// The input projections of all steps are one buffer up to 8M floats; beyond
// that the sequence is projected in time chunks, one step at a time at worst.
test('long sequences and huge batches are projected in time chunks, matching the reference', (t) => {
  for (const d of [
    { batch: 3, seqLen: 700_000, inputSize: 1, hiddenSize: 1 }, // two chunks per sequence, the last one short
    { batch: 2_100_000, seqLen: 2, inputSize: 1, hiddenSize: 1 }, // one step per chunk, rows L·in apart
  ]) {
    const c = makeCase('lstm', d, 71, { bias: true, h0: true, c0: true });
    const ref = reference('lstm', c);
    forEachIsa((isa) => {
      const out = run('lstm', c);
      const errY = relError(out.y.data as Float32Array, ref.y);
      const errC = relError(out.c!.data as Float32Array, ref.c);
      t.true(errY < TOLERANCE && errC < TOLERANCE, `${isa} ${JSON.stringify(d)}: y error ${errY}, c error ${errC}`);
    });
  }
});

test('lstm writes into out: tensors, and h is the last step of y', (t) => {
  const c = makeCase('lstm', { batch: 2, seqLen: 6, inputSize: 5, hiddenSize: 9 }, 51, { bias: true });
  const y = Tensor.zeros([2, 6, 9]);
  const h = Tensor.zeros([2, 9]);
  const cOut = Tensor.zeros([2, 9]);
  const result = ops.lstmSync({ ...c, out: { y, h, c: cOut } });
  t.is(result.y, y);
  t.is(result.h, h);
  t.is(result.c, cOut);
  const yData = y.data as Float32Array;
  for (let b = 0; b < 2; b++) {
    t.deepEqual(Array.from(h.data.subarray(b * 9, b * 9 + 9)), Array.from(yData.subarray((b * 6 + 5) * 9, (b * 6 + 6) * 9)));
  }
  t.true(relError(cOut.data as Float32Array, reference('lstm', c).c) < TOLERANCE);
});

// ---- bad input -------------------------------------------------------------

const bad = makeCase('lstm', { batch: 2, seqLen: 3, inputSize: 5, hiddenSize: 4 }, 61, { bias: true, h0: true, c0: true });
const badGru = makeCase('gru', { batch: 2, seqLen: 3, inputSize: 5, hiddenSize: 4 }, 62, { bias: true, h0: true });
const badRnn = makeCase('rnn-tanh', { batch: 2, seqLen: 3, inputSize: 5, hiddenSize: 4 }, 63, { bias: true, h0: true });

function unchanged(t: import('ava').ExecutionContext, tensors: (Tensor | undefined)[], fn: () => void): void {
  const list = tensors.filter((x): x is Tensor => x !== undefined);
  const before = list.map(snapshot);
  fn();
  list.forEach((x, i) => t.true(sameBytes(x, before[i]!), `argument ${i} was modified`));
}

test('lstm rejects weights whose row count is not 4·H, and mismatched in / H', (t) => {
  unchanged(t, Object.values(bad), () => {
    t.throws(() => ops.lstmSync({ ...bad, weightHH: Tensor.zeros([15, 4]) }), {
      instanceOf: RangeError, message: /lstm: weightHH must have shape \[4·H=16, H=4\] \(4 gate blocks of H rows, gates i, f, g, o\), got \[15, 4\]/,
    });
    t.throws(() => ops.lstmSync({ ...bad, weightIH: Tensor.zeros([12, 5]) }), {
      instanceOf: RangeError, message: /lstm: weightIH must have shape \[4·H=16, in=5\] to match weightHH \[16, 4\] and x \[2, 3, 5\], got \[12, 5\]/,
    });
    t.throws(() => ops.lstmSync({ ...bad, weightIH: Tensor.zeros([16, 6]) }), { instanceOf: RangeError, message: /weightIH must have shape \[4·H=16, in=5\].*got \[16, 6\]/ });
    t.throws(() => ops.lstmSync({ ...bad, weightHH: Tensor.zeros([20, 5]) }), { instanceOf: RangeError, message: /weightIH must have shape \[4·H=20, in=5\]/ });
    t.throws(() => ops.lstmSync({ ...bad, weightHH: Tensor.zeros([16]) }), { instanceOf: RangeError, message: /weightHH must have rank 2 \(\[4·H, H\]\), got shape \[16\]/ });
    t.throws(() => ops.lstmSync({ ...bad, biasIH: Tensor.zeros([4]) }), { instanceOf: RangeError, message: /lstm: biasIH must have shape \[16\] \(\[4·H\]\), got \[4\]/ });
    t.throws(() => ops.lstmSync({ ...bad, biasHH: Tensor.zeros([17]) }), { instanceOf: RangeError, message: /lstm: biasHH must have shape \[16\]/ });
    t.throws(() => ops.lstmSync({ ...bad, h0: Tensor.zeros([2, 5]) }), { instanceOf: RangeError, message: /lstm: h0 must have shape \[2, 4\] \(\[batch, H\]\), got \[2, 5\]/ });
    t.throws(() => ops.lstmSync({ ...bad, c0: Tensor.zeros([1, 4]) }), { instanceOf: RangeError, message: /lstm: c0 must have shape \[2, 4\] \(\[batch, H\]\), got \[1, 4\]/ });
    t.throws(() => ops.lstmSync({ ...bad, x: Tensor.zeros([2, 5]) }), { instanceOf: RangeError, message: /lstm: x must have rank 3 \(\[batch, seqLen, in\]\), got shape \[2, 5\]/ });
  });
});

test('gru and rnn name their own gate counts', (t) => {
  t.throws(() => ops.gruSync({ ...badGru, weightHH: Tensor.zeros([16, 4]) }), {
    instanceOf: RangeError, message: /gru: weightHH must have shape \[3·H=12, H=4\] \(3 gate blocks of H rows, gates r, z, n\), got \[16, 4\]/,
  });
  t.throws(() => ops.gruSync({ ...badGru, weightIH: Tensor.zeros([16, 5]) }), { instanceOf: RangeError, message: /gru: weightIH must have shape \[3·H=12, in=5\]/ });
  t.throws(() => ops.rnnSync({ ...badRnn, weightHH: Tensor.zeros([8, 4]) }), { instanceOf: RangeError, message: /rnn: weightHH must have shape \[H=4, H=4\] \(1 gate block of H rows\), got \[8, 4\]/ });
  t.throws(() => ops.rnnSync({ ...badRnn, biasHH: Tensor.zeros([12]) }), { instanceOf: RangeError, message: /rnn: biasHH must have shape \[4\] \(\[H\]\), got \[12\]/ });
});

test('recurrent ops reject wrong dtypes, plain arrays and unknown arguments', (t) => {
  unchanged(t, Object.values(bad), () => {
    t.throws(() => ops.lstmSync({ ...bad, x: bad.x.toBFloat16() as never }), { instanceOf: TypeError, message: /lstm: x must be float32, got bfloat16/ });
    t.throws(() => ops.lstmSync({ ...bad, weightHH: new Tensor(new Int32Array(64), [16, 4]) }), {
      instanceOf: TypeError, message: /lstm: weightHH must be float32 or bfloat16 or float16, got int32/,
    });
    t.throws(() => ops.lstmSync({ ...bad, biasIH: bad.biasIH!.toBFloat16() as never }), { instanceOf: TypeError, message: /lstm: biasIH must be float32, got bfloat16/ });
    t.throws(() => ops.lstmSync({ ...bad, h0: bad.h0!.toFloat16() as never }), { instanceOf: TypeError, message: /lstm: h0 must be float32, got float16/ });
    t.throws(() => ops.lstmSync({ ...bad, c0: bad.c0!.toFloat16() as never }), { instanceOf: TypeError, message: /lstm: c0 must be float32, got float16/ });
    t.throws(() => ops.lstmSync({ ...bad, x: Array.from(bad.x.data) as never }), { instanceOf: TypeError, message: /lstm: x must be a Tensor, got an Array/ });
    t.throws(() => ops.gruSync({ ...badGru, weightIH: badGru.weightIH.data as never }), { instanceOf: TypeError, message: /gru: weightIH must be a Tensor, got a Float32Array/ });
    t.throws(() => ops.lstmSync(undefined as never), { instanceOf: TypeError, message: /lstm: expected one arguments object/ });
    t.throws(() => ops.lstmSync({ ...bad, nonlinearity: 'tanh' } as never), { instanceOf: TypeError, message: /lstm: unknown argument 'nonlinearity'/ });
  });
});

test('L = 0 and other empty dimensions are rejected', (t) => {
  t.throws(() => ops.lstmSync({ ...bad, x: Tensor.zeros([2, 0, 5]) }), { instanceOf: RangeError, message: /lstm: x has an empty dimension 1 \(shape \[2, 0, 5\]\)/ });
  t.throws(() => ops.gruSync({ ...badGru, x: Tensor.zeros([0, 3, 5]) }), { instanceOf: RangeError, message: /gru: x has an empty dimension 0/ });
  t.throws(() => ops.rnnSync({ x: badRnn.x, weightIH: Tensor.zeros([0, 5]), weightHH: Tensor.zeros([0, 0]) }), { instanceOf: RangeError, message: /rnn: weightHH has an empty dimension 0/ });
});

test('c0 given to gru or rnn, and an unknown nonlinearity, are rejected', (t) => {
  unchanged(t, Object.values(badGru), () => {
    t.throws(() => ops.gruSync({ ...badGru, c0: bad.c0 } as never), { instanceOf: TypeError, message: /gru: c0 is an LSTM cell state; gru takes h0 only/ });
    t.throws(() => ops.rnnSync({ ...badRnn, c0: bad.c0 } as never), { instanceOf: TypeError, message: /rnn: c0 is an LSTM cell state; rnn takes h0 only/ });
    t.throws(() => ops.rnnSync({ ...badRnn, nonlinearity: 'sigmoid' as never }), { instanceOf: RangeError, message: /rnn: nonlinearity must be one of 'tanh', 'relu', got the string "sigmoid"/ });
    t.throws(() => ops.rnnSync({ ...badRnn, nonlinearity: 1 as never }), { instanceOf: RangeError, message: /rnn: nonlinearity must be one of 'tanh', 'relu', got number 1/ });
  });
});

test('async forms reject on bad input', async (t) => {
  await t.throwsAsync(ops.lstm({ ...bad, weightHH: Tensor.zeros([15, 4]) }), { instanceOf: RangeError, message: /lstm: weightHH must have shape/ });
  await t.throwsAsync(ops.gru({ ...badGru, x: Tensor.zeros([2, 0, 5]) }), { instanceOf: RangeError, message: /gru: x has an empty dimension 1/ });
  await t.throwsAsync(ops.rnn({ ...badRnn, nonlinearity: 'gelu' as never }), { instanceOf: RangeError, message: /rnn: nonlinearity must be one of/ });
});

test('the native layer itself rejects inconsistent recurrent calls that bypass the TypeScript checks', async (t) => {
  const { native } = await import('../lib/native.js');
  const y = Tensor.zeros([2, 3, 4]);
  const h = Tensor.zeros([2, 4]);
  const c = Tensor.zeros([2, 4]);
  const base = { x: bad.x, weightIH: bad.weightIH, weightHH: bad.weightHH, y, h, c };
  t.notThrows(() => native.runSync('lstm', base, {}));
  t.throws(() => native.runSync('lstm', { ...base, weightHH: Tensor.zeros([12, 4]) }, {}), { message: /lstm: weightHH must have shape \[16, 4\]/ });
  t.throws(() => native.runSync('lstm', { ...base, weightIH: Tensor.zeros([16, 4]) }, {}), { message: /lstm: weightIH must have shape \[16, 5\]/ });
  t.throws(() => native.runSync('lstm', { ...base, y: Tensor.zeros([2, 2, 4]) }, {}), { message: /lstm: y must have shape \[2, 3, 4\]/ });
  t.throws(() => native.runSync('lstm', { ...base, h: Tensor.zeros([4]) }, {}), { message: /lstm: h must have shape \[2, 4\]/ });
  t.throws(() => native.runSync('lstm', { ...base, c0: Tensor.zeros([3, 4]) }, {}), { message: /lstm: c0 must have shape \[2, 4\]/ });
  t.throws(() => native.runSync('lstm', { x: bad.x, weightIH: bad.weightIH, weightHH: bad.weightHH, y, h }, {}), { message: /missing tensor argument 'c'/ });
  t.throws(() => native.runSync('lstm', { ...base, x: Tensor.zeros([2, 0, 5]), y: Tensor.zeros([2, 0, 4]) }, {}), { instanceOf: RangeError, message: /no empty dimension/ });
  t.throws(() => native.runSync('gru', { ...base, weightIH: badGru.weightIH, weightHH: badGru.weightHH, c0: c }, {}), { instanceOf: TypeError, message: /gru: c0 is an LSTM state/ });
  t.throws(() => native.runSync('rnn', { ...base, weightIH: badRnn.weightIH, weightHH: badRnn.weightHH }, { nonlinearity: 'gelu' }), {
    instanceOf: RangeError, message: /rnn: nonlinearity must be 'tanh' or 'relu', got 'gelu'/,
  });
  t.throws(() => native.runSync('gru', { ...base, weightIH: badGru.weightIH, weightHH: badGru.weightHH, biasHH: Tensor.zeros([12], 'int32') }, {}), {
    instanceOf: TypeError, message: /gru: biasHH must be float32, got int32/,
  });
});
