// Layout ops (native/ops/layout.cc, one strided-copy kernel): expand, permute,
// concat, slice. They copy; Tensor.reshape/slice/select are the free views.

import { Tensor } from '../tensor.js';
import { checkArgs, describe, expectNonEmpty, expectTensor, shapeString } from '../validate.js';
import { defineOp } from './registry.js';


function expectIntegerArray(op: string, name: string, value: unknown): number[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'number' || !Number.isInteger(v))) {
    throw new TypeError(`${op}: ${name} must be an array of integers, got ${describe(value)}`);
  }
  return value as number[];
}

function normaliseAxis(op: string, axis: unknown, rank: number): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis)) throw new TypeError(`${op}: axis must be an integer, got ${describe(axis)}`);
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new RangeError(`${op}: axis must be in [${-rank}, ${rank}), got ${axis}`);
  return a;
}

export interface ExpandArgs {
  x: Tensor;
  /** target shape; x's dimensions (aligned right) must equal it or be 1 */
  shape: number[];
  out?: { y?: Tensor };
}

export const expand = defineOp<ExpandArgs, { y: Tensor }>({
  name: 'expand',
  prepare(args, output) {
    const op = 'expand';
    checkArgs(op, args, ['x', 'shape']);
    const x = expectTensor(op, 'x', args.x);
    const shape = expectIntegerArray(op, 'shape', args.shape);
    if (shape.length < x.rank) throw new RangeError(`${op}: shape ${shapeString(shape)} has fewer dimensions than x ${shapeString(x.shape)}`);
    const lead = shape.length - x.rank;
    x.shape.forEach((d, i) => {
      if (d !== shape[lead + i] && d !== 1) throw new RangeError(`${op}: x ${shapeString(x.shape)} cannot broadcast to ${shapeString(shape)} (dimension ${i})`);
    });
    if (shape.some((d) => d < 1)) throw new RangeError(`${op}: shape dimensions must be ≥ 1, got ${shapeString(shape)}`);
    const y = output('y', shape, x.dtype);
    return { tensors: { x, y }, result: { y } };
  },
});

export interface PermuteArgs {
  x: Tensor;
  /** y's dimension i is x's dimension dims[i] */
  dims: number[];
  out?: { y?: Tensor };
}

// A device call takes every tensor from the device: perm tensors are uploaded once per distinct
// permutation (a model uses a handful) and kept.
const devicePerms = new Map<string, Tensor>();
function devicePerm(dims: number[]): Tensor {
  const key = dims.join(',');
  let perm = devicePerms.get(key);
  if (!perm) {
    perm = new Tensor(Int32Array.from(dims), [dims.length]).toDeviceSync('cuda');
    if (devicePerms.size > 256) devicePerms.clear();
    devicePerms.set(key, perm);
  }
  return perm;
}

export const permute = defineOp<PermuteArgs, { y: Tensor }>({
  name: 'permute',
  prepare(args, output) {
    const op = 'permute';
    checkArgs(op, args, ['x', 'dims']);
    const x = expectTensor(op, 'x', args.x);
    const dims = expectIntegerArray(op, 'dims', args.dims).map((d) => (d < 0 ? d + x.rank : d));
    const sorted = [...dims].sort((a, b) => a - b);
    if (dims.length !== x.rank || sorted.some((d, i) => d !== i)) {
      throw new RangeError(`${op}: dims must be a permutation of 0..${x.rank - 1}, got ${shapeString(args.dims)}`);
    }
    const y = output('y', dims.map((d) => x.shape[d]!), x.dtype);
    const perm = x.device === 'cuda' ? devicePerm(dims) : new Tensor(Int32Array.from(dims), [dims.length]);
    return { tensors: { x, perm, y }, result: { y } };
  },
});

export interface ConcatArgs {
  inputs: Tensor[];
  axis: number;
  out?: { y?: Tensor };
}

export const concat = defineOp<ConcatArgs, { y: Tensor }>({
  name: 'concat',
  prepare(args, output) {
    const op = 'concat';
    checkArgs(op, args, ['inputs', 'axis']);
    if (!Array.isArray(args.inputs) || args.inputs.length === 0) {
      throw new TypeError(`${op}: inputs must be a non-empty array of tensors, got ${describe(args.inputs)}`);
    }
    const inputs = args.inputs.map((t, i) => expectTensor(op, `inputs[${i}]`, t));
    const first = inputs[0]!;
    const axis = normaliseAxis(op, args.axis, first.rank);
    inputs.forEach((t, i) => {
      if (t.dtype !== first.dtype) throw new TypeError(`${op}: inputs[${i}] is ${t.dtype}, inputs[0] is ${first.dtype}`);
      if (t.rank !== first.rank || t.shape.some((d, j) => j !== axis && d !== first.shape[j])) {
        throw new RangeError(`${op}: inputs[${i}] ${shapeString(t.shape)} must match inputs[0] ${shapeString(first.shape)} except along axis ${axis}`);
      }
    });
    const shape = [...first.shape];
    shape[axis] = inputs.reduce((n, t) => n + t.shape[axis]!, 0);
    const y = output('y', shape, first.dtype);
    const tensors: Record<string, Tensor> = { y };
    inputs.forEach((t, i) => (tensors[`in${i}`] = t));
    return { tensors, attrs: { axis }, result: { y } };
  },
});

export interface SliceArgs {
  x: Tensor;
  axis: number;
  start: number;
  /** exclusive; default the dimension's length */
  end?: number;
  step?: number;
  out?: { y?: Tensor };
}

export const slice = defineOp<SliceArgs, { y: Tensor }>({
  name: 'slice',
  prepare(args, output) {
    const op = 'slice';
    checkArgs(op, args, ['x', 'axis', 'start', 'end', 'step']);
    const x = expectTensor(op, 'x', args.x);
    expectNonEmpty(op, 'x', x);
    const axis = normaliseAxis(op, args.axis, x.rank);
    const n = x.shape[axis]!;
    const start = args.start;
    const end = args.end ?? n;
    const step = args.step ?? 1;
    for (const [name, v] of [['start', start], ['end', end], ['step', step]] as const) {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${op}: ${name} must be an integer, got ${describe(v)}`);
    }
    if (step < 1) throw new RangeError(`${op}: step must be ≥ 1, got ${step}`);
    if (start < 0 || end > n || start >= end) throw new RangeError(`${op}: need 0 ≤ start < end ≤ ${n} along axis ${axis}, got start=${start}, end=${end}`);
    const shape = [...x.shape];
    shape[axis] = Math.ceil((end - start) / step);
    const y = output('y', shape, x.dtype);
    return { tensors: { x, y }, attrs: { axis, start, step }, result: { y } };
  },
});

