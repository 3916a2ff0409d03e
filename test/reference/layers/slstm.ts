// Float64 sLSTM layer (xLSTM, NX-AI sLSTMLayer), token by token from the zero state: the four gates
// W·x (block-diagonal per head; i, f from the conv output — i through fgate.weight and f through igate.weight,
// as NX-AI's sLSTMLayer wires them —, z, o from x) plus the per-head recurrence R·y_{t−1} and bias, exponential
// input gate with the stabiliser m, normaliser n, then group norm per head.

import type { LayerReference } from './index.js';
import { causalConv, layerNorm, param, sigmoid, silu } from './common.js';
import { headwise } from './mlstm.js';

export const slstmReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const d = mixer.dModel;
    const H = mixer.config.heads as number;
    const w = mixer.config.dConv as number;
    const dh = d / H;
    const rows = batch * L;
    const cx = w > 0 ? causalConv(x, batch, L, d, param(mixer, 'conv1d.conv.weight'), w, param(mixer, 'conv1d.conv.bias')).map(silu) : x;
    const wx = [
      headwise(cx, rows, param(mixer, 'fgate.weight'), H, dh, dh), // ĩ
      headwise(cx, rows, param(mixer, 'igate.weight'), H, dh, dh), // f̃
      headwise(x, rows, param(mixer, 'zgate.weight'), H, dh, dh),
      headwise(x, rows, param(mixer, 'ogate.weight'), H, dh, dh),
    ];
    const R = param(mixer, 'slstm_cell._recurrent_kernel_'); // [H, dh (from), 4, dh (to)]
    const bias = param(mixer, 'slstm_cell._bias_'); // [H, 4, dh]
    const out = new Float64Array(rows * d);
    for (let b = 0; b < batch; b++) {
      let y = new Float64Array(d);
      const c = new Float64Array(d);
      const n = new Float64Array(d);
      const m = new Float64Array(d);
      for (let t = 0; t < L; t++) {
        const r = b * L + t;
        const yNew = new Float64Array(d);
        for (let h = 0; h < H; h++) {
          for (let j = 0; j < dh; j++) {
            const ch = h * dh + j;
            const pre = [0, 1, 2, 3].map((g) => {
              let s = wx[g]![r * d + ch]! + bias[(h * 4 + g) * dh + j]!;
              for (let a = 0; a < dh; a++) s += y[h * dh + a]! * R[((h * dh + a) * 4 + g) * dh + j]!;
              return s;
            });
            const [iPre, fPre, zPre, oPre] = pre as [number, number, number, number];
            const logF = Math.log(sigmoid(fPre));
            const mNew = t === 0 ? iPre : Math.max(logF + m[ch]!, iPre);
            const iAct = Math.exp(iPre - mNew);
            const fAct = t === 0 ? 0 : Math.exp(logF + m[ch]! - mNew);
            c[ch] = fAct * c[ch]! + iAct * Math.tanh(zPre);
            n[ch] = fAct * n[ch]! + iAct;
            m[ch] = mNew;
            yNew[ch] = (sigmoid(oPre) * c[ch]!) / n[ch]!;
          }
        }
        y = yNew;
        out.set(y, r * d);
      }
    }
    const normW = param(mixer, 'group_norm.weight').map((e) => 1 + e);
    return layerNorm(out, rows, d, normW, undefined, 1e-5, dh);
  },
};
