// rope: rotary position embeddings on x [batch, T, heads, D].
#include <cmath>

#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

cpu::RopeArgs ropeArgs(const OpCall& call) {
  const TensorView& x = call.tensor("x");
  const TensorView& y = call.tensor("y");
  expectDType(call, "x", x, {DType::F32});
  expectDType(call, "y", y, {DType::F32});
  expectRank(call, "x", x, 4);
  expectShape(call, "y", y, {x.shape[0], x.shape[1], x.shape[2], x.shape[3]});
  cpu::RopeArgs g;
  g.batch = x.shape[0];
  g.T = x.shape[1];
  g.heads = x.shape[2];
  g.D = x.shape[3];
  g.rotaryDim = static_cast<int64_t>(call.number("rotaryDim", static_cast<double>(g.D)));
  if (g.rotaryDim < 2 || g.rotaryDim > g.D || g.rotaryDim % 2 != 0) {
    throwRange(call.op(), ": rotaryDim must be even and in [2, ", g.D, "], got ", g.rotaryDim);
  }
  g.offset = static_cast<int64_t>(call.number("offset", 0));
  g.base = call.number("base", 10000.0);
  g.scale = call.number("positionScale", 1.0);
  if (!(g.base > 0) || !std::isfinite(g.base)) throwRange(call.op(), ": base must be a positive number");
  g.interleaved = call.flag("interleaved", false);
  if (const TensorView* t = call.find("rowOffsets")) {
    expectDType(call, "rowOffsets", *t, {DType::I32});
    expectShape(call, "rowOffsets", *t, {g.batch});
    g.rowOffsets = t->as<int32_t>();
  }
  if (const TensorView* t = call.find("positions")) {
    expectDType(call, "positions", *t, {DType::I32});
    expectShape(call, "positions", *t, {g.batch, g.T});
    g.positions = t->as<int32_t>();
  }
  g.x = x.as<float>();
  g.y = y.as<float>();
  return g;
}

void runRope(const OpCall& call) { cpu::kernels().rope(ropeArgs(call)); }

}  // namespace cr
