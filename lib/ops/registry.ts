// The op table on the TypeScript side. An op is defined once, by a `prepare`
// step that validates the arguments and allocates the outputs; from it come
// both `ops.NAME(args)` (a Promise; the kernel runs on native threads while
// the inputs are kept alive) and `ops.NAMESync(args)`.

import { native, type NativeTensorArg } from '../native.js';
import { config } from '../config.js';
import { Tensor } from '../tensor.js';
import { allocate, type DType } from '../dtype.js';

export interface Prepared<R> {
  /** Inputs and outputs by the names the native op reads. */
  tensors: Record<string, Tensor | undefined>;
  /** Scalar options by name (undefined entries are dropped). */
  attrs?: Record<string, number | boolean | string | undefined>;
  /** What the caller gets back once the kernel has filled the outputs. */
  result: R;
}

export interface OpDefinition<A, R> {
  name: string;
  prepare(args: A): Prepared<R>;
}

export interface Op<A, R> {
  name: string;
  run(args: A): Promise<R>;
  runSync(args: A): R;
}

/** A new output tensor (poisoned with NaN when config.poisonOutputs is on). */
export function output(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  let data;
  try {
    data = allocate(dtype, shape.reduce((p, d) => p * d, 1));
  } catch (e) {
    throw new RangeError(`cannot allocate an output of shape [${shape.join(', ')}]: ${(e as Error).message}`);
  }
  if (config.poisonOutputs) {
    if (dtype === 'float32') (data as Float32Array).fill(NaN);
    else if (dtype === 'bfloat16' || dtype === 'float16') (data as Uint16Array).fill(0x7fc0);
    else (data as Int32Array).fill(-2147483648);
  }
  return new Tensor(data, shape, dtype);
}

function nativeArgs(prepared: Prepared<unknown>): [Record<string, NativeTensorArg>, Record<string, unknown>] {
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
      const prepared = prepare(args);
      const [tensors, attrs] = nativeArgs(prepared);
      await native.runAsync(name, tensors, attrs);
      return prepared.result;
    },
    runSync(args: A): R {
      const prepared = prepare(args);
      const [tensors, attrs] = nativeArgs(prepared);
      native.runSync(name, tensors, attrs);
      return prepared.result;
    },
  };
}
