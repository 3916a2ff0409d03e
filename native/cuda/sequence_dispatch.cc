// The CUDA dispatch of the sequence ops whose kernels live in
// native/cuda/{attention,selective_scan,causal_conv1d}.cu. Kept apart from
// ops.cc so that the build without those kernels links: this file is listed
// in native/sources.json's cuda group together with them, and registers its
// ops from a static initialiser (registerSequenceKernels below) — listing it
// is all it takes to enable them.
#include <vector>

#include "../ops/op_args.h"
#include "kernels.cuh"
#include "launch.h"
#include "runtime.h"

namespace cr::cuda {

namespace {

void runAttention(const OpCall& call) {
  cpu::AttentionArgs g = attentionArgs(call);
  OpScope scope;
  if (g.kvLengths != nullptr) {
    // The kernel trusts kvLengths to be in [0, Tk]: check a host copy first
    // (a few bytes; the op waits for its stream anyway).
    std::vector<int32_t> lengths(static_cast<size_t>(g.batch));
    CR_CUDA_CHECK(cudaMemcpyAsync(lengths.data(), g.kvLengths, lengths.size() * sizeof(int32_t), cudaMemcpyDeviceToHost,
                                  scope.stream()));
    CR_CUDA_CHECK(cudaStreamSynchronize(scope.stream()));
    for (int64_t b = 0; b < g.batch; ++b) {
      if (lengths[b] < 0 || lengths[b] > g.Tk) {
        throwRange(call.op(), ": kvLengths[", b, "] = ", lengths[b], " is outside [0, ", g.Tk, "]");
      }
    }
  }
  attention(g, scope.stream());
  scope.finish();
}

void runSelectiveScan(const OpCall& call) {
  const cpu::SelectiveScanArgs g = selectiveScanArgs(call);
  OpScope scope;
  selectiveScan(g, scope.stream());
  scope.finish();
}

void runCausalConv1d(const OpCall& call) {
  const cpu::CausalConv1dArgs g = causalConv1dArgs(call);
  OpScope scope;
  causalConv1d(g, scope.stream());
  scope.finish();
}

}  // namespace

void registerSequenceKernels() {
  registerOp("attention", runAttention);
  registerOp("selectiveScan", runSelectiveScan);
  registerOp("causalConv1d", runCausalConv1d);
}

namespace {
[[maybe_unused]] const bool registered = (registerSequenceKernels(), true);
}  // namespace

}  // namespace cr::cuda
