// matmul and linear: the GEMM ops (native/ops/matmul.cc, kernels in
// native/cpu/gemm.cc and gemv.cc; reference in test/reference/matmul.ts).

import type { Tensor } from '../tensor.js';
import {
  checkArgs,
  expectDType,
  expectMinRank,
  expectNonEmpty,
  expectRank,
  expectShape,
  expectTensor,
  optionalBoolean,
  optionalTensor,
  shapeString,
} from '../validate.js';
import { defineOp } from './registry.js';

export interface MatmulArgs {
  /** [..., M, K] float32 */
  a: Tensor;
  /** [K, N], or [N, K] with transB; float32, bfloat16 or float16 */
  b: Tensor;
  transB?: boolean;
  out?: { y?: Tensor };
}

export interface LinearArgs {
  /** [..., in] float32 */
  x: Tensor;
  /** [out, in] (PyTorch's Linear.weight); float32, bfloat16 or float16 */
  weight: Tensor;
  /** [out] float32 */
  bias?: Tensor;
  out?: { y?: Tensor };
}

export const WEIGHT_DTYPES = ['float32', 'bfloat16', 'float16'] as const;

export const matmul = defineOp<MatmulArgs, { y: Tensor }>({
  name: 'matmul',
  prepare(args, output) {
    const op = 'matmul';
    checkArgs(op, args, ['a', 'b', 'transB']);
    const a = expectTensor(op, 'a', args.a);
    const b = expectTensor(op, 'b', args.b);
    const transB = optionalBoolean(op, 'transB', args.transB, false);
    expectDType(op, 'a', a, ['float32']);
    expectDType(op, 'b', b, WEIGHT_DTYPES);
    expectMinRank(op, 'a', a, 2, '[..., M, K]');
    expectRank(op, 'b', b, 2, transB ? '[N, K] with transB' : '[K, N]');
    expectNonEmpty(op, 'a', a);
    expectNonEmpty(op, 'b', b);
    const K = a.shape[a.rank - 1]!;
    const bK = transB ? b.shape[1]! : b.shape[0]!;
    if (bK !== K) {
      const want = transB ? `[N, K=${K}]` : `[K=${K}, N]`;
      throw new RangeError(`${op}: b must have shape ${want} to match a ${shapeString(a.shape)}, got ${shapeString(b.shape)}`);
    }
    const N = transB ? b.shape[0]! : b.shape[1]!;
    const y = output('y', [...a.shape.slice(0, -1), N]);
    return { tensors: { a, b, y }, attrs: { transB }, result: { y } };
  },
});

export const linear = defineOp<LinearArgs, { y: Tensor }>({
  name: 'linear',
  prepare(args, output) {
    const op = 'linear';
    checkArgs(op, args, ['x', 'weight', 'bias']);
    const x = expectTensor(op, 'x', args.x);
    const weight = expectTensor(op, 'weight', args.weight);
    const bias = optionalTensor(op, 'bias', args.bias);
    expectDType(op, 'x', x, ['float32']);
    expectDType(op, 'weight', weight, WEIGHT_DTYPES);
    expectMinRank(op, 'x', x, 1, '[..., in]');
    expectRank(op, 'weight', weight, 2, '[out, in]');
    expectNonEmpty(op, 'x', x);
    expectNonEmpty(op, 'weight', weight);
    const inFeatures = x.shape[x.rank - 1]!;
    const [outFeatures, weightIn] = weight.shape as [number, number];
    if (weightIn !== inFeatures) {
      throw new RangeError(`${op}: weight must have shape [out, in=${inFeatures}] to match x ${shapeString(x.shape)}, got ${shapeString(weight.shape)}`);
    }
    if (bias) {
      expectDType(op, 'bias', bias, ['float32']);
      expectShape(op, 'bias', bias, [outFeatures], '[out]');
    }
    const y = output('y', [...x.shape.slice(0, -1), outFeatures]);
    return { tensors: { x, weight, bias, y }, result: { y } };
  },
});

export interface BmmArgs {
  /** [..., M, K] float32 */
  a: Tensor;
  /** [..., K, N] (or [..., N, K] with transB), the same leading dimensions as a */
  b: Tensor;
  transB?: boolean;
  out?: { y?: Tensor };
}

/** Batched matmul: one product per leading index (attention-style blocks). */
export const bmm = defineOp<BmmArgs, { y: Tensor }>({
  name: 'bmm',
  prepare(args, output) {
    const op = 'bmm';
    checkArgs(op, args, ['a', 'b', 'transB']);
    const a = expectTensor(op, 'a', args.a);
    const b = expectTensor(op, 'b', args.b);
    const transB = optionalBoolean(op, 'transB', args.transB, false);
    expectDType(op, 'a', a, ['float32']);
    expectDType(op, 'b', b, WEIGHT_DTYPES);
    expectMinRank(op, 'a', a, 3, '[..., M, K]');
    expectNonEmpty(op, 'a', a);
    expectNonEmpty(op, 'b', b);
    if (b.rank !== a.rank || b.shape.slice(0, -2).some((d, i) => d !== a.shape[i])) {
      throw new RangeError(`${op}: b ${shapeString(b.shape)} must have a's leading dimensions ${shapeString(a.shape.slice(0, -2))}`);
    }
    const K = a.shape[a.rank - 1]!;
    const bK = transB ? b.shape[b.rank - 1]! : b.shape[b.rank - 2]!;
    if (bK !== K) throw new RangeError(`${op}: b ${shapeString(b.shape)} does not match K=${K} of a ${shapeString(a.shape)}`);
    const N = transB ? b.shape[b.rank - 2]! : b.shape[b.rank - 1]!;
    const y = output('y', [...a.shape.slice(0, -1), N]);
    return { tensors: { a, b, y }, attrs: { transB }, result: { y } };
  },
});
