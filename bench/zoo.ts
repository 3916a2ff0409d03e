// The zoo benchmark: every registered mixer at dModel = 512, batch 1 —
// prefill tokens/s at L ∈ {256, 1024, 4096}, decode tokens/s after a context of
// 256 and of 4096 tokens, and the state's bytes at that context. The ratio of
// the two decode rates is the zoo's point: recurrent mixers decode at a cost flat
// in the context; softmax attention's grows with it (its state is the KV cache).
//
// Each forward is recorded once in an OpBatch and re-run (`runSync`), so the
// timings are the native work of one layer call, as a model runs it.

import '../lib/layers/mixers/index.js';
import { createMixer, mixerSpecs } from '../lib/layers/registry.js';
import { stateBytes, type Mixer, type MixerState } from '../lib/layers/mixer.js';
import { immediate, OpBatch } from '../lib/ops/index.js';
import { Tensor } from '../lib/tensor.js';
import { getNumThreads } from '../lib/index.js';
import { machineDescription, measureLimits, printTable, timeSync } from './harness.js';

const D_MODEL = 512;

function prefillState(mixer: Mixer, context: number): MixerState {
  // Fill the state in pieces of ≤ 1024 tokens, as a server would prefill a long prompt.
  let state = mixer.createState(1);
  for (let done = 0; done < context; ) {
    const n = Math.min(1024, context - done);
    state = mixer.forward(immediate, Tensor.randn([1, n, D_MODEL], { seed: 100 + done }), state).state!;
    done += n;
  }
  return state;
}

function timeForward(mixer: Mixer, x: Tensor, state: MixerState | undefined, seconds: number) {
  const batch = new OpBatch();
  mixer.forward(batch.ops, x, state);
  return timeSync(() => batch.runSync(), { minRuns: 3, minSeconds: seconds, maxRuns: 50, warmup: 1 });
}

export async function benchZoo(args: string[]): Promise<Record<string, unknown>> {
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',');
  const lengths = quick ? [256, 1024] : [256, 1024, 4096];
  const contexts = quick ? [256, 1024] : [256, 4096];
  const threads = getNumThreads();
  const limits = measureLimits([threads]);
  console.log(`machine: FMA peak ${limits.fmaGflops[threads]!.toFixed(0)} GFLOP/s, triad ${limits.triadGBs[threads]!.toFixed(1)} GB/s on ${threads} thread(s)`);

  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const spec of mixerSpecs()) {
    if (only && !only.includes(spec.name)) continue;
    const mixer = createMixer(spec.name, { dModel: D_MODEL, seed: 1 });
    const prefill: Record<number, number> = {};
    for (const L of lengths) {
      const t = timeForward(mixer, Tensor.randn([1, L, D_MODEL], { seed: L }), undefined, quick ? 0.2 : 0.5);
      prefill[L] = L / t.median;
    }
    const decode: Record<number, number> = {};
    const bytes: Record<number, number> = {};
    for (const context of contexts) {
      const state = prefillState(mixer, context);
      bytes[context] = stateBytes(state);
      const t = timeForward(mixer, Tensor.randn([1, 1, D_MODEL], { seed: 5 }), state, quick ? 0.2 : 0.5);
      decode[context] = 1 / t.median;
    }
    const [c0, c1] = [contexts[0]!, contexts[contexts.length - 1]!];
    const growth = decode[c0]! / decode[c1]!;
    rows.push([
      spec.name,
      spec.family,
      ...lengths.map((L) => Math.round(prefill[L]!)),
      Math.round(decode[c0]!),
      Math.round(decode[c1]!),
      `${growth.toFixed(2)}×`,
      `${(bytes[c1]! / 1024).toFixed(1)} KiB`,
    ]);
    results.push({ name: spec.name, family: spec.family, constantState: spec.constantState, prefillTokensPerSecond: prefill, decodeTokensPerSecond: decode, stateBytes: bytes });
    console.log(`${spec.name}: done`);
  }
  console.log();
  const table = printTable(
    ['mixer', 'family', ...lengths.map((L) => `prefill L=${L} tok/s`), `decode @${contexts[0]} tok/s`, `decode @${contexts[contexts.length - 1]} tok/s`, 'decode cost growth', `state @${contexts[contexts.length - 1]}`],
    rows,
  );
  return {
    machine: machineDescription(),
    limits,
    threads,
    dModel: D_MODEL,
    batch: 1,
    notes: [
      'Each forward is recorded once in an OpBatch and re-run with runSync: one native job per layer call; medians.',
      'decode: one token with the state left by a prefill of the given context; decode cost growth = time at the long context / time at the short one (1.00× = flat).',
      'Mixers use their registry defaults at dModel = 512.',
    ],
    results,
    table,
  };
}
