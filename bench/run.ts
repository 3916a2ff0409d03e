// Benchmark entry point: `npm run bench -- <suite> [options]`.

import { runGemmBench } from './gemm.js';
import { runAttentionBench } from './attention.js';

const suites: Record<string, (args: string[]) => Promise<void>> = {
  gemm: runGemmBench,
  attention: runAttentionBench,
};

const [name, ...rest] = process.argv.slice(2);
const suite = name ? suites[name] : undefined;
if (!suite) {
  console.error(`usage: npm run bench -- <suite> [--quick]\nsuites: ${Object.keys(suites).join(', ')}`);
  process.exit(name ? 1 : 0);
}
await suite(rest);
