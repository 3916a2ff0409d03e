// selectiveScan: Mamba-1's fused selective scan, the math of selective_scan_ref
// in state-spaces/mamba in token-major layout (native/ops/selective_scan.cc,
// kernel native/cpu/selective_scan.cc, reference test/reference/selective_scan.ts):
//   Δ = delta + deltaBias (softplus of it with deltaSoftplus)
//   h_t = exp(Δ_t·A) ⊙ h_{t−1} + Δ_t·u_t·B_t,  y_t = C_t·h_t + D·u_t,  y_t ·= silu(z_t)
// A call with L = 1 and initialState is the decode step.

import type { Tensor } from '../tensor.js';
import {
  checkArgs,
  expectDType,
  expectNonEmpty,
  expectRank,
  expectShape,
  expectTensor,
  optionalBoolean,
  optionalTensor,
  shapeString,
} from '../validate.js';
import { defineOp } from './registry.js';

export interface SelectiveScanArgs {
  /** [b, L, d] float32 */
  u: Tensor;
  /** [b, L, d] float32 (the step size before deltaBias and softplus) */
  delta: Tensor;
  /** [b, L, d] float32: the output is multiplied by silu(z) */
  z?: Tensor;
  /** [d, n] float32 (real; Mamba stores it as −exp(A_log)) */
  A: Tensor;
  /** [b, L, g, n] float32; g divides d, channel c uses group floor(c / (d / g)) */
  B: Tensor;
  /** [b, L, g, n] float32 */
  C: Tensor;
  /** [d] float32: skip connection D·u */
  D?: Tensor;
  /** [d] float32: added to delta before softplus */
  deltaBias?: Tensor;
  /** [b, d, n] float32: the state before the first token (zeros when absent) */
  initialState?: Tensor;
  /** Δ = softplus(delta + deltaBias); default false */
  deltaSoftplus?: boolean;
  /** also return the state after the last token; default false */
  returnLastState?: boolean;
  out?: { y?: Tensor; lastState?: Tensor };
}

export interface SelectiveScanResult {
  /** [b, L, d] */
  y: Tensor;
  /** [b, d, n], only with returnLastState */
  lastState?: Tensor;
}

export const selectiveScan = defineOp<SelectiveScanArgs, SelectiveScanResult>({
  name: 'selectiveScan',
  prepare(args, output) {
    const op = 'selectiveScan';
    checkArgs(op, args, ['u', 'delta', 'z', 'A', 'B', 'C', 'D', 'deltaBias', 'initialState', 'deltaSoftplus', 'returnLastState']);
    const u = expectTensor(op, 'u', args.u);
    const delta = expectTensor(op, 'delta', args.delta);
    const A = expectTensor(op, 'A', args.A);
    const B = expectTensor(op, 'B', args.B);
    const C = expectTensor(op, 'C', args.C);
    const z = optionalTensor(op, 'z', args.z);
    const D = optionalTensor(op, 'D', args.D);
    const deltaBias = optionalTensor(op, 'deltaBias', args.deltaBias);
    const initialState = optionalTensor(op, 'initialState', args.initialState);
    const deltaSoftplus = optionalBoolean(op, 'deltaSoftplus', args.deltaSoftplus, false);
    const returnLastState = optionalBoolean(op, 'returnLastState', args.returnLastState, false);
    const given: [string, Tensor | undefined][] = [['u', u], ['delta', delta], ['z', z], ['A', A], ['B', B], ['C', C], ['D', D], ['deltaBias', deltaBias], ['initialState', initialState]];
    for (const [name, t] of given) if (t) expectDType(op, name, t, ['float32']);

    expectRank(op, 'u', u, 3, '[b, L, d]');
    expectNonEmpty(op, 'u', u);
    const [b, L, d] = u.shape as [number, number, number];
    expectShape(op, 'delta', delta, [b, L, d], '[b, L, d] like u');
    if (z) expectShape(op, 'z', z, [b, L, d], '[b, L, d] like u');
    expectRank(op, 'A', A, 2, '[d, n]');
    expectNonEmpty(op, 'A', A);
    expectShape(op, 'A', A, [d, null], `[d, n] with d = ${d} from u`);
    const n = A.shape[1]!;
    expectRank(op, 'B', B, 4, '[b, L, g, n]');
    expectNonEmpty(op, 'B', B);
    expectShape(op, 'B', B, [b, L, null, n], `[b, L, g, n] with b, L from u ${shapeString(u.shape)} and n = ${n} from A`);
    const g = B.shape[2]!;
    if (d % g !== 0) throw new RangeError(`${op}: the group count g = ${g} of B ${shapeString(B.shape)} must divide d = ${d}`);
    expectShape(op, 'C', C, B.shape, '[b, L, g, n] like B');
    if (D) expectShape(op, 'D', D, [d], '[d]');
    if (deltaBias) expectShape(op, 'deltaBias', deltaBias, [d], '[d]');
    if (initialState) expectShape(op, 'initialState', initialState, [b, d, n], '[b, d, n]');

    const y = output('y', [b, L, d]);
    const lastState = returnLastState ? output('lastState', [b, d, n]) : undefined;
    return {
      tensors: { u, delta, z, A, B, C, D, deltaBias, initialState, y, lastState },
      attrs: { deltaSoftplus },
      result: lastState ? { y, lastState } : { y },
    };
  },
});
