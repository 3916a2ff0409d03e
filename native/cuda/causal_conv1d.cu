// Depthwise causal convolution on the GPU, the math of native/cpu/causal_conv1d.cc:
//   y[b, t, c] = act(bias[c] + Σ_j weight[c, j] · in(b, t − (w − 1) + j, c)),
//   in(b, τ, c) = x[b, τ, c] for τ ≥ 0, initialState[b, c, (w − 1) + τ] for τ < 0 (zeros without one),
// and finalState[b, c, k] = in(b, L − (w − 1) + k, c): the last w − 1 inputs.
// One thread per (b, t, c) with c fastest: the tensors are token-major, so a warp reads
// 32 consecutive channels of one time step (coalesced); the width is small, so each
// thread's w loads hit the same lines as its neighbours' in L1.
#include "check.h"
#include "kernels.cuh"

namespace cr::cuda {
namespace {

__device__ inline float inputAt(const cpu::CausalConv1dArgs& a, int64_t b, int64_t tau, int64_t c) {
  if (tau >= 0) return a.x[(b * a.L + tau) * a.channels + c];
  if (a.initialState == nullptr) return 0.0f;
  return a.initialState[(b * a.channels + c) * (a.width - 1) + (a.width - 1) + tau];
}

__global__ void convKernel(cpu::CausalConv1dArgs a) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t b = blockIdx.z;
  if (c >= a.channels) return;
  const float* w = a.weight + c * a.width;
  const float bias = a.bias ? a.bias[c] : 0.0f;
  for (int64_t t = blockIdx.y; t < a.L; t += gridDim.y) {
    float acc = bias;
    for (int64_t j = 0; j < a.width; ++j) acc = fmaf(w[j], inputAt(a, b, t - (a.width - 1) + j, c), acc);
    if (a.silu) acc = acc / (1.0f + expf(-acc));
    a.y[(b * a.L + t) * a.channels + c] = acc;
  }
}

__global__ void finalStateKernel(cpu::CausalConv1dArgs a) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t keep = a.width - 1;
  if (i >= a.batch * a.channels * keep) return;
  const int64_t k = i % keep;
  const int64_t c = (i / keep) % a.channels;
  const int64_t b = i / (keep * a.channels);
  a.finalState[i] = inputAt(a, b, a.L - keep + k, c);
}

}  // namespace

void causalConv1d(const cpu::CausalConv1dArgs& a, cudaStream_t stream) {
  if (a.batch == 0 || a.channels == 0) return;
  if (a.batch > 65535) throwRange("causalConv1d: the CUDA kernel takes at most 65535 batch rows, got ", a.batch);
  const int threads = 128;
  if (a.L > 0) {
    const dim3 grid(static_cast<unsigned>((a.channels + threads - 1) / threads), static_cast<unsigned>(a.L < 65535 ? a.L : 65535),
                    static_cast<unsigned>(a.batch));
    convKernel<<<grid, threads, 0, stream>>>(a);
  }
  if (a.finalState != nullptr && a.width > 1) {
    const int64_t n = a.batch * a.channels * (a.width - 1);
    finalStateKernel<<<static_cast<unsigned>((n + threads - 1) / threads), threads, 0, stream>>>(a);
  }
}

}  // namespace cr::cuda
