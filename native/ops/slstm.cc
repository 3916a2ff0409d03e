// slstm: xLSTM's sLSTM recurrence over a sequence.
#include "../cpu/kernels.h"
#include "ops.h"

namespace cr {

void runSlstm(const OpCall& call) {
  const TensorView& gates = call.tensor("gates");
  const TensorView& recurrent = call.tensor("recurrent");
  const TensorView& y = call.tensor("y");
  expectDType(call, "gates", gates, {DType::F32});
  expectDType(call, "recurrent", recurrent, {DType::F32});
  expectDType(call, "y", y, {DType::F32});
  expectRank(call, "gates", gates, 5);
  expectRank(call, "recurrent", recurrent, 4);
  const int64_t batch = gates.shape[0], L = gates.shape[1], H = gates.shape[3], dh = gates.shape[4];
  expectShape(call, "gates", gates, {batch, L, 4, H, dh});
  expectShape(call, "recurrent", recurrent, {H, dh, 4, dh});
  expectShape(call, "y", y, {batch, L, H * dh});
  cpu::SlstmArgs g;
  g.batch = batch;
  g.L = L;
  g.heads = H;
  g.headDim = dh;
  g.gates = gates.as<float>();
  g.recurrent = recurrent.as<float>();
  g.y = y.as<float>();
  if (const TensorView* b = call.find("bias")) {
    expectDType(call, "bias", *b, {DType::F32});
    expectShape(call, "bias", *b, {H, 4, dh});
    g.bias = b->as<float>();
  }
  const char* inNames[4] = {"initialY", "initialC", "initialN", "initialM"};
  const char* outNames[4] = {"lastY", "lastC", "lastN", "lastM"};
  for (int s = 0; s < 4; ++s) {
    if (const TensorView* t = call.find(inNames[s])) {
      expectDType(call, inNames[s], *t, {DType::F32});
      expectShape(call, inNames[s], *t, {batch, H * dh});
      g.initial[s] = t->as<float>();
    }
    if (const TensorView* t = call.find(outNames[s])) {
      expectDType(call, outNames[s], *t, {DType::F32});
      expectShape(call, outNames[s], *t, {batch, H * dh});
      g.last[s] = t->as<float>();
    }
  }
  cpu::kernels().slstm(g);
}

}  // namespace cr
