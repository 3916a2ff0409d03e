// Random inputs shared by the CPU and CUDA tests of an op (test/<op>.test.ts and test/cuda-<family>.test.ts),
// so both backends are checked on the same distributions.

import { Rng, Tensor } from '../lib/index.js';

/**
 * Decays as LRU / RG-LRU make them: per (batch, channel) a magnitude r uniform
 * in [low, high] and (complex) a phase θ, and at each step |a_t| = r^s with s
 * in [0.5, 1.5] and phase θ·s, so a channel remembers about 1/(1 − r) steps
 * while a_t still varies over time. Real decays get random signs per channel.
 */
function scanDecays(shape: [number, number, number], complex: boolean, seed: number, low: number, high: number): Tensor {
  const [batch, L, c] = shape;
  const rng = new Rng(seed);
  const magnitude = Array.from({ length: batch * c }, () => low + (high - low) * rng.uniform());
  const phase = Array.from({ length: batch * c }, () => 2 * Math.PI * rng.uniform());
  const sign = Array.from({ length: batch * c }, () => (rng.uniform() < 0.5 ? -1 : 1));
  const data = new Float32Array(batch * L * c * (complex ? 2 : 1));
  for (let bi = 0; bi < batch; bi++) {
    for (let t = 0; t < L; t++) {
      for (let ch = 0; ch < c; ch++) {
        const k = bi * c + ch;
        const s = 0.5 + rng.uniform();
        const r = magnitude[k]! ** s;
        const i = (bi * L + t) * c + ch;
        if (complex) {
          data[2 * i] = r * Math.cos(phase[k]! * s);
          data[2 * i + 1] = r * Math.sin(phase[k]! * s);
        } else {
          data[i] = sign[k]! * r;
        }
      }
    }
  }
  return new Tensor(data, complex ? [batch, L, c, 2] : [batch, L, c]);
}

/** a (decays), b and an initial state for diagonalScan, [batch, L, c] (complex: a trailing 2). */
export function diagonalScanInputs(batch: number, L: number, c: number, complex: boolean, seed: number, low = 0.5, high = 0.999) {
  const tail = complex ? [2] : [];
  return {
    a: scanDecays([batch, L, c], complex, seed, low, high),
    b: Tensor.randn([batch, L, c, ...tail], { seed: seed + 1 }),
    state: Tensor.randn([batch, c, ...tail], { seed: seed + 2 }),
  };
}

export interface S4dLayer {
  A: Tensor;
  B: Tensor;
  C: Tensor;
  delta: Tensor;
}

/**
 * Random S4D parameters: A = −a + iπ·(n + jitter) (S4D-Lin, real parts from
 * −0.05 to −1.5), complex Gaussian B and C, Δ log-uniform in [1e-3, 1e-1] as
 * S4D initialises it. `edge` adds the boundary cases: A = 0 exactly (ZOH's
 * limit B̄ = Δ·B) and purely imaginary A (undamped oscillators, |Ā| = 1).
 */
export function s4dLayer(c: number, n: number, seed: number, edge = false): S4dLayer {
  const A = new Float32Array(c * n * 2);
  const re = Tensor.rand([c * n], { seed, low: -1.5, high: -0.05 }).data as Float32Array;
  const jitter = Tensor.rand([c * n], { seed: seed + 1, low: -0.3, high: 0.3 }).data as Float32Array;
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < n; i++) {
      const at = ch * n + i;
      A[2 * at] = re[at]!;
      A[2 * at + 1] = Math.PI * (i + jitter[at]!);
    }
  }
  if (edge) {
    A[0] = 0;
    A[1] = 0;
    if (c * n > 1) A[2] = 0;
  }
  const logDt = Tensor.rand([c], { seed: seed + 2, low: Math.log(1e-3), high: Math.log(1e-1) }).data as Float32Array;
  return {
    A: new Tensor(A, [c, n, 2]),
    B: Tensor.randn([c, n, 2], { seed: seed + 3, std: Math.SQRT1_2 }),
    C: Tensor.randn([c, n, 2], { seed: seed + 4, std: Math.SQRT1_2 }),
    delta: new Tensor(Float32Array.from(logDt, Math.exp), [c]),
  };
}
