// Shared by the linear Transformer and the Performer: causal linear attention
// normalised by its own denominator, per head,
//
//   y_t = φq_t·S_t / (φq_t·z_t + eps),   S_t = Σ_{s≤t} φk_sᵀ v_s [K, V],   z_t = Σ_{s≤t} φk_s [K]
//
// computed by ONE linearAttention call (scale 1, no decay): v carries an extra
// column of ones per head, so the op's state [K, V + 1] holds S in its first V
// columns and z in the last, and its output holds the numerator and the
// denominator side by side. The column of ones comes out of the value
// projection itself (a zero weight row with bias 1), so it costs no op.

import type { OpRunner } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import type { Init } from '../init.js';

/**
 * nn.Linear weight [h·V, d] (and bias [h·V]) → [h·(V + 1), d] and bias [h·(V + 1)]:
 * each head's V rows followed by a zero row whose bias is 1, so x·Wᵀ + b gives [v_head, 1] per head.
 */
export function withOnesColumn(weight: Tensor, bias: Tensor | undefined, heads: number): { weight: Tensor; bias: Tensor } {
  const [rows, d] = weight.shape as [number, number];
  const V = rows / heads;
  const w = new Float32Array(heads * (V + 1) * d);
  const b = new Float32Array(heads * (V + 1));
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < V; j++) {
      w.set(weight.data.subarray((h * V + j) * d, (h * V + j + 1) * d) as Float32Array, (h * (V + 1) + j) * d);
      b[h * (V + 1) + j] = bias ? bias.data[h * V + j]! : 0;
    }
    b[h * (V + 1) + V] = 1;
  }
  return { weight: new Tensor(w, [heads * (V + 1), d]), bias: new Tensor(b, [heads * (V + 1)]) };
}

/**
 * fq, fk [b, T, h, K] (positive features), v1 [b, T, h, V + 1] (values with the ones column),
 * S0 [b, h, K, V + 1] or none → y [b, T, h, V] and, with S0, the new state.
 */
export function normalisedLinearAttention(
  run: OpRunner,
  fq: Tensor,
  fk: Tensor,
  v1: Tensor,
  eps: number,
  S0: Tensor | undefined,
): { y: Tensor; S?: Tensor } {
  const [b, T, h, V1] = v1.shape as [number, number, number, number];
  const V = V1 - 1;
  const { o, finalState } = run.linearAttention({ q: fq, k: fk, v: v1, scale: 1, initialState: S0, outputFinalState: S0 !== undefined });
  const num = run.slice({ x: o, axis: 3, start: 0, end: V }).y;
  // The denominator [b, T, h, 1], repeated across the V value channels for the division.
  const den = run.expand({ x: run.slice({ x: o, axis: 3, start: V, end: V1 }).y, shape: [b, T, h, V] }).y;
  const y = run.elementwise({ expr: `n / (z + ${eps})`, inputs: { n: num, z: den } }).y;
  return finalState ? { y, S: finalState } : { y };
}

/** Glorot/Xavier uniform for an nn.Linear weight [out, in]: U(±gain·√(6/(in + out))). */
export function xavierUniform(init: Init, out: number, inFeatures: number, gain = 1): Tensor<'float32'> {
  const bound = gain * Math.sqrt(6 / (inFeatures + out));
  return init.uniform([out, inFeatures], -bound, bound);
}
