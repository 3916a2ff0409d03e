// What the TypeScript side knows about the CUDA backend: whether it can be
// used (and why not), which ops have a CUDA implementation, and device memory.

import { native, type DeviceBuffer } from './native.js';

/** Where a tensor's memory lives. */
export type Device = 'cpu' | 'cuda';

export const DEVICES: readonly Device[] = ['cpu', 'cuda'];

let unavailable: string | null | undefined;

/** Why device tensors cannot be made here, or null when they can. */
export function cudaUnavailableReason(): string | null {
  if (unavailable === undefined) {
    const cuda = native.info().cuda;
    if (!cuda.built) unavailable = cuda.reason ?? 'this build has no CUDA support';
    else if (!cuda.available) unavailable = cuda.reason ?? 'no CUDA device found';
    else unavailable = null;
  }
  return unavailable;
}

/** Throws an Error saying why, unless CUDA can be used. */
export function requireCuda(where: string): void {
  const reason = cudaUnavailableReason();
  if (reason !== null) {
    throw new Error(`${where}: CUDA is not available: ${reason}`);
  }
}

let cudaOps: ReadonlySet<string> | undefined;

/** Names of the ops that run on the device (all their tensors on 'cuda'). */
export function cudaOpNames(): ReadonlySet<string> {
  cudaOps ??= new Set(native.cudaOpNames());
  return cudaOps;
}

/** New device memory: 'zero' fills with zeros, 'poison' with NaN bit patterns, 'none' leaves it. */
export function allocateDevice(bytes: number, fill: 'zero' | 'poison' | 'none'): DeviceBuffer {
  requireCuda('Tensor');
  return native.cudaAlloc(bytes, fill);
}

/** Bytes of device memory held by tensors and by the allocator's cache. */
export function cudaMemory(): { inUse: number; cached: number } {
  return native.cudaMemory();
}
