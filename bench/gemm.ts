// GEMM benchmark: crossroad's matmul/linear against the machine's measured
// limits and against onnxruntime-node's MatMul, side by side in this process.
//
//   npm run bench -- gemm [--quick]
//
// Large shapes are compute-bound: GFLOP/s as a % of the measured FMA peak.
// M = 1 shapes are bandwidth-bound: the weights are streamed from memory, so
// several copies are rotated (more than the last-level cache holds) and the
// rate is GB/s of weights as a % of the measured read bandwidth.

import { Tensor, ops, setNumThreads } from '../lib/index.js';
import { buildModel, createSession, loadOrt, OnnxType, type Ort, type OrtSession, type OrtTensor } from './peers/onnx.js';
import { machineDescription, measureLimits, pct, printTable, timeInterleaved, writeResults, type Timing } from './harness.js';

interface Shape {
  M: number;
  K: number;
  N: number;
  weights: 'float32' | 'bfloat16';
  /** decode-shaped: time is weight streaming */
  bound: 'compute' | 'memory';
}

const SHAPES: Shape[] = [
  { M: 1024, K: 1024, N: 1024, weights: 'float32', bound: 'compute' },
  { M: 2048, K: 2048, N: 2048, weights: 'float32', bound: 'compute' },
  { M: 512, K: 768, N: 3072, weights: 'float32', bound: 'compute' },
  { M: 1, K: 768, N: 3072, weights: 'float32', bound: 'memory' },
  { M: 1, K: 4096, N: 4096, weights: 'bfloat16', bound: 'memory' },
];

// Enough weight copies to exceed the last-level cache several times over.
const ROTATE_BYTES = 512e6;

function weightCopies(shape: Shape): number {
  if (shape.bound === 'compute') return 1;
  const bytes = shape.K * shape.N * (shape.weights === 'float32' ? 4 : 2);
  return Math.max(2, Math.ceil(ROTATE_BYTES / bytes));
}

async function ortSessions(ort: Ort, shape: Shape, weights: Tensor[], threads: number): Promise<OrtSession[]> {
  // onnxruntime's CPU MatMul has no bfloat16 kernel: it gets the same weights in float32.
  const sessions: OrtSession[] = [];
  for (const w of weights) {
    const wf = w.toFloat32(); // [K, N]
    const model = buildModel({
      nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }],
      inputs: [{ name: 'a', elemType: OnnxType.float, shape: [shape.M, shape.K] }],
      outputs: [{ name: 'y', elemType: OnnxType.float, shape: [shape.M, shape.N] }],
      initializers: [{ name: 'b', elemType: OnnxType.float, dims: [shape.K, shape.N], raw: new Uint8Array(wf.data.buffer) }],
    });
    sessions.push(await createSession(ort, model, threads));
  }
  return sessions;
}

export async function runGemmBench(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const threadCounts = [1, 2];
  const limits = measureLimits(threadCounts);
  console.log(`machine: FMA peak ${threadCounts.map((t) => `${limits.fmaGflops[t]!.toFixed(0)} GFLOP/s on ${t} thread(s)`).join(', ')}`);
  console.log(`         read bandwidth ${threadCounts.map((t) => `${limits.readGBs[t]!.toFixed(1)} GB/s on ${t}`).join(', ')}; triad ${threadCounts.map((t) => `${limits.triadGBs[t]!.toFixed(1)}`).join(' / ')} GB/s`);
  const { ort, version: ortVersion, reason: ortMissing } = await loadOrt();
  if (!ort) console.log(`peer: ${ortMissing}`);
  const timing = quick ? { minRuns: 3, minSeconds: 0.1, maxRuns: 20 } : { minRuns: 9, minSeconds: 1.0, maxRuns: 400 };

  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const shape of SHAPES) {
    const { M, K, N } = shape;
    const copies = weightCopies(shape);
    const a = Tensor.randn([M, K], { seed: 1 });
    // matmul takes b as [K, N]; linear (decode) takes PyTorch's [N, K] weight.
    const weights = Array.from({ length: copies }, (_, i) =>
      Tensor.randn(shape.bound === 'memory' ? [N, K] : [K, N], { seed: 2 + i, std: 0.05, dtype: shape.weights }),
    );
    const y = Tensor.zeros([M, N]);
    const flops = 2 * M * N * K;
    const weightBytes = K * N * (shape.weights === 'float32' ? 4 : 2);
    for (const threads of threadCounts) {
      setNumThreads(threads);
      let next = 0;
      const nextWeight = () => {
        const w = weights[next]!;
        next = (next + 1) % copies;
        return w;
      };
      const decode = shape.bound === 'memory';
      const runSync = () => {
        if (decode) ops.linearSync({ x: a, weight: nextWeight(), out: { y } });
        else ops.matmulSync({ a, b: nextWeight(), out: { y } });
      };
      const runAsync = async () => {
        if (decode) await ops.linear({ x: a, weight: nextWeight(), out: { y } });
        else await ops.matmul({ a, b: nextWeight(), out: { y } });
      };
      let ortRun: (() => Promise<unknown>) | undefined;
      if (ort) {
        // onnxruntime takes [K, N] for MatMul: give it the transposed weights for the decode shapes.
        const peerWeights = decode ? weights.map((w) => transpose(w.toFloat32())) : weights;
        const sessions = await ortSessions(ort, shape, peerWeights, threads);
        const feed: Record<string, OrtTensor> = { a: new ort.Tensor('float32', a.data, [M, K]) };
        let s = 0;
        ortRun = () => {
          const session = sessions[s]!;
          s = (s + 1) % sessions.length;
          return session.run(feed);
        };
      }
      // All contestants alternate run by run, so drifts in machine speed hit them alike.
      const timings = await timeInterleaved(ortRun ? [runSync, runAsync, ortRun] : [runSync, runAsync], timing);
      const [ours, oursAsync] = timings as [Timing, Timing];
      const peer: Timing | undefined = timings[2];

      const label = `(${M}, ${K}, ${N})${shape.weights === 'bfloat16' ? ' bf16' : ''}`;
      const entry: Record<string, unknown> = {
        M, K, N, weights: shape.weights, threads, op: shape.bound === 'memory' ? 'linear' : 'matmul',
        weightCopiesRotated: copies,
        sync: ours, async: oursAsync, onnxruntime: peer ?? null,
      };
      if (shape.bound === 'compute') {
        const gflops = flops / ours.median / 1e9;
        const peerGflops = peer ? flops / peer.median / 1e9 : NaN;
        entry.gflops = gflops;
        entry.percentOfPeak = gflops / limits.fmaGflops[threads]!;
        entry.onnxruntimeGflops = peer ? peerGflops : null;
        entry.ratioToOnnxruntime = peer ? peer.median / oursAsync.median : null;
        rows.push([label, String(threads), (ours.median * 1e3).toFixed(2), `${gflops.toFixed(0)} GFLOP/s`, pct(gflops / limits.fmaGflops[threads]!),
          peer ? `${peerGflops.toFixed(0)} GFLOP/s` : 'n/a', peer ? `${(peer.median / oursAsync.median).toFixed(2)}×` : 'n/a']);
      } else {
        const bytes = weightBytes + 4 * (M * K + M * N);
        const gbs = bytes / ours.median / 1e9;
        const peerGbs = peer ? (K * N * 4 + 4 * (M * K + M * N)) / peer.median / 1e9 : NaN;
        entry.gbs = gbs;
        entry.percentOfReadBandwidth = gbs / limits.readGBs[threads]!;
        entry.onnxruntimeGBs = peer ? peerGbs : null;
        entry.ratioToOnnxruntime = peer ? peer.median / oursAsync.median : null;
        rows.push([label, String(threads), (ours.median * 1e3).toFixed(3), `${gbs.toFixed(1)} GB/s`, pct(gbs / limits.readGBs[threads]!),
          peer ? `${peerGbs.toFixed(1)} GB/s (f32)` : 'n/a', peer ? `${(peer.median / oursAsync.median).toFixed(2)}×` : 'n/a']);
      }
      results.push(entry);
    }
  }
  console.log();
  const table = printTable(['(M, K, N)', 'threads', 'ms (median)', 'rate', '% of limit', 'onnxruntime', 'speed-up vs ort'], rows);
  const path = writeResults('gemm', {
    benchmark: 'gemm',
    date: new Date().toISOString(),
    machine: machineDescription(),
    limits,
    peer: ort ? { name: 'onnxruntime-node', version: ortVersion } : { name: 'onnxruntime-node', missing: ortMissing },
    notes: [
      'ms and rates are medians of the sync op with a reused output (out: { y }); speed-up compares the async op with onnxruntime\'s async run.',
      'Compute-bound rows: % of the measured FMA peak on the same thread count.',
      'Memory-bound rows (M = 1): GB/s of weights + activations, % of the measured read bandwidth; weights rotate over copies larger than the cache.',
      'onnxruntime has no bfloat16 MatMul on CPU: its bf16 row runs float32 weights (twice the bytes).',
    ],
    results,
    table,
  });
  console.log(`\nwrote ${path}`);
}

function transpose(t: Tensor): Tensor {
  const [r, c] = t.shape as [number, number];
  const out = new Float32Array(r * c);
  const src = t.data as Float32Array;
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = src[i * c + j]!;
  return new Tensor(out, [c, r]);
}
