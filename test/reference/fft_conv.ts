// Float64 references for fftConv: the direct sum, and an FFT-based one
// (a textbook recursive radix-2 complex FFT) for sizes where the direct sum
// is too slow to serve as a test oracle.

/** y[b, t, ch] = Σ_{s=0}^{min(t, Lk−1)} k[ch, s]·u[b, t−s, ch] + D[ch]·u[b, t, ch]; u [b, L, c], k [c, Lk]. */
export function fftConvRef(
  u: ArrayLike<number>,
  k: ArrayLike<number>,
  D: ArrayLike<number> | undefined,
  b: number,
  L: number,
  c: number,
  Lk: number,
): Float64Array {
  const y = new Float64Array(b * L * c);
  for (let bi = 0; bi < b; bi++) {
    for (let t = 0; t < L; t++) {
      for (let ch = 0; ch < c; ch++) {
        let sum = D ? D[ch]! * u[(bi * L + t) * c + ch]! : 0;
        for (let s = 0; s <= Math.min(t, Lk - 1); s++) sum += k[ch * Lk + s]! * u[(bi * L + t - s) * c + ch]!;
        y[(bi * L + t) * c + ch] = sum;
      }
    }
  }
  return y;
}

/** In-place-free recursive radix-2 FFT of (re, im), length a power of two; sign −1 forward, +1 inverse (unnormalised). */
export function fftRef(re: Float64Array, im: Float64Array, sign: 1 | -1): [Float64Array, Float64Array] {
  const n = re.length;
  if (n === 1) return [Float64Array.from(re), Float64Array.from(im)];
  const half = n / 2;
  const evenRe = new Float64Array(half), evenIm = new Float64Array(half);
  const oddRe = new Float64Array(half), oddIm = new Float64Array(half);
  for (let i = 0; i < half; i++) {
    evenRe[i] = re[2 * i]!;
    evenIm[i] = im[2 * i]!;
    oddRe[i] = re[2 * i + 1]!;
    oddIm[i] = im[2 * i + 1]!;
  }
  const [eRe, eIm] = fftRef(evenRe, evenIm, sign);
  const [oRe, oIm] = fftRef(oddRe, oddIm, sign);
  const outRe = new Float64Array(n), outIm = new Float64Array(n);
  for (let k = 0; k < half; k++) {
    const angle = (sign * 2 * Math.PI * k) / n;
    const wr = Math.cos(angle), wi = Math.sin(angle);
    const tr = wr * oRe[k]! - wi * oIm[k]!;
    const ti = wr * oIm[k]! + wi * oRe[k]!;
    outRe[k] = eRe[k]! + tr;
    outIm[k] = eIm[k]! + ti;
    outRe[k + half] = eRe[k]! - tr;
    outIm[k + half] = eIm[k]! - ti;
  }
  return [outRe, outIm];
}

/** The same convolution as fftConvRef, through fftRef with zero padding to a power of two ≥ L + Lk − 1. */
export function fftConvRefByFft(
  u: ArrayLike<number>,
  k: ArrayLike<number>,
  D: ArrayLike<number> | undefined,
  b: number,
  L: number,
  c: number,
  Lk: number,
): Float64Array {
  let n = 1;
  while (n < L + Lk - 1) n *= 2;
  const y = new Float64Array(b * L * c);
  for (let ch = 0; ch < c; ch++) {
    const kRe = new Float64Array(n);
    for (let s = 0; s < Lk; s++) kRe[s] = k[ch * Lk + s]!;
    const [KRe, KIm] = fftRef(kRe, new Float64Array(n), -1);
    for (let bi = 0; bi < b; bi++) {
      const xRe = new Float64Array(n);
      for (let t = 0; t < L; t++) xRe[t] = u[(bi * L + t) * c + ch]!;
      const [XRe, XIm] = fftRef(xRe, new Float64Array(n), -1);
      const pRe = new Float64Array(n), pIm = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        pRe[i] = XRe[i]! * KRe[i]! - XIm[i]! * KIm[i]!;
        pIm[i] = XRe[i]! * KIm[i]! + XIm[i]! * KRe[i]!;
      }
      const [yRe] = fftRef(pRe, pIm, 1);
      for (let t = 0; t < L; t++) {
        const at = (bi * L + t) * c + ch;
        y[at] = yRe[t]! / n + (D ? D[ch]! * u[at]! : 0);
      }
    }
  }
  return y;
}
