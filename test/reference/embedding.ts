// Float64 embedding gather.
export function embeddingRef(ids: ArrayLike<number>, table: ArrayLike<number>, dim: number): Float64Array {
  const y = new Float64Array(ids.length * dim);
  for (let i = 0; i < ids.length; i++) for (let j = 0; j < dim; j++) y[i * dim + j] = table[ids[i]! * dim + j]!;
  return y;
}
