// Runtime: info(), thread control, ISA selection by setIsa and CROSSROAD_ISA,
// and the guard that no kernel compiled for one ISA leaks into another.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNumThreads, info, ops, setIsa, setNumThreads, Tensor } from '../lib/index.js';
import { matmulRef } from './reference/matmul.js';
import { relError } from './helpers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = join(root, 'dist', 'lib', 'index.js');

test('info() reports version, ISA, threads and CUDA availability', (t) => {
  const i = info();
  t.regex(i.version, /^\d+\.\d+\.\d+/);
  t.true(['scalar', 'avx2', 'avx512'].includes(i.isa));
  t.true(i.isas.includes('scalar'));
  t.true(i.isas.includes(i.isa));
  t.true(i.threads >= 1);
  t.is(typeof i.cuda.available, 'boolean');
  t.true(Array.isArray(i.cuda.devices));
  if (!i.cuda.available) t.truthy(i.cuda.reason);
});

test.serial('setNumThreads changes the pool and results do not depend on it', (t) => {
  const original = getNumThreads();
  const a = Tensor.randn([257, 300], { seed: 1 });
  const b = Tensor.randn([300, 129], { seed: 2 });
  const ref = matmulRef(a.data, b.data as Float32Array, 257, 300, 129, false);
  const outputs: Float32Array[] = [];
  try {
    for (const n of [1, 2, 3]) {
      setNumThreads(n);
      t.is(getNumThreads(), n);
      const { y } = ops.matmulSync({ a, b });
      t.true(relError(y.data as Float32Array, ref) < 1e-5);
      outputs.push(y.data as Float32Array);
    }
  } finally {
    setNumThreads(original);
  }
  // The summation order of each element does not depend on the thread count.
  t.deepEqual(Array.from(outputs[0]!), Array.from(outputs[2]!));
  t.throws(() => setNumThreads(0), { instanceOf: RangeError, message: /integer in \[1, 1024\], got 0/ });
  t.throws(() => setNumThreads(1.5), { instanceOf: RangeError });
});

test('setIsa rejects unknown or unsupported sets', (t) => {
  t.throws(() => setIsa('neon' as never), { instanceOf: RangeError, message: /'scalar', 'avx2' or 'avx512', got 'neon'/ });
  t.throws(() => setIsa(3 as never), { instanceOf: TypeError });
});

function child(env: Record<string, string>, code: string) {
  return spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

test('CROSSROAD_ISA forces each available kernel set at load time', (t) => {
  for (const isa of info().isas) {
    const r = child({ CROSSROAD_ISA: isa }, `import { info } from ${JSON.stringify(entry)}; console.log(info().isa);`);
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout.trim(), isa);
  }
});

test('an invalid CROSSROAD_ISA is a clear error at load, not a crash', (t) => {
  const r = child({ CROSSROAD_ISA: 'sse9' }, `import(${JSON.stringify(entry)}).then(() => console.log('loaded'), (e) => { console.log(e.constructor.name + ': ' + e.message); });`);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /RangeError: crossroad: CROSSROAD_ISA must be one of 'scalar', 'avx2', 'avx512' or 'auto'; got 'sse9'/);
});

test('CROSSROAD_NUM_THREADS sets the initial pool size', (t) => {
  const r = child({ CROSSROAD_NUM_THREADS: '3' }, `import { info } from ${JSON.stringify(entry)}; console.log(info().threads);`);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), '3');
});

// Kernels are compiled once per ISA with that ISA's flags. If one of them
// defined a function outside its own namespace (an inline helper or a
// template instantiation with external linkage), the linker could keep the
// AVX-512 copy for everyone and crash AVX2-only machines.
test('per-ISA kernel objects define nothing outside their own namespace', (t) => {
  const objRoot = join(root, 'build', 'Release', 'obj.target');
  const nm = spawnSync('nm', ['--version'], { encoding: 'utf8' });
  if (!existsSync(objRoot) || nm.status !== 0) {
    t.log(`skipped: ${existsSync(objRoot) ? 'nm is not available' : 'no node-gyp object files (cmake build)'}`);
    t.pass();
    return;
  }
  let checked = 0;
  for (const isa of ['scalar', 'avx2', 'avx512']) {
    const dir = join(objRoot, `crossroad_kernels_${isa}`, 'native', 'cpu');
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.o'))) {
      const out = spawnSync('nm', ['-C', '--defined-only', join(dir, file)], { encoding: 'utf8' });
      t.is(out.status, 0, out.stderr);
      for (const line of out.stdout.split('\n')) {
        const m = /^[0-9a-f]+ ([A-Za-z]) (.*)$/.exec(line);
        if (!m) continue;
        const [, kind, name] = m;
        const external = kind !== kind!.toLowerCase() || kind === 'u' || kind === 'v' || kind === 'w';
        if (!external) continue; // local symbols cannot be merged across objects
        if (name!.startsWith('DW.ref.')) continue; // exception-handling personality pointer: data, not code
        checked++;
        t.true(name!.startsWith(`cr::cpu::${isa}::`), `${isa}/${file} defines ${kind} ${name}`);
      }
    }
  }
  t.true(checked > 0, 'found kernel symbols to check');
});
