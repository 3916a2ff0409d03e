// CUDA GEMM benchmark: crossroad's device matmul against the GPU's peak.
//
//   npm run bench -- cuda-gemm [--quick] [--peers]
//
// Large shapes are compute-bound: TFLOP/s as a % of the peak computed from the
// device's properties (SM count × clock × per-SM rate of its architecture:
// FP32 FMA lanes for float32, dense tensor-core rate for bf16). M = 1 and
// M = 8 shapes are bandwidth-bound: GB/s of weights as a % of the memory
// bandwidth computed from the memory clock and bus width; several weight
// copies are rotated so that L2 does not hold them.
// Times are per op call from JS (ops.matmulSync on device tensors, outputs
// reused), so they include the launch and the wait for the stream — a few µs,
// which matters only for the smallest decode shapes.
// --peers runs bench/peers/torch_gemm.py (PyTorch, cuBLAS) on the same shapes
// when python3 with a CUDA torch is installed.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { info, ops, Tensor } from '../lib/index.js';
import { cudaUnavailableReason } from '../lib/cuda.js';
import { pct, printTable, timeSync, writeResults } from './harness.js';

interface Shape {
  M: number;
  K: number;
  N: number;
  weights: 'float32' | 'bfloat16';
  transB: boolean;
  bound: 'compute' | 'memory';
}

const SHAPES: Shape[] = [
  { M: 4096, K: 4096, N: 4096, weights: 'float32', transB: false, bound: 'compute' },
  { M: 4096, K: 4096, N: 4096, weights: 'bfloat16', transB: false, bound: 'compute' },
  { M: 4096, K: 4096, N: 4096, weights: 'bfloat16', transB: true, bound: 'compute' },
  { M: 1, K: 4096, N: 4096, weights: 'bfloat16', transB: true, bound: 'memory' },
  { M: 1, K: 4096, N: 14336, weights: 'bfloat16', transB: true, bound: 'memory' },
  { M: 1, K: 4096, N: 4096, weights: 'float32', transB: true, bound: 'memory' },
  { M: 1, K: 4096, N: 4096, weights: 'bfloat16', transB: false, bound: 'memory' },
  { M: 8, K: 4096, N: 4096, weights: 'bfloat16', transB: true, bound: 'memory' },
];

// Dense per-SM rates per clock (flops = 2 × FMA), by compute capability.
const FP32_FMA_PER_SM: Record<string, number> = { '7.0': 64, '7.5': 64, '8.0': 64, '8.6': 128, '8.7': 128, '8.9': 128, '9.0': 128, '10.0': 128 };
const BF16_FMA_PER_SM: Record<string, number> = { '8.0': 1024, '8.6': 512, '8.7': 512, '8.9': 512, '9.0': 2048, '10.0': 4096 };

const ROTATE_BYTES = 512e6;  // several times H100's 50 MB L2

export interface Peak {
  fp32Tflops: number | null;
  bf16Tflops: number | null;
  bandwidthGBs: number;
}

export function gpuPeak(device: ReturnType<typeof info>['cuda']['devices'][number]): Peak {
  const clockHz = device.clockRateKHz * 1e3;
  const rate = (table: Record<string, number>) => {
    const perSm = table[device.computeCapability];
    return perSm === undefined ? null : (2 * perSm * device.multiprocessors * clockHz) / 1e12;
  };
  return { fp32Tflops: rate(FP32_FMA_PER_SM), bf16Tflops: rate(BF16_FMA_PER_SM), bandwidthGBs: device.memoryBandwidth / 1e9 };
}

/** The device a CUDA suite runs on and its limits, or null (after saying why) when there is none. */
export function cudaBenchSetup(args: string[]): { quick: boolean; device: ReturnType<typeof info>['cuda']['devices'][number]; peak: Peak } | null {
  const reason = cudaUnavailableReason();
  if (reason !== null) {
    console.log(`no CUDA device: skipped (${reason})`);
    return null;
  }
  const device = info().cuda.devices[0]!;
  return { quick: args.includes('--quick'), device, peak: gpuPeak(device) };
}

function peerResults(quick: boolean): Record<string, number> | undefined {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'peers', 'torch_gemm.py');
  const shapes = JSON.stringify(SHAPES.map(({ M, K, N, weights, transB }) => ({ M, K, N, weights, transB })));
  const run = spawnSync('python3', [script, '--shapes', shapes, ...(quick ? ['--quick'] : [])], { encoding: 'utf8' });
  if (run.status !== 0) {
    console.log(`torch peer unavailable: ${(run.stderr || run.error?.message || '').trim().split('\n').pop()}`);
    return undefined;
  }
  const parsed = JSON.parse(run.stdout) as { results: { key: string; seconds: number }[] };
  return Object.fromEntries(parsed.results.map((r) => [r.key, r.seconds]));
}

function key(s: Shape): string {
  return `${s.M}x${s.K}x${s.N} ${s.weights}${s.transB ? ' transB' : ''}`;
}

export async function runCudaGemmBench(args: string[]): Promise<void> {
  const setup = cudaBenchSetup(args);
  if (setup === null) return;
  const { quick, device, peak } = setup;
  console.log(`${device.name} (sm_${device.computeCapability.replace('.', '')}, ${device.multiprocessors} SMs, ${(device.clockRateKHz / 1e3).toFixed(0)} MHz)`);
  console.log(`peak: fp32 ${peak.fp32Tflops?.toFixed(1) ?? '?'} TFLOP/s, bf16 tensor ${peak.bf16Tflops?.toFixed(0) ?? '?'} TFLOP/s, memory ${peak.bandwidthGBs.toFixed(0)} GB/s`);
  const peers = args.includes('--peers') ? peerResults(quick) : undefined;

  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const shape of SHAPES) {
    const { M, K, N, weights, transB } = shape;
    const weightBytes = K * N * (weights === 'float32' ? 4 : 2);
    const copies = shape.bound === 'memory' ? Math.max(2, Math.ceil(ROTATE_BYTES / weightBytes)) : 1;
    const a = Tensor.randn([M, K], { seed: 1 }).toDeviceSync('cuda');
    const host = Tensor.randn(transB ? [N, K] : [K, N], { seed: 2, dtype: weights });
    const bs = Array.from({ length: copies }, () => host.toDeviceSync('cuda'));
    const y = Tensor.zeros([M, N], 'float32', { device: 'cuda' });
    let i = 0;
    const timing = timeSync(() => ops.matmulSync({ a, b: bs[i++ % copies]!, transB, out: { y } }), {
      minRuns: quick ? 5 : 20,
      minSeconds: quick ? 0.2 : 1,
      maxRuns: 2000,
      warmup: 3,
    });
    const seconds = timing.median;
    const tflops = (2 * M * N * K) / seconds / 1e12;
    const gbs = weightBytes / seconds / 1e9;
    const peer = peers?.[key(shape)];
    const entry: Record<string, unknown> = { shape: key(shape), bound: shape.bound, seconds, tflops, weightGBs: gbs, timing };
    let ofPeak: string;
    if (shape.bound === 'compute') {
      const limit = weights === 'float32' ? peak.fp32Tflops : peak.bf16Tflops;
      entry.ofPeak = limit === null ? null : tflops / limit;
      ofPeak = limit === null ? '?' : pct(tflops / limit);
    } else {
      entry.ofPeak = gbs / peak.bandwidthGBs;
      ofPeak = pct(gbs / peak.bandwidthGBs);
    }
    if (peer !== undefined) entry.torchSeconds = peer;
    results.push(entry);
    rows.push([key(shape), (seconds * 1e6).toFixed(1), tflops.toFixed(shape.bound === 'compute' ? 1 : 3), gbs.toFixed(0), ofPeak,
      peer === undefined ? '-' : `${(peer / seconds).toFixed(2)}×`]);
  }
  printTable(['shape (M×K×N)', 'µs', 'TFLOP/s', 'weights GB/s', 'of peak', 'vs torch'], rows);
  const path = writeResults('cuda-gemm', { device, peak, results, note: 'of peak: compute-bound vs the tensor/FP32 peak, memory-bound vs memory bandwidth; vs torch > 1 means crossroad is faster' });
  console.log(`\nwrote ${path}`);
}
