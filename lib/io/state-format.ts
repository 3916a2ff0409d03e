// The byte format of a serialised model state (the recurrent states and KV
// caches of every layer), so a conversation can be parked and resumed:
//
//   magic "CRSTATE\0" | u32 version | u32 header length H | H bytes JSON header
//   | data | 32-byte SHA-256 of everything before it
//
// The header names the model configuration's hash (a state only restores into
// the model it came from) and lists every entry: tensors with dtype, shape and
// [begin, end) in the data, or plain numbers. Reading checks the checksum
// before it trusts anything, then the header against the data's bounds.

import { createHash } from 'node:crypto';
import { Tensor, MAX_TENSOR_ELEMENTS } from '../tensor.js';
import { bytesPerElement, isDType, type DType } from '../dtype.js';

export const STATE_FORMAT_VERSION = 1;
const MAGIC = new TextEncoder().encode('CRSTATE\0');

export type StateEntries = Record<string, Tensor | number>;

interface HeaderEntry {
  dtype?: DType;
  shape?: number[];
  offsets?: [number, number];
  value?: number;
}

/** A stable hash of a configuration object (key order does not matter). */
export function configHash(config: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  return createHash('sha256').update(JSON.stringify(canonical(config))).digest('hex');
}

export function encodeState(entries: StateEntries, hash: string): Uint8Array {
  const header: { configHash: string; entries: Record<string, HeaderEntry> } = { configHash: hash, entries: {} };
  let offset = 0;
  const tensors: Tensor[] = [];
  for (const [name, v] of Object.entries(entries)) {
    if (v instanceof Tensor) {
      const length = v.data.byteLength;
      header.entries[name] = { dtype: v.dtype, shape: [...v.shape], offsets: [offset, offset + length] };
      tensors.push(v);
      offset += length;
    } else if (typeof v === 'number' && Number.isFinite(v)) {
      header.entries[name] = { value: v };
    } else {
      throw new TypeError(`state: entry '${name}' must be a Tensor or a finite number`);
    }
  }
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const total = MAGIC.length + 8 + headerBytes.length + offset + 32;
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(MAGIC.length, STATE_FORMAT_VERSION, true);
  view.setUint32(MAGIC.length + 4, headerBytes.length, true);
  out.set(headerBytes, MAGIC.length + 8);
  let cursor = MAGIC.length + 8 + headerBytes.length;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), cursor);
    cursor += t.data.byteLength;
  }
  out.set(createHash('sha256').update(out.subarray(0, cursor)).digest(), cursor);
  return out;
}

function bad(message: string): never {
  throw new RangeError(`restoreState: ${message}`);
}

/**
 * Decodes and checks state bytes: magic, checksum, version, then that the
 * configuration hash is `expectedHash` and every entry lies inside the data.
 * The caller (a model) then checks names and shapes against its own layout.
 */
export function decodeState(bytes: unknown, expectedHash: string): { entries: StateEntries } {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('restoreState: bytes must be a Uint8Array (from state.serialize())');
  if (bytes.length < MAGIC.length + 8 + 32) bad(`${bytes.length} bytes is too short to be a serialised state`);
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) bad('these bytes are not a crossroad state (bad magic)');
  const body = bytes.subarray(0, bytes.length - 32);
  const digest = createHash('sha256').update(body).digest();
  const stored = bytes.subarray(bytes.length - 32);
  for (let i = 0; i < 32; i++) if (digest[i] !== stored[i]) bad('checksum mismatch: the bytes are corrupt or truncated');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const version = view.getUint32(MAGIC.length, true);
  if (version !== STATE_FORMAT_VERSION) bad(`format version ${version} is not supported (this build reads version ${STATE_FORMAT_VERSION})`);
  const headerLength = view.getUint32(MAGIC.length + 4, true);
  const dataStart = MAGIC.length + 8 + headerLength;
  if (dataStart > body.length) bad(`header length ${headerLength} runs past the end`);
  let header: { configHash?: unknown; entries?: unknown };
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(MAGIC.length + 8, dataStart)));
  } catch {
    bad('the header is not valid JSON');
  }
  if (header.configHash !== expectedHash) bad('this state was saved from a model with a different configuration');
  if (typeof header.entries !== 'object' || header.entries === null) bad('the header has no entries');
  const dataSize = body.length - dataStart;
  const entries: StateEntries = {};
  for (const [name, raw] of Object.entries(header.entries as Record<string, HeaderEntry>)) {
    if (typeof raw !== 'object' || raw === null) bad(`entry '${name}' is malformed`);
    if (raw.value !== undefined) {
      if (typeof raw.value !== 'number' || !Number.isFinite(raw.value)) bad(`entry '${name}' is not a finite number`);
      entries[name] = raw.value;
      continue;
    }
    const { dtype, shape, offsets } = raw;
    if (!isDType(dtype)) bad(`entry '${name}' has an unknown dtype`);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) bad(`entry '${name}' has an invalid shape`);
    const elements = shape.reduce((a, b) => a * b, 1);
    if (elements > MAX_TENSOR_ELEMENTS) bad(`entry '${name}' is too large`);
    if (!Array.isArray(offsets) || offsets.length !== 2) bad(`entry '${name}' has invalid offsets`);
    const [begin, end] = offsets;
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin || end > dataSize) {
      bad(`entry '${name}' offsets lie outside the data`);
    }
    if (end - begin !== elements * bytesPerElement(dtype)) bad(`entry '${name}' byte count does not match its shape`);
    const copy = bytes.slice(dataStart + begin, dataStart + end);
    const data = dtype === 'float32' ? new Float32Array(copy.buffer) : dtype === 'int32' ? new Int32Array(copy.buffer) : new Uint16Array(copy.buffer);
    entries[name] = new Tensor(data as Float32Array, shape, dtype);
  }
  return { entries };
}
