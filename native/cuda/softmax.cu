// Softmax / log-softmax over the last dimension on the GPU, the math of native/cpu/softmax.cc:
//   m = max_i s·x_i (0 when it is not finite: a row of −inf), e_i = exp(s·x_i − m), Z = Σ e_i,
//   softmax: y_i = e_i / Z;   log-softmax: y_i = s·x_i − (m + log Z).
// Parallel decomposition: one team per row (row_reduce.cuh): a warp for rows of up to 1024
// elements, a 512-thread block above; three passes over the row (max, sum of exponentials
// stored into y, scale), the second and third reading what the same thread wrote or read
// (L1/L2 hits). float4 loads/stores when the row length is a multiple of 4 and rows aligned.
#include <cstdint>

#include "check.h"
#include "row_reduce.cuh"
#include "small_ops.cuh"

namespace cr::cuda {
namespace {

using rows::Pack;

template <int TEAM, int W>
__global__ void softmaxKernel(cpu::SoftmaxArgs g) {
  __shared__ float scratch[TEAM > 32 ? TEAM / 32 : 1];
  const int teamsPerBlock = blockDim.x / TEAM;
  const int member = threadIdx.x % TEAM;
  const int64_t n = g.dim / W;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * teamsPerBlock + threadIdx.x / TEAM; r < g.rows;
       r += static_cast<int64_t>(gridDim.x) * teamsPerBlock) {
    const float* x = g.x + r * g.dim;
    float* y = g.y + r * g.dim;
    float m = -INFINITY;
    for (int64_t q = member; q < n; q += TEAM) {
      const Pack<W> v = rows::load<W>(x + q * W);
#pragma unroll
      for (int l = 0; l < W; ++l) m = fmaxf(m, v.v[l] * g.scale);
    }
    const float rowMax = rows::teamReduce<TEAM, rows::Max>(m, scratch);
    const float shift = fabsf(rowMax) < INFINITY ? rowMax : 0.0f;  // not finite (−inf or NaN): 0, as the CPU does
    float s = 0.0f;
    for (int64_t q = member; q < n; q += TEAM) {
      Pack<W> v = rows::load<W>(x + q * W);
#pragma unroll
      for (int l = 0; l < W; ++l) {
        v.v[l] = expf(v.v[l] * g.scale - shift);
        s += v.v[l];
      }
      if (!g.log) rows::store<W>(y + q * W, v);
    }
    const float total = rows::teamReduce<TEAM, rows::Sum>(s, scratch);
    if (g.log) {
      const float sub = shift + logf(total);
      for (int64_t q = member; q < n; q += TEAM) {
        Pack<W> v = rows::load<W>(x + q * W);
#pragma unroll
        for (int l = 0; l < W; ++l) v.v[l] = v.v[l] * g.scale - sub;
        rows::store<W>(y + q * W, v);
      }
    } else {
      const float inv = 1.0f / total;
      for (int64_t q = member; q < n; q += TEAM) {
        Pack<W> v = rows::load<W>(y + q * W);
#pragma unroll
        for (int l = 0; l < W; ++l) v.v[l] *= inv;
        rows::store<W>(y + q * W, v);
      }
    }
  }
}

template <int W>
void launchSoftmax(const cpu::SoftmaxArgs& g, cudaStream_t stream) {
  constexpr int64_t kMaxBlocks = 65535 * 16;
  if (g.dim <= 1024) {
    const int64_t blocks = (g.rows + 7) / 8;
    softmaxKernel<32, W><<<static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks), 256, 0, stream>>>(g);
  } else {
    softmaxKernel<512, W><<<static_cast<unsigned>(g.rows < kMaxBlocks ? g.rows : kMaxBlocks), 512, 0, stream>>>(g);
  }
}

}  // namespace

void softmax(const cpu::SoftmaxArgs& g, cudaStream_t stream) {
  if (g.rows == 0 || g.dim == 0) return;
  if (g.dim % 4 == 0 && rows::aligned16(g.x) && rows::aligned16(g.y)) launchSoftmax<4>(g, stream);
  else launchSoftmax<1>(g, stream);
}

}  // namespace cr::cuda
