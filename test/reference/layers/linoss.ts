// Float64 LinOSS layer: the oscillators' IM / IMEX update equations stepped in complex arithmetic, from zero state.

import type { LayerReference } from './index.js';
import { param, relu, sigmoid } from './common.js';

export const linossReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const H = mixer.dModel;
    const P = mixer.config.ssmSize as number;
    const imex = mixer.config.discretization === 'imex';
    const Adiag = param(mixer, 'A_diag');
    const B = param(mixer, 'B'); // [P, H, 2]
    const C = param(mixer, 'C'); // [H, P, 2]
    const D = param(mixer, 'D');
    const steps = param(mixer, 'steps');
    const out = new Float64Array(batch * L * H);
    for (let b = 0; b < batch; b++) {
      const z = new Float64Array(2 * P); // (re, im) per oscillator
      const y = new Float64Array(2 * P);
      for (let t = 0; t < L; t++) {
        const u = x.subarray((b * L + t) * H, (b * L + t + 1) * H);
        for (let p = 0; p < P; p++) {
          const A = relu(Adiag[p]!);
          const dt = sigmoid(steps[p]!);
          for (let k = 0; k < 2; k++) {
            let bu = 0;
            for (let h = 0; h < H; h++) bu += B[(p * H + h) * 2 + k]! * u[h]!;
            const zi = 2 * p + k;
            if (imex) {
              // z_n = z_{n−1} + Δ(−A y_{n−1} + Bu_n), then y_n = y_{n−1} + Δ z_n
              z[zi] = z[zi]! + dt * (-A * y[zi]! + bu);
            } else {
              // z_n = z_{n−1} + Δ(−A y_n + Bu_n) with y_n = y_{n−1} + Δ z_n, solved for z_n
              z[zi] = (z[zi]! + dt * (-A * y[zi]! + bu)) / (1 + dt * dt * A);
            }
            y[zi] = y[zi]! + dt * z[zi]!;
          }
        }
        for (let h = 0; h < H; h++) {
          let s = D[h]! * u[h]!;
          for (let p = 0; p < P; p++) s += C[(h * P + p) * 2]! * y[2 * p]! - C[(h * P + p) * 2 + 1]! * y[2 * p + 1]!;
          out[(b * L + t) * H + h] = s;
        }
      }
    }
    return out;
  },
};
