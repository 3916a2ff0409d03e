// causalConv1d benchmark: Mamba's short depthwise conv (w = 4 FMAs per input
// element) is memory-bound, so its rate is GB/s of x read plus y written, as a
// % of the measured triad bandwidth on the same thread count; and the decode
// step (L = 1 with a state in and out) in microseconds. Peer: onnxruntime's
// Conv with group = c and left padding w − 1 (the same math, in its own
// [b, c, L] layout, bias but no activation).
//
//   npm run bench -- causal-conv1d [--quick]

import { Tensor, ops, setNumThreads, getNumThreads } from '../lib/index.js';
import { buildModel, createSession, loadOrt, OnnxType, type Ort, type OrtSession } from './peers/onnx.js';
import { machineDescription, measureLimits, pct, printTable, timeInterleaved, timeSync, type TimeOptions } from './harness.js';

const C = 3072;
const W = 4;
const LENGTHS = [512, 4096];
// Rotate inputs over at least this many bytes: more than any last-level cache here.
const ROTATE_BYTES = 256e6;

export async function benchCausalConv1d(args: string[]): Promise<Record<string, unknown>> {
  const quick = args.includes('--quick');
  const threadCounts = [1, 2];
  const originalThreads = getNumThreads();
  const limits = measureLimits(threadCounts);
  console.log(`machine: triad ${threadCounts.map((t) => `${limits.triadGBs[t]!.toFixed(1)} GB/s on ${t} thread(s)`).join(', ')}`);
  const { ort, version: ortVersion, reason: ortMissing } = await loadOrt();
  if (!ort) console.log(`peer: ${ortMissing}`);
  const timing: TimeOptions = quick ? { minRuns: 3, minSeconds: 0.1, maxRuns: 20 } : { minRuns: 9, minSeconds: 1.0, maxRuns: 400 };

  const weight = Tensor.randn([C, W], { seed: 1, std: 0.5 });
  const bias = Tensor.randn([C], { seed: 2 });
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  try {
    for (const L of LENGTHS) {
      const tensorBytes = 4 * L * C;
      const bytes = 2 * tensorBytes; // x read, y written
      const copies = Math.max(1, Math.ceil(ROTATE_BYTES / tensorBytes));
      const xs = Array.from({ length: copies }, (_, i) => Tensor.randn([1, L, C], { seed: 10 + i }));
      const y = Tensor.zeros([1, L, C]);
      for (const threads of threadCounts) {
        setNumThreads(threads);
        let next = 0;
        const nextX = () => {
          const x = xs[next]!;
          next = (next + 1) % copies;
          return x;
        };
        const plain = () => ops.causalConv1dSync({ x: nextX(), weight, bias, out: { y } });
        const silu = () => ops.causalConv1dSync({ x: nextX(), weight, bias, activation: 'silu', out: { y } });
        let peer: (() => Promise<unknown>) | undefined;
        if (ort) {
          const session = await convSession(ort, L, weight, bias, threads);
          const feeds = xs.map((x) => ({ x: new ort.Tensor('float32', transposeLc(x.data as Float32Array, L, C), [1, C, L]) }));
          let p = 0;
          peer = () => {
            const feed = feeds[p]!;
            p = (p + 1) % feeds.length;
            return session.run(feed);
          };
        }
        const timings = await timeInterleaved(peer ? [plain, silu, peer] : [plain, silu], timing);
        const [ours, oursSilu, theirs] = timings;
        for (const [name, time] of [['none', ours!], ['silu', oursSilu!]] as const) {
          const gbs = bytes / time.median / 1e9;
          const share = gbs / limits.triadGBs[threads]!;
          const peerMs = name === 'none' && theirs ? theirs.median * 1e3 : undefined;
          rows.push([`b=1 L=${L} c=${C} w=${W} ${name}`, String(threads), (time.median * 1e3).toFixed(3), `${gbs.toFixed(1)} GB/s`, pct(share),
            peerMs !== undefined ? peerMs.toFixed(3) : '', peerMs !== undefined ? `${(theirs!.median / time.median).toFixed(2)}×` : '']);
          results.push({
            batch: 1, L, c: C, w: W, activation: name, threads, bytes, inputCopiesRotated: copies, time, gbs, percentOfTriad: share,
            onnxruntime: name === 'none' ? theirs ?? null : undefined,
            speedupVsOnnxruntime: name === 'none' && theirs ? theirs.median / time.median : undefined,
          });
        }
      }
    }
    // The decode step: one token with the state in and out, as a generation loop calls it.
    setNumThreads(1);
    const x = Tensor.randn([1, 1, C], { seed: 3 });
    const state = Tensor.randn([1, C, W - 1], { seed: 4 });
    const y = Tensor.zeros([1, 1, C]);
    const finalState = Tensor.zeros([1, C, W - 1]);
    const time = timeSync(() => ops.causalConv1dSync({ x, weight, bias, initialState: state, activation: 'silu', returnFinalState: true, out: { y, finalState } }), {
      ...timing, minRuns: 200, maxRuns: 20000,
    });
    rows.push([`decode step b=1 c=${C} w=${W} silu`, '1', (time.median * 1e3).toFixed(4), `${(time.median * 1e6).toFixed(1)} µs`, '', '', '']);
    results.push({ decodeStep: true, batch: 1, L: 1, c: C, w: W, activation: 'silu', threads: 1, time, microseconds: time.median * 1e6 });
  } finally {
    setNumThreads(originalThreads);
  }
  console.log();
  const table = printTable(['shape', 'threads', 'ms (median)', 'rate', '% of triad', 'onnxruntime ms', 'speed-up vs ort'], rows);
  return {
    benchmark: 'causal-conv1d',
    date: new Date().toISOString(),
    machine: machineDescription(),
    limits,
    peer: ort ? { name: 'onnxruntime-node', version: ortVersion, op: 'Conv (group = c, pads = [w − 1, 0]), [b, c, L] layout, no activation' } : { name: 'onnxruntime-node', missing: ortMissing },
    notes: [
      'Rates count bytes of x read plus y written over the median time of the sync op with a reused output; weights and bias (48 KB) stay in cache.',
      '% of triad: against the measured STREAM-triad bandwidth on the same thread count.',
      'crossroad and onnxruntime alternate run by run; inputs rotate over copies larger than the last-level cache.',
      'The decode step includes transposing the weights to [w, c] and the state to token-major rows (O(c · w) each).',
    ],
    results,
    table,
  };
}

async function convSession(ort: Ort, L: number, weight: Tensor, bias: Tensor, threads: number): Promise<OrtSession> {
  const model = buildModel({
    nodes: [{
      op: 'Conv',
      inputs: ['x', 'w', 'bias'],
      outputs: ['y'],
      attributes: [{ name: 'group', int: C }, { name: 'kernel_shape', ints: [W] }, { name: 'pads', ints: [W - 1, 0] }],
    }],
    inputs: [{ name: 'x', elemType: OnnxType.float, shape: [1, C, L] }],
    outputs: [{ name: 'y', elemType: OnnxType.float, shape: [1, C, L] }],
    initializers: [
      { name: 'w', elemType: OnnxType.float, dims: [C, 1, W], raw: new Uint8Array((weight.data as Float32Array).slice().buffer) },
      { name: 'bias', elemType: OnnxType.float, dims: [C], raw: new Uint8Array((bias.data as Float32Array).slice().buffer) },
    ],
  });
  return createSession(ort, model, threads);
}

/** [L, c] → [c, L] */
function transposeLc(x: Float32Array, L: number, c: number): Float32Array {
  const out = new Float32Array(L * c);
  for (let t = 0; t < L; t++) for (let ch = 0; ch < c; ch++) out[ch * L + t] = x[t * c + ch]!;
  return out;
}
