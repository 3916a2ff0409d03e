// Benchmark entry point: `npm run bench -- <suite> [options]` (`--quick` for a short run).
// Each suite writes bench/results/<suite>.json; `ssm` runs the four state-space kernels together
// (the suite the SSM kernel issue names) and writes one file with a section per kernel.

import { runGemmBench } from './gemm.js';
import { benchSelectiveScan } from './selective-scan.js';
import { benchDiagonalScan } from './diagonal-scan.js';
import { benchCausalConv1d } from './causal-conv1d.js';
import { benchFftConv } from './fft-conv.js';
import { benchRnn } from './rnn.js';
import { benchZoo } from './zoo.js';
import { benchModels } from './models.js';
import { benchAttention } from './attention.js';
import { benchLinearAttention } from './linear-attention.js';
import { runCudaGemmBench } from './cuda-gemm.js';
import { runCudaSequenceBench } from './cuda-sequence.js';
import { runCudaLinearAttentionBench } from './cuda-linear-attention.js';
import { runCudaFftBench } from './cuda-fft.js';
import { runCudaScansBench } from './cuda-scans.js';
import { runCudaRnnBench } from './cuda-rnn.js';
import { runCudaSmallOpsBench } from './cuda-small-ops.js';
import { writeResults } from './harness.js';

type Bench = (args: string[]) => Promise<Record<string, unknown>>;

function single(name: string, bench: Bench) {
  return async (args: string[]) => console.log(`\nwrote ${writeResults(name, await bench(args))}`);
}

function combined(name: string, parts: Record<string, Bench>) {
  return async (args: string[]) => {
    const payload: Record<string, unknown> = {};
    for (const [part, bench] of Object.entries(parts)) {
      console.log(`\n=== ${part} ===`);
      payload[part] = await bench(args);
    }
    console.log(`\nwrote ${writeResults(name, payload)}`);
  };
}

const ssmParts: Record<string, Bench> = {
  selectiveScan: benchSelectiveScan,
  fftConv: benchFftConv,
  diagonalScan: benchDiagonalScan,
  causalConv1d: benchCausalConv1d,
};

const suites: Record<string, (args: string[]) => Promise<void>> = {
  gemm: runGemmBench,
  'cuda-gemm': runCudaGemmBench,
  'cuda-sequence': runCudaSequenceBench,
  'cuda-linear-attention': runCudaLinearAttentionBench,
  'cuda-fft': runCudaFftBench,
  'cuda-scans': runCudaScansBench,
  'cuda-rnn': runCudaRnnBench,
  'cuda-small-ops': runCudaSmallOpsBench,
  ssm: combined('ssm', ssmParts),
  'selective-scan': single('selective-scan', benchSelectiveScan),
  'fft-conv': single('fft-conv', benchFftConv),
  'diagonal-scan': single('diagonal-scan', benchDiagonalScan),
  'causal-conv1d': single('causal-conv1d', benchCausalConv1d),
  rnn: single('rnn', benchRnn),
  'linear-attention': single('linear-attention', benchLinearAttention),
  attention: single('attention', benchAttention),
  zoo: single('zoo', benchZoo),
  models: single('models', benchModels),
  // The device cases alone (bf16 models on the GPU), in their own results file.
  'cuda-models': single('cuda-models', (args) => benchModels([...args, '--no-cpu'])),
};

const [name, ...rest] = process.argv.slice(2);
const suite = name ? suites[name] : undefined;
if (!suite) {
  console.error(`usage: npm run bench -- <suite> [--quick]\nsuites: ${Object.keys(suites).join(', ')}`);
  process.exit(name ? 1 : 0);
}
await suite(rest);
