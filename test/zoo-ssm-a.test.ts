// Checks of the S4 / S4D / S5 group beyond the table-driven zoo test (LRU's ring
// and the S4D-Lin/Inv formulas are in zoo-ssm.test.ts, the HiPPO-LegS closed form in
// hippo-linalg.test.ts): the HiPPO-N eigenvectors S5 is initialised with, S5's
// block-diagonal Λ, and the two computations of S4 / S4D (convolution kernel vs scan)
// agreeing on sequences much longer than the zoo's 37 steps.

import test from 'ava';
import '../lib/layers/mixers/index.js';
import { createMixer } from '../lib/layers/registry.js';
import { hippo, nplrLegs } from '../lib/layers/hippo.js';
import { immediate } from '../lib/ops/index.js';
import { Tensor } from '../lib/tensor.js';
import { relError } from './helpers.js';
import { lruLambda } from '../lib/layers/mixers/lru.js';

test('nplrLegs eigenvectors: (A + ppᵀ) V = V diag(w) for the closed-form LegS A, orthonormal columns', (t) => {
  const N = 10;
  const M = N / 2;
  const { A } = hippo('legs', N);
  const { wRe, wIm, vRe, vIm } = nplrLegs(N);
  for (let j = 0; j < M; j++) {
    t.true(Math.abs(wRe[j]! + 0.5) < 1e-12 && wIm[j]! > 0);
    for (let i = 0; i < N; i++) {
      let sr = 0;
      let si = 0;
      for (let k = 0; k < N; k++) {
        const s = A[i * N + k]! + Math.sqrt((i + 0.5) * (k + 0.5)); // HiPPO-N = A + ppᵀ, p_n = √(n + ½)
        sr += s * vRe[k * M + j]!;
        si += s * vIm[k * M + j]!;
      }
      const [er, ei] = [wRe[j]! * vRe[i * M + j]! - wIm[j]! * vIm[i * M + j]!, wRe[j]! * vIm[i * M + j]! + wIm[j]! * vRe[i * M + j]!];
      t.true(Math.abs(sr - er) < 1e-9 && Math.abs(si - ei) < 1e-9, `row ${i}, mode ${j}`);
    }
    for (let k = 0; k < M; k++) {
      let dr = 0;
      let di = 0;
      for (let n = 0; n < N; n++) {
        dr += vRe[n * M + j]! * vRe[n * M + k]! + vIm[n * M + j]! * vIm[n * M + k]!;
        di += vRe[n * M + j]! * vIm[n * M + k]! - vIm[n * M + j]! * vRe[n * M + k]!;
      }
      t.true(Math.abs(dr - (j === k ? 1 : 0)) < 1e-10 && Math.abs(di) < 1e-10);
    }
  }
});

test('S5: Λ is `blocks` copies of the HiPPO-N spectrum of a block', (t) => {
  for (const [P, J] of [[12, 1], [12, 3], [12, 4]] as const) {
    const m = createMixer('s5', { dModel: 6, ssmSize: P, blocks: J, seed: 3 });
    const block = nplrLegs((2 * P) / J);
    const re = m.parameters.Lambda_re!.data as Float32Array;
    const im = m.parameters.Lambda_im!.data as Float32Array;
    for (let p = 0; p < P; p++) {
      t.is(re[p], -0.5);
      t.true(Math.abs(im[p]! - block.wIm[p % (P / J)]!) < 1e-4 * Math.max(1, block.wIm[p % (P / J)]!), `P ${P}, J ${J}, mode ${p}`);
    }
    t.deepEqual(m.parameters.B!.shape, [P, 6, 2]);
    t.deepEqual(m.parameters.C!.shape, [6, P, 2]);
  }
  t.throws(() => createMixer('s5', { dModel: 6, ssmSize: 10, blocks: 4 }), { instanceOf: RangeError, message: /s5: blocks/ });
});

test('S4 and S4D: the convolution kernel and the scan agree on a long sequence', (t) => {
  const L = 300;
  const x = Tensor.randn([1, L, 8], { seed: 5 });
  for (const [name, config] of [
    ['s4', {}],
    ['s4', { dtMin: 0.1, dtMax: 1 }],
    ['s4d', {}],
    ['s4d', { init: 'inv', discretization: 'bilinear', dtMin: 0.1, dtMax: 1 }],
  ] as const) {
    const m = createMixer(name, { ...config, dModel: 8, seed: 11 });
    const conv = m.forward(immediate, x).y; // no state: ssmKernel / generating function + fftConv
    const scan = m.forward(immediate, x, m.createState(1)).y; // with a state: blockScan / diagonalScan
    const err = relError(conv.toArray(), scan.toArray());
    t.true(err < 1e-5, `${name} ${JSON.stringify(config)}: rel error ${err}`);
  }
});

test('LRU at the paper\'s defaults (r_min 0, r_max 1, max_phase 6.28): finite parameters, |λ| < 1, ring and phase respected', (t) => {
  const m = createMixer('lru', { dModel: 8, stateDim: 4096, seed: 4 });
  t.like(m.config, { rMin: 0, rMax: 1, maxPhase: 6.28 });
  for (const name of ['nu_log', 'theta_log', 'gamma_log']) {
    t.true((m.parameters[name]!.data as Float32Array).every(Number.isFinite), `${name} finite`);
  }
  const lambda = lruLambda(m.parameters.nu_log!.data as Float32Array, m.parameters.theta_log!.data as Float32Array);
  let hi = 0;
  for (let n = 0; n < 4096; n++) {
    const mod = Math.hypot(lambda[2 * n]!, lambda[2 * n + 1]!);
    t.true(mod < 1, `|λ| = ${mod}`);
    t.true(Math.exp((m.parameters.theta_log!.data as Float32Array)[n]!) <= 6.28 * (1 + 1e-6));
    hi = Math.max(hi, mod);
  }
  t.true(hi > 0.999, `the ring reaches the unit circle: max |λ| = ${hi}`);
  t.throws(() => createMixer('lru', { dModel: 8, rMax: 1.01 }), { instanceOf: RangeError, message: /lru: need/ });
});
