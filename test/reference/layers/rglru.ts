// Float64 Griffin/Hawk recurrent block (HF RecurrentGemmaRecurrentBlock + RecurrentGemmaRglru), token by token
// from zero state; position 0 is the reset position (multiplier 1 instead of √(1 − a²)).

import type { LayerReference } from './index.js';
import { geluTanh, linear, param, sigmoid, softplus } from './common.js';

export const rglruReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const d = mixer.dModel;
    const W = (mixer.config.lruWidth as number) || d;
    const H = mixer.config.numHeads as number;
    const bw = W / H;
    const w = mixer.config.conv1dWidth as number;
    const Wy = param(mixer, 'linear_y.weight');
    const by = param(mixer, 'linear_y.bias');
    const Wx = param(mixer, 'linear_x.weight');
    const bx = param(mixer, 'linear_x.bias');
    const convW = param(mixer, 'conv_1d.weight'); // [W, 1, w]
    const convB = param(mixer, 'conv_1d.bias');
    const lam = param(mixer, 'rg_lru.recurrent_param');
    const Wi = param(mixer, 'rg_lru.input_gate_weight'); // [H, bw, bw], applied as x·W
    const bi = param(mixer, 'rg_lru.input_gate_bias');
    const Wr = param(mixer, 'rg_lru.recurrent_gate_weight');
    const br = param(mixer, 'rg_lru.recurrent_gate_bias');
    const Wo = param(mixer, 'linear_out.weight');
    const bo = param(mixer, 'linear_out.bias');
    const hs = new Float64Array(batch * L * W);
    for (let b = 0; b < batch; b++) {
      const window = new Float64Array(W * w);
      const h = new Float64Array(W);
      for (let t = 0; t < L; t++) {
        const ut = x.subarray((b * L + t) * d, (b * L + t + 1) * d);
        const gy = linear(ut, 1, d, Wy, W, by);
        const xb = linear(ut, 1, d, Wx, W, bx);
        const xc = new Float64Array(W);
        for (let c = 0; c < W; c++) {
          for (let j = 0; j + 1 < w; j++) window[c * w + j] = window[c * w + j + 1]!;
          window[c * w + w - 1] = xb[c]!;
          let s = convB[c]!;
          for (let j = 0; j < w; j++) s += convW[c * w + j]! * window[c * w + j]!;
          xc[c] = s;
        }
        for (let head = 0; head < H; head++) {
          for (let j = 0; j < bw; j++) {
            const c = head * bw + j;
            let gi = bi[c]!;
            let gr = br[c]!;
            for (let i = 0; i < bw; i++) {
              gi += xc[head * bw + i]! * Wi[(head * bw + i) * bw + j]!;
              gr += xc[head * bw + i]! * Wr[(head * bw + i) * bw + j]!;
            }
            const logA = -8 * sigmoid(gr) * softplus(lam[c]!);
            const a = Math.exp(logA);
            const multiplier = t === 0 ? 1 : Math.sqrt(-Math.expm1(2 * logA));
            h[c] = a * h[c]! + multiplier * sigmoid(gi) * xc[c]!;
            hs[(b * L + t) * W + c] = h[c]! * geluTanh(gy[c]!);
          }
        }
      }
    }
    return linear(hs, batch * L, W, Wo, d, bo);
  },
};
