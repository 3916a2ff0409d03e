// Float64 Liquid-S4 (diagonal state): the liquid recurrence x_k = (Ā + B̄u_k)x_{k−1} + B̄u_k per channel and
// complex mode, y = 2Re(Cx) + Du, then gelu and output_linear; token by token from zero state.

import type { LayerReference } from './index.js';
import { gelu, linear, param } from './common.js';

type Cx = [number, number];
const mul = (a: Cx, b: Cx): Cx => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const div = (a: Cx, b: Cx): Cx => {
  const m = b[0] * b[0] + b[1] * b[1];
  return [(a[0] * b[0] + a[1] * b[1]) / m, (a[1] * b[0] - a[0] * b[1]) / m];
};
const cexp = (a: Cx): Cx => [Math.exp(a[0]) * Math.cos(a[1]), Math.exp(a[0]) * Math.sin(a[1])];

export const liquidS4Reference: LayerReference = {
  forward(mixer, x, batch, L) {
    const H = mixer.dModel;
    const N2 = (mixer.config.dState as number) / 2;
    const zoh = mixer.config.disc === 'zoh';
    const logDt = param(mixer, 'kernel.kernel.log_dt');
    const C = param(mixer, 'kernel.kernel.C');
    const B = param(mixer, 'kernel.kernel.B');
    const invAReal = param(mixer, 'kernel.kernel.inv_A_real');
    const aImag = param(mixer, 'kernel.kernel.A_imag');
    const D = param(mixer, 'D');
    const Abar: Cx[] = [];
    const Bbar: Cx[] = [];
    for (let h = 0; h < H; h++) {
      const dt = Math.exp(logDt[h]!);
      for (let n = 0; n < N2; n++) {
        const i = h * N2 + n;
        const A: Cx = [-Math.exp(invAReal[i]!), aImag[i]!];
        const Bc: Cx = [B[2 * i]!, B[2 * i + 1]!];
        const dtA: Cx = [dt * A[0], dt * A[1]];
        if (zoh) {
          const e = cexp(dtA);
          Abar.push(e);
          Bbar.push(mul(Bc, div([e[0] - 1, e[1]], A)));
        } else {
          const den: Cx = [1 - dtA[0] / 2, -dtA[1] / 2];
          Abar.push(div([1 + dtA[0] / 2, dtA[1] / 2], den));
          Bbar.push(div([dt * Bc[0], dt * Bc[1]], den));
        }
      }
    }
    const act = new Float64Array(batch * L * H);
    for (let b = 0; b < batch; b++) {
      const state: Cx[] = Array.from({ length: H * N2 }, () => [0, 0]);
      for (let t = 0; t < L; t++) {
        for (let h = 0; h < H; h++) {
          const u = x[(b * L + t) * H + h]!;
          let y = D[h]! * u;
          for (let n = 0; n < N2; n++) {
            const i = h * N2 + n;
            const bu: Cx = [Bbar[i]![0] * u, Bbar[i]![1] * u];
            const a: Cx = [Abar[i]![0] + bu[0], Abar[i]![1] + bu[1]];
            const s = mul(a, state[i]!);
            state[i] = [s[0] + bu[0], s[1] + bu[1]];
            y += 2 * mul([C[2 * i]!, C[2 * i + 1]!], state[i]!)[0];
          }
          act[(b * L + t) * H + h] = gelu(y);
        }
      }
    }
    return linear(act, batch * L, H, param(mixer, 'output_linear.weight'), H, param(mixer, 'output_linear.bias'));
  },
};
