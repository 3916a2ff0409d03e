// embedding: y[..., :] = table[ids[...], :]. Ids are data, so they are
// range-checked here, all of them, before the kernel writes anything.
#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

cpu::EmbeddingArgs embeddingArgs(const OpCall& call) {
  const TensorView& ids = call.tensor("ids");
  const TensorView& table = call.tensor("table");
  const TensorView& y = call.tensor("y");
  expectDType(call, "ids", ids, {DType::I32});
  expectDType(call, "table", table, {DType::F32, DType::BF16, DType::F16});
  expectDType(call, "y", y, {DType::F32});
  expectRank(call, "table", table, 2);
  cpu::EmbeddingArgs g;
  g.count = ids.size();
  g.vocab = table.shape[0];
  g.dim = table.shape[1];
  if (y.size() != g.count * g.dim || y.dim(-1) != g.dim) throwRange(call.op(), ": y must have shape [...ids, ", g.dim, "]");
  const int32_t* p = ids.as<int32_t>();
  if (!ids.onDevice()) {
    for (int64_t i = 0; i < g.count; ++i) {
      if (p[i] < 0 || p[i] >= g.vocab) throwRange(call.op(), ": ids[", i, "] = ", p[i], " is outside [0, ", g.vocab, ")");
    }
  }
  g.ids = p;
  g.table = table.data;
  g.tableType = table.dtype;
  g.y = y.as<float>();
  return g;
}

void runEmbedding(const OpCall& call) { cpu::kernels().embedding(embeddingArgs(call)); }

}  // namespace cr
