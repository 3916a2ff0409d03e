// A model state "after C tokens" built at its size directly, for timing decode
// at a long context without prefilling it: the work of a step does not depend
// on the state's values. Recurrent states are the same size at any context;
// a KV cache (state with k, v, lengths) gets C tokens' worth of slots.

import { Tensor, type LanguageModel, type ModelState } from '../lib/index.js';

export function stateAtContext(model: LanguageModel, context: number, batch = 1): ModelState {
  const state = model.createState({ batch });
  state.layers = state.layers.map((s) => {
    if (!(s.k instanceof Tensor && s.v instanceof Tensor && s.lengths instanceof Tensor)) return s;
    const [b, slots, h, d] = s.k.shape as [number, number, number, number];
    if (slots > 0) {
      // A window: the state is its fixed-size tail; mark it full.
      return { ...s, lengths: new Tensor(Int32Array.from({ length: b }, () => context), [b]) };
    }
    // The capacity a cache of `context` tokens has (the mixer's power-of-two growth); the first step
    // past it grows the cache once, which the benchmarks' warm-up step absorbs.
    const capacity = Math.max(16, 2 ** Math.ceil(Math.log2(context)));
    // On the model's device, like the state createState made (the lengths are host bookkeeping either way).
    const zeros = () => Tensor.zeros([b, capacity, h, d], 'float32', { device: (s.k as Tensor).device });
    return { k: zeros(), v: zeros(), lengths: new Tensor(Int32Array.from({ length: b }, () => context), [b]) };
  });
  state.positions.fill(context);
  for (const s of state.layers) if (typeof s.offset === 'number') s.offset = context;
  return state;
}
