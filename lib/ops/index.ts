// The op table: every op once, exposed as ops.NAME (Promise) and ops.NAMESync.

import { native, type NativeTensorArg } from '../native.js';
import { nativeArgs, type Op } from './registry.js';
import { bmm, linear, matmul } from './matmul.js';
import { concat, expand, permute, slice } from './layout.js';
import { moe } from './moe.js';
import { blockScan } from './block_scan.js';
import { slstm } from './slstm.js';
import { complexRnn } from './complex_rnn.js';
import { elementwise } from './elementwise.js';
import { layerNorm, rmsNorm } from './norm.js';
import { softmax } from './softmax.js';
import { rope } from './rope.js';
import { embedding } from './embedding.js';
import { diagonalScan } from './diagonal_scan.js';
import { causalConv1d } from './causal_conv1d.js';
import { selectiveScan } from './selective_scan.js';
import { fftConv } from './fft_conv.js';
import { ssmKernel } from './ssm_kernel.js';
import { gru, lstm, rnn } from './rnn.js';
import { linearAttention } from './linear_attention.js';
import { mlstm } from './mlstm.js';
import { attention } from './attention.js';

const table = {
  matmul,
  linear,
  elementwise,
  rmsNorm,
  layerNorm,
  softmax,
  rope,
  embedding,
  bmm,
  expand,
  permute,
  concat,
  slice,
  moe,
  blockScan,
  slstm,
  complexRnn,
  diagonalScan,
  causalConv1d,
  selectiveScan,
  fftConv,
  ssmKernel,
  lstm,
  gru,
  rnn,
  linearAttention,
  mlstm,
  attention,
};

type Table = typeof table;
type ArgsOf<T> = T extends Op<infer A, unknown> ? A : never;
type ResultOf<T> = T extends Op<unknown, infer R> ? R : never;

export type Ops = { [K in keyof Table]: (args: ArgsOf<Table[K]>) => Promise<ResultOf<Table[K]>> } & {
  [K in keyof Table as `${K}Sync`]: (args: ArgsOf<Table[K]>) => ResultOf<Table[K]>;
};

function build(): Ops {
  const out: Record<string, unknown> = {};
  for (const [name, op] of Object.entries(table) as [string, Op<unknown, unknown>][]) {
    out[name] = (args: unknown) => op.run(args);
    out[`${name}Sync`] = (args: unknown) => op.runSync(args);
  }
  return Object.freeze(out) as Ops;
}

export const ops: Ops = build();

/** Every op in its synchronous shape: what layer code is written against. */
export type OpRunner = { [K in keyof Table]: (args: ArgsOf<Table[K]>) => ResultOf<Table[K]> };

/** Runs each op immediately (the sync forms). */
export const immediate: OpRunner = Object.freeze(
  Object.fromEntries(Object.entries(table).map(([name, op]) => [name, (args: unknown) => (op as Op<unknown, unknown>).runSync(args)])),
) as OpRunner;

/**
 * Records ops to run later, in order, as one native job: a layer's forward
 * pass written against `batch.ops` costs one trip to the native threads
 * instead of one per op. Each recorded call validates its arguments and
 * allocates its outputs at once, so later calls can use them; their values
 * are there once `run()` settles (or `runSync()` returns). A batch may be run
 * again: it recomputes into the same output tensors.
 */
export class OpBatch {
  private readonly calls: [string, Record<string, NativeTensorArg>, Record<string, unknown>][] = [];
  readonly ops: OpRunner;

  constructor() {
    this.ops = Object.freeze(
      Object.fromEntries(
        Object.entries(table).map(([name, op]) => [
          name,
          (args: unknown) => {
            const prepared = (op as Op<unknown, unknown>).prepare(args);
            this.calls.push([name, ...nativeArgs(prepared)]);
            return prepared.result;
          },
        ]),
      ),
    ) as OpRunner;
  }

  /** Number of recorded ops. */
  get size(): number {
    return this.calls.length;
  }

  run(): Promise<void> {
    return this.calls.length ? native.runBatchAsync(this.calls) : Promise.resolve();
  }

  runSync(): void {
    if (this.calls.length) native.runBatchSync(this.calls);
  }
}
/** Names of the ops in the table (each also has a `Sync` form). */
export const opNames: readonly string[] = Object.freeze(Object.keys(table));

export type { MatmulArgs, LinearArgs, BmmArgs } from './matmul.js';
export type { ExpandArgs, PermuteArgs, ConcatArgs, SliceArgs } from './layout.js';
export type { MoeArgs } from './moe.js';
export type { BlockScanArgs } from './block_scan.js';
export type { SlstmArgs, SlstmResult } from './slstm.js';
export type { ComplexRnnArgs } from './complex_rnn.js';
export type { ElementwiseArgs } from './elementwise.js';
export type { NormArgs, NormResult } from './norm.js';
export type { SoftmaxArgs } from './softmax.js';
export type { RopeArgs } from './rope.js';
export type { EmbeddingArgs } from './embedding.js';
export type { DiagonalScanArgs, DiagonalScanResult } from './diagonal_scan.js';
export type { CausalConv1dArgs, CausalConv1dResult } from './causal_conv1d.js';
export type { SelectiveScanArgs, SelectiveScanResult } from './selective_scan.js';
export type { FftConvArgs, ConvMethod } from './fft_conv.js';
export type { SsmKernelArgs, Discretization } from './ssm_kernel.js';
export type { LstmArgs, GruArgs, RnnArgs, RecurrentResult, LstmResult } from './rnn.js';
export type { LinearAttentionArgs, LinearAttentionResult, LinearAttentionMode } from './linear_attention.js';
export type { MlstmArgs, MlstmResult } from './mlstm.js';
export type { AttentionArgs } from './attention.js';
