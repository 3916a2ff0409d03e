// Float64 orthogonal RNN, step by step from zero state:
// S = (X − Xᵀ)/2, W = (I + S)⁻¹(I − S) (found by solving (I + S) W = I − S),
// h_t = φ(W_ih x_t + b_ih + W h_{t−1}), φ = tanh, relu or modReLU(z) = sign(z)·relu(|z| + b).

import type { LayerReference } from './index.js';
import { linear, optionalParam, param, relu } from './common.js';

/** Solves A·X = B for n×n A and n×m B (Gaussian elimination with partial pivoting). */
export function solve(A: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const a = Float64Array.from(A);
  const x = Float64Array.from(B);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]!) > Math.abs(a[p * n + c]!)) p = r;
    for (let j = 0; j < n; j++) [a[c * n + j], a[p * n + j]] = [a[p * n + j]!, a[c * n + j]!];
    for (let j = 0; j < m; j++) [x[c * m + j], x[p * m + j]] = [x[p * m + j]!, x[c * m + j]!];
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c]! / a[c * n + c]!;
      for (let j = c; j < n; j++) a[r * n + j] -= f * a[c * n + j]!;
      for (let j = 0; j < m; j++) x[r * m + j] -= f * x[c * m + j]!;
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    for (let j = 0; j < m; j++) {
      let s = x[c * m + j]!;
      for (let k = c + 1; k < n; k++) s -= a[c * n + k]! * x[k * m + j]!;
      x[c * m + j] = s / a[c * n + c]!;
    }
  }
  return x;
}

export const orthogonalRnnReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const d = mixer.dModel;
    const H = (mixer.config.hiddenSize as number) || d;
    const X = param(mixer, 'weight_hh_skew');
    const plus = new Float64Array(H * H);
    const minus = new Float64Array(H * H);
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < H; j++) {
        const s = (X[i * H + j]! - X[j * H + i]!) / 2;
        plus[i * H + j] = (i === j ? 1 : 0) + s;
        minus[i * H + j] = (i === j ? 1 : 0) - s;
      }
    }
    const W = solve(plus, minus, H, H);
    const Wih = param(mixer, 'weight_ih_l0');
    const bih = param(mixer, 'bias_ih_l0');
    const kind = mixer.config.nonlinearity as string;
    const bmod = kind === 'modrelu' ? param(mixer, 'modrelu.b') : undefined;
    const phi = (v: number, j: number) =>
      kind === 'tanh' ? Math.tanh(v) : kind === 'relu' ? relu(v) : Math.sign(v) * relu(Math.abs(v) + bmod![j]!);
    const hs = new Float64Array(batch * L * H);
    for (let b = 0; b < batch; b++) {
      let h = new Float64Array(H);
      for (let t = 0; t < L; t++) {
        const xt = x.subarray((b * L + t) * d, (b * L + t + 1) * d);
        const gx = linear(xt, 1, d, Wih, H, bih);
        const gh = linear(h, 1, H, W, H);
        h = gx.map((v, j) => phi(v + gh[j]!, j));
        hs.set(h, (b * L + t) * H);
      }
    }
    const out = optionalParam(mixer, 'out_proj.weight');
    return out ? linear(hs, batch * L, H, out, d) : hs;
  },
};
