// diagonalScan: h_t = a_t ⊙ h_{t−1} + b_t over a, b [batch, L, c] (complex:
// [batch, L, c, 2]), from initialState [batch, c(, 2)] or zeros.
#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

cpu::DiagonalScanArgs diagonalScanArgs(const OpCall& call) {
  const bool complex = call.flag("complex", false);
  const TensorView& a = call.tensor("a");
  const TensorView& b = call.tensor("b");
  const TensorView& h = call.tensor("h");
  const TensorView& lastState = call.tensor("lastState");
  const TensorView* initialState = call.find("initialState");
  for (const auto& [name, t] : {std::pair<const char*, const TensorView*>{"a", &a}, {"b", &b}, {"h", &h}, {"lastState", &lastState}}) {
    expectDType(call, name, *t, {DType::F32});
  }
  if (initialState) expectDType(call, "initialState", *initialState, {DType::F32});
  if (complex) {
    expectRank(call, "a", a, 4);
    if (a.shape[3] != 2) throwRange(call.op(), ": a must have shape [b, L, c, 2] when complex is true, got ", shapeString(a));
  } else {
    expectRank(call, "a", a, 3);
  }
  const int64_t batch = a.shape[0], L = a.shape[1], c = a.shape[2];
  if (batch < 1 || L < 1 || c < 1) throwRange(call.op(), ": a must have no empty dimension, got ", shapeString(a));
  if (complex) {
    expectShape(call, "b", b, {batch, L, c, 2});
    expectShape(call, "h", h, {batch, L, c, 2});
    expectShape(call, "lastState", lastState, {batch, c, 2});
    if (initialState) expectShape(call, "initialState", *initialState, {batch, c, 2});
  } else {
    expectShape(call, "b", b, {batch, L, c});
    expectShape(call, "h", h, {batch, L, c});
    expectShape(call, "lastState", lastState, {batch, c});
    if (initialState) expectShape(call, "initialState", *initialState, {batch, c});
  }
  cpu::DiagonalScanArgs g;
  g.batch = batch;
  g.L = L;
  g.channels = c;
  g.complex = complex;
  g.a = a.as<float>();
  g.b = b.as<float>();
  g.initialState = initialState ? initialState->as<float>() : nullptr;
  g.h = h.as<float>();
  g.lastState = lastState.as<float>();
  return g;
}

void runDiagonalScan(const OpCall& call) { cpu::kernels().diagonalScan(diagonalScanArgs(call)); }

}  // namespace cr
