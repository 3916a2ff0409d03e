// Long-convolution benchmark: fftConv (FFT path) against our own direct sum
// (the same op with method: 'direct') and against onnxruntime-node's grouped
// Conv (group = c, one filter per channel), side by side in this process.
//
//   npm run bench -- fft-conv [--quick]
//
// c = 256 channels, batch 1, L = Lk ∈ {1024, 4096, 16384} (the kernel as long
// as the sequence, as in S4/Hyena). onnxruntime's Conv takes [b, c, L] and
// computes a cross-correlation: it gets u transposed and the taps reversed,
// with Lk − 1 zeros of padding on the left, so its output is the same causal
// convolution. That transpose is its layout's cost and is done outside the
// timed region; its output is checked against ours before timing. The FFT
// path's time over L·log2 L shows its O(L log L) growth.

import { ops, setNumThreads, getNumThreads, Tensor } from '../lib/index.js';
import { buildModel, createSession, loadOrt, OnnxType, type OrtSession, type OrtTensor } from './peers/onnx.js';
import { machineDescription, measureLimits, pct, printTable, timeInterleaved, type Timing } from './harness.js';

const CHANNELS = 256;
const LENGTHS = [1024, 4096, 16384];

/** Flops of the FFT path per call: three real FFTs of N points (≈ 2.5·N·log2 N each) and the spectrum product, per channel. */
function fftFlops(L: number, Lk: number, c: number): number {
  let N = 4;
  while (N < L + Lk - 1) N *= 2;
  return c * (3 * 2.5 * N * Math.log2(N) + 6 * N);
}

export async function benchFftConv(args: string[]): Promise<Record<string, unknown>> {
  const quick = args.includes('--quick');
  const maxThreads = getNumThreads();
  const threadCounts = quick ? [maxThreads] : [...new Set([1, maxThreads])];
  const limits = measureLimits(threadCounts);
  console.log(`machine: FMA peak ${threadCounts.map((t) => `${limits.fmaGflops[t]!.toFixed(0)} GFLOP/s on ${t} thread(s)`).join(', ')}`);
  const { ort, version: ortVersion, reason: ortMissing } = await loadOrt();
  if (!ort) console.log(`peer: ${ortMissing}`);
  const fastTiming = quick ? { minRuns: 3, minSeconds: 0.2, maxRuns: 30, warmup: 1 } : { minRuns: 9, minSeconds: 1.0, maxRuns: 200 };
  // The direct sums (ours and onnxruntime's) take up to seconds at L = 16384: few runs.
  const slowTiming = quick ? { minRuns: 1, minSeconds: 0, maxRuns: 1, warmup: 0 } : { minRuns: 3, minSeconds: 0, maxRuns: 3, warmup: 1 };

  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const threads of threadCounts) {
    setNumThreads(threads);
    for (const L of LENGTHS) {
      const Lk = L;
      const c = CHANNELS;
      const u = Tensor.randn([1, L, c], { seed: 1 });
      const k = Tensor.randn([c, Lk], { seed: 2, std: 1 / Math.sqrt(Lk) });
      const y = Tensor.zeros([1, L, c]);
      const yDirect = Tensor.zeros([1, L, c]);
      const fft = () => ops.fftConv({ u, k, method: 'fft', out: { y } });
      const direct = () => ops.fftConv({ u, k, method: 'direct', out: { y: yDirect } });

      let ortRun: (() => Promise<unknown>) | undefined;
      let session: OrtSession | undefined;
      let ortCheck: number | null = null;
      if (ort) {
        const weights = new Float32Array(c * Lk);  // [c, 1, Lk], taps reversed (Conv correlates)
        const kd = k.data as Float32Array;
        for (let ch = 0; ch < c; ch++) for (let s = 0; s < Lk; s++) weights[ch * Lk + s] = kd[ch * Lk + Lk - 1 - s]!;
        const model = buildModel({
          nodes: [{
            op: 'Conv',
            inputs: ['x', 'w'],
            outputs: ['y'],
            attributes: [{ name: 'group', int: c }, { name: 'kernel_shape', ints: [Lk] }, { name: 'pads', ints: [Lk - 1, 0] }],
          }],
          inputs: [{ name: 'x', elemType: OnnxType.float, shape: [1, c, L] }],
          outputs: [{ name: 'y', elemType: OnnxType.float, shape: [1, c, L] }],
          initializers: [{ name: 'w', elemType: OnnxType.float, dims: [c, 1, Lk], raw: new Uint8Array(weights.buffer) }],
        });
        session = await createSession(ort, model, threads);
        const feed: Record<string, OrtTensor> = { x: new ort.Tensor('float32', transposeLc(u.data as Float32Array, L, c), [1, c, L]) };
        ortRun = () => session!.run(feed);
        // Same result as ours (to float rounding), before any timing.
        const out = (await session.run(feed)).y!.data as Float32Array;
        await fft();
        ortCheck = relErrorTransposed(out, y.data as Float32Array, L, c);
        if (!(ortCheck < 1e-4)) throw new Error(`onnxruntime's Conv disagrees with fftConv at L=${L}: relative error ${ortCheck}`);
      }
      const [fftTime] = await timeInterleaved([fft], fastTiming);
      const slow = await timeInterleaved(ortRun ? [direct, ortRun] : [direct], slowTiming);
      const directTime = slow[0]!;
      const ortTime: Timing | undefined = slow[1];
      await session?.release?.();

      const t = fftTime!.median;
      const flops = fftFlops(L, Lk, c);
      const gflops = flops / t / 1e9;
      const nsPerLLogL = (t * 1e9) / (L * Math.log2(L));
      const entry: Record<string, unknown> = {
        c, L, Lk, batch: 1, threads,
        fft: fftTime, direct: directTime, onnxruntime: ortTime ?? null,
        fftGflops: gflops, percentOfPeak: gflops / limits.fmaGflops[threads]!,
        nsPerLLog2L: nsPerLLogL,
        speedupVsDirect: directTime.median / t,
        speedupVsOnnxruntime: ortTime ? ortTime.median / t : null,
        onnxruntimeRelErrorVsOurs: ortCheck,
      };
      results.push(entry);
      rows.push([
        String(L), String(threads), (t * 1e3).toFixed(3), nsPerLLogL.toFixed(3), `${gflops.toFixed(1)} (${pct(gflops / limits.fmaGflops[threads]!)})`,
        (directTime.median * 1e3).toFixed(1), `${(directTime.median / t).toFixed(1)}×`,
        ortTime ? (ortTime.median * 1e3).toFixed(1) : 'n/a', ortTime ? `${(ortTime.median / t).toFixed(1)}×` : 'n/a',
      ]);
      console.log(`L=${L} threads=${threads}: fft ${(t * 1e3).toFixed(3)} ms, direct ${(directTime.median * 1e3).toFixed(1)} ms${ortTime ? `, onnxruntime ${(ortTime.median * 1e3).toFixed(1)} ms` : ''}`);
    }
  }
  setNumThreads(maxThreads);
  console.log();
  const table = printTable(
    ['L = Lk', 'threads', 'fft ms', 'ns / (L·log2 L)', 'fft GFLOP/s (% peak)', 'direct ms', 'fft vs direct', 'onnxruntime ms', 'fft vs onnxruntime'],
    rows,
  );
  const payload = {
    benchmark: 'fft-conv',
    date: new Date().toISOString(),
    machine: machineDescription(),
    limits,
    peer: ort ? { name: 'onnxruntime-node', version: ortVersion, op: 'Conv (group = c)' } : { name: 'onnxruntime-node', missing: ortMissing },
    notes: [
      `c = ${CHANNELS}, batch 1, Lk = L; times are medians of the async op writing into a reused output (out: { y }).`,
      'fft: method "fft" (power-of-two real FFT, SIMD across channels); direct: method "direct" (the O(L·Lk) sum, same op).',
      'onnxruntime: Conv with group = c on the transposed input [1, c, L] (transposed outside the timed region), reversed taps, left padding Lk − 1.',
      'ns / (L·log2 L): the FFT time over L·log2 L; roughly constant while the transforms stay in cache.',
      'fft GFLOP/s counts 3 real FFTs of N points at 2.5·N·log2 N flops each plus the spectrum product, per channel.',
    ],
    results,
    table,
  };
  return payload;
}

function transposeLc(data: Float32Array, L: number, c: number): Float32Array {
  const out = new Float32Array(L * c);
  for (let t = 0; t < L; t++) for (let ch = 0; ch < c; ch++) out[ch * L + t] = data[t * c + ch]!;
  return out;
}

function relErrorTransposed(peer: Float32Array, ours: Float32Array, L: number, c: number): number {
  let num = 0;
  let den = 0;
  for (let t = 0; t < L; t++) {
    for (let ch = 0; ch < c; ch++) {
      const a = ours[t * c + ch]!;
      const d = peer[ch * L + t]! - a;
      num += d * d;
      den += a * a;
    }
  }
  return Math.sqrt(num / den);
}
