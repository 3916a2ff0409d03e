// diagonalScan benchmark: h_t = a_t ⊙ h_{t−1} + b_t is pure streaming (one
// FMA, or four for complex, per 12 bytes), so its rate is GB/s of a and b read
// plus h written, as a % of the measured triad bandwidth (the same two-reads-
// one-write mix) on the same thread count.
//
//   npm run bench -- diagonal-scan [--quick]
//
// Shapes: c = 1536, L = 2048 at b = 1 and 8 (the channel-parallel path), and
// b = 1, c = 16, L = 65536 (few channels, long sequence: the time-chunked
// path), real and complex, on 1 and 2 threads; plus the decode step (L = 1
// with a state). Inputs rotate over enough copies to exceed the last-level
// cache, so the rates are memory rates. onnxruntime has no diagonal scan (its
// Scan op runs a subgraph per step), so there is no peer column.

import { Tensor, ops, setNumThreads, getNumThreads } from '../lib/index.js';
import { machineDescription, measureLimits, pct, printTable, timeSync, type MachineLimits, type TimeOptions } from './harness.js';

interface Shape {
  batch: number;
  L: number;
  c: number;
}

const SHAPES: Shape[] = [
  { batch: 1, L: 2048, c: 1536 },
  { batch: 8, L: 2048, c: 1536 },
  { batch: 1, L: 65536, c: 16 },
];

// Rotate inputs over at least this many bytes: more than any last-level cache here.
const ROTATE_BYTES = 256e6;

/** Decays with |a| in [0.9, 0.999), the magnitudes recurrent SSMs use; complex ones with a random phase. */
function decays(shape: number[], complex: boolean, seed: number): Tensor {
  const magnitude = Tensor.rand(shape, { seed, low: 0.9, high: 0.999 });
  if (!complex) return magnitude;
  const phase = Tensor.rand(shape, { seed: seed + 1, low: -Math.PI, high: Math.PI });
  const r = magnitude.data as Float32Array, theta = phase.data as Float32Array;
  const data = new Float32Array(2 * r.length);
  for (let i = 0; i < r.length; i++) {
    data[2 * i] = r[i]! * Math.cos(theta[i]!);
    data[2 * i + 1] = r[i]! * Math.sin(theta[i]!);
  }
  return new Tensor(data, [...shape, 2]);
}

export async function benchDiagonalScan(args: string[]): Promise<Record<string, unknown>> {
  const quick = args.includes('--quick');
  const threadCounts = [1, 2];
  const originalThreads = getNumThreads();
  const limits: MachineLimits = measureLimits(threadCounts);
  console.log(`machine: triad ${threadCounts.map((t) => `${limits.triadGBs[t]!.toFixed(1)} GB/s on ${t} thread(s)`).join(', ')}`);
  const timing: TimeOptions = quick ? { minRuns: 3, minSeconds: 0.1, maxRuns: 20 } : { minRuns: 9, minSeconds: 1.0, maxRuns: 400 };

  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  try {
    for (const complex of [false, true]) {
      for (const { batch, L, c } of SHAPES) {
        const tail = complex ? [2] : [];
        const shape = [batch, L, c, ...tail];
        const tensorBytes = 4 * shape.reduce((p, d) => p * d, 1);
        const bytes = 3 * tensorBytes; // a, b read; h written
        const copies = Math.max(1, Math.ceil(ROTATE_BYTES / (2 * tensorBytes)));
        const inputs = Array.from({ length: copies }, (_, i) => ({
          a: decays([batch, L, c], complex, 10 + i),
          b: Tensor.randn(shape, { seed: 100 + i }),
        }));
        const h = Tensor.zeros(shape);
        const lastState = Tensor.zeros([batch, c, ...tail]);
        for (const threads of threadCounts) {
          setNumThreads(threads);
          let next = 0;
          const time = timeSync(() => {
            const { a, b } = inputs[next]!;
            next = (next + 1) % copies;
            ops.diagonalScanSync({ a, b, complex, out: { h, lastState } });
          }, timing);
          const gbs = bytes / time.median / 1e9;
          const share = gbs / limits.triadGBs[threads]!;
          const label = `${complex ? 'complex' : 'real'} b=${batch} L=${L} c=${c}`;
          rows.push([label, String(threads), (time.median * 1e3).toFixed(3), `${gbs.toFixed(1)} GB/s`, pct(share)]);
          results.push({ complex, batch, L, c, threads, bytes, inputCopiesRotated: copies, time, gbs, percentOfTriad: share });
        }
      }
    }
    // The decode step: L = 1 from a state, b = 1, c = 1536, on one thread (too small to split).
    for (const complex of [false, true]) {
      const c = 1536;
      const tail = complex ? [2] : [];
      const a = decays([1, 1, c], complex, 1);
      const b = Tensor.randn([1, 1, c, ...tail], { seed: 2 });
      const state = Tensor.randn([1, c, ...tail], { seed: 3 });
      const h = Tensor.zeros([1, 1, c, ...tail]);
      const lastState = Tensor.zeros([1, c, ...tail]);
      setNumThreads(1);
      const time = timeSync(() => ops.diagonalScanSync({ a, b, initialState: state, complex, out: { h, lastState } }), {
        ...timing, minRuns: 200, maxRuns: 20000,
      });
      const label = `decode step, ${complex ? 'complex' : 'real'} b=1 c=${c}`;
      rows.push([label, '1', (time.median * 1e3).toFixed(4), `${(time.median * 1e6).toFixed(1)} µs`, '']);
      results.push({ decodeStep: true, complex, batch: 1, L: 1, c, threads: 1, time, microseconds: time.median * 1e6 });
    }
  } finally {
    setNumThreads(originalThreads);
  }
  console.log();
  const table = printTable(['shape', 'threads', 'ms (median)', 'rate', '% of triad'], rows);
  return {
    benchmark: 'diagonal-scan',
    date: new Date().toISOString(),
    machine: machineDescription(),
    limits,
    peer: { name: 'onnxruntime-node', missing: 'no diagonal-scan operator (its Scan op runs a subgraph per step)' },
    notes: [
      'Rates count bytes of a and b read plus h written (complex: pairs of float32), over the median time of the sync op with reused outputs.',
      '% of triad: against the measured STREAM-triad bandwidth on the same thread count (triad also reads two streams and writes one).',
      'b = 1, c = 16, L = 65536 on 2 threads runs the time-chunked scan (reduce, carry, rescan), which moves about 20/12 of the bytes counted here.',
      'Inputs rotate over copies larger than the last-level cache.',
    ],
    results,
    table,
  };
}
