// Checkpoint folders: config.json + *.safetensors (one file or shards), and an
// optional tokenizer.json. Formats read:
//   crossroad  — what model.save() writes (config.json carries our ModelConfig)
//   MambaForCausalLM, Mamba2ForCausalLM, LlamaForCausalLM, RecurrentGemmaForCausalLM, JambaForCausalLM (Hugging Face transformers)
//   state-spaces Mamba / Mamba-2 (config with d_model, n_layer, ssm_cfg; tensors
//   backbone.embedding…, as safetensors)
// Each format is a converter: its config.json → our ModelConfig, and each
// tensor name → ours (or null to drop it, e.g. rotary caches).

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { Tensor } from '../tensor.js';
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

export interface LoadedModel {
  model: LanguageModel;
  tokenizer?: TextTokenizer;
}

export async function loadModel(dir: string, options: { mmap?: boolean } = {}): Promise<LanguageModel> {
  if (typeof dir !== 'string') throw new TypeError('models.load: dir must be a folder path');
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
      if (weights.has(ours)) throw new RangeError(`models.load: tensor '${ours}' appears twice in ${dir}`);
      weights.set(ours, transform ? transform(ours, t) : t);
    }
  }
  finish?.(weights);
  model.loadParameters(weights);
  const tokenizerPath = join(dir, 'tokenizer.json');
  if (existsSync(tokenizerPath)) model.tokenizer = loadTokenizer(dir);
  return model;
}

/** Writes config.json + model.safetensors that loadModel reads back bit-exactly. */
export function saveModel(model: LanguageModel, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify({ architectures: ['CrossroadLM'], model_type: 'crossroad', crossroad: model.config }, null, 2)}\n`);
  writeSafetensors(join(dir, 'model.safetensors'), model.parameters, { format: 'crossroad' });
}
