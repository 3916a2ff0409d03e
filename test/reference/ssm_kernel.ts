// Float64 references for ssmKernel (a diagonal complex SSM, S4D), and the
// recurrent mode the convolution kernel must reproduce. Complex numbers are
// (re, im) pairs; A, B, C are [c, n, 2], delta [c].

export type Discretization = 'zoh' | 'bilinear';

interface Cx {
  re: number;
  im: number;
}
const cx = (re: number, im: number): Cx => ({ re, im });
const add = (a: Cx, b: Cx): Cx => cx(a.re + b.re, a.im + b.im);
const sub = (a: Cx, b: Cx): Cx => cx(a.re - b.re, a.im - b.im);
const mul = (a: Cx, b: Cx): Cx => cx(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
const div = (a: Cx, b: Cx): Cx => {
  const d = b.re * b.re + b.im * b.im;
  return cx((a.re * b.re + a.im * b.im) / d, (a.im * b.re - a.re * b.im) / d);
};
const exp = (a: Cx): Cx => cx(Math.exp(a.re) * Math.cos(a.im), Math.exp(a.re) * Math.sin(a.im));
const scale = (a: Cx, s: number): Cx => cx(a.re * s, a.im * s);

/** Ā and B̄ of state (ch, i) as the S4 papers define them. */
export function discretizeRef(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  delta: ArrayLike<number>,
  n: number,
  ch: number,
  i: number,
  discretization: Discretization,
): { Abar: Cx; Bbar: Cx } {
  const at = (ch * n + i) * 2;
  const a = cx(A[at]!, A[at + 1]!);
  const b = cx(B[at]!, B[at + 1]!);
  const dt = delta[ch]!;
  const dtA = scale(a, dt);
  if (discretization === 'zoh') {
    const Abar = exp(dtA);
    // (Ā − 1)/A; A = 0 has the limit Δ.
    const factor = a.re === 0 && a.im === 0 ? cx(dt, 0) : div(sub(Abar, cx(1, 0)), a);
    return { Abar, Bbar: mul(factor, b) };
  }
  const denominator = sub(cx(1, 0), scale(dtA, 0.5));
  return { Abar: div(add(cx(1, 0), scale(dtA, 0.5)), denominator), Bbar: mul(div(cx(dt, 0), denominator), b) };
}

/** K[ch, l] = 2·Re Σ_n C·B̄·Ā^l, with Ā^l = exp(l·log Ā) evaluated afresh for every l. */
export function ssmKernelRef(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  C: ArrayLike<number>,
  delta: ArrayLike<number>,
  c: number,
  n: number,
  L: number,
  discretization: Discretization,
): Float64Array {
  const K = new Float64Array(c * L);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < n; i++) {
      const { Abar, Bbar } = discretizeRef(A, B, delta, n, ch, i, discretization);
      const at = (ch * n + i) * 2;
      const w = mul(cx(C[at]!, C[at + 1]!), Bbar);
      const logAbar = cx(Math.log(Math.hypot(Abar.re, Abar.im)), Math.atan2(Abar.im, Abar.re));
      for (let l = 0; l < L; l++) K[ch * L + l]! += 2 * mul(w, exp(scale(logAbar, l))).re;
    }
  }
  return K;
}

/**
 * The recurrent mode, per channel: h_t = Ā ⊙ h_{t−1} + B̄·u_t (h_{−1} = 0),
 * y_t = 2·Re Σ_n C_n·h_t[n] + D·u_t; u, y [b, L, c].
 */
export function ssmRecurrenceRef(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  C: ArrayLike<number>,
  delta: ArrayLike<number>,
  D: ArrayLike<number>,
  u: ArrayLike<number>,
  b: number,
  L: number,
  c: number,
  n: number,
  discretization: Discretization,
): Float64Array {
  const y = new Float64Array(b * L * c);
  for (let ch = 0; ch < c; ch++) {
    const states = Array.from({ length: n }, (_, i) => discretizeRef(A, B, delta, n, ch, i, discretization));
    for (let bi = 0; bi < b; bi++) {
      const h = Array.from({ length: n }, () => cx(0, 0));
      for (let t = 0; t < L; t++) {
        const at = (bi * L + t) * c + ch;
        let out = D[ch]! * u[at]!;
        for (let i = 0; i < n; i++) {
          h[i] = add(mul(states[i]!.Abar, h[i]!), scale(states[i]!.Bbar, u[at]!));
          const ci = (ch * n + i) * 2;
          out += 2 * mul(cx(C[ci]!, C[ci + 1]!), h[i]!).re;
        }
        y[at] = out;
      }
    }
  }
  return y;
}
