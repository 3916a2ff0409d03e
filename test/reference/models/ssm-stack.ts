// Float64 forward of a Hugging Face Mamba / Mamba-2 language model from its own
// tensor names: embeddings → per layer x += mixer(rmsnorm(x)) → rmsnorm → LM head.
// The mixer is the layer's float64 reference (test/reference/layers/), fed the
// HF tensors under the layer's names. No PyTorch here: this is our reference of
// the published architecture, not transformers' output.

import type { Tensor } from '../../../lib/tensor.js';
import type { Mixer } from '../../../lib/layers/mixer.js';
import type { LayerReference } from '../layers/index.js';
import { linear, rmsNorm } from '../layers/common.js';
import { embed, tensorGetter } from './common.js';

export interface StackRefConfig {
  hidden: number;
  layers: number;
  vocab: number;
  eps: number;
  tied: boolean;
  mixer: { kind: string; config: Record<string, unknown>; reference: LayerReference };
}

export function ssmStackReference(c: StackRefConfig, tensors: Map<string, Tensor>, tokens: number[][]): Float64Array {
  const get = tensorGetter('ssmStackReference', tensors);
  const d = c.hidden;
  const batch = tokens.length;
  const L = tokens[0]!.length;
  const rows = batch * L;
  const emb = get('backbone.embeddings.weight');
  let x = embed(emb, d, tokens);
  for (let i = 0; i < c.layers; i++) {
    const prefix = `backbone.layers.${i}.mixer.`;
    const parameters: Record<string, Tensor> = {};
    for (const [name, t] of tensors) if (name.startsWith(prefix)) parameters[name.slice(prefix.length)] = t;
    const fake = { kind: c.mixer.kind, dModel: d, config: { dModel: d, ...c.mixer.config }, parameters } as unknown as Mixer;
    const out = c.mixer.reference.forward(fake, rmsNorm(x, rows, d, get(`backbone.layers.${i}.norm.weight`), c.eps), batch, L);
    x = x.map((v, j) => v + out[j]!);
  }
  const final = rmsNorm(x, rows, d, get('backbone.norm_f.weight'), c.eps);
  return linear(final, rows, d, c.tied ? emb : get('lm_head.weight'), c.vocab);
}
