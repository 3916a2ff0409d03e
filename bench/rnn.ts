// Recurrent-cell benchmark: crossroad's lstm / gru against the machine's FMA
// peak and against onnxruntime-node's LSTM / GRU ops, side by side.
//
//   npm run bench -- rnn [--quick]
//
// Sequences of L = 512 with in = H = 256, batch 1 and 8, on 1 and 2 threads,
// float32 weights. ONNX takes sequence-major input [L, b, in] and its own gate
// orders (LSTM i, o, f, c; GRU z, r, h): the weights are reordered and the
// input transposed once, outside the timed region, and onnxruntime's output
// is checked against ours before timing. GRU runs with linear_before_reset = 1,
// which is PyTorch's GRU. Also timed: the decode step (L = 1 with the state).

import { ops, setNumThreads, Tensor } from '../lib/index.js';
import { buildModel, createSession, loadOrt, OnnxType, type Ort, type OrtSession, type OrtTensor } from './peers/onnx.js';
import { machineDescription, measureLimits, pct, printTable, timeInterleaved, type Timing } from './harness.js';

type CellName = 'lstm' | 'gru';

interface Case {
  cell: CellName;
  batch: number;
  seqLen: number;
  inputSize: number;
  hiddenSize: number;
}

const CASES: Case[] = [
  { cell: 'lstm', batch: 1, seqLen: 512, inputSize: 256, hiddenSize: 256 },
  { cell: 'lstm', batch: 8, seqLen: 512, inputSize: 256, hiddenSize: 256 },
  { cell: 'gru', batch: 1, seqLen: 512, inputSize: 256, hiddenSize: 256 },
  { cell: 'gru', batch: 8, seqLen: 512, inputSize: 256, hiddenSize: 256 },
  // The decode step: one token with the state carried in.
  { cell: 'lstm', batch: 1, seqLen: 1, inputSize: 256, hiddenSize: 256 },
  { cell: 'gru', batch: 1, seqLen: 1, inputSize: 256, hiddenSize: 256 },
];

const GATES: Record<CellName, number> = { lstm: 4, gru: 3 };
// Row blocks of PyTorch's weights in ONNX's gate order: LSTM i,f,g,o → i,o,f,c; GRU r,z,n → z,r,h.
const ONNX_ORDER: Record<CellName, number[]> = { lstm: [0, 3, 1, 2], gru: [1, 0, 2] };

interface Inputs {
  x: Tensor;
  weightIH: Tensor;
  weightHH: Tensor;
  biasIH: Tensor;
  biasHH: Tensor;
  h0: Tensor;
  c0?: Tensor;
}

function makeInputs(c: Case): Inputs {
  const G = GATES[c.cell];
  const H = c.hiddenSize;
  return {
    x: Tensor.randn([c.batch, c.seqLen, c.inputSize], { seed: 1 }),
    weightIH: Tensor.randn([G * H, c.inputSize], { seed: 2, std: 1 / Math.sqrt(c.inputSize) }),
    weightHH: Tensor.randn([G * H, H], { seed: 3, std: 1 / Math.sqrt(H) }),
    biasIH: Tensor.randn([G * H], { seed: 4, std: 0.1 }),
    biasHH: Tensor.randn([G * H], { seed: 5, std: 0.1 }),
    h0: Tensor.randn([c.batch, H], { seed: 6, std: 0.5 }),
    c0: c.cell === 'lstm' ? Tensor.randn([c.batch, H], { seed: 7 }) : undefined,
  };
}

/** Rows of `t` ([G·H, …] or [G·H]) with the gate blocks in `order`. */
function reorderGates(t: Tensor, G: number, order: number[]): Float32Array {
  const src = t.data as Float32Array;
  const block = src.length / G;
  const out = new Float32Array(src.length);
  order.forEach((from, to) => out.set(src.subarray(from * block, (from + 1) * block), to * block));
  return out;
}

/** [b, L, F] → [L, b, F] */
function toSequenceMajor(data: Float32Array, b: number, L: number, F: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < b; i++) for (let t = 0; t < L; t++) out.set(data.subarray((i * L + t) * F, (i * L + t + 1) * F), (t * b + i) * F);
  return out;
}

async function ortSession(ort: Ort, c: Case, inputs: Inputs, threads: number): Promise<OrtSession> {
  const G = GATES[c.cell];
  const H = c.hiddenSize;
  const order = ONNX_ORDER[c.cell];
  const bias = new Float32Array(2 * G * H);
  bias.set(reorderGates(inputs.biasIH, G, order), 0);
  bias.set(reorderGates(inputs.biasHH, G, order), G * H);
  const raw = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const stateInputs = c.cell === 'lstm' ? ['initial_h', 'initial_c'] : ['initial_h'];
  const model = buildModel({
    nodes: [{
      op: c.cell === 'lstm' ? 'LSTM' : 'GRU',
      inputs: ['X', 'W', 'R', 'B', '', ...stateInputs],
      outputs: ['Y', 'Y_h'],
      attributes: [{ name: 'hidden_size', int: H }, ...(c.cell === 'gru' ? [{ name: 'linear_before_reset', int: 1 }] : [])],
    }],
    inputs: [
      { name: 'X', elemType: OnnxType.float, shape: [c.seqLen, c.batch, c.inputSize] },
      ...stateInputs.map((name) => ({ name, elemType: OnnxType.float, shape: [1, c.batch, H] })),
    ],
    outputs: [
      { name: 'Y', elemType: OnnxType.float, shape: [c.seqLen, 1, c.batch, H] },
      { name: 'Y_h', elemType: OnnxType.float, shape: [1, c.batch, H] },
    ],
    initializers: [
      { name: 'W', elemType: OnnxType.float, dims: [1, G * H, c.inputSize], raw: raw(reorderGates(inputs.weightIH, G, order)) },
      { name: 'R', elemType: OnnxType.float, dims: [1, G * H, H], raw: raw(reorderGates(inputs.weightHH, G, order)) },
      { name: 'B', elemType: OnnxType.float, dims: [1, 2 * G * H], raw: raw(bias) },
    ],
  });
  return createSession(ort, model, threads);
}

function relError(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export async function benchRnn(args: string[]): Promise<Record<string, unknown>> {
  const quick = args.includes('--quick');
  const threadCounts = [1, 2];
  const limits = measureLimits(threadCounts);
  console.log(`machine: FMA peak ${threadCounts.map((t) => `${limits.fmaGflops[t]!.toFixed(0)} GFLOP/s on ${t} thread(s)`).join(', ')}`);
  const { ort, version: ortVersion, reason: ortMissing } = await loadOrt();
  if (!ort) console.log(`peer: ${ortMissing}`);
  const timing = quick ? { minRuns: 3, minSeconds: 0.1, maxRuns: 20 } : { minRuns: 9, minSeconds: 1.0, maxRuns: 400 };

  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const c of CASES) {
    const G = GATES[c.cell];
    const H = c.hiddenSize;
    const inputs = makeInputs(c);
    const decode = c.seqLen === 1;
    // Sequences start from zeros; the decode step carries a state in.
    const call = {
      x: inputs.x, weightIH: inputs.weightIH, weightHH: inputs.weightHH, biasIH: inputs.biasIH, biasHH: inputs.biasHH,
      h0: decode ? inputs.h0 : undefined,
    };
    const out = { y: Tensor.zeros([c.batch, c.seqLen, H]), h: Tensor.zeros([c.batch, H]), c: Tensor.zeros([c.batch, H]) };
    const runSync = c.cell === 'lstm'
      ? () => ops.lstmSync({ ...call, c0: decode ? inputs.c0 : undefined, out })
      : () => ops.gruSync({ ...call, out: { y: out.y, h: out.h } });
    const runAsync = c.cell === 'lstm'
      ? () => ops.lstm({ ...call, c0: decode ? inputs.c0 : undefined, out })
      : () => ops.gru({ ...call, out: { y: out.y, h: out.h } });
    const flops = 2 * c.batch * c.seqLen * G * H * (c.inputSize + H);

    for (const threads of threadCounts) {
      setNumThreads(threads);
      let ortRun: (() => Promise<unknown>) | undefined;
      let agreement: { relError: number; maxAbsDiff: number } | undefined;
      if (ort) {
        const session = await ortSession(ort, c, inputs, threads);
        const zeros = new Float32Array(c.batch * H);
        const feed: Record<string, OrtTensor> = {
          X: new ort.Tensor('float32', toSequenceMajor(inputs.x.data as Float32Array, c.batch, c.seqLen, c.inputSize), [c.seqLen, c.batch, c.inputSize]),
          initial_h: new ort.Tensor('float32', decode ? (inputs.h0.data as Float32Array) : zeros, [1, c.batch, H]),
        };
        if (c.cell === 'lstm') feed.initial_c = new ort.Tensor('float32', decode ? (inputs.c0!.data as Float32Array) : zeros, [1, c.batch, H]);
        // Check once that both compute the same thing before timing anything.
        const peerY = (await session.run(feed)).Y!.data as Float32Array; // [L, 1, b, H]
        runSync();
        const oursY = toSequenceMajor(out.y.data as Float32Array, c.batch, c.seqLen, H);
        agreement = { relError: relError(oursY, peerY), maxAbsDiff: maxAbsDiff(oursY, peerY) };
        if (!(agreement.relError <= 1e-4)) {
          throw new Error(`rnn bench: onnxruntime's ${c.cell} output differs from ours (relative error ${agreement.relError}, max |Δ| ${agreement.maxAbsDiff})`);
        }
        ortRun = () => session.run(feed);
      }
      // All contestants alternate run by run, so drifts in machine speed hit them alike.
      const timings = await timeInterleaved(ortRun ? [runSync, runAsync, ortRun] : [runSync, runAsync], timing);
      const [ours, oursAsync] = timings as [Timing, Timing];
      const peer: Timing | undefined = timings[2];
      const gflops = flops / ours.median / 1e9;
      const ratio = peer ? peer.median / oursAsync.median : null;
      const label = `${c.cell} b=${c.batch} L=${c.seqLen}${decode ? ' (decode step)' : ''}`;
      results.push({
        ...c, threads, flops,
        sync: ours, async: oursAsync, onnxruntime: peer ?? null,
        gflops, percentOfPeak: gflops / limits.fmaGflops[threads]!,
        onnxruntimeGflops: peer ? flops / peer.median / 1e9 : null,
        ratioToOnnxruntime: ratio,
        agreementWithOnnxruntime: agreement ?? null,
      });
      const ms = decode ? (ours.median * 1e3).toFixed(4) : (ours.median * 1e3).toFixed(2);
      rows.push([label, String(threads), ms, `${gflops.toFixed(1)} GFLOP/s`, pct(gflops / limits.fmaGflops[threads]!),
        peer ? (peer.median * 1e3).toFixed(decode ? 4 : 2) : 'n/a', ratio !== null ? `${ratio.toFixed(2)}×` : 'n/a']);
    }
  }
  console.log();
  const table = printTable(['case (in = H = 256)', 'threads', 'ms (median)', 'rate', '% of FMA peak', 'onnxruntime ms', 'speed-up vs ort'], rows);
  const payload = {
    benchmark: 'rnn',
    date: new Date().toISOString(),
    machine: machineDescription(),
    limits,
    peer: ort ? { name: 'onnxruntime-node', version: ortVersion } : { name: 'onnxruntime-node', missing: ortMissing },
    notes: [
      'GFLOP/s counts the two products per step: 2·b·L·G·H·(in + H) (G = 4 for LSTM, 3 for GRU); the pointwise gate math is not counted.',
      'ms and rates are medians of the sync op writing into reused outputs (out:); the speed-up compares the async op with onnxruntime\'s async run.',
      'onnxruntime gets the same weights in its gate order (LSTM i,o,f,c; GRU z,r,h, linear_before_reset = 1) and the input transposed to [L, b, in] outside the timed region; its output is checked against ours (relative error ≤ 1e-4) before timing.',
      'Sequence rows start from zero states; decode-step rows (L = 1) carry h0 (and c0) in.',
    ],
    results,
    table,
  };
  return payload;
}
