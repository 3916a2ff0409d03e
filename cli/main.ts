#!/usr/bin/env node
// The crossroad command line: zoo report, scaling benchmarks, generation, info.

import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { info, models } from '../lib/index.js';
import { CliError, intList, positiveInt } from './format.js';
import { runZoo } from './zoo.js';
import { runBench } from './bench.js';
import { runGenerate } from './run.js';

const USAGE = `usage: crossroad <command> [options]

commands:
  zoo                 every zoo model: parallel vs recurrent check, speed, state size
      --d-model n (64) --layers n (2) --context n (64) --json file
  bench               prefill / decode / memory scaling with charts
      --models a,b,… (lstm,llama,retnet,gla,mamba,mamba2,hawk) --lengths 256,1024,4096,16384
      --threads n --peers --out dir (crossroad-bench) --d-model n (256) --layers n (4)
  run <model-dir>     generate from a checkpoint folder
      --prompt "…" --max-tokens n (64) --temperature t (0.8) --top-k n --top-p p --seed s (0)
  info                version, CPU kernels, threads, CUDA devices`;

function number(flag: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new CliError(`${flag} must be a number ≥ ${min}, got '${value}'`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const parse = (options: Record<string, { type: 'string' | 'boolean' }>, positionals = false) => {
    try {
      return parseArgs({ args: rest, options, allowPositionals: positionals, strict: true });
    } catch (e) {
      throw new CliError(`${command}: ${(e as Error).message.split('\n')[0]}`);
    }
  };
  switch (command) {
    case 'info': {
      parse({});
      const i = info();
      console.log(`crossroad ${i.version}`);
      console.log(`CPU kernels: ${i.isa} (available: ${i.isas.join(', ')}), ${i.threads} threads, ${i.physicalCores} physical cores`);
      const cuda = i.cuda;
      console.log(`CUDA: ${cuda.built ? 'built' : 'not built'}${cuda.available ? `, ${cuda.devices.length} device(s): ${cuda.devices.map((d: { name: string }) => d.name).join(', ')}` : cuda.reason ? ` (${cuda.reason})` : ''}`);
      console.log(`models: ${models.names().join(', ')}`);
      return 0;
    }
    case 'zoo': {
      const { values } = parse({ 'd-model': { type: 'string' }, layers: { type: 'string' }, context: { type: 'string' }, json: { type: 'string' } });
      const options = {
        dModel: positiveInt('--d-model', values['d-model'] as string | undefined, 64),
        layers: positiveInt('--layers', values.layers as string | undefined, 2),
        context: positiveInt('--context', values.context as string | undefined, 64),
      };
      const t0 = performance.now();
      const { rows, text } = runZoo(options);
      console.log(text);
      const failed = rows.filter((r) => !r.pass);
      console.log(`\n${rows.length} models, ${rows.length - failed.length} pass the parallel = recurrent check (|Δ| ≤ 1e-4·max(1, max|logit|)) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      if (values.json) writeFileSync(values.json as string, `${JSON.stringify({ options, rows }, null, 2)}\n`);
      if (failed.length) console.log(`FAILED: ${failed.map((r) => r.model).join(', ')}`);
      return failed.length ? 1 : 0;
    }
    case 'bench': {
      const { values } = parse({
        models: { type: 'string' }, lengths: { type: 'string' }, threads: { type: 'string' }, peers: { type: 'boolean' },
        out: { type: 'string' }, 'd-model': { type: 'string' }, layers: { type: 'string' },
      });
      const text = await runBench({
        models: ((values.models as string | undefined) ?? 'lstm,llama,retnet,gla,mamba,mamba2,hawk').split(',').map((s) => s.trim()).filter(Boolean),
        lengths: intList('--lengths', values.lengths as string | undefined, [256, 1024, 4096, 16384]),
        threads: values.threads === undefined ? undefined : positiveInt('--threads', values.threads as string, 1),
        peers: values.peers === true,
        out: (values.out as string | undefined) ?? 'crossroad-bench',
        dModel: positiveInt('--d-model', values['d-model'] as string | undefined, 256),
        layers: positiveInt('--layers', values.layers as string | undefined, 4),
      });
      console.log(text);
      return 0;
    }
    case 'run': {
      const { values, positionals } = parse({
        prompt: { type: 'string' }, 'max-tokens': { type: 'string' }, temperature: { type: 'string' }, seed: { type: 'string' },
        'top-k': { type: 'string' }, 'top-p': { type: 'string' },
      }, true);
      if (positionals.length !== 1) throw new CliError('run: give exactly one model folder: crossroad run <model-dir> --prompt "…"');
      if (values.prompt === undefined) throw new CliError('run: --prompt is required');
      const summary = await runGenerate({
        dir: positionals[0]!,
        prompt: values.prompt as string,
        maxTokens: positiveInt('--max-tokens', values['max-tokens'] as string | undefined, 64),
        temperature: number('--temperature', values.temperature as string | undefined, 0.8),
        seed: number('--seed', values.seed as string | undefined, 0),
        topK: values['top-k'] === undefined ? undefined : positiveInt('--top-k', values['top-k'] as string, 1),
        topP: values['top-p'] === undefined ? undefined : number('--top-p', values['top-p'] as string, 1, 0),
      }, (s) => process.stdout.write(s));
      console.error(summary.trim());
      return 0;
    }
    default:
      throw new CliError(`unknown command '${command}' (commands: zoo, bench, run, info; crossroad --help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // User errors and our own argument checks print one line; anything else is a bug worth its stack.
    if (e instanceof CliError || e instanceof RangeError || e instanceof TypeError) {
      console.error(`crossroad: ${(e as Error).message}`);
      process.exitCode = 2;
    } else {
      console.error(e);
      process.exitCode = 1;
    }
  },
);
