// Rotary position embeddings on the GPU, the math of native/cpu/rope.cc: for token (b, t) at
// position p = positions[b, t], or (rowOffsets[b] or offset) + t, scaled by positionScale,
// pair i of each head rotates by θ_i = p · base^(−2i/rotaryDim):
//   (a, c) → (a cos θ_i − c sin θ_i, a sin θ_i + c cos θ_i),
// the pair being channels (2i, 2i+1) when interleaved, else (i, i + rotaryDim/2); channels past
// rotaryDim pass through.
// Parallel decomposition: one block per token. Its threads first build the token's cos/sin
// table in shared memory — the angle and its sine/cosine in double, as the CPU kernel does, so
// long positions keep their accuracy; once per token, shared by every head — then sweep the
// token's heads × D outputs, one output per thread (coalesced reads of the two pair members).
// A table too large for shared memory (rotaryDim > 12288) is not built: each output then
// computes its own angle.
#include <cstdint>

#include "check.h"
#include "small_ops.cuh"

namespace cr::cuda {
namespace {

__device__ __forceinline__ void angleOf(const cpu::RopeArgs& g, double p, int64_t i, float* c, float* s) {
  const double angle = p * pow(g.base, -2.0 * static_cast<double>(i) / static_cast<double>(g.rotaryDim));
  double sd, cd;
  sincos(angle, &sd, &cd);
  *c = static_cast<float>(cd);
  *s = static_cast<float>(sd);
}

// kTable: the token's cos/sin table fits in shared memory (rotaryDim ≤ 12288, so always in
// practice); otherwise every output computes its own pair's angle.
template <bool kTable>
__global__ void ropeKernel(cpu::RopeArgs g) {
  extern __shared__ float table[];  // cos[pairs], sin[pairs]
  const int64_t pairs = g.rotaryDim / 2;
  float* cosTable = table;
  float* sinTable = table + pairs;
  const int64_t tokens = g.batch * g.T;
  const int64_t width = g.heads * g.D;
  for (int64_t token = blockIdx.x; token < tokens; token += gridDim.x) {
    const int64_t b = token / g.T, t = token % g.T;
    int64_t position;
    if (g.positions) position = g.positions[token];
    else position = (g.rowOffsets ? g.rowOffsets[b] : g.offset) + t;
    const double p = static_cast<double>(position) * g.scale;
    if constexpr (kTable) {
      for (int64_t i = threadIdx.x; i < pairs; i += blockDim.x) angleOf(g, p, i, cosTable + i, sinTable + i);
      __syncthreads();
    }
    const float* x = g.x + token * width;
    float* y = g.y + token * width;
    for (int64_t k = threadIdx.x; k < width; k += blockDim.x) {
      const int64_t c = k % g.D;
      const float* head = x + (k - c);
      if (c >= g.rotaryDim) {
        y[k] = head[c];
        continue;
      }
      const int64_t i = g.interleaved ? c / 2 : (c < pairs ? c : c - pairs);
      float cs, sn;
      if constexpr (kTable) {
        cs = cosTable[i];
        sn = sinTable[i];
      } else {
        angleOf(g, p, i, &cs, &sn);
      }
      float out;
      if (g.interleaved) {
        const float a = head[2 * i], d = head[2 * i + 1];
        out = c % 2 == 0 ? a * cs - d * sn : a * sn + d * cs;
      } else if (c < pairs) {
        out = fmaf(-head[c + pairs], sn, head[c] * cs);
      } else {
        out = fmaf(head[i], sn, head[c] * cs);
      }
      y[k] = out;
    }
    if constexpr (kTable) __syncthreads();  // the table is rebuilt for the block's next token
  }
}

}  // namespace

void rope(const cpu::RopeArgs& g, cudaStream_t stream) {
  const int64_t tokens = g.batch * g.T;
  if (tokens == 0 || g.heads == 0) return;
  const size_t tableBytes = static_cast<size_t>(g.rotaryDim) * sizeof(float);  // cos and sin, rotaryDim/2 each
  int threads = 128;
  while (threads < 512 && threads < g.heads * g.D) threads *= 2;
  constexpr int64_t kMaxBlocks = 65535 * 16;
  const unsigned blocks = static_cast<unsigned>(tokens < kMaxBlocks ? tokens : kMaxBlocks);
  if (tableBytes <= 48 * 1024) ropeKernel<true><<<blocks, threads, tableBytes, stream>>>(g);
  else ropeKernel<false><<<blocks, threads, 0, stream>>>(g);
}

}  // namespace cr::cuda
