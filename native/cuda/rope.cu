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
#include <cstdint>

#include "check.h"
#include "small_ops.cuh"

namespace cr::cuda {
namespace {

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
    for (int64_t i = threadIdx.x; i < pairs; i += blockDim.x) {
      const double angle = p * pow(g.base, -2.0 * static_cast<double>(i) / static_cast<double>(g.rotaryDim));
      double s, c;
      sincos(angle, &s, &c);
      cosTable[i] = static_cast<float>(c);
      sinTable[i] = static_cast<float>(s);
    }
    __syncthreads();
    const float* x = g.x + token * width;
    float* y = g.y + token * width;
    for (int64_t k = threadIdx.x; k < width; k += blockDim.x) {
      const int64_t c = k % g.D;
      const float* head = x + (k - c);
      float out;
      if (c >= g.rotaryDim) {
        out = head[c];
      } else if (g.interleaved) {
        const int64_t i = c / 2;
        const float a = head[2 * i], d = head[2 * i + 1];
        out = c % 2 == 0 ? a * cosTable[i] - d * sinTable[i] : a * sinTable[i] + d * cosTable[i];
      } else if (c < pairs) {
        out = fmaf(-head[c + pairs], sinTable[c], head[c] * cosTable[c]);
      } else {
        const int64_t i = c - pairs;
        out = fmaf(head[i], sinTable[i], head[c] * cosTable[i]);
      }
      y[k] = out;
    }
    __syncthreads();  // the table is rebuilt for the block's next token
  }
}

}  // namespace

void rope(const cpu::RopeArgs& g, cudaStream_t stream) {
  const int64_t tokens = g.batch * g.T;
  if (tokens == 0 || g.heads == 0) return;
  const size_t tableBytes = static_cast<size_t>(g.rotaryDim) * sizeof(float);  // cos and sin, rotaryDim/2 each
  if (tableBytes > 48 * 1024) throwRange("rope: the CUDA kernel takes rotaryDim up to 12288, got ", g.rotaryDim);
  int threads = 128;
  while (threads < 512 && threads < g.heads * g.D) threads *= 2;
  constexpr int64_t kMaxBlocks = 65535 * 16;
  ropeKernel<<<static_cast<unsigned>(tokens < kMaxBlocks ? tokens : kMaxBlocks), threads, tableBytes, stream>>>(g);
}

}  // namespace cr::cuda
