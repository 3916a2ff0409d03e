// Float64 references for matmul and linear: the textbook triple loop.

/** y[i][j] = Σ_k a[i][k] · b[k][j]  (b stored [K, N], or [N, K] when transB). */
export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, M: number, K: number, N: number, transB: boolean): Float64Array {
  const y = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += a[i * K + k]! * (transB ? b[j * K + k]! : b[k * N + j]!);
      y[i * N + j] = sum;
    }
  }
  return y;
}

/** y = x · weightᵀ + bias, weight [out, in]. */
export function linearRef(x: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number> | undefined, rows: number, inF: number, outF: number): Float64Array {
  const y = matmulRef(x, weight, rows, inF, outF, true);
  if (bias) for (let i = 0; i < rows; i++) for (let j = 0; j < outF; j++) y[i * outF + j] += bias[j]!;
  return y;
}
