// A minimal ONNX model writer (just the protobuf fields we need) and a loader
// for onnxruntime-node, the peer library the benchmarks run side by side.
// onnxruntime-node is an optional devDependency: without it, peer columns are
// left empty and say why.

// ---- protobuf wire format ----------------------------------------------------

class Writer {
  private parts: Uint8Array[] = [];
  private small: number[] = [];

  private flush(): void {
    if (this.small.length) {
      this.parts.push(Uint8Array.from(this.small));
      this.small = [];
    }
  }
  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.small.push(Number((v & 0x7fn) | 0x80n));
      v >>= 7n;
    }
    this.small.push(Number(v));
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, value: number): this {
    return this.tag(field, 0).varint(value);
  }
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    this.flush();
    this.parts.push(data);
    return this;
  }
  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }
  message(field: number, body: Writer): this {
    return this.bytes(field, body.finish());
  }
  float(field: number, value: number): this {
    this.tag(field, 5);
    for (const x of new Uint8Array(new Float32Array([value]).buffer)) this.small.push(x);
    return this;
  }
  finish(): Uint8Array {
    this.flush();
    const total = this.parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const p of this.parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }
}

// ---- ONNX graph description ---------------------------------------------------

export const OnnxType = { float: 1, int32: 6, int64: 7, float16: 10, bfloat16: 16 } as const;

export interface OnnxValue {
  name: string;
  elemType: number;
  /** numbers are fixed sizes, strings symbolic dimensions */
  shape: (number | string)[];
}

export type OnnxAttribute =
  | { name: string; int: number }
  | { name: string; float: number }
  | { name: string; ints: number[] }
  | { name: string; string: string };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: OnnxAttribute[];
  domain?: string;
}

export interface OnnxInitializer {
  name: string;
  elemType: number;
  dims: number[];
  raw: Uint8Array;
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  initializers?: OnnxInitializer[];
  opset?: number;
  /** opsets of other domains the nodes use, e.g. { domain: 'com.microsoft', version: 1 } */
  extraOpsets?: { domain: string; version: number }[];
}

function valueInfo(v: OnnxValue): Writer {
  const shape = new Writer();
  for (const d of v.shape) {
    const dim = new Writer();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new Writer().int(1, v.elemType).message(2, shape);
  const type = new Writer().message(1, tensorType);
  return new Writer().string(1, v.name).message(2, type);
}

function attribute(a: OnnxAttribute): Writer {
  const w = new Writer().string(1, a.name);
  if ('int' in a) return w.int(3, a.int).int(20, 2);
  if ('float' in a) return w.float(2, a.float).int(20, 1);
  if ('ints' in a) {
    for (const i of a.ints) w.int(8, i);
    return w.int(20, 7);
  }
  return w.bytes(4, new TextEncoder().encode(a.string)).int(20, 3);
}

/** Serialises a single-graph ONNX model (IR version 10). */
export function buildModel(graph: OnnxGraph): Uint8Array {
  const g = new Writer();
  for (const n of graph.nodes) {
    const node = new Writer();
    for (const i of n.inputs) node.string(1, i);
    for (const o of n.outputs) node.string(2, o);
    node.string(4, n.op);
    for (const a of n.attributes ?? []) node.message(5, attribute(a));
    if (n.domain) node.string(7, n.domain);
    g.message(1, node);
  }
  g.string(2, 'crossroad_bench');
  for (const init of graph.initializers ?? []) {
    const t = new Writer();
    for (const d of init.dims) t.int(1, d);
    t.int(2, init.elemType).string(8, init.name).bytes(9, init.raw);
    g.message(5, t);
  }
  for (const v of graph.inputs) g.message(11, valueInfo(v));
  for (const v of graph.outputs) g.message(12, valueInfo(v));
  const opset = new Writer().string(1, '').int(2, graph.opset ?? 21);
  const model = new Writer().int(1, 10).string(2, 'crossroad').message(7, g).message(8, opset);
  for (const extra of graph.extraOpsets ?? []) model.message(8, new Writer().string(1, extra.domain).int(2, extra.version));
  return model.finish();
}

// ---- onnxruntime-node ---------------------------------------------------------

// The subset of onnxruntime-node's API the benchmarks use.
export interface OrtTensor {
  data: unknown;
  dims: readonly number[];
}
export interface OrtSession {
  run(feeds: Record<string, OrtTensor>, fetches?: Record<string, OrtTensor | null>): Promise<Record<string, OrtTensor>>;
  release?(): Promise<void>;
}
export interface Ort {
  InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: string, data: ArrayBufferView, dims: readonly number[]) => OrtTensor;
  env: { versions?: Record<string, string> };
}

export interface OrtLoad {
  ort?: Ort;
  version?: string;
  reason?: string;
}

/** Loads onnxruntime-node if it is installed; otherwise says why not. */
export async function loadOrt(): Promise<OrtLoad> {
  try {
    const mod = (await import('onnxruntime-node' as string)) as { default?: Ort } & Ort;
    const ort = (mod.default ?? mod) as Ort;
    return { ort, version: ort.env.versions?.common ?? ort.env.versions?.node ?? 'unknown' };
  } catch (e) {
    return { reason: `onnxruntime-node is not installed or failed to load (${(e as Error).message.split('\n')[0]})` };
  }
}

/**
 * A session pinned to `threads` intra-op threads, sequential execution, all
 * graph optimisations. Its threads do not spin between runs: the benchmarks
 * alternate crossroad and onnxruntime run by run, and spinning threads of
 * one would steal the cores of the other.
 */
export async function createSession(ort: Ort, model: Uint8Array, threads: number): Promise<OrtSession> {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
}
