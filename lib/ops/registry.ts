// The op table on the TypeScript side. An op is defined once, by a `prepare`
// step that validates the arguments and allocates the outputs; from it come
// both `ops.NAME(args)` (a Promise; the kernel runs on native threads while
// the inputs are kept alive) and `ops.NAMESync(args)`.
//
// Every op also takes `out: { name: Tensor }`: outputs to write into instead
// of allocating new ones (a decode loop can reuse its buffers). They must have
// exactly the output's shape and dtype and must not overlap any input.

import { native, type NativeTensorArg } from '../native.js';
import { config } from '../config.js';
import { DeviceStorage, Tensor } from '../tensor.js';
import { allocate, bytesPerElement, type DType } from '../dtype.js';
import { describe, shapeString } from '../validate.js';
import { allocateDevice, cudaOpNames, type Device } from '../cuda.js';

export interface Prepared<R> {
  /** Inputs and outputs by the names the native op reads. */
  tensors: Record<string, Tensor | undefined>;
  /** Scalar options by name (undefined entries are dropped). */
  attrs?: Record<string, number | boolean | string | undefined>;
  /** What the caller gets back once the kernel has filled the outputs. */
  result: R;
}

/** Returns the output tensor `name`: the caller's `out[name]`, or a new one. */
export type OutputAllocator = (name: string, shape: readonly number[], dtype?: DType) => Tensor;

export interface OpDefinition<A, R> {
  name: string;
  prepare(args: A, output: OutputAllocator): Prepared<R>;
}

export interface Op<A, R> {
  name: string;
  run(args: A): Promise<R>;
  runSync(args: A): R;
  /** Validates and allocates without running the kernel (used by layers that batch ops). */
  prepare(args: A): Prepared<R>;
}

/** A new tensor for an op's output (poisoned with NaN when config.poisonOutputs is on). */
export function newOutput(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  let data;
  try {
    data = allocate(dtype, shape.reduce((p, d) => p * d, 1));
  } catch (e) {
    throw new RangeError(`cannot allocate an output of shape ${shapeString(shape)}: ${(e as Error).message}`);
  }
  if (config.poisonOutputs) {
    if (dtype === 'float32') (data as Float32Array).fill(NaN);
    else if (dtype === 'bfloat16' || dtype === 'float16') (data as Uint16Array).fill(0x7fc0);
    else (data as Int32Array).fill(-2147483648);
  }
  return new Tensor(data, shape, dtype);
}

/** A new device tensor for a CUDA op's output (NaN-poisoned like host outputs when config.poisonOutputs is on). */
export function newDeviceOutput(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  const buffer = allocateDevice(size * bytesPerElement(dtype), config.poisonOutputs ? 'poison' : 'none');
  return new Tensor(new DeviceStorage(buffer, 0, size), shape, dtype);
}

/**
 * Where an op runs: on 'cuda' when its tensor arguments (top level, in arrays,
 * in objects of named tensors such as out) are all on the device, on 'cpu' when all are on the host;
 * a mix is a TypeError naming two of them, and so is a device call to an op
 * without a CUDA implementation.
 */
function placement(name: string, args: unknown): Device {
  if (args === null || typeof args !== 'object') return 'cpu';
  let first: [string, Device] | undefined;
  const visit = (label: string, value: unknown): void => {
    if (value instanceof Tensor) {
      if (first === undefined) first = [label, value.device];
      else if (first[1] !== value.device) {
        throw new TypeError(`${name}: ${first[0]} is on ${first[1]} but ${label} is on ${value.device}; move both with toDevice/toHost`);
      }
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => visit(`${label}[${i}]`, item));
    } else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      // Named tensors (out, elementwise's inputs): one level down is enough.
      for (const [name, item] of Object.entries(value)) if (item instanceof Tensor) visit(`${label}.${name}`, item);
    }
  };
  for (const [key, value] of Object.entries(args as Record<string, unknown>)) visit(key, value);
  const device = first?.[1] ?? 'cpu';
  if (device === 'cuda' && !cudaOpNames().has(name)) {
    throw new TypeError(`${name}: has no CUDA implementation yet; move its tensors to the cpu with toHost() ` +
      `(ops on cuda: ${[...cudaOpNames()].join(', ') || 'none'})`);
  }
  return device;
}

function byteRange(t: Tensor): [unknown, number, number] {
  if (t.device === 'cuda') return [t.deviceBuffer, t.deviceOffset, t.deviceOffset + t.size * bytesPerElement(t.dtype)];
  return [t.data.buffer, t.data.byteOffset, t.data.byteOffset + t.data.byteLength];
}

function overlaps(a: Tensor, b: Tensor): boolean {
  const [bufA, startA, endA] = byteRange(a);
  const [bufB, startB, endB] = byteRange(b);
  return bufA === bufB && startA < endB && startB < endA;
}

function prepareWithOutputs<A, R>(name: string, prepare: OpDefinition<A, R>['prepare'], args: A): Prepared<R> {
  const provided = (args as { out?: unknown } | null | undefined)?.out;
  if (provided !== undefined && (typeof provided !== 'object' || provided === null || provided instanceof Tensor)) {
    throw new TypeError(`${name}: out must be an object of output tensors, e.g. { y: tensor }, got ${describe(provided)}`);
  }
  const given = (provided ?? {}) as Record<string, unknown>;
  const device = placement(name, args);
  const outputs = new Map<string, Tensor>();
  const allocator: OutputAllocator = (outName, shape, dtype = 'float32') => {
    const t = given[outName];
    let result: Tensor;
    if (t === undefined) {
      result = device === 'cuda' ? newDeviceOutput(shape, dtype) : newOutput(shape, dtype);
    } else {
      if (!(t instanceof Tensor)) throw new TypeError(`${name}: out.${outName} must be a Tensor, got ${describe(t)}`);
      if (t.dtype !== dtype) throw new TypeError(`${name}: out.${outName} must be ${dtype}, got ${t.dtype}`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new RangeError(`${name}: out.${outName} must have shape ${shapeString(shape)}, got ${shapeString(t.shape)}`);
      }
      result = t;
    }
    outputs.set(outName, result);
    return result;
  };
  const prepared = prepare(args, allocator);
  for (const outName of Object.keys(given)) {
    if (given[outName] !== undefined && !outputs.has(outName)) {
      throw new TypeError(`${name}: out.${outName} is not an output of this call (outputs: ${[...outputs.keys()].join(', ') || 'none'})`);
    }
  }
  if (provided !== undefined) {
    const inputs = Object.entries(prepared.tensors).filter(([n, t]) => t !== undefined && !outputs.has(n)) as [string, Tensor][];
    for (const [outName, out] of outputs) {
      if (given[outName] === undefined) continue;
      for (const [inName, input] of inputs) {
        if (overlaps(out, input)) throw new RangeError(`${name}: out.${outName} overlaps the memory of input ${inName}`);
      }
    }
  }
  return prepared;
}

export function nativeArgs(prepared: Prepared<unknown>): [Record<string, NativeTensorArg>, Record<string, unknown>] {
  const tensors: Record<string, NativeTensorArg> = {};
  for (const [name, t] of Object.entries(prepared.tensors)) if (t !== undefined) tensors[name] = t;
  const attrs: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(prepared.attrs ?? {})) if (v !== undefined) attrs[name] = v;
  return [tensors, attrs];
}

export function defineOp<A, R>(definition: OpDefinition<A, R>): Op<A, R> {
  const { name, prepare } = definition;
  return {
    name,
    async run(args: A): Promise<R> {
      const prepared = prepareWithOutputs(name, prepare, args);
      const [tensors, attrs] = nativeArgs(prepared);
      await native.runAsync(name, tensors, attrs);
      return prepared.result;
    },
    runSync(args: A): R {
      const prepared = prepareWithOutputs(name, prepare, args);
      const [tensors, attrs] = nativeArgs(prepared);
      native.runSync(name, tensors, attrs);
      return prepared.result;
    },
    prepare(args: A): Prepared<R> {
      return prepareWithOutputs(name, prepare, args);
    },
  };
}
