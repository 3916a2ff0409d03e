// CUDA fftConv benchmark: the long depthwise convolution of S4/H3/Hyena layers on device
// tensors, b = 1, c = 256 channels, L ∈ {1024, 4096, 16384} with a full-length kernel (Lk = L,
// so N = 2L: the in-block FFT rows up to L = 4096, the four-step path at 16384), by the FFT path
// and the automatic choice, plus ssmKernel (n = 64) of the same length. Reported as the median
// time (the wait for the stream included) and ns per (channel · L log2 L).
//   npm run bench -- cuda-fft [--quick]

import { ops, Tensor } from '../lib/index.js';
import { cudaBenchSetup } from './cuda-gemm.js';
import { printTable, timeSync, writeResults } from './harness.js';

export async function runCudaFftBench(args: string[]): Promise<void> {
  const setup = cudaBenchSetup(args);
  if (setup === null) return;
  const { quick, device } = setup;
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  const [b, c, n] = [1, 256, 64];
  for (const L of quick ? [1024, 4096] : [1024, 4096, 16384]) {
    const u = await Tensor.randn([b, L, c], { seed: 1 }).toDevice('cuda');
    const k = await Tensor.randn([c, L], { seed: 2, std: 1 / Math.sqrt(L) }).toDevice('cuda');
    const D = await Tensor.randn([c], { seed: 3 }).toDevice('cuda');
    let N = 1;
    while (N < 2 * L - 1) N *= 2;
    const lLogL = L * Math.log2(L);
    for (const method of ['fft', 'auto'] as const) {
      const t = timeSync(() => ops.fftConvSync({ u, k, D, method }), { minRuns: 5, minSeconds: quick ? 0.2 : 1 });
      const perPoint = (t.median * 1e9) / (b * c * lLogL);
      rows.push([`fftConv ${method} c=${c} L=${L} Lk=${L}`, (t.median * 1e3).toFixed(3), perPoint.toFixed(4)]);
      results.push({ op: 'fftConv', method, b, c, L, Lk: L, N, ms: t.median * 1e3, nsPerLLogL: perPoint });
    }
    const layer = {
      A: await Tensor.rand([c, n, 2], { seed: 4, low: -1, high: -0.01 }).toDevice('cuda'),
      B: await Tensor.randn([c, n, 2], { seed: 5 }).toDevice('cuda'),
      C: await Tensor.randn([c, n, 2], { seed: 6 }).toDevice('cuda'),
      delta: await Tensor.rand([c], { seed: 7, low: 1e-3, high: 1e-1 }).toDevice('cuda'),
    };
    const t = timeSync(() => ops.ssmKernelSync({ ...layer, length: L }), { minRuns: 5, minSeconds: quick ? 0.2 : 1 });
    rows.push([`ssmKernel c=${c} n=${n} L=${L}`, (t.median * 1e3).toFixed(3), '']);
    results.push({ op: 'ssmKernel', c, n, L, ms: t.median * 1e3 });
  }
  console.log(`device: ${device.name}`);
  const table = printTable(['case', 'ms (median)', 'ns / (c·L log2 L)'], rows);
  console.log(`\nwrote ${writeResults('cuda-fft', { device, results, table })}`);
}
