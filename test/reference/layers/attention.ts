// Float64 causal softmax attention (Llama / Griffin local attention), token by token:
// projections, RoPE on the first rotaryDim channels of each head (halves paired),
// scores over the visible keys (window), optional softcap, softmax, o_proj.

import type { LayerReference } from './index.js';
import { linear, optionalParam, param, softmax } from './common.js';

export const attentionReference: LayerReference = {
  forward(mixer, x, batch, L) {
    const c = mixer.config as unknown as { heads: number; kvHeads: number; headDim: number; window: number; softcap: number; ropeBase: number; ropeFraction: number; dOut?: number; scale?: number };
    const d = mixer.dModel;
    const [H, Hkv] = [c.heads, c.kvHeads];
    const D = c.headDim || d / H;
    const rd = 2 * Math.floor((c.ropeFraction * D) / 2);
    const rows = batch * L;
    const q = linear(x, rows, d, param(mixer, 'q_proj.weight'), H * D, optionalParam(mixer, 'q_proj.bias'));
    const k = linear(x, rows, d, param(mixer, 'k_proj.weight'), Hkv * D, optionalParam(mixer, 'k_proj.bias'));
    const v = linear(x, rows, d, param(mixer, 'v_proj.weight'), Hkv * D, optionalParam(mixer, 'v_proj.bias'));
    const rotate = (a: Float64Array, heads: number) => {
      for (let b = 0; b < batch; b++) {
        for (let t = 0; t < L; t++) {
          for (let h = 0; h < heads; h++) {
            const base = ((b * L + t) * heads + h) * D;
            for (let i = 0; i < rd / 2; i++) {
              const angle = t * c.ropeBase ** ((-2 * i) / rd);
              const [u, w] = [a[base + i]!, a[base + i + rd / 2]!];
              a[base + i] = u * Math.cos(angle) - w * Math.sin(angle);
              a[base + i + rd / 2] = u * Math.sin(angle) + w * Math.cos(angle);
            }
          }
        }
      }
    };
    rotate(q, H);
    rotate(k, Hkv);
    const o = new Float64Array(rows * H * D);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < L; t++) {
        const first = c.window > 0 ? Math.max(0, t - c.window + 1) : 0;
        for (let h = 0; h < H; h++) {
          const g = Math.floor(h / (H / Hkv));
          const scores = new Float64Array(t - first + 1);
          for (let s = first; s <= t; s++) {
            let dot = 0;
            for (let j = 0; j < D; j++) dot += q[((b * L + t) * H + h) * D + j]! * k[((b * L + s) * Hkv + g) * D + j]!;
            dot *= c.scale || 1 / Math.sqrt(D);
            scores[s - first] = c.softcap > 0 ? c.softcap * Math.tanh(dot / c.softcap) : dot;
          }
          const p = softmax(scores);
          for (let s = first; s <= t; s++) {
            for (let j = 0; j < D; j++) o[((b * L + t) * H + h) * D + j] += p[s - first]! * v[((b * L + s) * Hkv + g) * D + j]!;
          }
        }
      }
    }
    return linear(o, rows, H * D, param(mixer, 'o_proj.weight'), c.dOut || d, optionalParam(mixer, 'o_proj.bias'));
  },
};
