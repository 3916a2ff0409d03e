// selectiveScan: Mamba-1's fused selective scan (kernel in native/cpu/selective_scan.cc).
// TypeScript validated everything already; this re-checks every shape the
// kernel's reads and writes depend on, so no call can reach out of bounds.
#include <utility>

#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

cpu::SelectiveScanArgs selectiveScanArgs(const OpCall& call) {
  const TensorView& u = call.tensor("u");
  const TensorView& delta = call.tensor("delta");
  const TensorView& A = call.tensor("A");
  const TensorView& B = call.tensor("B");
  const TensorView& C = call.tensor("C");
  const TensorView& y = call.tensor("y");
  for (const auto& [name, t] : {std::pair<const char*, const TensorView*>{"u", &u}, {"delta", &delta}, {"A", &A},
                                {"B", &B}, {"C", &C}, {"y", &y}}) {
    expectDType(call, name, *t, {DType::F32});
  }
  expectRank(call, "u", u, 3);
  expectRank(call, "A", A, 2);
  expectRank(call, "B", B, 4);
  const int64_t batch = u.shape[0], L = u.shape[1], d = u.shape[2];
  const int64_t n = A.shape[1];
  const int64_t groups = B.shape[2];
  if (batch < 1 || L < 1 || d < 1 || n < 1 || groups < 1) {
    throwRange(call.op(), ": every dimension must be ≥ 1, got u ", shapeString(u), ", A ", shapeString(A), ", B ",
               shapeString(B));
  }
  if (d % groups != 0) throwRange(call.op(), ": the group count ", groups, " of B must divide d = ", d);
  expectShape(call, "delta", delta, {batch, L, d});
  expectShape(call, "A", A, {d, n});
  expectShape(call, "B", B, {batch, L, groups, n});
  expectShape(call, "C", C, {batch, L, groups, n});
  expectShape(call, "y", y, {batch, L, d});

  auto optional = [&](const char* name, std::initializer_list<int64_t> shape) -> const TensorView* {
    const TensorView* t = call.find(name);
    if (t != nullptr) {
      expectDType(call, name, *t, {DType::F32});
      expectShape(call, name, *t, shape);
    }
    return t;
  };
  const TensorView* z = optional("z", {batch, L, d});
  const TensorView* D = optional("D", {d});
  const TensorView* deltaBias = optional("deltaBias", {d});
  const TensorView* initialState = optional("initialState", {batch, d, n});
  const TensorView* lastState = optional("lastState", {batch, d, n});

  cpu::SelectiveScanArgs g;
  g.batch = batch;
  g.L = L;
  g.d = d;
  g.n = n;
  g.groups = groups;
  g.u = u.as<float>();
  g.delta = delta.as<float>();
  g.A = A.as<float>();
  g.B = B.as<float>();
  g.C = C.as<float>();
  g.D = D ? D->as<float>() : nullptr;
  g.z = z ? z->as<float>() : nullptr;
  g.deltaBias = deltaBias ? deltaBias->as<float>() : nullptr;
  g.initialState = initialState ? initialState->as<float>() : nullptr;
  g.deltaSoftplus = call.flag("deltaSoftplus", false);
  g.y = y.as<float>();
  g.lastState = lastState ? lastState->as<float>() : nullptr;
  return g;
}

void runSelectiveScan(const OpCall& call) { cpu::kernels().selectiveScan(selectiveScanArgs(call)); }

}  // namespace cr
