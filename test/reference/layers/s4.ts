// Float64 S4 block: A = Λ − pp* from the parameters, bilinear discretisation per
// channel by a dense complex solve, then the recurrence step by step; gelu, output_linear, GLU.

import type { LayerReference } from './index.js';
import { gelu, linear, param, sigmoid } from './common.js';
import { complexInverse, complexMatmul, identity } from '../../../lib/linalg.js';

export const s4Reference: LayerReference = {
  forward(mixer, u, batch, L) {
    const H = mixer.dModel;
    const M = (mixer.config.dState as number) / 2;
    const [invWReal, wImag, P, B, C, logDt, D] = ['kernel.inv_w_real', 'kernel.w_imag', 'kernel.P', 'kernel.B', 'kernel.C', 'kernel.log_dt', 'D'].map((n) => param(mixer, n)) as Float64Array[];
    const y = new Float64Array(batch * L * H);
    for (let h = 0; h < H; h++) {
      const dt = Math.exp(logDt![h]!);
      const minus = { n: M, re: identity(M), im: new Float64Array(M * M) };
      const plus = { n: M, re: identity(M), im: new Float64Array(M * M) };
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < M; j++) {
          // A_ij = Λ_i δ_ij − p_i conj(p_j)
          let ar = -(P![2 * i]! * P![2 * j]! + P![2 * i + 1]! * P![2 * j + 1]!);
          let ai = -(P![2 * i + 1]! * P![2 * j]! - P![2 * i]! * P![2 * j + 1]!);
          if (i === j) {
            ar += -Math.exp(invWReal![i]!);
            ai += wImag![i]!;
          }
          minus.re[i * M + j] -= (dt / 2) * ar;
          minus.im[i * M + j] -= (dt / 2) * ai;
          plus.re[i * M + j] += (dt / 2) * ar;
          plus.im[i * M + j] += (dt / 2) * ai;
        }
      }
      const inv = complexInverse(minus);
      const ab = complexMatmul(inv, plus);
      const bbRe = new Float64Array(M);
      const bbIm = new Float64Array(M);
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < M; j++) {
          bbRe[i] += dt * (inv.re[i * M + j]! * B![2 * j]! - inv.im[i * M + j]! * B![2 * j + 1]!);
          bbIm[i] += dt * (inv.re[i * M + j]! * B![2 * j + 1]! + inv.im[i * M + j]! * B![2 * j]!);
        }
      }
      for (let b = 0; b < batch; b++) {
        let hr = new Float64Array(M);
        let hi = new Float64Array(M);
        for (let t = 0; t < L; t++) {
          const ut = u[(b * L + t) * H + h]!;
          const nr = new Float64Array(M);
          const ni = new Float64Array(M);
          for (let i = 0; i < M; i++) {
            let sr = bbRe[i]! * ut;
            let si = bbIm[i]! * ut;
            for (let j = 0; j < M; j++) {
              sr += ab.re[i * M + j]! * hr[j]! - ab.im[i * M + j]! * hi[j]!;
              si += ab.re[i * M + j]! * hi[j]! + ab.im[i * M + j]! * hr[j]!;
            }
            nr[i] = sr;
            ni[i] = si;
          }
          hr = nr;
          hi = ni;
          let s = D![h]! * ut;
          for (let i = 0; i < M; i++) s += 2 * (C![2 * (h * M + i)]! * hr[i]! - C![2 * (h * M + i) + 1]! * hi[i]!);
          y[(b * L + t) * H + h] = s;
        }
      }
    }
    const rows = batch * L;
    const z = linear(y.map(gelu), rows, H, param(mixer, 'output_linear.0.weight'), 2 * H, param(mixer, 'output_linear.0.bias'));
    const out = new Float64Array(rows * H);
    for (let r = 0; r < rows; r++) for (let j = 0; j < H; j++) out[r * H + j] = z[r * 2 * H + j]! * sigmoid(z[r * 2 * H + H + j]!);
    return out;
  },
};
