// The small ops on the device (native/cuda/{elementwise,norm,softmax,rope,embedding,layout,moe}.cu)
// against the CPU ops on the same inputs: every op, odd sizes (1, 7, 33, 1000, rows × 4097),
// every option, every dtype the CPU op takes, sync and async, bad inputs, inputs left alone.
// Skipped (with the reason printed) where no CUDA device — or the emulator build — is available.

import test from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { native } from '../lib/native.js';
import { cudaTests, relError } from './helpers.js';

const { gpu } = cudaTests('cuda-small-ops.test');

const dev = (x: Tensor): Tensor => x.toDeviceSync('cuda');
const host = (x: Tensor): Tensor => x.toHostSync();
const f32 = (x: Tensor): Float32Array => host(x).data as Float32Array;

function bytes(x: Tensor): Uint8Array {
  const h = x.device === 'cuda' ? host(x) : x;
  return new Uint8Array(h.data.buffer, h.data.byteOffset, h.data.byteLength).slice();
}

/** Device inputs, and a check that the op left them as they were. */
function devices(...xs: Tensor[]): { d: Tensor[]; unchanged: () => boolean } {
  const d = xs.map(dev);
  const before = d.map(bytes);
  return {
    d,
    unchanged: () => d.every((t, i) => {
      const now = bytes(t);
      return now.length === before[i]!.length && now.every((b, j) => b === before[i]![j]);
    }),
  };
}

function positive(shape: number[], seed: number): Tensor {
  const x = Tensor.randn(shape, { seed });
  const data = x.data as Float32Array;
  for (let i = 0; i < data.length; i++) data[i] = Math.abs(data[i]!) + 0.1;
  return x;
}

// ---- elementwise -------------------------------------------------------------------------------

const ewExprs = [
  'x * sigmoid(g) + b',
  'silu(x) * g - tanh(b) / 3',
  'softplus(x) + logsigmoid(g) + relu(b)',
  'gelu(x) + gelu_tanh(g) * abs(b)',
  'exp(-x) + log(p) + sqrt(p) - rsqrt(p)',
  'min(x, g) + max(b, 0.5) + square(x) + recip(p)',
  'cos(x) * sin(g) + -b',
];

gpu('elementwise on the device matches the CPU op: every function, broadcast periods, odd sizes, sync and async', async (t) => {
  let seed = 1;
  for (const shape of [[1], [7], [33], [1000], [3, 4097], [2, 8, 12]]) {
    const n = shape.reduce((p, d) => p * d, 1);
    const last = shape[shape.length - 1]!;
    const x = Tensor.randn(shape, { seed: seed++ });
    const p = positive(shape, seed++);
    // g: a period of the last dimension (7 or a multiple of 4, per shape); b: one element.
    const g = Tensor.randn([last], { seed: seed++ });
    const b = Tensor.randn([1], { seed: seed++ });
    const { d: [xd, pd, gd, bd], unchanged } = devices(x, p, g, b);
    for (const expr of ewExprs) {
      const ref = ops.elementwiseSync({ expr, inputs: { x, p, g, b } }).y;
      const sync = ops.elementwiseSync({ expr, inputs: { x: xd!, p: pd!, g: gd!, b: bd! } }).y;
      const async = (await ops.elementwise({ expr, inputs: { x: xd!, p: pd!, g: gd!, b: bd! } })).y;
      t.is(sync.device, 'cuda');
      t.deepEqual(sync.shape, ref.shape);
      const tol = expr.startsWith('exp') ? 2e-5 : 1e-5;
      t.true(relError(f32(sync), ref.data as Float32Array) <= tol, `${expr} ${shape} (n=${n}): ${relError(f32(sync), ref.data as Float32Array)}`);
      t.true(relError(f32(async), ref.data as Float32Array) <= tol, `${expr} ${shape} async`);
    }
    t.true(unchanged(), `inputs unchanged ${shape}`);
  }
});

gpu('elementwise: an unaligned input view and a program too long for shared memory', (t) => {
  const big = Tensor.randn([1 + 4 * 33], { seed: 3 });
  const x = big.slice(1).reshape([4, 33]);
  const xd = dev(big).slice(1).reshape([4, 33]);
  const ref = ops.elementwiseSync({ expr: 'x * x + 1', inputs: { x } }).y;
  t.true(relError(f32(ops.elementwiseSync({ expr: 'x * x + 1', inputs: { x: xd } }).y), ref.data as Float32Array) <= 1e-6);
  // 2 × 2100 + 1 instructions: more than the 32 KB the kernel keeps in shared memory.
  const expr = ['x', ...Array.from({ length: 2100 }, (_, i) => (i % 2 ? ' - x * 0.5' : ' + x'))].join('');
  const y = Tensor.randn([1000], { seed: 4 });
  const long = ops.elementwiseSync({ expr, inputs: { x: y } }).y;
  const longDev = ops.elementwiseSync({ expr, inputs: { x: dev(y) } }).y;
  t.true(relError(f32(longDev), long.data as Float32Array) <= 1e-5);
});

gpu('elementwise on the device re-checks the program (read back from the device)', (t) => {
  const x = dev(Tensor.randn([5], { seed: 1 }));
  const y = dev(Tensor.zeros([5]));
  const constants = dev(new Tensor(Float32Array.from([1]), [1]));
  const run = (program: number[]) =>
    native.runSync('elementwise', { in0: x, program: dev(new Tensor(Int32Array.from(program), [program.length], 'int32')), constants, y }, {});
  t.throws(() => run([0, 0, 99, 0]), { instanceOf: RangeError, message: /elementwise: unknown opcode 99 at instruction 1/ });
  t.throws(() => run([0, 3]), { instanceOf: RangeError, message: /elementwise: program reads input 3 of 1/ });
  t.throws(() => run([1, 5]), { instanceOf: RangeError, message: /elementwise: program reads constant 5 of 1/ });
  t.throws(() => run([0, 0, 3, 0]), { instanceOf: RangeError, message: /stack underflow at instruction 1/ });
  t.throws(() => run([0, 0, 0, 0]), { instanceOf: RangeError, message: /leaves 2 values on the stack/ });
  t.notThrows(() => run([0, 0, 1, 0, 3, 0]));
  t.deepEqual(Array.from(f32(y)).map((v) => Math.round(v * 1e5)), Array.from(f32(x)).map((v) => Math.round((v + 1) * 1e5)));
});

gpu('elementwise on the device checks a program given as text (the inline path ops.elementwise takes)', (t) => {
  const x = dev(Tensor.randn([5], { seed: 1 }));
  const y = dev(Tensor.zeros([5]));
  const constants = dev(new Tensor(Float32Array.from([2]), [1]));
  const bits2 = new Int32Array(Float32Array.from([2]).buffer)[0]!;
  // The device program tensor holds a valid program of the same length; the text is what the kernel runs.
  const run = (program: number[], programCode: string, constantBits = String(bits2)) =>
    native.runSync('elementwise', { in0: x, program: dev(new Tensor(Int32Array.from(program), [program.length], 'int32')), constants, y },
      { programCode, constantBits });
  t.throws(() => run([0, 0, 1, 0, 3, 0], '0,0,99,0,3,0'), { instanceOf: RangeError, message: /elementwise: unknown opcode 99 at instruction 1/ });
  t.throws(() => run([0, 0], '0,3'), { instanceOf: RangeError, message: /elementwise: program reads input 3 of 1/ });
  t.throws(() => run([1, 0], '1,5'), { instanceOf: RangeError, message: /elementwise: program reads constant 5 of 1/ });
  t.throws(() => run([0, 0, 1, 0, 3, 0], '0,0,1,0'), { instanceOf: RangeError, message: /programCode\/constantBits hold 4\/1 values but the program\/constants tensors 6\/1/ });
  t.throws(() => run([0, 0, 1, 0, 3, 0], '0,0,1,0,3,0', ''), { instanceOf: RangeError, message: /hold 6\/0 values/ });
  t.throws(() => run([0, 0], '0,x'), { instanceOf: RangeError, message: /elementwise: programCode must be comma-separated int32 values, got 'x'/ });
  t.throws(() => run([0, 0], '0,99999999999'), { instanceOf: RangeError, message: /programCode must be comma-separated int32 values/ });
  // x · 2 from the text, while the device tensor says x + 2: the checked text is what runs.
  run([0, 0, 1, 0, 3, 0], '0,0,1,0,5,0');
  t.deepEqual(Array.from(f32(y)).map((v) => Math.round(v * 1e5)), Array.from(f32(x)).map((v) => Math.round(v * 2 * 1e5)));
});

// ---- norms -------------------------------------------------------------------------------------

gpu('rmsNorm and layerNorm on the device match the CPU op: weight, bias, residual, gate before/after, groups, eps', async (t) => {
  let seed = 100;
  const cases: [number[], number][] = [
    [[1, 1], 1], [[7, 7], 7], [[3, 33], 33], [[2, 5, 1000], 1000], [[3, 4097], 4097], [[4, 64], 16], [[2, 2048], 1024],
    [[3, 2050], 1025], [[2, 36], 4],
  ];
  for (const [shape, groupSize] of cases) {
    const d = shape[shape.length - 1]!;
    const x = Tensor.randn(shape, { seed: seed++, mean: 0.5 });
    const weight = Tensor.randn([d], { seed: seed++ });
    const bias = Tensor.randn([d], { seed: seed++ });
    const residual = Tensor.randn(shape, { seed: seed++ });
    const gate = Tensor.randn(shape, { seed: seed++ });
    const { d: [xd, wd, bd, rd, gd], unchanged } = devices(x, weight, bias, residual, gate);
    const variants: Record<string, unknown>[] = [
      {}, { weight: true }, { weight: true, bias: true }, { residual: true }, { gate: true }, { gate: true, gateBefore: true },
      { weight: true, bias: true, residual: true, gate: true, eps: 1e-3 },
    ];
    for (const op of ['rmsNorm', 'layerNorm'] as const) {
      for (const v of variants) {
        if (op === 'rmsNorm' && v.bias) continue;
        const pick = (host: boolean) => ({
          x: host ? x : xd!,
          weight: v.weight ? (host ? weight : wd!) : undefined,
          bias: v.bias ? (host ? bias : bd!) : undefined,
          residual: v.residual ? (host ? residual : rd!) : undefined,
          gate: v.gate ? (host ? gate : gd!) : undefined,
          gateBefore: v.gateBefore as boolean | undefined,
          eps: v.eps as number | undefined,
          groupSize: groupSize === d ? undefined : groupSize,
        });
        const ref = ops[`${op}Sync`](pick(true));
        const got = op === 'rmsNorm' ? await ops.rmsNorm(pick(false)) : ops.layerNormSync(pick(false));
        const label = `${op} ${shape} group ${groupSize} ${JSON.stringify(v)}`;
        const err = relError(f32(got.y), ref.y.data as Float32Array);
        t.true(err <= 1e-5, `${label}: ${err}`);
        if (v.residual) t.deepEqual(bytes(got.residualOut!), bytes(ref.residualOut!), `${label} residualOut`);
      }
    }
    t.true(unchanged(), `inputs unchanged ${shape}`);
  }
});

gpu('norms on the device: bad inputs are errors naming the argument', (t) => {
  const x = dev(Tensor.randn([3, 8], { seed: 1 }));
  t.throws(() => ops.rmsNormSync({ x, weight: dev(Tensor.zeros([7])) }), { instanceOf: RangeError, message: /weight/ });
  t.throws(() => ops.layerNormSync({ x, groupSize: 3 }), { instanceOf: RangeError, message: /groupSize/ });
  // Straight to native code (past the TypeScript checks): the shared builder's checks.
  t.throws(() => native.runSync('rmsNorm', { x, y: dev(Tensor.zeros([3, 7])) }, {}), { instanceOf: RangeError, message: /rmsNorm: y must have x's shape/ });
  t.throws(() => native.runSync('layerNorm', { x, y: dev(Tensor.zeros([3, 8])), bias: dev(Tensor.zeros([9])) }, {}), {
    instanceOf: RangeError, message: /layerNorm: bias/,
  });
  t.throws(() => native.runSync('rmsNorm', { x, y: dev(Tensor.zeros([3, 8])), residualOut: dev(Tensor.zeros([3, 8])) }, {}), {
    instanceOf: RangeError, message: /residualOut needs residual/,
  });
});

// ---- softmax -----------------------------------------------------------------------------------

gpu('softmax and log-softmax on the device match the CPU op (scale, -inf entries, odd and long rows)', async (t) => {
  let seed = 200;
  for (const shape of [[1, 1], [7, 1], [1, 7], [5, 33], [2, 3, 1000], [3, 4097], [4, 8], [2, 1024], [2, 1028]]) {
    const x = Tensor.randn(shape, { seed: seed++, std: 3 });
    const data = x.data as Float32Array;
    const d = shape[shape.length - 1]!;
    if (d > 2) for (let i = 1; i < data.length; i += d) data[i] = -Infinity;  // every row but the first few
    const { d: [xd], unchanged } = devices(x);
    for (const log of [false, true]) {
      for (const scale of [1, 0.125]) {
        const ref = ops.softmaxSync({ x, log, scale }).y;
        const got = log ? ops.softmaxSync({ x: xd!, log, scale }).y : (await ops.softmax({ x: xd!, log, scale })).y;
        const out = f32(got);
        const r = ref.data as Float32Array;
        // -inf log-probabilities compare by position.
        const finite = Array.from(r.keys()).filter((i) => Number.isFinite(r[i]!));
        for (let i = 0; i < r.length; i++) if (!Number.isFinite(r[i]!)) t.is(out[i], r[i], `${shape} log=${log} element ${i}`);
        const err = relError(finite.map((i) => out[i]!), finite.map((i) => r[i]!));
        t.true(err <= 1e-5, `softmax ${shape} log=${log} scale=${scale}: ${err}`);
      }
    }
    t.true(unchanged());
  }
  t.throws(() => native.runSync('softmax', { x: dev(Tensor.zeros([2, 3])), y: dev(Tensor.zeros([5])) }, {}), {
    instanceOf: RangeError, message: /softmax: y must have x's shape/,
  });
});

// ---- rope --------------------------------------------------------------------------------------

gpu('rope on the device matches the CPU op: halves/interleaved, partial rotary, offset, rowOffsets, positions, scale, base', async (t) => {
  let seed = 300;
  for (const [b, T, heads, D] of [[1, 1, 1, 2], [2, 7, 3, 8], [1, 33, 2, 64], [2, 3, 1, 1000], [1, 2, 5, 6]]) {
    const x = Tensor.randn([b, T, heads, D], { seed: seed++ });
    const rowOffsets = new Tensor(Int32Array.from({ length: b }, (_, i) => 3 + 1000 * i), [b], 'int32');
    const positions = new Tensor(Int32Array.from({ length: b * T }, (_, i) => (i * 7919) % 100003), [b, T], 'int32');
    const { d: [xd, rd, pd], unchanged } = devices(x, rowOffsets, positions);
    const rotaryDims = [...new Set([D, Math.max(2, 2 * Math.floor(D / 4))])];
    for (const interleaved of [false, true]) {
      for (const rotaryDim of rotaryDims) {
        const variants: [string, Record<string, unknown>, Record<string, unknown>][] = [
          ['default', {}, {}],
          ['offset', { offset: 17 }, { offset: 17 }],
          ['rowOffsets', { rowOffsets }, { rowOffsets: rd }],
          ['positions', { positions, base: 500000, positionScale: 0.25 }, { positions: pd, base: 500000, positionScale: 0.25 }],
        ];
        for (const [name, hostArgs, devArgs] of variants) {
          const ref = ops.ropeSync({ x, interleaved, rotaryDim, ...hostArgs }).y;
          const got = (await ops.rope({ x: xd!, interleaved, rotaryDim, ...devArgs })).y;
          const err = relError(f32(got), ref.data as Float32Array);
          t.true(err <= 1e-5, `rope ${[b, T, heads, D]} interleaved=${interleaved} rotaryDim=${rotaryDim} ${name}: ${err}`);
        }
      }
    }
    t.true(unchanged());
  }
});

gpu('rope on the device: a rotary dimension too large for the shared cos/sin table (rotaryDim > 12288)', (t) => {
  const x = Tensor.randn([1, 2, 1, 12290], { seed: 8 });
  for (const interleaved of [false, true]) {
    const ref = ops.ropeSync({ x, interleaved, offset: 3 }).y;
    const got = ops.ropeSync({ x: dev(x), interleaved, offset: 3 }).y;
    t.true(relError(f32(got), ref.data as Float32Array) <= 1e-5, `interleaved=${interleaved}`);
  }
});

gpu('rope on the device: two calls (the second at an offset) equal one call over the whole sequence', (t) => {
  const x = Tensor.randn([1, 12, 2, 16], { seed: 9 });
  const whole = f32(ops.ropeSync({ x: dev(x) }).y);
  const first = f32(ops.ropeSync({ x: dev(x.reshape([12, 32]).slice(0, 5).reshape([1, 5, 2, 16])) }).y);
  const second = f32(ops.ropeSync({ x: dev(x.reshape([12, 32]).slice(5).reshape([1, 7, 2, 16])), offset: 5 }).y);
  t.deepEqual(Array.from(whole), [...Array.from(first), ...Array.from(second)]);
});

// ---- embedding ---------------------------------------------------------------------------------

gpu('embedding on the device matches the CPU op (float32, bfloat16, float16 tables)', async (t) => {
  let seed = 400;
  for (const [vocab, dim, idShape] of [[1, 1, [1]], [33, 7, [7]], [50, 1000, [3, 11]], [9, 4, [2, 2, 5]], [5, 4097, [3]]] as [number, number, number[]][]) {
    const count = idShape.reduce((p, d) => p * d, 1);
    const ids = new Tensor(Int32Array.from({ length: count }, (_, i) => (i * 31 + 7) % vocab), idShape, 'int32');
    for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
      const table = Tensor.randn([vocab, dim], { seed: seed++, dtype });
      const { d: [idsd, tabled], unchanged } = devices(ids, table);
      const ref = ops.embeddingSync({ ids, table }).y;
      const got = (await ops.embedding({ ids: idsd!, table: tabled! })).y;
      t.deepEqual(got.shape, [...idShape, dim]);
      t.deepEqual(bytes(got), bytes(ref), `${dtype} vocab=${vocab} dim=${dim}`);
      t.true(unchanged());
    }
  }
});

gpu('embedding on the device: an out-of-range id is a RangeError and nothing is written', (t) => {
  const table = dev(Tensor.randn([33, 8], { seed: 1 }));
  for (const [bad, at] of [[33, 3], [-1, 0], [1 << 30, 6]]) {
    const values = Int32Array.from([1, 2, 3, 4, 5, 6, 7]);
    values[at] = bad;
    if (at === 0) values[5] = 99;  // the lowest bad index is the one reported
    const ids = dev(new Tensor(values, [7], 'int32'));
    const out = Tensor.zeros([7, 8], 'float32', { device: 'cuda' });
    t.throws(() => ops.embeddingSync({ ids, table, out: { y: out } }), {
      instanceOf: RangeError,
      message: `embedding: ids[${at}] = ${bad} is outside [0, 33)`,
    });
    t.true(Array.from(f32(out)).every((v) => v === 0), 'nothing written');
  }
});

// ---- layout ------------------------------------------------------------------------------------

function randomOf(dtype: 'float32' | 'bfloat16' | 'float16' | 'int32', shape: number[], seed: number): Tensor {
  if (dtype === 'int32') {
    const n = shape.reduce((p, d) => p * d, 1);
    return new Tensor(Int32Array.from({ length: n }, (_, i) => ((i + seed) * 2654435761) | 0), shape, 'int32');
  }
  return Tensor.randn(shape, { seed, dtype });
}

gpu('expand, permute, concat and slice on the device are bit-exact copies (every dtype)', async (t) => {
  let seed = 500;
  for (const dtype of ['float32', 'bfloat16', 'float16', 'int32'] as const) {
    const same = (a: Tensor, b: Tensor, what: string) => {
      t.deepEqual(a.shape, b.shape, what);
      t.deepEqual(bytes(a), bytes(b), `${dtype} ${what}`);
    };
    // expand
    for (const [from, to] of [[[1], [7]], [[33], [3, 33]], [[4, 1, 3], [2, 4, 5, 3]], [[1, 1], [1, 4097]], [[1], [1]]]) {
      const x = randomOf(dtype, from!, seed++);
      const { d: [xd], unchanged } = devices(x);
      same(ops.expandSync({ x: xd!, shape: to! }).y, ops.expandSync({ x, shape: to! }).y, `expand ${from} → ${to}`);
      t.true(unchanged());
    }
    // permute (the last three are transposes: tiles of 32 × 32 with tails, a batch of them)
    for (const [shape, dims] of [[[7], [0]], [[3, 33], [1, 0]], [[2, 3, 4, 5], [0, 2, 1, 3]], [[2, 3, 4, 5], [3, 1, 0, 2]], [[1, 1000, 3], [2, 0, 1]], [[33, 47], [1, 0]], [[3, 40, 5, 35], [0, 3, 2, 1]]]) {
      const x = randomOf(dtype, shape!, seed++);
      const { d: [xd], unchanged } = devices(x);
      same((await ops.permute({ x: xd!, dims: dims! })).y, ops.permuteSync({ x, dims: dims! }).y, `permute ${shape} by ${dims}`);
      t.true(unchanged());
    }
    // concat
    for (const [shapes, axis] of [[[[1], [7], [33]], 0], [[[3, 1], [3, 4097]], 1], [[[2, 0, 3], [2, 5, 3], [2, 1, 3]], 1], [[[1, 4], [2, 4]], 0]] as [number[][], number][]) {
      const xs = shapes.map((s) => randomOf(dtype, s, seed++));
      const { d, unchanged } = devices(...xs);
      same(ops.concatSync({ inputs: d, axis }).y, ops.concatSync({ inputs: xs, axis }).y, `concat ${JSON.stringify(shapes)} on ${axis}`);
      t.true(unchanged());
    }
    // slice
    for (const [shape, axis, start, end, step] of [[[7], 0, 2, 7, 1], [[3, 33], 1, 1, 33, 4], [[5, 6, 7], 1, 0, 6, 2], [[1000, 3], 0, 999, 1000, 1], [[4, 4], 0, 1, 2, 1]] as [number[], number, number, number, number][]) {
      const x = randomOf(dtype, shape, seed++);
      const { d: [xd], unchanged } = devices(x);
      same(ops.sliceSync({ x: xd!, axis, start, end, step }).y, ops.sliceSync({ x, axis, start, end, step }).y, `slice ${shape} ${[axis, start, end, step]}`);
      t.true(unchanged());
    }
  }
});

gpu('layout ops on the device: bad inputs are errors, also straight to native code', (t) => {
  const x = dev(Tensor.randn([2, 3], { seed: 1 }));
  t.throws(() => ops.permuteSync({ x, dims: [0, 0] }), { instanceOf: RangeError, message: /permutation/ });
  const perm = (dims: number[]) => dev(new Tensor(Int32Array.from(dims), [dims.length], 'int32'));
  t.throws(() => native.runSync('permute', { x, perm: perm([0, 0]), y: dev(Tensor.zeros([2, 3])) }, {}), {
    instanceOf: RangeError, message: /permute: perm is not a permutation of 0..1/,
  });
  t.throws(() => native.runSync('permute', { x, perm: perm([1, 5]), y: dev(Tensor.zeros([3, 2])) }, {}), { instanceOf: RangeError });
  t.throws(() => native.runSync('expand', { x, y: dev(Tensor.zeros([4, 3])) }, {}), { instanceOf: RangeError, message: /cannot broadcast/ });
  t.throws(() => native.runSync('concat', { in0: x, y: dev(Tensor.zeros([5, 3])) }, { axis: 0 }), { instanceOf: RangeError, message: /do not fill y/ });
  t.throws(() => native.runSync('slice', { x, y: dev(Tensor.zeros([2, 3])) }, { axis: 1, start: 1 }), { instanceOf: RangeError, message: /runs past/ });
  t.throws(() => native.runSync('slice', { x, y: dev(Tensor.zeros([2, 3], 'bfloat16')) }, { axis: 1 }), { instanceOf: TypeError, message: /same dtype/ });
});

// ---- moe ---------------------------------------------------------------------------------------

gpu('moe on the device matches the CPU op: prefill and decode, top-1/2/3, normalised or not, 16-bit experts', async (t) => {
  // bfloat16/float16 experts only where every per-expert GEMM has ≤ 8 rows (the device GEMV keeps
  // float32 activations; tensor cores would round them, and near-tied router logits could then flip).
  const cases: [number, number, number, number, 'float32' | 'bfloat16' | 'float16'][] = [
    [1, 8, 16, 4, 'float32'], [7, 33, 20, 5, 'float32'], [40, 64, 96, 8, 'float32'], [33, 1, 7, 3, 'float32'],
    [1, 8, 16, 4, 'bfloat16'], [7, 33, 20, 5, 'float16'], [4, 64, 96, 8, 'bfloat16'],
  ];
  let seed = 600;
  for (const [tokens, d, ffn, experts, dtype] of cases) {
    const x = Tensor.randn([tokens, d], { seed: seed++ });
    const router = Tensor.randn([experts, d], { seed: seed++, std: 0.5 });
    const gate = Tensor.randn([experts, ffn, d], { seed: seed++, std: 0.3, dtype });
    const up = Tensor.randn([experts, ffn, d], { seed: seed++, std: 0.3, dtype });
    const down = Tensor.randn([experts, d, ffn], { seed: seed++, std: 0.3, dtype });
    const { d: [xd, rd, gd, ud, dd], unchanged } = devices(x, router, gate, up, down);
    for (const topK of [1, 2, 3].filter((k) => k <= experts)) {
      for (const normalize of [false, true]) {
        const ref = ops.moeSync({ x, router, gate, up, down, topK, normalize, returnChoices: true });
        const args = { x: xd!, router: rd!, gate: gd!, up: ud!, down: dd!, topK, normalize, returnChoices: true };
        const got = normalize ? await ops.moe(args) : ops.moeSync(args);
        const label = `${[tokens, d, ffn, experts, dtype]} topK=${topK} normalize=${normalize}`;
        t.deepEqual(Array.from(host(got.chosen!).data), Array.from(ref.chosen!.data), `${label} choices`);
        const err = relError(f32(got.y), ref.y.data as Float32Array);
        t.true(err <= 1e-5, `${label}: ${err}`);
      }
    }
    t.true(unchanged());
  }
  const z = (shape: number[]) => dev(Tensor.zeros(shape));
  t.throws(() => ops.moeSync({ x: z([2, 4]), router: z([3, 4]), gate: z([3, 5, 4]), up: z([3, 5, 4]), down: z([3, 4, 5]), topK: 4 }), {
    instanceOf: RangeError, message: /topK/,
  });
  t.throws(() => native.runSync('moe', { x: z([2, 4]), router: z([3, 4]), gate: z([3, 5, 4]), up: z([3, 5, 4]), down: z([3, 5, 4]), y: z([2, 4]) }, {}), {
    instanceOf: RangeError, message: /moe: down must have shape/,
  });
});
