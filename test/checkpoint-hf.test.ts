// Hugging Face MambaForCausalLM, Mamba2ForCausalLM, RecurrentGemmaForCausalLM, JambaForCausalLM and
// ZambaForCausalLM folders (written here with
// HF tensor names and config fields, random weights) load, match a float64
// reference of the architecture computed straight from the HF tensors, and
// decode step by step as they prefill.

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { models, Tensor } from '../lib/index.js';
import { readSafetensors, writeSafetensors } from '../lib/io/safetensors.js';
import { relError } from './helpers.js';
import { ssmStackReference } from './reference/models/ssm-stack.js';
import { mambaReference } from './reference/layers/mamba.js';
import { mamba2Reference } from './reference/layers/mamba2.js';
import { recurrentGemmaReference } from './reference/models/recurrent-gemma.js';
import { jambaReference } from './reference/models/jamba.js';
import { zambaReference } from './reference/models/zamba.js';

function folder(tensors: Map<string, Tensor>, config: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'crossroad-hf-'));
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

async function check(t: import('ava').ExecutionContext, dir: string, expectArch: string, reference: (tensors: Map<string, Tensor>, tokens: number[][]) => Float64Array) {
  const m = await models.load(dir);
  t.is(m.config.architecture, expectArch);
  const tokens = [[3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 1]];
  const logits = m.forwardSync(tokens).logits.data as Float32Array;
  const ref = reference(readSafetensors(join(dir, 'model.safetensors')).tensors, tokens);
  const err = relError(logits, ref);
  t.true(err <= 1e-5, `logits vs float64 reference: relative error ${err}`);
  const state = m.createState();
  m.forwardSync([tokens[0]!.slice(0, 5)], { state });
  let last: Float32Array = new Float32Array();
  for (const id of tokens[0]!.slice(5)) last = m.stepSync([id], state).logits.data as Float32Array;
  const V = m.config.vocabSize;
  t.true(relError(last, logits.subarray((tokens[0]!.length - 1) * V)) <= 1e-5, 'prefill then steps equals the full pass');
}

test('MambaForCausalLM: HF names and config load and match the float64 Mamba', async (t) => {
  const [d, n, dConv, expand, layers, vocab] = [16, 4, 4, 2, 2, 40];
  const dI = expand * d;
  const R = Math.ceil(d / 16);
  const tensors = new Map<string, Tensor>();
  let seed = 1;
  const add = (name: string, shape: number[], std = 0.3) => tensors.set(name, Tensor.randn(shape, { seed: seed++, std }));
  add('backbone.embeddings.weight', [vocab, d], 1);
  for (let i = 0; i < layers; i++) {
    const p = `backbone.layers.${i}.`;
    tensors.set(`${p}norm.weight`, Tensor.rand([d], { seed: seed++, low: 0.5, high: 1.5 }));
    add(`${p}mixer.in_proj.weight`, [2 * dI, d]);
    add(`${p}mixer.conv1d.weight`, [dI, 1, dConv]);
    add(`${p}mixer.conv1d.bias`, [dI]);
    add(`${p}mixer.x_proj.weight`, [R + 2 * n, dI]);
    add(`${p}mixer.dt_proj.weight`, [dI, R]);
    add(`${p}mixer.dt_proj.bias`, [dI]);
    tensors.set(`${p}mixer.A_log`, Tensor.rand([dI, n], { seed: seed++, low: 0, high: 2 }));
    add(`${p}mixer.D`, [dI], 1);
    add(`${p}mixer.out_proj.weight`, [d, dI]);
  }
  tensors.set('backbone.norm_f.weight', Tensor.rand([d], { seed: seed++, low: 0.5, high: 1.5 }));
  const dir = folder(tensors, {
    architectures: ['MambaForCausalLM'], model_type: 'mamba', hidden_size: d, num_hidden_layers: layers, vocab_size: vocab,
    state_size: n, conv_kernel: dConv, expand, time_step_rank: 'auto', layer_norm_epsilon: 1e-5, tie_word_embeddings: true,
  });
  try {
    await check(t, dir, 'mamba', (ts, tokens) => ssmStackReference(
      { hidden: d, layers, vocab, eps: 1e-5, tied: true, mixer: { kind: 'mamba', config: { dState: n, dConv, expand, dtRank: 0 }, reference: mambaReference } },
      ts, tokens));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Mamba2ForCausalLM: HF names and config load and match the float64 Mamba-2', async (t) => {
  const [d, N, dConv, expand, P, G, layers, vocab] = [16, 8, 4, 2, 8, 2, 2, 40];
  const dI = expand * d;
  const H = dI / P;
  const tensors = new Map<string, Tensor>();
  let seed = 100;
  const add = (name: string, shape: number[], std = 0.3) => tensors.set(name, Tensor.randn(shape, { seed: seed++, std }));
  add('backbone.embeddings.weight', [vocab, d], 1);
  for (let i = 0; i < layers; i++) {
    const p = `backbone.layers.${i}.`;
    tensors.set(`${p}norm.weight`, Tensor.rand([d], { seed: seed++, low: 0.5, high: 1.5 }));
    add(`${p}mixer.in_proj.weight`, [2 * dI + 2 * G * N + H, d]);
    add(`${p}mixer.conv1d.weight`, [dI + 2 * G * N, 1, dConv]);
    add(`${p}mixer.conv1d.bias`, [dI + 2 * G * N]);
    add(`${p}mixer.dt_bias`, [H]);
    tensors.set(`${p}mixer.A_log`, Tensor.rand([H], { seed: seed++, low: 0, high: 2 }));
    add(`${p}mixer.D`, [H], 1);
    tensors.set(`${p}mixer.norm.weight`, Tensor.rand([dI], { seed: seed++, low: 0.5, high: 1.5 }));
    add(`${p}mixer.out_proj.weight`, [d, dI]);
  }
  tensors.set('backbone.norm_f.weight', Tensor.rand([d], { seed: seed++, low: 0.5, high: 1.5 }));
  add('lm_head.weight', [vocab, d]);
  const dir = folder(tensors, {
    architectures: ['Mamba2ForCausalLM'], model_type: 'mamba2', hidden_size: d, num_hidden_layers: layers, vocab_size: vocab,
    state_size: N, conv_kernel: dConv, expand, head_dim: P, num_heads: H, n_groups: G, layer_norm_epsilon: 1e-5, tie_word_embeddings: false,
  });
  try {
    await check(t, dir, 'mamba2', (ts, tokens) => ssmStackReference(
      { hidden: d, layers, vocab, eps: 1e-5, tied: false, mixer: { kind: 'mamba2', config: { dState: N, dConv, expand, headdim: P, ngroups: G }, reference: mamba2Reference } },
      ts, tokens));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('RecurrentGemmaForCausalLM: HF names and config load and match the float64 Griffin', async (t) => {
  const [d, heads, lruWidth, conv, inter, layers, vocab, window] = [16, 4, 24, 4, 40, 3, 40, 4];
  const bw = lruWidth / heads;
  const D = d / heads;
  const tensors = new Map<string, Tensor>();
  let seed = 300;
  const add = (name: string, shape: number[], std = 0.3) => tensors.set(name, Tensor.randn(shape, { seed: seed++, std }));
  add('model.embed_tokens.weight', [vocab, d], 0.3);
  const blockTypes = ['recurrent', 'recurrent', 'attention'];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}.`;
    add(`${p}temporal_pre_norm.weight`, [d], 0.2);
    add(`${p}channel_pre_norm.weight`, [d], 0.2);
    if (blockTypes[i % 3] === 'recurrent') {
      add(`${p}temporal_block.linear_y.weight`, [lruWidth, d]);
      add(`${p}temporal_block.linear_y.bias`, [lruWidth]);
      add(`${p}temporal_block.linear_x.weight`, [lruWidth, d]);
      add(`${p}temporal_block.linear_x.bias`, [lruWidth]);
      add(`${p}temporal_block.linear_out.weight`, [d, lruWidth]);
      add(`${p}temporal_block.linear_out.bias`, [d]);
      add(`${p}temporal_block.conv_1d.weight`, [lruWidth, 1, conv]);
      add(`${p}temporal_block.conv_1d.bias`, [lruWidth]);
      add(`${p}temporal_block.rg_lru.recurrent_param`, [lruWidth], 1);
      add(`${p}temporal_block.rg_lru.input_gate_weight`, [heads, bw, bw]);
      add(`${p}temporal_block.rg_lru.input_gate_bias`, [heads, bw]);
      add(`${p}temporal_block.rg_lru.recurrent_gate_weight`, [heads, bw, bw]);
      add(`${p}temporal_block.rg_lru.recurrent_gate_bias`, [heads, bw]);
    } else {
      add(`${p}temporal_block.q_proj.weight`, [heads * D, d]);
      add(`${p}temporal_block.k_proj.weight`, [D, d]);
      add(`${p}temporal_block.v_proj.weight`, [D, d]);
      add(`${p}temporal_block.o_proj.weight`, [d, heads * D]);
      add(`${p}temporal_block.o_proj.bias`, [d]);
    }
    add(`${p}mlp_block.gate_proj.weight`, [inter / 2, d]);
    add(`${p}mlp_block.gate_proj.bias`, [inter / 2]);
    add(`${p}mlp_block.up_proj.weight`, [inter / 2, d]);
    add(`${p}mlp_block.up_proj.bias`, [inter / 2]);
    add(`${p}mlp_block.down_proj.weight`, [d, inter / 2]);
    add(`${p}mlp_block.down_proj.bias`, [d]);
  }
  add('model.final_norm.weight', [d], 0.2);
  const dir = folder(tensors, {
    architectures: ['RecurrentGemmaForCausalLM'], model_type: 'recurrent_gemma', hidden_size: d, num_hidden_layers: layers, vocab_size: vocab,
    num_attention_heads: heads, num_key_value_heads: 1, lru_width: lruWidth, conv1d_width: conv, intermediate_size: inter,
    attention_window_size: window, partial_rotary_factor: 0.5, rope_theta: 10000, rms_norm_eps: 1e-6, final_logit_softcapping: 30,
    block_types: blockTypes, embeddings_scale_by_sqrt_dim: true, tie_word_embeddings: true,
  });
  try {
    await check(t, dir, 'griffin', (ts, tokens) => recurrentGemmaReference({
      hidden: d, layers, vocab, eps: 1e-6, blockTypes, heads, kvHeads: 1, window, lruWidth, conv1dWidth: conv, mlpWidth: inter / 2,
      softcap: 30, partialRotary: 0.5, ropeTheta: 10000, embedScale: 4, // √16 = 4 is exact in bfloat16
    }, ts, tokens));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JambaForCausalLM: HF names and config load (experts stacked) and match the float64 Jamba', async (t) => {
  const [d, heads, layers, vocab, ffn, E, n, dConv, expand] = [16, 4, 4, 40, 24, 3, 4, 4, 2];
  const dI = expand * d;
  const R = Math.ceil(d / 16);
  const tensors = new Map<string, Tensor>();
  let seed = 500;
  const add = (name: string, shape: number[], std = 0.3) => tensors.set(name, Tensor.randn(shape, { seed: seed++, std }));
  const norm = (name: string, size: number) => tensors.set(name, Tensor.rand([size], { seed: seed++, low: 0.5, high: 1.5 }));
  add('model.embed_tokens.weight', [vocab, d], 1);
  const [attnPeriod, attnOffset, expertPeriod, expertOffset] = [4, 2, 2, 1];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}.`;
    norm(`${p}input_layernorm.weight`, d);
    norm(`${p}pre_ff_layernorm.weight`, d);
    if (i % attnPeriod === attnOffset) {
      for (const w of ['q_proj', 'k_proj', 'v_proj']) add(`${p}self_attn.${w}.weight`, [w === 'q_proj' ? d : d / 2, d]);
      add(`${p}self_attn.o_proj.weight`, [d, d]);
    } else {
      add(`${p}mamba.in_proj.weight`, [2 * dI, d]);
      add(`${p}mamba.conv1d.weight`, [dI, 1, dConv]);
      add(`${p}mamba.conv1d.bias`, [dI]);
      add(`${p}mamba.x_proj.weight`, [R + 2 * n, dI]);
      add(`${p}mamba.dt_proj.weight`, [dI, R]);
      add(`${p}mamba.dt_proj.bias`, [dI]);
      tensors.set(`${p}mamba.A_log`, Tensor.rand([dI, n], { seed: seed++, low: 0, high: 2 }));
      add(`${p}mamba.D`, [dI], 1);
      add(`${p}mamba.out_proj.weight`, [d, dI]);
      norm(`${p}mamba.dt_layernorm.weight`, R);
      norm(`${p}mamba.b_layernorm.weight`, n);
      norm(`${p}mamba.c_layernorm.weight`, n);
    }
    if (i % expertPeriod === expertOffset) {
      add(`${p}feed_forward.router.weight`, [E, d], 1);
      for (let e = 0; e < E; e++) {
        add(`${p}feed_forward.experts.${e}.gate_proj.weight`, [ffn, d]);
        add(`${p}feed_forward.experts.${e}.up_proj.weight`, [ffn, d]);
        add(`${p}feed_forward.experts.${e}.down_proj.weight`, [d, ffn]);
      }
    } else {
      add(`${p}feed_forward.gate_proj.weight`, [ffn, d]);
      add(`${p}feed_forward.up_proj.weight`, [ffn, d]);
      add(`${p}feed_forward.down_proj.weight`, [d, ffn]);
    }
  }
  norm('model.final_layernorm.weight', d);
  add('lm_head.weight', [vocab, d]);
  const dir = folder(tensors, {
    architectures: ['JambaForCausalLM'], model_type: 'jamba', hidden_size: d, num_hidden_layers: layers, vocab_size: vocab,
    num_attention_heads: heads, num_key_value_heads: 2, intermediate_size: ffn, num_experts: E, num_experts_per_tok: 2,
    attn_layer_period: attnPeriod, attn_layer_offset: attnOffset, expert_layer_period: expertPeriod, expert_layer_offset: expertOffset,
    mamba_d_state: n, mamba_d_conv: dConv, mamba_expand: expand, mamba_dt_rank: 'auto', mamba_conv_bias: true, mamba_proj_bias: false,
    rms_norm_eps: 1e-6, tie_word_embeddings: false,
  });
  try {
    await check(t, dir, 'jamba', (ts, tokens) => jambaReference({
      hidden: d, layers, vocab, eps: 1e-6, heads, kvHeads: 2, attnPeriod, attnOffset, expertPeriod, expertOffset, experts: E, topK: 2, ffn,
      mamba: { dState: n, dConv, expand, dtRank: 0 },
    }, ts, tokens));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ZambaForCausalLM: HF names and config load (shared block, per-head Mamba) and match the float64 Zamba', async (t) => {
  const [d, heads, kvHeads, vocab, ffn, N, dConv, expand, mHeads, R] = [16, 4, 2, 40, 24, 4, 4, 2, 2, 3];
  const dI = expand * d;
  const Ih = dI / mHeads;
  const D = (2 * d) / heads;
  const blockTypes = ['mamba', 'mamba', 'hybrid', 'mamba', 'hybrid'];
  const tensors = new Map<string, Tensor>();
  let seed = 700;
  const add = (name: string, shape: number[], std = 0.3) => tensors.set(name, Tensor.randn(shape, { seed: seed++, std }));
  const norm = (name: string, size: number) => tensors.set(name, Tensor.rand([size], { seed: seed++, low: 0.5, high: 1.5 }));
  add('model.embed_tokens.weight', [vocab, d], 1);
  const shared = new Map<string, Tensor>();
  const sharedAdd = (name: string, shape: number[]) => shared.set(name, Tensor.randn(shape, { seed: seed++, std: 0.3 }));
  shared.set('input_layernorm.weight', Tensor.rand([2 * d], { seed: seed++, low: 0.5, high: 1.5 }));
  shared.set('pre_ff_layernorm.weight', Tensor.rand([d], { seed: seed++, low: 0.5, high: 1.5 }));
  sharedAdd('self_attn.q_proj.weight', [heads * D, 2 * d]);
  sharedAdd('self_attn.k_proj.weight', [kvHeads * D, 2 * d]);
  sharedAdd('self_attn.v_proj.weight', [kvHeads * D, 2 * d]);
  sharedAdd('self_attn.o_proj.weight', [d, heads * D]);
  sharedAdd('feed_forward.gate_proj.weight', [ffn, d]);
  sharedAdd('feed_forward.up_proj.weight', [ffn, d]);
  sharedAdd('feed_forward.down_proj.weight', [d, ffn]);
  blockTypes.forEach((type, i) => {
    let p = `model.layers.${i}.`;
    if (type === 'hybrid') {
      for (const [n, v] of shared) tensors.set(`${p}shared_transf.${n}`, v); // HF ties these: every hybrid layer names the same tensors
      add(`${p}linear.weight`, [d, d]);
      p += 'mamba_decoder.';
    }
    norm(`${p}input_layernorm.weight`, d);
    add(`${p}mamba.in_proj.weight`, [2 * dI, d]);
    add(`${p}mamba.conv1d.weight`, [dI, 1, dConv]);
    add(`${p}mamba.conv1d.bias`, [dI]);
    add(`${p}mamba.x_proj_weight`, [mHeads, R + 2 * N, Ih]);
    add(`${p}mamba.dt_proj_weight`, [mHeads, Ih, R]);
    add(`${p}mamba.dt_proj_bias`, [mHeads, Ih]);
    tensors.set(`${p}mamba.A_log`, Tensor.rand([mHeads, Ih, N], { seed: seed++, low: 0, high: 2 }));
    add(`${p}mamba.D`, [mHeads, Ih], 1);
    add(`${p}mamba.out_proj.weight`, [d, dI]);
  });
  norm('model.final_layernorm.weight', d);
  const dir = folder(tensors, {
    architectures: ['ZambaForCausalLM'], model_type: 'zamba', hidden_size: d, num_hidden_layers: blockTypes.length, vocab_size: vocab,
    num_attention_heads: heads, num_key_value_heads: kvHeads, intermediate_size: ffn, n_mamba_heads: mHeads, hidden_act: 'gelu',
    mamba_d_state: N, mamba_d_conv: dConv, mamba_expand: expand, mamba_dt_rank: R, mamba_conv_bias: true, mamba_proj_bias: false,
    layers_block_type: blockTypes, rms_norm_eps: 1e-5, tie_word_embeddings: true,
  });
  try {
    await check(t, dir, 'zamba', (ts, tokens) => zambaReference({
      hidden: d, vocab, eps: 1e-5, blockTypes, heads, kvHeads, ffn, mambaHeads: mHeads, dState: N, dConv, expand, dtRank: R, tied: true,
    }, ts, tokens));
    // A file holding the shared block once (under the first hybrid layer) loads the same model.
    const all = (await models.load(dir)).forwardSync([[1, 2, 3, 4]]).logits.data;
    for (const n of shared.keys()) tensors.delete(`model.layers.4.shared_transf.${n}`);
    writeSafetensors(join(dir, 'model.safetensors'), tensors);
    t.deepEqual((await models.load(dir)).forwardSync([[1, 2, 3, 4]]).logits.data, all);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ZambaForCausalLM as published: bf16 weights, block types from attn_layer_period/offset (hybrids back to back), the shared block saved once under the last hybrid layer, untied head', async (t) => {
  // ZambaConfig._layers_block_type with 6 layers, period 2, offset 0: mamba, mamba, hybrid, hybrid, mamba, hybrid.
  const [d, heads, kvHeads, vocab, ffn, N, dConv, expand, mHeads, R] = [16, 4, 2, 40, 24, 4, 4, 2, 2, 3];
  const blockTypes = ['mamba', 'mamba', 'hybrid', 'hybrid', 'mamba', 'hybrid'];
  const dI = expand * d;
  const Ih = dI / mHeads;
  const D = (2 * d) / heads;
  const tensors = new Map<string, Tensor>();
  let seed = 900;
  const add = (name: string, shape: number[], std = 0.3) => tensors.set(name, Tensor.randn(shape, { seed: seed++, std }));
  const norm = (name: string, size: number) => tensors.set(name, Tensor.rand([size], { seed: seed++, low: 0.5, high: 1.5 }));
  add('model.embed_tokens.weight', [vocab, d], 1);
  const s = 'model.layers.5.shared_transf.';
  norm(`${s}input_layernorm.weight`, 2 * d);
  norm(`${s}pre_ff_layernorm.weight`, d);
  add(`${s}self_attn.q_proj.weight`, [heads * D, 2 * d]);
  add(`${s}self_attn.k_proj.weight`, [kvHeads * D, 2 * d]);
  add(`${s}self_attn.v_proj.weight`, [kvHeads * D, 2 * d]);
  add(`${s}self_attn.o_proj.weight`, [d, heads * D]);
  add(`${s}feed_forward.gate_proj.weight`, [ffn, d]);
  add(`${s}feed_forward.up_proj.weight`, [ffn, d]);
  add(`${s}feed_forward.down_proj.weight`, [d, ffn]);
  blockTypes.forEach((type, i) => {
    let p = `model.layers.${i}.`;
    if (type === 'hybrid') {
      add(`${p}linear.weight`, [d, d]);
      p += 'mamba_decoder.';
    }
    norm(`${p}input_layernorm.weight`, d);
    add(`${p}mamba.in_proj.weight`, [2 * dI, d]);
    add(`${p}mamba.conv1d.weight`, [dI, 1, dConv]);
    add(`${p}mamba.conv1d.bias`, [dI]);
    add(`${p}mamba.x_proj_weight`, [mHeads, R + 2 * N, Ih]);
    add(`${p}mamba.dt_proj_weight`, [mHeads, Ih, R]);
    add(`${p}mamba.dt_proj_bias`, [mHeads, Ih]);
    tensors.set(`${p}mamba.A_log`, Tensor.rand([mHeads, Ih, N], { seed: seed++, low: 0, high: 2 }));
    add(`${p}mamba.D`, [mHeads, Ih], 1);
    add(`${p}mamba.out_proj.weight`, [d, dI]);
  });
  norm('model.final_layernorm.weight', d);
  add('lm_head.weight', [vocab, d]);
  for (const [name, v] of tensors) tensors.set(name, v.astype('bfloat16'));
  const dir = folder(tensors, {
    architectures: ['ZambaForCausalLM'], model_type: 'zamba', hidden_size: d, num_hidden_layers: blockTypes.length, vocab_size: vocab,
    num_attention_heads: heads, num_key_value_heads: kvHeads, intermediate_size: ffn, n_mamba_heads: mHeads, hidden_act: 'gelu', hidden_mamba_act: 'silu',
    attn_layer_period: 2, attn_layer_offset: 0, mamba_d_state: N, mamba_d_conv: dConv, mamba_expand: expand, mamba_dt_rank: R,
    mamba_conv_bias: true, mamba_proj_bias: false, rms_norm_eps: 1e-5, tie_word_embeddings: false,
  });
  // The reference reads the shared block under every hybrid layer (HF's tied view of the one saved copy).
  const tied = (ts: Map<string, Tensor>) => {
    const all = new Map(ts);
    for (const [name, v] of ts) {
      if (!name.startsWith(s)) continue;
      for (const i of [2, 3]) all.set(name.replace('model.layers.5.', `model.layers.${i}.`), v);
    }
    return all;
  };
  try {
    await check(t, dir, 'zamba', (ts, tokens) => zambaReference({
      hidden: d, vocab, eps: 1e-5, blockTypes, heads, kvHeads, ffn, mambaHeads: mHeads, dState: N, dConv, expand, dtRank: R, tied: false,
    }, tied(ts), tokens));
    const m = await models.load(dir);
    t.is(m.config.layers.length, 9, '3 hybrid layers: a shared-block layer and a Mamba each');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
