// complexRnn: the unitary RNN recurrence with modReLU.
#include "../cpu/kernels.h"
#include "ops.h"

namespace cr {

void runComplexRnn(const OpCall& call) {
  const TensorView& u = call.tensor("u");
  const TensorView& w = call.tensor("weight");
  const TensorView& bias = call.tensor("bias");
  const TensorView& y = call.tensor("y");
  const TensorView& last = call.tensor("h");
  for (const auto* t : {&u, &w, &bias, &y, &last}) expectDType(call, "tensors", *t, {DType::F32});
  expectRank(call, "u", u, 4);
  const int64_t B = u.shape[0], L = u.shape[1], H = u.shape[2];
  expectShape(call, "u", u, {B, L, H, 2});
  expectShape(call, "weight", w, {H, H, 2});
  expectShape(call, "bias", bias, {H});
  expectShape(call, "y", y, {B, L, H, 2});
  expectShape(call, "h", last, {B, H, 2});
  cpu::ComplexRnnArgs g;
  g.batch = B;
  g.L = L;
  g.hidden = H;
  g.u = u.as<float>();
  g.weight = w.as<float>();
  g.bias = bias.as<float>();
  g.y = y.as<float>();
  g.last = last.as<float>();
  if (const TensorView* h0 = call.find("h0")) {
    expectDType(call, "h0", *h0, {DType::F32});
    expectShape(call, "h0", *h0, {B, H, 2});
    g.h0 = h0->as<float>();
  }
  cpu::kernels().complexRnn(g);
}

}  // namespace cr
