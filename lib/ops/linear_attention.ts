// linearAttention: chunked gated linear attention, the same math as
// flash-linear-attention's GLA / simple GLA (native/cpu/linear_attention.cc;
// reference in test/reference/linear_attention.ts). Per batch row and head:
//
//   S_t = diag(exp(gk_t)) · exp(g_t) · S_{t−1} + k_tᵀ v_t   (S is [K, V])
//   o_t = scale · q_t S_t
//
// g (one log decay per head and step: RetNet, Mamba-2/SSD, simple GLA) and gk
// (one per key channel: GLA) are optional, and apply together when both are
// given; with neither it is the plain linear Transformer.

import type { Tensor } from '../tensor.js';
import {
  checkArgs,
  expectDType,
  expectNonEmpty,
  expectRank,
  expectShape,
  expectTensor,
  optionalBoolean,
  optionalNumber,
  optionalString,
  optionalTensor,
} from '../validate.js';
import { defineOp } from './registry.js';

/** How the sequence is computed: 'auto' picks the recurrence for short T (decoding), else chunks. */
export type LinearAttentionMode = 'auto' | 'chunked' | 'recurrent';

export const LINEAR_ATTENTION_MODES: readonly LinearAttentionMode[] = ['auto', 'chunked', 'recurrent'];

/**
 * Chunk length used unless chunkSize says otherwise (linearAttention and mlstm).
 *
 * Chosen by the sweep in bench/linear-attention.ts (b = 1, T = 4096, h = 8,
 * K = V ∈ {64, 128}, decays none / g / gk and mlstm; AVX-512, 2 threads): 32
 * had the smallest geometric mean of time / the best time of its row in three
 * runs (1.02–1.05, against 1.07–1.29 for 64 and 1.09–1.15 for 16). Per token
 * and head, the chunked form does 2·K·V multiply-adds whatever the chunk
 * (inter-chunk output, state update) plus C/2·(K + V) for the intra-chunk
 * block, so shorter chunks do less work, until the products become too short
 * to keep the register tiles busy.
 */
export const DEFAULT_CHUNK_SIZE = 32;

/** Largest chunkSize: each thread keeps a [chunkSize, chunkSize] score block (4 MB at 1024) in its scratch arena. */
export const MAX_CHUNK_SIZE = 1024;

export interface LinearAttentionArgs {
  /** [b, T, h, K] float32 */
  q: Tensor;
  /** [b, T, h, K] float32 */
  k: Tensor;
  /** [b, T, h, V] float32 */
  v: Tensor;
  /** [b, T, h]: log decay per head and step (≤ 0 for a decay) */
  g?: Tensor;
  /** [b, T, h, K]: log decay per key channel and step */
  gk?: Tensor;
  /** [b, h, K, V]: the state before token 0 (default zeros) */
  initialState?: Tensor;
  /** multiplies q (default K^-0.5) */
  scale?: number;
  /** also return the state after the last token (default false) */
  outputFinalState?: boolean;
  /** tokens per chunk (an integer in [1, 1024], default DEFAULT_CHUNK_SIZE = 32) */
  chunkSize?: number;
  /** default 'auto' */
  mode?: LinearAttentionMode;
  out?: { o?: Tensor; finalState?: Tensor };
}

export interface LinearAttentionResult {
  /** [b, T, h, V] */
  o: Tensor;
  /** [b, h, K, V], with outputFinalState */
  finalState?: Tensor;
}

export interface QkvDims {
  b: number;
  T: number;
  h: number;
  K: number;
  V: number;
}

/** Checks q, k [b, T, h, K] and v [b, T, h, V] (float32, non-empty) and returns the sizes. */
export function checkQkv(op: string, args: { q: unknown; k: unknown; v: unknown }): { q: Tensor; k: Tensor; v: Tensor; dims: QkvDims } {
  const q = expectTensor(op, 'q', args.q);
  const k = expectTensor(op, 'k', args.k);
  const v = expectTensor(op, 'v', args.v);
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    expectDType(op, name, t, ['float32']);
    expectRank(op, name, t, 4, name === 'v' ? '[b, T, h, V]' : '[b, T, h, K]');
    expectNonEmpty(op, name, t);
  }
  const [b, T, h, K] = q.shape as [number, number, number, number];
  expectShape(op, 'k', k, [b, T, h, K], 'the shape of q [b, T, h, K]');
  expectShape(op, 'v', v, [b, T, h, null], '[b, T, h, V] with q\'s b, T, h');
  return { q, k, v, dims: { b, T, h, K, V: v.shape[3]! } };
}

/** An optional float32 tensor of an exact shape. */
export function optionalInputOfShape(op: string, name: string, value: unknown, shape: number[], layout: string): Tensor | undefined {
  const t = optionalTensor(op, name, value);
  if (t) {
    expectDType(op, name, t, ['float32']);
    expectShape(op, name, t, shape, layout);
  }
  return t;
}

/** The options every chunked state op shares: scale, chunkSize, mode. */
export function stateOpOptions(op: string, args: { scale?: unknown; chunkSize?: unknown; mode?: unknown }, K: number) {
  const scale = optionalNumber(op, 'scale', args.scale, K ** -0.5);
  if (!Number.isFinite(scale)) throw new RangeError(`${op}: scale must be a finite number, got ${scale}`);
  const chunkSize = optionalNumber(op, 'chunkSize', args.chunkSize, DEFAULT_CHUNK_SIZE, { min: 1, max: MAX_CHUNK_SIZE, integer: true });
  const mode = optionalString(op, 'mode', args.mode, LINEAR_ATTENTION_MODES, 'auto');
  return { scale, chunkSize, mode };
}

export const linearAttention = defineOp<LinearAttentionArgs, LinearAttentionResult>({
  name: 'linearAttention',
  prepare(args, output) {
    const op = 'linearAttention';
    checkArgs(op, args, ['q', 'k', 'v', 'g', 'gk', 'initialState', 'scale', 'outputFinalState', 'chunkSize', 'mode']);
    const { q, k, v, dims } = checkQkv(op, args);
    const { b, T, h, K, V } = dims;
    const g = optionalInputOfShape(op, 'g', args.g, [b, T, h], '[b, T, h]');
    const gk = optionalInputOfShape(op, 'gk', args.gk, [b, T, h, K], '[b, T, h, K]');
    const initialState = optionalInputOfShape(op, 'initialState', args.initialState, [b, h, K, V], '[b, h, K, V]');
    const outputFinalState = optionalBoolean(op, 'outputFinalState', args.outputFinalState, false);
    const { scale, chunkSize, mode } = stateOpOptions(op, args, K);
    const o = output('o', [b, T, h, V]);
    const finalState = outputFinalState ? output('finalState', [b, h, K, V]) : undefined;
    return {
      tensors: { q, k, v, g, gk, initialState, o, finalState },
      attrs: { scale, chunkSize, mode },
      result: finalState ? { o, finalState } : { o },
    };
  },
});
