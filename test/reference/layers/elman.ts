// Float64 Elman RNN (torch.nn.RNN equations), step by step from zero state.

import type { LayerReference } from './index.js';
import { linear, optionalParam, param, relu } from './common.js';

export const elmanReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const d = mixer.dModel;
    const H = (mixer.config.hiddenSize as number) || d;
    const phi = mixer.config.nonlinearity === 'relu' ? relu : Math.tanh;
    const Wih = param(mixer, 'weight_ih_l0');
    const Whh = param(mixer, 'weight_hh_l0');
    const bih = param(mixer, 'bias_ih_l0');
    const bhh = param(mixer, 'bias_hh_l0');
    const hs = new Float64Array(batch * L * H);
    for (let b = 0; b < batch; b++) {
      let h = new Float64Array(H);
      for (let t = 0; t < L; t++) {
        const xt = x.subarray((b * L + t) * d, (b * L + t + 1) * d);
        const gx = linear(xt, 1, d, Wih, H, bih);
        const gh = linear(h, 1, H, Whh, H, bhh);
        h = gx.map((v, j) => phi(v + gh[j]!));
        hs.set(h, (b * L + t) * H);
      }
    }
    const out = optionalParam(mixer, 'out_proj.weight');
    return out ? linear(hs, batch * L, H, out, d) : hs;
  },
};
