// Benchmark entry point: `npm run bench -- <suite> [options]`.

import { runGemmBench } from './gemm.js';
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
