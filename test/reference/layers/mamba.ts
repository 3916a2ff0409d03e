// Float64 Mamba block (mamba_simple.py's step(), token by token from zero state).

import type { LayerReference } from './index.js';
import { linear, param, rmsNorm, silu, softplus } from './common.js';

export const mambaReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const d = mixer.dModel;
    const dI = (mixer.config.expand as number) * d;
    const n = mixer.config.dState as number;
    const w = mixer.config.dConv as number;
    const heads = (mixer.config.heads as number | undefined) ?? 1; // Zamba: block-diagonal x_proj / dt_proj, B and C per head
    const R = heads * ((mixer.config.dtRank as number) || Math.ceil(d / 16));
    const inW = param(mixer, 'in_proj.weight');
    const convW = param(mixer, 'conv1d.weight'); // [dI, 1, w]
    const convB = param(mixer, 'conv1d.bias');
    const xW = param(mixer, 'x_proj.weight');
    const dtW = param(mixer, 'dt_proj.weight');
    const dtB = param(mixer, 'dt_proj.bias');
    const Alog = param(mixer, 'A_log');
    const D = param(mixer, 'D');
    const outW = param(mixer, 'out_proj.weight');
    const ys = new Float64Array(batch * L * dI);
    for (let b = 0; b < batch; b++) {
      const window = new Float64Array(dI * w); // the last w inputs of the conv per channel, oldest first
      const h = new Float64Array(dI * n);
      for (let t = 0; t < L; t++) {
        const xz = linear(x.subarray((b * L + t) * d, (b * L + t + 1) * d), 1, d, inW, 2 * dI);
        const xc = new Float64Array(dI);
        for (let c = 0; c < dI; c++) {
          for (let j = 0; j + 1 < w; j++) window[c * w + j] = window[c * w + j + 1]!;
          window[c * w + w - 1] = xz[c]!;
          let s = convB[c]!;
          for (let j = 0; j < w; j++) s += convW[c * w + j]! * window[c * w + j]!;
          xc[c] = silu(s);
        }
        const dbl = linear(xc, 1, dI, xW, R + 2 * heads * n);
        if (mixer.config.innerNorms) {
          // Jamba: RMSNorm on dt, B and C separately.
          const eps = mixer.config.innerNormEps as number;
          dbl.set(rmsNorm(dbl.subarray(0, R), 1, R, param(mixer, 'dt_layernorm.weight'), eps), 0);
          dbl.set(rmsNorm(dbl.subarray(R, R + n), 1, n, param(mixer, 'b_layernorm.weight'), eps), R);
          dbl.set(rmsNorm(dbl.subarray(R + n, R + 2 * n), 1, n, param(mixer, 'c_layernorm.weight'), eps), R + n);
        }
        const dt = linear(dbl.subarray(0, R), 1, R, dtW, dI, dtB);
        for (let c = 0; c < dI; c++) {
          const delta = softplus(dt[c]!);
          const g = Math.floor(c / (dI / heads)) * n;
          let y = D[c]! * xc[c]!;
          for (let j = 0; j < n; j++) {
            const A = -Math.exp(Alog[c * n + j]!);
            h[c * n + j] = Math.exp(delta * A) * h[c * n + j]! + delta * dbl[R + g + j]! * xc[c]!;
            y += dbl[R + heads * n + g + j]! * h[c * n + j]!;
          }
          ys[(b * L + t) * dI + c] = y * silu(xz[dI + c]!);
        }
      }
    }
    return linear(ys, batch * L, dI, outW, d);
  },
};
