// Float64 S5 layer, step by step with complex arithmetic written out.

import type { LayerReference } from './index.js';
import { param } from './common.js';

export const s5Reference: LayerReference = {
  forward(mixer, u, batch, L) {
    const H = mixer.dModel;
    const P = mixer.config.ssmSize as number;
    const zoh = mixer.config.discretization === 'zoh';
    const [lr, li, B, C, D, logStep] = ['Lambda_re', 'Lambda_im', 'B', 'C', 'D', 'log_step'].map((n) => param(mixer, n)) as Float64Array[];
    const lam: [number, number][] = [];
    const scale: [number, number][] = [];
    for (let p = 0; p < P; p++) {
      const [ar, ai, dt] = [lr![p]!, li![p]!, Math.exp(logStep![p]!)];
      const div = (xr: number, xi: number, yr: number, yi: number): [number, number] => {
        const d = yr * yr + yi * yi;
        return [(xr * yr + xi * yi) / d, (xi * yr - xr * yi) / d];
      };
      if (zoh) {
        const bar: [number, number] = [Math.exp(dt * ar) * Math.cos(dt * ai), Math.exp(dt * ar) * Math.sin(dt * ai)];
        lam.push(bar);
        scale.push(div(bar[0] - 1, bar[1], ar, ai));
      } else {
        lam.push(div(1 + (dt * ar) / 2, (dt * ai) / 2, 1 - (dt * ar) / 2, -(dt * ai) / 2));
        scale.push(div(dt, 0, 1 - (dt * ar) / 2, -(dt * ai) / 2));
      }
    }
    const y = new Float64Array(batch * L * H);
    for (let b = 0; b < batch; b++) {
      const hr = new Float64Array(P);
      const hi = new Float64Array(P);
      for (let t = 0; t < L; t++) {
        const ut = u.subarray((b * L + t) * H, (b * L + t + 1) * H);
        for (let p = 0; p < P; p++) {
          let br = 0;
          let bi = 0;
          for (let h = 0; h < H; h++) {
            br += B![2 * (p * H + h)]! * ut[h]!;
            bi += B![2 * (p * H + h) + 1]! * ut[h]!;
          }
          const [sr, si] = scale[p]!;
          const [ar, ai] = lam[p]!;
          const nr = ar * hr[p]! - ai * hi[p]! + (sr * br - si * bi);
          const ni = ar * hi[p]! + ai * hr[p]! + (sr * bi + si * br);
          hr[p] = nr;
          hi[p] = ni;
        }
        for (let h = 0; h < H; h++) {
          let s = D![h]! * ut[h]!;
          for (let p = 0; p < P; p++) s += 2 * (C![2 * (h * P + p)]! * hr[p]! - C![2 * (h * P + p) + 1]! * hi[p]!);
          y[(b * L + t) * H + h] = s;
        }
      }
    }
    return y;
  },
};
