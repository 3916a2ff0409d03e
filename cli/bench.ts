// `crossroad bench`: sweeps the sequence length for prefill and the context for
// decode over a few models, and writes a table, JSON and three SVG charts —
// prefill time vs L (log–log), decode latency vs context, state memory vs
// context — where the recurrent families' flat decode cost and constant state
// cross attention's growing ones. --peers adds onnxruntime's attention op at the
// attention model's per-layer shape, run side by side.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getNumThreads, info, models, setNumThreads, type LanguageModel } from '../lib/index.js';
import { Tensor } from '../lib/tensor.js';
import { ops } from '../lib/ops/index.js';
import { bytes, CliError, median, progress, rate, table } from './format.js';
import { lineChart, type Series } from './svg.js';
import { stateAtContext } from './synthetic-state.js';

export interface BenchOptions {
  models: string[];
  lengths: number[];
  threads?: number;
  peers: boolean;
  out: string;
  dModel: number;
  layers: number;
}

interface Point {
  model: string;
  L: number;
  prefillSeconds: number;
  decodeSeconds: number;
  stateBytes: number;
}

const VOCAB = 4096;


function measure(model: LanguageModel, name: string, L: number): Point {
  const tokens = new Tensor(Int32Array.from({ length: L }, (_, i) => (i * 7919) % VOCAB), [1, L]);
  model.forwardSync(new Tensor(Int32Array.of(1, 2, 3, 4), [1, 4]), { lastOnly: true });  // warm the arena
  const prefillSeconds = median(() => model.forwardSync(tokens, { lastOnly: true }), L >= 4096 ? 1 : 3);
  const state = stateAtContext(model, L);
  model.stepSync([1], state);
  const decodeSeconds = median(() => model.stepSync([1], state), 9);
  return { model: name, L, prefillSeconds, decodeSeconds, stateBytes: stateAtContext(model, L).bytes };
}

async function peerPoints(options: BenchOptions, heads: number, headDim: number): Promise<{ L: number; ours: number; peer: number }[]> {
  let onnx: typeof import('../bench/peers/onnx.js');
  try {
    onnx = await import('../bench/peers/onnx.js');
  } catch {
    throw new CliError('--peers needs the benchmark peers (bench/peers) and onnxruntime-node, which come with a development checkout (npm install without --omit=dev)');
  }
  const loaded = await onnx.loadOrt();
  if (!loaded.ort) throw new CliError(`--peers: onnxruntime-node is not available (${loaded.reason ?? 'not installed'})`);
  const ort = loaded.ort;
  const out: { L: number; ours: number; peer: number }[] = [];
  for (const L of options.lengths) {
    const model = onnx.buildModel({
      inputs: ['q', 'k', 'v'].map((name) => ({ name, elemType: onnx.OnnxType.float, shape: [1, L, heads * headDim] })),
      outputs: [{ name: 'o', elemType: onnx.OnnxType.float, shape: [1, L, heads * headDim] }],
      nodes: [{ op: 'MultiHeadAttention', domain: 'com.microsoft', inputs: ['q', 'k', 'v'], outputs: ['o'], attributes: [{ name: 'num_heads', int: heads }, { name: 'unidirectional', int: 1 }] }],
      extraOpsets: [{ domain: 'com.microsoft', version: 1 }],
    });
    const session = await onnx.createSession(ort, model, getNumThreads());
    const [q, k, v] = [1, 2, 3].map((seed) => Tensor.randn([1, L, heads, headDim], { seed }));
    const feeds = { q: new ort.Tensor('float32', q!.data, [1, L, heads * headDim]), k: new ort.Tensor('float32', k!.data, [1, L, heads * headDim]), v: new ort.Tensor('float32', v!.data, [1, L, heads * headDim]) };
    await session.run(feeds);
    const peerTimes: number[] = [];
    const ourTimes: number[] = [];
    for (let i = 0; i < (L >= 4096 ? 3 : 7); i++) {
      let t0 = performance.now();
      await session.run(feeds);
      peerTimes.push(performance.now() - t0);
      t0 = performance.now();
      await ops.attention({ q: q!, k: k!, v: v!, causal: true });
      ourTimes.push(performance.now() - t0);
    }
    const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]! / 1000;
    out.push({ L, ours: med(ourTimes), peer: med(peerTimes) });
  }
  return out;
}

export async function runBench(options: BenchOptions): Promise<string> {
  const known = models.names();
  for (const m of options.models) if (!known.includes(m)) throw new CliError(`unknown model '${m}' (known: ${known.join(', ')})`);
  if (options.threads !== undefined) setNumThreads(options.threads);
  const bar = progress(options.models.length * options.lengths.length, 'bench');
  const points: Point[] = [];
  try {
    for (const name of options.models) {
      const model = models.create(name, { dModel: options.dModel, nLayer: options.layers, vocabSize: VOCAB, seed: 1 });
      for (const L of options.lengths) {
        bar.tick(`${name} L=${L}`);
        points.push(measure(model, name, L));
      }
    }
  } finally {
    bar.stop();
  }
  let peers: { L: number; ours: number; peer: number }[] | undefined;
  if (options.peers) {
    const heads = Math.max(1, Math.round(options.dModel / 64));
    peers = await peerPoints(options, heads, options.dModel / heads);
  }

  const rows = points.map((p) => [p.model, String(p.L), (p.prefillSeconds * 1000).toFixed(1), rate(p.L / p.prefillSeconds), (p.decodeSeconds * 1000).toFixed(2), rate(1 / p.decodeSeconds), bytes(p.stateBytes)]);
  let text = table(['model', 'L', 'prefill ms', 'prefill tok/s', 'decode ms/token @L', 'decode tok/s', 'state @L'], rows);
  if (peers) {
    text += `\n\nonnxruntime MultiHeadAttention (causal) vs crossroad ops.attention, one layer's attention at d = ${options.dModel}:\n`;
    text += table(['L', 'crossroad ms', 'onnxruntime ms', 'speed-up'], peers.map((p) => [String(p.L), (p.ours * 1000).toFixed(2), (p.peer * 1000).toFixed(2), `${(p.peer / p.ours).toFixed(2)}×`]));
  }

  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const byModel = (f: (p: Point) => number): Series[] => options.models.map((m) => ({ name: m, points: points.filter((p) => p.model === m).map((p) => [p.L, f(p)] as [number, number]) }));
  const setting = `d = ${options.dModel}, ${options.layers} layers, ${getNumThreads()} threads`;
  writeFileSync(join(out, 'prefill.svg'), lineChart(`Prefill time vs sequence length (${setting})`, 'sequence length L (tokens)', 'prefill time (ms)', byModel((p) => p.prefillSeconds * 1000)));
  writeFileSync(join(out, 'decode.svg'), lineChart(`Decode latency vs context (${setting})`, 'context (tokens)', 'ms per token', byModel((p) => p.decodeSeconds * 1000)));
  writeFileSync(join(out, 'memory.svg'), lineChart(`State / KV cache memory vs context (${setting})`, 'context (tokens)', 'state bytes', byModel((p) => p.stateBytes)));
  writeFileSync(join(out, 'bench.json'), `${JSON.stringify({ date: new Date().toISOString(), info: info(), options, points, peers }, null, 2)}\n`);
  return `${text}\n\nwrote ${join(out, 'bench.json')}, prefill.svg, decode.svg, memory.svg`;
}
