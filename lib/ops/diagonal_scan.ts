// diagonalScan (native/cpu/diagonal_scan.cc): the diagonal linear recurrence
// h_t = a_t ⊙ h_{t−1} + b_t of LRU, S5, RG-LRU and S4D's recurrent mode,
// independently per (batch, channel). With `complex`, a, b and h carry a last
// dimension of 2 holding (re, im) and ⊙ is complex multiplication.
// Long sequences with few channels are split over time as well as channels.

import type { Tensor } from '../tensor.js';
import { checkArgs, expectDType, expectNonEmpty, expectShape, expectTensor, optionalBoolean, optionalTensor, shapeString } from '../validate.js';
import { defineOp } from './registry.js';

export interface DiagonalScanArgs {
  /** decays, [b, L, c] (complex: [b, L, c, 2] as (re, im)) */
  a: Tensor;
  /** inputs, shaped like a */
  b: Tensor;
  /** the state before t = 0, [b, c] (complex: [b, c, 2]); zeros when absent */
  initialState?: Tensor;
  /** a, b and the state are complex (default false) */
  complex?: boolean;
  out?: { h?: Tensor; lastState?: Tensor };
}

export interface DiagonalScanResult {
  /** every state h_t, shaped like a */
  h: Tensor;
  /** h_{L−1}, [b, c] (complex: [b, c, 2]): the initialState of a call that continues this one */
  lastState: Tensor;
}

function expectLayout(op: string, name: string, t: Tensor, complex: boolean): void {
  if (complex) {
    if (t.rank !== 4 || t.shape[3] !== 2) {
      throw new RangeError(`${op}: ${name} must have shape [b, L, c, 2] when complex is true ((re, im) pairs in the last dimension), got ${shapeString(t.shape)}`);
    }
  } else if (t.rank !== 3) {
    const hint = t.rank === 4 && t.shape[3] === 2 ? '; for (re, im) pairs pass complex: true' : '';
    throw new RangeError(`${op}: ${name} must have rank 3 ([b, L, c]), got shape ${shapeString(t.shape)}${hint}`);
  }
}

export const diagonalScan = defineOp<DiagonalScanArgs, DiagonalScanResult>({
  name: 'diagonalScan',
  prepare(args, output) {
    const op = 'diagonalScan';
    checkArgs(op, args, ['a', 'b', 'initialState', 'complex']);
    const complex = optionalBoolean(op, 'complex', args.complex, false);
    const a = expectTensor(op, 'a', args.a);
    const b = expectTensor(op, 'b', args.b);
    expectDType(op, 'a', a, ['float32']);
    expectDType(op, 'b', b, ['float32']);
    expectLayout(op, 'a', a, complex);
    expectNonEmpty(op, 'a', a);
    const layout = complex ? '[b, L, c, 2]' : '[b, L, c]';
    expectShape(op, 'b', b, a.shape, `${layout}, like a`);
    const [batch, , c] = a.shape as [number, number, number];
    const stateShape = complex ? [batch, c, 2] : [batch, c];
    const initialState = optionalTensor(op, 'initialState', args.initialState);
    if (initialState) {
      expectDType(op, 'initialState', initialState, ['float32']);
      expectShape(op, 'initialState', initialState, stateShape, complex ? '[b, c, 2]' : '[b, c]');
    }
    const h = output('h', a.shape);
    const lastState = output('lastState', stateShape);
    return { tensors: { a, b, initialState, h, lastState }, attrs: { complex }, result: { h, lastState } };
  },
});
