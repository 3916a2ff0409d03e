// Float64 references for rmsNorm / layerNorm with residual and gate options.
import { sigmoid } from './elementwise.js';

export interface NormRefOptions {
  rms: boolean;
  weight?: ArrayLike<number>;
  bias?: ArrayLike<number>;
  residual?: ArrayLike<number>;
  gate?: ArrayLike<number>;
  gateBefore?: boolean;
  eps: number;
  groupSize: number;
}

export function normRef(x: ArrayLike<number>, dim: number, o: NormRefOptions): { y: Float64Array; sum: Float64Array } {
  const rows = x.length / dim;
  const y = new Float64Array(x.length);
  const sum = new Float64Array(x.length);
  const silu = (v: number) => v * sigmoid(v);
  for (let r = 0; r < rows; r++) {
    const v = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      v[i] = x[r * dim + i]! + (o.residual ? o.residual[r * dim + i]! : 0);
      sum[r * dim + i] = v[i]!;
      if (o.gate && o.gateBefore) v[i]! *= silu(o.gate[r * dim + i]!);
    }
    for (let g0 = 0; g0 < dim; g0 += o.groupSize) {
      let mean = 0;
      if (!o.rms) {
        for (let i = g0; i < g0 + o.groupSize; i++) mean += v[i]!;
        mean /= o.groupSize;
      }
      let ms = 0;
      for (let i = g0; i < g0 + o.groupSize; i++) ms += (v[i]! - mean) ** 2;
      ms /= o.groupSize;
      const scale = 1 / Math.sqrt(ms + o.eps);
      for (let i = g0; i < g0 + o.groupSize; i++) {
        let out = (v[i]! - mean) * scale;
        if (o.weight) out *= o.weight[i]!;
        if (o.bias) out += o.bias[i]!;
        if (o.gate && !o.gateBefore) out *= silu(o.gate[r * dim + i]!);
        y[r * dim + i] = out;
      }
    }
  }
  return { y, sum };
}
