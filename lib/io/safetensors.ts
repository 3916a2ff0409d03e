// safetensors reader and writer (https://github.com/huggingface/safetensors):
//   [u64 little-endian header length N][N bytes of JSON header][data]
// The header maps each tensor name to { dtype, shape, data_offsets: [begin, end] }
// relative to the start of the data, plus an optional "__metadata__" object of
// strings. Reading is strict: every check that guards memory happens before a
// byte of tensor data is touched, and a file that fails one is rejected whole.
//
// Tensors are read zero-copy from a memory map (mmap: true, the default where
// the platform has it) or streamed tensor by tensor into their own arrays, so
// the file is never held in memory twice.

import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { native } from '../native.js';
import { Tensor, MAX_TENSOR_ELEMENTS } from '../tensor.js';
import type { DType } from '../dtype.js';

/** Header dtypes we read; 64-bit and 8-bit types are converted on read (a copy). */
const DTYPE_INFO: Record<string, { bytes: number; dtype: DType; convert?: 'f64' | 'i64' | 'i8' | 'u8' | 'bool' }> = {
  F32: { bytes: 4, dtype: 'float32' },
  F16: { bytes: 2, dtype: 'float16' },
  BF16: { bytes: 2, dtype: 'bfloat16' },
  I32: { bytes: 4, dtype: 'int32' },
  F64: { bytes: 8, dtype: 'float32', convert: 'f64' },
  I64: { bytes: 8, dtype: 'int32', convert: 'i64' },
  I8: { bytes: 1, dtype: 'int32', convert: 'i8' },
  U8: { bytes: 1, dtype: 'int32', convert: 'u8' },
  BOOL: { bytes: 1, dtype: 'int32', convert: 'bool' },
};
const HEADER_LIMIT = 100 * 1024 * 1024;

const NAME_OF: Record<DType, string> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16', int32: 'I32' };

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

export interface ReadOptions {
  /** map the file instead of reading it (default: true) */
  mmap?: boolean;
}

interface Entry {
  name: string;
  info: (typeof DTYPE_INFO)[string];
  headerDtype: string;
  shape: number[];
  begin: number;
  end: number;
}

function fail(file: string, message: string): never {
  throw new RangeError(`safetensors: ${file}: ${message}`);
}

/** Parses and validates the JSON header against the size of the data section. */
function parseHeader(file: string, headerBytes: Uint8Array, dataSize: number): { entries: Entry[]; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    fail(file, `the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail(file, 'the header must be a JSON object');
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(file, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(file, `__metadata__.${k} must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (typeof value !== 'object' || value === null) fail(file, `tensor '${name}' must be described by an object`);
    const { dtype, shape, data_offsets: offsets } = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string') fail(file, `tensor '${name}' has no dtype`);
    const info = DTYPE_INFO[dtype];
    if (!info) fail(file, `tensor '${name}' has dtype ${dtype}, which crossroad does not read (${Object.keys(DTYPE_INFO).join(', ')})`);
    if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
      fail(file, `tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    }
    const dims = shape as number[];
    let elements = 1;
    for (const d of dims) {
      elements *= d;
      if (elements > MAX_TENSOR_ELEMENTS) fail(file, `tensor '${name}' has shape [${dims.join(', ')}], above ${MAX_TENSOR_ELEMENTS} elements`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0)) {
      fail(file, `tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataSize) fail(file, `tensor '${name}' data_offsets [${begin}, ${end}] lie outside the ${dataSize}-byte data section`);
    if (end - begin !== elements * info.bytes) {
      fail(file, `tensor '${name}' data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${dtype} [${dims.join(', ')}] needs ${elements * info.bytes}`);
    }
    entries.push({ name, info, headerDtype: dtype, shape: dims, begin, end });
  }
  // The data section must be exactly covered, with no overlap and no hole.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin < cursor) fail(file, `tensor '${e.name}' overlaps the tensor before it (offset ${e.begin} < ${cursor})`);
    if (e.begin > cursor) fail(file, `bytes [${cursor}, ${e.begin}) of the data section belong to no tensor`);
    cursor = e.end;
  }
  if (cursor !== dataSize) fail(file, `the data section has ${dataSize} bytes but the tensors cover ${cursor}`);
  return { entries, metadata };
}

function headerLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8) fail(file, `the file has ${fileSize} bytes, too few for a header`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(HEADER_LIMIT)) fail(file, `the header length ${n} is above the ${HEADER_LIMIT}-byte limit`);
  if (n > BigInt(fileSize - 8)) fail(file, `the header length ${n} runs past the end of the ${fileSize}-byte file`);
  return Number(n);
}

/** A tensor over `bytes` (its own copy unless it can view them in place). */
function makeTensor(e: Entry, buffer: ArrayBufferLike, byteOffset: number, mayView: boolean): Tensor {
  const n = (e.end - e.begin) / e.info.bytes;
  if (e.info.convert) {
    const src = new DataView(buffer, byteOffset, e.end - e.begin);
    if (e.info.convert === 'f64') return new Tensor(Float32Array.from({ length: n }, (_, i) => src.getFloat64(8 * i, true)), e.shape);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let v: number;
      if (e.info.convert === 'i64') {
        const big = src.getBigInt64(8 * i, true);
        if (big > 2147483647n || big < -2147483648n) throw new RangeError(`safetensors: tensor '${e.name}' holds the I64 value ${big}, which does not fit int32`);
        v = Number(big);
      } else if (e.info.convert === 'i8') v = src.getInt8(i);
      else if (e.info.convert === 'u8') v = src.getUint8(i);
      else v = src.getUint8(i) ? 1 : 0;
      out[i] = v;
    }
    return new Tensor(out, e.shape);
  }
  const aligned = byteOffset % e.info.bytes === 0;
  const Ctor = e.info.dtype === 'float32' ? Float32Array : e.info.dtype === 'int32' ? Int32Array : Uint16Array;
  let data;
  if (mayView && aligned) {
    data = new Ctor(buffer as ArrayBuffer, byteOffset, n);
  } else {
    // Misaligned in the file (an odd number of 16-bit values before a 32-bit tensor): copy it.
    data = new Ctor(n);
    new Uint8Array(data.buffer).set(new Uint8Array(buffer, byteOffset, e.end - e.begin));
  }
  return new Tensor(data as Float32Array, e.shape, e.info.dtype);
}

/** Parses a whole safetensors file held in memory (tensors view `bytes` where aligned). */
export function parseSafetensors(bytes: Uint8Array, file = '<buffer>'): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('parseSafetensors: bytes must be a Uint8Array');
  const n = headerLength(file, bytes.subarray(0, 8), bytes.length);
  const { entries, metadata } = parseHeader(file, bytes.subarray(8, 8 + n), bytes.length - 8 - n);
  const tensors = new Map<string, Tensor>();
  for (const e of entries) tensors.set(e.name, makeTensor(e, bytes.buffer, bytes.byteOffset + 8 + n + e.begin, true));
  return { tensors, metadata };
}

/** Reads a .safetensors file: memory-mapped by default, else streamed tensor by tensor. */
export function readSafetensors(path: string, options: ReadOptions = {}): SafetensorsFile {
  if (typeof path !== 'string') throw new TypeError('readSafetensors: path must be a string');
  const file = basename(path);
  if (options.mmap !== false) {
    let mapped: ArrayBuffer | undefined;
    try {
      mapped = native.mapFile(path);
    } catch (e) {
      if (/not available|does not allow/.test((e as Error).message)) mapped = undefined;
      else throw e;
    }
    if (mapped) return parseSafetensors(new Uint8Array(mapped), file);
  }
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const prefix = new Uint8Array(8);
    if (size >= 8) readSync(fd, prefix, 0, 8, 0);
    const n = headerLength(file, prefix, size);
    const headerBytes = new Uint8Array(n);
    if (readSync(fd, headerBytes, 0, n, 8) !== n) fail(file, 'the header could not be read whole');
    const { entries, metadata } = parseHeader(file, headerBytes, size - 8 - n);
    const tensors = new Map<string, Tensor>();
    for (const e of entries) {
      const bytes = new Uint8Array(e.end - e.begin);
      let done = 0;
      while (done < bytes.length) {
        const got = readSync(fd, bytes, done, bytes.length - done, 8 + n + e.begin + done);
        if (got <= 0) fail(file, `tensor '${e.name}' could not be read whole`);
        done += got;
      }
      tensors.set(e.name, makeTensor(e, bytes.buffer, 0, true));
    }
    return { tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

function layout(tensors: Record<string, Tensor> | Map<string, Tensor>, metadata: Record<string, string>): { headerBytes: Uint8Array; list: [string, Tensor][]; dataSize: number } {
  const list = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new TypeError(`safetensors: metadata.${k} must be a string`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of list) {
    if (!(t instanceof Tensor)) throw new TypeError(`safetensors: '${name}' is not a Tensor`);
    if (name === '__metadata__') throw new RangeError("safetensors: '__metadata__' is a reserved name");
    header[name] = { dtype: NAME_OF[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  const encoded = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = new Uint8Array(Math.ceil(encoded.length / 8) * 8).fill(0x20);
  headerBytes.set(encoded);
  return { headerBytes, list, dataSize: offset };
}

function lengthPrefix(n: number): Uint8Array {
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(n), true);
  return prefix;
}

function bytesOf(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Serialises tensors (in name order) with an optional metadata object of strings. */
export function serializeSafetensors(tensors: Record<string, Tensor> | Map<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const { headerBytes, list, dataSize } = layout(tensors, metadata);
  const out = new Uint8Array(8 + headerBytes.length + dataSize);
  out.set(lengthPrefix(headerBytes.length), 0);
  out.set(headerBytes, 8);
  let cursor = 8 + headerBytes.length;
  for (const [, t] of list) {
    out.set(bytesOf(t), cursor);
    cursor += t.data.byteLength;
  }
  return out;
}

/** Writes a .safetensors file tensor by tensor (no second copy of the weights in memory). */
export function writeSafetensors(path: string, tensors: Record<string, Tensor> | Map<string, Tensor>, metadata: Record<string, string> = {}): void {
  const { headerBytes, list } = layout(tensors, metadata);
  const fd = openSync(path, 'w');
  try {
    writeAll(fd, lengthPrefix(headerBytes.length));
    writeAll(fd, headerBytes);
    for (const [, t] of list) writeAll(fd, bytesOf(t));
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}
