// Float64 LRU (Orvieto et al. 2023), token by token with complex arithmetic written out.

import type { LayerReference } from './index.js';
import { param } from './common.js';

export const lruReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const H = mixer.dModel;
    const N = mixer.config.stateDim as number;
    const nu = param(mixer, 'nu_log');
    const theta = param(mixer, 'theta_log');
    const gamma = param(mixer, 'gamma_log');
    const [bRe, bIm, cRe, cIm, D] = ['B_re', 'B_im', 'C_re', 'C_im', 'D'].map((n) => param(mixer, n)) as Float64Array[];
    const y = new Float64Array(batch * L * H);
    for (let b = 0; b < batch; b++) {
      const hr = new Float64Array(N);
      const hi = new Float64Array(N);
      for (let t = 0; t < L; t++) {
        const xt = x.subarray((b * L + t) * H, (b * L + t + 1) * H);
        for (let n = 0; n < N; n++) {
          const mod = Math.exp(-Math.exp(nu[n]!));
          const [lr, li] = [mod * Math.cos(Math.exp(theta[n]!)), mod * Math.sin(Math.exp(theta[n]!))];
          let ur = 0;
          let ui = 0;
          for (let h = 0; h < H; h++) {
            ur += bRe![n * H + h]! * xt[h]!;
            ui += bIm![n * H + h]! * xt[h]!;
          }
          const g = Math.exp(gamma[n]!);
          const nr = lr * hr[n]! - li * hi[n]! + g * ur;
          const ni = lr * hi[n]! + li * hr[n]! + g * ui;
          hr[n] = nr;
          hi[n] = ni;
        }
        for (let h = 0; h < H; h++) {
          let s = D![h]! * xt[h]!;
          for (let n = 0; n < N; n++) s += cRe![h * N + n]! * hr[n]! - cIm![h * N + n]! * hi[n]!;
          y[(b * L + t) * H + h] = s;
        }
      }
    }
    return y;
  },
};
