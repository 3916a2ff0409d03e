// Softmax attention as a sequence mixer — Llama's LlamaAttention
// (transformers models/llama/modeling_llama.py: q_proj, k_proj, v_proj, o_proj),
// with RoPE, grouped-query / multi-query heads (kvHeads divides heads), an
// optional sliding window and logit softcap; and Griffin's local attention
// (RecurrentGemmaSdpaAttention: multi-query, window, RoPE on half of each head,
// o_proj with a bias) as `local-attention`.
//
//   q, k, v = x·Wqᵀ, x·Wkᵀ, x·Wvᵀ;  q, k ← rope(q, k at their positions)
//   o_t = Σ_{s ≤ t, t − s < window} softmax_s(q_t·k_s / √D) v_s;  y = o·Woᵀ
//
// The recurrent state is the KV cache, which grows with the context (a window
// bounds it). Full cache: k, v [b, capacity, kvHeads, D] and lengths [b]; row r's
// tokens 0 … lengths[r] − 1 in slots 0 … lengths[r] − 1, capacity doubling. A
// continuation appends its tokens in place when nobody has appended after the
// state it starts from (copy-on-write otherwise): appends only write past the
// state's lengths, so an older state still sees exactly its own tokens, and a
// decode step costs O(new tokens) of copying, not O(context).
// Window: k, v [b, window − 1, kvHeads, D] hold each row's last tokens (left
// aligned, oldest first) — all a new token can see besides itself; a call
// attends to [held tokens, new tokens] and keeps the tail: O(window) per call.
// On the device (a model moved with toDevice('cuda')) k and v live in device
// memory and every copy is a device slice op; `lengths` stays a host tensor
// (hostStateEntries): it is bookkeeping the host needs to plan the copies, and
// the attention and rope ops get a fresh device copy of it per call.

import { immediate, type OpRunner } from '../../ops/index.js';
import { newDeviceOutput, newOutput } from '../../ops/registry.js';
import { Tensor, type Device } from '../../tensor.js';
import type { DeviceBuffer } from '../../native.js';
import { Init } from '../init.js';
import { checkInput, checkState, type Mixer, type MixerOutput } from '../mixer.js';
import { registerMixer, type BaseConfig } from '../registry.js';

export interface AttentionConfig extends BaseConfig {
  heads: number;
  /** key/value heads (divides heads): heads = MHA, 1 = MQA */
  kvHeads: number;
  /** 0: dModel / heads */
  headDim: number;
  /** 0: full causal attention; else each token sees itself and the window − 1 before it */
  window: number;
  /** 0: off; else scores s → softcap·tanh(s / softcap) */
  softcap: number;
  ropeBase: number;
  /** fraction of each head's channels rotated (RecurrentGemma: 0.5); 0 disables RoPE */
  ropeFraction: number;
  /** biases on q/k/v projections (Qwen-style) */
  qkvBias: boolean;
  /** bias on o_proj (RecurrentGemma) */
  outBias: boolean;
  /** o_proj's output width; 0: dModel (Zamba's shared block reads 2·d and writes d) */
  dOut?: number;
  /** score scale; 0: 1/√headDim (Zamba: 1/√(headDim/2)) */
  scale?: number;
}

type AttentionState = { k: Tensor; v: Tensor; lengths: Tensor };

// Per cache buffer: the lengths written into it so far (the newest state's), to decide
// whether a continuation may append in place.
const filled = new WeakMap<ArrayBufferLike | DeviceBuffer, Int32Array>();

function storage(t: Tensor): ArrayBufferLike | DeviceBuffer {
  return t.device === 'cuda' ? t.deviceBuffer! : t.data.buffer;
}

/** Tokens [from, to) of batch row r of src [b, T, kvH, D] → tokens [at, …) of row dstRow (default r) of dst [b, S, kvH, D]. */
function copyTokens(run: OpRunner, src: Tensor, r: number, from: number, to: number, dst: Tensor, at: number, dstRow = r): void {
  if (to <= from) return;
  const S = dst.shape[1]!;
  // A view of dst's token rows (host or device alike).
  const view = dst.reshape([-1, dst.shape[2]!, dst.shape[3]!]).slice(dstRow * S + at, dstRow * S + at + to - from);
  run.slice({ x: src.select(r), axis: 0, start: from, end: to, out: { y: view } });
}

// Device copies of recent length vectors: every attention layer of a model step uploads the same lengths, and a
// step's kv lengths are the next step's row offsets, so a few entries save an upload (a host round trip) per layer.
// The ops only read them.
const uploaded = new Map<string, Tensor>();

/** An int32 [n] tensor of `values` on `device` (the ops' row offsets and kv lengths). */
function int32On(device: Device, values: ArrayLike<number>): Tensor {
  const host = new Tensor(Int32Array.from(values), [values.length]);
  if (device === 'cpu') return host;
  const key = host.data.join(',');
  let t = uploaded.get(key);
  if (t === undefined) {
    t = host.toDeviceSync(device);
    if (uploaded.size >= 8) uploaded.delete(uploaded.keys().next().value!);
    uploaded.set(key, t);
  }
  return t;
}

class AttentionMixer implements Mixer<AttentionState> {
  readonly dModel: number;
  readonly parameters: Record<string, Tensor>;
  readonly linearWeights = ['q_proj.weight', 'k_proj.weight', 'v_proj.weight', 'o_proj.weight'];
  readonly hostStateEntries = ['lengths'];
  private readonly H: number;
  private readonly Hkv: number;
  private readonly D: number;
  private readonly rotaryDim: number;

  constructor(readonly kind: string, readonly config: Readonly<AttentionConfig>) {
    const d = (this.dModel = config.dModel);
    const { heads, kvHeads } = config;
    for (const [name, v] of [['heads', heads], ['kvHeads', kvHeads]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${kind}: ${name} must be a positive integer, got ${v}`);
    }
    if (heads % kvHeads !== 0) throw new RangeError(`${kind}: kvHeads (${kvHeads}) must divide heads (${heads})`);
    const D = config.headDim || d / heads;
    if (!Number.isInteger(D) || D < 1) throw new RangeError(`${kind}: headDim must be set when heads (${heads}) does not divide dModel (${d})`);
    if (!Number.isInteger(config.window) || config.window < 0) throw new RangeError(`${kind}: window must be an integer ≥ 0, got ${config.window}`);
    if (!(config.softcap >= 0)) throw new RangeError(`${kind}: softcap must be ≥ 0, got ${config.softcap}`);
    if (!(config.ropeFraction >= 0 && config.ropeFraction <= 1)) throw new RangeError(`${kind}: ropeFraction must be in [0, 1], got ${config.ropeFraction}`);
    const dOut = config.dOut || d;
    if (!Number.isInteger(dOut) || dOut < 1) throw new RangeError(`${kind}: dOut must be a positive integer (0: dModel), got ${config.dOut}`);
    if (config.scale !== undefined && !(config.scale >= 0 && Number.isFinite(config.scale))) throw new RangeError(`${kind}: scale must be a finite number ≥ 0 (0: 1/√headDim), got ${config.scale}`);
    [this.H, this.Hkv, this.D] = [heads, kvHeads, D];
    this.rotaryDim = 2 * Math.floor((config.ropeFraction * D) / 2);
    const init = new Init(config.seed ?? 0);
    this.parameters = {
      'q_proj.weight': init.linear(heads * D, d),
      'k_proj.weight': init.linear(kvHeads * D, d),
      'v_proj.weight': init.linear(kvHeads * D, d),
      'o_proj.weight': init.linear(dOut, heads * D),
    };
    if (config.qkvBias) {
      this.parameters['q_proj.bias'] = init.linearBias(heads * D, d);
      this.parameters['k_proj.bias'] = init.linearBias(kvHeads * D, d);
      this.parameters['v_proj.bias'] = init.linearBias(kvHeads * D, d);
    }
    if (config.outBias) this.parameters['o_proj.bias'] = init.linearBias(dOut, heads * D);
  }

  createState(batch: number): AttentionState {
    return this.emptyState(batch, 'cpu');
  }

  private emptyState(batch: number, device: Device): AttentionState {
    const slots = this.config.window > 0 ? this.config.window - 1 : 0;
    const zeros = (n: number) => Tensor.zeros([batch, n, this.Hkv, this.D], 'float32', { device });
    return { k: zeros(slots), v: zeros(slots), lengths: Tensor.zeros([batch], 'int32') };
  }

  private checkAttentionState(batch: number, state: AttentionState): Int32Array {
    if (typeof state !== 'object' || state === null) throw new TypeError(`${this.kind}: state must be an object from createState()`);
    for (const name of ['k', 'v', 'lengths'] as const) {
      if (!(state[name] instanceof Tensor)) throw new TypeError(`${this.kind}: state.${name} must be a Tensor (a state from createState())`);
    }
    const slots = this.config.window > 0 ? this.config.window - 1 : state.k.shape[1]!;
    checkState(this.kind, state, { k: [batch, slots, this.Hkv, this.D], v: [batch, slots, this.Hkv, this.D], lengths: [batch] });
    if (state.lengths.dtype !== 'int32') throw new TypeError(`${this.kind}: state.lengths must be int32`);
    const lengths = state.lengths.data as Int32Array;
    for (let r = 0; r < batch; r++) {
      if (!(lengths[r]! >= 0) || (this.config.window === 0 && lengths[r]! > slots)) throw new RangeError(`${this.kind}: state.lengths[${r}] = ${lengths[r]} is out of range`);
    }
    return lengths;
  }

  forward(run: OpRunner, x: Tensor, state?: AttentionState): MixerOutput<AttentionState> {
    const [batch, L] = checkInput(this.kind, this.dModel, x);
    const lengths = state === undefined ? undefined : this.checkAttentionState(batch, state);
    const device = x.device;
    const { H, Hkv, D } = this;
    const p = this.parameters;
    const project = (name: string, heads: number) =>
      run.linear({ x, weight: p[`${name}.weight`]!, bias: p[`${name}.bias`] }).y.reshape([batch, L, heads, D]);
    let q = project('q_proj', H);
    let k = project('k_proj', Hkv);
    const v = project('v_proj', Hkv);
    if (this.rotaryDim > 0) {
      const rowOffsets = lengths ? int32On(device, lengths) : undefined;
      const rope = (t: Tensor) => run.rope({ x: t, rowOffsets, rotaryDim: this.rotaryDim, base: this.config.ropeBase }).y;
      [q, k] = [rope(q), rope(k)];
    }
    const { window, softcap } = this.config;
    const options = { causal: true, window: window || undefined, softcap: softcap || undefined, scale: this.config.scale || undefined };
    let o: Tensor;
    let next: AttentionState | undefined;
    if (!state || !lengths) {
      o = run.attention({ q, k, v, ...options }).o;
    } else if (window === 0) {
      const cache = this.append(run, state, lengths, k, v);
      o = run.attention({ q, k: cache.k, v: cache.v, kvLengths: int32On(device, cache.lengths.data as Int32Array), ...options }).o;
      next = cache;
    } else {
      // Frame = [held tokens, new tokens] per row; keep its last window − 1 tokens.
      const held = Array.from(lengths, (n) => Math.min(n, window - 1));
      const frame = () => (device === 'cuda' ? newDeviceOutput : newOutput)([batch, window - 1 + L, Hkv, D]);
      const frameK = frame();
      const frameV = frame();
      const nextState = this.emptyState(batch, device);
      for (let r = 0; r < batch; r++) {
        copyTokens(run, state.k, r, 0, held[r]!, frameK, 0);
        copyTokens(run, state.v, r, 0, held[r]!, frameV, 0);
        copyTokens(run, k, r, 0, L, frameK, held[r]!);
        copyTokens(run, v, r, 0, L, frameV, held[r]!);
        const total = held[r]! + L;
        const keep = Math.min(total, window - 1);
        copyTokens(run, frameK, r, total - keep, total, nextState.k, 0);
        copyTokens(run, frameV, r, total - keep, total, nextState.v, 0);
      }
      const kvLengths = int32On(device, held.map((n) => n + L));
      o = run.attention({ q, k: frameK, v: frameV, kvLengths, ...options }).o;
      nextState.lengths = new Tensor(Int32Array.from(lengths, (n) => n + L), [batch]);
      next = nextState;
    }
    const y = run.linear({ x: o.reshape([batch, L, H * D]), weight: p['o_proj.weight']!, bias: p['o_proj.bias'] }).y;
    return next ? { y, state: next } : { y };
  }

  /** The full cache after appending k, v [b, L, kvH, D]: in place when this state is the buffer's newest, else a copy. */
  private append(run: OpRunner, state: AttentionState, lengths: Int32Array, k: Tensor, v: Tensor): AttentionState {
    const [batch, L] = [k.shape[0]!, k.shape[1]!];
    const capacity = state.k.shape[1]!;
    const needed = Math.max(...Array.from(lengths, (n) => n + L));
    const fill = filled.get(storage(state.k));
    const newest = capacity === 0 || (fill !== undefined && fill.every((n, r) => n === lengths[r]));
    let cache: AttentionState;
    if (newest && needed <= capacity) {
      cache = { k: state.k, v: state.v, lengths: state.lengths };
    } else {
      // Capacity: the next power of two (≥ 16), so it depends only on the length — a state reached in steps and one
      // reached in one call are alike — and doubles as the context grows. Zeroed, so unused slots are defined.
      const grown = Math.max(16, 2 ** Math.ceil(Math.log2(needed)));
      const zeros = () => Tensor.zeros([batch, grown, this.Hkv, this.D], 'float32', { device: k.device });
      cache = { k: zeros(), v: zeros(), lengths: state.lengths };
      for (let r = 0; r < batch; r++) {
        copyTokens(run, state.k, r, 0, lengths[r]!, cache.k, 0);
        copyTokens(run, state.v, r, 0, lengths[r]!, cache.v, 0);
      }
    }
    for (let r = 0; r < batch; r++) {
      copyTokens(run, k, r, 0, L, cache.k, lengths[r]!);
      copyTokens(run, v, r, 0, L, cache.v, lengths[r]!);
    }
    const after = Int32Array.from(lengths, (n) => n + L);
    filled.set(storage(cache.k), after);
    return { k: cache.k, v: cache.v, lengths: new Tensor(Int32Array.from(after), [batch]) };
  }

  mergeStates(states: AttentionState[]): AttentionState {
    const lengths = states.map((s) => (s.lengths.data as Int32Array)[0]!);
    const slots = this.config.window > 0 ? this.config.window - 1 : Math.max(16, 2 ** Math.ceil(Math.log2(Math.max(...lengths))));
    const device = states[0]!.k.device;
    const zeros = () => Tensor.zeros([states.length, slots, this.Hkv, this.D], 'float32', { device });
    const merged: AttentionState = { k: zeros(), v: zeros(), lengths: new Tensor(Int32Array.from(lengths), [states.length]) };
    states.forEach((s, r) => {
      const n = this.config.window > 0 ? Math.min(lengths[r]!, slots) : lengths[r]!;
      copyTokens(immediate, s.k, 0, 0, n, merged.k, 0, r);
      copyTokens(immediate, s.v, 0, 0, n, merged.v, 0, r);
    });
    filled.set(storage(merged.k), Int32Array.from(lengths));
    return merged;
  }
}

const paperLlama = { title: 'Llama 2: Open Foundation and Fine-Tuned Chat Models', authors: 'Touvron et al.', year: 2023, url: 'https://arxiv.org/abs/2307.09288' };

registerMixer<AttentionConfig>({
  name: 'attention',
  family: 'attention',
  paper: paperLlama,
  summary: 'causal multi-head softmax attention with RoPE and grouped-query heads (LlamaAttention); its state is the KV cache',
  defaults: { heads: 4, kvHeads: 2, headDim: 0, window: 0, softcap: 0, ropeBase: 10000, ropeFraction: 1, qkvBias: false, outBias: false, dOut: 0, scale: 0 },
  variants: [{ kvHeads: 1, softcap: 30 }, { kvHeads: 4, qkvBias: true, ropeFraction: 0.5 }, { ropeFraction: 0, scale: 0.3 }],
  constantState: false,
  create: (config) => new AttentionMixer('attention', config),
});

registerMixer<AttentionConfig>({
  name: 'local-attention',
  family: 'hybrid',
  paper: { title: 'Griffin: Mixing Gated Linear Recurrences with Local Attention for Efficient Language Models', authors: 'De et al.', year: 2024, url: 'https://arxiv.org/abs/2402.19427' },
  summary: "Griffin's local multi-query attention: a sliding window, RoPE on half of each head; state bounded by the window",
  defaults: { heads: 4, kvHeads: 1, headDim: 0, window: 8, softcap: 0, ropeBase: 10000, ropeFraction: 0.5, qkvBias: false, outBias: true },
  variants: [{ kvHeads: 2, window: 3, ropeFraction: 1, softcap: 20 }, { window: 1 }],
  constantState: true,
  create: (config) => new AttentionMixer('local-attention', config),
});
