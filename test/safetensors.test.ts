// safetensors: round trips (mapped and streamed), and hostile files rejected
// cleanly with nothing read out of bounds.

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor } from '../lib/index.js';
import { parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors } from '../lib/io/safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'crossroad-st-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function sample(): Record<string, Tensor> {
  return {
    'layers.0.weight': Tensor.randn([7, 5], { seed: 1 }),
    'layers.0.bias': Tensor.randn([7], { seed: 2, dtype: 'bfloat16' }),
    'embedding.weight': Tensor.randn([3, 4], { seed: 3, dtype: 'float16' }),
    'odd.bf16': Tensor.randn([3], { seed: 4, dtype: 'bfloat16' }), // 6 bytes: misaligns what follows
    'position': new Tensor(Int32Array.from([1, -2, 3]), [3]),
  };
}

function sameTensors(t: import('ava').ExecutionContext, a: Map<string, Tensor>, b: Record<string, Tensor>): void {
  t.deepEqual([...a.keys()].sort(), Object.keys(b).sort());
  for (const [name, x] of Object.entries(b)) {
    const y = a.get(name)!;
    t.is(y.dtype, x.dtype, name);
    t.deepEqual(y.shape, x.shape, name);
    t.deepEqual(new Uint8Array(y.data.buffer, y.data.byteOffset, y.data.byteLength), new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength), name);
  }
}

test('write → read round trip is bit-exact, mapped and streamed, with metadata', (t) => {
  const path = join(dir, 'round.safetensors');
  writeSafetensors(path, sample(), { format: 'pt', note: 'crossroad' });
  for (const mmap of [true, false]) {
    const file = readSafetensors(path, { mmap });
    sameTensors(t, file.tensors, sample());
    t.deepEqual(file.metadata, { format: 'pt', note: 'crossroad' });
  }
  const bytes = serializeSafetensors(sample(), { format: 'pt', note: 'crossroad' });
  t.is(new DataView(bytes.buffer).getBigUint64(0, true) % 8n, 0n, 'header padded to 8 bytes');
  sameTensors(t, parseSafetensors(bytes).tensors, sample());
});

test('a mapped tensor is a private copy-on-write view: writing to it leaves the file alone', (t) => {
  const path = join(dir, 'cow.safetensors');
  writeSafetensors(path, { w: Tensor.full([4], 1) });
  const a = readSafetensors(path).tensors.get('w')!;
  a.data[0] = 5;
  t.is(readSafetensors(path).tensors.get('w')!.data[0], 1);
});

function header(json: unknown, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const h = new TextEncoder().encode(typeof json === 'string' ? json : JSON.stringify(json));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const hostile: [string, Uint8Array, RegExp][] = [
  ['empty file', new Uint8Array(0), /too few for a header/],
  ['truncated length prefix', new Uint8Array(5), /too few for a header/],
  ['header length past the end', header({}, new Uint8Array(0), 1000n), /header length 1000 runs past the end/],
  ['absurd header length', header({}, new Uint8Array(0), 1n << 62n), /above the 104857600-byte limit/],
  ['header not JSON', header('{"a": ', new Uint8Array(0)), /not valid UTF-8 JSON/],
  ['header not an object', header('[1, 2]', new Uint8Array(0)), /must be a JSON object/],
  ['unknown dtype', header({ x: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /dtype Q4, which crossroad does not read/],
  ['negative dim', header({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /invalid shape \[-1\]/],
  ['absurd shape', header({ x: { dtype: 'F32', shape: [1e6, 1e6, 1e6], data_offsets: [0, 4] } }, new Uint8Array(4)), /above 4294967296 elements/],
  ['offsets out of range', header({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), /lie outside the 4-byte data section/],
  ['byte count mismatch', header({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)), /hold 4 bytes, but F32 \[2\] needs 8/],
  ['begin after end', header({ x: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, new Uint8Array(4)), /outside the 4-byte data section/],
  ['overlapping tensors', header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /overlaps/],
  ['a hole in the data', header({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /bytes \[0, 4\) of the data section belong to no tensor/],
  ['trailing bytes', header({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)), /has 8 bytes but the tensors cover 4/],
  ['missing offsets', header({ a: { dtype: 'F32', shape: [1] } }, new Uint8Array(4)), /invalid data_offsets/],
  ['metadata not strings', header({ __metadata__: { a: 1 } }, new Uint8Array(0)), /__metadata__\.a must be a string/],
];

for (const [what, bytes, message] of hostile) {
  test(`hostile file rejected: ${what}`, (t) => {
    t.throws(() => parseSafetensors(bytes, 'bad.safetensors'), { instanceOf: RangeError, message });
    const path = join(dir, `${what.replace(/\W+/g, '_')}.safetensors`);
    writeFileSync(path, bytes);
    for (const mmap of [true, false]) t.throws(() => readSafetensors(path, { mmap }), { instanceOf: RangeError, message });
  });
}

test('64- and 8-bit tensors convert on read; out-of-range I64 is an error', (t) => {
  const i64 = new BigInt64Array([5n, -7n]);
  const f64 = new Float64Array([0.5, -1.25]);
  const bytes = header(
    { i: { dtype: 'I64', shape: [2], data_offsets: [0, 16] }, f: { dtype: 'F64', shape: [2], data_offsets: [16, 32] } },
    new Uint8Array([...new Uint8Array(i64.buffer), ...new Uint8Array(f64.buffer)]),
  );
  const file = parseSafetensors(bytes);
  t.deepEqual(file.tensors.get('i')!.toArray(), [5, -7]);
  t.is(file.tensors.get('i')!.dtype, 'int32');
  t.deepEqual(file.tensors.get('f')!.toArray(), [0.5, -1.25]);
  const big = header({ i: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(new BigInt64Array([1n << 40n]).buffer));
  t.throws(() => parseSafetensors(big), { instanceOf: RangeError, message: /does not fit int32/ });
});

test('missing files and bad arguments are clear errors', (t) => {
  t.throws(() => readSafetensors(join(dir, 'nope.safetensors')), { message: /nope\.safetensors/ });
  t.throws(() => readSafetensors(3 as never), { instanceOf: TypeError });
  t.throws(() => serializeSafetensors({ __metadata__: Tensor.zeros([1]) }), { instanceOf: RangeError, message: /reserved/ });
});
