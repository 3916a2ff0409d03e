// causalConv1d: depthwise causal conv of x [batch, L, c] with weight [c, w],
// optional bias [c], state [batch, c, w − 1] in and out, optional silu.
#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

cpu::CausalConv1dArgs causalConv1dArgs(const OpCall& call) {
  const TensorView& x = call.tensor("x");
  const TensorView& weight = call.tensor("weight");
  const TensorView& y = call.tensor("y");
  const TensorView* bias = call.find("bias");
  const TensorView* initialState = call.find("initialState");
  const TensorView* finalState = call.find("finalState");
  expectDType(call, "x", x, {DType::F32});
  expectDType(call, "weight", weight, {DType::F32});
  expectDType(call, "y", y, {DType::F32});
  expectRank(call, "x", x, 3);
  expectRank(call, "weight", weight, 2);
  const int64_t batch = x.shape[0], L = x.shape[1], c = x.shape[2], width = weight.shape[1];
  if (batch < 1 || L < 1 || c < 1) throwRange(call.op(), ": x must have no empty dimension, got ", shapeString(x));
  if (width < 1) throwRange(call.op(), ": weight must have width w ≥ 1, got shape ", shapeString(weight));
  expectShape(call, "weight", weight, {c, width});
  expectShape(call, "y", y, {batch, L, c});
  if (bias) {
    expectDType(call, "bias", *bias, {DType::F32});
    expectShape(call, "bias", *bias, {c});
  }
  if (initialState) {
    expectDType(call, "initialState", *initialState, {DType::F32});
    expectShape(call, "initialState", *initialState, {batch, c, width - 1});
  }
  if (finalState) {
    expectDType(call, "finalState", *finalState, {DType::F32});
    expectShape(call, "finalState", *finalState, {batch, c, width - 1});
  }
  const std::string activation = call.text("activation", "none");
  if (activation != "none" && activation != "silu") {
    throwRange(call.op(), ": activation must be 'silu' or 'none', got '", activation, "'");
  }
  cpu::CausalConv1dArgs g;
  g.batch = batch;
  g.L = L;
  g.channels = c;
  g.width = width;
  g.x = x.as<float>();
  g.weight = weight.as<float>();
  g.bias = bias ? bias->as<float>() : nullptr;
  g.initialState = initialState && width > 1 ? initialState->as<float>() : nullptr;
  g.silu = activation == "silu";
  g.y = y.as<float>();
  g.finalState = finalState && width > 1 ? finalState->as<float>() : nullptr;
  return g;
}

void runCausalConv1d(const OpCall& call) { cpu::kernels().causalConv1d(causalConv1dArgs(call)); }

}  // namespace cr
