// Checks for mamba2, mlstm and slstm beyond the table-driven zoo test and zoo-xlstm.test.ts:
// - mamba2's init is mamba2_simple.py's; with every parameter randomised (groups > 1 too) it still matches
//   its float64 reference in parallel mode and step by step, also over several linearAttention chunks;
// - each mixer issues the same ops for a sequence and for one token (no op per time step), mamba2 exactly one
//   linearAttention with scale 1 and g = Δ·A;
// - mlstm's q/k/v and slstm's gates are NX-AI LinearHeadwiseExpand: a block-diagonal projection equal to the
//   dense Linear with the blocks on the diagonal; sLSTM's input gate is fed by fgate.weight, its forget gate
//   by igate.weight (NX-AI's sLSTMLayer wiring), checked on the gates the slstm op receives.

import test from 'ava';
import '../lib/layers/mixers/index.js';
import { createMixer } from '../lib/layers/registry.js';
import type { Mixer } from '../lib/layers/mixer.js';
import { headwise, toBlocks } from '../lib/layers/mixers/mlstm.js';
import { immediate, ops, type OpRunner } from '../lib/ops/index.js';
import { Tensor } from '../lib/tensor.js';
import { Rng } from '../lib/random.js';
import { relError } from './helpers.js';
import { layerReferences } from './reference/layers/index.js';
import { causalConv, linear, param, silu } from './reference/layers/common.js';

const D = 24;

function randomise(mixer: Mixer, seed: number, scale: number): void {
  const r = new Rng(seed);
  for (const t of Object.values(mixer.parameters)) {
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] = d[i]! + scale * r.normal();
  }
}

function stepped(mixer: Mixer, x: Tensor): Tensor {
  let state = mixer.createState(x.shape[0]!);
  const ys: Tensor[] = [];
  for (let i = 0; i < x.shape[1]!; i++) {
    const out = mixer.forward(immediate, ops.sliceSync({ x, axis: 1, start: i, end: i + 1 }).y, state);
    state = out.state!;
    ys.push(out.y);
  }
  return ops.concatSync({ inputs: ys, axis: 1 }).y;
}

/** Runs one forward through a runner that counts op calls and keeps each call's arguments. */
function record(mixer: Mixer, x: Tensor, withState: boolean): { counts: Record<string, number>; calls: [string, Record<string, unknown>][] } {
  const counts: Record<string, number> = {};
  const calls: [string, Record<string, unknown>][] = [];
  const runner = Object.fromEntries(
    Object.entries(immediate).map(([name, op]) => [
      name,
      (args: Record<string, unknown>) => {
        counts[name] = (counts[name] ?? 0) + 1;
        calls.push([name, args]);
        return (op as (a: unknown) => unknown)(args);
      },
    ]),
  ) as unknown as OpRunner;
  mixer.forward(runner, x, withState ? mixer.createState(x.shape[0]!) : undefined);
  return { counts, calls };
}

test('mamba2 init follows mamba2_simple.py: A = exp(A_log) in [1, 16], softplus(dt_bias) in [dtMin, dtMax], D = 1, norm 1', (t) => {
  const m = createMixer('mamba2', { dModel: 64, seed: 3, headdim: 8 }); // 16 heads
  const p = m.parameters;
  const A = p.A_log!.toArray().map(Math.exp);
  t.is(A.length, 16);
  t.true(A.every((a) => a >= 1 - 1e-5 && a <= 16 + 1e-4), `A ${A}`);
  const dt = p.dt_bias!.toArray().map((v) => Math.log1p(Math.exp(v)));
  t.true(dt.every((v) => v >= 0.001 * (1 - 1e-4) && v <= 0.1 * (1 + 1e-4)), `dt ${dt}`);
  t.true(p.D!.toArray().every((v) => v === 1));
  t.true(p['norm.weight']!.toArray().every((v) => v === 1));
  t.deepEqual(p['in_proj.weight']!.shape, [2 * 128 + 2 * 16 + 16, 64]); // z, x, B, C, dt
  t.deepEqual(p['conv1d.weight']!.shape, [128 + 2 * 16, 1, 4]);
  t.deepEqual(Object.keys(p).sort(), ['A_log', 'D', 'conv1d.bias', 'conv1d.weight', 'dt_bias', 'in_proj.weight', 'norm.weight', 'out_proj.weight']);
  t.throws(() => createMixer('mamba2', { dModel: D, headdim: 12, ngroups: 3 }), { instanceOf: RangeError, message: /mamba2: ngroups/ });
  t.throws(() => createMixer('mamba2', { dModel: D, headdim: 7 }), { instanceOf: RangeError, message: /mamba2: headdim/ });
});

for (const [config, L] of [
  [{}, 29],
  [{ headdim: 8, ngroups: 2, dState: 8, dConv: 3 }, 29],
  [{ headdim: 12, ngroups: 4 }, 29],
  [{ headdim: 6, ngroups: 2 }, 100], // over three default (32-token) linearAttention chunks
] as const) {
  test(`mamba2 ${JSON.stringify(config)}, L = ${L}: randomised parameters still match the reference, parallel and stepped`, (t) => {
    const mixer = createMixer('mamba2', { ...config, dModel: D, seed: 2 });
    randomise(mixer, 4, 0.2);
    const x = Tensor.randn([2, L, D], { seed: 5 });
    const ref = layerReferences.mamba2!.forward(mixer, Float64Array.from(x.toArray()), 2, L);
    const e1 = relError(mixer.forward(immediate, x).y.data as Float32Array, ref);
    t.true(e1 <= 1e-5, `parallel: ${e1}`);
    const e2 = relError(stepped(mixer, x).data as Float32Array, ref);
    t.true(e2 <= 1e-5, `stepped: ${e2}`);
  });
}

for (const name of ['mamba2', 'mlstm', 'slstm']) {
  test(`${name}: the same ops for a sequence and for one token, a modest number`, (t) => {
    const mixer = createMixer(name, { dModel: D, seed: 1 });
    const seq = record(mixer, Tensor.randn([2, 37, D], { seed: 1 }), true).counts;
    const step = record(mixer, Tensor.randn([2, 1, D], { seed: 1 }), true).counts;
    t.deepEqual(seq, step);
    const total = Object.values(seq).reduce((s, n) => s + n, 0);
    t.true(total <= 24, `${total} ops`);
  });
}

test('mamba2: one linearAttention per forward, scale 1, q = C and k = B per head, g = softplus(dt + dt_bias)·(−exp(A_log))', (t) => {
  const mixer = createMixer('mamba2', { dModel: D, seed: 1, headdim: 12, ngroups: 2 }); // 4 heads, 2 per group
  const x = Tensor.randn([1, 5, D], { seed: 2 });
  const { calls } = record(mixer, x, false);
  const la = calls.filter(([n]) => n === 'linearAttention');
  t.is(la.length, 1);
  const args = la[0]![1];
  t.is(args.scale, 1);
  t.deepEqual((args.q as Tensor).shape, [1, 5, 4, 16]);
  // Heads 0, 1 read group 0's B; heads 2, 3 group 1's.
  const k = (args.k as Tensor).toArray();
  for (let r = 0; r < 5; r++) {
    const row = (h: number) => k.slice((r * 4 + h) * 16, (r * 4 + h + 1) * 16);
    t.deepEqual(row(0), row(1));
    t.deepEqual(row(2), row(3));
    t.notDeepEqual(row(0), row(2));
  }
  // g from the dt rows of in_proj.
  const u = Float64Array.from(x.toArray());
  const W = param(mixer, 'in_proj.weight');
  const dI = 48;
  const width = 2 * dI + 2 * 2 * 16 + 4;
  const all = linear(u, 5, D, W, width);
  const bias = param(mixer, 'dt_bias');
  const A = param(mixer, 'A_log').map((v) => -Math.exp(v));
  const g = (args.g as Tensor).toArray();
  for (let r = 0; r < 5; r++) {
    for (let h = 0; h < 4; h++) {
      const want = Math.log1p(Math.exp(all[r * width + width - 4 + h]! + bias[h]!)) * A[h]!;
      t.true(Math.abs(g[r * 4 + h]! - want) <= 1e-5 * Math.abs(want) + 1e-6, `g ${r} ${h}`);
    }
  }
});

test('headwise (NX-AI LinearHeadwiseExpand) equals the dense Linear with its blocks on the diagonal', (t) => {
  const [b, L, nb, o, i] = [2, 3, 4, 5, 6];
  const x = Tensor.randn([b, L, nb * i], { seed: 1 });
  const W = Tensor.randn([nb, o, i], { seed: 2 });
  const y = headwise(immediate, toBlocks(immediate, x, i), W, b, L);
  t.deepEqual(y.shape, [b, L, nb * o]);
  const dense = Tensor.zeros([nb * o, nb * i]);
  const w = W.toArray();
  for (let j = 0; j < nb; j++) for (let a = 0; a < o; a++) for (let e = 0; e < i; e++) dense.data[(j * o + a) * nb * i + j * i + e] = w[(j * o + a) * i + e]!;
  const ref = ops.linearSync({ x, weight: dense }).y;
  t.true(relError(y.data as Float32Array, Float64Array.from(ref.toArray())) <= 1e-6);
});

test('mlstm: q/k/v are headwise [inner/qkvBlocksize, bs, bs] with NX-AI small_init over dModel', (t) => {
  const m = createMixer('mlstm', { dModel: 64, seed: 1 });
  const q = m.parameters['q_proj.weight']!;
  t.deepEqual(q.shape, [32, 4, 4]);
  const v = q.toArray();
  const std = Math.sqrt(v.reduce((s, e) => s + e * e, 0) / v.length);
  const want = Math.sqrt(2 / (5 * 64));
  t.true(Math.abs(std / want - 1) < 0.1, `std ${std}, want ${want}`);
  t.deepEqual(createMixer('mlstm', { dModel: D, qkvBlocksize: 8 }).parameters['v_proj.weight']!.shape, [6, 8, 8]);
  t.throws(() => createMixer('mlstm', { dModel: D, qkvBlocksize: 5 }), { instanceOf: RangeError, message: /mlstm: qkvBlocksize/ });
});

test('slstm: the input gate is fed by fgate.weight and the forget gate by igate.weight (NX-AI wiring), headwise per head', (t) => {
  const mixer = createMixer('slstm', { dModel: D, seed: 1 }); // 4 heads of 6, conv width 4
  randomise(mixer, 3, 0.3);
  t.deepEqual(mixer.parameters['igate.weight']!.shape, [4, 6, 6]);
  const L = 5;
  const x = Tensor.randn([2, L, D], { seed: 4 });
  const { calls } = record(mixer, x, false);
  const gates = (calls.find(([n]) => n === 'slstm')![1].gates as Tensor).toArray(); // [2, L, 4, 4, 6]
  const u = Float64Array.from(x.toArray());
  const cx = causalConv(u, 2, L, D, param(mixer, 'conv1d.conv.weight'), 4, param(mixer, 'conv1d.conv.bias')).map(silu);
  const proj = (inp: Float64Array, name: string) => {
    const W = param(mixer, name);
    const y = new Float64Array(2 * L * D);
    for (let r = 0; r < 2 * L; r++) for (let h = 0; h < 4; h++) for (let a = 0; a < 6; a++) {
      let s = 0;
      for (let e = 0; e < 6; e++) s += W[(h * 6 + a) * 6 + e]! * inp[r * D + h * 6 + e]!;
      y[r * D + h * 6 + a] = s;
    }
    return y;
  };
  const want = [proj(cx, 'fgate.weight'), proj(cx, 'igate.weight'), proj(u, 'zgate.weight'), proj(u, 'ogate.weight')];
  for (let g = 0; g < 4; g++) {
    const got = new Float64Array(2 * L * D);
    for (let r = 0; r < 2 * L; r++) for (let c = 0; c < D; c++) got[r * D + c] = gates[(r * 4 + g) * D + c]!;
    t.true(relError(got, want[g]!) <= 1e-5, `gate slot ${g}`);
  }
});

test("slstm: 'standard' recurrent init is U(±1/√dModel) as NX-AI's (hidden_size), not ±1/√dh", (t) => {
  const m = createMixer('slstm', { dModel: 64, seed: 1, heads: 4, recurrentInit: 'standard' });
  const r = m.parameters['slstm_cell._recurrent_kernel_']!.toArray();
  const max = r.reduce((s, e) => Math.max(s, Math.abs(e)), 0);
  t.true(max <= 1 / 8 && max > 0.9 / 8, `max |R| ${max}`);
});
