// attention: tiled softmax attention with an online softmax (native/cpu/attention.cc;
// reference in test/reference/attention.ts).
//
// Query i of a row sits at position Tk' − Tq + i, where Tk' is the row's number
// of valid keys (kvLengths[row], or Tk): the queries are the last Tq tokens of
// the sequence, as when decoding against a KV cache (bottom-right alignment).
// causal: a query sees the keys at positions ≤ its own. window (needs causal):
// only the last `window` of those, itself included — keys in (pos − window, pos],
// FlashAttention's window_size = (window − 1, 0). With Tq > Tk', the first
// queries have no visible key; a query row without any visible key yields zeros.

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
  optionalTensor,
  shapeString,
} from '../validate.js';
import { defineOp } from './registry.js';

export interface AttentionArgs {
  /** [b, Tq, H, D] float32 */
  q: Tensor;
  /** [b, Tk, Hkv, D] float32; Hkv divides H, query head h reads kv head floor(h / (H / Hkv)) */
  k: Tensor;
  /** [b, Tk, Hkv, D] float32 */
  v: Tensor;
  /** mask keys after each query's position (default false) */
  causal?: boolean;
  /** integer ≥ 1, needs causal: each query sees at most this many keys, itself included */
  window?: number;
  /** multiplies q·k (default D^-0.5) */
  scale?: number;
  /** > 0: scores s → softcap · tanh(s / softcap), after scaling, before masking (Gemma 2); default off */
  softcap?: number;
  /** [b] int32: valid keys per row (keys at index ≥ kvLengths[row] are ignored; causal alignment uses it) */
  kvLengths?: Tensor;
  out?: { o?: Tensor };
}

/** Positions are compared in float32 inside the kernel: exact below 2^24. */
const MAX_SEQUENCE = 2 ** 24;

export const attention = defineOp<AttentionArgs, { o: Tensor }>({
  name: 'attention',
  prepare(args, output) {
    const op = 'attention';
    checkArgs(op, args, ['q', 'k', 'v', 'causal', 'window', 'scale', 'softcap', 'kvLengths']);
    const q = expectTensor(op, 'q', args.q);
    const k = expectTensor(op, 'k', args.k);
    const v = expectTensor(op, 'v', args.v);
    for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
      expectDType(op, name, t, ['float32']);
      expectRank(op, name, t, 4, name === 'q' ? '[b, Tq, H, D]' : '[b, Tk, Hkv, D]');
      expectNonEmpty(op, name, t);
    }
    const [b, Tq, H, D] = q.shape as [number, number, number, number];
    const [, Tk, Hkv] = k.shape as [number, number, number, number];
    expectShape(op, 'k', k, [b, null, null, D], `[b=${b}, Tk, Hkv, D=${D}]`);
    if (H % Hkv !== 0) {
      throw new RangeError(`${op}: k's kv heads (${Hkv}) must divide q's heads (${H}); got q ${shapeString(q.shape)}, k ${shapeString(k.shape)}`);
    }
    expectShape(op, 'v', v, k.shape, "k's shape");
    if (Tq > MAX_SEQUENCE || Tk > MAX_SEQUENCE) {
      throw new RangeError(`${op}: sequence lengths must be ≤ 2^24, got Tq=${Tq}, Tk=${Tk}`);
    }
    const causal = optionalBoolean(op, 'causal', args.causal, false);
    const window = optionalNumber(op, 'window', args.window, 0, { min: 1, integer: true });
    if (args.window !== undefined && !causal) {
      throw new RangeError(`${op}: window needs causal: true (a window of ${window} keys counts back from each query's position)`);
    }
    const scale = optionalNumber(op, 'scale', args.scale, 1 / Math.sqrt(D));
    if (!Number.isFinite(scale)) throw new RangeError(`${op}: scale must be finite, got ${scale}`);
    const softcap = optionalNumber(op, 'softcap', args.softcap, 0, { min: 0 });
    if (!Number.isFinite(softcap)) throw new RangeError(`${op}: softcap must be finite, got ${softcap}`);
    const kvLengths = optionalTensor(op, 'kvLengths', args.kvLengths);
    if (kvLengths) {
      expectDType(op, 'kvLengths', kvLengths, ['int32']);
      expectShape(op, 'kvLengths', kvLengths, [b], '[b]');
      // On the device the values are checked natively (on a host copy).
      const lengths = kvLengths.device === 'cpu' ? (kvLengths.data as Int32Array) : new Int32Array(0);
      for (let row = 0; row < lengths.length; row++) {
        if (lengths[row]! < 0 || lengths[row]! > Tk) {
          throw new RangeError(`${op}: kvLengths[${row}] must be in [0, Tk=${Tk}], got ${lengths[row]}`);
        }
      }
    }
    const o = output('o', q.shape);
    return {
      tensors: { q, k, v, kvLengths, o },
      attrs: { causal, window: window || undefined, scale, softcap: softcap || undefined },
      result: { o },
    };
  },
});
