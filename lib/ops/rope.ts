// rope: rotary position embeddings (native/cpu/rope.cc) on q or k laid out
// [batch, T, heads, headDim]. Token t of row b sits at position
// offset + t, or rowOffsets[b] + t (rows of a batch at different lengths),
// or positions[b, t].

import type { Tensor } from '../tensor.js';
import {
  checkArgs,
  expectDType,
  expectNonEmpty,
  expectRank,
  expectShape,
  expectTensor,
  optionalBoolean,
  optionalNumber,
  optionalTensor,
} from '../validate.js';
import { defineOp } from './registry.js';

export interface RopeArgs {
  /** [b, T, heads, D] */
  x: Tensor;
  /** position of token 0 for every row (default 0) */
  offset?: number;
  /** [b] int32: position of token 0 per row */
  rowOffsets?: Tensor;
  /** [b, T] int32: every token's position */
  positions?: Tensor;
  /** channels rotated per head (even, ≤ D; default D) */
  rotaryDim?: number;
  /** default 10000 */
  base?: number;
  /** positions are multiplied by this before rotating (linear scaling; default 1) */
  positionScale?: number;
  /** rotate pairs (2i, 2i+1) (GPT-J) instead of halves (i, i + D/2) (GPT-NeoX, Llama) */
  interleaved?: boolean;
  out?: { y?: Tensor };
}

export const rope = defineOp<RopeArgs, { y: Tensor }>({
  name: 'rope',
  prepare(args, output) {
    const op = 'rope';
    checkArgs(op, args, ['x', 'offset', 'rowOffsets', 'positions', 'rotaryDim', 'base', 'positionScale', 'interleaved']);
    const x = expectTensor(op, 'x', args.x);
    expectDType(op, 'x', x, ['float32']);
    expectRank(op, 'x', x, 4, '[b, T, heads, D]');
    expectNonEmpty(op, 'x', x);
    const [b, T, , D] = x.shape as [number, number, number, number];
    const rotaryDim = optionalNumber(op, 'rotaryDim', args.rotaryDim, D, { min: 2, max: D, integer: true });
    if (rotaryDim % 2 !== 0) throw new RangeError(`${op}: rotaryDim must be even, got ${rotaryDim}`);
    const offset = optionalNumber(op, 'offset', args.offset, 0, { min: 0, integer: true, max: 2 ** 31 - 1 });
    const base = optionalNumber(op, 'base', args.base, 10000, { min: 0, exclusiveMin: true });
    const positionScale = optionalNumber(op, 'positionScale', args.positionScale, 1, { min: 0, exclusiveMin: true });
    const interleaved = optionalBoolean(op, 'interleaved', args.interleaved, false);
    const rowOffsets = optionalTensor(op, 'rowOffsets', args.rowOffsets);
    const positions = optionalTensor(op, 'positions', args.positions);
    if ([args.offset !== undefined, rowOffsets !== undefined, positions !== undefined].filter(Boolean).length > 1) {
      throw new RangeError(`${op}: give at most one of offset, rowOffsets, positions`);
    }
    if (rowOffsets) {
      expectDType(op, 'rowOffsets', rowOffsets, ['int32']);
      expectShape(op, 'rowOffsets', rowOffsets, [b], '[b]');
    }
    if (positions) {
      expectDType(op, 'positions', positions, ['int32']);
      expectShape(op, 'positions', positions, [b, T], '[b, T]');
    }
    const y = output('y', x.shape);
    return {
      tensors: { x, rowOffsets, positions, y },
      attrs: { rotaryDim, offset, base, positionScale, interleaved },
      result: { y },
    };
  },
});
