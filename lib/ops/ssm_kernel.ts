// ssmKernel: the convolution kernel of a diagonal complex state-space model
// (S4D; S4 after diagonalisation) by the Vandermonde product
// (native/cpu/ssm_kernel.cc; reference in test/reference/ssm_kernel.ts):
//
//   K[ch, l] = 2·Re Σ_n C[ch, n]·B̄[ch, n]·Ā[ch, n]^l,   0 ≤ l < length
//
//   'zoh':      Ā = exp(ΔA),                  B̄ = (Ā − 1)/A · B
//   'bilinear': Ā = (1 + ΔA/2)/(1 − ΔA/2),     B̄ = Δ/(1 − ΔA/2) · B
//
// The factor 2 accounts for the conjugate half of the state (S4D's
// `2 * K.real`). With K, fftConv({ u, k: K, D }) runs the layer's convolution
// mode, which equals the recurrence h_t = Ā h_{t−1} + B̄ u_t, y_t = 2·Re(C·h_t) + D u_t.

import type { Tensor } from '../tensor.js';
import {
  checkArgs,
  describe,
  expectDType,
  expectNonEmpty,
  expectRank,
  expectShape,
  expectTensor,
  optionalString,
  shapeString,
} from '../validate.js';
import { defineOp } from './registry.js';

export type Discretization = 'zoh' | 'bilinear';

export interface SsmKernelArgs {
  /** [c, n, 2] float32: the diagonal state matrix as (re, im), Re ≤ 0 (stable) */
  A: Tensor;
  /** [c, n, 2] float32 (re, im) */
  B: Tensor;
  /** [c, n, 2] float32 (re, im) */
  C: Tensor;
  /** [c] float32: step size Δ > 0 (not its log) */
  delta: Tensor;
  /** L: kernel length, an integer ≥ 1 */
  length: number;
  /** default 'zoh' */
  discretization?: Discretization;
  out?: { k?: Tensor };
}

export const ssmKernel = defineOp<SsmKernelArgs, { k: Tensor }>({
  name: 'ssmKernel',
  prepare(args, output) {
    const op = 'ssmKernel';
    checkArgs(op, args, ['A', 'B', 'C', 'delta', 'length', 'discretization']);
    const A = expectTensor(op, 'A', args.A);
    const B = expectTensor(op, 'B', args.B);
    const C = expectTensor(op, 'C', args.C);
    const delta = expectTensor(op, 'delta', args.delta);
    const length = args.length as unknown;
    if (typeof length !== 'number' || Number.isNaN(length)) throw new TypeError(`${op}: length must be a number (the kernel length L), got ${describe(length)}`);
    if (!Number.isInteger(length) || length < 1 || length > 2 ** 31 - 1) {
      throw new RangeError(`${op}: length must be an integer in [1, 2^31 − 1], got ${length}`);
    }
    const discretization = optionalString(op, 'discretization', args.discretization, ['zoh', 'bilinear'] as const, 'zoh');
    for (const [name, t] of [['A', A], ['B', B], ['C', C], ['delta', delta]] as [string, Tensor][]) expectDType(op, name, t, ['float32']);
    expectRank(op, 'A', A, 3, '[c, n, 2] as (re, im)');
    expectNonEmpty(op, 'A', A);
    const [c, n, parts] = A.shape as [number, number, number];
    if (parts !== 2) throw new RangeError(`${op}: A must have shape [c, n, 2] (complex as re, im), got ${shapeString(A.shape)}`);
    expectShape(op, 'B', B, [c, n, 2], '[c, n, 2] like A');
    expectShape(op, 'C', C, [c, n, 2], '[c, n, 2] like A');
    expectShape(op, 'delta', delta, [c], '[c]');
    // On the device these values are checked natively, on a host copy (native/cuda/fft_dispatch.cc).
    if (A.device === 'cpu') {
      const a = A.data as Float32Array;
      for (let i = 0; i < c * n; i++) {
        if (a[2 * i]! > 0) {
          throw new RangeError(`${op}: A must have real parts ≤ 0 (a stable SSM), got Re A[${Math.floor(i / n)}, ${i % n}] = ${a[2 * i]}`);
        }
      }
      const d = delta.data as Float32Array;
      for (let i = 0; i < c; i++) {
        if (!(d[i]! > 0) || !Number.isFinite(d[i]!)) throw new RangeError(`${op}: delta must be finite and > 0 (a step size, not its log), got delta[${i}] = ${d[i]}`);
      }
    }
    const k = output('k', [c, length]);
    return { tensors: { A, B, C, delta, k }, attrs: { length, discretization }, result: { k } };
  },
});
