// Selective-scan benchmark (Mamba-1's fused scan, ops.selectiveScan):
//
//   npm run bench -- selective-scan [--quick]
//
// Prefill, b = 1, d = 1536, n = 16, g = 1, deltaSoftplus with z, D and deltaBias
// (Mamba-130m's inner width): the op must read u, delta, z, B, C and write y
// once, so the rate is GB/s over those bytes as a % of the measured read
// bandwidth. Inputs rotate over copies larger than the last-level cache, so
// short sequences are not timed out of cache.
//
// Decode step (L = 1 with a state): latency per call and GB/s of state read +
// written, rotating over 24 layers' states as a 24-layer model would.
// onnxruntime has no selective-scan op, so there is no peer column.

import { getNumThreads, ops, setNumThreads, Tensor } from '../lib/index.js';
import { machineDescription, measureLimits, pct, printTable, timeSync } from './harness.js';

const D_INNER = 1536;
const D_STATE = 16;
const PREFILL_LENGTHS = [512, 2048, 8192];
const DECODE_LAYERS = 24;
// Input copies rotated in prefill add up to at least this many bytes (above any L3 here).
const ROTATE_BYTES = 64e6;

interface ScanInputs {
  u: Tensor;
  delta: Tensor;
  z: Tensor;
  B: Tensor;
  C: Tensor;
}

function mambaA(seed: number): Tensor {
  const A = Tensor.randn([D_INNER, D_STATE], { seed, std: 0.1 });
  const a = A.data as Float32Array;
  for (let i = 0; i < a.length; i++) a[i] = -((i % D_STATE) + 1) * Math.exp(a[i]!);
  return A;
}

function scanInputs(L: number, seed: number): ScanInputs {
  return {
    u: Tensor.randn([1, L, D_INNER], { seed }),
    delta: Tensor.randn([1, L, D_INNER], { seed: seed + 1, std: 0.5 }),
    z: Tensor.randn([1, L, D_INNER], { seed: seed + 2 }),
    B: Tensor.randn([1, L, 1, D_STATE], { seed: seed + 3 }),
    C: Tensor.randn([1, L, 1, D_STATE], { seed: seed + 4 }),
  };
}

export async function benchSelectiveScan(args: string[]): Promise<Record<string, unknown>> {
  const quick = args.includes('--quick');
  const maxThreads = getNumThreads();
  const threadCounts = [...new Set([1, maxThreads])];
  const limits = measureLimits(threadCounts);
  console.log(`machine: read bandwidth ${threadCounts.map((t) => `${limits.readGBs[t]!.toFixed(1)} GB/s on ${t} thread(s)`).join(', ')}`);
  const timing = quick ? { minRuns: 3, minSeconds: 0.1, maxRuns: 20 } : { minRuns: 9, minSeconds: 1.0, maxRuns: 200 };

  const A = mambaA(1);
  const Dskip = Tensor.randn([D_INNER], { seed: 2 });
  const deltaBias = Tensor.rand([D_INNER], { seed: 3, low: -4.6, high: -2.3 }); // softplus ≈ 0.01 … 0.1, as Mamba's dt init
  const rows: (string | number)[][] = [];
  const prefill: Record<string, unknown>[] = [];
  const decode: Record<string, unknown>[] = [];

  try {
    for (const L of PREFILL_LENGTHS) {
      const tokenBytes = 4 * (4 * D_INNER + 2 * D_STATE); // u, delta, z, y + B, C per token
      const bytes = L * tokenBytes;
      const copies = Math.max(1, Math.ceil(ROTATE_BYTES / bytes));
      const sets = Array.from({ length: copies }, (_, i) => scanInputs(L, 10 * i + 5));
      const y = Tensor.zeros([1, L, D_INNER]);
      for (const threads of threadCounts) {
        setNumThreads(threads);
        let next = 0;
        const timed = timeSync(() => {
          const x = sets[next]!;
          next = (next + 1) % copies;
          ops.selectiveScanSync({ ...x, A, D: Dskip, deltaBias, deltaSoftplus: true, out: { y } });
        }, timing);
        const gbs = bytes / timed.median / 1e9;
        const ofRead = gbs / limits.readGBs[threads]!;
        prefill.push({ L, b: 1, d: D_INNER, n: D_STATE, g: 1, threads, bytes, inputCopiesRotated: copies, timing: timed, gbs, percentOfReadBandwidth: ofRead });
        rows.push([`prefill L=${L}`, String(threads), (timed.median * 1e3).toFixed(3), `${gbs.toFixed(1)} GB/s`, pct(ofRead)]);
      }
    }

    // Decode: each layer's state ping-pongs between two buffers (an output may not overlap an input).
    const step = scanInputs(1, 99);
    const states = Array.from({ length: DECODE_LAYERS }, (_, i) => [Tensor.randn([1, D_INNER, D_STATE], { seed: 200 + i, std: 0.1 }), Tensor.zeros([1, D_INNER, D_STATE])] as [Tensor, Tensor]);
    const y = Tensor.zeros([1, 1, D_INNER]);
    const stateBytes = 2 * 4 * D_INNER * D_STATE;
    for (const threads of threadCounts) {
      setNumThreads(threads);
      let flip = 0;
      const timed = timeSync(() => {
        for (const pair of states) {
          ops.selectiveScanSync({ ...step, A, D: Dskip, deltaBias, deltaSoftplus: true, initialState: pair[flip]!, returnLastState: true, out: { y, lastState: pair[1 - flip]! } });
        }
        flip = 1 - flip;
      }, { ...timing, minRuns: timing.minRuns * 3 });
      const perCall = timed.median / DECODE_LAYERS;
      const gbs = stateBytes / perCall / 1e9;
      const ofRead = gbs / limits.readGBs[threads]!;
      decode.push({ L: 1, b: 1, d: D_INNER, n: D_STATE, threads, layersRotated: DECODE_LAYERS, stateBytes, secondsPerCall: perCall, gbs, percentOfReadBandwidth: ofRead });
      rows.push(['decode step', String(threads), (perCall * 1e3).toFixed(4), `${gbs.toFixed(1)} GB/s`, pct(ofRead)]);
    }
  } finally {
    setNumThreads(maxThreads);
  }

  console.log();
  const table = printTable(['shape (b=1, d=1536, n=16)', 'threads', 'ms (median)', 'rate', '% of read bw'], rows);
  return {
    benchmark: 'selective-scan',
    date: new Date().toISOString(),
    machine: machineDescription(),
    limits,
    peer: { name: 'onnxruntime-node', missing: 'onnxruntime has no selective-scan op' },
    notes: [
      'Prefill: b=1, d=1536, n=16, g=1, deltaSoftplus, z, D, deltaBias; ms is the median of the sync op with a reused output.',
      'Prefill GB/s counts u, delta, z, B, C read and y written once (A, D, deltaBias are negligible), as a % of the measured read bandwidth on the same thread count; inputs rotate over copies adding up to ≥ 64 MB.',
      `Decode: L=1 with initialState and returnLastState, per call, rotating over ${DECODE_LAYERS} layers' states; GB/s counts the state read and written (2·d·n·4 bytes).`,
    ],
    results: { prefill, decode },
    table,
  };
}
