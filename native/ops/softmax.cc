// softmax / log-softmax over the last dimension.
#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

cpu::SoftmaxArgs softmaxArgs(const OpCall& call) {
  const TensorView& x = call.tensor("x");
  const TensorView& y = call.tensor("y");
  expectDType(call, "x", x, {DType::F32});
  expectDType(call, "y", y, {DType::F32});
  expectRankAtLeast(call, "x", x, 1);
  if (y.size() != x.size()) throwRange(call.op(), ": y must have x's shape ", shapeString(x));
  cpu::SoftmaxArgs g;
  g.dim = x.dim(-1);
  g.rows = x.size() / (g.dim > 0 ? g.dim : 1);
  g.scale = static_cast<float>(call.number("scale", 1.0));
  g.log = call.flag("log", false);
  g.x = x.as<float>();
  g.y = y.as<float>();
  return g;
}

void runSoftmax(const OpCall& call) { cpu::kernels().softmax(softmaxArgs(call)); }

}  // namespace cr
