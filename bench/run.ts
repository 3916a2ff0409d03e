// Benchmark entry point: `npm run bench -- <suite> [options]`.

import { runGemmBench } from './gemm.js';
import { benchDiagonalScan } from './diagonal-scan.js';
import { benchCausalConv1d } from './causal-conv1d.js';
import { writeResults } from './harness.js';

const suites: Record<string, (args: string[]) => Promise<void>> = {
  gemm: runGemmBench,
  'diagonal-scan': async (args) => console.log(`\nwrote ${writeResults('diagonal-scan', await benchDiagonalScan(args))}`),
  'causal-conv1d': async (args) => console.log(`\nwrote ${writeResults('causal-conv1d', await benchCausalConv1d(args))}`),
import { runSelectiveScanBench } from './selective-scan.js';

const suites: Record<string, (args: string[]) => Promise<void>> = {
  gemm: runGemmBench,
  'selective-scan': runSelectiveScanBench,
import { benchFftConv } from './fft-conv.js';

const suites: Record<string, (args: string[]) => Promise<void>> = {
  gemm: runGemmBench,
  'fft-conv': async (args) => {
    await benchFftConv(args);
import { benchRnn } from './rnn.js';

const suites: Record<string, (args: string[]) => Promise<void>> = {
  gemm: runGemmBench,
  rnn: async (args) => {
    await benchRnn(args);
  },
};

const [name, ...rest] = process.argv.slice(2);
const suite = name ? suites[name] : undefined;
if (!suite) {
  console.error(`usage: npm run bench -- <suite> [--quick]\nsuites: ${Object.keys(suites).join(', ')}`);
  process.exit(name ? 1 : 0);
}
await suite(rest);
