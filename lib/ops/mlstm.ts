// mlstm: xLSTM's matrix-memory cell, chunked (native/cpu/mlstm.cc; reference
// in test/reference/mlstm.ts). Per batch row and head, stabilised as in NX-AI's
// mlstm_kernels (mlstm_recurrent_step__native_fw):
//
//   m_t = max(log σ(f_t) + m_{t−1}, i_t)
//   C_t = exp(log σ(f_t) + m_{t−1} − m_t) C_{t−1} + exp(i_t − m_t) k_tᵀ v_t     (and n_t with k_t)
//   h_t = (q̃_t C_t) / (max(|q̃_t · n_t|, exp(−m_t)) + eps),   q̃ = scale · q
//
// i and f are gate pre-activations; the state (C, n, m) starts at zeros.

import type { Tensor } from '../tensor.js';
import { checkArgs, expectTensor, optionalBoolean, optionalNumber } from '../validate.js';
import { checkQkv, optionalInputOfShape, stateOpOptions, type LinearAttentionMode } from './linear_attention.js';
import { defineOp } from './registry.js';

export interface MlstmArgs {
  /** [b, T, h, K] float32 */
  q: Tensor;
  /** [b, T, h, K] float32 */
  k: Tensor;
  /** [b, T, h, V] float32 */
  v: Tensor;
  /** [b, T, h]: input-gate pre-activations (exponential gate) */
  i: Tensor;
  /** [b, T, h]: forget-gate pre-activations (log σ is the log forget gate) */
  f: Tensor;
  /** [b, h, K, V]: the matrix memory before token 0 (with initialN and initialM) */
  initialC?: Tensor;
  /** [b, h, K]: the normaliser */
  initialN?: Tensor;
  /** [b, h]: the max-stabiliser */
  initialM?: Tensor;
  /** multiplies q (default K^-0.5) */
  scale?: number;
  /** also return the state after the last token (default false) */
  outputFinalState?: boolean;
  /** tokens per chunk (an integer in [1, 1024], default 32, as linearAttention) */
  chunkSize?: number;
  /** added to the normaliser's maximum (default 1e-6) */
  eps?: number;
  /** default 'auto' */
  mode?: LinearAttentionMode;
  out?: { h?: Tensor; finalC?: Tensor; finalN?: Tensor; finalM?: Tensor };
}

export interface MlstmResult {
  /** [b, T, h, V] */
  h: Tensor;
  /** [b, h, K, V], with outputFinalState */
  finalC?: Tensor;
  /** [b, h, K] */
  finalN?: Tensor;
  /** [b, h] */
  finalM?: Tensor;
}

export const mlstm = defineOp<MlstmArgs, MlstmResult>({
  name: 'mlstm',
  prepare(args, output) {
    const op = 'mlstm';
    checkArgs(op, args, ['q', 'k', 'v', 'i', 'f', 'initialC', 'initialN', 'initialM', 'scale', 'outputFinalState', 'chunkSize', 'eps', 'mode']);
    const { q, k, v, dims } = checkQkv(op, args);
    const { b, T, h, K, V } = dims;
    expectTensor(op, 'i', args.i);
    expectTensor(op, 'f', args.f);
    const i = optionalInputOfShape(op, 'i', args.i, [b, T, h], '[b, T, h]')!;
    const f = optionalInputOfShape(op, 'f', args.f, [b, T, h], '[b, T, h]')!;
    const initialC = optionalInputOfShape(op, 'initialC', args.initialC, [b, h, K, V], '[b, h, K, V]');
    const initialN = optionalInputOfShape(op, 'initialN', args.initialN, [b, h, K], '[b, h, K]');
    const initialM = optionalInputOfShape(op, 'initialM', args.initialM, [b, h], '[b, h]');
    const given = [initialC, initialN, initialM].filter((t) => t !== undefined).length;
    if (given !== 0 && given !== 3) {
      throw new RangeError(`${op}: initialC, initialN and initialM must be given together (got ${given} of 3)`);
    }
    const outputFinalState = optionalBoolean(op, 'outputFinalState', args.outputFinalState, false);
    const { scale, chunkSize, mode } = stateOpOptions(op, args, K);
    const eps = optionalNumber(op, 'eps', args.eps, 1e-6, { min: 0 });
    if (!Number.isFinite(eps)) throw new RangeError(`${op}: eps must be a finite number ≥ 0, got ${eps}`);
    const out = output('h', [b, T, h, V]);
    const result: MlstmResult = { h: out };
    if (outputFinalState) {
      result.finalC = output('finalC', [b, h, K, V]);
      result.finalN = output('finalN', [b, h, K]);
      result.finalM = output('finalM', [b, h]);
    }
    return {
      tensors: { q, k, v, i, f, initialC, initialN, initialM, h: out, finalC: result.finalC, finalN: result.finalN, finalM: result.finalM },
      attrs: { scale, chunkSize, eps, mode },
      result,
    };
  },
});
