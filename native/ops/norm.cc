// rmsNorm / layerNorm over the last dimension (in groups of `groupSize`
// channels), with optional residual add and silu gate.
#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

cpu::NormArgs normArgs(const OpCall& call, bool rms) {
  const TensorView& x = call.tensor("x");
  const TensorView& y = call.tensor("y");
  expectDType(call, "x", x, {DType::F32});
  expectDType(call, "y", y, {DType::F32});
  expectRankAtLeast(call, "x", x, 1);
  const int64_t dim = x.dim(-1);
  if (y.size() != x.size() || y.dim(-1) != dim) throwRange(call.op(), ": y must have x's shape ", shapeString(x));
  cpu::NormArgs g;
  g.rows = x.size() / (dim > 0 ? dim : 1);
  g.dim = dim;
  g.x = x.as<float>();
  g.y = y.as<float>();
  g.rms = rms;
  g.eps = static_cast<float>(call.number("eps", 1e-5));
  g.groupSize = static_cast<int64_t>(call.number("groupSize", static_cast<double>(dim)));
  if (g.groupSize < 1 || dim % g.groupSize != 0) throwRange(call.op(), ": groupSize must divide ", dim, ", got ", g.groupSize);
  auto sameAsX = [&](const char* name) -> const float* {
    const TensorView* t = call.find(name);
    if (t == nullptr) return nullptr;
    expectDType(call, name, *t, {DType::F32});
    if (t->size() != x.size()) throwRange(call.op(), ": ", name, " must have x's shape ", shapeString(x), ", got ", shapeString(*t));
    return t->as<float>();
  };
  auto perChannel = [&](const char* name) -> const float* {
    const TensorView* t = call.find(name);
    if (t == nullptr) return nullptr;
    expectDType(call, name, *t, {DType::F32});
    expectShape(call, name, *t, {dim});
    return t->as<float>();
  };
  g.weight = perChannel("weight");
  g.bias = perChannel("bias");
  g.gate = sameAsX("gate");
  g.gateBefore = call.flag("gateBefore", false);
  g.residual = sameAsX("residual");
  const TensorView* residualOut = call.find("residualOut");
  if (residualOut != nullptr) {
    if (g.residual == nullptr) throwRange(call.op(), ": residualOut needs residual");
    g.residualOut = const_cast<float*>(sameAsX("residualOut"));
  }
  return g;
}

void runRmsNorm(const OpCall& call) { cpu::kernels().norm(normArgs(call, true)); }
void runLayerNorm(const OpCall& call) { cpu::kernels().norm(normArgs(call, false)); }

}  // namespace cr
