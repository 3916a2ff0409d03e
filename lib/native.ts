// Loads the compiled addon. The node-gyp build (build/Release) is the
// default; the cmake-js build (build-cmake/Release, with CUDA when it was
// found) is used when it is the only one, or when CROSSROAD_BUILD=cmake.
// CROSSROAD_BUILD=emu loads only the emulator build (build-emu/Release, `npm run build:emu`:
// the CUDA kernels run on a CPU emulator of the CUDA execution model, for tests).
// CROSSROAD_NATIVE=/path/to/crossroad.node names a file directly.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeTensorArg {
  /** Host memory; not read when deviceBuffer is set (a device tensor's data getter throws). */
  data: ArrayBufferView;
  shape: readonly number[];
  dtype: string;
  deviceBuffer?: DeviceBuffer | undefined;
  deviceOffset?: number;
}

/** Device memory from the CUDA caching allocator (created by native code only). */
export interface DeviceBuffer {
  readonly bytes: number;
  readonly device: number;
}

export interface NativeInfo {
  isa: string;
  isas: string[];
  threads: number;
  physicalCores: number;
  logicalCpus: number;
  build?: string;
  compiler: string;
  cuda: {
    built: boolean;
    available: boolean;
    /** true in the emulator build (`npm run build:emu`): kernels run on the CPU, ~1000× slower than a GPU */
    emulated?: boolean;
    runtimeVersion?: number;
    devices: {
      index: number;
      name: string;
      computeCapability: string;
      totalMemory: number;
      multiprocessors: number;
      /** SM clock in kHz */
      clockRateKHz: number;
      /** peak memory bandwidth in bytes/s (from the memory clock and bus width) */
      memoryBandwidth: number;
    }[];
    reason?: string;
  };
}

export interface NativeModule {
  runSync(op: string, tensors: Record<string, NativeTensorArg | undefined>, attrs: Record<string, unknown>): void;
  runAsync(op: string, tensors: Record<string, NativeTensorArg | undefined>, attrs: Record<string, unknown>): Promise<void>;
  runBatchSync(calls: [string, Record<string, NativeTensorArg | undefined>, Record<string, unknown>][]): void;
  runBatchAsync(calls: [string, Record<string, NativeTensorArg | undefined>, Record<string, unknown>][]): Promise<void>;
  opNames(): string[];
  info(): NativeInfo;
  setNumThreads(n: number): void;
  setIsa(name: string): void;
  mapFile(path: string): ArrayBuffer;
  probe(kind: 'fma' | 'triad' | 'read', threads: number, megabytes?: number): { rate: number; seconds: number; threads: number };
  cudaOpNames(): string[];
  cudaAlloc(bytes: number, fill: 'zero' | 'poison' | 'none'): DeviceBuffer;
  cudaUpload(buffer: DeviceBuffer, byteOffset: number, data: ArrayBufferView, async?: false): void;
  cudaUpload(buffer: DeviceBuffer, byteOffset: number, data: ArrayBufferView, async: true): Promise<void>;
  cudaDownload(buffer: DeviceBuffer, byteOffset: number, data: ArrayBufferView, async?: false): void;
  cudaDownload(buffer: DeviceBuffer, byteOffset: number, data: ArrayBufferView, async: true): Promise<void>;
  cudaCopy(dst: DeviceBuffer, dstOffset: number, src: DeviceBuffer, srcOffset: number, bytes: number): void;
  cudaMemory(): { inUse: number; cached: number };
  /** Emulator build only: runs one of native/cuda/emu/selftest.cu's kernels. */
  cudaEmuSelfTest?(name: string): string;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function candidates(): string[] {
  const explicit = process.env.CROSSROAD_NATIVE;
  if (explicit) return [resolve(explicit)];
  const gyp = join(root, 'build', 'Release', 'crossroad.node');
  const cmake = join(root, 'build-cmake', 'Release', 'crossroad.node');
  if (process.env.CROSSROAD_BUILD === 'emu') return [join(root, 'build-emu', 'Release', 'crossroad.node')];
  return process.env.CROSSROAD_BUILD === 'cmake' ? [cmake] : [gyp, cmake];
}

function load(): { module: NativeModule; path: string } {
  const require = createRequire(import.meta.url);
  const tried = candidates();
  for (const path of tried) {
    if (existsSync(path)) return { module: require(path) as NativeModule, path };
  }
  throw new Error(
    `crossroad: the native addon is not built (looked for ${tried.join(', ')}). ` +
      'Run `npm install` (or `npm run build`) in the package folder.',
  );
}

const loaded = load();
export const native: NativeModule = loaded.module;
export const nativePath: string = loaded.path;
