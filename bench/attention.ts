// Attention benchmark: crossroad's tiled attention against the machine's
// limits, our own GEMM's rate in the same run, and onnxruntime-node's best
// CPU attention, side by side in this process.
//
//   npm run bench -- attention [--quick]
//
// Prefill: causal, b = 1, H = 8, D = 64, L ∈ {512, 1024, 4096, 16384}
// (--quick: up to 4096). GFLOP/s count the useful work only, 4·H·D per
// visible (query, key) pair: L(L+1)/2 pairs under the causal mask.
// Decode: one query against Tk keys (the last token of a sequence), bound by
// reading K and V: GB/s as a % of the measured read bandwidth.
// Extra memory: the growth of the process's resident set over a call, beyond
// the inputs and output (which exist before it): the scratch arena's high-water
// mark. A materialised score matrix would be H·L² floats.
//
// The peer is the first of these that onnxruntime runs and that matches our
// output on a small causal case: com.microsoft MultiHeadAttention
// (unidirectional), the opset-23 Attention op (is_causal), or a
// MatMul + mask + Softmax + MatMul graph.

import { getNumThreads, ops, Tensor } from '../lib/index.js';
import { buildModel, createSession, loadOrt, OnnxType, type OnnxGraph, type Ort, type OrtSession } from './peers/onnx.js';
import { machineDescription, measureLimits, pct, printTable, timeInterleaved, timeSync, type Timing } from './harness.js';

const H = 8;
const D = 64;

type PeerKind = 'MultiHeadAttention (com.microsoft)' | 'Attention (opset 23)' | 'MatMul+Softmax+MatMul';

/** Appends an opset import for the com.microsoft domain (ModelProto field 8) to a serialised model. */
function withMicrosoftOpset(model: Uint8Array): Uint8Array {
  const domain = new TextEncoder().encode('com.microsoft');
  const body = [0x0a, domain.length, ...domain, 0x10, 1];
  const out = new Uint8Array(model.length + 2 + body.length);
  out.set(model);
  out.set([0x42, body.length, ...body], model.length);
  return out;
}

/** A peer model: q [1, Tq, H·D], k/v [1, Tk, H·D] (the same memory as [1, T, H, D]) → o [1, Tq, H·D]. */
function peerModel(kind: PeerKind, Tq: number, Tk: number, causal: boolean): Uint8Array {
  const scale = 1 / Math.sqrt(D);
  const io = {
    inputs: [
      { name: 'q', elemType: OnnxType.float, shape: [1, Tq, H * D] },
      { name: 'k', elemType: OnnxType.float, shape: [1, Tk, H * D] },
      { name: 'v', elemType: OnnxType.float, shape: [1, Tk, H * D] },
    ],
    outputs: [{ name: 'o', elemType: OnnxType.float, shape: [1, Tq, H * D] }],
  };
  if (kind === 'MultiHeadAttention (com.microsoft)') {
    const graph: OnnxGraph = {
      ...io,
      nodes: [{
        op: 'MultiHeadAttention', domain: 'com.microsoft', inputs: ['q', 'k', 'v'], outputs: ['o'],
        attributes: [{ name: 'num_heads', int: H }, { name: 'unidirectional', int: causal ? 1 : 0 }, { name: 'scale', float: scale }],
      }],
    };
    return withMicrosoftOpset(buildModel(graph));
  }
  if (kind === 'Attention (opset 23)') {
    return buildModel({
      ...io,
      opset: 23,
      nodes: [{
        op: 'Attention', inputs: ['q', 'k', 'v'], outputs: ['o'],
        attributes: [{ name: 'q_num_heads', int: H }, { name: 'kv_num_heads', int: H }, { name: 'is_causal', int: causal ? 1 : 0 }, { name: 'scale', float: scale }],
      }],
    });
  }
  // Explicit graph: scores [1, H, Tq, Tk] materialised, an additive causal mask (bottom-right aligned).
  const mask = new Float32Array(Tq * Tk);
  if (causal) for (let i = 0; i < Tq; i++) for (let j = 0; j < Tk; j++) if (j > Tk - Tq + i) mask[i * Tk + j] = -Infinity;
  const shape4 = (name: string, T: number) => ({ name, elemType: OnnxType.int64, dims: [4], raw: new Uint8Array(BigInt64Array.from([1n, BigInt(T), BigInt(H), BigInt(D)]).buffer) });
  return buildModel({
    ...io,
    initializers: [
      shape4('shapeQ', Tq), shape4('shapeK', Tk),
      { name: 'shapeO', elemType: OnnxType.int64, dims: [3], raw: new Uint8Array(BigInt64Array.from([1n, BigInt(Tq), BigInt(H * D)]).buffer) },
      { name: 'scale', elemType: OnnxType.float, dims: [], raw: new Uint8Array(Float32Array.of(scale).buffer) },
      { name: 'mask', elemType: OnnxType.float, dims: [Tq, Tk], raw: new Uint8Array(mask.buffer) },
    ],
    nodes: [
      { op: 'Reshape', inputs: ['q', 'shapeQ'], outputs: ['q4'] },
      { op: 'Reshape', inputs: ['k', 'shapeK'], outputs: ['k4'] },
      { op: 'Reshape', inputs: ['v', 'shapeK'], outputs: ['v4'] },
      { op: 'Transpose', inputs: ['q4'], outputs: ['qh'], attributes: [{ name: 'perm', ints: [0, 2, 1, 3] }] },
      { op: 'Transpose', inputs: ['k4'], outputs: ['kt'], attributes: [{ name: 'perm', ints: [0, 2, 3, 1] }] },
      { op: 'Transpose', inputs: ['v4'], outputs: ['vh'], attributes: [{ name: 'perm', ints: [0, 2, 1, 3] }] },
      { op: 'MatMul', inputs: ['qh', 'kt'], outputs: ['s'] },
      { op: 'Mul', inputs: ['s', 'scale'], outputs: ['ss'] },
      { op: 'Add', inputs: ['ss', 'mask'], outputs: ['sm'] },
      { op: 'Softmax', inputs: ['sm'], outputs: ['p'], attributes: [{ name: 'axis', int: -1 }] },
      { op: 'MatMul', inputs: ['p', 'vh'], outputs: ['oh'] },
      { op: 'Transpose', inputs: ['oh'], outputs: ['o4'], attributes: [{ name: 'perm', ints: [0, 2, 1, 3] }] },
      { op: 'Reshape', inputs: ['o4', 'shapeO'], outputs: ['o'] },
    ],
  });
}

interface Peer {
  kind: PeerKind;
  session(Tq: number, Tk: number, causal: boolean): Promise<OrtSession>;
}

/** The first peer kind that runs and agrees with ops.attention on a small causal case; the others' failures. */
async function choosePeer(ort: Ort, threads: number): Promise<{ peer?: Peer; tried: Record<string, string> }> {
  const tried: Record<string, string> = {};
  const T = 96;
  const q = Tensor.randn([1, T, H, D], { seed: 1 });
  const k = Tensor.randn([1, T, H, D], { seed: 2 });
  const v = Tensor.randn([1, T, H, D], { seed: 3 });
  const ours = ops.attentionSync({ q, k, v, causal: true }).o.data as Float32Array;
  for (const kind of ['MultiHeadAttention (com.microsoft)', 'Attention (opset 23)', 'MatMul+Softmax+MatMul'] as PeerKind[]) {
    try {
      const session = await createSession(ort, peerModel(kind, T, T, true), threads);
      const out = await session.run(feeds(ort, q, k, v));
      const o = out.o!.data as Float32Array;
      let num = 0;
      let den = 0;
      for (let i = 0; i < ours.length; i++) {
        num += (o[i]! - ours[i]!) ** 2;
        den += ours[i]! ** 2;
      }
      const err = Math.sqrt(num / den);
      if (!(err < 1e-4)) {
        tried[kind] = `runs, but differs from ours by ${err.toExponential(2)} (relative): not comparable`;
        continue;
      }
      tried[kind] = 'runs and matches';
      return { peer: { kind, session: (Tq, Tk, causal) => createSession(ort, peerModel(kind, Tq, Tk, causal), threads) }, tried };
    } catch (e) {
      tried[kind] = `does not run: ${(e as Error).message.split('\n')[0]!.slice(0, 200)}`;
    }
  }
  return { tried };
}

function feeds(ort: Ort, q: Tensor, k: Tensor, v: Tensor) {
  const flat = (t: Tensor) => new ort.Tensor('float32', t.data, [1, t.shape[1]!, H * D]);
  return { q: flat(q), k: flat(k), v: flat(v) };
}

function rssMB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

export async function benchAttention(args: string[]): Promise<Record<string, unknown>> {
  const quick = args.includes('--quick');
  const threads = getNumThreads();
  const limits = measureLimits([threads]);
  const peak = limits.fmaGflops[threads]!;
  const readGBs = limits.readGBs[threads]!;
  console.log(`machine: FMA peak ${peak.toFixed(0)} GFLOP/s, read bandwidth ${readGBs.toFixed(1)} GB/s on ${threads} thread(s)`);
  const timing = quick ? { minRuns: 3, minSeconds: 0.2, maxRuns: 20, warmup: 1 } : { minRuns: 7, minSeconds: 1.0, maxRuns: 100, warmup: 1 };

  // Our GEMM at a square shape, in this run: the rate attention's two products could reach at best.
  const ga = Tensor.randn([1024, 1024], { seed: 1 });
  const gb = Tensor.randn([1024, 1024], { seed: 2 });
  const gy = Tensor.zeros([1024, 1024]);
  const gemmTiming = timeSync(() => ops.matmulSync({ a: ga, b: gb, out: { y: gy } }), timing);
  const gemmGflops = (2 * 1024 ** 3) / gemmTiming.median / 1e9;
  console.log(`matmul (1024, 1024, 1024): ${gemmGflops.toFixed(0)} GFLOP/s (${pct(gemmGflops / peak)} of peak)`);

  const { ort, version: ortVersion, reason: ortMissing } = await loadOrt();
  let peer: Peer | undefined;
  let tried: Record<string, string> = {};
  if (ort) {
    ({ peer, tried } = await choosePeer(ort, threads));
    for (const [kind, status] of Object.entries(tried)) console.log(`peer ${kind}: ${status}`);
  } else {
    console.log(`peer: ${ortMissing}`);
  }

  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  const lengths = quick ? [512, 1024, 4096] : [512, 1024, 4096, 16384];
  for (const L of lengths) {
    const q = Tensor.randn([1, L, H, D], { seed: L });
    const k = Tensor.randn([1, L, H, D], { seed: L + 1 });
    const v = Tensor.randn([1, L, H, D], { seed: L + 2 });
    const o = Tensor.full([1, L, H, D], 1);  // touched now, so its pages do not count as the call's memory
    const before = rssMB();
    ops.attentionSync({ q, k, v, causal: true, out: { o } });
    const extraMB = rssMB() - before;
    const run = () => ops.attentionSync({ q, k, v, causal: true, out: { o } });
    const runAsync = () => ops.attention({ q, k, v, causal: true, out: { o } });
    // The explicit-graph peer materialises H·L² scores (and more): skip it where that passes 2 GB.
    const scoreBytes = 4 * H * L * L;
    let peerRun: (() => Promise<unknown>) | undefined;
    let peerNote: string | undefined;
    if (ort && peer) {
      if (peer.kind === 'MatMul+Softmax+MatMul' && scoreBytes > 2e9) {
        peerNote = `skipped: its score matrix would take ${(scoreBytes / 1e9).toFixed(1)} GB`;
      } else {
        const session = await peer.session(L, L, true);
        const feed = feeds(ort, q, k, v);
        peerRun = () => session.run(feed);
      }
    }
    const lengthTiming = L >= 16384 ? { ...timing, minRuns: quick ? 2 : 3, minSeconds: 0 } : timing;
    const timings = await timeInterleaved(peerRun ? [run, runAsync, peerRun] : [run, runAsync], lengthTiming);
    const [ours, oursAsync] = timings as [Timing, Timing];
    const theirs: Timing | undefined = timings[2];
    const flops = 4 * H * D * (L * (L + 1)) / 2;
    const gflops = flops / ours.median / 1e9;
    const ratio = theirs ? theirs.median / oursAsync.median : undefined;
    results.push({
      mode: 'prefill', causal: true, b: 1, L, H, D, sync: ours, async: oursAsync, gflops,
      percentOfPeak: gflops / peak, percentOfGemm: gflops / gemmGflops,
      extraMemoryMB: extraMB, scoreMatrixMB: scoreBytes / 2 ** 20,
      onnxruntime: theirs ?? null, onnxruntimeGflops: theirs ? flops / theirs.median / 1e9 : null,
      ratioToOnnxruntime: ratio ?? null, ratioSyncToOnnxruntime: theirs ? theirs.median / ours.median : null, peerNote: peerNote ?? null,
    });
    rows.push([`prefill L=${L}`, (ours.median * 1e3).toFixed(2), `${gflops.toFixed(0)} GFLOP/s`, pct(gflops / peak), pct(gflops / gemmGflops),
      `${extraMB.toFixed(1)} MB (scores: ${(scoreBytes / 2 ** 20).toFixed(0)} MB)`,
      theirs ? `${(theirs.median * 1e3).toFixed(2)} ms` : peerNote ?? 'n/a', ratio ? `${ratio.toFixed(2)}×` : 'n/a']);
    console.log(rows[rows.length - 1]!.join('  '));
  }

  // Decode: the last token of a sequence of Tk against its KV cache.
  const decodeLengths = quick ? [4096, 32768] : [1024, 4096, 16384, 32768];
  for (const Tk of decodeLengths) {
    const q = Tensor.randn([1, 1, H, D], { seed: Tk });
    const k = Tensor.randn([1, Tk, H, D], { seed: Tk + 1 });
    const v = Tensor.randn([1, Tk, H, D], { seed: Tk + 2 });
    const o = Tensor.full([1, 1, H, D], 1);
    const before = rssMB();
    ops.attentionSync({ q, k, v, causal: true, out: { o } });
    const extraMB = rssMB() - before;
    const run = () => ops.attentionSync({ q, k, v, causal: true, out: { o } });
    const runAsync = () => ops.attention({ q, k, v, causal: true, out: { o } });
    let peerRun: (() => Promise<unknown>) | undefined;
    if (ort && peer) {
      // One query sees every key: the peer runs unmasked (its causal alignment for Tq < Tk varies by op).
      const session = await peer.session(1, Tk, false);
      const feed = feeds(ort, q, k, v);
      peerRun = () => session.run(feed);
    }
    const timings = await timeInterleaved(peerRun ? [run, runAsync, peerRun] : [run, runAsync], timing);
    const [ours, oursAsync] = timings as [Timing, Timing];
    const theirs: Timing | undefined = timings[2];
    const bytes = 2 * Tk * H * D * 4;
    const gbs = bytes / ours.median / 1e9;
    const ratio = theirs ? theirs.median / oursAsync.median : undefined;
    results.push({
      mode: 'decode', Tq: 1, Tk, H, D, sync: ours, async: oursAsync, gbs, percentOfReadBandwidth: gbs / readGBs,
      extraMemoryMB: extraMB, onnxruntime: theirs ?? null, ratioToOnnxruntime: ratio ?? null,
      ratioSyncToOnnxruntime: theirs ? theirs.median / ours.median : null,
    });
    rows.push([`decode Tk=${Tk}`, (ours.median * 1e3).toFixed(3), `${gbs.toFixed(1)} GB/s`, pct(gbs / readGBs), '', `${extraMB.toFixed(1)} MB`,
      theirs ? `${(theirs.median * 1e3).toFixed(3)} ms` : 'n/a', ratio ? `${ratio.toFixed(2)}×` : 'n/a']);
    console.log(rows[rows.length - 1]!.join('  '));
  }

  console.log();
  const table = printTable(['shape (H=8, D=64)', 'ms (median)', 'rate', '% of limit', '% of GEMM', 'extra memory', `onnxruntime (${peer?.kind ?? 'none'})`, 'speed-up vs ort'], rows);
  return {
    benchmark: 'attention',
    date: new Date().toISOString(),
    quick,
    threads,
    machine: machineDescription(),
    limits,
    gemm: { shape: [1024, 1024, 1024], timing: gemmTiming, gflops: gemmGflops },
    peer: ort ? { name: 'onnxruntime-node', version: ortVersion, op: peer?.kind ?? null, tried } : { name: 'onnxruntime-node', missing: ortMissing },
    notes: [
      'ms and rates are medians of the sync op with a reused output; speed-up compares the async op with onnxruntime\'s async run.',
      'Prefill GFLOP/s count 4·H·D flops per visible (query, key) pair, L(L+1)/2 pairs under the causal mask; % of limit is of the FMA peak, % of GEMM of our matmul (1024³) in the same run.',
      'Decode GB/s count the K and V bytes read; % of limit is of the measured read bandwidth (K and V of a short cache fit in the last-level cache, hence > 100 %).',
      'Extra memory: growth of the resident set over the first call at that size (inputs and output already allocated); the scratch arena keeps its high-water mark across sizes, so growth already paid at a smaller size is not counted again.',
    ],
    results,
    table,
  };
}
