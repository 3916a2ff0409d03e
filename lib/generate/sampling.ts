// Choosing the next token from a row of logits: greedy (temperature 0), or
// sampling from softmax(logits / temperature) restricted to the topK most
// likely tokens and then to the smallest set whose probability reaches topP
// (nucleus sampling). Seeded: the same seed and logits give the same tokens.

import { Rng } from '../random.js';

export interface SamplingOptions {
  /** 0 = greedy (argmax); default 1 */
  temperature?: number;
  /** keep only the k most likely tokens (0 or undefined = all) */
  topK?: number;
  /** keep the most likely tokens whose probabilities sum to at least p (1 = all) */
  topP?: number;
}

export function checkSampling(where: string, o: SamplingOptions): Required<SamplingOptions> {
  const temperature = o.temperature ?? 1;
  const topK = o.topK ?? 0;
  const topP = o.topP ?? 1;
  if (typeof temperature !== 'number' || !(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new RangeError(`${where}: temperature must be a finite number ≥ 0, got ${String(temperature)}`);
  }
  if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 0) throw new RangeError(`${where}: topK must be an integer ≥ 0, got ${String(topK)}`);
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) throw new RangeError(`${where}: topP must be in (0, 1], got ${String(topP)}`);
  return { temperature, topK, topP };
}

function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/** Picks a token id from one row of logits. NaN logits count as −∞. */
export function sampleToken(logits: ArrayLike<number>, options: Required<SamplingOptions>, rng: Rng): number {
  const n = logits.length;
  if (n === 0) throw new RangeError('sampleToken: empty logits');
  if (options.temperature === 0 || options.topK === 1) return argmax(logits);
  // Candidate order by logit, highest first; only as many as topK needs.
  let order = Array.from({ length: n }, (_, i) => i).filter((i) => !Number.isNaN(logits[i]!));
  if (order.length === 0) return 0;
  order.sort((a, b) => logits[b]! - logits[a]! || a - b);
  if (options.topK > 0 && options.topK < order.length) order = order.slice(0, options.topK);
  const max = logits[order[0]!]!;
  const weights = order.map((i) => Math.exp((logits[i]! - max) / options.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let keep = order.length;
  if (options.topP < 1) {
    let cumulative = 0;
    for (let j = 0; j < order.length; j++) {
      cumulative += weights[j]! / total;
      if (cumulative >= options.topP) {
        keep = j + 1;
        break;
      }
    }
  }
  const kept = weights.slice(0, keep);
  const keptTotal = kept.reduce((a, b) => a + b, 0);
  let u = rng.uniform() * keptTotal;
  for (let j = 0; j < keep; j++) {
    u -= kept[j]!;
    if (u < 0) return order[j]!;
  }
  return order[keep - 1]!;
}
