// blockScan: h_t = a · h_{t−1} + b_t with an n×n block per channel.
#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

cpu::BlockScanArgs blockScanArgs(const OpCall& call) {
  const TensorView& a = call.tensor("a");
  const TensorView& b = call.tensor("b");
  const TensorView& h = call.tensor("h");
  const TensorView& last = call.tensor("lastState");
  for (const auto* t : {&a, &b, &h, &last}) expectDType(call, "tensors", *t, {DType::F32});
  expectRank(call, "a", a, 3);
  expectRank(call, "b", b, 4);
  const int64_t C = a.shape[0], n = a.shape[1];
  if (n < 1 || n > 256) throwRange(call.op(), ": blocks must be n×n with 1 ≤ n ≤ 256, got n=", n);
  expectShape(call, "a", a, {C, n, n});
  const int64_t batch = b.shape[0], L = b.shape[1];
  expectShape(call, "b", b, {batch, L, C, n});
  expectShape(call, "h", h, {batch, L, C, n});
  expectShape(call, "lastState", last, {batch, C, n});
  cpu::BlockScanArgs g;
  g.batch = batch;
  g.L = L;
  g.channels = C;
  g.n = n;
  g.a = a.as<float>();
  g.b = b.as<float>();
  g.h = h.as<float>();
  g.lastState = last.as<float>();
  if (const TensorView* s = call.find("initialState")) {
    expectDType(call, "initialState", *s, {DType::F32});
    expectShape(call, "initialState", *s, {batch, C, n});
    g.initialState = s->as<float>();
  }
  return g;
}

void runBlockScan(const OpCall& call) { cpu::kernels().blockScan(blockScanArgs(call)); }

}  // namespace cr
