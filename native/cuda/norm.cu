// RMSNorm / LayerNorm on the GPU, the math of native/cpu/norm.cc: per group of `groupSize`
// channels of a row, with v = (x + residual) (· silu(gate) when gateBefore),
//   rms:   y = v · rsqrt(mean(v²) + eps) · w (+ b) (· silu(gate) when gate and not gateBefore)
//   layer: y = (v − mean) · rsqrt(mean((v − mean)²) + eps) · w (+ b) (· silu(gate) …),
// residualOut = x + residual when asked for. The variance is taken about the mean in a second
// pass (as the CPU kernel does) so a large mean does not swallow it.
// Parallel decomposition: one team per (row, group): a warp for groups of up to 1024 channels
// (8 teams per 256-thread block), a 512-thread block above that; team reductions by warp
// shuffles (row_reduce.cuh). When v differs from x it is formed once into y and re-read from
// there (the same thread reads back what it wrote: no synchronisation needed); the re-reads hit
// L1/L2. float4 loads/stores when the group size is a multiple of 4 and the rows are aligned.
#include <cstdint>

#include "check.h"
#include "row_reduce.cuh"
#include "small_ops.cuh"

namespace cr::cuda {
namespace {

using rows::Pack;

__device__ __forceinline__ float silu(float x) { return x / (1.0f + expf(-x)); }

template <int TEAM, int W>
__global__ void normKernel(cpu::NormArgs g, int64_t groupSize, int64_t units) {
  __shared__ float scratch[TEAM > 32 ? TEAM / 32 : 1];
  const int teamsPerBlock = blockDim.x / TEAM;
  const int member = threadIdx.x % TEAM;
  const int64_t groupsPerRow = g.dim / groupSize;
  const int64_t n = groupSize / W;  // packs in the group
  const bool formed = g.residual != nullptr || (g.gate != nullptr && g.gateBefore);
  for (int64_t unit = static_cast<int64_t>(blockIdx.x) * teamsPerBlock + threadIdx.x / TEAM; unit < units;
       unit += static_cast<int64_t>(gridDim.x) * teamsPerBlock) {
    const int64_t r = unit / groupsPerRow;
    const int64_t c0 = (unit % groupsPerRow) * groupSize;
    const int64_t base = r * g.dim + c0;
    const float* in = g.x + base;
    float* y = g.y + base;
    if (formed) {
      for (int64_t q = member; q < n; q += TEAM) {
        Pack<W> v = rows::load<W>(g.x + base + q * W);
        if (g.residual) {
          const Pack<W> res = rows::load<W>(g.residual + base + q * W);
#pragma unroll
          for (int l = 0; l < W; ++l) v.v[l] += res.v[l];
          if (g.residualOut) rows::store<W>(g.residualOut + base + q * W, v);
        }
        if (g.gate && g.gateBefore) {
          const Pack<W> gt = rows::load<W>(g.gate + base + q * W);
#pragma unroll
          for (int l = 0; l < W; ++l) v.v[l] *= silu(gt.v[l]);
        }
        rows::store<W>(y + q * W, v);
      }
      in = y;
    }
    float center = 0.0f;
    if (!g.rms) {
      float s = 0.0f;
      for (int64_t q = member; q < n; q += TEAM) {
        const Pack<W> v = rows::load<W>(in + q * W);
#pragma unroll
        for (int l = 0; l < W; ++l) s += v.v[l];
      }
      center = rows::teamReduce<TEAM, rows::Sum>(s, scratch) / static_cast<float>(groupSize);
    }
    float ss = 0.0f;
    for (int64_t q = member; q < n; q += TEAM) {
      const Pack<W> v = rows::load<W>(in + q * W);
#pragma unroll
      for (int l = 0; l < W; ++l) ss = fmaf(v.v[l] - center, v.v[l] - center, ss);
    }
    const float meanSquare = rows::teamReduce<TEAM, rows::Sum>(ss, scratch) / static_cast<float>(groupSize);
    const float scale = 1.0f / sqrtf(meanSquare + g.eps);
    const bool gateAfter = g.gate != nullptr && !g.gateBefore;
    for (int64_t q = member; q < n; q += TEAM) {
      Pack<W> v = rows::load<W>(in + q * W);
#pragma unroll
      for (int l = 0; l < W; ++l) v.v[l] = (v.v[l] - center) * scale;
      if (g.weight) {
        const Pack<W> w = rows::load<W>(g.weight + c0 + q * W);
#pragma unroll
        for (int l = 0; l < W; ++l) v.v[l] *= w.v[l];
      }
      if (g.bias) {
        const Pack<W> b = rows::load<W>(g.bias + c0 + q * W);
#pragma unroll
        for (int l = 0; l < W; ++l) v.v[l] += b.v[l];
      }
      if (gateAfter) {
        const Pack<W> gt = rows::load<W>(g.gate + base + q * W);
#pragma unroll
        for (int l = 0; l < W; ++l) v.v[l] *= silu(gt.v[l]);
      }
      rows::store<W>(y + q * W, v);
    }
  }
}

template <int W>
void launchNorm(const cpu::NormArgs& g, int64_t groupSize, int64_t units, cudaStream_t stream) {
  constexpr int64_t kMaxBlocks = 65535 * 16;
  if (groupSize <= 1024) {
    const int64_t blocks = (units + 7) / 8;
    normKernel<32, W><<<static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks), 256, 0, stream>>>(g, groupSize, units);
  } else {
    normKernel<512, W><<<static_cast<unsigned>(units < kMaxBlocks ? units : kMaxBlocks), 512, 0, stream>>>(g, groupSize, units);
  }
}

}  // namespace

void norm(const cpu::NormArgs& g, cudaStream_t stream) {
  const int64_t groupSize = g.groupSize > 0 ? g.groupSize : g.dim;
  if (g.rows == 0 || g.dim == 0) return;
  const int64_t units = g.rows * (g.dim / groupSize);
  const bool vec = groupSize % 4 == 0 && rows::aligned16(g.x) && rows::aligned16(g.y) &&
                   (g.residual == nullptr || rows::aligned16(g.residual)) &&
                   (g.residualOut == nullptr || rows::aligned16(g.residualOut)) && (g.gate == nullptr || rows::aligned16(g.gate)) &&
                   (g.weight == nullptr || rows::aligned16(g.weight)) && (g.bias == nullptr || rows::aligned16(g.bias));
  if (vec) launchNorm<4>(g, groupSize, units, stream);
  else launchNorm<1>(g, groupSize, units, stream);
}

}  // namespace cr::cuda
