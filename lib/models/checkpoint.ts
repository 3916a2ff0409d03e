// Checkpoint folders: config.json + *.safetensors (one file or shards), and an
// optional tokenizer.json. Formats read:
//   crossroad  — what model.save() writes (config.json carries our ModelConfig)
//   MambaForCausalLM, Mamba2ForCausalLM, LlamaForCausalLM, RecurrentGemmaForCausalLM, JambaForCausalLM,
//   ZambaForCausalLM (Hugging Face transformers)
//   state-spaces Mamba / Mamba-2 (config with d_model, n_layer, ssm_cfg; tensors
//   backbone.embedding…, as safetensors)
// Each format is a converter: its config.json → our ModelConfig, and each
// tensor name → ours (or null to drop it, e.g. rotary caches).

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { checkDevice, Tensor, type Device } from '../tensor.js';
import { requireCuda } from '../cuda.js';
import type { LayerSpec, ModelConfig } from './config.js';
import { LanguageModel } from './model.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';

type Json = Record<string, unknown>;

interface Converter {
  config: ModelConfig;
  rename(name: string): string | null;
  /** a value change on load (by our name), e.g. Gemma's RMSNorm weight w used as 1 + w */
  transform?(name: string, t: Tensor): Tensor;
  /** last step over all tensors (by our names), e.g. stacking per-expert weights into [E, …] */
  finish?(weights: Map<string, Tensor>): void;
}

/** Stacks equally shaped tensors into one [n, ...shape] float32 tensor. */
function stack(parts: Tensor[]): Tensor {
  const shape = parts[0]!.shape;
  const size = parts[0]!.size;
  const out = new Float32Array(parts.length * size);
  parts.forEach((p, i) => {
    if (p.shape.length !== shape.length || p.shape.some((v, j) => v !== shape[j])) {
      throw new RangeError(`models.load: experts' weights differ in shape: [${shape.join(', ')}] vs [${p.shape.join(', ')}]`);
    }
    out.set((p.dtype === 'float32' ? p : p.astype('float32')).data as Float32Array, i * size);
  });
  return new Tensor(out, [parts.length, ...shape]);
}

/** x rounded to the nearest bfloat16 (ties to even), as PyTorch does for a bf16 scalar. */
function bf16Round(x: number): number {
  const bits = new Uint32Array(Float32Array.of(x).buffer)[0]!;
  const rounded = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) << 16;
  return new Float32Array(Uint32Array.of(rounded >>> 0).buffer)[0]!;
}

function num(json: Json, key: string, fallback?: number): number {
  const v = json[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`models.load: config.json field '${key}' must be a number, got ${JSON.stringify(json[key])}`);
  return v;
}

function layers(n: number, spec: (i: number) => LayerSpec): LayerSpec[] {
  return Array.from({ length: n }, (_, i) => spec(i));
}

function base(architecture: string, json: Json, d: number, vocab: number, layerSpecs: LayerSpec[], extra: Partial<ModelConfig>): ModelConfig {
  return {
    architecture,
    vocabSize: vocab,
    dModel: d,
    layers: layerSpecs,
    norm: 'rms',
    normEps: 1e-5,
    mlpHidden: 8,
    experts: 1,
    topK: 1,
    tieEmbeddings: json.tie_word_embeddings !== false,
    seed: 0,
    ...extra,
  };
}

const converters: Record<string, (json: Json) => Converter> = {
  crossroad(json) {
    return { config: json.crossroad as ModelConfig, rename: (n) => n };
  },

  MambaForCausalLM(json) {
    const d = num(json, 'hidden_size');
    const dtRank = json.time_step_rank === 'auto' || json.time_step_rank === undefined ? 0 : num(json, 'time_step_rank');
    const mixerConfig = { dState: num(json, 'state_size', 16), dConv: num(json, 'conv_kernel', 4), expand: num(json, 'expand', 2), dtRank };
    const config = base('mamba', json, d, num(json, 'vocab_size'), layers(num(json, 'num_hidden_layers'), () => ({ mixer: 'mamba', mixerConfig, mlp: 'none' })), {
      normEps: num(json, 'layer_norm_epsilon', 1e-5),
    });
    return { config, rename: (n) => (n === 'backbone.embeddings.weight' ? 'backbone.embedding.weight' : n) };
  },

  Mamba2ForCausalLM(json) {
    const d = num(json, 'hidden_size');
    const expand = num(json, 'expand', 2);
    const mixerConfig = {
      dState: num(json, 'state_size', 128),
      dConv: num(json, 'conv_kernel', 4),
      expand,
      headdim: num(json, 'head_dim', 64),
      ngroups: num(json, 'n_groups', 1),
    };
    if (json.num_heads !== undefined && num(json, 'num_heads') * mixerConfig.headdim !== expand * d) {
      throw new RangeError(`models.load: Mamba2 num_heads · head_dim (${num(json, 'num_heads')} · ${mixerConfig.headdim}) must equal expand · hidden_size (${expand * d})`);
    }
    if (json.use_bias === true) throw new RangeError('models.load: Mamba2ForCausalLM with use_bias = true (biases on in_proj/out_proj) is not supported');
    const config = base('mamba2', json, d, num(json, 'vocab_size'), layers(num(json, 'num_hidden_layers'), () => ({ mixer: 'mamba2', mixerConfig, mlp: 'none' })), {
      normEps: num(json, 'layer_norm_epsilon', 1e-5),
      tieEmbeddings: json.tie_word_embeddings === true,
    });
    return { config, rename: (n) => (n === 'backbone.embeddings.weight' ? 'backbone.embedding.weight' : n) };
  },

  RecurrentGemmaForCausalLM(json) {
    const d = num(json, 'hidden_size');
    const heads = num(json, 'num_attention_heads');
    const pattern = Array.isArray(json.block_types) ? (json.block_types as unknown[]).map(String) : ['recurrent', 'recurrent', 'attention'];
    if (pattern.length === 0 || pattern.some((b) => b !== 'recurrent' && b !== 'attention')) {
      throw new RangeError(`models.load: RecurrentGemma block_types must list 'recurrent' / 'attention', got ${JSON.stringify(json.block_types)}`);
    }
    const recurrent = { lruWidth: num(json, 'lru_width', d), numHeads: heads, conv1dWidth: num(json, 'conv1d_width', 4) };
    const attention = {
      heads,
      kvHeads: num(json, 'num_key_value_heads', 1),
      headDim: num(json, 'head_dim', d / heads),
      window: num(json, 'attention_window_size', 2048),
      softcap: 0,
      ropeBase: num(json, 'rope_theta', 10000),
      ropeFraction: num(json, 'partial_rotary_factor', 0.5),
      qkvBias: false,
      outBias: true,
    };
    const n = num(json, 'num_hidden_layers');
    const config = base('griffin', json, d, num(json, 'vocab_size'),
      layers(n, (i) => (pattern[i % pattern.length] === 'recurrent'
        ? { mixer: 'rglru', mixerConfig: recurrent, mlp: 'geglu' }
        : { mixer: 'local-attention', mixerConfig: attention, mlp: 'geglu' })), {
        normEps: num(json, 'rms_norm_eps', 1e-6),
        mlpHidden: Math.floor(num(json, 'intermediate_size') / 2),
        mlpBias: true,
        // HF multiplies the embeddings by √d held as a bfloat16 scalar.
        embedScale: json.embeddings_scale_by_sqrt_dim === false ? 1 : bf16Round(Math.sqrt(d)),
        logitSoftcap: json.final_logit_softcapping === undefined || json.final_logit_softcapping === null ? 30 : num(json, 'final_logit_softcapping'),
        tieEmbeddings: json.tie_word_embeddings !== false,
      });
    const rename = (name: string): string | null => {
      if (name === 'model.embed_tokens.weight') return 'backbone.embedding.weight';
      if (name === 'model.final_norm.weight') return 'backbone.norm_f.weight';
      if (name === 'lm_head.weight') return name;
      const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
      if (!m) return name;
      const rest = m[2]!
        .replace(/^temporal_pre_norm\./, 'norm.')
        .replace(/^channel_pre_norm\./, 'norm2.')
        .replace(/^temporal_block\./, 'mixer.')
        .replace(/^mlp_block\./, 'mlp.');
      return `backbone.layers.${m[1]}.${rest}`;
    };
    // Gemma's RMSNorm scales by (1 + w).
    const isNorm = (ours: string) => /(\.norm\.weight|\.norm2\.weight|^backbone\.norm_f\.weight)$/.test(ours);
    const transform = (ours: string, t: Tensor): Tensor => {
      if (!isNorm(ours)) return t;
      const f = t.dtype === 'float32' ? t : t.astype('float32');
      return new Tensor(Float32Array.from(f.data as Float32Array, (w) => 1 + w), f.shape);
    };
    return { config, rename, transform };
  },

  JambaForCausalLM(json) {
    const d = num(json, 'hidden_size');
    const heads = num(json, 'num_attention_heads');
    const experts = num(json, 'num_experts', 16);
    const [attnPeriod, attnOffset] = [num(json, 'attn_layer_period', 8), num(json, 'attn_layer_offset', 4)];
    const [expertPeriod, expertOffset] = [num(json, 'expert_layer_period', 2), num(json, 'expert_layer_offset', 1)];
    if (json.mamba_proj_bias === true) throw new RangeError('models.load: Jamba with mamba_proj_bias = true is not supported');
    const dtRank = json.mamba_dt_rank === 'auto' || json.mamba_dt_rank === undefined ? 0 : num(json, 'mamba_dt_rank');
    const eps = num(json, 'rms_norm_eps', 1e-6);
    const mamba = { dState: num(json, 'mamba_d_state', 16), dConv: num(json, 'mamba_d_conv', 4), expand: num(json, 'mamba_expand', 2), dtRank, innerNorms: true, innerNormEps: eps };
    // Jamba's attention has no positional encoding (the Mamba layers carry position).
    const attention = { heads, kvHeads: num(json, 'num_key_value_heads', heads), headDim: d / heads, window: 0, softcap: 0, ropeBase: 10000, ropeFraction: 0, qkvBias: false, outBias: false };
    const config = base('jamba', json, d, num(json, 'vocab_size'),
      layers(num(json, 'num_hidden_layers'), (i) => ({
        mixer: i % attnPeriod === attnOffset ? 'attention' : 'mamba',
        mixerConfig: i % attnPeriod === attnOffset ? attention : mamba,
        mlp: experts > 1 && i % expertPeriod === expertOffset ? 'moe' : 'swiglu',
      })), {
        normEps: eps,
        mlpHidden: num(json, 'intermediate_size'),
        experts,
        topK: num(json, 'num_experts_per_tok', 2),
        tieEmbeddings: json.tie_word_embeddings === true,
      });
    const rename = (name: string): string | null => {
      if (name === 'model.embed_tokens.weight') return 'backbone.embedding.weight';
      if (name === 'model.final_layernorm.weight') return 'backbone.norm_f.weight';
      if (name === 'lm_head.weight') return name;
      const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
      if (!m) return name;
      const rest = m[2]!
        .replace(/^input_layernorm\./, 'norm.')
        .replace(/^pre_ff_layernorm\./, 'norm2.')
        .replace(/^(mamba|self_attn)\./, 'mixer.')
        .replace(/^feed_forward\.router\./, 'moe.router.')
        .replace(/^feed_forward\.experts\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$/, 'moe.expert.$1.$2')
        .replace(/^feed_forward\./, 'mlp.');
      return `backbone.layers.${m[1]}.${rest}`;
    };
    const finish = (weights: Map<string, Tensor>) => {
      const groups = new Map<string, Tensor[]>();
      for (const [name, t] of [...weights]) {
        const m = /^(backbone\.layers\.\d+\.moe)\.expert\.(\d+)\.(gate_proj|up_proj|down_proj)$/.exec(name);
        if (!m) continue;
        const key = `${m[1]}.experts.${m[3]}`;
        const list = groups.get(key) ?? [];
        list[Number(m[2])] = t;
        groups.set(key, list);
        weights.delete(name);
      }
      for (const [key, list] of groups) {
        if (list.length !== experts || list.some((t) => !t)) throw new RangeError(`models.load: ${key} needs all ${experts} experts, found ${list.filter(Boolean).length}`);
        weights.set(key, stack(list));
      }
    };
    return { config, rename, finish };
  },

  ZambaForCausalLM(json) {
    const d = num(json, 'hidden_size');
    const heads = num(json, 'num_attention_heads');
    const headDim = num(json, 'attention_head_dim', (2 * d) / heads);
    if (num(json, 'attention_hidden_size', 2 * d) !== 2 * d) throw new RangeError(`models.load: Zamba attention_hidden_size must be 2 · hidden_size (${2 * d})`);
    if (json.mamba_proj_bias === true) throw new RangeError('models.load: Zamba with mamba_proj_bias = true is not supported');
    if (json.mamba_conv_bias === false) throw new RangeError('models.load: Zamba with mamba_conv_bias = false is not supported');
    const act = json.hidden_act ?? 'gelu';
    const mlp = act === 'gelu' ? 'geglu-exact' : act === 'gelu_pytorch_tanh' || act === 'gelu_new' ? 'geglu' : act === 'silu' ? 'swiglu' : undefined;
    if (!mlp) throw new RangeError(`models.load: Zamba hidden_act ${JSON.stringify(act)} is not supported (gelu, gelu_pytorch_tanh, silu)`);
    const mHeads = num(json, 'n_mamba_heads', 2);
    const expand = num(json, 'mamba_expand', 2);
    const dI = expand * d;
    const N = num(json, 'mamba_d_state', 16);
    const R = json.mamba_dt_rank === 'auto' || json.mamba_dt_rank === undefined ? Math.ceil(d / 16) : num(json, 'mamba_dt_rank');
    if (dI % mHeads !== 0) throw new RangeError(`models.load: Zamba n_mamba_heads (${mHeads}) must divide mamba_expand · hidden_size (${dI})`);
    const mamba = { dState: N, dConv: num(json, 'mamba_d_conv', 4), expand, dtRank: R, heads: mHeads };
    // No positional encoding; scores scaled by 1/√(head_dim / 2); q/k/v read 2·d, o_proj writes d.
    const attention = {
      heads, kvHeads: json.num_key_value_heads == null ? heads : num(json, 'num_key_value_heads'), headDim, window: 0, softcap: 0, ropeBase: 10000,
      ropeFraction: 0, qkvBias: false, outBias: false, dOut: d, scale: 1 / Math.sqrt(headDim / 2),
    };
    const n = num(json, 'num_hidden_layers');
    const [period, offset] = [num(json, 'attn_layer_period', 6), num(json, 'attn_layer_offset', 4)];
    const types = Array.isArray(json.layers_block_type)
      ? (json.layers_block_type as unknown[]).map(String)
      : ['mamba', 'mamba', 'hybrid', ...Array.from({ length: Math.max(0, n - 3) }, (_, i) => (i % period === offset ? 'hybrid' : 'mamba'))].slice(0, n);
    if (types.length !== n || types.some((t) => t !== 'mamba' && t !== 'hybrid')) throw new RangeError(`models.load: Zamba layers_block_type must list ${n} of 'mamba' / 'hybrid'`);
    // HF layer i → our block index of its Mamba (a hybrid layer is two blocks: the shared transformer, then the Mamba).
    const specs: LayerSpec[] = [];
    const ours: number[] = [];
    for (const t of types) {
      if (t === 'hybrid') specs.push({ mixer: 'attention', mixerConfig: attention, mlp, sharedGroup: 'transformer', zambaShared: true });
      ours.push(specs.length);
      specs.push({ mixer: 'mamba', mixerConfig: mamba, mlp: 'none', zambaInject: t === 'hybrid' });
    }
    const config = base('zamba', json, d, num(json, 'vocab_size'), specs, {
      normEps: num(json, 'rms_norm_eps', 1e-5),
      mlpHidden: num(json, 'intermediate_size'),
      tieEmbeddings: json.tie_word_embeddings !== false,
    });
    const mixerNames: Record<string, string> = { x_proj_weight: 'x_proj.weight', dt_proj_weight: 'dt_proj.weight', dt_proj_bias: 'dt_proj.bias' };
    const rename = (name: string): string | null => {
      if (name === 'model.embed_tokens.weight') return 'backbone.embedding.weight';
      if (name === 'model.final_layernorm.weight') return 'backbone.norm_f.weight';
      if (name === 'lm_head.weight') return name;
      const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
      if (!m || ours[Number(m[1])] === undefined) return name;
      const j = ours[Number(m[1])]!;
      const shared = /^shared_transf\.(.+)$/.exec(m[2]!);
      if (shared) {
        // One set for all hybrid layers (HF ties them; a file may hold every copy or one).
        return `backbone.shared.transformer.${shared[1]!
          .replace(/^input_layernorm\./, 'norm.')
          .replace(/^pre_ff_layernorm\./, 'norm2.')
          .replace(/^self_attn\./, 'mixer.')
          .replace(/^feed_forward\./, 'mlp.')}`;
      }
      const rest = m[2]!
        .replace(/^mamba_decoder\./, '')
        .replace(/^input_layernorm\./, 'norm.')
        .replace(/^mamba\.(x_proj_weight|dt_proj_weight|dt_proj_bias)$/, (_, k: string) => `mamba.${mixerNames[k]}`)
        .replace(/^mamba\./, 'mixer.');
      return `backbone.layers.${j}.${rest}`;
    };
    const Ih = dI / mHeads;
    const transform = (name: string, t: Tensor): Tensor => {
      const m = /^backbone\.layers\.\d+\.mixer\.(in_proj\.weight|x_proj\.weight|dt_proj\.weight|dt_proj\.bias|A_log|D)$/.exec(name);
      if (!m) return t;
      const f = (t.dtype === 'float32' ? t : t.astype('float32')).data as Float32Array;
      switch (m[1]) {
        case 'in_proj.weight': {
          // HF interleaves the rows (x₀, z₀, x₁, z₁, …); ours are x | z.
          const out = new Float32Array(f.length);
          for (let k = 0; k < 2 * dI; k++) out.set(f.subarray(k * d, (k + 1) * d), ((k % 2) * dI + (k >> 1)) * d);
          return new Tensor(out, [2 * dI, d]);
        }
        case 'x_proj.weight': {
          // [heads, R + 2N, dI/heads] → block-diagonal [heads·(R + 2N), dI]: dt rows of every head | B | C.
          if (f.length !== mHeads * (R + 2 * N) * Ih) throw new RangeError(`models.load: ${name} must have ${mHeads}·${R + 2 * N}·${Ih} values`);
          const out = new Float32Array(mHeads * (R + 2 * N) * dI);
          for (let g = 0; g < mHeads; g++) {
            for (let r = 0; r < R + 2 * N; r++) {
              const row = r < R ? g * R + r : r < R + N ? mHeads * R + g * N + (r - R) : mHeads * (R + N) + g * N + (r - R - N);
              out.set(f.subarray((g * (R + 2 * N) + r) * Ih, (g * (R + 2 * N) + r + 1) * Ih), row * dI + g * Ih);
            }
          }
          return new Tensor(out, [mHeads * (R + 2 * N), dI]);
        }
        case 'dt_proj.weight': {
          // [heads, dI/heads, R] → block-diagonal [dI, heads·R].
          if (f.length !== dI * R) throw new RangeError(`models.load: ${name} must have ${dI}·${R} values`);
          const out = new Float32Array(dI * mHeads * R);
          for (let g = 0; g < mHeads; g++) {
            for (let c = 0; c < Ih; c++) out.set(f.subarray((g * Ih + c) * R, (g * Ih + c + 1) * R), (g * Ih + c) * mHeads * R + g * R);
          }
          return new Tensor(out, [dI, mHeads * R]);
        }
        default: // dt_proj.bias, D: [heads, dI/heads] → [dI]; A_log: [heads, dI/heads, N] → [dI, N]
          return new Tensor(Float32Array.from(f), m[1] === 'A_log' ? [dI, N] : [dI]);
      }
    };
    return { config, rename, transform };
  },

  LlamaForCausalLM(json) {
    const d = num(json, 'hidden_size');
    const heads = num(json, 'num_attention_heads');
    const mixerConfig = {
      heads,
      kvHeads: num(json, 'num_key_value_heads', heads),
      headDim: num(json, 'head_dim', d / heads),
      ropeBase: num(json, 'rope_theta', 10000),
      qkvBias: json.attention_bias === true,
      outBias: json.attention_bias === true,
    };
    if (json.rope_scaling) throw new RangeError(`models.load: LlamaForCausalLM with rope_scaling ${JSON.stringify(json.rope_scaling)} is not supported`);
    const config = base('llama', json, d, num(json, 'vocab_size'), layers(num(json, 'num_hidden_layers'), () => ({ mixer: 'attention', mixerConfig, mlp: 'swiglu' })), {
      normEps: num(json, 'rms_norm_eps', 1e-6),
      mlpHidden: num(json, 'intermediate_size'),
      tieEmbeddings: json.tie_word_embeddings === true,
    });
    const rename = (n: string): string | null => {
      if (n.endsWith('.rotary_emb.inv_freq')) return null;
      if (n === 'model.embed_tokens.weight') return 'backbone.embedding.weight';
      if (n === 'model.norm.weight') return 'backbone.norm_f.weight';
      if (n === 'lm_head.weight') return n;
      const m = /^model\.layers\.(\d+)\.(.+)$/.exec(n);
      if (!m) return n;
      const rest = m[2]!
        .replace(/^input_layernorm\./, 'norm.')
        .replace(/^post_attention_layernorm\./, 'norm2.')
        .replace(/^self_attn\./, 'mixer.');
      return `backbone.layers.${m[1]}.${rest}`;
    };
    return { config, rename };
  },
};

/** state-spaces/mamba's MambaLMHeadModel config (d_model, n_layer, ssm_cfg, …). */
function stateSpaces(json: Json): Converter {
  const cfg = (json.ssm_cfg ?? {}) as Json;
  const layer = cfg.layer === 'Mamba2' ? 'mamba2' : 'mamba';
  const multiple = num(json, 'pad_vocab_size_multiple', 8);
  const vocab = Math.ceil(num(json, 'vocab_size') / multiple) * multiple;
  const mixerConfig: Json = {};
  if (cfg.d_state !== undefined) mixerConfig.dState = num(cfg, 'd_state');
  if (cfg.d_conv !== undefined) mixerConfig.dConv = num(cfg, 'd_conv');
  if (cfg.expand !== undefined) mixerConfig.expand = num(cfg, 'expand');
  if (layer === 'mamba2' && cfg.headdim !== undefined) mixerConfig.headdim = num(cfg, 'headdim');
  if (layer === 'mamba2' && cfg.ngroups !== undefined) mixerConfig.ngroups = num(cfg, 'ngroups');
  const config = base(layer, json, num(json, 'd_model'), vocab, layers(num(json, 'n_layer'), () => ({ mixer: layer, mixerConfig, mlp: 'none' })), {
    norm: json.rms_norm === false ? 'layer' : 'rms',
    tieEmbeddings: json.tie_embeddings !== false,
  });
  return { config, rename: (n) => n };
}

function converterFor(json: Json): Converter {
  if (json.crossroad) return converters.crossroad!(json);
  const arch = Array.isArray(json.architectures) ? String(json.architectures[0]) : undefined;
  if (arch && converters[arch]) return converters[arch]!(json);
  if (json.d_model !== undefined && json.n_layer !== undefined) return stateSpaces(json);
  throw new RangeError(`models.load: unsupported checkpoint (architectures: ${JSON.stringify(json.architectures ?? null)}); supported: crossroad, ${Object.keys(converters).filter((k) => k !== 'crossroad').join(', ')}, state-spaces Mamba`);
}

/** The safetensors files of a folder: model.safetensors, or the shards its index names, or every *.safetensors. */
function weightFiles(dir: string): string[] {
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map;
    if (!map) throw new RangeError(`models.load: ${index} has no weight_map`);
    return [...new Set(Object.values(map))].map((f) => join(dir, f));
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  if (files.length === 0) {
    throw new RangeError(`models.load: ${dir} has no .safetensors files${existsSync(join(dir, 'pytorch_model.bin')) ? ' (pytorch_model.bin is not read: convert it to safetensors)' : ''}`);
  }
  return files.map((f) => join(dir, f));
}

/** Checks a models.create/load `device` option; throws an Error saying why when CUDA cannot be used. */
export function checkModelDevice(where: string, device: unknown): Device {
  if (device === undefined || checkDevice(where, device) === 'cpu') return 'cpu';
  requireCuda(where);
  return 'cuda';
}

export interface LoadedModel {
  model: LanguageModel;
  tokenizer?: TextTokenizer;
}

export async function loadModel(dir: string, options: { mmap?: boolean; device?: Device } = {}): Promise<LanguageModel> {
  if (typeof dir !== 'string') throw new TypeError('models.load: dir must be a folder path');
  const device = checkModelDevice('models.load', options.device);
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new RangeError(`models.load: ${dir} has no config.json`);
  let json: Json;
  try {
    json = JSON.parse(readFileSync(configPath, 'utf8')) as Json;
  } catch (e) {
    throw new RangeError(`models.load: ${configPath} is not valid JSON (${(e as Error).message})`);
  }
  const { config, rename, transform, finish } = converterFor(json);
  const model = new LanguageModel(config);
  const weights = new Map<string, Tensor>();
  for (const file of weightFiles(dir)) {
    const { tensors } = readSafetensors(file, { mmap: options.mmap });
    for (const [name, t] of tensors) {
      const ours = rename(name);
      if (ours === null) continue;
      if (ours === 'lm_head.weight' && config.tieEmbeddings) continue;  // some exporters save the tied copy too
      if (weights.has(ours) && ours.startsWith('backbone.shared.')) continue; // tied copies (Zamba's shared block in every hybrid layer)
      if (weights.has(ours)) throw new RangeError(`models.load: tensor '${ours}' appears twice in ${dir}`);
      weights.set(ours, transform ? transform(ours, t) : t);
    }
  }
  finish?.(weights);
  model.loadParameters(weights);
  if (device === 'cuda') {
    // A checkpoint whose matrix weights are stored half width keeps them half width on the device (half the bytes
    // a decode step streams). Exact: loadParameters widened them to float32, castWeights narrows back to the same
    // values. Mixed storage (or weights a converter recomputed in float32) loads as float32.
    const stored = new Set(model.castableWeights().map((name) => weights.get(name)?.dtype));
    if (stored.size === 1 && (stored.has('bfloat16') || stored.has('float16'))) model.castWeights([...stored][0] as 'bfloat16' | 'float16');
    await model.toDevice('cuda');
  }
  const tokenizerPath = join(dir, 'tokenizer.json');
  if (existsSync(tokenizerPath)) model.tokenizer = loadTokenizer(dir);
  return model;
}

/** Writes config.json + model.safetensors that loadModel reads back bit-exactly. */
export function saveModel(model: LanguageModel, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify({ architectures: ['CrossroadLM'], model_type: 'crossroad', crossroad: model.config }, null, 2)}\n`);
  // A device model's parameters are copied to the host to be written.
  const parameters = model.device === 'cpu' ? model.parameters : Object.fromEntries(Object.entries(model.parameters).map(([name, t]) => [name, t.toHostSync()]));
  writeSafetensors(join(dir, 'model.safetensors'), parameters, { format: 'crossroad' });
}
