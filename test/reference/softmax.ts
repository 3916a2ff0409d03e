// Float64 softmax / log-softmax over rows.
export function softmaxRef(x: ArrayLike<number>, dim: number, scale = 1, log = false): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / dim; r++) {
    let max = -Infinity;
    for (let i = 0; i < dim; i++) max = Math.max(max, scale * x[r * dim + i]!);
    let sum = 0;
    for (let i = 0; i < dim; i++) sum += Math.exp(scale * x[r * dim + i]! - max);
    for (let i = 0; i < dim; i++) {
      const z = scale * x[r * dim + i]! - max;
      y[r * dim + i] = log ? z - Math.log(sum) : Math.exp(z) / sum;
    }
  }
  return y;
}
