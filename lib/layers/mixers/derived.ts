// Tensors derived from parameters (a Cayley transform, a re-laid-out weight),
// computed in TypeScript and cached. A derived tensor is recomputed when any of
// its source parameters changed — replaced in `parameters` or overwritten in
// place (loading a checkpoint) — which is checked by comparing the sources'
// bytes with a copy (a memcmp, cheap next to the O(H²) step it feeds).

import type { Tensor } from '../../tensor.js';

function bytes(t: Tensor): Buffer {
  const d = t.data;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

export class Derived<T> {
  private sources: Tensor[] = [];
  private copies: Buffer[] = [];
  private value: T | undefined;

  constructor(private readonly compute: (...sources: Tensor[]) => T) {}

  get(...sources: Tensor[]): T {
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
}
