// Small dense linear algebra in float64 for parameter-side math: building
// orthogonal and unitary matrices (Cayley transform), HiPPO matrices and their
// diagonalisation. Sizes are those of a layer's state (tens to a few hundred),
// so plain O(n³) algorithms are the right tool; none of this runs per token.

/** Complex matrices are stored as separate real and imaginary row-major arrays. */
export interface ComplexMatrix {
  n: number;
  re: Float64Array;
  im: Float64Array;
}

export function identity(n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

/** C = A · B for n×n real matrices. */
export function matmulSquare(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j]!;
    }
  }
  return c;
}

/** Inverse of a real n×n matrix by Gauss-Jordan elimination with partial pivoting. */
export function inverse(a: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const inv = identity(n);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r * n + col]!) > Math.abs(m[pivot * n + col]!)) pivot = r;
    if (Math.abs(m[pivot * n + col]!) < 1e-300) throw new RangeError('inverse: matrix is singular');
    if (pivot !== col) {
      for (let j = 0; j < n; j++) {
        [m[col * n + j], m[pivot * n + j]] = [m[pivot * n + j]!, m[col * n + j]!];
        [inv[col * n + j], inv[pivot * n + j]] = [inv[pivot * n + j]!, inv[col * n + j]!];
      }
    }
    const p = 1 / m[col * n + col]!;
    for (let j = 0; j < n; j++) {
      m[col * n + j] *= p;
      inv[col * n + j] *= p;
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r * n + col]!;
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        m[r * n + j] -= f * m[col * n + j]!;
        inv[r * n + j] -= f * inv[col * n + j]!;
      }
    }
  }
  return inv;
}

/** Inverse of a complex n×n matrix (Gauss-Jordan, partial pivoting). */
export function complexInverse(a: ComplexMatrix): ComplexMatrix {
  const { n } = a;
  const re = Float64Array.from(a.re);
  const im = Float64Array.from(a.im);
  const ire = identity(n);
  const iim = new Float64Array(n * n);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    const mag = (r: number) => Math.hypot(re[r * n + col]!, im[r * n + col]!);
    for (let r = col + 1; r < n; r++) if (mag(r) > mag(pivot)) pivot = r;
    if (mag(pivot) < 1e-300) throw new RangeError('complexInverse: matrix is singular');
    if (pivot !== col) {
      for (const arr of [re, im, ire, iim]) {
        for (let j = 0; j < n; j++) [arr[col * n + j], arr[pivot * n + j]] = [arr[pivot * n + j]!, arr[col * n + j]!];
      }
    }
    // 1 / p
    const pr = re[col * n + col]!;
    const pi = im[col * n + col]!;
    const d = pr * pr + pi * pi;
    const qr = pr / d;
    const qi = -pi / d;
    for (const [R, I] of [[re, im], [ire, iim]] as const) {
      for (let j = 0; j < n; j++) {
        const xr = R[col * n + j]!;
        const xi = I[col * n + j]!;
        R[col * n + j] = xr * qr - xi * qi;
        I[col * n + j] = xr * qi + xi * qr;
      }
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const fr = re[r * n + col]!;
      const fi = im[r * n + col]!;
      if (fr === 0 && fi === 0) continue;
      for (const [R, I] of [[re, im], [ire, iim]] as const) {
        for (let j = 0; j < n; j++) {
          const xr = R[col * n + j]!;
          const xi = I[col * n + j]!;
          R[r * n + j] -= fr * xr - fi * xi;
          I[r * n + j] -= fr * xi + fi * xr;
        }
      }
    }
  }
  return { n, re: ire, im: iim };
}

export function complexMatmul(a: ComplexMatrix, b: ComplexMatrix): ComplexMatrix {
  const { n } = a;
  const re = new Float64Array(n * n);
  const im = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const ar = a.re[i * n + k]!;
      const ai = a.im[i * n + k]!;
      if (ar === 0 && ai === 0) continue;
      for (let j = 0; j < n; j++) {
        re[i * n + j] += ar * b.re[k * n + j]! - ai * b.im[k * n + j]!;
        im[i * n + j] += ar * b.im[k * n + j]! + ai * b.re[k * n + j]!;
      }
    }
  }
  return { n, re, im };
}

/**
 * Cayley transform of a skew-symmetric A: W = (I − A)(I + A)⁻¹ is orthogonal.
 * Every orthogonal matrix without eigenvalue −1 is reached, and gradients in
 * A stay on the manifold, which is why orthogonal RNNs parametrise this way.
 */
export function cayley(skew: Float64Array, n: number): Float64Array {
  const minus = identity(n);
  const plus = identity(n);
  for (let i = 0; i < n * n; i++) {
    minus[i] -= skew[i]!;
    plus[i] += skew[i]!;
  }
  return matmulSquare(minus, inverse(plus, n), n);
}

/** Cayley transform of a skew-Hermitian A (A* = −A): U = (I − A)(I + A)⁻¹ is unitary. */
export function complexCayley(skew: ComplexMatrix): ComplexMatrix {
  const { n } = skew;
  const minus: ComplexMatrix = { n, re: identity(n), im: new Float64Array(n * n) };
  const plus: ComplexMatrix = { n, re: identity(n), im: new Float64Array(n * n) };
  for (let i = 0; i < n * n; i++) {
    minus.re[i] -= skew.re[i]!;
    minus.im[i] = -skew.im[i]!;
    plus.re[i] += skew.re[i]!;
    plus.im[i] = skew.im[i]!;
  }
  return complexMatmul(minus, complexInverse(plus));
}

/**
 * Eigen-decomposition of a Hermitian matrix by cyclic Jacobi rotations:
 * H = V · diag(values) · V*. Robust and accurate to rounding for the sizes
 * used here. Eigenvalues come back in ascending order.
 */
export function hermitianEig(h: ComplexMatrix): { values: Float64Array; vectors: ComplexMatrix } {
  const { n } = h;
  const re = Float64Array.from(h.re);
  const im = Float64Array.from(h.im);
  const vre = identity(n);
  const vim = new Float64Array(n * n);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += re[p * n + q]! ** 2 + im[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const hr = re[p * n + q]!;
        const hi = im[p * n + q]!;
        const mag = Math.hypot(hr, hi);
        if (mag < 1e-300) continue;
        // Remove the phase of h_pq, then a real Jacobi rotation zeroes it.
        const er = hr / mag;
        const ei = hi / mag; // e^{iφ}
        const app = re[p * n + p]!;
        const aqq = re[q * n + q]!;
        const theta = 0.5 * Math.atan2(2 * mag, aqq - app);
        const c = Math.cos(theta);
        const s = Math.sin(theta);
        // Rotation G acting on columns p, q: col_p' = c·col_p − s·e^{−iφ}·col_q, col_q' = s·e^{iφ}·col_p + c·col_q
        const rotateColumns = (R: Float64Array, I: Float64Array) => {
          for (let k = 0; k < n; k++) {
            const pr = R[k * n + p]!;
            const pi = I[k * n + p]!;
            const qr = R[k * n + q]!;
            const qi = I[k * n + q]!;
            // e^{-iφ} q
            const mqr = er * qr + ei * qi;
            const mqi = er * qi - ei * qr;
            // e^{iφ} p
            const npr = er * pr - ei * pi;
            const npi = er * pi + ei * pr;
            R[k * n + p] = c * pr - s * mqr;
            I[k * n + p] = c * pi - s * mqi;
            R[k * n + q] = s * npr + c * qr;
            I[k * n + q] = s * npi + c * qi;
          }
        };
        const rotateRows = (R: Float64Array, I: Float64Array) => {
          // rows transform with G*: row_p' = c·row_p − s·e^{iφ}·row_q, row_q' = s·e^{−iφ}·row_p + c·row_q
          for (let k = 0; k < n; k++) {
            const pr = R[p * n + k]!;
            const pi = I[p * n + k]!;
            const qr = R[q * n + k]!;
            const qi = I[q * n + k]!;
            const mqr = er * qr - ei * qi;
            const mqi = er * qi + ei * qr;
            const npr = er * pr + ei * pi;
            const npi = er * pi - ei * pr;
            R[p * n + k] = c * pr - s * mqr;
            I[p * n + k] = c * pi - s * mqi;
            R[q * n + k] = s * npr + c * qr;
            I[q * n + k] = s * npi + c * qi;
          }
        };
        rotateColumns(re, im);
        rotateRows(re, im);
        rotateColumns(vre, vim);
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => re[a * n + a]! - re[b * n + b]!);
  const values = Float64Array.from(order, (i) => re[i * n + i]!);
  const outRe = new Float64Array(n * n);
  const outIm = new Float64Array(n * n);
  order.forEach((src, dst) => {
    for (let k = 0; k < n; k++) {
      outRe[k * n + dst] = vre[k * n + src]!;
      outIm[k * n + dst] = vim[k * n + src]!;
    }
  });
  return { values, vectors: { n, re: outRe, im: outIm } };
}
