// The command line, spawned as a user would: every command with small sizes,
// exit codes, the zoo table's rows (every registered model), the bench's JSON
// and SVG files (well-formed XML), and one-line errors without stack traces.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { models } from '../lib/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');

function run(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 300_000 });
}

/** Tags balance and nest, attributes are quoted: enough to catch a broken SVG without an XML library. */
function wellFormedXml(text: string): boolean {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(text); m; m = tag.exec(text)) {
    if (text.slice(last, m.index).includes('<')) return false;
    last = tag.lastIndex;
    if (m[1]) {
      if (stack.pop() !== m[2]) return false;
    } else if (!m[4]) {
      stack.push(m[2]!);
    }
  }
  return stack.length === 0 && !text.slice(last).includes('<');
}

test('info prints the version, kernels, threads and CUDA', (t) => {
  const r = run('info');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^crossroad \d+\.\d+\.\d+/);
  t.regex(r.stdout, /CPU kernels: (scalar|avx2|avx512)/);
  t.regex(r.stdout, /CUDA: /);
});

test('zoo lists every model with a passing parallel = recurrent check', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crossroad-cli-'));
  try {
    const json = join(dir, 'zoo.json');
    const r = run('zoo', '--d-model', '16', '--layers', '1', '--context', '12', '--json', json);
    t.is(r.status, 0, r.stdout + r.stderr);
    for (const name of models.names()) t.regex(r.stdout, new RegExp(`^\\| ${name} +\\|.*\\|\\s+pass \\|$`, 'm'), name);
    const rows = (JSON.parse(readFileSync(json, 'utf8')) as { rows: { model: string; pass: boolean }[] }).rows;
    t.deepEqual(rows.map((row) => row.model), models.names());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench writes a table, JSON and three well-formed SVG charts', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crossroad-cli-'));
  try {
    const r = run('bench', '--models', 'lstm,llama', '--lengths', '16,64', '--d-model', '32', '--layers', '1', '--threads', '1', '--out', dir);
    t.is(r.status, 0, r.stderr);
    t.regex(r.stdout, /\| lstm +\| +16 \|/);
    t.regex(r.stdout, /\| llama +\| +64 \|/);
    const json = JSON.parse(readFileSync(join(dir, 'bench.json'), 'utf8')) as { points: unknown[] };
    t.is(json.points.length, 4);
    for (const chart of ['prefill.svg', 'decode.svg', 'memory.svg']) {
      const svg = readFileSync(join(dir, chart), 'utf8');
      t.true(svg.startsWith('<svg'), chart);
      t.true(wellFormedXml(svg), `${chart} is well-formed`);
      t.regex(svg, /<polyline/);
    }
    t.false(wellFormedXml('<svg><g></svg>'), 'the XML check can fail');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run streams generated tokens from a checkpoint folder and reports speed', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crossroad-cli-'));
  try {
    models.create('gru', { dModel: 16, nLayer: 1, vocabSize: 20, seed: 1 }).save(dir);
    const r = run('run', dir, '--prompt', '1 2 3', '--max-tokens', '5', '--temperature', '0');
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout.trim().split(/\s+/).length, 5);
    t.regex(r.stderr, /prefill: 3 tokens .* tok\/s\); decode: 5 tokens/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors print one clear line and exit non-zero', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crossroad-cli-'));
  try {
    writeFileSync(join(dir, 'config.json'), '{}');
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['zoo', '--layers', 'two'], /--layers must be a positive integer, got 'two'/],
      [['bench', '--models', 'nope'], /unknown model 'nope'/],
      [['bench', '--lengths', '10,x'], /--lengths must be a positive integer, got 'x'/],
      [['run', '/no/such/folder', '--prompt', 'hi'], /no such folder/],
      [['run', dir, '--prompt', 'hi'], /unsupported checkpoint/],
      [['run', dir], /--prompt is required/],
      [['zoo', '--nope'], /Unknown option '--nope'/],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      t.not(r.status, 0, args.join(' '));
      t.regex(r.stderr, message, args.join(' '));
      t.is(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
      t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
