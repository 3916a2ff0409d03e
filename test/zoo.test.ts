// The zoo's table-driven checks: every registered mixer, with its defaults and
// each of its variants, must (1) match its float64 reference, (2) give the same
// output in parallel mode and step by step in recurrent mode, (3) give the same
// output and state when a sequence is split across calls, (4) leave the state it
// was given untouched, (5) run the same when recorded in an OpBatch and run async, and
// (6) reject bad input with clear errors. A mixer with no reference fails.

import test from 'ava';
import '../lib/layers/mixers/index.js';
import { createMixer, mixerSpecs, zooTable } from '../lib/layers/registry.js';
import { readFileSync } from 'node:fs';
import { stateBytes, type Mixer, type MixerState } from '../lib/layers/mixer.js';
import { immediate, OpBatch, ops } from '../lib/ops/index.js';
import { Tensor } from '../lib/tensor.js';
import { relError, sameBytes, snapshot } from './helpers.js';
import { layerReferences } from './reference/layers/index.js';

const D_MODEL = 24;
const BATCH = 2;
// Prime, longer than the chunk sizes the mixers default to in tests, and not a multiple of any.
const L = 37;
const SPLIT = 16;

function timeSlice(x: Tensor, start: number, end: number): Tensor {
  return ops.sliceSync({ x, axis: 1, start, end }).y;
}

function floats(t: Tensor): Float64Array {
  return Float64Array.from(t.toArray());
}

function stateTensors(s: MixerState): [string, Tensor][] {
  return Object.entries(s).filter((e): e is [string, Tensor] => e[1] instanceof Tensor);
}

const cases: { label: string; name: string; config: Record<string, unknown> }[] = [];
for (const spec of mixerSpecs()) {
  cases.push({ label: spec.name, name: spec.name, config: {} });
  for (const v of spec.variants ?? []) cases.push({ label: `${spec.name} ${JSON.stringify(v)}`, name: spec.name, config: v });
}

function make(name: string, config: Record<string, unknown>, seed = 7): Mixer {
  return createMixer(name, { ...config, dModel: D_MODEL, seed });
}

test('the registry holds the zoo, each with a paper, a summary and a float64 reference', (t) => {
  const specs = mixerSpecs();
  t.true(specs.length > 0);
  for (const spec of specs) {
    t.truthy(layerReferences[spec.name], `${spec.name} has no float64 reference in test/reference/layers`);
    t.true(spec.paper.title.length > 0 && spec.paper.url.startsWith('http'), `${spec.name}: paper`);
    t.true(spec.summary.length > 0, `${spec.name}: summary`);
  }
});

test('the README carries the zoo table generated from the registry', (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = /<!-- zoo-table -->\n([\s\S]*?)\n<!-- \/zoo-table -->/.exec(readme);
  t.truthy(block, 'README.md has a <!-- zoo-table --> block');
  t.is(block?.[1], zooTable(), 'regenerate it: npx tsc && node scripts/update-zoo-table.mjs');
});

for (const c of cases) {
  test(`${c.label}: parallel mode matches the float64 reference`, (t) => {
    const mixer = make(c.name, c.config);
    const ref = layerReferences[c.name];
    if (!ref) return t.fail(`${c.name} has no reference`);
    const x = Tensor.randn([BATCH, L, D_MODEL], { seed: 11 });
    const { y, state } = mixer.forward(immediate, x);
    t.deepEqual(y.shape, [BATCH, L, D_MODEL]);
    t.is(state, undefined, 'no state is returned unless one is passed');
    const expected = ref.forward(mixer, floats(x), BATCH, L);
    const err = relError(y.data as Float32Array, expected);
    t.true(err <= (ref.tolerance ?? 1e-5), `relative error ${err}`);
    t.true(Math.sqrt(expected.reduce((s, v) => s + v * v, 0)) > 1e-3, 'the reference output is not trivially zero');
  });

  test(`${c.label}: recurrent mode, one token at a time, equals parallel mode`, (t) => {
    const mixer = make(c.name, c.config);
    const x = Tensor.randn([BATCH, L, D_MODEL], { seed: 12 });
    const full = mixer.forward(immediate, x, mixer.createState(BATCH));
    let state = mixer.createState(BATCH);
    const steps: Tensor[] = [];
    for (let i = 0; i < L; i++) {
      const out = mixer.forward(immediate, timeSlice(x, i, i + 1), state);
      t.deepEqual(out.y.shape, [BATCH, 1, D_MODEL]);
      t.truthy(out.state);
      state = out.state!;
      steps.push(out.y);
    }
    const stepped = ops.concatSync({ inputs: steps, axis: 1 }).y;
    const err = relError(stepped.data as Float32Array, floats(full.y));
    t.true(err <= 1e-5, `output: relative error ${err}`);
    for (const [name, tensor] of stateTensors(full.state!)) {
      const other = state[name];
      t.true(other instanceof Tensor, `state.${name}`);
      const e = relError((other as Tensor).data as Float32Array, floats(tensor));
      t.true(e <= 1e-5, `state.${name}: relative error ${e}`);
    }
  });

  test(`${c.label}: a sequence split across calls equals one call; the state passed in is left alone`, (t) => {
    const mixer = make(c.name, c.config);
    const x = Tensor.randn([BATCH, L, D_MODEL], { seed: 13 });
    // A non-zero starting state: run a prefix first.
    const warm = mixer.forward(immediate, Tensor.randn([BATCH, 5, D_MODEL], { seed: 14 }), mixer.createState(BATCH)).state!;
    const before = stateTensors(warm).map(([n, v]) => [n, snapshot(v)] as const);
    const one = mixer.forward(immediate, x, warm);
    const first = mixer.forward(immediate, timeSlice(x, 0, SPLIT), warm);
    const second = mixer.forward(immediate, timeSlice(x, SPLIT, L), first.state!);
    // The state passed in still means what it meant: continuing from it again gives the same result (a KV cache
    // may append in place past the state's own tokens, so for growing states this is the check; constant states
    // must not change at all).
    const again = mixer.forward(immediate, timeSlice(x, 0, SPLIT), warm);
    t.true(relError(again.y.data as Float32Array, floats(first.y)) === 0, 'continuing twice from one state gives the same output');
    const spec0 = mixerSpecs().find((s) => s.name === c.name)!;
    if (spec0.constantState) for (const [n, snap] of before) t.true(sameBytes(warm[n] as Tensor, snap), `state.${n} was modified`);
    const joined = ops.concatSync({ inputs: [first.y, second.y], axis: 1 }).y;
    const err = relError(joined.data as Float32Array, floats(one.y));
    t.true(err <= 1e-5, `output: relative error ${err}`);
    for (const [name, tensor] of stateTensors(one.state!)) {
      const e = relError((second.state![name] as Tensor).data as Float32Array, floats(tensor));
      t.true(e <= 1e-5, `state.${name}: relative error ${e}`);
    }
    const spec = mixerSpecs().find((s) => s.name === c.name)!;
    const grows = stateBytes(one.state!) > stateBytes(warm);
    t.is(grows, !spec.constantState, `state bytes ${stateBytes(warm)} → ${stateBytes(one.state!)} (constantState: ${spec.constantState})`);
    t.true(stateBytes(mixer.createState(1)) >= 0);
  });

  test(`${c.label}: recorded in an OpBatch and run async equals the immediate run`, async (t) => {
    const mixer = make(c.name, c.config);
    const x = Tensor.randn([BATCH, L, D_MODEL], { seed: 15 });
    const expected = mixer.forward(immediate, x, mixer.createState(BATCH));
    const batch = new OpBatch();
    const recorded = mixer.forward(batch.ops, x, mixer.createState(BATCH));
    await batch.run();
    t.true(relError(recorded.y.data as Float32Array, floats(expected.y)) <= 1e-6);
    for (const [name, tensor] of stateTensors(expected.state!)) {
      t.true(relError((recorded.state![name] as Tensor).data as Float32Array, floats(tensor)) <= 1e-6, `state.${name}`);
    }
  });
}

for (const spec of mixerSpecs()) {
  test(`${spec.name}: bad input gets a clear error`, (t) => {
    const mixer = make(spec.name, {});
    t.throws(() => mixer.forward(immediate, Tensor.randn([BATCH, 5, D_MODEL + 1], { seed: 1 })), {
      instanceOf: RangeError,
      message: new RegExp(`${spec.name}: x must have shape \\[batch, L, ${D_MODEL}\\]`),
    });
    t.throws(() => mixer.forward(immediate, new Float32Array(10) as never), { instanceOf: TypeError, message: /x must be a Tensor/ });
    const x = Tensor.randn([BATCH, 3, D_MODEL], { seed: 2 });
    t.throws(() => mixer.forward(immediate, x, mixer.createState(BATCH + 1)), { instanceOf: RangeError, message: new RegExp(spec.name) });
    t.throws(() => mixer.forward(immediate, x, {} as never), { instanceOf: TypeError, message: new RegExp(`${spec.name}: state`) });
    t.throws(() => createMixer(spec.name, { dModel: D_MODEL, noSuchField: 1 }), { instanceOf: TypeError, message: /unknown config field 'noSuchField'/ });
  });
}
