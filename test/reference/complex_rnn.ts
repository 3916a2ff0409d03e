// Float64 unitary-RNN recurrence with modReLU.
export function complexRnnRef(u: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number>, h0: ArrayLike<number> | undefined, B: number, L: number, H: number) {
  const y = new Float64Array(B * L * H * 2);
  const last = new Float64Array(B * H * 2);
  for (let b = 0; b < B; b++) {
    let hr = Array.from({ length: H }, (_, j) => (h0 ? h0[(b * H + j) * 2]! : 0));
    let hi = Array.from({ length: H }, (_, j) => (h0 ? h0[(b * H + j) * 2 + 1]! : 0));
    for (let t = 0; t < L; t++) {
      const nr = new Array<number>(H);
      const ni = new Array<number>(H);
      for (let i = 0; i < H; i++) {
        let zr = u[((b * L + t) * H + i) * 2]!;
        let zi = u[((b * L + t) * H + i) * 2 + 1]!;
        for (let j = 0; j < H; j++) {
          const ar = w[(i * H + j) * 2]!, ai = w[(i * H + j) * 2 + 1]!;
          zr += ar * hr[j]! - ai * hi[j]!;
          zi += ar * hi[j]! + ai * hr[j]!;
        }
        const mag = Math.hypot(zr, zi);
        const s = mag + bias[i]! > 0 && mag > 0 ? (mag + bias[i]!) / mag : 0;
        nr[i] = zr * s;
        ni[i] = zi * s;
        y[((b * L + t) * H + i) * 2] = nr[i]!;
        y[((b * L + t) * H + i) * 2 + 1] = ni[i]!;
      }
      hr = nr;
      hi = ni;
    }
    for (let j = 0; j < H; j++) {
      last[(b * H + j) * 2] = hr[j]!;
      last[(b * H + j) * 2 + 1] = hi[j]!;
    }
  }
  return { y, last };
}
