// moe: sparse mixture-of-experts feed-forward (Mixtral / Jamba).
#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

cpu::MoeArgs moeArgs(const OpCall& call) {
  const TensorView& x = call.tensor("x");
  const TensorView& router = call.tensor("router");
  const TensorView& gate = call.tensor("gate");
  const TensorView& up = call.tensor("up");
  const TensorView& down = call.tensor("down");
  const TensorView& y = call.tensor("y");
  expectDType(call, "x", x, {DType::F32});
  expectDType(call, "y", y, {DType::F32});
  expectDType(call, "router", router, {DType::F32, DType::BF16, DType::F16});
  expectDType(call, "gate", gate, {DType::F32, DType::BF16, DType::F16});
  if (up.dtype != gate.dtype || down.dtype != gate.dtype) throwType(call.op(), ": gate, up and down must share a dtype");
  expectRankAtLeast(call, "x", x, 1);
  expectRank(call, "router", router, 2);
  expectRank(call, "gate", gate, 3);
  const int64_t D = x.dim(-1), E = router.shape[0], F = gate.shape[1];
  expectShape(call, "router", router, {E, D});
  expectShape(call, "gate", gate, {E, F, D});
  expectShape(call, "up", up, {E, F, D});
  expectShape(call, "down", down, {E, D, F});
  if (y.size() != x.size()) throwRange(call.op(), ": y must have x's shape");
  const int64_t K = static_cast<int64_t>(call.number("topK", 2));
  if (K < 1 || K > E) throwRange(call.op(), ": topK must be in [1, ", E, "], got ", K);
  cpu::MoeArgs g;
  g.tokens = x.size() / D;
  g.dModel = D;
  g.ffn = F;
  g.experts = E;
  g.topK = K;
  g.x = x.as<float>();
  g.router = router.data;
  g.routerType = router.dtype;
  g.gate = gate.data;
  g.up = up.data;
  g.down = down.data;
  g.weightType = gate.dtype;
  g.normalize = call.flag("normalize", false);
  g.y = y.as<float>();
  if (const TensorView* chosen = call.find("chosen")) {
    expectDType(call, "chosen", *chosen, {DType::I32});
    if (chosen->size() != g.tokens * K) throwRange(call.op(), ": chosen must have shape [..., topK]");
    g.chosen = chosen->as<int32_t>();
  }
  return g;
}

void runMoe(const OpCall& call) { cpu::kernels().moe(moeArgs(call)); }

}  // namespace cr
