// Float64 S4D block (s4d.py): per channel the diagonal SSM step by step, then gelu, output_linear, GLU.

import type { LayerReference } from './index.js';
import { gelu, linear, param, sigmoid } from './common.js';

export const s4dReference: LayerReference = {
  forward(mixer, u, batch, L) {
    const H = mixer.dModel;
    const M = (mixer.config.dState as number) / 2;
    const zoh = mixer.config.discretization === 'zoh';
    const logDt = param(mixer, 'kernel.log_dt');
    const logAReal = param(mixer, 'kernel.log_A_real');
    const aImag = param(mixer, 'kernel.A_imag');
    const C = param(mixer, 'kernel.C');
    const D = param(mixer, 'D');
    const y = new Float64Array(batch * L * H);
    for (let h = 0; h < H; h++) {
      const dt = Math.exp(logDt[h]!);
      const modes = Array.from({ length: M }, (_, n) => {
        const [ar, ai] = [-Math.exp(logAReal[h * M + n]!), aImag[h * M + n]!];
        // complex helpers
        const div = (xr: number, xi: number, yr: number, yi: number) => {
          const d = yr * yr + yi * yi;
          return [(xr * yr + xi * yi) / d, (xi * yr - xr * yi) / d] as const;
        };
        let abar: readonly [number, number];
        let bbar: readonly [number, number];
        if (zoh) {
          abar = [Math.exp(dt * ar) * Math.cos(dt * ai), Math.exp(dt * ar) * Math.sin(dt * ai)];
          bbar = div(abar[0] - 1, abar[1], ar, ai);
        } else {
          abar = div(1 + (dt * ar) / 2, (dt * ai) / 2, 1 - (dt * ar) / 2, -(dt * ai) / 2);
          bbar = div(dt, 0, 1 - (dt * ar) / 2, -(dt * ai) / 2);
        }
        return { abar, bbar, c: [C[2 * (h * M + n)]!, C[2 * (h * M + n) + 1]!] as const };
      });
      for (let b = 0; b < batch; b++) {
        const hr = new Float64Array(M);
        const hi = new Float64Array(M);
        for (let t = 0; t < L; t++) {
          const ut = u[(b * L + t) * H + h]!;
          let s = D[h]! * ut;
          modes.forEach((m, n) => {
            const nr = m.abar[0] * hr[n]! - m.abar[1] * hi[n]! + m.bbar[0] * ut;
            const ni = m.abar[0] * hi[n]! + m.abar[1] * hr[n]! + m.bbar[1] * ut;
            hr[n] = nr;
            hi[n] = ni;
            s += 2 * (m.c[0] * nr - m.c[1] * ni);
          });
          y[(b * L + t) * H + h] = s;
        }
      }
    }
    const rows = batch * L;
    const z = linear(y.map(gelu), rows, H, param(mixer, 'output_linear.0.weight'), 2 * H, param(mixer, 'output_linear.0.bias'));
    const out = new Float64Array(rows * H);
    for (let r = 0; r < rows; r++) for (let j = 0; j < H; j++) out[r * H + j] = z[r * 2 * H + j]! * sigmoid(z[r * 2 * H + H + j]!);
    return out;
  },
};
