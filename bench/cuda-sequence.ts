// CUDA sequence-kernel benchmark: attention (causal prefill, b = 1, H = 8, D ∈ {64, 128},
// L ∈ {1024, 4096, 16384}) as TFLOP/s against the FP32 peak, and the selective scan
// (b = 1, d = 1536, n = 16, L ∈ {2048, 8192}) as GB/s of the bytes it must move against
// the memory bandwidth, both from the device's properties. Times are medians of the op
// on device tensors with the wait for the stream included.
//   npm run bench -- cuda-sequence [--quick] [--peers]
// --peers runs bench/peers/torch_sequence.py (torch SDPA and a PyTorch selective scan of the
// same math) on the same shapes when python3 with a CUDA torch is installed.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ops, Tensor } from '../lib/index.js';
import { cudaBenchSetup } from './cuda-gemm.js';
import { pct, printTable, timeSync, writeResults } from './harness.js';

export async function runCudaSequenceBench(args: string[]): Promise<void> {
  const setup = cudaBenchSetup(args);
  if (setup === null) return;
  const { quick, device, peak } = setup;
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  const H = 8;
  for (const D of [64, 128]) {
    for (const L of quick ? [1024, 4096] : [1024, 4096, 16384]) {
      const q = await Tensor.randn([1, L, H, D], { seed: 1 }).toDevice('cuda');
      const k = await Tensor.randn([1, L, H, D], { seed: 2 }).toDevice('cuda');
      const v = await Tensor.randn([1, L, H, D], { seed: 3 }).toDevice('cuda');
      const t = timeSync(() => ops.attentionSync({ q, k, v, causal: true }), { minRuns: 5, minSeconds: quick ? 0.2 : 1 });
      const flops = 4 * H * D * (L * (L + 1)) / 2;
      const tflops = flops / t.median / 1e12;
      rows.push([`attention causal D=${D} L=${L}`, (t.median * 1e3).toFixed(3), `${tflops.toFixed(2)} TFLOP/s`, peak.fp32Tflops ? pct(tflops / peak.fp32Tflops) : '?']);
      results.push({ op: 'attention', D, L, H, ms: t.median * 1e3, tflops });
    }
  }
  const [d, n] = [1536, 16];
  for (const L of quick ? [2048] : [2048, 8192]) {
    const dev = async (shape: number[], seed: number, std = 1) => Tensor.randn(shape, { seed, std }).toDevice('cuda');
    const args2 = {
      u: await dev([1, L, d], 1), delta: await dev([1, L, d], 2, 0.5), z: await dev([1, L, d], 3),
      A: await Tensor.rand([d, n], { seed: 4, low: -2, high: -0.1 }).toDevice('cuda'),
      B: await dev([1, L, 1, n], 5), C: await dev([1, L, 1, n], 6), D: await dev([d], 7),
    };
    const t = timeSync(() => ops.selectiveScanSync({ ...args2, deltaSoftplus: true }), { minRuns: 5, minSeconds: quick ? 0.2 : 1 });
    const bytes = 4 * (4 * L * d + 2 * L * n + d * n + d);
    const gbs = bytes / t.median / 1e9;
    rows.push([`selectiveScan d=${d} n=${n} L=${L}`, (t.median * 1e3).toFixed(3), `${gbs.toFixed(0)} GB/s`, pct(gbs / peak.bandwidthGBs)]);
    results.push({ op: 'selectiveScan', d, n, L, ms: t.median * 1e3, gbs });
  }
  console.log(`device: ${device.name}; FP32 peak ${peak.fp32Tflops?.toFixed(1) ?? '?'} TFLOP/s, memory ${peak.bandwidthGBs.toFixed(0)} GB/s`);
  const table = printTable(['case', 'ms (median)', 'rate', '% of peak'], rows);
  let peers: unknown;
  if (args.includes('--peers')) {
    const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'peers', 'torch_sequence.py');
    const r = spawnSync('python3', [script, quick ? '--quick' : ''], { encoding: 'utf8' });
    peers = r.status === 0 ? JSON.parse(r.stdout) : { error: r.stderr.trim().split('\n').pop() };
    console.log('torch:', JSON.stringify(peers));
  }
  console.log(`\nwrote ${writeResults('cuda-sequence', { device, peak, results, peers, table })}`);
}
