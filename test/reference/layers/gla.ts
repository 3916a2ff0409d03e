// Float64 Gated Linear Attention (Yang et al. 2024, fla's GatedLinearAttention),
// token by token from zero state: α = exp(logsigmoid(W_gk2 W_gk1 x + b)/τ) per key
// channel, S = diag(α)S + kᵀv, o = K^(−1/2) q S, per-head RMSNorm × weight ×
// swish(W_g x), then o_proj.

import type { LayerReference } from './index.js';
import { linear, param, rmsNorm, silu } from './common.js';

export const glaReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const d = mixer.dModel;
    const H = mixer.config.heads as number;
    const KW = Math.floor(d * (mixer.config.expandK as number));
    const VW = Math.floor(d * (mixer.config.expandV as number));
    const K = KW / H;
    const V = VW / H;
    const r = mixer.config.gateLowRankDim as number;
    const tau = mixer.config.gateLogitNormalizer as number;
    const rows = batch * L;
    const q = linear(x, rows, d, param(mixer, 'q_proj.weight'), KW);
    const k = linear(x, rows, d, param(mixer, 'k_proj.weight'), KW);
    const v = linear(x, rows, d, param(mixer, 'v_proj.weight'), VW);
    const g = linear(x, rows, d, param(mixer, 'g_proj.weight'), VW);
    const low = linear(x, rows, d, param(mixer, 'gk_proj.0.weight'), r);
    const logit = linear(low, rows, r, param(mixer, 'gk_proj.1.weight'), KW, param(mixer, 'gk_proj.1.bias'));
    // logsigmoid(a) = −log(1 + e^(−a))
    const alpha = logit.map((a) => Math.exp(-Math.log1p(Math.exp(-a)) / tau));
    const o = new Float64Array(rows * VW);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < H; h++) {
        const S = new Float64Array(K * V);
        for (let t = 0; t < L; t++) {
          const row = b * L + t;
          for (let i = 0; i < K; i++) {
            const a = alpha[row * KW + h * K + i]!;
            const ki = k[row * KW + h * K + i]!;
            for (let j = 0; j < V; j++) S[i * V + j] = a * S[i * V + j]! + ki * v[row * VW + h * V + j]!;
          }
          for (let j = 0; j < V; j++) {
            let s = 0;
            for (let i = 0; i < K; i++) s += q[row * KW + h * K + i]! * S[i * V + j]!;
            o[row * VW + h * V + j] = s * K ** -0.5;
          }
        }
      }
    }
    const w = param(mixer, 'g_norm_swish_gate.weight');
    const normed = rmsNorm(o, rows * H, V, w, mixer.config.normEps as number);
    const gated = normed.map((e, i) => e * silu(g[i]!));
    return linear(gated, rows, VW, param(mixer, 'o_proj.weight'), d);
  },
};
