// Init checks of the state-space mixers: LRU's eigenvalues lie in the ring they were
// given; S4D-Lin / S4D-Inv imaginary parts follow their formulas.

import test from 'ava';
import '../lib/layers/mixers/index.js';
import { createMixer } from '../lib/layers/registry.js';
import { lruLambda } from '../lib/layers/mixers/lru.js';

test('LRU eigenvalues lie inside the ring and phase range they were given', (t) => {
  for (const [rMin, rMax, maxPhase, seed] of [[0.4, 0.99, 6.283, 1], [0.9, 0.999, 0.314, 2], [0, 0.5, 1, 3]] as const) {
    const m = createMixer('lru', { dModel: 8, stateDim: 257, rMin, rMax, maxPhase, seed });
    const lambda = lruLambda(m.parameters.nu_log!.data as Float32Array, m.parameters.theta_log!.data as Float32Array);
    let lo = Infinity;
    let hi = -Infinity;
    for (let n = 0; n < 257; n++) {
      const mod = Math.hypot(lambda[2 * n]!, lambda[2 * n + 1]!);
      const phase = Math.exp((m.parameters.theta_log!.data as Float32Array)[n]!);
      t.true(mod >= rMin - 1e-6 && mod <= rMax + 1e-6, `|λ| = ${mod} outside [${rMin}, ${rMax}]`);
      t.true(phase >= 0 && phase <= maxPhase * (1 + 1e-6), `phase ${phase} outside [0, ${maxPhase}]`);
      const g = Math.exp((m.parameters.gamma_log!.data as Float32Array)[n]!);
      t.true(Math.abs(g - Math.sqrt(1 - mod * mod)) < 1e-5, 'γ = √(1 − |λ|²) at init');
      lo = Math.min(lo, mod);
      hi = Math.max(hi, mod);
    }
    // The ring is filled, not just respected: 257 draws reach near both edges (uniform in area, so the inner edge is rarer).
    t.true(lo < rMin + 0.2 * (rMax - rMin) && hi > rMax - 0.1 * (rMax - rMin), `spread [${lo}, ${hi}]`);
  }
});

test('S4D-Lin and S4D-Inv initialise A as their formulas', (t) => {
  const N = 8;
  const lin = createMixer('s4d', { dModel: 3, dState: N, init: 'lin' });
  const inv = createMixer('s4d', { dModel: 3, dState: N, init: 'inv' });
  for (let n = 0; n < N / 2; n++) {
    t.true(Math.abs((lin.parameters['kernel.A_imag']!.data as Float32Array)[n]! - Math.PI * n) < 1e-5);
    t.true(Math.abs((inv.parameters['kernel.A_imag']!.data as Float32Array)[n]! - (N / Math.PI) * (N / (2 * n + 1) - 1)) < 1e-4);
    t.true(Math.abs(Math.exp((lin.parameters['kernel.log_A_real']!.data as Float32Array)[n]!) - 0.5) < 1e-7);
  }
});
