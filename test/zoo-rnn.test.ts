// Checks specific to the RNN mixers beyond the table-driven zoo test: the
// orthogonal / unitary hidden matrices, as actually handed to the rnn /
// complexRnn ops, are orthogonal / unitary to 1e-6 (checked in float64 from
// the float32 values), for every seed, size and after the generator is
// overwritten; seeds give different matrices; elman's nonlinearity matters.

import test from 'ava';
import '../lib/layers/mixers/index.js';
import { createMixer } from '../lib/layers/registry.js';
import type { Mixer } from '../lib/layers/mixer.js';
import { immediate, type OpRunner } from '../lib/ops/index.js';
import { Tensor } from '../lib/tensor.js';
import { maxAbsDiff } from './helpers.js';

const D = 24;

/** Runs forward through a runner that records the arguments of every op call. */
function opArgs(mixer: Mixer, L = 3, withState = false): Record<string, Record<string, unknown>> {
  const seen: Record<string, Record<string, unknown>> = {};
  const runner = Object.fromEntries(
    Object.entries(immediate).map(([name, op]) => [
      name,
      (args: Record<string, unknown>) => {
        seen[name] = args;
        return (op as (a: unknown) => unknown)(args);
      },
    ]),
  ) as unknown as OpRunner;
  const x = Tensor.randn([2, L, D], { seed: 3 });
  mixer.forward(runner, x, withState ? mixer.createState(2) : undefined);
  return seen;
}

/** The hidden matrix the mixer fed to its recurrence op: [re, im] float64 H×H (im zero for real). */
function fedMatrix(mixer: Mixer, withState = false): { H: number; re: Float64Array; im: Float64Array } {
  const args = opArgs(mixer, 3, withState);
  if (args.rnn) {
    const w = args.rnn.weightHH as Tensor;
    const H = w.shape[0]!;
    return { H, re: Float64Array.from(w.toArray()), im: new Float64Array(H * H) };
  }
  const w = args.complexRnn!.weight as Tensor;
  const H = w.shape[0]!;
  const v = w.toArray();
  return { H, re: Float64Array.from({ length: H * H }, (_, i) => v[2 * i]!), im: Float64Array.from({ length: H * H }, (_, i) => v[2 * i + 1]!) };
}

/** max |(W^H W − I)_ij| in float64. */
function unitarityError({ H, re, im }: { H: number; re: Float64Array; im: Float64Array }): number {
  let worst = 0;
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < H; j++) {
      // (W^H W)_ij = Σ_k conj(W_ki) W_kj
      let sr = 0;
      let si = 0;
      for (let k = 0; k < H; k++) {
        const ar = re[k * H + i]!, ai = im[k * H + i]!, br = re[k * H + j]!, bi = im[k * H + j]!;
        sr += ar * br + ai * bi;
        si += ar * bi - ai * br;
      }
      worst = Math.max(worst, Math.hypot(sr - (i === j ? 1 : 0), si));
    }
  }
  return worst;
}

const orthogonalConfigs = [{}, { nonlinearity: 'relu' }, { nonlinearity: 'modrelu' }, { hiddenSize: 41 }, { hiddenSize: 96, nonlinearity: 'modrelu' }];

test('orthogonal-rnn: the W fed to the op is orthogonal to 1e-6 (‖WᵀW − I‖_max), for several seeds and sizes', (t) => {
  for (const config of orthogonalConfigs) {
    for (const seed of [0, 1, 7, 12345]) {
      const mixer = createMixer('orthogonal-rnn', { ...config, dModel: D, seed });
      for (const withState of [false, true]) {
        const W = fedMatrix(mixer, withState);
        t.true(W.im.every((v) => v === 0), 'a real matrix');
        const err = unitarityError(W);
        t.true(err <= 1e-6, `${JSON.stringify(config)} seed ${seed}: ${err}`);
      }
    }
  }
});

test('unitary-rnn: the W fed to complexRnn is unitary to 1e-6 (‖W^H W − I‖_max), for several seeds and sizes', (t) => {
  for (const hiddenSize of [0, 10, 57, 128]) {
    for (const seed of [0, 1, 7, 12345]) {
      const mixer = createMixer('unitary-rnn', { hiddenSize, dModel: D, seed });
      const W = fedMatrix(mixer);
      t.true(W.im.some((v) => Math.abs(v) > 1e-3), 'genuinely complex');
      const err = unitarityError(W);
      t.true(err <= 1e-6, `hiddenSize ${hiddenSize} seed ${seed}: ${err}`);
    }
  }
});

test('orthogonal-rnn and unitary-rnn: different seeds give different W; the same seed the same W', (t) => {
  for (const [name, config] of [['orthogonal-rnn', {}], ['orthogonal-rnn', { nonlinearity: 'modrelu' }], ['unitary-rnn', {}]] as const) {
    const a = fedMatrix(createMixer(name, { ...config, dModel: D, seed: 1 }));
    const b = fedMatrix(createMixer(name, { ...config, dModel: D, seed: 2 }));
    const a2 = fedMatrix(createMixer(name, { ...config, dModel: D, seed: 1 }));
    t.true(maxAbsDiff(a.re, b.re) + maxAbsDiff(a.im, b.im) > 1e-2, `${name}: seeds 1 and 2`);
    t.is(maxAbsDiff(a.re, a2.re) + maxAbsDiff(a.im, a2.im), 0, `${name}: seed 1 twice`);
    // Not the identity: the recurrence actually mixes.
    const { H, re } = a;
    let offIdentity = 0;
    for (let i = 0; i < H * H; i++) offIdentity = Math.max(offIdentity, Math.abs(re[i]! - (i % (H + 1) === 0 ? 1 : 0)));
    t.true(offIdentity > 1e-2, `${name}: W ≠ I`);
  }
});

test('orthogonal-rnn: scoRNN Cayley init gives a block rotation by angles in [0, π/2]', (t) => {
  const mixer = createMixer('orthogonal-rnn', { dModel: D, seed: 3 });
  const { H, re } = fedMatrix(mixer);
  for (let k = 0; k + 1 < H; k += 2) {
    const c = re[k * H + k]!;
    t.true(Math.abs(c - re[(k + 1) * H + k + 1]!) < 1e-6 && c >= -1e-6 && c <= 1 + 1e-6, `block ${k}: cos θ = ${c}`);
    t.true(Math.abs(re[k * H + k + 1]! + re[(k + 1) * H + k]!) < 1e-6, `block ${k} is a rotation`);
  }
});

test('orthogonal-rnn and unitary-rnn: overwriting the generator in place (a checkpoint load) recomputes W, still orthogonal/unitary', (t) => {
  for (const [name, config] of [['orthogonal-rnn', {}], ['orthogonal-rnn', { nonlinearity: 'modrelu' }], ['unitary-rnn', {}]] as const) {
    const mixer = createMixer(name, { ...config, dModel: D, seed: 5 });
    const before = fedMatrix(mixer);
    // Any matrix, not skew: the mixer uses its skew(-Hermitian) part.
    const g = mixer.parameters.weight_hh_skew!;
    (g.data as Float32Array).set(Tensor.randn(g.shape as number[], { seed: 9, std: 0.3 }).data as Float32Array);
    const after = fedMatrix(mixer);
    t.true(maxAbsDiff(before.re, after.re) > 1e-2, `${name}: W changed`);
    t.true(unitarityError(after) <= 1e-6, `${name}: ${unitarityError(after)}`);
  }
});

test('elman: relu and tanh give different outputs from the same parameters', (t) => {
  const x = Tensor.randn([2, 9, D], { seed: 4 });
  const tanh = createMixer('elman', { dModel: D, seed: 7 });
  const relu = createMixer('elman', { dModel: D, seed: 7, nonlinearity: 'relu' });
  for (const name of Object.keys(tanh.parameters)) t.deepEqual(tanh.parameters[name]!.toArray(), relu.parameters[name]!.toArray(), name);
  const a = tanh.forward(immediate, x).y.toArray();
  const b = relu.forward(immediate, x).y.toArray();
  t.true(maxAbsDiff(a, b) > 1e-2);
  t.true(b.every((v) => v >= 0), 'relu outputs are non-negative (no out_proj at hiddenSize = dModel)');
  t.true(a.some((v) => v < 0), 'tanh outputs take both signs');
  t.throws(() => createMixer('elman', { dModel: D, nonlinearity: 'gelu' }), { instanceOf: RangeError, message: /elman: nonlinearity/ });
  t.throws(() => createMixer('orthogonal-rnn', { dModel: D, nonlinearity: 'gelu' }), { instanceOf: RangeError, message: /orthogonal-rnn: nonlinearity/ });
});

test('orthogonal-rnn: modReLU keeps the hidden state real (imaginary parts from complexRnn stay 0)', (t) => {
  const mixer = createMixer('orthogonal-rnn', { dModel: D, seed: 7, nonlinearity: 'modrelu' });
  const args = opArgs(mixer, 5, true);
  const u = (args.complexRnn!.u as Tensor).toArray();
  t.true(u.every((v, i) => i % 2 === 0 || v === 0));
  const out = mixer.forward(immediate, Tensor.randn([2, 5, D], { seed: 8 }), mixer.createState(2));
  t.deepEqual((out.state!.h as Tensor).shape, [2, D]);
});
