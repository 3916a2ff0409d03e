// Float64 linear Transformer (Katharopoulos et al. 2020, fast-transformers'
// CausalLinearAttention), token by token from zero state:
// S += φ(k)ᵀv, z += φ(k), y = φ(q)S / (φ(q)·z + eps), φ = elu + 1.

import type { LayerReference } from './index.js';
import { elu, linear, param } from './common.js';

export const linearTransformerReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const d = mixer.dModel;
    const H = mixer.config.heads as number;
    const eps = mixer.config.eps as number;
    const K = d / H;
    const phi = (v: number) => elu(v) + 1;
    const rows = batch * L;
    const q = linear(x, rows, d, param(mixer, 'query_projection.weight'), d, param(mixer, 'query_projection.bias')).map(phi);
    const k = linear(x, rows, d, param(mixer, 'key_projection.weight'), d, param(mixer, 'key_projection.bias')).map(phi);
    const v = linear(x, rows, d, param(mixer, 'value_projection.weight'), d, param(mixer, 'value_projection.bias'));
    const y = new Float64Array(rows * d);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < H; h++) {
        const S = new Float64Array(K * K);
        const z = new Float64Array(K);
        for (let t = 0; t < L; t++) {
          const base = (b * L + t) * d + h * K;
          for (let i = 0; i < K; i++) {
            z[i] += k[base + i]!;
            for (let j = 0; j < K; j++) S[i * K + j] += k[base + i]! * v[base + j]!;
          }
          let den = eps;
          for (let i = 0; i < K; i++) den += q[base + i]! * z[i]!;
          for (let j = 0; j < K; j++) {
            let num = 0;
            for (let i = 0; i < K; i++) num += q[base + i]! * S[i * K + j]!;
            y[base + j] = num / den;
          }
        }
      }
    }
    return linear(y, rows, d, param(mixer, 'out_projection.weight'), d, param(mixer, 'out_projection.bias'));
  },
};
