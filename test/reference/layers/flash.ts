// Float64 FLASH (Hua et al. 2022, §4), causal, token by token: for token t in chunk g = ⌊t/C⌋, relu²
// attention over the earlier tokens of its own chunk plus linear attention over all tokens of earlier chunks.

import type { LayerReference } from './index.js';
import { linear, param, relu } from './common.js';
import { affine, gauBasis } from './gau.js';

export const flashReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const d = mixer.dModel;
    const rows = batch * L;
    const { e, s, v, u, z } = gauBasis(mixer, x, rows);
    const C = mixer.config.chunk as number;
    const maxLen = mixer.config.maxLen as number;
    const gamma = param(mixer, 'qk_offset_scale.gamma');
    const beta = param(mixer, 'qk_offset_scale.beta');
    const [qq, ql, kq, kl] = [0, 1, 2, 3].map((r) => affine(z, rows, s, gamma, beta, r)) as [Float64Array, Float64Array, Float64Array, Float64Array];
    const dot = (a: Float64Array, i: number, b: Float64Array, j: number) => {
      let acc = 0;
      for (let c = 0; c < s; c++) acc += a[i * s + c]! * b[j * s + c]!;
      return acc;
    };
    const g = new Float64Array(rows * e);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < L; t++) {
        const i = b * L + t;
        const start = Math.floor(t / C) * C;
        const o = new Float64Array(e);
        for (let tj = 0; tj <= t; tj++) {
          const j = b * L + tj;
          const w = tj >= start ? relu(dot(qq, i, kq, j) / Math.sqrt(s)) ** 2 / C : dot(ql, i, kl, j) / maxLen;
          for (let c = 0; c < e; c++) o[c] += w * v[j * e + c]!;
        }
        for (let c = 0; c < e; c++) g[i * e + c] = u[i * e + c]! * o[c]!;
      }
    }
    return linear(g, rows, e, param(mixer, 'to_out.0.weight'), d, param(mixer, 'to_out.0.bias'));
  },
};
