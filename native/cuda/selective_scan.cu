// The fused Mamba-1 selective scan on the GPU, the math of native/cpu/selective_scan.cc
// (selective_scan_ref): per (batch b, channel c) and state s < n,
//   Δ_t = softplus(delta[b,t,c] + deltaBias[c])  (without deltaSoftplus: the sum as is)
//   h_t[s] = exp(Δ_t·A[c,s])·h_{t−1}[s] + Δ_t·B[b,t,g,s]·u[b,t,c],   g = c / (d / groups)
//   y[b,t,c] = Σ_s C[b,t,g,s]·h_t[s] + D[c]·u[b,t,c],  times silu(z[b,t,c]) when z is given.
// One warp per (b, c): the n states are spread over the lanes (state s on lane s mod 32, up to
// kMaxStates), kept in registers for the whole sequence, so h never touches memory; each step's
// y is one warp reduction. The warp walks the sequence once; B and C rows of a step are n
// consecutive floats (coalesced across lanes), u, Δ and z are one broadcast load each. Parallelism
// is batch × d warps (Mamba's d_inner is 1536–5120 per layer), which fills a GPU at batch 1.
#include "check.h"
#include "kernels.cuh"

namespace cr::cuda {
namespace {

constexpr int kLanes = 32;
constexpr int kPerLane = 8;
constexpr int64_t kMaxStates = kLanes * kPerLane;  // 256

__device__ inline float softplusf(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

__global__ void scanKernel(cpu::SelectiveScanArgs a) {
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kLanes;
  const int lane = static_cast<int>(threadIdx.x % kLanes);
  if (warp >= a.batch * a.d) return;  // uniform across the warp
  const int64_t b = warp / a.d;
  const int64_t c = warp % a.d;
  const int64_t n = a.n;
  const int64_t g = c / (a.d / a.groups);
  float h[kPerLane];
  float A[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int64_t s = lane + static_cast<int64_t>(i) * kLanes;
    A[i] = s < n ? a.A[c * n + s] : 0.0f;
    h[i] = s < n && a.initialState ? a.initialState[(b * a.d + c) * n + s] : 0.0f;
  }
  const float bias = a.deltaBias ? a.deltaBias[c] : 0.0f;
  const float skip = a.D ? a.D[c] : 0.0f;
  for (int64_t t = 0; t < a.L; ++t) {
    const int64_t row = b * a.L + t;
    const float u = a.u[row * a.d + c];
    float dt = a.delta[row * a.d + c] + bias;
    if (a.deltaSoftplus) dt = softplusf(dt);
    const float* Bt = a.B + (row * a.groups + g) * n;
    const float* Ct = a.C + (row * a.groups + g) * n;
    const float dtu = dt * u;
    float acc = 0.0f;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int64_t s = lane + static_cast<int64_t>(i) * kLanes;
      if (s < n) {
        h[i] = fmaf(expf(dt * A[i]), h[i], dtu * Bt[s]);
        acc = fmaf(Ct[s], h[i], acc);
      }
    }
#pragma unroll
    for (int offset = kLanes / 2; offset > 0; offset /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, offset);
    if (lane == 0) {
      float y = fmaf(skip, u, acc);
      if (a.z) {
        const float z = a.z[row * a.d + c];
        y *= z / (1.0f + expf(-z));
      }
      a.y[row * a.d + c] = y;
    }
  }
  if (a.lastState) {
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int64_t s = lane + static_cast<int64_t>(i) * kLanes;
      if (s < n) a.lastState[(b * a.d + c) * n + s] = h[i];
    }
  }
}

}  // namespace

void selectiveScan(const cpu::SelectiveScanArgs& a, cudaStream_t stream) {
  if (a.n > kMaxStates) throwRange("selectiveScan: the CUDA kernel keeps up to ", kMaxStates, " states per channel in registers, got n = ", a.n);
  if (a.groups < 1 || a.d % a.groups != 0) throwRange("selectiveScan: groups (", a.groups, ") must divide d (", a.d, ")");
  const int64_t warps = a.batch * a.d;
  if (warps == 0) return;
  const int threads = 128;  // 4 warps per block
  const int64_t blocks = (warps * kLanes + threads - 1) / threads;
  scanKernel<<<static_cast<unsigned>(blocks), threads, 0, stream>>>(a);
}

}  // namespace cr::cuda
