// Joining per-row states into one batched state (generation prefills prompts
// of different lengths one by one, then decodes them together). Constant-size
// states concatenate along the batch axis; a mixer whose state depends on the
// row's length (a KV cache) provides its own mergeStates.

import { ops } from '../ops/index.js';
import { Tensor } from '../tensor.js';
import type { Mixer, MixerState } from '../layers/mixer.js';

export function mergeStates(mixer: Mixer, states: MixerState[]): MixerState {
  if (states.length === 1) return states[0]!;
  if (mixer.mergeStates) return mixer.mergeStates(states);
  const merged: MixerState = {};
  for (const [name, first] of Object.entries(states[0]!)) {
    if (first instanceof Tensor) {
      merged[name] = ops.concatSync({ inputs: states.map((s) => s[name] as Tensor), axis: 0 }).y;
    } else {
      if (states.some((s) => s[name] !== first)) throw new RangeError(`${mixer.kind}: cannot merge states whose '${name}' differ; the mixer needs its own mergeStates`);
      merged[name] = first;
    }
  }
  return merged;
}
