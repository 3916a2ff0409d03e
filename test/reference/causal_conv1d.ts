// Float64 reference of causalConv1d, written as PyTorch computes it:
// Conv1d(c, c, w, groups=c, padding=w − 1) over the sequence with the state's
// w − 1 inputs (or zeros) in the left padding, keeping the first L outputs.

export function causalConv1dRef(
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  [batch, L, c, w]: [number, number, number, number],
  options: { bias?: ArrayLike<number>; initialState?: ArrayLike<number>; silu?: boolean } = {},
): { y: Float64Array; finalState: Float64Array } {
  const y = new Float64Array(batch * L * c);
  const finalState = new Float64Array(batch * c * (w - 1));
  for (let bi = 0; bi < batch; bi++) {
    for (let ch = 0; ch < c; ch++) {
      // This channel's padded input: w − 1 on the left, the sequence, w − 1 on the right.
      const padded = new Float64Array(L + 2 * (w - 1));
      for (let k = 0; k < w - 1; k++) padded[k] = options.initialState ? options.initialState[(bi * c + ch) * (w - 1) + k]! : 0;
      for (let t = 0; t < L; t++) padded[w - 1 + t] = x[(bi * L + t) * c + ch]!;
      // Cross-correlation (what Conv1d computes), first L of its L + w − 1 outputs.
      for (let t = 0; t < L; t++) {
        let sum = options.bias ? options.bias[ch]! : 0;
        for (let j = 0; j < w; j++) sum += weight[ch * w + j]! * padded[t + j]!;
        y[(bi * L + t) * c + ch] = options.silu ? sum / (1 + Math.exp(-sum)) : sum;
      }
      // The last w − 1 inputs seen, state included.
      for (let k = 0; k < w - 1; k++) finalState[(bi * c + ch) * (w - 1) + k] = padded[L + k]!;
    }
  }
  return { y, finalState };
}
