// Float64 Mamba-2 block (mamba2_simple.py equations), token by token from zero state.

import type { LayerReference } from './index.js';
import { causalConv, linear, param, silu, softplus } from './common.js';

export const mamba2Reference: LayerReference = {
  forward(mixer, u, batch, L) {
    const c = mixer.config as unknown as { dState: number; dConv: number; expand: number; headdim: number; ngroups: number };
    const d = mixer.dModel;
    const dI = c.expand * d;
    const P = c.headdim || (dI % 64 === 0 ? 64 : dI % 16 === 0 ? 16 : dI);
    const H = dI / P;
    const [N, G, w] = [c.dState, c.ngroups, c.dConv];
    const convDim = dI + 2 * G * N;
    const rows = batch * L;
    const zxbcdt = linear(u, rows, d, param(mixer, 'in_proj.weight'), 2 * dI + 2 * G * N + H);
    const width = 2 * dI + 2 * G * N + H;
    const xBC = new Float64Array(rows * convDim);
    for (let r = 0; r < rows; r++) for (let j = 0; j < convDim; j++) xBC[r * convDim + j] = zxbcdt[r * width + dI + j]!;
    const conv = causalConv(xBC, batch, L, convDim, param(mixer, 'conv1d.weight'), w, param(mixer, 'conv1d.bias')).map(silu);
    const dtBias = param(mixer, 'dt_bias');
    const A = param(mixer, 'A_log').map((v) => -Math.exp(v));
    const D = param(mixer, 'D');
    const y = new Float64Array(rows * dI);
    for (let b = 0; b < batch; b++) {
      const S = new Float64Array(H * N * P);
      for (let t = 0; t < L; t++) {
        const r = b * L + t;
        for (let h = 0; h < H; h++) {
          const g = Math.floor(h / (H / G));
          const delta = softplus(zxbcdt[r * width + 2 * dI + 2 * G * N + h]! + dtBias[h]!);
          const decay = Math.exp(delta * A[h]!);
          for (let n = 0; n < N; n++) {
            const Bn = conv[r * convDim + dI + g * N + n]!;
            for (let q = 0; q < P; q++) {
              const i = (h * N + n) * P + q;
              S[i] = decay * S[i]! + Bn * delta * conv[r * convDim + h * P + q]!;
            }
          }
          for (let q = 0; q < P; q++) {
            let acc = D[h]! * conv[r * convDim + h * P + q]!;
            for (let n = 0; n < N; n++) acc += conv[r * convDim + dI + G * N + g * N + n]! * S[(h * N + n) * P + q]!;
            y[r * dI + h * P + q] = acc;
          }
        }
      }
    }
    // RMSNormGated (norm_before_gate = False): rmsnorm(y · silu(z)) per group of dI / G channels.
    const normW = param(mixer, 'norm.weight');
    const gs = dI / G;
    const normed = new Float64Array(rows * dI);
    for (let r = 0; r < rows; r++) {
      for (let g0 = 0; g0 < dI; g0 += gs) {
        let ss = 0;
        const gated: number[] = [];
        for (let j = g0; j < g0 + gs; j++) {
          const v = y[r * dI + j]! * silu(zxbcdt[r * width + j]!);
          gated.push(v);
          ss += v * v;
        }
        const inv = 1 / Math.sqrt(ss / gs + 1e-5);
        for (let j = 0; j < gs; j++) normed[r * dI + g0 + j] = gated[j]! * inv * normW[g0 + j]!;
      }
    }
    return linear(normed, rows, dI, param(mixer, 'out_proj.weight'), d);
  },
};
