// The examples users copy must run as written: the ```js blocks of README.md
// marked `<!-- example -->` and the tensor/matmul snippets of the API
// contract, imported through the package name like an application would.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs an ES module from inside the package folder, so `import ... from 'crossroad'` resolves to this package. */
function runModule(code: string): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(root, '.example-'));
  try {
    const file = join(dir, 'example.mjs');
    writeFileSync(file, code);
    return spawnSync(process.execPath, [file], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('README examples run as written', (t) => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/<!-- example -->\s*```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
  t.true(blocks.length > 0, 'README.md has examples marked <!-- example -->');
  for (const code of blocks) {
    const r = runModule(code);
    t.is(r.status, 0, `example failed:\n${code}\n--- stderr:\n${r.stderr}`);
  }
});

test('the API contract\'s tensor and matmul/linear snippets run, sync and async', (t) => {
  const r = runModule(`
import { Tensor, ops } from 'crossroad';
import assert from 'node:assert/strict';
const t = new Tensor(new Float32Array(6), [2, 3]);
assert.deepEqual(t.shape, [2, 3]);
assert.equal(t.dtype, 'float32');
assert.ok(t.data instanceof Float32Array);
assert.equal(t.size, 6);
Tensor.zeros([2, 3]); Tensor.randn([2, 3], { seed: 1 });
const a = Tensor.randn([2, 5, 8], { seed: 1 });
const b = Tensor.randn([8, 3], { seed: 2 });
const { y } = await ops.matmul({ a, b });
assert.deepEqual(y.shape, [2, 5, 3]);
assert.deepEqual(ops.matmulSync({ a, b: Tensor.randn([3, 8], { seed: 2 }), transB: true }).y.shape, [2, 5, 3]);
const lin = await ops.linear({ x: a, weight: Tensor.randn([4, 8], { seed: 3, dtype: 'bfloat16' }), bias: Tensor.zeros([4]) });
assert.deepEqual(lin.y.shape, [2, 5, 4]);
assert.deepEqual(ops.linearSync({ x: a, weight: Tensor.randn([4, 8], { seed: 3 }) }).y.shape, [2, 5, 4]);
console.log('ok');
`);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), 'ok');
});
