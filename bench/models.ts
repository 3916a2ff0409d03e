// Language-model benchmark: a Mamba-130m-shaped model (d = 768, 24 layers,
// dState = 16) and a Llama-shaped model of similar size (12 layers, d = 768,
// 12 heads), random weights, float32 and bfloat16 matrix weights — prefill
// tokens/s over L, decode tokens/s over the context, and state / KV bytes.
//
// Decode at a context C needs the state after C tokens. Its values do not change
// the work of a step (a recurrent state has the same size at any C; a KV cache
// of C tokens costs the same to read whatever it holds), so the bench builds
// states of the right size directly instead of prefilling C tokens: a zero
// recurrent state, or a KV cache holding C (zero) tokens (cli/synthetic-state.ts).
//
// The decode target is the streaming bound: a step reads every matrix weight
// once (the embedding only for one row), so tokens/s ≤ read bandwidth ÷ weight
// bytes; the ratio to that bound is printed.
//
// With a CUDA device the same two shapes also run on it (bf16 matrix weights,
// models.create(…, { device: 'cuda' })): prefill tokens/s and decode tokens/s
// (each step includes the download of its logits row, as generation needs), and
// decode against the device bound = measured device copy bandwidth ÷ weight
// bytes. The bandwidth is measured (a device-to-device copy of 512 MiB: bytes
// read + written over the time) and the spec value (memory clock × bus width,
// cudaGetDeviceProperties) is printed next to it. `npm run bench -- cuda-models` runs the device cases alone
// (--no-cpu) into bench/results/cuda-models.json.

import { info, models, type LanguageModel } from '../lib/index.js';
import { stateAtContext } from '../cli/synthetic-state.js';
import { Tensor } from '../lib/tensor.js';
import { getNumThreads } from '../lib/index.js';
import { bytesPerElement } from '../lib/dtype.js';
import { cudaUnavailableReason } from '../lib/cuda.js';
import { machineDescription, measureLimits, pct, printTable, timeSync } from './harness.js';

const VOCAB = 50280;


function streamedBytes(model: LanguageModel): number {
  let bytes = 0;
  for (const [name, t] of Object.entries(model.parameters)) {
    const size = t.size * bytesPerElement(t.dtype); // device tensors too
    if (name === 'backbone.embedding.weight') {
      // one row for the lookup; the whole table again as the tied LM head
      bytes += model.config.tieEmbeddings ? size : size / t.shape[0]!;
    } else {
      bytes += size;
    }
  }
  return bytes;
}

const SHAPES = [
  { name: 'mamba', label: 'Mamba-130m shape', options: { dModel: 768, nLayer: 24, vocabSize: VOCAB, dState: 16, seed: 1 } },
  { name: 'llama', label: 'Llama shape (12 × 768, 12 heads)', options: { dModel: 768, nLayer: 12, vocabSize: VOCAB, heads: 12, kvHeads: 12, mlpHidden: 2048, seed: 1 } },
];

/** Device copy bandwidth in bytes/s: a 512 MiB device-to-device copy (read + write), median of several. */
function deviceCopyBandwidth(): number {
  const bytes = 512 * 2 ** 20;
  const src = Tensor.zeros([bytes / 4], 'float32', { device: 'cuda' });
  const t = timeSync(() => src.clone(), { minRuns: 5, minSeconds: 0.5, maxRuns: 20, warmup: 1 });
  return (2 * bytes) / t.median;
}

/** The device cases: bf16 weights on the GPU, prefill and decode tokens/s, decode against bandwidth ÷ weight bytes. */
async function benchModelsDevice(quick: boolean): Promise<Record<string, unknown>> {
  const reason = cudaUnavailableReason();
  if (reason !== null) {
    console.log(`no CUDA device: device cases skipped (${reason})`);
    return { skipped: reason };
  }
  const device = info().cuda.devices[0]!;
  const copyBandwidth = deviceCopyBandwidth();
  console.log(`device: ${device.name}; copy bandwidth ${(copyBandwidth / 1e9).toFixed(0)} GB/s measured, ${(device.memoryBandwidth / 1e9).toFixed(0)} GB/s spec (memory clock × bus width)`);
  const lengths = quick ? [128, 2048] : [128, 512, 2048, 8192];
  const contexts = quick ? [128, 2048] : [128, 2048, 8192, 32768];
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const shape of SHAPES) {
    const host = models.create(shape.name, shape.options);
    host.castWeights('bfloat16');
    const model = await host.toDevice('cuda');
    const weightBytes = streamedBytes(model);
    const prefill: Record<number, number> = {};
    for (const L of lengths) {
      const tokens = new Tensor(Int32Array.from({ length: L }, (_, i) => (i * 7919) % VOCAB), [1, L]);
      const t = timeSync(() => model.forwardSync(tokens, { lastOnly: true }).logits.toHostSync(), { minRuns: 3, minSeconds: quick ? 0.2 : 1, maxRuns: 20, warmup: 1 });
      prefill[L] = L / t.median;
      console.log(`${shape.name} bfloat16 cuda prefill L=${L}: ${prefill[L]!.toFixed(0)} tok/s`);
    }
    const decode: Record<number, number> = {};
    for (const context of contexts) {
      const state = stateAtContext(model, context);
      const token = [17];
      model.stepSync(token, state); // warm-up (a KV cache at a power-of-two length grows here, once)
      const timing = timeSync(() => model.stepSync(token, state).logits.toHostSync(), { minRuns: 10, minSeconds: quick ? 0.3 : 1, maxRuns: 200, warmup: 2 });
      decode[context] = 1 / timing.median;
      console.log(`${shape.name} bfloat16 cuda decode @${context}: ${decode[context]!.toFixed(1)} tok/s`);
    }
    const bound = copyBandwidth / weightBytes;
    rows.push([
      shape.label,
      'bfloat16',
      `${(weightBytes / 2 ** 20).toFixed(0)} MiB`,
      ...lengths.map((L) => Math.round(prefill[L]!)),
      ...contexts.map((c) => decode[c]!.toFixed(1)),
      Math.round(bound),
      pct(decode[contexts[0]!]! / bound),
    ]);
    results.push({ model: shape.name, shape: shape.options, dtype: 'bfloat16', device: 'cuda', weightBytes, prefillTokensPerSecond: prefill, decodeTokensPerSecond: decode, boundTokensPerSecond: bound });
  }
  console.log();
  const table = printTable(
    ['model (cuda)', 'weights', 'streamed', ...lengths.map((L) => `prefill ${L} tok/s`), ...contexts.map((c) => `decode @${c} tok/s`), 'bound tok/s', `decode @${contexts[0]} / bound`],
    rows,
  );
  return {
    device,
    copyBandwidthBytesPerSecond: copyBandwidth,
    specBandwidthBytesPerSecond: device.memoryBandwidth,
    notes: [
      'bound = measured device copy bandwidth (512 MiB device-to-device copy, read + write) ÷ bytes of weights a step streams.',
      'prefill and decode times include the download of the logits rows generation samples from.',
    ],
    results,
    table,
  };
}

export async function benchModels(args: string[]): Promise<Record<string, unknown>> {
  const quick = args.includes('--quick');
  if (args.includes('--no-cpu')) return { cuda: await benchModelsDevice(quick) };
  const lengths = quick ? [128, 512] : [128, 512, 2048, 8192];
  const contexts = quick ? [128, 2048] : [128, 2048, 8192, 32768];
  const threads = getNumThreads();
  const limits = measureLimits([threads]);
  const bandwidth = limits.readGBs[threads]! * 1e9;
  console.log(`machine: read ${limits.readGBs[threads]!.toFixed(1)} GB/s, FMA ${limits.fmaGflops[threads]!.toFixed(0)} GFLOP/s on ${threads} thread(s)`);

  const shapes = SHAPES;
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const shape of shapes) {
    for (const dtype of ['float32', 'bfloat16'] as const) {
      const model = models.create(shape.name, shape.options);
      if (dtype === 'bfloat16') model.castWeights('bfloat16');
      const weightBytes = streamedBytes(model);
      const prefill: Record<number, number> = {};
      for (const L of lengths) {
        const tokens = new Tensor(Int32Array.from({ length: L }, (_, i) => (i * 7919) % VOCAB), [1, L]);
        const t = timeSync(() => model.forwardSync(tokens, { lastOnly: true }), { minRuns: L >= 2048 ? 1 : 3, minSeconds: quick ? 0.2 : 1, maxRuns: 10, warmup: L >= 2048 ? 0 : 1 });
        prefill[L] = L / t.median;
        console.log(`${shape.name} ${dtype} prefill L=${L}: ${prefill[L]!.toFixed(0)} tok/s`);
      }
      const decode: Record<number, number> = {};
      const stateBytes: Record<number, number> = {};
      for (const context of contexts) {
        const state = stateAtContext(model, context);
        stateBytes[context] = state.bytes;
        const token = [17];
        model.stepSync(token, state);  // warm-up (a KV cache at a power-of-two length grows here, once)
        // Each timed step advances the state by one token: a few tens of tokens past C do not change the cost.
        const timing = timeSync(() => model.stepSync(token, state), { minRuns: 5, minSeconds: quick ? 0.3 : 1, maxRuns: 40, warmup: 1 });
        decode[context] = 1 / timing.median;
        console.log(`${shape.name} ${dtype} decode @${context}: ${decode[context]!.toFixed(1)} tok/s, state ${(stateBytes[context]! / 2 ** 20).toFixed(1)} MiB`);
      }
      const bound = bandwidth / weightBytes;
      rows.push([
        shape.label,
        dtype,
        `${(weightBytes / 2 ** 20).toFixed(0)} MiB`,
        ...lengths.map((L) => Math.round(prefill[L]!)),
        ...contexts.map((c) => decode[c]!.toFixed(1)),
        pct(decode[contexts[0]!]! / bound),
        ...contexts.map((c) => `${(stateBytes[c]! / 2 ** 20).toFixed(2)} MiB`),
      ]);
      results.push({ model: shape.name, shape: shape.options, dtype, weightBytes, prefillTokensPerSecond: prefill, decodeTokensPerSecond: decode, streamingBoundTokensPerSecond: bound, stateBytes });
    }
  }
  console.log();
  const table = printTable(
    ['model', 'weights', 'streamed', ...lengths.map((L) => `prefill ${L} tok/s`), ...contexts.map((c) => `decode @${c} tok/s`), `decode @${contexts[0]} / bound`, ...contexts.map((c) => `state @${c}`)],
    rows,
  );
  return {
    machine: machineDescription(),
    limits,
    threads,
    notes: [
      'prefill: forwardSync with lastOnly (the LM head on the last token, as generation needs); medians.',
      'decode: stepSync from a state at the given context (built at its size directly; see the top of bench/models.ts); each timed step advances it by one token.',
      'bound = measured read bandwidth ÷ bytes of weights a step streams (every matrix once; the embedding as the tied head, or one row).',
    ],
    results,
    table,
    cuda: await benchModelsDevice(quick),
  };
}
