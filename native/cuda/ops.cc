// The CUDA op table. An op here runs when every tensor of the call lives on
// the device (native/napi/addon.cc dispatches): it builds the same checked
// Args as the CPU op (native/ops/op_args.h) — with device pointers — and
// launches on the calling thread's stream, which it waits for before it
// returns (on an executor thread for the async forms, so the JS thread never
// waits on the GPU).
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "../ops/op_args.h"
#include "kernels.cuh"
#include "launch.h"
#include "runtime.h"

namespace cr::cuda {

namespace {

void runMatmul(const OpCall& call) {
  const cpu::GemmArgs g = matmulArgs(call);
  OpScope scope;
  gemm(g, scope.stream());
  scope.finish();
}

void runLinear(const OpCall& call) {
  const cpu::GemmArgs g = linearArgs(call);
  OpScope scope;
  gemm(g, scope.stream());
  scope.finish();
}

// One launch per product: fine for the few large products of a layer; many
// tiny ones would want a batched kernel.
void runBmm(const OpCall& call) {
  const cpu::BatchedGemmArgs g = bmmArgs(call);
  const size_t bBytes = dtypeSize(g.gemm.bType);
  OpScope scope;
  for (int64_t i = 0; i < g.batch; ++i) {
    cpu::GemmArgs one = g.gemm;
    one.A = g.gemm.A + i * g.strideA;
    one.B = static_cast<const char*>(g.gemm.B) + static_cast<size_t>(i * g.strideB) * bBytes;
    one.C = g.gemm.C + i * g.strideC;
    gemm(one, scope.stream());
  }
  scope.finish();
}

struct Registry {
  std::mutex mutex;
  std::vector<std::pair<std::string, OpFn>> ops{{"matmul", runMatmul}, {"linear", runLinear}, {"bmm", runBmm}};
};

// Function-local so that registrations from other files' static initialisers
// find it constructed.
Registry& registry() {
  static Registry* instance = new Registry();
  return *instance;
}

}  // namespace

OpFn findOp(const std::string& name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (const auto& [opName, run] : r.ops) {
    if (opName == name) return run;
  }
  return nullptr;
}

std::vector<std::string> opNames() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> out;
  for (const auto& entry : r.ops) out.push_back(entry.first);
  return out;
}

void registerOp(const char* name, OpFn run) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (auto& entry : r.ops) {
    if (entry.first == name) {
      entry.second = run;
      return;
    }
  }
  r.ops.emplace_back(name, run);
}

}  // namespace cr::cuda
