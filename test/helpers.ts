// Shared test helpers: seeded inputs, the relative-error measure, and
// switching on NaN-poisoned outputs for every test process.

import test from 'ava';
import { configure, info, setIsa, Tensor, type Isa } from '../lib/index.js';

// Every output an op allocates starts as NaN, so an element a kernel forgets
// to write fails the comparison instead of passing as a zero.
configure({ poisonOutputs: true });

/** ‖out − ref‖ / ‖ref‖ (NaN anywhere in `out` gives NaN, which fails every bound). */
export function relError(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (out.length !== ref.length) throw new Error(`relError: lengths differ (${out.length} vs ${ref.length})`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = out[i]! - ref[i]!;
    num += d * d;
    den += ref[i]! * ref[i]!;
  }
  if (den === 0) return Math.sqrt(num);
  return Math.sqrt(num / den);
}

/** Largest |out − ref|. */
export function maxAbsDiff(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(out[i]! - ref[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? NaN : d;
    if (Number.isNaN(m)) return NaN;
  }
  return m;
}

export function randn(shape: number[], seed: number, std = 1): Tensor {
  return Tensor.randn(shape, { seed, std });
}

/** Values of any float tensor as float64. */
export function values(t: Tensor): Float64Array {
  return Float64Array.from(t.toArray());
}

/** Every kernel set this machine can run. */
export const ISAS = info().isas as Isa[];

/** Runs `fn` once per available instruction set, restoring the default afterwards. */
export function forEachIsa(fn: (isa: Isa) => void): void {
  const original = info().isa as Isa;
  try {
    for (const isa of ISAS) {
      setIsa(isa);
      fn(isa);
    }
  } finally {
    setIsa(original);
  }
}

/** A snapshot of a tensor's bytes, to prove an op left its inputs alone. */
export function snapshot(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
}

export function sameBytes(t: Tensor, before: Uint8Array): boolean {
  const now = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (now.length !== before.length) return false;
  for (let i = 0; i < now.length; i++) if (now[i] !== before[i]) return false;
  return true;
}

/**
 * The CUDA gate of a test file: `gpu` runs a test (serially) where a CUDA device can be used and skips it
 * elsewhere, the reason printed once under `file`'s name; `noGpu` runs the tests of what happens without one.
 */
export function cudaTests(file: string) {
  const cuda = info().cuda;
  const skipReason: string | null = cuda.available
    ? null
    : (cuda.reason ?? (cuda.built ? 'no CUDA device found' : 'this build has no CUDA support'));
  if (skipReason !== null) console.log(`${file}: CUDA device tests skipped: ${skipReason}`);
  const gpu = skipReason === null ? test.serial : test.skip;
  const noGpu = skipReason === null ? test.skip : test;
  return { cuda, skipReason, gpu, noGpu };
}
