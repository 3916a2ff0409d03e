// CUDA recurrent-cell benchmark: lstm, gru and rnn (tanh) at in = H = 256, L = 512,
// b ∈ {1, 8}, on both recurrence paths (the persistent cooperative kernel and one
// launch per step, picked with CROSSROAD_CUDA_RNN), with the CPU op beside them.
// The recurrence is latency-bound (one grid-wide barrier or one launch per step), so
// the table gives µs per step as well as the GFLOP/s of the whole op
// (2·G·H·(in + H) per batch row and step). Medians of the op on device tensors,
// the wait for the stream included.
//   npm run bench -- cuda-rnn [--quick]

import { ops, Tensor } from '../lib/index.js';
import { cudaBenchSetup } from './cuda-gemm.js';
import { printTable, timeSync, writeResults } from './harness.js';

type Cell = 'lstm' | 'gru' | 'rnn';
const GATES: Record<Cell, number> = { lstm: 4, gru: 3, rnn: 1 };

function runner(cell: Cell, args: { x: Tensor; weightIH: Tensor; weightHH: Tensor; biasIH: Tensor; biasHH: Tensor }): () => unknown {
  if (cell === 'lstm') return () => ops.lstmSync(args);
  if (cell === 'gru') return () => ops.gruSync(args);
  return () => ops.rnnSync(args);
}

export async function runCudaRnnBench(args: string[]): Promise<void> {
  const setup = cudaBenchSetup(args);
  if (setup === null) return;
  const { quick, device } = setup;
  const [inputSize, H, L] = [256, 256, 512];
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  const saved = process.env.CROSSROAD_CUDA_RNN;
  try {
    for (const cell of ['lstm', 'gru', 'rnn'] as const) {
      const G = GATES[cell];
      for (const B of [1, 8]) {
        const host = {
          x: Tensor.randn([B, L, inputSize], { seed: 1 }),
          weightIH: Tensor.randn([G * H, inputSize], { seed: 2, std: 1 / Math.sqrt(inputSize) }),
          weightHH: Tensor.randn([G * H, H], { seed: 3, std: 1 / Math.sqrt(H) }),
          biasIH: Tensor.randn([G * H], { seed: 4, std: 0.1 }),
          biasHH: Tensor.randn([G * H], { seed: 5, std: 0.1 }),
        };
        const dev = {
          x: await host.x.toDevice('cuda'),
          weightIH: await host.weightIH.toDevice('cuda'),
          weightHH: await host.weightHH.toDevice('cuda'),
          biasIH: await host.biasIH.toDevice('cuda'),
          biasHH: await host.biasHH.toDevice('cuda'),
        };
        const flops = 2 * G * H * (inputSize + H) * B * L;
        const timing = { minRuns: 5, minSeconds: quick ? 0.2 : 1 };
        for (const path of ['persistent', 'step', 'cpu'] as const) {
          if (path !== 'cpu') process.env.CROSSROAD_CUDA_RNN = path;
          const t = timeSync(runner(cell, path === 'cpu' ? host : dev), timing);
          const gflops = flops / t.median / 1e9;
          rows.push([`${cell} b=${B}`, path, (t.median * 1e3).toFixed(3), ((t.median / L) * 1e6).toFixed(2), gflops.toFixed(1)]);
          results.push({ op: cell, batch: B, inputSize, H, L, path, ms: t.median * 1e3, usPerStep: (t.median / L) * 1e6, gflops });
        }
      }
    }
  } finally {
    if (saved === undefined) delete process.env.CROSSROAD_CUDA_RNN;
    else process.env.CROSSROAD_CUDA_RNN = saved;
  }
  console.log(`device: ${device.name}; in = H = ${H}, L = ${L}`);
  const table = printTable(['case', 'path', 'ms (median)', 'µs / step', 'GFLOP/s'], rows);
  console.log(`\nwrote ${writeResults('cuda-rnn', { device, results, table })}`);
}
