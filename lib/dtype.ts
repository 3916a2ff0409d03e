// Element types and the float32 <-> bfloat16 / float16 conversions.
// bfloat16 and float16 values are stored as raw 16-bit patterns in a Uint16Array.

export type DType = 'float32' | 'bfloat16' | 'float16' | 'int32';
export const DTYPES: readonly DType[] = ['float32', 'bfloat16', 'float16', 'int32'];

export type TypedArrayOf<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'int32'
    ? Int32Array
    : Uint16Array;
export type AnyTypedArray = Float32Array | Int32Array | Uint16Array;

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'float32' || dtype === 'int32' ? 4 : 2;
}

export function allocate<D extends DType>(dtype: D, size: number): TypedArrayOf<D> {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size) as TypedArrayOf<D>;
    case 'int32':
      return new Int32Array(size) as TypedArrayOf<D>;
    default:
      return new Uint16Array(size) as TypedArrayOf<D>;
  }
}

/** The array class that holds `dtype`, for messages. */
export function arrayClassName(dtype: DType): string {
  return dtype === 'float32' ? 'Float32Array' : dtype === 'int32' ? 'Int32Array' : 'Uint16Array';
}

const scratch = new ArrayBuffer(4);
const scratchF32 = new Float32Array(scratch);
const scratchU32 = new Uint32Array(scratch);

/** float32 -> bfloat16 bits, rounding to nearest even; NaN stays NaN. */
export function f32ToBf16Bits(value: number): number {
  scratchF32[0] = value;
  const bits = scratchU32[0]!;
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16BitsToF32(bits: number): number {
  scratchU32[0] = (bits & 0xffff) << 16;
  return scratchF32[0]!;
}

/** float32 -> float16 bits, rounding to nearest even; overflow gives ±inf. */
export function f32ToF16Bits(value: number): number {
  scratchF32[0] = value;
  const bits = scratchU32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00;
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs < 0x38800000) {
    // Subnormal half: value / 2^-24, rounded to nearest even.
    if (abs < 0x33000000) return sign;
    const exponent = abs >>> 23;
    const mantissa = (abs & 0x7fffff) | 0x800000;
    const shift = 126 - exponent;
    let half = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (remainder > halfway || (remainder === halfway && (half & 1) === 1)) half += 1;
    return sign | half;
  }
  const rounded = abs + 0xfff + ((abs >>> 13) & 1);
  return sign | ((rounded - 0x38000000) >>> 13);
}

export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Widens any float tensor storage to float32 values. */
export function toFloat32Array(data: AnyTypedArray, dtype: DType): Float32Array {
  const out = new Float32Array(data.length);
  if (dtype === 'bfloat16') {
    const wide = new Uint32Array(out.buffer);
    for (let i = 0; i < data.length; i++) wide[i] = data[i]! << 16;
  } else if (dtype === 'float16') {
    for (let i = 0; i < data.length; i++) out[i] = f16BitsToF32(data[i]!);
  } else {
    for (let i = 0; i < data.length; i++) out[i] = data[i]!;
  }
  return out;
}
