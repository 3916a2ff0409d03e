// Float64 building blocks for the layer references: plain loops over row-major
// arrays, no cleverness. Shapes are given explicitly; a "rows × n" array is
// rows consecutive vectors of length n.

import type { Mixer } from '../../../lib/layers/mixer.js';
import type { Tensor } from '../../../lib/tensor.js';

export type F64 = Float64Array;

/** A parameter of the mixer, as float64 (throws if it has no such parameter). */
export function param(mixer: Mixer, name: string): F64 {
  const t: Tensor | undefined = mixer.parameters[name];
  if (!t) throw new Error(`reference: ${mixer.kind} has no parameter '${name}'`);
  return Float64Array.from(t.toArray());
}

export function optionalParam(mixer: Mixer, name: string): F64 | undefined {
  return mixer.parameters[name] ? param(mixer, name) : undefined;
}

/** y [rows, out] = x [rows, inF] · Wᵀ (W [out, inF], PyTorch layout) + b. */
export function linear(x: F64, rows: number, inF: number, W: F64, out: number, b?: F64): F64 {
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i]! * W[o * inF + i]!;
      y[r * out + o] = s;
    }
  }
  return y;
}

export const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
export const silu = (v: number): number => v / (1 + Math.exp(-v));
export const softplus = (v: number): number => (v > 20 ? v : Math.log1p(Math.exp(v)));
export const relu = (v: number): number => Math.max(v, 0);
export const elu = (v: number): number => (v > 0 ? v : Math.expm1(v));
export const geluTanh = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

/** erf by its Maclaurin series near 0 and the continued fraction beyond (≈1e-15). */
export function erf(v: number): number {
  const a = Math.abs(v);
  let r: number;
  if (a < 2.5) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc(a) = exp(−a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + …))))
    let f = a;
    for (let n = 60; n >= 1; n--) f = a + n / 2 / f;
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  }
  return v < 0 ? -r : r;
}
export const gelu = (v: number): number => 0.5 * v * (1 + erf(v / Math.SQRT2));

export function map(x: F64, f: (v: number) => number): F64 {
  return x.map(f);
}

/** RMSNorm over groups of `group` features (group = n: the whole vector), times weight. */
export function rmsNorm(x: F64, rows: number, n: number, weight: F64 | undefined, eps: number, group = n): F64 {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let g0 = 0; g0 < n; g0 += group) {
      let ss = 0;
      for (let i = g0; i < g0 + group; i++) ss += x[r * n + i]! ** 2;
      const inv = 1 / Math.sqrt(ss / group + eps);
      for (let i = g0; i < g0 + group; i++) y[r * n + i] = x[r * n + i]! * inv * (weight ? weight[i]! : 1);
    }
  }
  return y;
}

/** LayerNorm (or GroupNorm with `group` < n: each group of features normalised on its own), then weight and bias. */
export function layerNorm(x: F64, rows: number, n: number, weight: F64 | undefined, bias: F64 | undefined, eps: number, group = n): F64 {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let g0 = 0; g0 < n; g0 += group) {
      let mean = 0;
      for (let i = g0; i < g0 + group; i++) mean += x[r * n + i]!;
      mean /= group;
      let v = 0;
      for (let i = g0; i < g0 + group; i++) v += (x[r * n + i]! - mean) ** 2;
      const inv = 1 / Math.sqrt(v / group + eps);
      for (let i = g0; i < g0 + group; i++) {
        y[r * n + i] = (x[r * n + i]! - mean) * inv * (weight ? weight[i]! : 1) + (bias ? bias[i]! : 0);
      }
    }
  }
  return y;
}

/**
 * Depthwise causal convolution over time for x [batch, L, c], weight [c, w]:
 * y[t, ch] = bias[ch] + Σ_j weight[ch, j]·x[t − (w − 1) + j, ch] (zeros before t = 0).
 */
export function causalConv(x: F64, batch: number, L: number, c: number, weight: F64, w: number, bias?: F64): F64 {
  const y = new Float64Array(batch * L * c);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < L; t++) {
      for (let ch = 0; ch < c; ch++) {
        let s = bias ? bias[ch]! : 0;
        for (let j = 0; j < w; j++) {
          const tt = t - (w - 1) + j;
          if (tt >= 0) s += weight[ch * w + j]! * x[(b * L + tt) * c + ch]!;
        }
        y[(b * L + t) * c + ch] = s;
      }
    }
  }
  return y;
}

/** softmax of v (in place on a copy). */
export function softmax(v: F64): F64 {
  let m = -Infinity;
  for (const e of v) m = Math.max(m, e);
  const out = v.map((e) => Math.exp(e - m));
  const s = out.reduce((a, e) => a + e, 0);
  return out.map((e) => e / s);
}

/** Columns [from, to) of a rows × n array. */
export function columns(x: F64, rows: number, n: number, from: number, to: number): F64 {
  const w = to - from;
  const y = new Float64Array(rows * w);
  for (let r = 0; r < rows; r++) for (let i = 0; i < w; i++) y[r * w + i] = x[r * n + from + i]!;
  return y;
}
