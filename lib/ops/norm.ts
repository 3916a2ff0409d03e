// rmsNorm and layerNorm over the last dimension (native/cpu/norm.cc).
// Options fuse what pre-norm blocks and gated norms need:
//   residual: normalise x + residual (and return the sum as residualOut),
//   gate: multiply by silu(gate) after the norm, or before it with gateBefore
//         (Mamba-2's RMSNormGated: norm_before_gate=False is gateBefore: true),
//   groupSize: normalise each group of channels on its own (GroupNorm over heads).

import type { Tensor } from '../tensor.js';
import {
  checkArgs,
  expectDType,
  expectMinRank,
  expectNonEmpty,
  expectShape,
  expectTensor,
  optionalBoolean,
  optionalNumber,
  optionalTensor,
} from '../validate.js';
import { defineOp, type OutputAllocator } from './registry.js';

export interface NormArgs {
  /** [..., d] */
  x: Tensor;
  /** [d] */
  weight?: Tensor;
  /** [d] (layerNorm only) */
  bias?: Tensor;
  /** like x: added to x before normalising */
  residual?: Tensor;
  /** like x: silu(gate) multiplies the output (or the input, with gateBefore) */
  gate?: Tensor;
  gateBefore?: boolean;
  /** default 1e-5 */
  eps?: number;
  /** channels per normalisation group (divides d; default d) */
  groupSize?: number;
  out?: { y?: Tensor; residualOut?: Tensor };
}

export interface NormResult {
  y: Tensor;
  /** x + residual, when residual was given */
  residualOut?: Tensor;
}

function prepareNorm(op: string, args: NormArgs, output: OutputAllocator, allowBias: boolean) {
  checkArgs(op, args, allowBias ? ['x', 'weight', 'bias', 'residual', 'gate', 'gateBefore', 'eps', 'groupSize'] : ['x', 'weight', 'residual', 'gate', 'gateBefore', 'eps', 'groupSize']);
  const x = expectTensor(op, 'x', args.x);
  expectDType(op, 'x', x, ['float32']);
  expectMinRank(op, 'x', x, 1, '[..., d]');
  expectNonEmpty(op, 'x', x);
  const d = x.shape[x.rank - 1]!;
  const perChannel = (name: 'weight' | 'bias') => {
    const t = optionalTensor(op, name, args[name]);
    if (t) {
      expectDType(op, name, t, ['float32']);
      expectShape(op, name, t, [d], '[d]');
    }
    return t;
  };
  const likeX = (name: 'residual' | 'gate') => {
    const t = optionalTensor(op, name, args[name]);
    if (t) {
      expectDType(op, name, t, ['float32']);
      expectShape(op, name, t, x.shape, 'the shape of x');
    }
    return t;
  };
  const weight = perChannel('weight');
  const bias = allowBias ? perChannel('bias') : undefined;
  const residual = likeX('residual');
  const gate = likeX('gate');
  const gateBefore = optionalBoolean(op, 'gateBefore', args.gateBefore, false);
  if (args.gateBefore !== undefined && !gate) throw new RangeError(`${op}: gateBefore needs a gate`);
  const eps = optionalNumber(op, 'eps', args.eps, 1e-5, { min: 0 });
  const groupSize = optionalNumber(op, 'groupSize', args.groupSize, d, { min: 1, integer: true });
  if (d % groupSize !== 0) throw new RangeError(`${op}: groupSize must divide the last dimension ${d}, got ${groupSize}`);
  const y = output('y', x.shape);
  const residualOut = residual ? output('residualOut', x.shape) : undefined;
  const result: NormResult = residualOut ? { y, residualOut } : { y };
  return {
    tensors: { x, weight, bias, residual, gate, y, residualOut },
    attrs: { eps, groupSize, gateBefore },
    result,
  };
}

export const rmsNorm = defineOp<Omit<NormArgs, 'bias'>, NormResult>({
  name: 'rmsNorm',
  prepare: (args, output) => prepareNorm('rmsNorm', args, output, false),
});

export const layerNorm = defineOp<NormArgs, NormResult>({
  name: 'layerNorm',
  prepare: (args, output) => prepareNorm('layerNorm', args, output, true),
});
