// fftConv: long causal depthwise convolution (native/cpu/fft_conv.cc; reference
// in test/reference/fft_conv.ts), the convolution mode of S4/S4D/H3/Hyena layers:
//
//   y[b, t, ch] = Σ_{s=0}^{min(t, Lk−1)} k[ch, s]·u[b, t−s, ch] + D[ch]·u[b, t, ch]
//
// By FFT in O(L log L) (own real FFT, float32 with double-accurate twiddles),
// or by the direct sum when L or Lk is short enough that it is cheaper.

import type { Tensor } from '../tensor.js';
import {
  checkArgs,
  expectDType,
  expectNonEmpty,
  expectRank,
  expectShape,
  expectTensor,
  optionalString,
  optionalTensor,
  shapeString,
} from '../validate.js';
import { defineOp } from './registry.js';

export type ConvMethod = 'auto' | 'fft' | 'direct';

export interface FftConvArgs {
  /** [b, L, c] float32, token-major */
  u: Tensor;
  /** [c, Lk] float32, 1 ≤ Lk ≤ L: tap s of channel ch multiplies u[t − s] */
  k: Tensor;
  /** [c] float32: skip term D·u */
  D?: Tensor;
  /**
   * 'auto' (default) picks the cheaper path by size; 'fft' and 'direct' force
   * one (for benchmarks and tests; both give the same result to float rounding).
   */
  method?: ConvMethod;
  out?: { y?: Tensor };
}

export const fftConv = defineOp<FftConvArgs, { y: Tensor }>({
  name: 'fftConv',
  prepare(args, output) {
    const op = 'fftConv';
    checkArgs(op, args, ['u', 'k', 'D', 'method']);
    const u = expectTensor(op, 'u', args.u);
    const k = expectTensor(op, 'k', args.k);
    const D = optionalTensor(op, 'D', args.D);
    const method = optionalString(op, 'method', args.method, ['auto', 'fft', 'direct'] as const, 'auto');
    expectDType(op, 'u', u, ['float32']);
    expectDType(op, 'k', k, ['float32']);
    expectRank(op, 'u', u, 3, '[b, L, c]');
    expectRank(op, 'k', k, 2, '[c, Lk]');
    expectNonEmpty(op, 'u', u);
    expectNonEmpty(op, 'k', k);
    const [b, L, c] = u.shape as [number, number, number];
    const [kc, Lk] = k.shape as [number, number];
    if (kc !== c) throw new RangeError(`${op}: k must have shape [c=${c}, Lk] to match u ${shapeString(u.shape)}, got ${shapeString(k.shape)}`);
    if (Lk > L) throw new RangeError(`${op}: k's length Lk must be ≤ L=${L} (u ${shapeString(u.shape)}), got k ${shapeString(k.shape)}`);
    if (D) {
      expectDType(op, 'D', D, ['float32']);
      expectShape(op, 'D', D, [c], '[c]');
    }
    const y = output('y', [b, L, c]);
    return { tensors: { u, k, D, y }, attrs: { method }, result: { y } };
  },
});
