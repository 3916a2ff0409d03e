// Tensor: a shape and a dtype over a typed array the caller owns. Row-major,
// last dimension contiguous. Views (reshape, slice, select) share memory with
// the tensor they came from; nothing here copies unless its name says so.

import {
  allocate,
  arrayClassName,
  bytesPerElement,
  bf16BitsToF32,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  isDType,
  toFloat32Array,
  type AnyTypedArray,
  type DType,
  type TypedArrayOf,
} from './dtype.js';
import { Rng } from './random.js';
import { native, type DeviceBuffer } from './native.js';
import { allocateDevice, requireCuda, type Device } from './cuda.js';

export type { Device } from './cuda.js';

/**
 * Where a device tensor's elements are: `length` elements from byte
 * `byteOffset` of a device buffer. Made by toDevice / Tensor.zeros(…, { device }).
 */
export class DeviceStorage {
  constructor(
    readonly buffer: DeviceBuffer,
    readonly byteOffset: number,
    readonly length: number,
  ) {}
}

function onDeviceError(what: string): TypeError {
  return new TypeError(
    `${what}: this tensor lives on the cuda device; copy it to the host first with \`await t.toHost()\` or \`t.toHostSync()\``,
  );
}

/** `device` as a Device, or a TypeError naming `where` and what came. */
export function checkDevice(where: string, device: unknown): Device {
  if (device !== 'cpu' && device !== 'cuda') {
    throw new TypeError(`${where}: device must be 'cpu' or 'cuda', got ${typeof device === 'string' ? JSON.stringify(device) : describeData(device)}`);
  }
  return device;
}

/** The largest element count crossroad allocates or accepts in one tensor. */
export const MAX_TENSOR_ELEMENTS = 2 ** 32;
/** The largest rank the native kernels accept. */
export const MAX_RANK = 8;

function describeData(data: unknown): string {
  if (data === null) return 'null';
  if (Array.isArray(data)) return `an Array of length ${data.length}`;
  if (ArrayBuffer.isView(data)) return `a ${data.constructor.name}`;
  return typeof data === 'object' ? `an object (${(data as object).constructor?.name ?? 'Object'})` : typeof data;
}

/** Checks a shape and returns its element count. */
export function checkShape(where: string, shape: unknown): number {
  if (!Array.isArray(shape)) {
    throw new TypeError(`${where}: shape must be an array of non-negative integers, got ${describeData(shape)}`);
  }
  if (shape.length > MAX_RANK) throw new RangeError(`${where}: rank ${shape.length} is above the maximum ${MAX_RANK}`);
  let size = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new RangeError(`${where}: shape[${i}] must be a non-negative integer, got ${typeof d === 'number' ? d : describeData(d)}`);
    }
    size *= d;
  }
  if (size > MAX_TENSOR_ELEMENTS) {
    throw new RangeError(`${where}: shape [${shape.join(', ')}] has ${size} elements, above the maximum ${MAX_TENSOR_ELEMENTS}`);
  }
  return size;
}

function dtypeOfArray(data: unknown): DType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint16Array) return 'bfloat16';
  return undefined;
}

export interface RandnOptions {
  seed?: number;
  mean?: number;
  std?: number;
  dtype?: 'float32' | 'bfloat16' | 'float16';
}

export interface TensorOptions {
  /** 'cpu' (default) or 'cuda'. */
  device?: Device;
}

export class Tensor<D extends DType = DType> {
  /** The elements (host tensors only: on a device tensor, reading it throws a TypeError). */
  readonly data: TypedArrayOf<D>;
  readonly shape: readonly number[];
  readonly dtype: D;
  readonly size: number;
  /** Where the elements live: 'cpu' (a typed array) or 'cuda' (device memory). */
  readonly device: Device;
  /** The device memory of a 'cuda' tensor (undefined on the cpu); native ops read it. */
  readonly deviceBuffer: DeviceBuffer | undefined;
  /** Byte offset of the elements in deviceBuffer. */
  readonly deviceOffset: number;

  /**
   * Wraps `data` without copying. The dtype follows the array: Float32Array ->
   * 'float32', Int32Array -> 'int32', Uint16Array -> 'bfloat16' unless
   * `dtype` says 'float16'. (A DeviceStorage makes a device tensor; `dtype` is then required.)
   */
  constructor(data: TypedArrayOf<D> | DeviceStorage, shape: readonly number[], dtype?: D) {
    if (data instanceof DeviceStorage) {
      if (!isDType(dtype)) throw new TypeError(`Tensor: a device tensor needs its dtype, got ${JSON.stringify(dtype)}`);
      const size = checkShape('Tensor', shape);
      if (size !== data.length) {
        throw new RangeError(`Tensor: shape [${shape.join(', ')}] needs ${size} elements, the device storage has ${data.length}`);
      }
      if (data.byteOffset + size * bytesPerElement(dtype) > data.buffer.bytes) {
        throw new RangeError('Tensor: the device storage reaches past its buffer');
      }
      // Same fields in the same order as a host tensor; `data` becomes a getter that explains.
      this.data = undefined as unknown as TypedArrayOf<D>;
      this.shape = Object.freeze([...shape]);
      this.dtype = dtype;
      this.size = size;
      this.device = 'cuda';
      this.deviceBuffer = data.buffer;
      this.deviceOffset = data.byteOffset;
      Object.defineProperty(this, 'data', {
        enumerable: true,
        get(): never {
          throw onDeviceError('Tensor.data');
        },
      });
      return;
    }
    const fromArray = dtypeOfArray(data);
    if (fromArray === undefined) {
      throw new TypeError(`Tensor: data must be a Float32Array, Int32Array or Uint16Array, got ${describeData(data)}`);
    }
    let resolved: DType = fromArray;
    if (dtype !== undefined) {
      if (!isDType(dtype)) throw new TypeError(`Tensor: unknown dtype ${JSON.stringify(dtype)}`);
      if (arrayClassName(dtype) !== data.constructor.name) {
        throw new TypeError(`Tensor: dtype '${dtype}' is stored in a ${arrayClassName(dtype)}, got a ${data.constructor.name}`);
      }
      resolved = dtype;
    }
    const size = checkShape('Tensor', shape);
    if (size !== data.length) {
      throw new RangeError(`Tensor: shape [${shape.join(', ')}] needs ${size} elements, data has ${data.length}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = resolved as D;
    this.size = size;
    this.device = 'cpu';
    this.deviceBuffer = undefined;
    this.deviceOffset = 0;
  }

  /** A view of this device tensor's storage `elementOffset` elements in, with a new shape. */
  private deviceView(elementOffset: number, shape: readonly number[]): Tensor<D> {
    const size = shape.reduce((p, d) => p * d, 1);
    const storage = new DeviceStorage(this.deviceBuffer!, this.deviceOffset + elementOffset * bytesPerElement(this.dtype), size);
    return new Tensor<D>(storage, shape, this.dtype);
  }

  /**
   * A copy on `device` ('cuda' or 'cpu'). The copy runs off the event loop,
   * through reused pinned staging buffers; the source must not change until
   * the promise settles. A tensor already on `device` is returned as is.
   */
  async toDevice(device: Device): Promise<Tensor<D>> {
    checkDevice('Tensor.toDevice', device);
    if (device === this.device) return this;
    if (device === 'cpu') return this.toHost();
    requireCuda('Tensor.toDevice');
    const buffer = allocateDevice(this.data.byteLength, 'none');
    await native.cudaUpload(buffer, 0, this.data, true);
    return new Tensor<D>(new DeviceStorage(buffer, 0, this.size), this.shape, this.dtype);
  }

  /** toDevice, blocking the calling thread until the copy is done. */
  toDeviceSync(device: Device): Tensor<D> {
    checkDevice('Tensor.toDeviceSync', device);
    if (device === this.device) return this;
    if (device === 'cpu') return this.toHostSync();
    requireCuda('Tensor.toDeviceSync');
    const buffer = allocateDevice(this.data.byteLength, 'none');
    native.cudaUpload(buffer, 0, this.data, false);
    return new Tensor<D>(new DeviceStorage(buffer, 0, this.size), this.shape, this.dtype);
  }

  /** A host copy of a device tensor (a host tensor is returned as is); the copy runs off the event loop. */
  async toHost(): Promise<Tensor<D>> {
    if (this.device === 'cpu') return this;
    const out = allocate(this.dtype, this.size);
    await native.cudaDownload(this.deviceBuffer!, this.deviceOffset, out, true);
    return new Tensor<D>(out, this.shape, this.dtype);
  }

  /** toHost, blocking the calling thread until the copy is done. */
  toHostSync(): Tensor<D> {
    if (this.device === 'cpu') return this;
    const out = allocate(this.dtype, this.size);
    native.cudaDownload(this.deviceBuffer!, this.deviceOffset, out, false);
    return new Tensor<D>(out, this.shape, this.dtype);
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Row-major strides in elements. */
  get strides(): number[] {
    const out = new Array<number>(this.shape.length);
    let s = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      out[i] = s;
      s *= this.shape[i]!;
    }
    return out;
  }

  /** Zeros; `{ device: 'cuda' }` allocates them on the device. */
  static zeros<T extends DType = 'float32'>(shape: readonly number[], dtype?: T, options: TensorOptions = {}): Tensor<T> {
    const resolved = (dtype ?? 'float32') as T;
    if (!isDType(resolved)) throw new TypeError(`Tensor.zeros: unknown dtype ${JSON.stringify(dtype)}`);
    const size = checkShape('Tensor.zeros', shape);
    if (options === null || typeof options !== 'object') throw new TypeError(`Tensor.zeros: options must be an object, got ${describeData(options)}`);
    const device = checkDevice('Tensor.zeros', options.device ?? 'cpu');
    if (device === 'cuda') {
      requireCuda('Tensor.zeros');
      const buffer = allocateDevice(size * bytesPerElement(resolved), 'zero');
      return new Tensor<T>(new DeviceStorage(buffer, 0, size), shape, resolved);
    }
    return new Tensor(allocate(resolved, size), shape, resolved);
  }

  /** Tensor filled with `value`. */
  static full(shape: readonly number[], value: number, dtype: 'float32' | 'bfloat16' | 'float16' | 'int32' = 'float32'): Tensor {
    const t = Tensor.zeros(shape, dtype);
    if (dtype === 'bfloat16') t.data.fill(f32ToBf16Bits(value));
    else if (dtype === 'float16') t.data.fill(f32ToF16Bits(value));
    else t.data.fill(value);
    return t;
  }

  /** Copies plain numbers into a new tensor (float32 unless `dtype` says otherwise). */
  static from(values: ArrayLike<number>, shape?: readonly number[], dtype: DType = 'float32'): Tensor {
    if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
      throw new TypeError(`Tensor.from: values must be an array of numbers, got ${describeData(values)}`);
    }
    const dims = shape ?? [values.length];
    const t = Tensor.zeros(dims, dtype);
    if (t.size !== values.length) {
      throw new RangeError(`Tensor.from: shape [${dims.join(', ')}] needs ${t.size} elements, got ${values.length}`);
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (typeof v !== 'number') throw new TypeError(`Tensor.from: values[${i}] must be a number, got ${describeData(v)}`);
    }
    if (dtype === 'float32' || dtype === 'int32') {
      (t.data as Float32Array | Int32Array).set(values);
    } else {
      const convert = dtype === 'bfloat16' ? f32ToBf16Bits : f32ToF16Bits;
      for (let i = 0; i < values.length; i++) t.data[i] = convert(values[i]!);
    }
    return t;
  }

  /** Normal(mean, std²) samples, reproducible for a given seed. */
  static randn(shape: readonly number[], options: RandnOptions = {}): Tensor {
    const { seed = 0, mean = 0, std = 1, dtype = 'float32' } = options;
    const size = checkShape('Tensor.randn', shape);
    const rng = new Rng(seed);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = mean + std * rng.normal();
    const t = new Tensor(values, shape);
    return dtype === 'float32' ? t : t.astype(dtype);
  }

  /** Uniform samples in [low, high), reproducible for a given seed. */
  static rand(shape: readonly number[], options: { seed?: number; low?: number; high?: number } = {}): Tensor<'float32'> {
    const { seed = 0, low = 0, high = 1 } = options;
    const size = checkShape('Tensor.rand', shape);
    const rng = new Rng(seed);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = low + (high - low) * rng.uniform();
    return new Tensor(values, shape);
  }

  /** Same memory, new shape; one dimension may be -1 (inferred). */
  reshape(shape: readonly number[]): Tensor<D> {
    if (!Array.isArray(shape)) throw new TypeError('Tensor.reshape: shape must be an array');
    const inferred = shape.filter((d) => d === -1).length;
    if (inferred > 1) throw new RangeError('Tensor.reshape: at most one dimension may be -1');
    let dims = [...shape];
    if (inferred === 1) {
      const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
      if (known === 0 || this.size % known !== 0) {
        throw new RangeError(`Tensor.reshape: cannot infer -1 in [${shape.join(', ')}] for ${this.size} elements`);
      }
      dims = shape.map((d) => (d === -1 ? this.size / known : d));
    }
    const size = checkShape('Tensor.reshape', dims);
    if (size !== this.size) {
      throw new RangeError(`Tensor.reshape: [${this.shape.join(', ')}] (${this.size} elements) cannot become [${dims.join(', ')}] (${size})`);
    }
    if (this.device === 'cuda') return this.deviceView(0, dims);
    return new Tensor(this.data, dims, this.dtype);
  }

  /** Rows [start, end) of the first axis, sharing memory. */
  slice(start: number, end: number = this.shape[0] ?? 0): Tensor<D> {
    if (this.rank === 0) throw new RangeError('Tensor.slice: a scalar tensor has no axis to slice');
    const n = this.shape[0]!;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
      throw new RangeError(`Tensor.slice: need 0 ≤ start ≤ end ≤ ${n}, got start=${start}, end=${end}`);
    }
    const row = this.size / Math.max(n, 1);
    if (this.device === 'cuda') return this.deviceView(start * row, [end - start, ...this.shape.slice(1)]);
    const data = this.data.subarray(start * row, end * row) as TypedArrayOf<D>;
    return new Tensor(data, [end - start, ...this.shape.slice(1)], this.dtype);
  }

  /** Drops leading axes by indexing them: t.select(b, l) of [B, L, d] is the [d] row. Shares memory. */
  select(...indices: number[]): Tensor<D> {
    if (indices.length > this.rank) throw new RangeError(`Tensor.select: ${indices.length} indices for rank ${this.rank}`);
    let offset = 0;
    let stride = this.size;
    for (let i = 0; i < indices.length; i++) {
      const n = this.shape[i]!;
      const index = indices[i]!;
      if (!Number.isInteger(index) || index < 0 || index >= n) {
        throw new RangeError(`Tensor.select: index ${i} must be an integer in [0, ${n}), got ${index}`);
      }
      stride /= n;
      offset += index * stride;
    }
    if (this.device === 'cuda') return this.deviceView(offset, this.shape.slice(indices.length));
    const data = this.data.subarray(offset, offset + stride) as TypedArrayOf<D>;
    return new Tensor(data, this.shape.slice(indices.length), this.dtype);
  }

  /** A copy with its own memory. */
  clone(): Tensor<D> {
    if (this.device === 'cuda') {
      const bytes = this.size * bytesPerElement(this.dtype);
      const buffer = allocateDevice(bytes, 'none');
      native.cudaCopy(buffer, 0, this.deviceBuffer!, this.deviceOffset, bytes);
      return new Tensor<D>(new DeviceStorage(buffer, 0, this.size), this.shape, this.dtype);
    }
    return new Tensor(this.data.slice() as TypedArrayOf<D>, this.shape, this.dtype);
  }

  /** Converts to another dtype (a copy; the same dtype returns a copy too). */
  astype<T extends DType>(dtype: T): Tensor<T> {
    if (!isDType(dtype)) throw new TypeError(`Tensor.astype: unknown dtype ${JSON.stringify(dtype)}`);
    if (this.device === 'cuda') throw onDeviceError('Tensor.astype');
    if ((dtype as DType) === this.dtype) return this.clone() as unknown as Tensor<T>;
    const values = toFloat32Array(this.data as AnyTypedArray, this.dtype);
    const out = allocate(dtype, this.size);
    if (dtype === 'float32') {
      (out as Float32Array).set(values);
    } else if (dtype === 'int32') {
      for (let i = 0; i < values.length; i++) out[i] = Math.trunc(values[i]!);
    } else {
      const convert = dtype === 'bfloat16' ? f32ToBf16Bits : f32ToF16Bits;
      for (let i = 0; i < values.length; i++) out[i] = convert(values[i]!);
    }
    return new Tensor(out, this.shape, dtype);
  }

  toFloat32(): Tensor<'float32'> {
    return this.astype('float32');
  }
  toBFloat16(): Tensor<'bfloat16'> {
    return this.astype('bfloat16');
  }
  toFloat16(): Tensor<'float16'> {
    return this.astype('float16');
  }

  /** Element values as plain numbers (bf16/f16 widened). */
  toArray(): number[] {
    if (this.device === 'cuda') throw onDeviceError('Tensor.toArray');
    if (this.dtype === 'bfloat16') return Array.from(this.data as Uint16Array, bf16BitsToF32);
    if (this.dtype === 'float16') return Array.from(this.data as Uint16Array, f16BitsToF32);
    return Array.from(this.data as Float32Array | Int32Array);
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(', ')}]${this.device === 'cuda' ? ', cuda' : ''})`;
  }
}
