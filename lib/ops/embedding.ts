// embedding: rows of a table gathered by token id (native/cpu/embedding.cc).

import type { Tensor } from '../tensor.js';
import { checkArgs, expectDType, expectNonEmpty, expectRank, expectTensor } from '../validate.js';
import { WEIGHT_DTYPES } from './matmul.js';
import { defineOp } from './registry.js';

export interface EmbeddingArgs {
  /** int32 token ids, any shape */
  ids: Tensor;
  /** [vocab, d], float32 / bfloat16 / float16 */
  table: Tensor;
  out?: { y?: Tensor };
}

export const embedding = defineOp<EmbeddingArgs, { y: Tensor }>({
  name: 'embedding',
  prepare(args, output) {
    const op = 'embedding';
    checkArgs(op, args, ['ids', 'table']);
    const ids = expectTensor(op, 'ids', args.ids);
    const table = expectTensor(op, 'table', args.table);
    expectDType(op, 'ids', ids, ['int32']);
    expectDType(op, 'table', table, WEIGHT_DTYPES);
    expectRank(op, 'table', table, 2, '[vocab, d]');
    expectNonEmpty(op, 'ids', ids);
    expectNonEmpty(op, 'table', table);
    // Range of the ids is checked natively (they are data), before anything is written.
    const y = output('y', [...ids.shape, table.shape[1]!]);
    return { tensors: { ids, table, y }, result: { y } };
  },
});
