// Float64 Jamba forward from Hugging Face tensor names: embeddings → per layer
// h = x + (mamba with dt/B/C RMSNorms | attention without positions)(rmsnorm(x)),
// x = h + (SwiGLU MLP | top-k MoE of SwiGLU experts, softmax router, no renormalisation)(rmsnorm(h))
// → final rmsnorm → lm_head. No PyTorch here: our reference of the published architecture.

import type { Tensor } from '../../../lib/tensor.js';
import type { Mixer } from '../../../lib/layers/mixer.js';
import { attentionReference } from '../layers/attention.js';
import { mambaReference } from '../layers/mamba.js';
import { linear, rmsNorm, silu } from '../layers/common.js';
import { moeRef } from '../moe.js';
import { embed, tensorGetter } from './common.js';

export interface JambaRefConfig {
  hidden: number;
  layers: number;
  vocab: number;
  eps: number;
  heads: number;
  kvHeads: number;
  attnPeriod: number;
  attnOffset: number;
  expertPeriod: number;
  expertOffset: number;
  experts: number;
  topK: number;
  ffn: number;
  mamba: { dState: number; dConv: number; expand: number; dtRank: number };
}

export function jambaReference(c: JambaRefConfig, tensors: Map<string, Tensor>, tokens: number[][]): Float64Array {
  const get = tensorGetter('jambaReference', tensors);
  const d = c.hidden;
  const batch = tokens.length;
  const L = tokens[0]!.length;
  const rows = batch * L;
  const emb = get('model.embed_tokens.weight');
  let x = embed(emb, d, tokens);
  for (let i = 0; i < c.layers; i++) {
    const p = `model.layers.${i}.`;
    const attention = i % c.attnPeriod === c.attnOffset;
    const prefix = `${p}${attention ? 'self_attn' : 'mamba'}.`;
    const parameters: Record<string, Tensor> = {};
    for (const [name, t] of tensors) if (name.startsWith(prefix)) parameters[name.slice(prefix.length)] = t;
    const config = attention
      ? { dModel: d, heads: c.heads, kvHeads: c.kvHeads, headDim: d / c.heads, window: 0, softcap: 0, ropeBase: 10000, ropeFraction: 0 }
      : { dModel: d, ...c.mamba, innerNorms: true, innerNormEps: c.eps };
    const fake = { kind: attention ? 'attention' : 'mamba', dModel: d, config, parameters } as unknown as Mixer;
    const t = (attention ? attentionReference : mambaReference).forward(fake, rmsNorm(x, rows, d, get(`${p}input_layernorm.weight`), c.eps), batch, L);
    x = x.map((v, j) => v + t[j]!);
    const m = rmsNorm(x, rows, d, get(`${p}pre_ff_layernorm.weight`), c.eps);
    let o: Float64Array;
    if (c.experts > 1 && i % c.expertPeriod === c.expertOffset) {
      const cat = (w: string) => {
        const parts = Array.from({ length: c.experts }, (_, e) => get(`${p}feed_forward.experts.${e}.${w}.weight`));
        const out = new Float64Array(parts.reduce((n, q) => n + q.length, 0));
        parts.forEach((q, e) => out.set(q, e * q.length));
        return out;
      };
      o = moeRef(m, get(`${p}feed_forward.router.weight`), cat('gate_proj'), cat('up_proj'), cat('down_proj'), d, c.ffn, c.experts, c.topK, false).y;
    } else {
      const g = linear(m, rows, d, get(`${p}feed_forward.gate_proj.weight`), c.ffn);
      const u = linear(m, rows, d, get(`${p}feed_forward.up_proj.weight`), c.ffn);
      o = linear(g.map((v, j) => silu(v) * u[j]!), rows, c.ffn, get(`${p}feed_forward.down_proj.weight`), d);
    }
    x = x.map((v, j) => v + o[j]!);
  }
  const final = rmsNorm(x, rows, d, get('model.final_layernorm.weight'), c.eps);
  return linear(final, rows, d, get('lm_head.weight'), c.vocab);
}
