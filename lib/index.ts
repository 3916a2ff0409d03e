// crossroad: long-sequence models for Node on native kernels.

import { createRequire } from 'node:module';
import { native, nativePath, type NativeInfo } from './native.js';

export { Tensor, MAX_TENSOR_ELEMENTS, MAX_RANK, type RandnOptions } from './tensor.js';
export type { DType } from './dtype.js';
export { Rng } from './random.js';
export { ops, opNames, immediate, OpBatch, type Ops, type OpRunner } from './ops/index.js';
export { configure, type Config } from './config.js';
import './layers/mixers/index.js';
export { createMixer, mixerSpecs, getMixerSpec, zooTable, type MixerSpec, type BaseConfig, type Paper } from './layers/registry.js';
export { models, LanguageModel, ModelState, type ModelConfig, type LayerSpec, type ModelOptions, type GenerateOptions, type GeneratedToken } from './models/index.js';
export { stateBytes, parameterCount, type Mixer, type MixerState, type MixerOutput, type Family } from './layers/mixer.js';
export { KVCache, type KVCacheOptions, type KVCacheAttendArgs } from './kv-cache.js';

const packageJson = createRequire(import.meta.url)('../../package.json') as { version: string };

export type Isa = 'scalar' | 'avx2' | 'avx512';

export interface Info extends NativeInfo {
  version: string;
  /** Path of the loaded native addon. */
  addon: string;
}

/** Version, the instruction set in use, thread count, CUDA availability. */
export function info(): Info {
  return { version: packageJson.version, addon: nativePath, ...native.info() };
}

/** Sets the number of compute threads (default: one per physical core). */
export function setNumThreads(n: number): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1024) {
    throw new RangeError(`setNumThreads: n must be an integer in [1, 1024], got ${String(n)}`);
  }
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.info().threads;
}

/**
 * Chooses the CPU kernel set: 'scalar', 'avx2' or 'avx512' (must be supported
 * here; see info().isas). CROSSROAD_ISA does the same at load time.
 */
export function setIsa(isa: Isa): void {
  if (typeof isa !== 'string') throw new TypeError(`setIsa: isa must be a string, got ${typeof isa}`);
  native.setIsa(isa);
}

/** Machine-limit probes used by the benchmarks. */
export function probe(kind: 'fma' | 'triad' | 'read', threads: number, megabytes = 256): { rate: number; seconds: number; threads: number } {
  return native.probe(kind, threads, megabytes);
}
