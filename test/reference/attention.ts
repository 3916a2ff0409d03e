// Float64 reference for ops.attention: the explicit score matrix per (row,
// head), its masks, a plain softmax, then P·V. No tiling, no online softmax.

export interface AttentionRefOptions {
  causal?: boolean;
  window?: number;
  scale?: number;
  softcap?: number;
  /** valid keys per batch row (default Tk) */
  kvLengths?: ArrayLike<number>;
}

/**
 * q [b, Tq, H, D], k/v [b, Tk, Hkv, D] (flat, row-major) → o [b, Tq, H, D].
 * Query i of row r sits at position L − Tq + i with L = kvLengths[r] (or Tk);
 * with causal it sees keys at positions j ≤ pos, with window also j > pos − window;
 * keys at j ≥ L never. A query that sees no key gets zeros.
 */
export function attentionRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: { b: number; Tq: number; Tk: number; H: number; Hkv: number; D: number },
  options: AttentionRefOptions = {},
): Float64Array {
  const { b, Tq, Tk, H, Hkv, D } = dims;
  const scale = options.scale ?? 1 / Math.sqrt(D);
  const group = H / Hkv;
  const o = new Float64Array(b * Tq * H * D);
  const scores = new Float64Array(Tq * Tk);
  const visible = new Uint8Array(Tq * Tk);
  for (let row = 0; row < b; row++) {
    const L = options.kvLengths ? options.kvLengths[row]! : Tk;
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      // The full [Tq, Tk] score matrix and its mask.
      for (let i = 0; i < Tq; i++) {
        const pos = L - Tq + i;
        for (let j = 0; j < Tk; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[((row * Tq + i) * H + h) * D + d]! * k[((row * Tk + j) * Hkv + kvh) * D + d]!;
          let s = dot * scale;
          if (options.softcap) s = options.softcap * Math.tanh(s / options.softcap);
          scores[i * Tk + j] = s;
          let ok = j < L;
          if (options.causal && j > pos) ok = false;
          if (options.window !== undefined && j <= pos - options.window) ok = false;
          visible[i * Tk + j] = ok ? 1 : 0;
        }
      }
      // Softmax over the visible keys of each query, then P·V.
      for (let i = 0; i < Tq; i++) {
        let max = -Infinity;
        for (let j = 0; j < Tk; j++) if (visible[i * Tk + j]) max = Math.max(max, scores[i * Tk + j]!);
        if (max === -Infinity) continue; // no visible key: the output row stays zero
        let sum = 0;
        for (let j = 0; j < Tk; j++) if (visible[i * Tk + j]) sum += Math.exp(scores[i * Tk + j]! - max);
        const out = ((row * Tq + i) * H + h) * D;
        for (let j = 0; j < Tk; j++) {
          if (!visible[i * Tk + j]) continue;
          const p = Math.exp(scores[i * Tk + j]! - max) / sum;
          for (let d = 0; d < D; d++) o[out + d] += p * v[((row * Tk + j) * Hkv + kvh) * D + d]!;
        }
      }
    }
  }
  return o;
}
