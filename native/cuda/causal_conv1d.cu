// Depthwise causal convolution on the GPU, the math of native/cpu/causal_conv1d.cc:
//   y[b, t, c] = act(bias[c] + Σ_j weight[c, j] · in(b, t − (w − 1) + j, c)),
//   in(b, τ, c) = x[b, τ, c] for τ ≥ 0, initialState[b, c, (w − 1) + τ] for τ < 0 (zeros without one),
// and finalState[b, c, k] = in(b, L − (w − 1) + k, c): the last w − 1 inputs.
// Parallel decomposition: the tensors are token-major, so threads run across channels (a warp
// reads and writes 32 consecutive channels of one time step: coalesced). For widths up to
// kMaxFast (Mamba uses 4) a thread owns one channel over a run of kSteps time steps: its w
// weights and the last w − 1 inputs live in registers (a sliding window, the width a template
// parameter so it unrolls), so every input is read from memory once per run plus w − 1 halo
// reads. Wider kernels take one thread per (b, t, c), the w reads served by L1.
// finalState is a separate small kernel (one thread per entry).
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

constexpr int kMaxFast = 8;
constexpr int64_t kSteps = 32;

template <int W>
__global__ void convRunKernel(cpu::CausalConv1dArgs a) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t b = blockIdx.z;
  if (c >= a.channels) return;
  float w[W];
#pragma unroll
  for (int j = 0; j < W; ++j) w[j] = a.weight[c * W + j];
  const float bias = a.bias ? a.bias[c] : 0.0f;
  for (int64_t t0 = static_cast<int64_t>(blockIdx.y) * kSteps; t0 < a.L; t0 += static_cast<int64_t>(gridDim.y) * kSteps) {
    const int64_t t1 = t0 + kSteps < a.L ? t0 + kSteps : a.L;
    float win[W];  // win[j] = in(t − (W − 1) + j) for the current t; win[W − 1] is loaded each step
#pragma unroll
    for (int j = 0; j < W - 1; ++j) win[j] = inputAt(a, b, t0 - (W - 1) + j, c);
    for (int64_t t = t0; t < t1; ++t) {
      win[W - 1] = a.x[(b * a.L + t) * a.channels + c];
      float acc = bias;
#pragma unroll
      for (int j = 0; j < W; ++j) acc = fmaf(w[j], win[j], acc);
      if (a.silu) acc = acc / (1.0f + expf(-acc));
      a.y[(b * a.L + t) * a.channels + c] = acc;
#pragma unroll
      for (int j = 0; j < W - 1; ++j) win[j] = win[j + 1];
    }
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
  if (a.L > 0 && a.width >= 1 && a.width <= kMaxFast) {
    const int64_t runs = (a.L + kSteps - 1) / kSteps;
    const dim3 grid(static_cast<unsigned>((a.channels + threads - 1) / threads), static_cast<unsigned>(runs < 65535 ? runs : 65535),
                    static_cast<unsigned>(a.batch));
    switch (a.width) {
      case 1: convRunKernel<1><<<grid, threads, 0, stream>>>(a); break;
      case 2: convRunKernel<2><<<grid, threads, 0, stream>>>(a); break;
      case 3: convRunKernel<3><<<grid, threads, 0, stream>>>(a); break;
      case 4: convRunKernel<4><<<grid, threads, 0, stream>>>(a); break;
      case 5: convRunKernel<5><<<grid, threads, 0, stream>>>(a); break;
      case 6: convRunKernel<6><<<grid, threads, 0, stream>>>(a); break;
      case 7: convRunKernel<7><<<grid, threads, 0, stream>>>(a); break;
      default: convRunKernel<8><<<grid, threads, 0, stream>>>(a); break;
    }
  } else if (a.L > 0) {
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
