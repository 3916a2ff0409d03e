// CUDA linear-attention benchmark: linearAttention (no decay, g, gk) chunked against the
// recurrent kernel on the same prefill, its decode step (T = 1), and mlstm chunked / recurrent;
// b = 1, H = 8, K = V ∈ {64, 128}, T ∈ {2048, 8192}. GFLOP/s counts the chunked form's work per
// token and head, 4·K·V (inter-chunk output and state update) + C·(K + V) (the causal half of
// the C × C intra-chunk block, C = 64, the GPU's largest chunk), for every row (the recurrence does 4·K·V of it), so rates
// compare across modes. Medians of the op on device tensors, the wait for the stream included.
//   npm run bench -- cuda-linear-attention [--quick]

import { ops, Tensor } from '../lib/index.js';
import { cudaBenchSetup } from './cuda-gemm.js';
import { pct, printTable, timeSync, writeResults } from './harness.js';

export async function runCudaLinearAttentionBench(args: string[]): Promise<void> {
  const setup = cudaBenchSetup(args);
  if (setup === null) return;
  const { quick, device, peak } = setup;
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  const H = 8;
  const C = 64;
  const time = (fn: () => void) => timeSync(fn, { minRuns: 5, minSeconds: quick ? 0.2 : 1 });
  const report = (op: string, label: string, T: number, K: number, V: number, seconds: number, extra: Record<string, unknown>) => {
    const flops = H * T * (4 * K * V + C * (K + V));
    const gflops = flops / seconds / 1e9;
    rows.push([label, (seconds * 1e3).toFixed(3), `${gflops.toFixed(0)} GFLOP/s`, peak.fp32Tflops ? pct(gflops / 1e3 / peak.fp32Tflops) : '?']);
    results.push({ op, T, H, K, V, ms: seconds * 1e3, gflops, ...extra });
  };
  for (const K of [64, 128]) {
    const V = K;
    for (const T of quick ? [2048] : [2048, 8192]) {
      const dev = async (shape: number[], seed: number) => Tensor.randn(shape, { seed }).toDevice('cuda');
      const q = await dev([1, T, H, K], 1);
      const k = await dev([1, T, H, K], 2);
      const v = await dev([1, T, H, V], 3);
      const g = await Tensor.rand([1, T, H], { seed: 4, low: -1, high: 0 }).toDevice('cuda');
      const gk = await Tensor.rand([1, T, H, K], { seed: 5, low: -1, high: 0 }).toDevice('cuda');
      for (const [decay, extra] of [['none', {}], ['g', { g }], ['gk', { gk }]] as const) {
        for (const mode of ['chunked', 'recurrent'] as const) {
          const t = time(() => ops.linearAttentionSync({ q, k, v, ...extra, mode, chunkSize: C, outputFinalState: true }));
          report('linearAttention', `linearAttention ${decay} ${mode} K=V=${K} T=${T}`, T, K, V, t.median, { decay, mode });
        }
      }
      const i = await Tensor.randn([1, T, H], { seed: 6 }).toDevice('cuda');
      const f = await Tensor.rand([1, T, H], { seed: 7, low: 0, high: 6 }).toDevice('cuda');
      for (const mode of ['chunked', 'recurrent'] as const) {
        const t = time(() => ops.mlstmSync({ q, k, v, i, f, mode, chunkSize: C, outputFinalState: true }));
        report('mlstm', `mlstm ${mode} K=V=${K} T=${T}`, T, K, V, t.median, { mode });
      }
    }
    // One decode step from a state: the recurrent kernel, memory-bound on the [H, K, V] state.
    const step = async (shape: number[], seed: number) => Tensor.randn(shape, { seed }).toDevice('cuda');
    const [q1, k1, v1] = [await step([1, 1, H, K], 1), await step([1, 1, H, K], 2), await step([1, 1, H, V], 3)];
    const state = await step([1, H, K, V], 4);
    const g1 = await Tensor.rand([1, 1, H, K], { seed: 5, low: -1, high: 0 }).toDevice('cuda');
    const t = time(() => ops.linearAttentionSync({ q: q1, k: k1, v: v1, gk: g1, initialState: state, outputFinalState: true }));
    const gbs = (2 * 4 * H * K * V) / t.median / 1e9;
    rows.push([`linearAttention gk decode step K=V=${K}`, (t.median * 1e3).toFixed(3), `${gbs.toFixed(0)} GB/s (state)`, pct(gbs / peak.bandwidthGBs)]);
    results.push({ op: 'linearAttention', decay: 'gk', mode: 'decode', T: 1, H, K, V, ms: t.median * 1e3, gbs });
  }
  console.log(`device: ${device.name}; FP32 peak ${peak.fp32Tflops?.toFixed(1) ?? '?'} TFLOP/s, memory ${peak.bandwidthGBs.toFixed(0)} GB/s`);
  const table = printTable(['case', 'ms (median)', 'rate', '% of peak'], rows);
  console.log(`\nwrote ${writeResults('cuda-linear-attention', { device, peak, results, table })}`);
}
