// Float64 unitary RNN, step by step from zero state, in complex arithmetic:
// A = (X − X^H)/2, W = (I + A)⁻¹(I − A) (solved as the real 2H×2H system of
// (I + A) W = I − A), u_t = V x_t (rows 2j / 2j + 1: Re / Im of unit j),
// h_t = modReLU(W h_{t−1} + u_t, b), y_t = U [Re h_t, Im h_t interleaved] + c.

import type { LayerReference } from './index.js';
import { linear, param } from './common.js';
import { solve } from './orthogonal_rnn.js';

export const unitaryRnnReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const d = mixer.dModel;
    const H = (mixer.config.hiddenSize as number) || d;
    const X = param(mixer, 'weight_hh_skew');
    // A complex matrix M = P + iQ acts on (re; im) stacked vectors as [[P, −Q], [Q, P]].
    const n = 2 * H;
    const plus = new Float64Array(n * n);
    const minus = new Float64Array(n * n);
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < H; j++) {
        const ar = (X[(i * H + j) * 2]! - X[(j * H + i) * 2]!) / 2;
        const ai = (X[(i * H + j) * 2 + 1]! + X[(j * H + i) * 2 + 1]!) / 2;
        const id = i === j ? 1 : 0;
        for (const [M, sgn] of [[plus, 1], [minus, -1]] as const) {
          M[i * n + j] = id + sgn * ar;
          M[(H + i) * n + H + j] = id + sgn * ar;
          M[i * n + H + j] = -sgn * ai;
          M[(H + i) * n + j] = sgn * ai;
        }
      }
    }
    const Wr = solve(plus, minus, n, n); // the real form of W
    const V = param(mixer, 'input_proj.weight');
    const b = param(mixer, 'modrelu.b');
    const U = param(mixer, 'out_proj.weight');
    const c = param(mixer, 'out_proj.bias');
    const y = new Float64Array(batch * L * d);
    for (let s = 0; s < batch; s++) {
      let h = new Float64Array(n); // (Re h; Im h)
      for (let t = 0; t < L; t++) {
        const xt = x.subarray((s * L + t) * d, (s * L + t + 1) * d);
        const u = linear(xt, 1, d, V, n);
        const z = linear(h, 1, n, Wr, n);
        const next = new Float64Array(n);
        for (let j = 0; j < H; j++) {
          const re = z[j]! + u[2 * j]!;
          const im = z[H + j]! + u[2 * j + 1]!;
          const mag = Math.hypot(re, im);
          const scale = mag > 0 && mag + b[j]! > 0 ? (mag + b[j]!) / mag : 0;
          next[j] = re * scale;
          next[H + j] = im * scale;
        }
        h = next;
        const interleaved = new Float64Array(n);
        for (let j = 0; j < H; j++) {
          interleaved[2 * j] = h[j]!;
          interleaved[2 * j + 1] = h[H + j]!;
        }
        y.set(linear(interleaved, 1, n, U, d, c), (s * L + t) * d);
      }
    }
    return y;
  },
};
