// lstm / gru / rnn on the CUDA device (native/cuda/rnn.cu) against the CPU op,
// on both recurrence paths: the persistent cooperative kernel and one launch
// per step (CROSSROAD_CUDA_RNN picks the path; native/cuda/rnn_dispatch.cc
// reads it on every call). Skipped, with the reason, where no device (or
// emulator build) is available.

import test, { type ExecutionContext } from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { native } from '../lib/native.js';
import { cudaOpNames } from '../lib/cuda.js';
import type { Cell } from './reference/rnn.js';
import { gatesOf } from './reference/rnn.js';
import { cudaTests, relError, sameBytes, snapshot } from './helpers.js';

const { cuda, skipReason, gpu } = cudaTests('cuda-rnn.test');

const CELLS: Cell[] = ['lstm', 'gru', 'rnn-tanh', 'rnn-relu'];
type Path = 'persistent' | 'step' | 'auto';
// Both float32 with the same cell math; the hidden products sum in another order.
const TOLERANCE = 1e-5;

async function withPath<T>(path: Path, fn: () => Promise<T> | T): Promise<T> {
  const before = process.env.CROSSROAD_CUDA_RNN;
  if (path === 'auto') delete process.env.CROSSROAD_CUDA_RNN;
  else process.env.CROSSROAD_CUDA_RNN = path;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.CROSSROAD_CUDA_RNN;
    else process.env.CROSSROAD_CUDA_RNN = before;
  }
}

/**
 * An emulator build without cooperative groups has no persistent kernel (the
 * op says so when it is forced); everywhere else both paths are tested.
 */
function persistentUnavailable(): string | null {
  if (skipReason !== null) return null;
  const x = Tensor.randn([1, 2, 1], { seed: 1 }).toDeviceSync('cuda');
  const w = Tensor.randn([1, 1], { seed: 2 }).toDeviceSync('cuda');
  const before = process.env.CROSSROAD_CUDA_RNN;
  process.env.CROSSROAD_CUDA_RNN = 'persistent';
  try {
    ops.rnnSync({ x, weightIH: w, weightHH: w });
    return null;
  } catch (e) {
    const message = (e as Error).message;
    if ((cuda as { emulated?: boolean }).emulated && /no cooperative groups/.test(message)) return message;
    throw e;
  } finally {
    if (before === undefined) delete process.env.CROSSROAD_CUDA_RNN;
    else process.env.CROSSROAD_CUDA_RNN = before;
  }
}
const noPersistent = persistentUnavailable();
if (noPersistent !== null) console.log(`cuda-rnn.test: the persistent path is not tested: ${noPersistent}`);
const PATHS: Path[] = noPersistent === null ? ['persistent', 'step'] : ['step'];

test('the CUDA op table lists lstm, gru and rnn exactly when the build has CUDA', (t) => {
  const names = cudaOpNames();
  for (const op of ['lstm', 'gru', 'rnn']) t.is(names.has(op), cuda.built, op);
});

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
  B: number;
  L: number;
  I: number;
  H: number;
}

interface Options {
  bias?: boolean;
  h0?: boolean;
  c0?: boolean;
  weights?: 'float32' | 'bfloat16' | 'float16';
}

/** PyTorch's initial scale (weights ~ 1/√fan-in): the gates neither saturate nor vanish. */
function makeCase(cell: Cell, d: Dims, seed: number, o: Options = {}): Case {
  const G = gatesOf(cell);
  const dtype = o.weights ?? 'float32';
  const c: Case = {
    x: Tensor.randn([d.B, d.L, d.I], { seed }),
    weightIH: Tensor.randn([G * d.H, d.I], { seed: seed + 1, std: 1 / Math.sqrt(d.I), dtype }),
    weightHH: Tensor.randn([G * d.H, d.H], { seed: seed + 2, std: 1 / Math.sqrt(d.H), dtype }),
  };
  if (o.bias) {
    c.biasIH = Tensor.randn([G * d.H], { seed: seed + 3, std: 0.5 });
    c.biasHH = Tensor.randn([G * d.H], { seed: seed + 4, std: 0.5 });
  }
  if (o.h0) c.h0 = Tensor.randn([d.B, d.H], { seed: seed + 5, std: 0.5 });
  if (o.c0 && cell === 'lstm') c.c0 = Tensor.randn([d.B, d.H], { seed: seed + 6 });
  return c;
}

async function toDevice(c: Case): Promise<Case> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c)) if (v !== undefined) out[k] = await v.toDevice('cuda');
  return out as unknown as Case;
}

interface Out {
  y: Tensor;
  h: Tensor;
  c?: Tensor;
}

function argsOf(cell: Cell, c: Case) {
  const common = { x: c.x, weightIH: c.weightIH, weightHH: c.weightHH, biasIH: c.biasIH, biasHH: c.biasHH, h0: c.h0 };
  if (cell === 'lstm') return { ...common, c0: c.c0 };
  if (cell === 'gru') return common;
  return { ...common, nonlinearity: cell === 'rnn-relu' ? ('relu' as const) : ('tanh' as const) };
}

function runSync(cell: Cell, c: Case): Out {
  if (cell === 'lstm') return ops.lstmSync(argsOf(cell, c));
  if (cell === 'gru') return ops.gruSync(argsOf(cell, c));
  return ops.rnnSync(argsOf(cell, c));
}

function runAsync(cell: Cell, c: Case): Promise<Out> {
  if (cell === 'lstm') return ops.lstm(argsOf(cell, c));
  if (cell === 'gru') return ops.gru(argsOf(cell, c));
  return ops.rnn(argsOf(cell, c));
}

async function hostOut(o: Out): Promise<Out> {
  return { y: await o.y.toHost(), h: await o.h.toHost(), c: o.c ? await o.c.toHost() : undefined };
}

function compare(t: ExecutionContext, cell: Cell, got: Out, expected: Out, label: string): void {
  t.deepEqual(got.y.shape, expected.y.shape, `${label}: y shape`);
  const ey = relError(got.y.data as Float32Array, expected.y.data as Float32Array);
  const eh = relError(got.h.data as Float32Array, expected.h.data as Float32Array);
  t.true(ey <= TOLERANCE && eh <= TOLERANCE, `${label}: y error ${ey}, h error ${eh}`);
  if (cell === 'lstm') {
    const ec = relError(got.c!.data as Float32Array, expected.c!.data as Float32Array);
    t.true(ec <= TOLERANCE, `${label}: c error ${ec}`);
  } else {
    t.is(got.c, undefined, `${label}: no c`);
  }
}

// [B, L, in, H, options]: every hidden size of {1, 7, 33, 128}, input size of
// {1, 5, 64}, length of {1, 7, 100} and batch of {1, 3} appears, with and
// without biases and initial states, with 16-bit weights, and a batch larger
// than one pass of the kernels.
const CASES: [number, number, number, number, Options][] = [
  [1, 1, 1, 1, {}],
  [3, 7, 5, 7, { bias: true, h0: true, c0: true }],
  [1, 100, 64, 33, { bias: true, h0: true }],
  [3, 7, 64, 128, { bias: true, c0: true }],
  [3, 100, 1, 7, {}],
  [1, 100, 5, 128, { bias: true, h0: true, c0: true }],
  [3, 1, 5, 33, { bias: true, h0: true, c0: true }],
  [1, 7, 5, 7, { bias: true, weights: 'bfloat16' }],
  [3, 7, 1, 33, { h0: true, c0: true, weights: 'float16' }],
  [35, 3, 5, 7, { bias: true, h0: true, c0: true }], // more batch rows than one pass of the step kernel
];

for (const cell of CELLS) {
  gpu(`${cell} on the device matches the CPU op (both paths; sizes, biases, states, 16-bit weights; sync and async)`, async (t) => {
    let seed = 1000;
    for (const [i, [B, L, I, H, options]] of CASES.entries()) {
      const c = makeCase(cell, { B, L, I, H }, (seed += 10), options);
      const expected = runSync(cell, c);
      const dev = await toDevice(c);
      for (const path of PATHS) {
        const label = `${cell} ${path} B=${B} L=${L} in=${I} H=${H} ${JSON.stringify(options)}`;
        const asyncForm = (i + (path === 'step' ? 1 : 0)) % 2 === 0;
        const out = await withPath(path, () => (asyncForm ? runAsync(cell, dev) : runSync(cell, dev)));
        t.is(out.y.device, 'cuda', label);
        compare(t, cell, await hostOut(out), expected, `${label} ${asyncForm ? 'async' : 'sync'}`);
      }
    }
  });
}

gpu('the device ops leave their inputs unchanged', async (t) => {
  for (const cell of CELLS) {
    const c = makeCase(cell, { B: 3, L: 7, I: 5, H: 33 }, 7, { bias: true, h0: true, c0: true });
    const dev = await toDevice(c);
    for (const path of PATHS) {
      await withPath(path, () => runAsync(cell, dev));
      for (const [name, tensor] of Object.entries(dev) as [keyof Case, Tensor][]) {
        t.true(sameBytes(await tensor.toHost(), snapshot(c[name]!)), `${cell} ${path}: ${name} changed`);
      }
    }
  }
});

/** Runs x [B, L, in] as consecutive calls over the given lengths, each starting from the last one's state. */
async function chained(cell: Cell, dev: Case, lengths: number[]): Promise<Out> {
  const ys: Tensor[] = [];
  let state: { h0?: Tensor; c0?: Tensor } = { h0: dev.h0, c0: dev.c0 };
  let t0 = 0;
  let last: Out | undefined;
  const x = await dev.x.toHost();
  for (const n of lengths) {
    const part = await ops.sliceSync({ x, axis: 1, start: t0, end: t0 + n }).y.toDevice('cuda');
    last = await runAsync(cell, { ...dev, x: part, ...state });
    ys.push(await last.y.toHost());
    state = { h0: last.h, c0: last.c };
    t0 += n;
  }
  const h = await hostOut(last!);
  return { y: ops.concatSync({ inputs: ys, axis: 1 }).y, h: h.h, c: h.c };
}

gpu('chained device calls (a split sequence, and step by step) equal one call', async (t) => {
  for (const cell of CELLS) {
    const c = makeCase(cell, { B: 3, L: 9, I: 5, H: 33 }, 77, { bias: true, h0: true, c0: true });
    const dev = await toDevice(c);
    for (const path of PATHS) {
      await withPath(path, async () => {
        const whole = await hostOut(await runAsync(cell, dev));
        compare(t, cell, await chained(cell, dev, [4, 5]), whole, `${cell} ${path}: 4 + 5 steps`);
        compare(t, cell, await chained(cell, dev, new Array(9).fill(1)), whole, `${cell} ${path}: 9 single steps`);
      });
    }
  }
});

gpu('a hidden size whose W_hh does not fit on chip runs per step (and a forced persistent kernel is refused)', async (t) => {
  const c = makeCase('lstm', { B: 1, L: 2, I: 3, H: 2048 }, 5, { bias: true, weights: 'bfloat16' });
  const expected = runSync('lstm', c);
  const dev = await toDevice(c);
  compare(t, 'lstm', await hostOut(await withPath('auto', () => runAsync('lstm', dev))), expected, 'H=2048 auto');
  const message = noPersistent === null ? /^lstm: CROSSROAD_CUDA_RNN=persistent, but W_hh does not fit/ : /^lstm: CROSSROAD_CUDA_RNN=persistent, but /;
  await withPath('persistent', () => t.throwsAsync(runAsync('lstm', dev), { instanceOf: Error, message }));
});

gpu('bad inputs on the device are TypeErrors/RangeErrors naming the argument, as on the CPU', async (t) => {
  const c = await toDevice(makeCase('lstm', { B: 2, L: 3, I: 4, H: 5 }, 3, { bias: true, h0: true, c0: true }));
  const bad = await Tensor.randn([19, 5], { seed: 1 }).toDevice('cuda');
  t.throws(() => ops.lstmSync({ ...argsOf('lstm', c), weightHH: bad }), { instanceOf: RangeError, message: /^lstm: weightHH must have shape/ });
  await t.throwsAsync(ops.lstm({ ...argsOf('lstm', c), h0: bad }), { instanceOf: RangeError, message: /^lstm: h0/ });
  t.throws(() => ops.gruSync({ ...argsOf('gru', c), c0: c.c0 } as never), { instanceOf: TypeError, message: /^gru: c0 is an LSTM cell state/ });
  t.throws(() => ops.rnnSync({ ...argsOf('rnn-tanh', c), nonlinearity: 'sigmoid' as 'tanh' }), { message: /^rnn: nonlinearity/ });

  // Past the TypeScript checks: the native builder checks device tensors with the CPU op's messages.
  const host = makeCase('lstm', { B: 2, L: 3, I: 4, H: 5 }, 3);
  const outputs = (device: boolean) => ({
    y: Tensor.zeros([2, 3, 5], 'float32', device ? { device: 'cuda' } : {}),
    h: Tensor.zeros([2, 5], 'float32', device ? { device: 'cuda' } : {}),
    c: Tensor.zeros([2, 5], 'float32', device ? { device: 'cuda' } : {}),
  });
  const badHost = Tensor.randn([19, 5], { seed: 1 });
  const cpuError = t.throws(() => native.runSync('lstm', { x: host.x, weightIH: host.weightIH, weightHH: badHost, ...outputs(false) }, {}));
  const devError = t.throws(() => native.runSync('lstm', { x: c.x, weightIH: c.weightIH, weightHH: bad, ...outputs(true) }, {}));
  t.is(devError?.constructor, cpuError?.constructor);
  t.is(devError?.message, cpuError?.message);
  const shortC = await Tensor.zeros([1, 5]).toDevice('cuda');
  t.throws(() => native.runSync('lstm', { x: c.x, weightIH: c.weightIH, weightHH: c.weightHH, ...outputs(true), c: shortC }, {}), {
    instanceOf: RangeError,
    message: /lstm: c/,
  });

  await withPath('bogus' as Path, async () => {
    t.throws(() => ops.lstmSync(argsOf('lstm', c)), { instanceOf: RangeError, message: /^lstm: CROSSROAD_CUDA_RNN must be 'step', 'persistent' or unset, got 'bogus'/ });
  });
});
