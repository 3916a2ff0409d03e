// Float64 Llama forward from Hugging Face tensor names (LlamaForCausalLM):
// embed → per layer h = x + attn(rmsnorm(x)); x = h + mlp(rmsnorm(h)) → rmsnorm → lm_head.

import type { Tensor } from '../../../lib/tensor.js';
import type { Mixer } from '../../../lib/layers/mixer.js';
import { attentionReference } from '../layers/attention.js';
import { linear, rmsNorm, silu } from '../layers/common.js';
import { embed, tensorGetter } from './common.js';

export interface LlamaRefConfig {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  intermediate_size: number;
  vocab_size: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
}

export function llamaReference(c: LlamaRefConfig, tensors: Map<string, Tensor>, tokens: number[][]): Float64Array {
  const get = tensorGetter('llamaReference', tensors);
  const d = c.hidden_size;
  const batch = tokens.length;
  const L = tokens[0]!.length;
  const rows = batch * L;
  const emb = get('model.embed_tokens.weight');
  let x = embed(emb, d, tokens);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    const attnIn = rmsNorm(x, rows, d, get(`${p}input_layernorm.weight`), c.rms_norm_eps);
    const params: Record<string, Tensor> = {};
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) params[`${n}.weight`] = tensors.get(`${p}self_attn.${n}.weight`)!;
    const fake = {
      kind: 'attention',
      dModel: d,
      config: { dModel: d, heads: c.num_attention_heads, kvHeads: c.num_key_value_heads, headDim: 0, window: 0, softcap: 0, ropeBase: c.rope_theta, ropeFraction: 1 },
      parameters: params,
    } as unknown as Mixer;
    const a = attentionReference.forward(fake, attnIn, batch, L);
    x = x.map((v, j) => v + a[j]!);
    const mlpIn = rmsNorm(x, rows, d, get(`${p}post_attention_layernorm.weight`), c.rms_norm_eps);
    const I = c.intermediate_size;
    const g = linear(mlpIn, rows, d, get(`${p}mlp.gate_proj.weight`), I);
    const u = linear(mlpIn, rows, d, get(`${p}mlp.up_proj.weight`), I);
    const h = g.map((v, j) => silu(v) * u[j]!);
    const m = linear(h, rows, I, get(`${p}mlp.down_proj.weight`), d);
    x = x.map((v, j) => v + m[j]!);
  }
  const out = rmsNorm(x, rows, d, get('model.norm.weight'), c.rms_norm_eps);
  const head = c.tie_word_embeddings ? emb : get('lm_head.weight');
  return linear(out, rows, d, head, c.vocab_size);
}
