// Seeded parameter initialisers. Every layer takes a seed; each parameter
// draws from its own stream (seed, parameter index), so adding a parameter to
// one layer never changes the values of another.

import { Tensor } from '../tensor.js';
import { Rng } from '../random.js';

/** A per-layer source of seeded streams. */
export class Init {
  private next = 0;
  constructor(private readonly seed: number) {}

  /** A fresh generator for the next parameter. */
  rng(): Rng {
    return new Rng(this.seed * 1000003 + 7919 * ++this.next);
  }

  uniform(shape: number[], low: number, high: number): Tensor<'float32'> {
    const r = this.rng();
    const t = Tensor.zeros(shape);
    const d = t.data;
    for (let i = 0; i < d.length; i++) d[i] = low + (high - low) * r.uniform();
    return t;
  }

  normal(shape: number[], std: number, mean = 0): Tensor<'float32'> {
    const r = this.rng();
    const t = Tensor.zeros(shape);
    const d = t.data;
    for (let i = 0; i < d.length; i++) d[i] = mean + std * r.normal();
    return t;
  }

  /** PyTorch's nn.Linear default: U(−1/√in, 1/√in) for weight [out, in] (and bias). */
  linear(out: number, inFeatures: number): Tensor<'float32'> {
    const bound = 1 / Math.sqrt(inFeatures);
    return this.uniform([out, inFeatures], -bound, bound);
  }

  linearBias(out: number, inFeatures: number): Tensor<'float32'> {
    const bound = 1 / Math.sqrt(inFeatures);
    return this.uniform([out], -bound, bound);
  }

  zeros(shape: number[]): Tensor<'float32'> {
    return Tensor.zeros(shape);
  }

  full(shape: number[], value: number): Tensor<'float32'> {
    return Tensor.full(shape, value) as Tensor<'float32'>;
  }

  /** A random orthogonal n×n matrix: QR of a Gaussian matrix with the signs of R's diagonal fixed (Haar measure). */
  orthogonal(n: number): Float64Array {
    const r = this.rng();
    const q = Float64Array.from({ length: n * n }, () => r.normal());
    // Modified Gram-Schmidt on the columns.
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[i * n + j]! * q[i * n + k]!;
        for (let i = 0; i < n; i++) q[i * n + j] -= dot * q[i * n + k]!;
      }
      let norm = 0;
      for (let i = 0; i < n; i++) norm += q[i * n + j]! ** 2;
      norm = Math.sqrt(norm);
      for (let i = 0; i < n; i++) q[i * n + j] /= norm;
    }
    return q;
  }
}

export function toFloat32Tensor(values: ArrayLike<number>, shape: number[]): Tensor<'float32'> {
  return new Tensor(Float32Array.from(values), shape);
}
