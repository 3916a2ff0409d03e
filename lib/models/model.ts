// A language model: tokens → embedding → blocks → final norm → LM head.
// Each block is pre-norm:  x += mixer(norm(x));  x += mlp(norm2(x))  (the MLP
// when the layer has one). The residual adds are fused into the next norm
// (rmsNorm/layerNorm with `residual`), so the residual stream costs no extra pass.
//
// Parameter names follow state-spaces/mamba's MambaLMHeadModel:
//   backbone.embedding.weight, backbone.layers.{i}.{norm,mixer.*,norm2,mlp.*},
//   backbone.norm_f.weight, lm_head.weight (absent when tied);
// layers of a shared group (Zamba) live once under backbone.shared.{group}.*.
//
// Every call builds the whole forward as one OpBatch: one native job per call,
// run off the event loop (async forms) or on the caller's thread (Sync forms).
//
// Device: toDevice('cuda') (or models.create/load with { device: 'cuda' }) moves
// every parameter to the GPU once, in its dtype (bf16/f16 weights stay half
// width: the device GEMM reads them). The whole forward then runs as device ops
// (each op is placed by its tensors, see lib/ops/registry.ts); states are made
// on the device; token ids are uploaded as int32; forward/step return device
// logits, and generate downloads only the rows it samples from.

import { OpBatch, type OpRunner } from '../ops/index.js';
import { checkDevice, Tensor, type Device } from '../tensor.js';
import { requireCuda } from '../cuda.js';
import { native } from '../native.js';
import { markDeviceWrite } from '../layers/mixers/derived.js';
import { Init } from '../layers/init.js';
import { createMixer, getMixerSpec } from '../layers/registry.js';
import type { Mixer, MixerState } from '../layers/mixer.js';
import { configHash, decodeState } from '../io/state-format.js';
import { checkSampling, sampleToken, type SamplingOptions } from '../generate/sampling.js';
import { Rng } from '../random.js';
import { checkModelConfig, type MlpKind, type ModelConfig } from './config.js';
import { initMlp, runMlp } from './mlp.js';
import { ModelState } from './state.js';
import { mergeStates } from './state-merge.js';
import type { TextTokenizer } from './tokenizer.js';
import { saveModel } from './checkpoint.js';

interface Block {
  prefix: string;
  mixer: Mixer;
  mlp: MlpKind;
  norm: Record<string, Tensor>;
  norm2: Record<string, Tensor>;
  mlpParams: Record<string, Tensor>;
  /** Zamba's shared transformer block (reads concat(x, embeddings); its output goes to the next layer) */
  zambaShared: boolean;
  /** Zamba's hybrid layer: linear(t) of the preceding shared block is added to this layer's input */
  linear?: Tensor;
}

/** Token ids: a Tensor int32 [b, L], rows of ids (number[][], equal lengths), or one row (number[] / Int32Array). */
export type TokenInput = Tensor | readonly (readonly number[])[] | readonly number[] | Int32Array;

export interface ForwardOptions {
  /** continue from this state and advance it in place */
  state?: ModelState;
  /** logits of the last position only ([b, 1, vocab]): what generation needs */
  lastOnly?: boolean;
}

export interface GenerateOptions extends SamplingOptions {
  /** tokens to generate per row (default 16) */
  maxTokens?: number;
  seed?: number;
  /** token ids that end a row (the token is yielded, then the row stops) */
  stop?: readonly number[];
  signal?: AbortSignal;
}

export interface GeneratedToken {
  /** the new token of each row (null once the row stopped) */
  tokens: (number | null)[];
  /** with a tokenizer: the text each row's new token adds ('' while a multi-token character is incomplete) */
  text?: string[];
  /** step number, from 0 */
  index: number;
}

export class LanguageModel {
  readonly config: ModelConfig;
  /** set by models.load when the folder has a tokenizer.json */
  tokenizer?: TextTokenizer;
  /** every parameter by name (shared groups once) */
  readonly parameters: Record<string, Tensor> = {};
  private readonly blocks: Block[] = [];
  private readonly hash: string;
  private where: Device = 'cpu';

  constructor(config: ModelConfig, parameters?: Record<string, Tensor>) {
    this.config = checkModelConfig(config);
    this.hash = configHash(config);
    const { dModel: d, vocabSize: V } = config;
    const init = new Init(config.seed);
    const own = (name: string, t: Tensor) => (this.parameters[name] = t);
    own('backbone.embedding.weight', init.normal([V, d], 0.02));
    const shared = new Map<string, Block>();
    config.layers.forEach((spec, i) => {
      const existing = spec.sharedGroup !== undefined ? shared.get(spec.sharedGroup) : undefined;
      if (existing && existing.zambaShared !== (spec.zambaShared ?? false)) throw new RangeError(`model config: layers of shared group '${spec.sharedGroup}' differ in zambaShared`);
      if (existing) {
        this.blocks.push(existing);
        return;
      }
      const prefix = spec.sharedGroup !== undefined ? `backbone.shared.${spec.sharedGroup}` : `backbone.layers.${i}`;
      getMixerSpec(spec.mixer); // a clear error for an unknown name
      const zambaShared = spec.zambaShared ?? false;
      const mixer = createMixer(spec.mixer, { ...spec.mixerConfig, dModel: zambaShared ? 2 * d : d, seed: config.seed * 7919 + i + 1 });
      const mlp = spec.mlp ?? 'none';
      const block: Block = {
        prefix,
        mixer,
        mlp,
        norm: this.initNorm(zambaShared ? 2 * d : d),
        norm2: mlp === 'none' ? {} : this.initNorm(),
        mlpParams: initMlp(mlp, d, config.mlpHidden, config.experts, init, config.mlpBias ?? false),
        zambaShared,
      };
      if (spec.zambaInject) block.linear = own(`${prefix}.linear.weight`, init.linear(d, d));
      for (const [n, t] of Object.entries(block.norm)) own(`${prefix}.norm.${n}`, t);
      for (const [n, t] of Object.entries(mixer.parameters)) own(`${prefix}.mixer.${n}`, t);
      for (const [n, t] of Object.entries(block.norm2)) own(`${prefix}.norm2.${n}`, t);
      for (const [n, t] of Object.entries(block.mlpParams)) own(`${prefix}.${mlp === 'moe' ? 'moe' : 'mlp'}.${n}`, t);
      if (spec.sharedGroup !== undefined) shared.set(spec.sharedGroup, block);
      this.blocks.push(block);
    });
    own('backbone.norm_f.weight', Tensor.full([d], 1));
    if (config.norm === 'layer') own('backbone.norm_f.bias', Tensor.zeros([d]));
    if (!config.tieEmbeddings) own('lm_head.weight', init.normal([V, d], 0.02));
    if (parameters) this.loadParameters(parameters);
  }

  /**
   * Stores the weights that feed matrix products (embedding/LM head, MLPs and experts, and each mixer's declared
   * linear weights) as bfloat16 or float16 — half the bytes a decode step streams — or back as float32. Norms, gates
   * and state-space parameters stay float32.
   */
  castWeights(dtype: 'float32' | 'bfloat16' | 'float16'): void {
    if (dtype !== 'float32' && dtype !== 'bfloat16' && dtype !== 'float16') throw new RangeError(`castWeights: dtype must be 'float32', 'bfloat16' or 'float16', got ${String(dtype)}`);
    // On the device the conversion runs on the host (a one-off; the forward never converts).
    const convert = (t: Tensor): Tensor => (t.device === 'cuda' ? t.toHostSync().astype(dtype).toDeviceSync('cuda') : t.astype(dtype));
    const cast = (record: Record<string, Tensor>, name: string) => {
      const t = record[name];
      if (t && t.dtype !== dtype) record[name] = convert(t);
      return record[name];
    };
    const seen = new Set<Block>();
    for (const block of this.blocks) {
      if (seen.has(block)) continue;
      seen.add(block);
      for (const name of block.mixer.linearWeights ?? []) this.parameters[`${block.prefix}.mixer.${name}`] = cast(block.mixer.parameters, name)!;
      const mlpPrefix = `${block.prefix}.${block.mlp === 'moe' ? 'moe' : 'mlp'}`;
      for (const name of Object.keys(block.mlpParams)) {
        if (name.endsWith('.bias') || name === 'router.weight') continue;
        this.parameters[`${mlpPrefix}.${name}`] = cast(block.mlpParams, name)!;
      }
      if (block.linear && block.linear.dtype !== dtype) this.parameters[`${block.prefix}.linear.weight`] = block.linear = convert(block.linear);
    }
    cast(this.parameters, 'backbone.embedding.weight');
    cast(this.parameters, 'lm_head.weight');
  }

  /** Names of the parameters castWeights converts (the weights that only feed matrix products). */
  castableWeights(): string[] {
    const names: string[] = [];
    for (const block of new Set(this.blocks)) {
      for (const name of block.mixer.linearWeights ?? []) if (block.mixer.parameters[name]) names.push(`${block.prefix}.mixer.${name}`);
      const mlpPrefix = `${block.prefix}.${block.mlp === 'moe' ? 'moe' : 'mlp'}`;
      for (const name of Object.keys(block.mlpParams)) if (!name.endsWith('.bias') && name !== 'router.weight') names.push(`${mlpPrefix}.${name}`);
      if (block.linear) names.push(`${block.prefix}.linear.weight`);
    }
    for (const name of ['backbone.embedding.weight', 'lm_head.weight']) if (this.parameters[name]) names.push(name);
    return names;
  }

  /** Writes config.json + model.safetensors into `dir` (models.load reads them back bit-exactly). */
  save(dir: string): void {
    saveModel(this, dir);
  }

  private initNorm(d = this.config.dModel): Record<string, Tensor> {
    return this.config.norm === 'rms' ? { weight: Tensor.full([d], 1) } : { weight: Tensor.full([d], 1), bias: Tensor.zeros([d]) };
  }

  /**
   * Replaces parameter values by name (checkpoint loading): every name must exist with the same shape; values are
   * copied into the model's tensors (converted from bf16/f16 when needed), so mixers' caches see the change.
   */
  loadParameters(values: Record<string, Tensor> | Map<string, Tensor>): void {
    const entries = values instanceof Map ? [...values.entries()] : Object.entries(values);
    const seen = new Set<string>();
    for (const [name, t] of entries) {
      const target = this.parameters[name];
      if (!target) throw new RangeError(`model: no parameter named '${name}' in a ${this.config.architecture} model`);
      if (!(t instanceof Tensor)) throw new TypeError(`model: parameter '${name}' must be a Tensor`);
      if (t.shape.length !== target.shape.length || t.shape.some((s, i) => s !== target.shape[i])) {
        throw new RangeError(`model: parameter '${name}' must have shape [${target.shape.join(', ')}], got [${t.shape.join(', ')}]`);
      }
      const host = t.toHostSync();
      const src = host.dtype === target.dtype ? host : host.astype(target.dtype);
      if (target.device === 'cuda') {
        native.cudaUpload(target.deviceBuffer!, target.deviceOffset, src.data, false);
        markDeviceWrite(target); // values derived from it (mamba's A, …) are recomputed
      } else {
        target.data.set(src.data as never);
      }
      seen.add(name);
    }
    const missing = Object.keys(this.parameters).filter((n) => !seen.has(n));
    if (missing.length) throw new RangeError(`model: the checkpoint lacks ${missing.length} parameter(s), e.g. '${missing.slice(0, 3).join("', '")}'`);
  }

  get parameterCount(): number {
    return Object.values(this.parameters).reduce((n, t) => n + t.size, 0);
  }

  /** Where the parameters live and the forward runs: 'cpu' or 'cuda'. */
  get device(): Device {
    return this.where;
  }

  /**
   * Moves every parameter to `device` ('cuda' or 'cpu'), in place, and returns the model. The copies run off the
   * event loop. States made before the move stay where they were (a state must be on the model's device).
   */
  async toDevice(device: Device): Promise<this> {
    const tensors = this.checkMove('toDevice', device);
    const copies = await Promise.all(tensors.map((t) => t.toDevice(device)));
    this.swapTensors(new Map(tensors.map((t, i) => [t, copies[i]!])), device);
    return this;
  }

  /** toDevice, blocking the calling thread until the copies are done. */
  toDeviceSync(device: Device): this {
    const tensors = this.checkMove('toDeviceSync', device);
    this.swapTensors(new Map(tensors.map((t) => [t, t.toDeviceSync(device)])), device);
    return this;
  }

  private checkMove(where: string, device: Device): Tensor[] {
    if (checkDevice(where, device) === 'cuda') requireCuda(`LanguageModel.${where}`);
    const unique = new Set<Tensor>();
    for (const record of this.parameterRecords()) for (const t of Object.values(record)) if (t.device !== device) unique.add(t);
    for (const b of this.blocks) if (b.linear && b.linear.device !== device) unique.add(b.linear);
    return [...unique];
  }

  /** Every record that holds parameter tensors (the model's, and each block's norms, MLP and mixer). */
  private parameterRecords(): Record<string, Tensor>[] {
    const out = [this.parameters];
    for (const b of new Set(this.blocks)) out.push(b.norm, b.norm2, b.mlpParams, b.mixer.parameters);
    return out;
  }

  private swapTensors(moved: Map<Tensor, Tensor>, device: Device): void {
    for (const record of this.parameterRecords()) {
      for (const [name, t] of Object.entries(record)) record[name] = moved.get(t) ?? t;
    }
    for (const b of this.blocks) if (b.linear) b.linear = moved.get(b.linear) ?? b.linear;
    this.where = device;
  }

  /** A mixer state with its tensors on the model's device (hostStateEntries stay on the host). */
  private stateOnDevice(mixer: Mixer, state: MixerState): MixerState {
    if (this.where === 'cpu') return state;
    const host = new Set(mixer.hostStateEntries ?? []);
    const out: MixerState = {};
    for (const [name, v] of Object.entries(state)) out[name] = v instanceof Tensor && !host.has(name) ? v.toDeviceSync(this.where) : v;
    return out;
  }

  createState(options: { batch?: number } = {}): ModelState {
    const batch = options.batch ?? 1;
    if (!Number.isInteger(batch) || batch < 1 || batch > 65536) throw new RangeError(`createState: batch must be an integer in [1, 65536], got ${String(batch)}`);
    const layers = this.blocks.map((b) => this.stateOnDevice(b.mixer, b.mixer.createState(batch)));
    return new ModelState(batch, layers, new Int32Array(batch), this.hash, this.where);
  }

  /** A state from serialize()'s bytes; rejects bytes from another model, or corrupt ones, with a clear error. */
  restoreState(bytes: Uint8Array): ModelState {
    const { entries } = decodeState(bytes, this.hash);
    const batch = entries.batch;
    const count = entries.layerCount;
    const positions = entries.positions;
    if (typeof batch !== 'number' || typeof count !== 'number' || !(positions instanceof Tensor) || positions.dtype !== 'int32') {
      throw new RangeError('restoreState: the bytes are not a model state (batch, layerCount or positions missing)');
    }
    if (count !== this.blocks.length) throw new RangeError(`restoreState: the state has ${count} layers, the model ${this.blocks.length}`);
    if (!Number.isInteger(batch) || batch < 1 || batch > 65536) throw new RangeError(`restoreState: batch must be an integer in [1, 65536], got ${String(batch)}`);
    const templates = this.blocks.map((b) => b.mixer.createState(batch)); // host: only their names and kinds are read
    const layers: MixerState[] = templates.map((template, i) => {
      const s: MixerState = {};
      for (const [name, v] of Object.entries(template)) {
        const stored = entries[`layers.${i}.${name}`];
        if (stored === undefined) throw new RangeError(`restoreState: layer ${i} lacks '${name}'`);
        if (typeof v === 'number' ? typeof stored !== 'number' : !(stored instanceof Tensor) || stored.dtype !== v.dtype) {
          throw new RangeError(`restoreState: layer ${i} '${name}' has the wrong kind`);
        }
        s[name] = stored;
      }
      return this.stateOnDevice(this.blocks[i]!.mixer, s);
    });
    return new ModelState(batch, layers, positions.data as Int32Array, this.hash, this.where);
  }

  /** Records the forward pass on `run`; returns the logits and the layers' new states (when a state was given). */
  private build(run: OpRunner, ids: Tensor, state: ModelState | undefined, lastOnly: boolean): { logits: Tensor; layers?: MixerState[] } {
    const p = this.parameters;
    const eps = this.config.normEps;
    const norm = (w: Record<string, Tensor>, x: Tensor, residual: Tensor | undefined) =>
      this.config.norm === 'rms'
        ? run.rmsNorm({ x, weight: w.weight, residual, eps })
        : run.layerNorm({ x, weight: w.weight, bias: w.bias, residual, eps });
    let x = run.embedding({ ids, table: p['backbone.embedding.weight']! }).y;
    const embedScale = this.config.embedScale ?? 1;
    if (embedScale !== 1) x = run.elementwise({ expr: `x * ${embedScale}`, inputs: { x } }).y;
    const embeddings = x;
    let residual: Tensor | undefined;
    let handed: Tensor | undefined; // Zamba: the shared block's output, for the next layer
    const layers: MixerState[] = [];
    const add = (a: Tensor, b: Tensor) => run.elementwise({ expr: 'a + b', inputs: { a, b } }).y;
    this.blocks.forEach((block, i) => {
      if (block.zambaShared) {
        // t = mlp(norm2(mixer(norm(concat(x, embeddings))))); the residual stream is left as it is.
        const stream = residual ? add(x, residual) : x;
        const cat = run.concat({ inputs: [stream, embeddings], axis: -1 }).y;
        const out = block.mixer.forward(run, norm(block.norm, cat, undefined).y, state?.layers[i]);
        if (state) layers.push(out.state!);
        handed = block.mlp === 'none' ? out.y : runMlp(run, block.mlp, block.mlpParams, norm(block.norm2, out.y, undefined).y, this.config.topK);
        x = stream;
        residual = undefined;
        return;
      }
      let n: { y: Tensor; residualOut?: Tensor };
      if (block.linear && handed) {
        const stream = residual ? add(x, residual) : x;
        n = norm(block.norm, add(stream, run.linear({ x: handed, weight: block.linear }).y), undefined);
        n = { y: n.y, residualOut: stream };
        handed = undefined;
      } else {
        n = norm(block.norm, x, residual);
      }
      residual = n.residualOut ?? x;
      const out = block.mixer.forward(run, n.y, state?.layers[i]);
      if (state) layers.push(out.state!);
      x = out.y;
      if (block.mlp !== 'none') {
        const n2 = norm(block.norm2, x, residual);
        residual = n2.residualOut!;
        x = runMlp(run, block.mlp, block.mlpParams, n2.y, this.config.topK);
      }
    });
    let h = this.config.norm === 'rms'
      ? run.rmsNorm({ x, weight: p['backbone.norm_f.weight'], residual, eps }).y
      : run.layerNorm({ x, weight: p['backbone.norm_f.weight'], bias: p['backbone.norm_f.bias'], residual, eps }).y;
    const L = ids.shape[1]!;
    if (lastOnly && L > 1) h = run.slice({ x: h, axis: 1, start: L - 1 }).y;
    const head = p['lm_head.weight'] ?? p['backbone.embedding.weight']!;
    let logits = run.linear({ x: h, weight: head }).y;
    const cap = this.config.logitSoftcap ?? 0;
    if (cap > 0) logits = run.elementwise({ expr: `${cap} * tanh(z * ${1 / cap})`, inputs: { z: logits } }).y;
    return state ? { logits, layers } : { logits };
  }

  private tokens(where: string, tokens: TokenInput): Tensor {
    const V = this.config.vocabSize;
    let t: Tensor;
    if (tokens instanceof Tensor) {
      if (tokens.dtype !== 'int32' || tokens.rank !== 2) throw new TypeError(`${where}: tokens must be an int32 Tensor [batch, L], got ${tokens.dtype} [${tokens.shape.join(', ')}]`);
      t = tokens;
    } else if (tokens instanceof Int32Array || (Array.isArray(tokens) && tokens.every((v) => typeof v === 'number'))) {
      t = new Tensor(Int32Array.from(tokens as ArrayLike<number>), [1, (tokens as ArrayLike<number>).length]);
    } else if (Array.isArray(tokens) && tokens.every((r) => Array.isArray(r))) {
      const rows = tokens as readonly (readonly number[])[];
      const L = rows[0]?.length ?? 0;
      if (rows.some((r) => r.length !== L)) throw new RangeError(`${where}: token rows must have equal lengths (use generate() for prompts of different lengths)`);
      t = new Tensor(Int32Array.from(rows.flat()), [rows.length, L]);
    } else {
      throw new TypeError(`${where}: tokens must be an int32 Tensor [batch, L], number[][] or number[]`);
    }
    if (t.shape[0] === 0 || t.shape[1] === 0) throw new RangeError(`${where}: tokens must not be empty, got [${t.shape.join(', ')}]`);
    // Ids are checked on the host (the embedding op would read out of range otherwise), then go to the model's device.
    const host = t.toHostSync();
    const data = host.data as Int32Array;
    for (let i = 0; i < data.length; i++) {
      if (!(data[i]! >= 0 && data[i]! < V)) throw new RangeError(`${where}: token id ${data[i]} at ${i} is outside [0, ${V})`);
    }
    return t.device === this.where ? t : host.toDeviceSync(this.where);
  }

  private prepare(where: string, tokens: TokenInput, options: ForwardOptions) {
    const ids = this.tokens(where, tokens);
    const state = options.state;
    if (state !== undefined) {
      if (!(state instanceof ModelState)) throw new TypeError(`${where}: state must come from createState() or restoreState()`);
      if (state.batch !== ids.shape[0]) throw new RangeError(`${where}: the state is for batch ${state.batch}, tokens have batch ${ids.shape[0]}`);
      if (state.device !== this.where) {
        throw new TypeError(`${where}: the state is on ${state.device} but the model is on ${this.where}; make states with this model's createState()/restoreState() after moving it`);
      }
    }
    const batch = new OpBatch();
    const built = this.build(batch.ops, ids, state, options.lastOnly ?? false);
    const commit = () => {
      if (state) {
        state.layers = built.layers!;
        for (let r = 0; r < state.batch; r++) state.positions[r]! += ids.shape[1]!;
      }
      return { logits: built.logits };
    };
    return { batch, commit };
  }

  /** Parallel prefill over [b, L] tokens: logits [b, L, vocab] (or [b, 1, vocab] with lastOnly); advances `state`. */
  async forward(tokens: TokenInput, options: ForwardOptions = {}): Promise<{ logits: Tensor }> {
    const { batch, commit } = this.prepare('forward', tokens, options);
    await batch.run();
    return commit();
  }

  forwardSync(tokens: TokenInput, options: ForwardOptions = {}): { logits: Tensor } {
    const { batch, commit } = this.prepare('forwardSync', tokens, options);
    batch.runSync();
    return commit();
  }

  private stepTokens(where: string, tokens: readonly number[] | Int32Array | Tensor): Tensor {
    if (tokens instanceof Tensor) return tokens.rank === 1 ? tokens.reshape([tokens.shape[0]!, 1]) : tokens;
    if (!(tokens instanceof Int32Array) && !Array.isArray(tokens)) throw new TypeError(`${where}: tokens must be one id per batch row (number[] or Int32Array)`);
    return new Tensor(Int32Array.from(tokens), [tokens.length, 1]);
  }

  /** One token per batch row: logits [b, vocab]; advances `state`. O(1) in the context for recurrent models. */
  async step(tokens: readonly number[] | Int32Array | Tensor, state: ModelState): Promise<{ logits: Tensor }> {
    if (state === undefined) throw new TypeError('step: a state is required (createState())');
    const { logits } = await this.forward(this.stepTokens('step', tokens), { state });
    return { logits: logits.reshape([logits.shape[0]!, logits.shape[2]!]) };
  }

  stepSync(tokens: readonly number[] | Int32Array | Tensor, state: ModelState): { logits: Tensor } {
    if (state === undefined) throw new TypeError('stepSync: a state is required (createState())');
    const { logits } = this.forwardSync(this.stepTokens('stepSync', tokens), { state });
    return { logits: logits.reshape([logits.shape[0]!, logits.shape[2]!]) };
  }

  /**
   * Generates tokens after each prompt (rows may differ in length: each is prefilled on its own, then all decode
   * together). Yields one step at a time; stops after maxTokens, when every row hit a stop token, or when `signal`
   * aborts (the iterator then throws the signal's reason).
   */
  async *generate(prompt: string | readonly string[] | readonly number[] | readonly (readonly number[])[], options: GenerateOptions = {}): AsyncGenerator<GeneratedToken> {
    const sampling = checkSampling('generate', options);
    const maxTokens = options.maxTokens ?? 16;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError(`generate: maxTokens must be a positive integer, got ${String(maxTokens)}`);
    const tokenizer = this.tokenizer;
    const texts = typeof prompt === 'string' ? [prompt] : Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === 'string') ? (prompt as readonly string[]) : undefined;
    if (texts && !tokenizer) throw new TypeError('generate: a text prompt needs a tokenizer (models.load a folder with tokenizer.json), or pass token ids');
    const rows: (readonly number[])[] = texts
      ? texts.map((t) => tokenizer!.encode(t))
      : prompt.length > 0 && Array.isArray(prompt[0]) ? [...(prompt as readonly (readonly number[])[])] : [prompt as readonly number[]];
    if (rows.length === 0 || rows.some((r) => !Array.isArray(r) || r.length === 0)) throw new RangeError('generate: every prompt must have at least one token');
    const stop = new Set(options.stop ?? (tokenizer?.eosTokenId !== undefined ? [tokenizer.eosTokenId] : []));
    const generated: number[][] = rows.map(() => []);
    const shown = rows.map(() => '');
    const rng = new Rng(options.seed ?? 0);
    const signal = options.signal;
    signal?.throwIfAborted();

    // Prefill: one batched call when the rows are equally long, else row by row and the states merged.
    let state: ModelState;
    let last: Float32Array[];
    if (rows.every((r) => r.length === rows[0]!.length)) {
      state = this.createState({ batch: rows.length });
      const { logits } = await this.forward(rows, { state, lastOnly: true });
      const host = (await logits.toHost()).data as Float32Array; // [b, 1, vocab]: only the rows sampled from
      last = rows.map((_, r) => host.subarray(r * this.config.vocabSize, (r + 1) * this.config.vocabSize));
    } else {
      const states: ModelState[] = [];
      last = [];
      for (const row of rows) {
        const s = this.createState({ batch: 1 });
        const { logits } = await this.forward([row], { state: s, lastOnly: true });
        states.push(s);
        last.push((await logits.toHost()).data as Float32Array);
        signal?.throwIfAborted();
      }
      state = new ModelState(
        rows.length,
        this.blocks.map((b, i) => mergeStates(b.mixer, states.map((s) => s.layers[i]!))),
        Int32Array.from(states.map((s) => s.positions[0]!)),
        this.hash,
        this.where,
      );
    }
    const done = rows.map(() => false);
    for (let index = 0; index < maxTokens; index++) {
      signal?.throwIfAborted();
      const tokens = last.map((logits, r) => (done[r] ? null : sampleToken(logits, sampling, rng)));
      for (let r = 0; r < rows.length; r++) if (tokens[r] !== null && stop.has(tokens[r]!)) done[r] = true;
      if (tokenizer) {
        // Decode each row's whole continuation and hand out what is new, so multi-token characters come out whole.
        const text = tokens.map((t, r) => {
          if (t === null) return '';
          generated[r]!.push(t);
          const full = tokenizer.decode(generated[r]!, { skipSpecialTokens: true });
          if (full.endsWith('\uFFFD')) return '';
          const piece = full.slice(shown[r]!.length);
          shown[r] = full;
          return piece;
        });
        yield { tokens, index, text };
      } else {
        yield { tokens, index };
      }
      if (done.every(Boolean) || index + 1 === maxTokens) return;
      const { logits } = await this.step(tokens.map((t) => t ?? 0), state);
      const host = (await logits.toHost()).data as Float32Array;
      last = rows.map((_, r) => host.subarray(r * this.config.vocabSize, (r + 1) * this.config.vocabSize));
    }
  }
}
