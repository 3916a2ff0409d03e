// Shared pieces of the float64 model references: reading HF-named tensors and the embedding lookup.

import type { Tensor } from '../../../lib/tensor.js';

/** A getter for named tensors as float64 (throws naming the reference and the missing tensor). */
export function tensorGetter(where: string, tensors: Map<string, Tensor>): (name: string) => Float64Array {
  return (name) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${where}: missing ${name}`);
    return Float64Array.from(t.toArray());
  };
}

/** Rows of the embedding table [vocab, d] for tokens [batch][L], times scale: [batch·L, d]. */
export function embed(table: Float64Array, d: number, tokens: number[][], scale = 1): Float64Array {
  const ids = tokens.flat();
  const x = new Float64Array(ids.length * d);
  ids.forEach((id, r) => {
    for (let j = 0; j < d; j++) x[r * d + j] = table[id * d + j]! * scale;
  });
  return x;
}
