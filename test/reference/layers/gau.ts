// Float64 GAU (Hua et al. 2022), causal quadratic form, token by token: for each token, the relu²
// attention over itself and every earlier token, gated by u.

import type { LayerReference } from './index.js';
import { columns, linear, param, relu, silu } from './common.js';

/** v, u, z of every token (rows × e, rows × e, rows × s), after silu. */
export function gauBasis(mixer: Parameters<LayerReference['forward']>[0], x: Float64Array, rows: number) {
  const d = mixer.dModel;
  const e = (mixer.config.expand as number) * d;
  const s = mixer.config.qkDim as number;
  const hid = linear(x, rows, d, param(mixer, 'to_hidden.0.weight'), 2 * e, param(mixer, 'to_hidden.0.bias')).map(silu);
  const z = linear(x, rows, d, param(mixer, 'to_qk.0.weight'), s, param(mixer, 'to_qk.0.bias')).map(silu);
  return { e, s, v: columns(hid, rows, 2 * e, 0, e), u: columns(hid, rows, 2 * e, e, 2 * e), z };
}

/** z·γ_r + β_r for every row. */
export function affine(z: Float64Array, rows: number, s: number, gamma: Float64Array, beta: Float64Array, r: number): Float64Array {
  const y = new Float64Array(rows * s);
  for (let t = 0; t < rows; t++) for (let j = 0; j < s; j++) y[t * s + j] = z[t * s + j]! * gamma[r * s + j]! + beta[r * s + j]!;
  return y;
}

export const gauReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const d = mixer.dModel;
    const rows = batch * L;
    const { e, s, v, u, z } = gauBasis(mixer, x, rows);
    const maxLen = mixer.config.maxLen as number;
    const gamma = param(mixer, 'offsetscale.gamma');
    const beta = param(mixer, 'offsetscale.beta');
    const q = affine(z, rows, s, gamma, beta, 0);
    const k = affine(z, rows, s, gamma, beta, 1);
    const g = new Float64Array(rows * e);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < L; t++) {
        const i = b * L + t;
        const o = new Float64Array(e);
        for (let tj = 0; tj <= t; tj++) {
          const j = b * L + tj;
          let dot = 0;
          for (let a = 0; a < s; a++) dot += q[i * s + a]! * k[j * s + a]!;
          const w = relu(dot / Math.sqrt(s)) ** 2 / maxLen;
          for (let c = 0; c < e; c++) o[c] += w * v[j * e + c]!;
        }
        for (let c = 0; c < e; c++) g[i * e + c] = u[i * e + c]! * o[c]!;
      }
    }
    return linear(g, rows, e, param(mixer, 'to_out.0.weight'), d, param(mixer, 'to_out.0.bias'));
  },
};
