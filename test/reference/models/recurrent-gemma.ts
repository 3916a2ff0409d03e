// Float64 RecurrentGemma (Griffin) forward from Hugging Face tensor names:
// embeddings × bf16(√d) → per layer h = x + temporal_block(rmsnorm₁₊w(x)), x = h + mlp(rmsnorm₁₊w(h))
// (mlp: down(gelu_tanh(gate(x)) ⊙ up(x)), all with biases) → final rmsnorm₁₊w → tied head → softcap·tanh(·/softcap).
// No PyTorch here: our reference of the published architecture, reusing the layer references.

import type { Tensor } from '../../../lib/tensor.js';
import type { Mixer } from '../../../lib/layers/mixer.js';
import { attentionReference } from '../layers/attention.js';
import { rglruReference } from '../layers/rglru.js';
import { geluTanh, linear, rmsNorm } from '../layers/common.js';
import { embed, tensorGetter } from './common.js';

export interface RecurrentGemmaRefConfig {
  hidden: number;
  layers: number;
  vocab: number;
  eps: number;
  blockTypes: string[];
  heads: number;
  kvHeads: number;
  window: number;
  lruWidth: number;
  conv1dWidth: number;
  mlpWidth: number;
  softcap: number;
  partialRotary: number;
  ropeTheta: number;
  embedScale: number;
}

export function recurrentGemmaReference(c: RecurrentGemmaRefConfig, tensors: Map<string, Tensor>, tokens: number[][]): Float64Array {
  const get = tensorGetter('recurrentGemmaReference', tensors);
  const onePlus = (n: string) => get(n).map((w) => 1 + w);
  const d = c.hidden;
  const batch = tokens.length;
  const L = tokens[0]!.length;
  const rows = batch * L;
  const emb = get('model.embed_tokens.weight');
  let x = embed(emb, d, tokens, c.embedScale);
  for (let i = 0; i < c.layers; i++) {
    const p = `model.layers.${i}.`;
    const parameters: Record<string, Tensor> = {};
    for (const [name, t] of tensors) if (name.startsWith(`${p}temporal_block.`)) parameters[name.slice(`${p}temporal_block.`.length)] = t;
    const recurrent = c.blockTypes[i % c.blockTypes.length] === 'recurrent';
    const config = recurrent
      ? { dModel: d, lruWidth: c.lruWidth, numHeads: c.heads, conv1dWidth: c.conv1dWidth }
      : { dModel: d, heads: c.heads, kvHeads: c.kvHeads, headDim: d / c.heads, window: c.window, softcap: 0, ropeBase: c.ropeTheta, ropeFraction: c.partialRotary };
    const fake = { kind: recurrent ? 'rglru' : 'local-attention', dModel: d, config, parameters } as unknown as Mixer;
    const t = (recurrent ? rglruReference : attentionReference).forward(fake, rmsNorm(x, rows, d, onePlus(`${p}temporal_pre_norm.weight`), c.eps), batch, L);
    x = x.map((v, j) => v + t[j]!);
    const m = rmsNorm(x, rows, d, onePlus(`${p}channel_pre_norm.weight`), c.eps);
    const g = linear(m, rows, d, get(`${p}mlp_block.gate_proj.weight`), c.mlpWidth, get(`${p}mlp_block.gate_proj.bias`));
    const u = linear(m, rows, d, get(`${p}mlp_block.up_proj.weight`), c.mlpWidth, get(`${p}mlp_block.up_proj.bias`));
    const h = g.map((v, j) => geluTanh(v) * u[j]!);
    const o = linear(h, rows, c.mlpWidth, get(`${p}mlp_block.down_proj.weight`), d, get(`${p}mlp_block.down_proj.bias`));
    x = x.map((v, j) => v + o[j]!);
  }
  const final = rmsNorm(x, rows, d, onePlus('model.final_norm.weight'), c.eps);
  return linear(final, rows, d, emb, c.vocab).map((v) => c.softcap * Math.tanh(v / c.softcap));
}
