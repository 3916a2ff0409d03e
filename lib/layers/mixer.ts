// What every sequence mixer in the zoo is: a function of x [batch, L, dModel]
// and a state, with parameters named like the reference PyTorch module so
// checkpoints map by name.
//
// One forward serves both modes: a whole sequence (parallel mode, the fast
// kernel: chunked, FFT or scan) or L = 1 with a state (recurrent mode, O(1) per
// token for recurrent mixers; softmax attention's state is its KV cache and
// grows). Passing a state makes forward continue from it and return the state
// after the last token; the state passed in is not modified, so a caller can
// keep it (to branch, or to restore after an error).
//
// forward is written against an OpRunner: `immediate` runs each op now; an
// OpBatch's `ops` records them so a whole forward is one native job.

import type { OpRunner } from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { bytesPerElement } from '../dtype.js';

export type Family = 'rnn' | 'attention' | 'linear-attention' | 'ssm' | 'hybrid';

/** A mixer's state: named tensors (batch first) and counters. */
export type MixerState = Record<string, Tensor | number>;

export interface MixerOutput<S extends MixerState> {
  y: Tensor;
  /** the state after the last token, when a state was passed in */
  state?: S;
}

export interface Mixer<S extends MixerState = MixerState> {
  /** registry name, e.g. 'mamba' */
  readonly kind: string;
  readonly dModel: number;
  /** the config it was created with, defaults filled in */
  readonly config: Readonly<Record<string, unknown>> & { readonly dModel: number };
  /** parameters by their PyTorch names (e.g. 'in_proj.weight') */
  readonly parameters: Record<string, Tensor>;
  /**
   * Parameters used only as the weight of linear/matmul ops, so they may be stored as bfloat16/float16 (the GEMM
   * widens them in its packed panels): what castWeights converts.
   */
  readonly linearWeights?: readonly string[];
  /**
   * State entries that stay host tensors when the model runs on the device: host-side bookkeeping (a KV cache's
   * lengths) the mixer reads to plan its ops. Every other state tensor moves to the model's device.
   */
  readonly hostStateEntries?: readonly string[];
  /** the state before the first token (host tensors; a device model moves them, see hostStateEntries) */
  createState(batch: number): S;
  forward(run: OpRunner, x: Tensor, state?: S): MixerOutput<S>;
  /**
   * Joins states of batch-1 rows into one batched state. Optional: without it the tensors are concatenated along
   * the batch axis, which is right for constant-size states; a KV cache whose rows differ in length needs its own.
   */
  mergeStates?(states: S[]): S;
}

/** Bytes held by a state's tensors. */
export function stateBytes(state: MixerState): number {
  let bytes = 0;
  for (const v of Object.values(state)) if (v instanceof Tensor) bytes += v.size * bytesPerElement(v.dtype); // device tensors too
  return bytes;
}

/** Number of parameters (elements). */
export function parameterCount(mixer: { parameters: Record<string, Tensor> }): number {
  return Object.values(mixer.parameters).reduce((n, t) => n + t.size, 0);
}

/** Validates x against a mixer and a state's batch size; returns [batch, L]. */
export function checkInput(kind: string, dModel: number, x: unknown, state?: MixerState, stateBatch?: number): [number, number] {
  if (!(x instanceof Tensor)) throw new TypeError(`${kind}: x must be a Tensor [batch, L, ${dModel}]`);
  if (x.dtype !== 'float32') throw new TypeError(`${kind}: x must be float32, got ${x.dtype}`);
  if (x.rank !== 3 || x.shape[2] !== dModel || x.shape[0] === 0 || x.shape[1] === 0) {
    throw new RangeError(`${kind}: x must have shape [batch, L, ${dModel}] with batch, L ≥ 1, got [${x.shape.join(', ')}]`);
  }
  if (state !== undefined && stateBatch !== undefined && stateBatch !== x.shape[0]) {
    throw new RangeError(`${kind}: the state is for batch ${stateBatch}, x has batch ${x.shape[0]}`);
  }
  return [x.shape[0]!, x.shape[1]!];
}

/** Checks a state object holds the named tensors with the expected shapes (the batch is dimension 0). */
export function checkState(kind: string, state: unknown, expected: Record<string, readonly number[]>): void {
  if (typeof state !== 'object' || state === null) throw new TypeError(`${kind}: state must be an object from createState()`);
  for (const [name, shape] of Object.entries(expected)) {
    const t = (state as Record<string, unknown>)[name];
    if (!(t instanceof Tensor)) throw new TypeError(`${kind}: state.${name} must be a Tensor (a state from createState())`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new RangeError(`${kind}: state.${name} must have shape [${shape.join(', ')}], got [${t.shape.join(', ')}]`);
    }
  }
}
