// Float64 GRU (torch.nn.GRU equations, gate blocks r, z, n), step by step from zero state.

import type { LayerReference } from './index.js';
import { linear, optionalParam, param, sigmoid } from './common.js';

export const gruReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const d = mixer.dModel;
    const H = (mixer.config.hiddenSize as number) || d;
    const Wih = param(mixer, 'weight_ih_l0');
    const Whh = param(mixer, 'weight_hh_l0');
    const bih = param(mixer, 'bias_ih_l0');
    const bhh = param(mixer, 'bias_hh_l0');
    const hs = new Float64Array(batch * L * H);
    for (let b = 0; b < batch; b++) {
      const h = new Float64Array(H);
      for (let t = 0; t < L; t++) {
        const xt = x.subarray((b * L + t) * d, (b * L + t + 1) * d);
        const gx = linear(xt, 1, d, Wih, 3 * H, bih);
        const gh = linear(h, 1, H, Whh, 3 * H, bhh);
        for (let j = 0; j < H; j++) {
          const r = sigmoid(gx[j]! + gh[j]!);
          const z = sigmoid(gx[H + j]! + gh[H + j]!);
          const n = Math.tanh(gx[2 * H + j]! + r * gh[2 * H + j]!);
          h[j] = (1 - z) * n + z * h[j]!;
        }
        hs.set(h, (b * L + t) * H);
      }
    }
    const out = optionalParam(mixer, 'out_proj.weight');
    return out ? linear(hs, batch * L, H, out, d) : hs;
  },
};
