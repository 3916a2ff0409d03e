// Float64 mLSTM layer (xLSTM, NX-AI mLSTMLayer), token by token from the zero state:
// proj_up → (x_m, z); c = silu(conv(x_m)); q, k from c, v from x_m (block-diagonal); gates from [q, k, v];
// the stabilised matrix-memory recurrence per head; group norm per head; + skip·c; ⊙ silu(z); proj_down.

import type { LayerReference } from './index.js';
import { causalConv, columns, layerNorm, linear, param, silu } from './common.js';

/** NX-AI LinearHeadwiseExpand (no bias): y[r, j·o + a] = Σ_e W[j, a, e] x[r, j·i + e], W [blocks, o, i]. */
export function headwise(x: Float64Array, rows: number, W: Float64Array, blocks: number, o: number, i: number): Float64Array {
  const y = new Float64Array(rows * blocks * o);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < blocks; j++) {
      for (let a = 0; a < o; a++) {
        let s = 0;
        for (let e = 0; e < i; e++) s += W[(j * o + a) * i + e]! * x[r * blocks * i + j * i + e]!;
        y[r * blocks * o + j * o + a] = s;
      }
    }
  }
  return y;
}

const logSigmoid = (v: number): number => (v >= 0 ? -Math.log1p(Math.exp(-v)) : v - Math.log1p(Math.exp(v)));

export const mlstmReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const d = mixer.dModel;
    const inner = (mixer.config.expand as number) * d;
    const H = mixer.config.heads as number;
    const w = mixer.config.dConv as number;
    const dh = inner / H;
    const rows = batch * L;
    const up = linear(x, rows, d, param(mixer, 'proj_up.weight'), 2 * inner);
    const xm = columns(up, rows, 2 * inner, 0, inner);
    const z = columns(up, rows, 2 * inner, inner, 2 * inner);
    const c = causalConv(xm, batch, L, inner, param(mixer, 'conv1d.conv.weight'), w, param(mixer, 'conv1d.conv.bias')).map(silu);
    const bs = mixer.config.qkvBlocksize as number;
    const q = headwise(c, rows, param(mixer, 'q_proj.weight'), inner / bs, bs, bs);
    const k = headwise(c, rows, param(mixer, 'k_proj.weight'), inner / bs, bs, bs);
    const v = headwise(xm, rows, param(mixer, 'v_proj.weight'), inner / bs, bs, bs);
    const qkv = new Float64Array(rows * 3 * inner);
    for (let r = 0; r < rows; r++) {
      qkv.set(q.subarray(r * inner, (r + 1) * inner), r * 3 * inner);
      qkv.set(k.subarray(r * inner, (r + 1) * inner), r * 3 * inner + inner);
      qkv.set(v.subarray(r * inner, (r + 1) * inner), r * 3 * inner + 2 * inner);
    }
    const ig = linear(qkv, rows, 3 * inner, param(mixer, 'mlstm_cell.igate.weight'), H, param(mixer, 'mlstm_cell.igate.bias'));
    const fg = linear(qkv, rows, 3 * inner, param(mixer, 'mlstm_cell.fgate.weight'), H, param(mixer, 'mlstm_cell.fgate.bias'));

    const h = new Float64Array(rows * inner);
    for (let b = 0; b < batch; b++) {
      for (let hd = 0; hd < H; hd++) {
        const C = new Float64Array(dh * dh); // C[a, j]: key channel a, value channel j
        const n = new Float64Array(dh);
        let m = 0;
        for (let t = 0; t < L; t++) {
          const r = b * L + t;
          const o = r * inner + hd * dh;
          const logF = logSigmoid(fg[r * H + hd]!);
          const iPre = ig[r * H + hd]!;
          const mNew = Math.max(logF + m, iPre);
          const fAct = Math.exp(logF + m - mNew);
          const iAct = Math.exp(iPre - mNew);
          m = mNew;
          for (let a = 0; a < dh; a++) {
            const ka = k[o + a]! / Math.sqrt(dh);
            n[a] = fAct * n[a]! + iAct * ka;
            for (let j = 0; j < dh; j++) C[a * dh + j] = fAct * C[a * dh + j]! + iAct * ka * v[o + j]!;
          }
          let qn = 0;
          for (let a = 0; a < dh; a++) qn += q[o + a]! * n[a]!;
          const denom = Math.max(Math.abs(qn), Math.exp(-m)) + 1e-6;
          for (let j = 0; j < dh; j++) {
            let s = 0;
            for (let a = 0; a < dh; a++) s += q[o + a]! * C[a * dh + j]!;
            h[o + j] = s / denom;
          }
        }
      }
    }
    const normW = param(mixer, 'mlstm_cell.outnorm.weight').map((e) => 1 + e);
    const hn = layerNorm(h, rows, inner, normW, undefined, 1e-5, dh);
    const skip = param(mixer, 'learnable_skip');
    const g = new Float64Array(rows * inner);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < inner; j++) g[r * inner + j] = (hn[r * inner + j]! + skip[j]! * c[r * inner + j]!) * silu(z[r * inner + j]!);
    }
    return linear(g, rows, inner, param(mixer, 'proj_down.weight'), d);
  },
};
