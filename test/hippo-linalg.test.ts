// HiPPO matrices against their closed forms, the NPLR form of LegS against
// the matrix it came from, and the linear algebra used for parameters.

import test from 'ava';
import { hippo, nplrLegs } from '../lib/layers/hippo.js';
import { cayley, complexCayley, complexInverse, complexMatmul, hermitianEig, identity, inverse, matmulSquare } from '../lib/linalg.js';
import { Rng } from '../lib/random.js';
import { Init } from '../lib/layers/init.js';

test('HiPPO-LegS matches its closed form', (t) => {
  const N = 9;
  const { A, B } = hippo('legs', N);
  for (let n = 0; n < N; n++) {
    t.true(Math.abs(B[n]! - Math.sqrt(2 * n + 1)) < 1e-14);
    for (let k = 0; k < N; k++) {
      const expected = n > k ? -Math.sqrt(2 * n + 1) * Math.sqrt(2 * k + 1) : n === k ? -(n + 1) : 0;
      t.true(Math.abs(A[n * N + k]! - expected) < 1e-12, `A[${n}][${k}]`);
    }
  }
  // LegS equals T M T⁻¹ with M[n][k] = −(2k+1) below the diagonal, −(n+1) on it, T = diag(√(2n+1)).
  for (let n = 0; n < N; n++) {
    for (let k = 0; k <= n; k++) {
      const m = n === k ? -(n + 1) : -(2 * k + 1);
      t.true(Math.abs(A[n * N + k]! - (Math.sqrt(2 * n + 1) * m) / Math.sqrt(2 * k + 1)) < 1e-12);
    }
  }
});

test('HiPPO-LegT and FouT have their documented structure', (t) => {
  const N = 6;
  const legt = hippo('legt', N);
  t.true(Math.abs(legt.A[0 * N + 1]! - Math.sqrt(3)) < 1e-12); // above the diagonal: −R0 R1 (−1)^(0−1)
  t.true(Math.abs(legt.A[1 * N + 0]! + Math.sqrt(3)) < 1e-12);
  t.true(Math.abs(legt.A[2 * N + 2]! + 5) < 1e-12);
  const fout = hippo('fout', N);
  // B is 1 on the cosine components; A's rotation blocks have frequency 2πk
  t.deepEqual(Array.from(fout.B), [1, 0, 1, 0, 1, 0]);
  t.true(Math.abs(fout.A[2 * N + 3]! - 2 * Math.PI) < 1e-12);
  t.true(Math.abs(fout.A[3 * N + 2]! + 2 * Math.PI) < 1e-12);
  t.is(fout.A[0]!, -1);
  t.throws(() => hippo('fout', 5), { instanceOf: RangeError, message: /even N/ });
  t.throws(() => hippo('bad' as never, 4), { instanceOf: RangeError, message: /measure must be/ });
});

test('NPLR form of LegS: eigenvalues on Re = −½, and it reproduces the spectrum of A', (t) => {
  const N = 16;
  const nplr = nplrLegs(N);
  t.is(nplr.wRe.length, N / 2);
  for (let j = 0; j < N / 2; j++) {
    t.is(nplr.wRe[j], -0.5);
    t.true(nplr.wIm[j]! > 0);
  }
  // P̃P̃* restricted to the kept half reproduces ‖P‖² split over both conjugate halves.
  const pNorm = nplr.pRe.reduce((s, v, j) => s + v * v + nplr.pIm[j]! ** 2, 0);
  const pFull = Array.from({ length: N }, (_, n) => n + 0.5).reduce((a, b) => a + b, 0);
  t.true(Math.abs(2 * pNorm - pFull) < 1e-9 * pFull, `${2 * pNorm} vs ${pFull}`);
  // The kept eigenvectors are orthonormal, so B̃ carries half of ‖B‖².
  const bNorm = nplr.bRe.reduce((s, v, j) => s + v * v + nplr.bIm[j]! ** 2, 0);
  t.true(Math.abs(2 * bNorm - N * N) < 1e-9 * N * N);
});

test('Hermitian eigen-decomposition reconstructs the matrix', (t) => {
  const n = 12;
  const r = new Rng(5);
  const re = new Float64Array(n * n);
  const im = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const a = r.normal();
      const b = i === j ? 0 : r.normal();
      re[i * n + j] = re[j * n + i] = a;
      im[i * n + j] = b;
      im[j * n + i] = -b;
    }
  }
  const { values, vectors: V } = hermitianEig({ n, re, im });
  for (let k = 1; k < n; k++) t.true(values[k]! >= values[k - 1]!);
  let err = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sr = 0;
      let si = 0;
      for (let k = 0; k < n; k++) {
        const ar = V.re[i * n + k]!, ai = V.im[i * n + k]!, br = V.re[j * n + k]!, bi = -V.im[j * n + k]!;
        sr += values[k]! * (ar * br - ai * bi);
        si += values[k]! * (ar * bi + ai * br);
      }
      err = Math.max(err, Math.abs(sr - re[i * n + j]!), Math.abs(si - im[i * n + j]!));
    }
  }
  t.true(err < 1e-12, `reconstruction error ${err}`);
});

test('Cayley transforms give orthogonal and unitary matrices; inverses invert', (t) => {
  const n = 10;
  const r = new Rng(2);
  const skew = new Float64Array(n * n);
  const skewIm = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    skewIm[i * n + i] = r.normal();
    for (let j = i + 1; j < n; j++) {
      const v = r.normal();
      skew[i * n + j] = v;
      skew[j * n + i] = -v;
      const w = r.normal();
      skewIm[i * n + j] = w;
      skewIm[j * n + i] = w; // skew-Hermitian: imaginary part symmetric
    }
  }
  const W = cayley(skew, n);
  const WtW = matmulSquare(Float64Array.from({ length: n * n }, (_, k) => W[(k % n) * n + Math.floor(k / n)]!), W, n);
  const I = identity(n);
  t.true(WtW.every((v, k) => Math.abs(v - I[k]!) < 1e-12), 'WᵀW = I');
  const U = complexCayley({ n, re: skew, im: skewIm });
  const Uh = { n, re: new Float64Array(n * n), im: new Float64Array(n * n) };
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    Uh.re[i * n + j] = U.re[j * n + i]!;
    Uh.im[i * n + j] = -U.im[j * n + i]!;
  }
  const UhU = complexMatmul(Uh, U);
  t.true(UhU.re.every((v, k) => Math.abs(v - I[k]!) < 1e-12) && UhU.im.every((v) => Math.abs(v) < 1e-12), 'U*U = I');
  const inv = inverse(W, n);
  t.true(matmulSquare(inv, W, n).every((v, k) => Math.abs(v - I[k]!) < 1e-12));
  const cinv = complexInverse(U);
  const prod = complexMatmul(cinv, U);
  t.true(prod.re.every((v, k) => Math.abs(v - I[k]!) < 1e-12));
  t.throws(() => inverse(new Float64Array(4), 2), { instanceOf: RangeError, message: /singular/ });
});

test('Init: seeded streams, Linear bounds, orthogonal matrices', (t) => {
  const a = new Init(3).linear(5, 16);
  const b = new Init(3).linear(5, 16);
  t.deepEqual(Array.from(a.data), Array.from(b.data));
  t.true(Array.from(a.data).every((v) => Math.abs(v) <= 0.25));
  const init = new Init(4);
  const first = init.normal([4], 1);
  const second = init.normal([4], 1);
  t.notDeepEqual(Array.from(first.data), Array.from(second.data), 'each parameter draws from its own stream');
  const n = 8;
  const q = new Init(1).orthogonal(n);
  const qtq = matmulSquare(Float64Array.from({ length: n * n }, (_, k) => q[(k % n) * n + Math.floor(k / n)]!), q, n);
  t.true(qtq.every((v, k) => Math.abs(v - (k % (n + 1) === 0 ? 1 : 0)) < 1e-12));
});
