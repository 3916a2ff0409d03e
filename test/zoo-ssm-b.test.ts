// Checks for mamba, liquid-s4, linoss and rglru beyond the table-driven zoo test:
// inits as in the reference code; parallel mode issues the same ops whatever L
// (no loop over time); LinOSS through blockScan's chunked (associative) path on a
// long sequence matches the float64 reference, and its blocks are stable;
// Liquid-S4's input-dependent transition really changes the output; RG-LRU's
// position-0 reset applies to the first token after createState() only.

import test from 'ava';
import '../lib/layers/mixers/index.js';
import { createMixer } from '../lib/layers/registry.js';
import type { Mixer } from '../lib/layers/mixer.js';
import { immediate, type OpRunner } from '../lib/ops/index.js';
import { Tensor } from '../lib/tensor.js';
import { relError, values } from './helpers.js';
import { layerReferences } from './reference/layers/index.js';
import { gelu, linear } from './reference/layers/common.js';

const D = 24;

function make(name: string, config: Record<string, unknown> = {}, seed = 7): Mixer {
  return createMixer(name, { ...config, dModel: D, seed });
}

/** Forward through a runner that counts op calls. */
function opCalls(mixer: Mixer, L: number, withState: boolean): string[] {
  const calls: string[] = [];
  const runner = Object.fromEntries(
    Object.entries(immediate).map(([name, op]) => [
      name,
      (args: unknown) => {
        calls.push(name);
        return (op as (a: unknown) => unknown)(args);
      },
    ]),
  ) as unknown as OpRunner;
  mixer.forward(runner, Tensor.randn([2, L, D], { seed: 3 }), withState ? mixer.createState(2) : undefined);
  return calls;
}

for (const name of ['mamba', 'liquid-s4', 'linoss', 'rglru']) {
  test(`${name}: parallel mode issues the same ops for any L (a fused kernel, no loop over time)`, (t) => {
    const mixer = make(name);
    const short = opCalls(mixer, 2, true);
    t.deepEqual(opCalls(mixer, 37, true), short);
    t.deepEqual(opCalls(mixer, 37, false), short);
    t.true(short.length <= 12, `${short.length} ops: ${short.join(', ')}`);
    const fast = ['selectiveScan', 'diagonalScan', 'blockScan'];
    t.true(short.some((op) => fast.includes(op)), short.join(', '));
  });
}

test('mamba: init as mamba_simple.py (dt_rank auto, A_log = log 1..N, softplus(dt bias) in [dt_min, dt_max], D = 1)', (t) => {
  const m = make('mamba');
  const p = m.parameters;
  t.deepEqual(p['in_proj.weight']!.shape, [96, D]);
  t.deepEqual(p['conv1d.weight']!.shape, [48, 1, 4]);
  t.deepEqual(p['x_proj.weight']!.shape, [2 + 32, 48]);
  t.deepEqual(p['dt_proj.weight']!.shape, [48, 2]);
  const aLog = values(p.A_log!);
  for (let c = 0; c < 48; c++) for (let j = 0; j < 16; j++) t.true(Math.abs(aLog[c * 16 + j]! - Math.log(j + 1)) < 1e-6);
  for (const b of values(p['dt_proj.bias']!)) {
    const dt = Math.log1p(Math.exp(b));
    t.true(dt >= 0.001 * (1 - 1e-5) && dt <= 0.1 * (1 + 1e-5), `dt ${dt}`);
  }
  t.true(values(p.D!).every((v) => v === 1));
  const s = m.createState(3);
  t.deepEqual((s.conv as Tensor).shape, [3, 48, 3]);
  t.deepEqual((s.ssm as Tensor).shape, [3, 48, 16]);
});

test('rglru: init (a^(1/c) at r = 1 in [0.9, 0.999]) and the reset only at the first token after createState()', (t) => {
  const m = make('rglru');
  for (const lam of values(m.parameters['rg_lru.recurrent_param']!)) {
    const a = Math.exp(-Math.log1p(Math.exp(lam))); // σ(−Λ)
    t.true(a >= 0.9 - 1e-6 && a <= 0.999 + 1e-6, `a ${a}`);
  }
  const x = Tensor.randn([2, 5, D], { seed: 4 });
  const fresh = m.forward(immediate, x, m.createState(2));
  t.deepEqual(values(fresh.y), values(m.forward(immediate, x).y), 'no state is a fresh sequence');
  t.is(fresh.state!.started, 1);
  const zeroStarted = { ...m.createState(2), started: 1 };
  const cont = m.forward(immediate, x, zeroStarted);
  t.true(relError(values(cont.y), values(fresh.y)) > 1e-3, 'a started state (zero tensors) is not reset');
  t.throws(() => m.forward(immediate, x, { ...m.createState(2), started: 2 }), { instanceOf: TypeError, message: /rglru: state\.started/ });
});

test('linoss: a long sequence through blockScan\'s chunked associative path matches the float64 reference', (t) => {
  for (const discretization of ['im', 'imex']) {
    const m = make('linoss', { ssmSize: 1, discretization }); // 2 channels: fewer sequences than threads, so time is chunked
    const L = 4096;
    const x = Tensor.randn([1, L, D], { seed: 5 });
    const y = m.forward(immediate, x).y;
    const ref = layerReferences.linoss!.forward(m, values(x), 1, L);
    const err = relError(y.data as Float32Array, ref);
    t.true(err < 1e-4, `${discretization}: relative error ${err}`);
  }
});

test('linoss: IM blocks are contractive (spectral radius < 1 for A > 0), IMEX blocks have determinant 1', (t) => {
  for (const discretization of ['im', 'imex']) {
    const m = make('linoss', { discretization, ssmSize: 16 });
    const calls: Record<string, unknown>[] = [];
    const runner = { ...immediate, blockScan: (args: never) => (calls.push(args), immediate.blockScan(args)) } as unknown as OpRunner;
    m.forward(runner, Tensor.randn([1, 3, D], { seed: 1 }));
    const a = values(calls[0]!.a as Tensor);
    for (let c = 0; c < a.length / 4; c++) {
      const [m11, m12, m21, m22] = [a[4 * c]!, a[4 * c + 1]!, a[4 * c + 2]!, a[4 * c + 3]!];
      const det = m11 * m22 - m12 * m21;
      if (discretization === 'imex') t.true(Math.abs(det - 1) < 1e-6, `det ${det}`);
      else t.true(det < 1 && det > 0, `det ${det}`); // complex eigenvalue pair: |λ|² = det
    }
  }
});

test('liquid-s4: the input-dependent transition changes the output (vs the same S4D without the liquid term)', (t) => {
  const m = make('liquid-s4', { dtMin: 0.05, dtMax: 0.5 });
  const [b, L] = [2, 37];
  const x = Tensor.randn([b, L, D], { seed: 6 });
  const y = values(m.forward(immediate, x).y);
  const liquid = layerReferences['liquid-s4']!.forward(m, values(x), b, L);
  t.true(relError(y, liquid) < 1e-5);
  // Plain S4D (bilinear): x_k = Ā x_{k−1} + B̄ u_k.
  const p = (n: string) => values(m.parameters[n]!);
  const [logDt, C, invA, aIm, Dp] = ['kernel.kernel.log_dt', 'kernel.kernel.C', 'kernel.kernel.inv_A_real', 'kernel.kernel.A_imag', 'D'].map(p) as Float64Array[];
  const N2 = 8;
  const act = new Float64Array(b * L * D);
  for (let r = 0; r < b; r++) {
    for (let h = 0; h < D; h++) {
      const dt = Math.exp(logDt![h]!);
      const re = new Float64Array(N2);
      const im = new Float64Array(N2);
      for (let k = 0; k < L; k++) {
        const u = values(x)[(r * L + k) * D + h]!;
        let yk = Dp![h]! * u;
        for (let n = 0; n < N2; n++) {
          const ar = (-Math.exp(invA![h * N2 + n]!) * dt) / 2;
          const ai = (aIm![h * N2 + n]! * dt) / 2;
          const den = (1 - ar) ** 2 + ai ** 2; // Ā = (1 + ΔA/2)/(1 − ΔA/2), B̄ = Δ/(1 − ΔA/2) (B = 1)
          const Ar = ((1 + ar) * (1 - ar) - ai * ai) / den;
          const Ai = (ai * (1 - ar) + (1 + ar) * ai) / den;
          const Br = (dt * (1 - ar)) / den;
          const Bi = (dt * ai) / den;
          const nr = Ar * re[n]! - Ai * im[n]! + Br * u;
          const ni = Ar * im[n]! + Ai * re[n]! + Bi * u;
          re[n] = nr;
          im[n] = ni;
          yk += 2 * (C![2 * (h * N2 + n)]! * nr - C![2 * (h * N2 + n) + 1]! * ni);
        }
        act[(r * L + k) * D + h] = gelu(yk);
      }
    }
  }
  const plain = linear(act, b * L, D, p('output_linear.weight'), D, p('output_linear.bias'));
  const diff = relError(Float32Array.from(plain), liquid);
  t.true(diff > 1e-3, `liquid vs plain S4D: relative difference ${diff}`);
});

for (const name of ['mamba', 'liquid-s4', 'linoss', 'rglru']) {
  test(`${name}: its linearWeights may be bfloat16 (as castWeights makes them)`, (t) => {
    const mixer = make(name);
    const x = Tensor.randn([2, 9, D], { seed: 8 });
    const y32 = values(mixer.forward(immediate, x).y);
    for (const w of mixer.linearWeights ?? []) mixer.parameters[w] = mixer.parameters[w]!.astype('bfloat16');
    const y16 = mixer.forward(immediate, x, mixer.createState(2)).y;
    const err = relError(y16.data as Float32Array, y32);
    t.true(err < 2e-2, `relative error ${err}`);
  });
}
