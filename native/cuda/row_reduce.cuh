// Helpers for the row-wise kernels (norm.cu, softmax.cu): a "team" of TEAM
// threads owns one row (or group of channels) — a warp when rows are short,
// a whole block when they are long — and reduces over it with warp shuffles
// (plus one shared-memory step between the warps of a block-wide team).
// Loads and stores go W floats at a time: W = 4 (float4) when every row
// start is 16-byte aligned, else 1.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace cr::cuda::rows {

template <int W>
struct Pack {
  float v[W];
};

template <int W>
__device__ __forceinline__ Pack<W> load(const float* p) {
  Pack<W> r;
  if constexpr (W == 4) {
    const float4 q = *reinterpret_cast<const float4*>(p);
    r.v[0] = q.x; r.v[1] = q.y; r.v[2] = q.z; r.v[3] = q.w;
  } else {
#pragma unroll
    for (int l = 0; l < W; ++l) r.v[l] = p[l];
  }
  return r;
}

template <int W>
__device__ __forceinline__ void store(float* p, const Pack<W>& r) {
  if constexpr (W == 4) {
    *reinterpret_cast<float4*>(p) = make_float4(r.v[0], r.v[1], r.v[2], r.v[3]);
  } else {
#pragma unroll
    for (int l = 0; l < W; ++l) p[l] = r.v[l];
  }
}

struct Sum {
  __device__ static float apply(float a, float b) { return a + b; }
};
struct Max {
  __device__ static float apply(float a, float b) { return fmaxf(a, b); }
};

// Every thread of the team gets the reduction of the team's values. A
// block-wide team (TEAM > 32: TEAM == blockDim.x) uses `scratch`
// (TEAM / 32 floats of shared memory) and synchronises the block, so every
// thread of the block must call it the same number of times.
template <int TEAM, typename Op>
__device__ __forceinline__ float teamReduce(float v, float* scratch) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) v = Op::apply(v, __shfl_xor_sync(0xffffffffu, v, offset));
  if constexpr (TEAM > 32) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float r = scratch[0];
#pragma unroll
    for (int w = 1; w < TEAM / 32; ++w) r = Op::apply(r, scratch[w]);
    __syncthreads();  // scratch is reused by the next reduction
    return r;
  } else {
    return v;
  }
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

}  // namespace cr::cuda::rows
