// A language model's running state: every layer's mixer state (recurrent
// states, conv windows, KV caches) and how many tokens each batch row has seen.
// forward/step advance it in place (they swap in the layers' new states);
// serialize() parks it as bytes that restoreState() turns back into a state
// for the same model.

import { Tensor, type Device } from '../tensor.js';
import { stateBytes, type MixerState } from '../layers/mixer.js';
import { encodeState, type StateEntries } from '../io/state-format.js';

export class ModelState {
  constructor(
    readonly batch: number,
    /** one mixer state per layer */
    public layers: MixerState[],
    /** tokens consumed so far, per batch row */
    public positions: Int32Array,
    private readonly hash: string,
    /** where the layer states' tensors live (a KV cache's lengths stay on the host either way) */
    readonly device: Device = 'cpu',
  ) {}

  /** Bytes held by the layer states (for attention layers: the KV caches, which grow with the context). */
  get bytes(): number {
    return this.layers.reduce((n, s) => n + stateBytes(s), 0);
  }

  /**
   * The state as bytes: versioned header, the model config's hash, every tensor, a SHA-256 checksum. A device
   * state is copied to the host first; the bytes are the same as a CPU model's, and restore on either device.
   */
  serialize(): Uint8Array {
    const entries: StateEntries = { batch: this.batch, layerCount: this.layers.length };
    entries.positions = new Tensor(Int32Array.from(this.positions), [this.batch]);
    this.layers.forEach((s, i) => {
      for (const [name, v] of Object.entries(s)) entries[`layers.${i}.${name}`] = v instanceof Tensor ? v.toHostSync() : v;
    });
    return encodeState(entries, this.hash);
  }
}
