// HiPPO transition matrices (Gu et al., "HiPPO: Recurrent Memory with Optimal
// Polynomial Projections", 2020) and the normal-plus-low-rank form S4 builds
// on (Gu et al., "Efficiently Modeling Long Sequences with Structured State
// Spaces", 2022). A reusable initialisation for every SSM in the zoo.
// Everything is float64; these run once, when a layer is created.

import { hermitianEig } from '../linalg.js';

export type HippoMeasure = 'legs' | 'legt' | 'fout';

/** dx/dt = A x + B u for the measure's projection operator; A is N×N row-major. */
export function hippo(measure: HippoMeasure, N: number): { A: Float64Array; B: Float64Array } {
  if (!Number.isInteger(N) || N < 1) throw new RangeError(`hippo: N must be a positive integer, got ${N}`);
  const A = new Float64Array(N * N);
  const B = new Float64Array(N);
  if (measure === 'legs') {
    // Scaled Legendre: A[n][k] = −√(2n+1)√(2k+1) below the diagonal, −(n+1) on it, 0 above.
    for (let n = 0; n < N; n++) {
      B[n] = Math.sqrt(2 * n + 1);
      for (let k = 0; k <= n; k++) A[n * N + k] = n === k ? -(n + 1) : -Math.sqrt((2 * n + 1) * (2 * k + 1));
    }
  } else if (measure === 'legt') {
    // Translated Legendre: A[n][k] = −√(2n+1)√(2k+1) · (n < k ? (−1)^(n−k) : 1).
    for (let n = 0; n < N; n++) {
      B[n] = Math.sqrt(2 * n + 1);
      for (let k = 0; k < N; k++) A[n * N + k] = -Math.sqrt((2 * n + 1) * (2 * k + 1)) * (n < k ? (-1) ** (n - k) : 1);
    }
  } else if (measure === 'fout') {
    // Translated Fourier: rotations at frequencies 2πk on (cos, sin) pairs, minus the
    // rank correction that accounts for the window's other endpoint.
    if (N % 2 !== 0) throw new RangeError(`hippo: 'fout' needs an even N, got ${N}`);
    for (let i = 0; i + 1 < N; i++) {
      const freq = i % 2 === 0 ? i / 2 : 0;
      A[i * N + i + 1] += 2 * Math.PI * freq;
      A[(i + 1) * N + i] -= 2 * Math.PI * freq;
    }
    for (let m = 0; m < N / 2; m++) {
      B[2 * m] = 1;
      for (let k = 0; k < N / 2; k++) {
        A[2 * m * N + 2 * k] -= 1;
        A[(2 * m + 1) * N + 2 * k + 1] -= 1;
      }
    }
  } else {
    throw new RangeError(`hippo: measure must be 'legs', 'legt' or 'fout', got ${JSON.stringify(measure)}`);
  }
  return { A, B };
}

export interface Nplr {
  /** N/2 eigenvalues of the normal part, one of each conjugate pair: w = −½ + iω, ω > 0 */
  wRe: Float64Array;
  wIm: Float64Array;
  /** low-rank term P̃ = V*P (rank 1) */
  pRe: Float64Array;
  pIm: Float64Array;
  /** input matrix B̃ = V*B */
  bRe: Float64Array;
  bIm: Float64Array;
  /** the kept eigenvectors of the normal part, N × N/2 row-major (column j belongs to w_j); V* maps the state into the modes */
  vRe: Float64Array;
  vIm: Float64Array;
}

/**
 * HiPPO-LegS in normal-plus-low-rank form: A = V (diag(w) − P̃ P̃*) V*, with
 * A + P Pᵀ = −½ I + S for P = √(n + ½) and S skew-symmetric. S is
 * diagonalised through the Hermitian matrix iS, so the eigenvalues come out
 * exactly on the line Re w = −½. Only the eigenvalues with Im w > 0 are kept:
 * the state is real, so their conjugates add nothing (the kernel's 2·Re).
 */
export function nplrLegs(N: number): Nplr {
  if (!Number.isInteger(N) || N < 2 || N % 2 !== 0) throw new RangeError(`nplrLegs: N must be an even integer ≥ 2, got ${N}`);
  const { A, B } = hippo('legs', N);
  const P = Float64Array.from({ length: N }, (_, n) => Math.sqrt(n + 0.5));
  // iS where S = A + PPᵀ + ½I (skew-symmetric): Hermitian with purely imaginary entries.
  const re = new Float64Array(N * N);
  const im = new Float64Array(N * N);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const s = A[i * N + j]! + P[i]! * P[j]! + (i === j ? 0.5 : 0);
      im[i * N + j] = s;
    }
  }
  const { values, vectors: V } = hermitianEig({ n: N, re, im });
  // iS v = λ v  ⇒  S v = −iλ v  ⇒  (A + PPᵀ) v = (−½ − iλ) v. Keep λ < 0 (Im w > 0).
  const keep = Array.from({ length: N }, (_, k) => k).filter((k) => values[k]! < 0);
  if (keep.length !== N / 2) throw new Error(`nplrLegs: expected ${N / 2} eigenvalues with λ < 0, found ${keep.length}`);
  const h = keep.length;
  const out: Nplr = {
    wRe: new Float64Array(h).fill(-0.5),
    wIm: Float64Array.from(keep, (k) => -values[k]!),
    pRe: new Float64Array(h),
    pIm: new Float64Array(h),
    bRe: new Float64Array(h),
    bIm: new Float64Array(h),
    vRe: new Float64Array(N * h),
    vIm: new Float64Array(N * h),
  };
  keep.forEach((k, j) => {
    // V* x for real x: conj(V[:, k]) · x
    let pr = 0, pi = 0, br = 0, bi = 0;
    for (let n = 0; n < N; n++) {
      out.vRe[n * h + j] = V.re[n * N + k]!;
      out.vIm[n * h + j] = V.im[n * N + k]!;
      const vr = V.re[n * N + k]!;
      const vi = -V.im[n * N + k]!;
      pr += vr * P[n]!;
      pi += vi * P[n]!;
      br += vr * B[n]!;
      bi += vi * B[n]!;
    }
    out.pRe[j] = pr;
    out.pIm[j] = pi;
    out.bRe[j] = br;
    out.bIm[j] = bi;
  });
  return out;
}
