// Gated linear attention on the GPU, the math of native/cpu/linear_attention.cc, per (b, h):
//   S_t = diag(e^{gk_t}) · e^{g_t} · S_{t−1} + k_tᵀ v_t,   o_t = scale · q_t S_t
// (g: one log decay per head and step, gk: one per key channel; either, both or neither).
//
// Prefill runs the chunked form of linear_attention_chunk.cuh: a prepass turns the log decays into
// chunk-local cumulative sums G (one thread per (b, h, chunk, channel) walking the chunk), the state
// kernel carries S across chunks, the output kernel computes every chunk's outputs in parallel.
// The GPU chunk is chunkSize clamped to [16, 64] tokens (gpuChunk in linear_attention_chunk.cuh).
//
// Decoding (and mode 'recurrent') runs the recurrence itself: a block per (b, h, 32 columns of V);
// lane j of every warp owns column j, warp w the state rows x ≡ w (mod 8), and the state is
// updated in place in global memory (each element is read and written by one thread only, so
// steps need no synchronisation but the reduction of q_t · S_t over the 8 warps).
#include <climits>
#include <cstdint>

#include "../core/error.h"
#include "check.h"
#include "kernels.cuh"
#include "linear_attention.cuh"
#include "linear_attention_chunk.cuh"

namespace cr::cuda {
namespace {

constexpr int kRecWarps = 8;
constexpr int kLanes = 32;

__global__ void __launch_bounds__(kRecWarps * kLanes) recurrentKernel(cpu::LinearAttentionArgs a, float* state,
                                                                       int64_t vTiles) {
  __shared__ float sRed[kRecWarps][kLanes];
  const int64_t seq = blockIdx.x / vTiles;
  const int64_t col = (blockIdx.x % vTiles) * kLanes + threadIdx.x % kLanes;
  const int w = static_cast<int>(threadIdx.x / kLanes), lane = static_cast<int>(threadIdx.x % kLanes);
  const int64_t b = seq / a.heads, h = seq % a.heads;
  const int64_t K = a.K, V = a.V;
  const bool active = col < V;
  float* S = state + seq * K * V;
  const float* initial = a.initialState ? a.initialState + seq * K * V : nullptr;
  for (int64_t t = 0; t < a.T; ++t) {
    const int64_t row = (b * a.T + t) * a.heads + h;
    const float* q = a.q + row * K;
    const float* k = a.k + row * K;
    const float* gk = a.gk ? a.gk + row * K : nullptr;
    const float g = a.g ? a.g[row] : 0.0f;
    const bool decays = a.g != nullptr || gk != nullptr;
    float acc = 0.0f;
    if (active) {
      const float vj = a.v[row * V + col];
      for (int64_t x = w; x < K; x += kRecWarps) {
        const float old = t > 0 ? S[x * V + col] : initial ? initial[x * V + col] : 0.0f;
        const float d = decays ? expf(g + (gk ? gk[x] : 0.0f)) : 1.0f;
        const float s = fmaf(k[x], vj, old * d);
        S[x * V + col] = s;
        acc = fmaf(q[x], s, acc);
      }
    }
    sRed[w][lane] = acc;
    __syncthreads();
    if (w == 0 && active) {
      float sum = 0.0f;
#pragma unroll
      for (int i = 0; i < kRecWarps; ++i) sum += sRed[i][lane];
      a.o[row * V + col] = sum * a.scale;
    }
    __syncthreads();  // sRed is rewritten by the next step
  }
}

// G[b, t, h, x] = Σ_{c0 ≤ u ≤ t} (g_u + gk_u[x]) within each chunk; width = K (gk) or 1 (g only).
__global__ void cumulativeLogDecayKernel(cpu::LinearAttentionArgs a, float* out, int64_t C, int64_t chunks,
                                         int64_t width) {
  const int64_t total = a.batch * a.heads * chunks * width;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t x = idx % width;
    const int64_t rest = idx / width;
    const int64_t c = rest % chunks, seq = rest / chunks;
    const int64_t b = seq / a.heads, h = seq % a.heads;
    const int64_t end = (c + 1) * C < a.T ? (c + 1) * C : a.T;
    float acc = 0.0f;
    for (int64_t t = c * C; t < end; ++t) {
      const int64_t row = (b * a.T + t) * a.heads + h;
      float step = a.g ? a.g[row] : 0.0f;
      if (a.gk) step += a.gk[row * a.K + x];
      acc += step;
      out[row * width + x] = acc;
    }
  }
}

template <ChunkKind kind>
void launchChunked(const ChunkParams& p, cudaStream_t stream) {
  const ChunkGrids grids = chunkGrids("linearAttention", p);
  chunkStateKernel<kind><<<grids.stateBlocks, kChunkThreads, 0, stream>>>(p);
  chunkOutputKernel<kind><<<grids.output, kChunkThreads, 0, stream>>>(p);
}

}  // namespace

void linearAttention(const cpu::LinearAttentionArgs& a, cudaStream_t stream) {
  const int64_t BH = a.batch * a.heads;
  const bool recurrent = cpu::useRecurrentForm(a.mode, a.T, a.chunkSize);
  if (recurrent) {
    float* state = a.finalState;
    if (state == nullptr) state = static_cast<float*>(scratch(static_cast<size_t>(BH * a.K * a.V) * sizeof(float), stream));
    const int64_t vTiles = (a.V + kLanes - 1) / kLanes;
    if (BH * vTiles > INT_MAX) throwRange("linearAttention: batch · heads · V is too large for one CUDA launch");
    recurrentKernel<<<static_cast<unsigned>(BH * vTiles), kRecWarps * kLanes, 0, stream>>>(a, state, vTiles);
    return;
  }
  ChunkParams p;
  p.batch = a.batch;
  p.T = a.T;
  p.heads = a.heads;
  p.K = a.K;
  p.V = a.V;
  p.Vs = a.V;
  p.C = gpuChunk(a.chunkSize);
  p.chunks = (a.T + p.C - 1) / p.C;
  p.q = a.q;
  p.k = a.k;
  p.v = a.v;
  p.initialState = a.initialState;
  p.finalState = a.finalState;
  p.o = a.o;
  p.scale = a.scale;
  p.states = static_cast<float*>(scratch(static_cast<size_t>(BH * p.chunks * a.K * a.V) * sizeof(float), stream));
  const ChunkKind kind = a.gk ? ChunkKind::Channel : a.g ? ChunkKind::Scalar : ChunkKind::None;
  if (kind != ChunkKind::None) {
    const int64_t width = kind == ChunkKind::Channel ? a.K : 1;
    float* logDecay = static_cast<float*>(scratch(static_cast<size_t>(a.batch * a.T * a.heads * width) * sizeof(float), stream));
    const int64_t threads = BH * p.chunks * width;
    const int64_t blocks = (threads + 255) / 256;
    cumulativeLogDecayKernel<<<static_cast<unsigned>(blocks < 65536 ? blocks : 65536), 256, 0, stream>>>(a, logDecay, p.C,
                                                                                                        p.chunks, width);
    p.logDecay = logDecay;
  }
  switch (kind) {
    case ChunkKind::None: launchChunked<ChunkKind::None>(p, stream); break;
    case ChunkKind::Scalar: launchChunked<ChunkKind::Scalar>(p, stream); break;
    default: launchChunked<ChunkKind::Channel>(p, stream); break;
  }
}

}  // namespace cr::cuda
