// Tensors derived from parameters (a Cayley transform, a re-laid-out weight),
// computed in TypeScript and cached. A derived tensor is recomputed when any of
// its source parameters changed — replaced in `parameters` or overwritten in
// place (loading a checkpoint) — which is checked by comparing the sources'
// bytes with a copy (a memcmp, cheap next to the O(H²) step it feeds).
//
// Device sources (a model moved to the GPU) cannot be compared byte by byte
// without a download per call, so they are compared by identity and by a write
// counter that every in-place write into a device parameter bumps (see
// markDeviceWrite; LanguageModel.loadParameters calls it). On a miss the sources
// are downloaded once, the value is computed on the host as usual and uploaded:
// the forward pass then only reads device memory.

import { Tensor } from '../../tensor.js';
import type { DeviceBuffer } from '../../native.js';

function bytes(t: Tensor): Buffer {
  const d = t.data;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

const deviceWrites = new WeakMap<DeviceBuffer, number>();

/** Records that device memory of `t` was overwritten in place, so values derived from it are recomputed. */
export function markDeviceWrite(t: Tensor): void {
  if (t.deviceBuffer === undefined) return;
  deviceWrites.set(t.deviceBuffer, (deviceWrites.get(t.deviceBuffer) ?? 0) + 1);
}

function writeCount(t: Tensor): number {
  return deviceWrites.get(t.deviceBuffer!) ?? 0;
}

export class Derived<T> {
  private sources: Tensor[] = [];
  private copies: Buffer[] = [];
  private value: T | undefined;
  private device: { sources: Tensor[]; writes: number[]; value: T } | undefined;

  constructor(private readonly compute: (...sources: Tensor[]) => T) {}

  get(...sources: Tensor[]): T {
    if (sources.some((s) => s.device === 'cuda')) return this.getOnDevice(sources);
    const fresh =
      this.value !== undefined &&
      sources.length === this.sources.length &&
      sources.every((s, i) => s === this.sources[i] && bytes(s).equals(this.copies[i]!));
    if (!fresh) {
      this.value = this.compute(...sources);
      this.sources = sources;
      this.copies = sources.map((s) => Buffer.from(bytes(s)));
    }
    return this.value!;
  }

  private getOnDevice(sources: Tensor[]): T {
    const cached = this.device;
    if (
      cached !== undefined &&
      sources.length === cached.sources.length &&
      sources.every((s, i) => s === cached.sources[i] && writeCount(s) === cached.writes[i])
    ) {
      return cached.value;
    }
    const host = this.compute(...sources.map((s) => s.toHostSync()));
    if (!(host instanceof Tensor)) throw new TypeError('a derived value that is not a Tensor cannot be moved to the cuda device');
    const value = host.toDeviceSync('cuda') as T;
    this.device = { sources, writes: sources.map(writeCount), value };
    return value;
  }
}
