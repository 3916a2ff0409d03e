// linearAttention and mlstm benchmark: the chunked form against the token-by-
// token recurrence, rates against the machine's measured limits, a chunkSize
// sweep (the evidence for DEFAULT_CHUNK_SIZE in lib/ops/linear_attention.ts),
// and the one-token decode step.
//
//   npm run bench -- linear-attention [--quick]
//
// Shapes: b = 1, T = 4096, h = 8, K = V ∈ {64, 128}; decays none / g (scalar
// per head: RetNet, Mamba-2) / gk (per key channel: GLA), and mlstm.
// onnxruntime has no linear-attention or mLSTM operator, so there is no peer.
//
// FLOP counts are those of each algorithm (multiply-adds count 2):
//   chunked, per chunk of L tokens and one head: scores L(L+1)/2·K, intra-chunk
//   output L(L+1)/2·V, inter-chunk output L·K·V, state update K·L·V
//   multiply-adds (decay factors are O(L·K) and left out);
//   recurrent, per token and head: K·V multiply-adds for the update, K·V for
//   the output, and K·V multiplies for the decay (none without a decay).

import { DEFAULT_CHUNK_SIZE } from '../lib/ops/linear_attention.js';
import { getNumThreads, ops, Tensor } from '../lib/index.js';
import { machineDescription, measureLimits, pct, printTable, timeInterleaved, timeSync, type TimeOptions } from './harness.js';

type Variant = 'none' | 'g' | 'gk' | 'mlstm';
const VARIANTS: Variant[] = ['none', 'g', 'gk', 'mlstm'];

const B = 1;
const T = 4096;
const H = 8;

interface Inputs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  g: Tensor;
  gk: Tensor;
  i: Tensor;
  f: Tensor;
}

function makeInputs(K: number, V: number): Inputs {
  return {
    q: Tensor.randn([B, T, H, K], { seed: 1 }),
    k: Tensor.randn([B, T, H, K], { seed: 2 }),
    v: Tensor.randn([B, T, H, V], { seed: 3 }),
    g: Tensor.rand([B, T, H], { seed: 4, low: -0.5, high: 0 }),
    gk: Tensor.rand([B, T, H, K], { seed: 5, low: -0.5, high: 0 }),
    i: Tensor.randn([B, T, H], { seed: 6 }),
    f: Tensor.rand([B, T, H], { seed: 7, low: 2, high: 6 }),
  };
}

/** One call of the variant over the whole sequence (outputs reused across runs). */
function runner(variant: Variant, x: Inputs, V: number, mode: 'chunked' | 'recurrent', chunkSize: number): () => void {
  if (variant === 'mlstm') {
    const out = { h: Tensor.zeros([B, T, H, V]) };
    return () => void ops.mlstmSync({ q: x.q, k: x.k, v: x.v, i: x.i, f: x.f, mode, chunkSize, out });
  }
  const out = { o: Tensor.zeros([B, T, H, V]) };
  const decay = variant === 'g' ? { g: x.g } : variant === 'gk' ? { gk: x.gk } : {};
  return () => void ops.linearAttentionSync({ q: x.q, k: x.k, v: x.v, ...decay, mode, chunkSize, out });
}

function chunkedFlops(K: number, V: number, C: number): number {
  let madds = 0;
  for (let c0 = 0; c0 < T; c0 += C) {
    const L = Math.min(C, T - c0);
    madds += ((L * (L + 1)) / 2) * (K + V) + 2 * L * K * V;
  }
  return 2 * madds * B * H;
}

function recurrentFlops(variant: Variant, K: number, V: number): number {
  const perElement = variant === 'none' ? 4 : 5;
  return perElement * K * V * T * B * H;
}

/** A decode step: T = 1 with the previous state, the state written in place of a new one. */
function decodeRunner(variant: Variant, K: number, V: number): () => void {
  const q = Tensor.randn([B, 1, H, K], { seed: 11 });
  const k = Tensor.randn([B, 1, H, K], { seed: 12 });
  const v = Tensor.randn([B, 1, H, V], { seed: 13 });
  if (variant === 'mlstm') {
    const i = Tensor.randn([B, 1, H], { seed: 14 });
    const f = Tensor.rand([B, 1, H], { seed: 15, low: 2, high: 6 });
    const initialC = Tensor.randn([B, H, K, V], { seed: 16 });
    const initialN = Tensor.randn([B, H, K], { seed: 17 });
    const initialM = Tensor.zeros([B, H]);
    const out = { h: Tensor.zeros([B, 1, H, V]), finalC: Tensor.zeros([B, H, K, V]), finalN: Tensor.zeros([B, H, K]), finalM: Tensor.zeros([B, H]) };
    return () => void ops.mlstmSync({ q, k, v, i, f, initialC, initialN, initialM, outputFinalState: true, out });
  }
  const g = variant === 'g' ? Tensor.rand([B, 1, H], { seed: 14, low: -0.5, high: 0 }) : undefined;
  const gk = variant === 'gk' ? Tensor.rand([B, 1, H, K], { seed: 15, low: -0.5, high: 0 }) : undefined;
  const initialState = Tensor.randn([B, H, K, V], { seed: 16 });
  const out = { o: Tensor.zeros([B, 1, H, V]), finalState: Tensor.zeros([B, H, K, V]) };
  return () => void ops.linearAttentionSync({ q, k, v, g, gk, initialState, outputFinalState: true, out });
}

function geometricMean(xs: number[]): number {
  return Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
}

export async function benchLinearAttention(args: string[]): Promise<Record<string, unknown>> {
  const quick = args.includes('--quick');
  const threads = getNumThreads();
  const limits = measureLimits([threads]);
  const peak = limits.fmaGflops[threads]!;
  console.log(`machine: FMA peak ${peak.toFixed(0)} GFLOP/s, read ${limits.readGBs[threads]!.toFixed(1)} GB/s, triad ${limits.triadGBs[threads]!.toFixed(1)} GB/s on ${threads} thread(s)`);
  console.log('peer: none — onnxruntime has no linear-attention or mLSTM operator.');
  const timing: TimeOptions = quick ? { minRuns: 3, minSeconds: 0.05, maxRuns: 10, warmup: 1 } : { minRuns: 7, minSeconds: 0.5, maxRuns: 50 };
  const headDims = [64, 128];
  const sweep = quick ? [16, 32, 64, 128] : [16, 24, 32, 48, 64, 96, 128, 256];

  // 1. chunked (default chunk size) vs recurrent.
  const mainRows: (string | number)[][] = [];
  const main: Record<string, unknown>[] = [];
  // 2. chunkSize sweep: ms per configuration, relative to the best.
  const sweepRows: (string | number)[][] = [];
  const sweepResults: Record<string, unknown>[] = [];
  const relativeToBest: Record<number, number[]> = {};
  for (const C of sweep) relativeToBest[C] = [];

  for (const K of headDims) {
    const V = K;
    const x = makeInputs(K, V);
    for (const variant of VARIANTS) {
      const label = `${variant === 'mlstm' ? 'mlstm' : `linearAttention ${variant}`} K=V=${K}`;
      const [chunked, recurrent] = await timeInterleaved(
        [runner(variant, x, V, 'chunked', DEFAULT_CHUNK_SIZE), runner(variant, x, V, 'recurrent', DEFAULT_CHUNK_SIZE)],
        timing,
      );
      const chunkedGflops = chunkedFlops(K, V, DEFAULT_CHUNK_SIZE) / chunked!.median / 1e9;
      const recurrentGflops = recurrentFlops(variant, K, V) / recurrent!.median / 1e9;
      const speedUp = recurrent!.median / chunked!.median;
      mainRows.push([label, (chunked!.median * 1e3).toFixed(1), `${chunkedGflops.toFixed(0)}`, pct(chunkedGflops / peak),
        (recurrent!.median * 1e3).toFixed(1), `${recurrentGflops.toFixed(0)}`, pct(recurrentGflops / peak), `${speedUp.toFixed(2)}×`]);
      main.push({ variant, K, V, chunkSize: DEFAULT_CHUNK_SIZE, chunked, recurrent, chunkedGflops, recurrentGflops,
        chunkedPercentOfPeak: chunkedGflops / peak, recurrentPercentOfPeak: recurrentGflops / peak, speedUp });

      // Interleaved, so a machine whose speed drifts favours no chunk size.
      const sweepTimings = await timeInterleaved(sweep.map((C) => runner(variant, x, V, 'chunked', C)), timing);
      const times: Record<number, number> = {};
      sweep.forEach((C, j) => (times[C] = sweepTimings[j]!.median));
      const best = Math.min(...Object.values(times));
      for (const C of sweep) relativeToBest[C]!.push(times[C]! / best);
      sweepRows.push([label, ...sweep.map((C) => `${(times[C]! * 1e3).toFixed(1)}${times[C] === best ? '*' : ''}`)]);
      sweepResults.push({ variant, K, V, msByChunkSize: Object.fromEntries(sweep.map((C) => [C, times[C]! * 1e3])) });
    }
  }

  console.log(`\nchunked (chunkSize ${DEFAULT_CHUNK_SIZE}) vs recurrent, b=${B} T=${T} h=${H}, ${threads} thread(s); GFLOP/s of each algorithm's own FLOPs`);
  const mainTable = printTable(['op', 'chunked ms', 'GFLOP/s', '% peak', 'recurrent ms', 'GFLOP/s', '% peak', 'speed-up'], mainRows);

  console.log('\nchunkSize sweep (chunked, ms; * = fastest for the row)');
  const sweepTable = printTable(['op', ...sweep.map(String)], sweepRows);
  const meanRelative = sweep.map((C) => geometricMean(relativeToBest[C]!));
  const bestC = sweep[meanRelative.indexOf(Math.min(...meanRelative))]!;
  console.log(`geometric mean of time / row's best: ${sweep.map((C, j) => `${C}: ${meanRelative[j]!.toFixed(3)}`).join(', ')}`);
  console.log(`fastest over all rows: chunkSize ${bestC}; the default is ${DEFAULT_CHUNK_SIZE}`);

  // 3. the decode step (T = 1 with a state): cost is streaming the state once.
  const decodeRows: (string | number)[][] = [];
  const decode: Record<string, unknown>[] = [];
  for (const K of headDims) {
    for (const variant of VARIANTS) {
      const t = timeSync(decodeRunner(variant, K, K), quick ? { minRuns: 20, minSeconds: 0.05, maxRuns: 200 } : { minRuns: 50, minSeconds: 0.3, maxRuns: 2000 });
      const bytes = 2 * B * H * K * K * 4; // the state read and written
      const gbs = bytes / t.median / 1e9;
      decodeRows.push([`${variant === 'mlstm' ? 'mlstm' : `linearAttention ${variant}`} K=V=${K}`, (t.median * 1e6).toFixed(1), `${gbs.toFixed(1)} GB/s`, pct(gbs / limits.triadGBs[threads]!)]);
      decode.push({ variant, K, V: K, timing: t, stateGBs: gbs });
    }
  }
  console.log(`\ndecode step (T = 1, b=${B} h=${H}, state in and out): µs per step, state bytes read + written (% of the triad bandwidth; the state fits in cache, so this can pass 100%)`);
  const decodeTable = printTable(['op', 'µs (median)', 'state traffic', '% of triad'], decodeRows);

  return {
    benchmark: 'linear-attention',
    date: new Date().toISOString(),
    quick,
    machine: machineDescription(),
    limits,
    threads,
    peer: { name: 'onnxruntime-node', missing: 'onnxruntime has no linear-attention or mLSTM operator' },
    shape: { b: B, T, h: H, headDims },
    defaultChunkSize: DEFAULT_CHUNK_SIZE,
    notes: [
      'medians of the sync op with reused outputs; chunked and recurrent timed alternately.',
      'GFLOP/s count each algorithm\'s own FLOPs (see bench/linear-attention.ts); % peak is of the measured FMA peak on the same threads.',
      'the sweep picks the chunk size with the smallest geometric mean of (time / best time of its row).',
    ],
    chunkedVsRecurrent: main,
    chunkSizeSweep: { sizes: sweep, results: sweepResults, meanTimeOverBest: Object.fromEntries(sweep.map((C, j) => [C, meanRelative[j]])), fastest: bestC },
    decode,
    tables: { chunkedVsRecurrent: mainTable, sweep: sweepTable, decode: decodeTable },
  };
}
