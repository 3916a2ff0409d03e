// `crossroad zoo`: every model of the zoo at a small size with seeded random
// weights — the parallel mode and the recurrent mode on the same tokens, their
// largest difference, prefill and decode speed, and the state's size.

import { models, type LanguageModel } from '../lib/index.js';
import { Tensor } from '../lib/tensor.js';
import { bytes, median, progress, rate, table } from './format.js';

export interface ZooOptions {
  dModel: number;
  layers: number;
  context: number;
  json?: string;
}

export interface ZooRow {
  model: string;
  family: string;
  parameters: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  stateBytes: number;
  maxAbsDiff: number;
  tolerance: number;
  pass: boolean;
}

const VOCAB = 256;

function layersFor(name: string, layers: number): number {
  // Hybrids need enough layers for every kind in their pattern.
  const minimum: Record<string, number> = { jamba: 5, zamba: 6, xlstm: 8, griffin: 3 };
  return Math.max(layers, minimum[name] ?? 1);
}

function family(model: LanguageModel, name: string): string {
  if (name in models.presets) return new Set(model.config.layers.map((l) => l.mixer)).size > 1 ? 'hybrid model' : 'model';
  return 'mixer';
}


export function zooRows(options: ZooOptions, onModel?: (name: string) => void): ZooRow[] {
  const rows: ZooRow[] = [];
  const L = options.context;
  const tokens = Array.from({ length: L }, (_, i) => (i * 37 + 11) % VOCAB);
  for (const name of models.names()) {
    onModel?.(name);
    const model = models.create(name, { dModel: options.dModel, nLayer: layersFor(name, options.layers), vocabSize: VOCAB, seed: 1 });
    const parallel = model.forwardSync([tokens]).logits.data as Float32Array;
    const state = model.createState();
    let maxAbsDiff = 0;
    let scale = 0;
    const stepTimes: number[] = [];
    for (let t = 0; t < L; t++) {
      const t0 = performance.now();
      const row = model.stepSync([tokens[t]!], state).logits.data as Float32Array;
      stepTimes.push((performance.now() - t0) / 1000);
      for (let v = 0; v < VOCAB; v++) {
        const ref = parallel[t * VOCAB + v]!;
        scale = Math.max(scale, Math.abs(ref));
        const d = Math.abs(row[v]! - ref);
        maxAbsDiff = Number.isNaN(d) ? NaN : Math.max(maxAbsDiff, d);
      }
    }
    stepTimes.sort((a, b) => a - b);
    const prefillTokens = new Tensor(Int32Array.from({ length: 4 * L }, (_, i) => (i * 13 + 5) % VOCAB), [1, 4 * L]);
    const prefill = median(() => model.forwardSync(prefillTokens, { lastOnly: true }), 3);
    const tolerance = 1e-4 * Math.max(1, scale);
    rows.push({
      model: name,
      family: family(model, name),
      parameters: model.parameterCount,
      prefillTokensPerSecond: (4 * L) / prefill,
      decodeTokensPerSecond: 1 / stepTimes[stepTimes.length >> 1]!,
      stateBytes: state.bytes,
      maxAbsDiff,
      tolerance,
      pass: maxAbsDiff <= tolerance,
    });
  }
  return rows;
}

export function zooTableText(rows: ZooRow[], context: number): string {
  return table(
    ['model', 'kind', 'parameters', 'prefill tok/s', 'decode tok/s', `state @${context}`, 'max |parallel − recurrent|', 'check'],
    rows.map((r) => [r.model, r.family, r.parameters.toLocaleString('en-US'), rate(r.prefillTokensPerSecond), rate(r.decodeTokensPerSecond), bytes(r.stateBytes), r.maxAbsDiff.toExponential(1), r.pass ? 'pass' : 'FAIL']),
  );
}

export function runZoo(options: ZooOptions): { rows: ZooRow[]; text: string } {
  const bar = progress(models.names().length, 'zoo');
  let rows: ZooRow[];
  try {
    rows = zooRows(options, (name) => bar.tick(name));
  } finally {
    bar.stop();
  }
  return { rows, text: zooTableText(rows, options.context) };
}
