// Float64 rotary embedding reference: angle(p, i) = p · base^(−2i/rotaryDim).

export function ropeRef(
  x: ArrayLike<number>,
  [b, T, H, D]: [number, number, number, number],
  positionOf: (row: number, t: number) => number,
  o: { rotaryDim: number; base: number; interleaved: boolean; positionScale?: number },
): Float64Array {
  const y = Float64Array.from(x);
  const pairs = o.rotaryDim / 2;
  for (let r = 0; r < b; r++) {
    for (let t = 0; t < T; t++) {
      const p = positionOf(r, t) * (o.positionScale ?? 1);
      for (let h = 0; h < H; h++) {
        const base = ((r * T + t) * H + h) * D;
        for (let i = 0; i < pairs; i++) {
          const angle = p * o.base ** ((-2 * i) / o.rotaryDim);
          const [j0, j1] = o.interleaved ? [2 * i, 2 * i + 1] : [i, i + pairs];
          const a = x[base + j0]!;
          const c = x[base + j1]!;
          y[base + j0] = a * Math.cos(angle) - c * Math.sin(angle);
          y[base + j1] = a * Math.sin(angle) + c * Math.cos(angle);
        }
      }
    }
  }
  return y;
}
