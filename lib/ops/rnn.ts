// lstm, gru, rnn: torch.nn.LSTM / GRU / RNN, batch-first, one layer, one
// direction (native/ops/rnn.cc, kernel native/cpu/rnn.cc; reference in
// test/reference/rnn.ts). A call with L = 1 and the previous h (and c) is the
// decode step.

import type { Tensor } from '../tensor.js';
import {
  checkArgs,
  expectDType,
  expectNonEmpty,
  expectRank,
  expectShape,
  expectTensor,
  optionalString,
  optionalTensor,
  shapeString,
} from '../validate.js';
import { WEIGHT_DTYPES } from './matmul.js';
import { defineOp, type OutputAllocator } from './registry.js';

interface RecurrentArgs {
  /** [b, L, in] float32 */
  x: Tensor;
  /** [G·H, in] (PyTorch's weight_ih_l0); float32, bfloat16 or float16 */
  weightIH: Tensor;
  /** [G·H, H] (PyTorch's weight_hh_l0); float32, bfloat16 or float16 */
  weightHH: Tensor;
  /** [G·H] float32 */
  biasIH?: Tensor;
  /** [G·H] float32 */
  biasHH?: Tensor;
  /** [b, H] float32: the hidden state before the first step (zeros when absent) */
  h0?: Tensor;
}

export interface LstmArgs extends RecurrentArgs {
  /** [b, H] float32: the cell state before the first step (zeros when absent) */
  c0?: Tensor;
  out?: { y?: Tensor; h?: Tensor; c?: Tensor };
}

export interface GruArgs extends RecurrentArgs {
  out?: { y?: Tensor; h?: Tensor };
}

export interface RnnArgs extends RecurrentArgs {
  /** h_t = tanh(…) (default) or relu(…) */
  nonlinearity?: 'tanh' | 'relu';
  out?: { y?: Tensor; h?: Tensor };
}

export interface RecurrentResult {
  /** [b, L, H]: the hidden state after every step */
  y: Tensor;
  /** [b, H]: the last hidden state */
  h: Tensor;
}

export interface LstmResult extends RecurrentResult {
  /** [b, H]: the last cell state */
  c: Tensor;
}

const GATES = { lstm: ['i', 'f', 'g', 'o'], gru: ['r', 'z', 'n'], rnn: ['h'] } as const;

/** gru and rnn keep no cell state: say so rather than "unknown argument". */
function rejectCellState(op: 'gru' | 'rnn', args: unknown): void {
  const c0 = (args as { c0?: unknown } | null | undefined)?.c0;
  if (typeof args === 'object' && args !== null && c0 !== undefined) {
    throw new TypeError(`${op}: c0 is an LSTM cell state; ${op} takes h0 only`);
  }
}

/** Checks the arguments every cell shares; returns the tensors and the sizes. */
function prepareRecurrent(op: 'lstm' | 'gru' | 'rnn', args: RecurrentArgs, output: OutputAllocator) {
  const G = GATES[op].length;
  const rows = G === 1 ? 'H' : `${G}·H`;
  const gates = G === 1 ? '' : `, gates ${GATES[op].join(', ')}`;
  const x = expectTensor(op, 'x', args.x);
  const weightIH = expectTensor(op, 'weightIH', args.weightIH);
  const weightHH = expectTensor(op, 'weightHH', args.weightHH);
  const biasIH = optionalTensor(op, 'biasIH', args.biasIH);
  const biasHH = optionalTensor(op, 'biasHH', args.biasHH);
  const h0 = optionalTensor(op, 'h0', args.h0);
  expectDType(op, 'x', x, ['float32']);
  expectDType(op, 'weightIH', weightIH, WEIGHT_DTYPES);
  expectDType(op, 'weightHH', weightHH, WEIGHT_DTYPES);
  expectRank(op, 'x', x, 3, '[batch, seqLen, in]');
  expectNonEmpty(op, 'x', x);
  expectRank(op, 'weightHH', weightHH, 2, `[${rows}, H]`);
  expectNonEmpty(op, 'weightHH', weightHH);
  const [batch, seqLen, inputSize] = x.shape as [number, number, number];
  const H = weightHH.shape[1]!;
  if (weightHH.shape[0] !== G * H) {
    throw new RangeError(
      `${op}: weightHH must have shape [${rows}=${G * H}, H=${H}] (${G} gate block${G > 1 ? 's' : ''} of H rows${gates}), got ${shapeString(weightHH.shape)}`,
    );
  }
  expectRank(op, 'weightIH', weightIH, 2, `[${rows}, in]`);
  if (weightIH.shape[0] !== G * H || weightIH.shape[1] !== inputSize) {
    throw new RangeError(
      `${op}: weightIH must have shape [${rows}=${G * H}, in=${inputSize}] to match weightHH ${shapeString(weightHH.shape)} and x ${shapeString(x.shape)}, got ${shapeString(weightIH.shape)}`,
    );
  }
  for (const [name, bias] of [['biasIH', biasIH], ['biasHH', biasHH]] as const) {
    if (!bias) continue;
    expectDType(op, name, bias, ['float32']);
    expectShape(op, name, bias, [G * H], `[${rows}]`);
  }
  if (h0) {
    expectDType(op, 'h0', h0, ['float32']);
    expectShape(op, 'h0', h0, [batch, H], '[batch, H]');
  }
  const y = output('y', [batch, seqLen, H]);
  const h = output('h', [batch, H]);
  return { x, weightIH, weightHH, biasIH, biasHH, h0, y, h, batch, H };
}

export const lstm = defineOp<LstmArgs, LstmResult>({
  name: 'lstm',
  prepare(args, output) {
    const op = 'lstm';
    checkArgs(op, args, ['x', 'weightIH', 'weightHH', 'biasIH', 'biasHH', 'h0', 'c0']);
    const p = prepareRecurrent(op, args, output);
    const c0 = optionalTensor(op, 'c0', args.c0);
    if (c0) {
      expectDType(op, 'c0', c0, ['float32']);
      expectShape(op, 'c0', c0, [p.batch, p.H], '[batch, H]');
    }
    const c = output('c', [p.batch, p.H]);
    const { x, weightIH, weightHH, biasIH, biasHH, h0, y, h } = p;
    return { tensors: { x, weightIH, weightHH, biasIH, biasHH, h0, c0, y, h, c }, result: { y, h, c } };
  },
});

export const gru = defineOp<GruArgs, RecurrentResult>({
  name: 'gru',
  prepare(args, output) {
    const op = 'gru';
    rejectCellState(op, args);
    checkArgs(op, args, ['x', 'weightIH', 'weightHH', 'biasIH', 'biasHH', 'h0']);
    const { x, weightIH, weightHH, biasIH, biasHH, h0, y, h } = prepareRecurrent(op, args, output);
    return { tensors: { x, weightIH, weightHH, biasIH, biasHH, h0, y, h }, result: { y, h } };
  },
});

export const rnn = defineOp<RnnArgs, RecurrentResult>({
  name: 'rnn',
  prepare(args, output) {
    const op = 'rnn';
    rejectCellState(op, args);
    checkArgs(op, args, ['x', 'weightIH', 'weightHH', 'biasIH', 'biasHH', 'h0', 'nonlinearity']);
    const nonlinearity = optionalString(op, 'nonlinearity', args.nonlinearity, ['tanh', 'relu'] as const, 'tanh');
    const { x, weightIH, weightHH, biasIH, biasHH, h0, y, h } = prepareRecurrent(op, args, output);
    return { tensors: { x, weightIH, weightHH, biasIH, biasHH, h0, y, h }, attrs: { nonlinearity }, result: { y, h } };
  },
});
