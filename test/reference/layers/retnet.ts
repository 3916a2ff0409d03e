// Float64 RetNet multi-scale retention (Sun et al. 2023, torchscale), token by
// token from zero state: rotate q, k by n·θ_i on pairs (2i, 2i+1) with
// θ_i = 10000^(−i/(K/2 − 1)), k scaled by K^(−1/2), S = γ_h S + kᵀv, o = qS,
// per-head RMS/Layer norm without affine, times swish(W_g x), then out_proj.

import type { LayerReference } from './index.js';
import { layerNorm, linear, param, rmsNorm, silu } from './common.js';

export const retnetReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const d = mixer.dModel;
    const H = mixer.config.heads as number;
    const K = d / H;
    const V = ((mixer.config.valueFactor as number) * d) / H;
    const eps = mixer.config.normEps as number;
    const rows = batch * L;
    const q = linear(x, rows, d, param(mixer, 'q_proj.weight'), d);
    const k = linear(x, rows, d, param(mixer, 'k_proj.weight'), d);
    const v = linear(x, rows, d, param(mixer, 'v_proj.weight'), H * V);
    const g = linear(x, rows, d, param(mixer, 'g_proj.weight'), H * V);
    const half = K / 2;
    const theta = Array.from({ length: half }, (_, i) => 1 / 10000 ** (half > 1 ? i / (half - 1) : 0));
    const rotate = (src: Float64Array, at: number, n: number, scale: number): number[] => {
      const out: number[] = [];
      for (let i = 0; i < half; i++) {
        const a = src[at + 2 * i]!, c = src[at + 2 * i + 1]!;
        const cos = Math.cos(n * theta[i]!), sin = Math.sin(n * theta[i]!);
        out.push((a * cos - c * sin) * scale, (c * cos + a * sin) * scale);
      }
      return out;
    };
    const o = new Float64Array(rows * H * V);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < H; h++) {
        const gamma = 1 - 2 ** (-5 - h);
        const S = new Float64Array(K * V);
        for (let n = 0; n < L; n++) {
          const r = b * L + n;
          const qn = rotate(q, r * d + h * K, n, 1);
          const kn = rotate(k, r * d + h * K, n, K ** -0.5);
          for (let i = 0; i < K; i++) for (let j = 0; j < V; j++) S[i * V + j] = gamma * S[i * V + j]! + kn[i]! * v[r * H * V + h * V + j]!;
          for (let j = 0; j < V; j++) {
            let s = 0;
            for (let i = 0; i < K; i++) s += qn[i]! * S[i * V + j]!;
            o[r * H * V + h * V + j] = s;
          }
        }
      }
    }
    const normed = mixer.config.groupNorm === 'layer' ? layerNorm(o, rows, H * V, undefined, undefined, eps, V) : rmsNorm(o, rows, H * V, undefined, eps, V);
    const gated = normed.map((e, i) => e * silu(g[i]!));
    return linear(gated, rows, H * V, param(mixer, 'out_proj.weight'), d);
  },
};
