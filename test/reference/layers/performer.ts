// Float64 Performer (FAVOR+, Choromanski et al. 2021), token by token from zero
// state, with the paper's positive random features φ(x) = exp(ω·x̃ − ‖x̃‖²/2)/√m,
// x̃ = K^(−1/4)x, ω the rows of the mixer's projection matrix:
// y = φ̂(q)Σφ(k)ᵀv / (φ̂(q)·Σφ(k) + eps), where φ̂(q) = φ(q)/Σ_j φ_j(q) is the
// query's features divided by their sum (a per-token factor, which cancels in
// the ratio and only sets the scale eps is measured against).

import type { LayerReference } from './index.js';
import { linear, param } from './common.js';

export const performerReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const d = mixer.dModel;
    const H = mixer.config.heads as number;
    const K = d / H;
    const eps = mixer.config.eps as number;
    const P = param(mixer, 'fast_attention.projection_matrix');
    const m = P.length / K;
    const rows = batch * L;
    const q = linear(x, rows, d, param(mixer, 'to_q.weight'), d);
    const k = linear(x, rows, d, param(mixer, 'to_k.weight'), d);
    const v = linear(x, rows, d, param(mixer, 'to_v.weight'), d);
    const phi = (src: Float64Array, at: number): Float64Array => {
      const xt = Array.from({ length: K }, (_, i) => src[at + i]! * K ** -0.25);
      const half = xt.reduce((s, e) => s + e * e, 0) / 2;
      return Float64Array.from({ length: m }, (_, j) => {
        let dot = 0;
        for (let i = 0; i < K; i++) dot += P[j * K + i]! * xt[i]!;
        return Math.exp(dot - half) / Math.sqrt(m);
      });
    };
    const y = new Float64Array(rows * d);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < H; h++) {
        const S = new Float64Array(m * K);
        const z = new Float64Array(m);
        for (let t = 0; t < L; t++) {
          const at = (b * L + t) * d + h * K;
          const fk = phi(k, at);
          const fq0 = phi(q, at);
          const fq = fq0.map((e) => e / fq0.reduce((s, f) => s + f, 0));
          for (let j = 0; j < m; j++) {
            z[j] += fk[j]!;
            for (let c = 0; c < K; c++) S[j * K + c] += fk[j]! * v[at + c]!;
          }
          let den = eps;
          for (let j = 0; j < m; j++) den += fq[j]! * z[j]!;
          for (let c = 0; c < K; c++) {
            let num = 0;
            for (let j = 0; j < m; j++) num += fq[j]! * S[j * K + c]!;
            y[at + c] = num / den;
          }
        }
      }
    }
    return linear(y, rows, d, param(mixer, 'to_out.weight'), d, param(mixer, 'to_out.bias'));
  },
};
