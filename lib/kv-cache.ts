// A KV cache for softmax attention: keys and values of the tokens seen so far,
// per batch row, so each new chunk of queries (a prompt, then one token at a
// time) attends to everything before it without recomputing it.
//
// Two layouts:
//  * full: [batch, capacity, kvHeads, headDim], token p of a row in slot p;
//    the capacity doubles when a row outgrows it. Attention reads the storage
//    in place, with kvLengths giving each row's length (ops.attention aligns
//    the queries bottom-right to it, so rows of different lengths share a call).
//  * ring (`window` set): [batch, window, kvHeads, headDim], token p in slot
//    p mod window: memory stays O(window) however long the sequence. A single
//    new token per row sees exactly the `window` most recent keys, which are
//    exactly the ring's contents; softmax does not care about their order, so
//    it attends to the ring in place, unmasked. A chunk of several tokens needs
//    positions for the causal and window masks: it attends to a frame of the
//    ring's contents in position order followed by the new tokens.
//
// Rows of different lengths: `counts[r]` of a call's T new tokens are real
// for row r, and they are the LAST counts[r] of the T (left padding). That is
// the layout ops.attention's bottom-right alignment needs: the real queries of
// row r then sit at the row's true positions; padding queries come out as
// garbage (or zeros) and are to be ignored.
//
// Every copy is a `slice` op with an `out:` view into the cache, and the
// attention is `ops.attention`, so `attendOn(run, ...)` can be recorded into an
// OpBatch with the rest of a layer. The cache's bookkeeping (lengths, storage)
// advances when the call is made (recorded), not when the batch runs.
//
// `device: 'cuda'` keeps the storage in device memory: the copies are device
// slice ops and attention runs on the device (k, v and q must then be device
// tensors too); the lengths are host bookkeeping, uploaded per call as the
// attention op's kvLengths.

import { immediate, OpBatch, type OpRunner } from './ops/index.js';
import { newDeviceOutput, newOutput } from './ops/registry.js';
import { checkDevice, Tensor, type Device } from './tensor.js';
import { bytesPerElement } from './dtype.js';
import { requireCuda } from './cuda.js';
import { describe, shapeString } from './validate.js';

export interface KVCacheOptions {
  batch: number;
  /** kv heads (Hkv); the queries may have any multiple of them (grouped-query attention) */
  kvHeads: number;
  headDim: number;
  /** sliding-window attention: each query sees at most `window` keys, itself included; the cache keeps only that many per row */
  window?: number;
  /** initial capacity of a full cache in tokens (it grows by doubling); default 256 */
  capacity?: number;
  /** where the keys and values are stored: 'cpu' (default) or 'cuda' */
  device?: Device;
}

export interface KVCacheAttendArgs {
  /** [batch, T, H, headDim] float32, the queries of the new tokens */
  q: Tensor;
  /** [batch, T, kvHeads, headDim] float32, the keys of the new tokens */
  k: Tensor;
  /** [batch, T, kvHeads, headDim] float32 */
  v: Tensor;
  /** real new tokens per row, each in [0, T], the last counts[r] of the T (left padding); default T for every row */
  counts?: readonly number[];
  /** multiplies q·k (default headDim^-0.5) */
  scale?: number;
  /** > 0: scores s → softcap · tanh(s / softcap) */
  softcap?: number;
}

const NAME = 'KVCache';

function positiveInteger(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    const message = `${where}: ${name} must be a positive integer, got ${describe(value)}`;
    throw typeof value === 'number' ? new RangeError(message) : new TypeError(message);
  }
  return value;
}

export class KVCache {
  readonly batch: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** the sliding window (a ring of this many slots), or undefined for a full cache */
  readonly window: number | undefined;
  /** where the storage lives */
  readonly device: Device;
  private keys: Tensor;
  private values: Tensor;
  /** tokens appended so far per row: the position of each row's next token */
  private readonly seen: number[];

  constructor(options: KVCacheOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`${NAME}: expected an options object { batch, kvHeads, headDim, window?, capacity? }, got ${describe(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (!['batch', 'kvHeads', 'headDim', 'window', 'capacity', 'device'].includes(key)) {
        throw new TypeError(`${NAME}: unknown option '${key}' (expected some of: batch, kvHeads, headDim, window, capacity, device)`);
      }
    }
    this.batch = positiveInteger(NAME, 'batch', options.batch);
    this.kvHeads = positiveInteger(NAME, 'kvHeads', options.kvHeads);
    this.headDim = positiveInteger(NAME, 'headDim', options.headDim);
    this.window = options.window === undefined ? undefined : positiveInteger(NAME, 'window', options.window);
    if (this.window !== undefined && options.capacity !== undefined) {
      throw new RangeError(`${NAME}: capacity is for a full cache; a windowed cache holds exactly window = ${this.window} tokens per row`);
    }
    const device = checkDevice(NAME, options.device ?? 'cpu');
    if (device === 'cuda') requireCuda(NAME);
    this.device = device;
    const capacity = this.window ?? (options.capacity === undefined ? 256 : positiveInteger(NAME, 'capacity', options.capacity));
    this.keys = this.storage(capacity);
    this.values = this.storage(capacity);
    this.seen = new Array<number>(this.batch).fill(0);
  }

  /** Tokens appended so far per row (the position the next token of each row will have). */
  get lengths(): readonly number[] {
    return [...this.seen];
  }

  /** Tokens held per row: the lengths, capped at the window. */
  get held(): readonly number[] {
    return this.seen.map((n) => this.heldOf(n));
  }

  /** Slots per row in the storage now. */
  get capacity(): number {
    return this.keys.shape[1]!;
  }

  /** Bytes of key and value storage. */
  get bytes(): number {
    return (this.keys.size + this.values.size) * bytesPerElement('float32');
  }

  /** Uninitialised [batch, slots, kvHeads, headDim] storage on the cache's device (NaN-poisoned when configured). */
  private storage(slots: number): Tensor {
    const shape = [this.batch, slots, this.kvHeads, this.headDim];
    return this.device === 'cuda' ? newDeviceOutput(shape) : newOutput(shape);
  }

  /** An int32 [batch] of per-row counts on the cache's device (the attention op's kvLengths). */
  private lengthsTensor(values: ArrayLike<number>): Tensor {
    return new Tensor(Int32Array.from(values), [this.batch]).toDeviceSync(this.device);
  }

  /**
   * Appends k/v [batch, T, kvHeads, headDim] (row r's real tokens: the last
   * counts[r] of the T) and runs causal attention of q [batch, T, H, headDim]
   * over everything cached: { o [batch, T, H, headDim] }, with padding query
   * rows undefined. One native job, off the main thread.
   */
  async attend(args: KVCacheAttendArgs): Promise<{ o: Tensor }> {
    const batch = new OpBatch();
    const result = this.attendOn(batch.ops, args);
    await batch.run();
    return result;
  }

  /** attend, run now on the calling thread. */
  attendSync(args: KVCacheAttendArgs): { o: Tensor } {
    return this.attendOn(immediate, args);
  }

  /** attend written against an OpRunner (`immediate`, or an OpBatch's `ops` to record it with other ops). */
  attendOn(run: OpRunner, args: KVCacheAttendArgs): { o: Tensor } {
    const where = `${NAME}.attend`;
    if (typeof args !== 'object' || args === null) throw new TypeError(`${where}: expected one arguments object { q, k, v, counts?, scale?, softcap? }, got ${describe(args)}`);
    for (const key of Object.keys(args)) {
      if (!['q', 'k', 'v', 'counts', 'scale', 'softcap'].includes(key)) {
        throw new TypeError(`${where}: unknown argument '${key}' (expected some of: q, k, v, counts, scale, softcap)`);
      }
    }
    const { q, scale, softcap } = args;
    const T = this.checkNew(where, args.k, args.v);
    if (!(q instanceof Tensor)) throw new TypeError(`${where}: q must be a Tensor, got ${describe(q)}`);
    if (q.rank !== 4 || q.shape[0] !== this.batch || q.shape[1] !== T || q.shape[3] !== this.headDim) {
      throw new RangeError(`${where}: q must have shape [batch=${this.batch}, T=${T}, H, headDim=${this.headDim}], got ${shapeString(q.shape)}`);
    }
    if (q.dtype !== 'float32') throw new TypeError(`${where}: q must be float32, got ${q.dtype}`);
    if (q.shape[2]! % this.kvHeads !== 0) {
      throw new RangeError(`${where}: q's heads (${q.shape[2]}) must be a multiple of kvHeads (${this.kvHeads})`);
    }
    // Checked here too, so that a bad call fails before it writes into the cache.
    for (const [name, value] of [['scale', scale], ['softcap', softcap]] as const) {
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < (name === 'softcap' ? 0 : -Infinity))) {
        throw new RangeError(`${where}: ${name} must be a finite number${name === 'softcap' ? ' ≥ 0' : ''}, got ${describe(value)}`);
      }
    }
    const counts = this.checkCounts(where, args.counts, T);
    const w = this.window;
    if (w !== undefined && T > 1) {
      // A chunk against a ring: attend to [ring contents in position order, new tokens].
      const frameK = this.storage(w + T);
      const frameV = this.storage(w + T);
      const lengths = new Int32Array(this.batch);
      for (let r = 0; r < this.batch; r++) {
        const held = this.heldOf(this.seen[r]!);
        this.copyOrdered(run, r, frameK, frameV);
        if (counts[r]! > 0) {
          this.copyRows(run, args.k, r, T - counts[r]!, T, frameK, held);
          this.copyRows(run, args.v, r, T - counts[r]!, T, frameV, held);
        }
        lengths[r] = held + counts[r]!;
      }
      const kvLengths = this.lengthsTensor(lengths);
      const result = run.attention({ q, k: frameK, v: frameV, kvLengths, causal: true, window: w, scale, softcap });
      this.write(run, args.k, args.v, counts);
      return result;
    }
    this.write(run, args.k, args.v, counts);
    const kvLengths = this.lengthsTensor(this.seen.map((n) => this.heldOf(n)));
    // One token per row against a ring: its window is the whole ring (see the top of the file).
    const causal = w === undefined;
    return run.attention({ q, k: this.keys, v: this.values, kvLengths, causal, scale, softcap });
  }

  /** Appends k/v [batch, T, kvHeads, headDim] without attending (e.g. keys computed elsewhere); counts as in attend. */
  append(k: Tensor, v: Tensor, counts?: readonly number[], run: OpRunner = immediate): void {
    const where = `${NAME}.append`;
    const T = this.checkNew(where, k, v);
    this.write(run, k, v, this.checkCounts(where, counts, T));
  }

  /**
   * The cached keys and values in position order, oldest first:
   * { k, v [batch, n, kvHeads, headDim] with n the most any row holds, lengths [batch] int32 }.
   * Row r's first lengths[r] tokens are valid. A copy.
   */
  contents(): { k: Tensor; v: Tensor; lengths: Tensor } {
    const n = Math.max(1, ...this.held);
    const k = this.storage(n);
    const v = this.storage(n);
    for (let r = 0; r < this.batch; r++) this.copyOrdered(immediate, r, k, v);
    return { k, v, lengths: this.lengthsTensor(this.held) };
  }

  /** An independent copy (to branch a generation, or keep a state across a failed step). */
  clone(): KVCache {
    const copy = Object.create(KVCache.prototype) as KVCache;
    Object.assign(copy, this, { keys: this.keys.clone(), values: this.values.clone(), seen: [...this.seen] });
    return copy;
  }

  /** Forgets every token (keeps the storage). */
  reset(): void {
    this.seen.fill(0);
  }

  private heldOf(length: number): number {
    return this.window === undefined ? length : Math.min(length, this.window);
  }

  /** Checks k and v of new tokens; returns T. */
  private checkNew(where: string, k: unknown, v: unknown): number {
    for (const [name, t] of [['k', k], ['v', v]] as const) {
      if (!(t instanceof Tensor)) throw new TypeError(`${where}: ${name} must be a Tensor, got ${describe(t)}`);
      if (t.dtype !== 'float32') throw new TypeError(`${where}: ${name} must be float32, got ${t.dtype}`);
      if (t.rank !== 4 || t.shape[0] !== this.batch || t.shape[1]! < 1 || t.shape[2] !== this.kvHeads || t.shape[3] !== this.headDim) {
        throw new RangeError(
          `${where}: ${name} must have shape [batch=${this.batch}, T ≥ 1, kvHeads=${this.kvHeads}, headDim=${this.headDim}], got ${shapeString(t.shape)}`,
        );
      }
    }
    const T = (k as Tensor).shape[1]!;
    if ((v as Tensor).shape[1] !== T) throw new RangeError(`${where}: v must have k's shape ${shapeString((k as Tensor).shape)}, got ${shapeString((v as Tensor).shape)}`);
    return T;
  }

  private checkCounts(where: string, counts: unknown, T: number): number[] {
    if (counts === undefined) return new Array<number>(this.batch).fill(T);
    if (!Array.isArray(counts) || counts.length !== this.batch) {
      throw new TypeError(`${where}: counts must be an array of ${this.batch} integers (one per batch row), got ${describe(counts)}`);
    }
    counts.forEach((c, r) => {
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > T) {
        throw new RangeError(`${where}: counts[${r}] must be an integer in [0, T=${T}], got ${describe(c)}`);
      }
    });
    return counts as number[];
  }

  /** Writes the real new tokens of every row into its slots, growing a full cache first if needed. */
  private write(run: OpRunner, k: Tensor, v: Tensor, counts: readonly number[]): void {
    const T = k.shape[1]!;
    if (this.window === undefined) {
      const needed = Math.max(...this.seen.map((n, r) => n + counts[r]!));
      if (needed > this.capacity) this.grow(run, needed);
    }
    const slots = this.capacity;
    for (let r = 0; r < this.batch; r++) {
      const count = counts[r]!;
      // A ring keeps only the last `window` of the new tokens.
      const first = T - Math.min(count, slots);
      let position = this.seen[r]! + first - (T - count);  // of new token `first`
      for (let i = first; i < T; ) {
        const slot = position % slots;
        const n = Math.min(T - i, slots - slot);
        this.copyRows(run, k, r, i, i + n, this.keys, slot);
        this.copyRows(run, v, r, i, i + n, this.values, slot);
        i += n;
        position += n;
      }
      this.seen[r]! += count;
    }
  }

  private grow(run: OpRunner, needed: number): void {
    let capacity = this.capacity;
    while (capacity < needed) capacity *= 2;
    const keys = this.storage(capacity);
    const values = this.storage(capacity);
    for (let r = 0; r < this.batch; r++) {
      if (this.seen[r]! === 0) continue;
      this.copyRows(run, this.keys, r, 0, this.seen[r]!, keys, 0);
      this.copyRows(run, this.values, r, 0, this.seen[r]!, values, 0);
    }
    this.keys = keys;
    this.values = values;
  }

  /** Row r's held tokens, oldest first, into dst rows [0, held) of row r of both frames. */
  private copyOrdered(run: OpRunner, r: number, dstK: Tensor, dstV: Tensor): void {
    const held = this.heldOf(this.seen[r]!);
    if (held === 0) return;
    // Oldest held token's slot; a ring that has wrapped starts at the next write slot.
    const start = (this.seen[r]! - held) % this.capacity;
    const firstRun = Math.min(held, this.capacity - start);
    this.copyRows(run, this.keys, r, start, start + firstRun, dstK, 0);
    this.copyRows(run, this.values, r, start, start + firstRun, dstV, 0);
    if (firstRun < held) {
      this.copyRows(run, this.keys, r, 0, held - firstRun, dstK, firstRun);
      this.copyRows(run, this.values, r, 0, held - firstRun, dstV, firstRun);
    }
  }

  /** Tokens [from, to) of batch row r of src → tokens [at, at + to − from) of row r of dst (both [batch, *, kvHeads, headDim]). */
  private copyRows(run: OpRunner, src: Tensor, r: number, from: number, to: number, dst: Tensor, at: number): void {
    const slots = dst.shape[1]!;
    // A view of dst's token rows (host or device alike).
    const view = dst.reshape([-1, this.kvHeads, this.headDim]).slice(r * slots + at, r * slots + at + to - from);
    run.slice({ x: src.select(r), axis: 0, start: from, end: to, out: { y: view } });
  }
}
