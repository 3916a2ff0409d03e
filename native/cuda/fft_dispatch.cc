// The CUDA dispatch of the FFT-convolution family (kernels in native/cuda/fft_conv.cu and
// ssm_kernel.cu). Registered from a static initialiser, like sequence_dispatch.cc, so that
// listing these files in native/sources.json's cuda group is all it takes to enable the ops.
#include <cmath>
#include <vector>

#include "../ops/op_args.h"
#include "fft.cuh"
#include "launch.h"
#include "runtime.h"

namespace cr::cuda {

namespace {

void runFftConv(const OpCall& call) {
  const cpu::FftConvArgs g = fftConvArgs(call);
  OpScope scope;
  fftConv(g, scope.stream());
  scope.finish();
}

void runSsmKernel(const OpCall& call) {
  const cpu::SsmKernelArgs g = ssmKernelArgs(call);
  OpScope scope;
  // The TypeScript wrapper checks these values only for host tensors: check a host copy of A
  // and delta (small: [c, n, 2] and [c]) with its messages, so a device call fails the same way.
  std::vector<float> A(static_cast<size_t>(g.channels * g.dState * 2));
  std::vector<float> delta(static_cast<size_t>(g.channels));
  if (!A.empty()) {
    CR_CUDA_CHECK(cudaMemcpyAsync(A.data(), g.A, A.size() * sizeof(float), cudaMemcpyDeviceToHost, scope.stream()));
  }
  if (!delta.empty()) {
    CR_CUDA_CHECK(cudaMemcpyAsync(delta.data(), g.delta, delta.size() * sizeof(float), cudaMemcpyDeviceToHost, scope.stream()));
  }
  CR_CUDA_CHECK(cudaStreamSynchronize(scope.stream()));
  for (int64_t i = 0; i < g.channels * g.dState; ++i) {
    if (A[static_cast<size_t>(2 * i)] > 0) {
      throwRange(call.op(), ": A must have real parts ≤ 0 (a stable SSM), got Re A[", i / g.dState, ", ", i % g.dState,
                 "] = ", A[static_cast<size_t>(2 * i)]);
    }
  }
  for (int64_t i = 0; i < g.channels; ++i) {
    const float d = delta[static_cast<size_t>(i)];
    if (!(d > 0) || !std::isfinite(d)) {
      throwRange(call.op(), ": delta must be finite and > 0 (a step size, not its log), got delta[", i, "] = ", d);
    }
  }
  ssmKernel(g, scope.stream());
  scope.finish();
}

}  // namespace

void registerFftKernels() {
  registerOp("fftConv", runFftConv);
  registerOp("ssmKernel", runSsmKernel);
}

namespace {
[[maybe_unused]] const bool registered = (registerFftKernels(), true);
}  // namespace

}  // namespace cr::cuda
