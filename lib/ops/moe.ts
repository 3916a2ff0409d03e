// moe: sparse mixture-of-experts feed-forward (native/cpu/moe.cc), as in
// Mixtral and Jamba: p = softmax(x · routerᵀ); the topK experts by p each run
// down(silu(gate · x) ⊙ (up · x)); y = Σ p_e · expert_e(x) (p renormalised
// over the chosen experts when `normalize`).

import type { Tensor } from '../tensor.js';
import {
  checkArgs,
  expectDType,
  expectMinRank,
  expectNonEmpty,
  expectRank,
  expectShape,
  expectTensor,
  optionalBoolean,
  optionalNumber,
} from '../validate.js';
import { WEIGHT_DTYPES } from './matmul.js';
import { defineOp } from './registry.js';

export interface MoeArgs {
  /** [..., d] */
  x: Tensor;
  /** [experts, d] */
  router: Tensor;
  /** [experts, ffn, d] (the experts' gate_proj weights stacked) */
  gate: Tensor;
  /** [experts, ffn, d] */
  up: Tensor;
  /** [experts, d, ffn] */
  down: Tensor;
  /** experts per token (default 2) */
  topK?: number;
  normalize?: boolean;
  /** also return the chosen experts [..., topK] */
  returnChoices?: boolean;
  out?: { y?: Tensor; chosen?: Tensor };
}

export const moe = defineOp<MoeArgs, { y: Tensor; chosen?: Tensor }>({
  name: 'moe',
  prepare(args, output) {
    const op = 'moe';
    checkArgs(op, args, ['x', 'router', 'gate', 'up', 'down', 'topK', 'normalize', 'returnChoices']);
    const x = expectTensor(op, 'x', args.x);
    const router = expectTensor(op, 'router', args.router);
    const gate = expectTensor(op, 'gate', args.gate);
    const up = expectTensor(op, 'up', args.up);
    const down = expectTensor(op, 'down', args.down);
    expectDType(op, 'x', x, ['float32']);
    expectMinRank(op, 'x', x, 1, '[..., d]');
    expectNonEmpty(op, 'x', x);
    for (const [name, t] of [['router', router], ['gate', gate], ['up', up], ['down', down]] as const) {
      expectDType(op, name, t, WEIGHT_DTYPES);
      expectNonEmpty(op, name, t);
    }
    if (up.dtype !== gate.dtype || down.dtype !== gate.dtype) throw new TypeError(`${op}: gate, up and down must share a dtype (got ${gate.dtype}, ${up.dtype}, ${down.dtype})`);
    const d = x.shape[x.rank - 1]!;
    expectRank(op, 'router', router, 2, '[experts, d]');
    const experts = router.shape[0]!;
    expectShape(op, 'router', router, [experts, d], '[experts, d]');
    expectRank(op, 'gate', gate, 3, '[experts, ffn, d]');
    const ffn = gate.shape[1]!;
    expectShape(op, 'gate', gate, [experts, ffn, d], '[experts, ffn, d]');
    expectShape(op, 'up', up, [experts, ffn, d], '[experts, ffn, d]');
    expectShape(op, 'down', down, [experts, d, ffn], '[experts, d, ffn]');
    const topK = optionalNumber(op, 'topK', args.topK, Math.min(2, experts), { min: 1, max: experts, integer: true });
    const normalize = optionalBoolean(op, 'normalize', args.normalize, false);
    const returnChoices = optionalBoolean(op, 'returnChoices', args.returnChoices, false);
    const y = output('y', x.shape);
    const chosen = returnChoices ? output('chosen', [...x.shape.slice(0, -1), topK], 'int32') : undefined;
    return {
      tensors: { x, router, gate, up, down, y, chosen },
      attrs: { topK, normalize },
      result: chosen ? { y, chosen } : { y },
    };
  },
});
