// Whole language models on the device: mamba, mamba2, llama, griffin and jamba,
// tiny (2 layers, d = 32, vocab 64, so the CUDA emulator can run them), against
// the same model on the CPU (same seed → same weights). Device prefill equals the
// CPU's; device steps equal device prefill; a state serialised on one device
// restores on the other and continues as an uninterrupted run; bf16 weights stay
// bf16 on the device; seeded generation picks the CPU's tokens; misuse gets a
// TypeError. Every device forward here would throw a TypeError if any layer read
// a device tensor's .data on the host, so these tests are also that audit.
// Without a GPU only the refusal tests run (they check the Error says why).

import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configure, KVCache, models, OpBatch, ops, Tensor, type LanguageModel, type ModelConfig } from '../lib/index.js';
import { presetConfig } from '../lib/models/presets.js';
import { cudaTests, relError } from './helpers.js';

const { skipReason, gpu, noGpu } = cudaTests('cuda-models.test');

configure({ poisonOutputs: true });

const VOCAB = 64;
const tiny = { dModel: 32, nLayer: 2, vocabSize: VOCAB, seed: 5 };

/**
 * Two-layer configs that still hold every kind of layer of each preset: griffin's pattern puts local attention
 * third and jamba's attention fifth, so their two layers are picked from the pattern (same mixer configs).
 */
function configFor(name: string): ModelConfig {
  const options: Record<string, unknown> = { ...tiny };
  if (name === 'mamba2') Object.assign(options, { headdim: 16, ngroups: 2 });
  if (name === 'griffin') Object.assign(options, { nLayer: 3, window: 4 });
  if (name === 'jamba') options.nLayer = 5;
  const config = presetConfig(name, options);
  if (name === 'griffin') config.layers = [config.layers[0]!, config.layers[2]!]; // rglru + geglu, local-attention + geglu
  if (name === 'jamba') config.layers = [config.layers[1]!, config.layers[4]!]; // mamba + moe, attention + swiglu
  return config;
}

const PRESETS = ['mamba', 'mamba2', 'llama', 'griffin', 'jamba'];

function tokenRows(batch: number, L: number, seed: number): number[][] {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) >>> 0) % VOCAB);
  return Array.from({ length: batch }, () => Array.from({ length: L }, next));
}

const host = (t: Tensor) => t.toHostSync().data as Float32Array;

function pair(name: string): { cpu: LanguageModel; dev: LanguageModel } {
  const config = configFor(name);
  return { cpu: models.fromConfig(config), dev: models.fromConfig(config, { device: 'cuda' }) };
}

// ---- without a GPU ----------------------------------------------------------------------

noGpu("models.create/fromConfig/load and toDevice with device 'cuda' fail with an Error saying why", async (t) => {
  const e = t.throws(() => models.create('mamba', tiny, { device: 'cuda' }));
  t.is(e.constructor, Error);
  t.true(e.message.startsWith('models.create: CUDA is not available: '), e.message);
  t.true(e.message.includes(skipReason!), e.message);
  t.throws(() => models.fromConfig(configFor('llama'), { device: 'cuda' }), { instanceOf: Error, message: /^models\.fromConfig: CUDA is not available: / });
  const m = models.create('mamba', tiny);
  t.throws(() => m.toDeviceSync('cuda'), { instanceOf: Error, message: /^LanguageModel\.toDeviceSync: CUDA is not available: / });
  await t.throwsAsync(m.toDevice('cuda'), { instanceOf: Error, message: /^LanguageModel\.toDevice: CUDA is not available: / });
  t.is(m.device, 'cpu');
  const dir = mkdtempSync(join(tmpdir(), 'crossroad-cuda-models-'));
  try {
    m.save(dir);
    await t.throwsAsync(models.load(dir, { device: 'cuda' }), { instanceOf: Error, message: /^models\.load: CUDA is not available: / });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.throws(() => new KVCache({ batch: 1, kvHeads: 1, headDim: 4, device: 'cuda' }), { instanceOf: Error, message: /^KVCache: CUDA is not available: / });
});

test('a device other than cpu or cuda is a TypeError; cpu is the default and a no-op', (t) => {
  t.throws(() => models.create('mamba', tiny, { device: 'gpu' as 'cuda' }), { instanceOf: TypeError, message: /device must be 'cpu' or 'cuda', got "gpu"/ });
  t.throws(() => models.create('mamba', tiny, 'cuda' as never), { instanceOf: TypeError, message: /options object/ });
  const m = models.create('mamba', tiny, { device: 'cpu' });
  t.is(m.device, 'cpu');
  t.is(m.toDeviceSync('cpu'), m);
  t.is(m.createState().device, 'cpu');
  t.throws(() => m.toDeviceSync('tpu' as 'cuda'), { instanceOf: TypeError });
});

// ---- on the device ----------------------------------------------------------------------

for (const name of PRESETS) {
  gpu(`${name}: device prefill logits equal the CPU model's (sync and async), and lastOnly returns the last rows`, async (t) => {
    const { cpu, dev } = pair(name);
    t.is(dev.device, 'cuda');
    for (const p of Object.values(dev.parameters)) t.is(p.device, 'cuda');
    const rows = tokenRows(2, 9, 1);
    const expected = cpu.forwardSync(rows).logits;
    const got = dev.forwardSync(rows).logits;
    t.is(got.device, 'cuda');
    t.deepEqual(got.shape, [2, 9, VOCAB]);
    const err = relError(host(got), expected.data as Float32Array);
    t.true(err <= 1e-4, `relative error ${err}`);
    const asyncLogits = (await dev.forward(rows)).logits;
    t.true(relError(host(asyncLogits), expected.data as Float32Array) <= 1e-4);
    const last = dev.forwardSync(rows, { lastOnly: true }).logits;
    t.deepEqual(last.shape, [2, 1, VOCAB]);
    const lastRef = cpu.forwardSync(rows, { lastOnly: true }).logits;
    t.true(relError(host(last), lastRef.data as Float32Array) <= 1e-4);
  });

  gpu(`${name}: device step-by-step (and prefix + steps) equals device prefill; the state stays on the device`, async (t) => {
    const { dev } = pair(name);
    const L = 9;
    const rows = tokenRows(2, L, 2);
    const full = host(dev.forwardSync(rows).logits);
    const state = dev.createState({ batch: 2 });
    t.is(state.device, 'cuda');
    const prefix = host(dev.forwardSync(rows.map((r) => r.slice(0, 4)), { state }).logits);
    const stepped: Float32Array[] = [];
    for (let i = 4; i < L; i++) {
      const { logits } = i % 2 ? await dev.step(rows.map((r) => r[i]!), state) : dev.stepSync(rows.map((r) => r[i]!), state);
      t.is(logits.device, 'cuda');
      stepped.push(host(logits));
    }
    t.deepEqual([...state.positions], [L, L]);
    for (const layer of state.layers) {
      for (const [entry, v] of Object.entries(layer)) if (v instanceof Tensor && entry !== 'lengths') t.is(v.device, 'cuda', entry);
    }
    const got: number[] = [];
    for (let b = 0; b < 2; b++) {
      for (let i = 0; i < L; i++) {
        got.push(...(i < 4 ? prefix.subarray((b * 4 + i) * VOCAB, (b * 4 + i + 1) * VOCAB) : stepped[i - 4]!.subarray(b * VOCAB, (b + 1) * VOCAB)));
      }
    }
    const err = relError(got, full);
    t.true(err <= 1e-4, `relative error ${err}`);
  });

  gpu(`${name}: a state serialised on the device restores on the CPU (and back) and continues as an uninterrupted run`, (t) => {
    const { cpu, dev } = pair(name);
    const rows = tokenRows(1, 10, 3);
    const head = [rows[0]!.slice(0, 6)];
    const tail = [rows[0]!.slice(6)];
    const uninterrupted = cpu.forwardSync(tail, { state: (() => { const s = cpu.createState(); cpu.forwardSync(head, { state: s }); return s; })() }).logits;

    const onDevice = dev.createState();
    dev.forwardSync(head, { state: onDevice });
    const bytes = onDevice.serialize();
    const restored = cpu.restoreState(bytes);
    t.is(restored.device, 'cpu');
    t.deepEqual([...restored.positions], [6]);
    const continued = cpu.forwardSync(tail, { state: restored }).logits;
    t.true(relError(continued.data as Float32Array, uninterrupted.data as Float32Array) <= 1e-4);

    const onCpu = cpu.createState();
    cpu.forwardSync(head, { state: onCpu });
    const back = dev.restoreState(onCpu.serialize());
    t.is(back.device, 'cuda');
    const devContinued = dev.forwardSync(tail, { state: back }).logits;
    t.true(relError(host(devContinued), uninterrupted.data as Float32Array) <= 1e-4);
    // The device state's bytes hold what the CPU state's hold (the same format and entries).
    t.is(bytes.length, onCpu.serialize().length);
  });

  gpu(`${name}: bf16 weights stay bf16 on the device and match the CPU bf16 model`, (t) => {
    const config = configFor(name);
    const cpu = models.fromConfig(config);
    cpu.castWeights('bfloat16');
    const dev = models.fromConfig(config);
    dev.castWeights('bfloat16');
    dev.toDeviceSync('cuda');
    const half = Object.entries(dev.parameters).filter(([, p]) => p.dtype === 'bfloat16');
    t.true(half.length > 0);
    t.deepEqual(half.map(([n]) => n), Object.entries(cpu.parameters).filter(([, p]) => p.dtype === 'bfloat16').map(([n]) => n));
    for (const [, p] of half) t.is(p.device, 'cuda');
    const rows = tokenRows(1, 7, 4);
    const err = relError(host(dev.forwardSync(rows).logits), cpu.forwardSync(rows).logits.data as Float32Array);
    t.true(err <= 1e-4, `relative error ${err}`);
  });

  gpu(`${name}: seeded generation on the device picks the CPU model's tokens (equal and ragged prompts)`, async (t) => {
    const { cpu, dev } = pair(name);
    const collect = async (m: LanguageModel, prompt: number[][], options: object) => {
      const out: (number | null)[][] = [];
      for await (const step of m.generate(prompt, { maxTokens: 4, ...options })) out.push(step.tokens);
      return out;
    };
    const equal = tokenRows(2, 5, 6);
    t.deepEqual(await collect(dev, equal, { temperature: 0 }), await collect(cpu, equal, { temperature: 0 }));
    t.deepEqual(await collect(dev, equal, { temperature: 0.7, seed: 3 }), await collect(cpu, equal, { temperature: 0.7, seed: 3 }));
    const ragged = [tokenRows(1, 6, 7)[0]!, tokenRows(1, 3, 8)[0]!];
    t.deepEqual(await collect(dev, ragged, { temperature: 0 }), await collect(cpu, ragged, { temperature: 0 }));
  });
}

// Presets beyond the five, whose ops all have CUDA kernels: prefill against the CPU, and steps against prefill.
for (const name of ['hawk', 'zamba', 'retnet', 'gla']) {
  gpu(`${name}: device prefill equals the CPU model's, device steps equal device prefill`, (t) => {
    const options = { ...tiny, nLayer: name === 'zamba' ? 6 : 2 };
    const cpu = models.create(name, options);
    const dev = models.create(name, options, { device: 'cuda' });
    const rows = tokenRows(1, 6, 12);
    const full = host(dev.forwardSync(rows).logits);
    t.true(relError(full, cpu.forwardSync(rows).logits.data as Float32Array) <= 1e-4);
    const state = dev.createState();
    const got = [...host(dev.forwardSync([rows[0]!.slice(0, 3)], { state }).logits)];
    for (let i = 3; i < 6; i++) got.push(...host(dev.stepSync([rows[0]![i]!], state).logits));
    t.true(relError(got, full) <= 1e-4);
  });
}

gpu('mixing a CPU state with a device model (or the reverse) is a TypeError naming both devices', (t) => {
  const { cpu, dev } = pair('mamba');
  const message = /the state is on cpu but the model is on cuda/;
  t.throws(() => dev.forwardSync([[1, 2]], { state: cpu.createState() }), { instanceOf: TypeError, message });
  t.throws(() => dev.stepSync([1], cpu.createState()), { instanceOf: TypeError, message });
  t.throws(() => cpu.forwardSync([[1, 2]], { state: dev.createState() }), { instanceOf: TypeError, message: /the state is on cuda but the model is on cpu/ });
  t.throws(() => dev.forwardSync([[1, VOCAB]]), { instanceOf: RangeError, message: /outside \[0, 64\)/ });
});

gpu('device token tensors are accepted and not modified; parameters are not modified by a forward', (t) => {
  const { cpu, dev } = pair('llama');
  const rows = tokenRows(2, 5, 9);
  const ids = new Tensor(Int32Array.from(rows.flat()), [2, 5]).toDeviceSync('cuda');
  const before = Object.fromEntries(Object.entries(dev.parameters).map(([n, p]) => [n, Array.from(p.toHostSync().data)]));
  const got = dev.forwardSync(ids).logits;
  t.deepEqual(Array.from(ids.toHostSync().data), rows.flat());
  t.true(relError(host(got), cpu.forwardSync(rows).logits.data as Float32Array) <= 1e-4);
  for (const [n, p] of Object.entries(dev.parameters)) t.deepEqual(Array.from(p.toHostSync().data), before[n], n);
});

gpu('a device model saves bit-exactly, loads onto the device, and toDevice(cpu) brings it back', async (t) => {
  const { cpu, dev } = pair('jamba');
  const dir = mkdtempSync(join(tmpdir(), 'crossroad-cuda-models-'));
  try {
    dev.save(dir);
    const loaded = await models.load(dir, { device: 'cuda' });
    t.is(loaded.device, 'cuda');
    const reloaded = await models.load(dir);
    for (const [n, p] of Object.entries(cpu.parameters)) t.deepEqual(Array.from(reloaded.parameters[n]!.data), Array.from(p.data), n);
    const rows = tokenRows(1, 6, 10);
    t.true(relError(host(loaded.forwardSync(rows).logits), cpu.forwardSync(rows).logits.data as Float32Array) <= 1e-4);
    // loadParameters into a device model uploads, and derived values (mamba's A) follow the new values.
    const other = models.fromConfig({ ...configFor('jamba'), seed: 11 }, { device: 'cuda' });
    other.loadParameters(cpu.parameters);
    t.true(relError(host(other.forwardSync(rows).logits), cpu.forwardSync(rows).logits.data as Float32Array) <= 1e-4);
    // A checkpoint with bf16 matrix weights loads onto the device with them still bf16 (the CPU load widens them).
    const half = models.fromConfig(configFor('jamba'));
    half.castWeights('bfloat16');
    const halfDir = join(dir, 'bf16');
    half.save(halfDir);
    const halfLoaded = await models.load(halfDir, { device: 'cuda' });
    t.deepEqual(Object.entries(halfLoaded.parameters).map(([n, p]) => [n, p.dtype]), Object.entries(half.parameters).map(([n, p]) => [n, p.dtype]));
    t.true(relError(host(halfLoaded.forwardSync(rows).logits), half.forwardSync(rows).logits.data as Float32Array) <= 1e-4);
    await dev.toDevice('cpu');
    t.is(dev.device, 'cpu');
    t.deepEqual(Array.from(dev.forwardSync(rows).logits.data), Array.from(cpu.forwardSync(rows).logits.data));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A model forward is one batch whose device ops wait for the stream once, at the end (native/cuda/runtime.h
// BatchScope): an op failing in the middle must still throw its own error, after the ops before it ran, and leave
// the device usable.
gpu('an op failing inside a device batch throws its error; the ops before it ran; the device stays usable', async (t) => {
  const x = Tensor.randn([3, 4], { seed: 2 });
  const w = Tensor.randn([5, 4], { seed: 3 });
  const expected = ops.linearSync({ x, weight: w }).y.data as Float32Array;
  const [xd, wd] = [x.toDeviceSync('cuda'), w.toDeviceSync('cuda')];
  const table = Tensor.randn([8, 4], { seed: 1 }).toDeviceSync('cuda');
  const bad = new Tensor(Int32Array.from([1, 9]), [1, 2]).toDeviceSync('cuda');
  for (const mode of ['sync', 'async']) {
    const batch = new OpBatch();
    const before = batch.ops.linear({ x: xd, weight: wd }).y;
    batch.ops.embedding({ ids: bad, table });
    batch.ops.linear({ x: xd, weight: wd });
    if (mode === 'sync') t.throws(() => batch.runSync(), { instanceOf: RangeError, message: /embedding: .*9.*outside/ });
    else await t.throwsAsync(batch.run(), { instanceOf: RangeError, message: /embedding: .*9.*outside/ });
    t.true(relError(host(before), expected) <= 1e-5, mode);
  }
  t.true(relError(host(ops.linearSync({ x: xd, weight: wd }).y), expected) <= 1e-5);
});

gpu('KVCache on the device equals the CPU cache (chunks, then single tokens; full and windowed)', (t) => {
  for (const window of [undefined, 5]) {
    const [b, L, H, Hkv, D] = [2, 11, 4, 2, 8];
    const q = Tensor.randn([b, L, H, D], { seed: 1 });
    const k = Tensor.randn([b, L, Hkv, D], { seed: 2 });
    const v = Tensor.randn([b, L, Hkv, D], { seed: 3 });
    const cpuCache = new KVCache({ batch: b, kvHeads: Hkv, headDim: D, window, ...(window ? {} : { capacity: 4 }) });
    const devCache = new KVCache({ batch: b, kvHeads: Hkv, headDim: D, window, device: 'cuda', ...(window ? {} : { capacity: 4 }) });
    t.is(devCache.device, 'cuda');
    let start = 0;
    for (const n of [6, 1, 1, 3]) {
      const chunk = (x: Tensor) => ops.sliceSync({ x, axis: 1, start, end: start + n }).y;
      const expected = cpuCache.attendSync({ q: chunk(q), k: chunk(k), v: chunk(v) }).o;
      const got = devCache.attendSync({ q: chunk(q).toDeviceSync('cuda'), k: chunk(k).toDeviceSync('cuda'), v: chunk(v).toDeviceSync('cuda') }).o;
      t.is(got.device, 'cuda');
      t.true(relError(host(got), expected.data as Float32Array) <= 1e-5, `window ${window}, chunk at ${start}`);
      start += n;
    }
    t.deepEqual(devCache.lengths, cpuCache.lengths);
    const contents = devCache.contents();
    t.is(contents.k.device, 'cuda');
    t.deepEqual(Array.from(host(contents.k)), Array.from(cpuCache.contents().k.data));
  }
});
