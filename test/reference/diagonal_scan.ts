// Float64 reference of diagonalScan: h_t = a_t ⊙ h_{t−1} + b_t, one
// (batch, channel) at a time, step by step. Complex elements are (re, im)
// pairs and ⊙ is complex multiplication.

export function diagonalScanRef(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  [batch, L, c]: [number, number, number],
  complex: boolean,
  initialState?: ArrayLike<number>,
): { h: Float64Array; lastState: Float64Array } {
  const width = complex ? 2 : 1;
  const h = new Float64Array(batch * L * c * width);
  const lastState = new Float64Array(batch * c * width);
  for (let bi = 0; bi < batch; bi++) {
    for (let ch = 0; ch < c; ch++) {
      const s = (bi * c + ch) * width;
      let re = initialState ? initialState[s]! : 0;
      let im = initialState && complex ? initialState[s + 1]! : 0;
      for (let t = 0; t < L; t++) {
        const i = ((bi * L + t) * c + ch) * width;
        if (complex) {
          const ar = a[i]!, ai = a[i + 1]!;
          [re, im] = [ar * re - ai * im + b[i]!, ar * im + ai * re + b[i + 1]!];
          h[i] = re;
          h[i + 1] = im;
        } else {
          re = a[i]! * re + b[i]!;
          h[i] = re;
        }
      }
      lastState[s] = re;
      if (complex) lastState[s + 1] = im;
    }
  }
  return { h, lastState };
}
