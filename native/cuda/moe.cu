// Sparse mixture of experts on the GPU, the math of native/cpu/moe.cc:
//   p = softmax(x · routerᵀ) per token; the topK experts by logit (ties to the lower index),
//   weights p[e] (renormalised over the topK when `normalize`);
//   y[t] = Σ_{chosen e, ascending} w_e · down_e(silu(gate_e · x_t) ⊙ up_e · x_t).
// Decomposition:
//   1. router logits [T, E]: one device GEMM;
//   2. routing: one thread per token (softmax in double and the topK selection, as the CPU does);
//   3. the choices go to the host (T·K int32: the op waits here once), which counting-sorts the
//      (token, slot) pairs by expert — the per-expert row counts size the GEMMs — and sends back
//      the order and its inverse;
//   4. one gather of the routed token rows into expert-major scratch, then per expert with rows
//      three GEMMs (gate, up, down) on its slice, the silu·mul between them as one kernel over
//      all experts' rows;
//   5. combine: a block per token adds its K expert outputs in ascending expert order (the CPU's
//      summation order), weighted, into y — no atomics, every y element written once.
#include <cstdint>
#include <vector>

#include "check.h"
#include "kernels.cuh"
#include "small_ops.cuh"

namespace cr::cuda {
namespace {

constexpr int64_t kMaxBlocks = 65535 * 16;

unsigned blocksFor(int64_t n, int threads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b < kMaxBlocks ? b : kMaxBlocks));
}

__global__ void routeKernel(const float* logits, int64_t T, int64_t E, int64_t K, bool normalize, int32_t* choice,
                            float* weight, int32_t* chosen) {
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < T;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float* row = logits + t * E;
    float max = row[0];
    for (int64_t e = 1; e < E; ++e) max = fmaxf(max, row[e]);
    double sum = 0;
    for (int64_t e = 0; e < E; ++e) sum += exp(static_cast<double>(row[e] - max));
    int32_t* c = choice + t * K;
    float* w = weight + t * K;
    for (int64_t k = 0; k < K; ++k) {
      int64_t best = -1;
      for (int64_t e = 0; e < E; ++e) {
        bool taken = false;
        for (int64_t j = 0; j < k; ++j) taken = taken || c[j] == e;
        if (!taken && (best < 0 || row[e] > row[best])) best = e;
      }
      c[k] = static_cast<int32_t>(best);
      w[k] = static_cast<float>(exp(static_cast<double>(row[best] - max)) / sum);
    }
    if (normalize) {
      float total = 0;
      for (int64_t k = 0; k < K; ++k) total += w[k];
      for (int64_t k = 0; k < K; ++k) w[k] /= total;
    }
    if (chosen) {
      for (int64_t k = 0; k < K; ++k) chosen[t * K + k] = c[k];
    }
  }
}

// xs[r, :] = x[token of pair order[r], :]
__global__ void gatherKernel(const float* x, const int32_t* order, int64_t pairs, int64_t K, int64_t D, float* xs) {
  for (int64_t r = blockIdx.x; r < pairs; r += gridDim.x) {
    const float* src = x + (order[r] / K) * D;
    float* dst = xs + r * D;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) dst[j] = src[j];
  }
}

__global__ void siluMulKernel(float* h, const float* u, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float a = h[i];
    h[i] = a / (1.0f + expf(-a)) * u[i];
  }
}

// y[t, :] = Σ_k w · o[row of (t, k)], the slots taken in ascending expert order.
__global__ void combineKernel(const float* o, const int32_t* rowOf, const int32_t* choice, const float* weight, int64_t T,
                              int64_t K, int64_t D, float* y) {
  extern __shared__ int32_t slots[];  // K slot indices of the token, sorted by expert
  for (int64_t t = blockIdx.x; t < T; t += gridDim.x) {
    if (threadIdx.x == 0) {
      for (int64_t k = 0; k < K; ++k) slots[k] = static_cast<int32_t>(k);
      for (int64_t a = 1; a < K; ++a) {  // insertion sort: K is small
        const int32_t s = slots[a];
        int64_t b = a;
        for (; b > 0 && choice[t * K + slots[b - 1]] > choice[t * K + s]; --b) slots[b] = slots[b - 1];
        slots[b] = s;
      }
    }
    __syncthreads();
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      float acc = 0.0f;
      for (int64_t k = 0; k < K; ++k) {
        const int64_t pair = t * K + slots[k];
        acc = fmaf(weight[pair], o[static_cast<int64_t>(rowOf[pair]) * D + j], acc);
      }
      y[t * D + j] = acc;
    }
    __syncthreads();  // slots are rewritten for the block's next token
  }
}

}  // namespace

void moe(const cpu::MoeArgs& g, cudaStream_t stream) {
  const int64_t T = g.tokens, D = g.dModel, F = g.ffn, E = g.experts, K = g.topK;
  if (T == 0) return;
  const int64_t pairs = T * K;
  if (pairs > 0x7fffffff) throwRange("moe: tokens × topK is too large for the CUDA kernels, got ", pairs);
  const size_t wBytes = dtypeSize(g.weightType);
  float* logits = static_cast<float*>(scratch(static_cast<size_t>(T * E) * sizeof(float), stream));
  int32_t* choice = static_cast<int32_t*>(scratch(static_cast<size_t>(pairs) * sizeof(int32_t), stream));
  float* weight = static_cast<float*>(scratch(static_cast<size_t>(pairs) * sizeof(float), stream));
  int32_t* order = static_cast<int32_t*>(scratch(static_cast<size_t>(2 * pairs) * sizeof(int32_t), stream));
  int32_t* rowOf = order + pairs;
  {
    cpu::GemmArgs r;
    r.M = T; r.N = E; r.K = D;
    r.A = g.x; r.lda = D;
    r.B = g.router; r.bType = g.routerType; r.ldb = D; r.transB = true;
    r.C = logits; r.ldc = E;
    gemm(r, stream);
  }
  routeKernel<<<blocksFor(T, 128), 128, 0, stream>>>(logits, T, E, K, g.normalize, choice, weight, g.chosen);
  CR_CUDA_CHECK(cudaGetLastError());

  // Counting sort of the pairs by expert, on the host: the per-expert counts size the GEMMs.
  std::vector<int32_t> hostChoice(static_cast<size_t>(pairs));
  CR_CUDA_CHECK(cudaMemcpyAsync(hostChoice.data(), choice, hostChoice.size() * sizeof(int32_t), cudaMemcpyDeviceToHost, stream));
  CR_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<int64_t> start(static_cast<size_t>(E + 1), 0);
  for (int64_t i = 0; i < pairs; ++i) {
    const int32_t e = hostChoice[i];
    if (e < 0 || e >= E) throwError("moe: the routing kernel chose expert ", e, " of ", E);  // e.g. NaN logits
    ++start[e + 1];
  }
  for (int64_t e = 0; e < E; ++e) start[e + 1] += start[e];
  std::vector<int32_t> hostOrder(static_cast<size_t>(2 * pairs));  // order, then its inverse
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < pairs; ++i) {
      const int64_t r = fill[hostChoice[i]]++;
      hostOrder[r] = static_cast<int32_t>(i);
      hostOrder[pairs + i] = static_cast<int32_t>(r);
    }
  }
  CR_CUDA_CHECK(cudaMemcpyAsync(order, hostOrder.data(), hostOrder.size() * sizeof(int32_t), cudaMemcpyHostToDevice, stream));
  // hostOrder is pageable memory: wait until the copy has read it before it goes out of scope.
  CR_CUDA_CHECK(cudaStreamSynchronize(stream));

  float* xs = static_cast<float*>(scratch(static_cast<size_t>(pairs * D) * sizeof(float), stream));
  float* h = static_cast<float*>(scratch(static_cast<size_t>(pairs * F) * sizeof(float), stream));
  float* u = static_cast<float*>(scratch(static_cast<size_t>(pairs * F) * sizeof(float), stream));
  float* o = static_cast<float*>(scratch(static_cast<size_t>(pairs * D) * sizeof(float), stream));
  const int rowThreads = D >= 256 ? 256 : (D >= 64 ? 64 : 32);
  gatherKernel<<<static_cast<unsigned>(pairs < kMaxBlocks ? pairs : kMaxBlocks), rowThreads, 0, stream>>>(g.x, order, pairs, K, D, xs);
  for (int64_t e = 0; e < E; ++e) {
    const int64_t n = start[e + 1] - start[e];
    if (n == 0) continue;
    cpu::GemmArgs p;
    p.M = n; p.K = D; p.N = F;
    p.A = xs + start[e] * D; p.lda = D;
    p.bType = g.weightType; p.ldb = D; p.transB = true;
    p.ldc = F;
    p.B = static_cast<const char*>(g.gate) + e * F * D * static_cast<int64_t>(wBytes);
    p.C = h + start[e] * F;
    gemm(p, stream);
    p.B = static_cast<const char*>(g.up) + e * F * D * static_cast<int64_t>(wBytes);
    p.C = u + start[e] * F;
    gemm(p, stream);
  }
  siluMulKernel<<<blocksFor(pairs * F, 256), 256, 0, stream>>>(h, u, pairs * F);
  for (int64_t e = 0; e < E; ++e) {
    const int64_t n = start[e + 1] - start[e];
    if (n == 0) continue;
    cpu::GemmArgs d;
    d.M = n; d.K = F; d.N = D;
    d.A = h + start[e] * F; d.lda = F;
    d.B = static_cast<const char*>(g.down) + e * D * F * static_cast<int64_t>(wBytes);
    d.bType = g.weightType; d.ldb = F; d.transB = true;
    d.C = o + start[e] * D; d.ldc = D;
    gemm(d, stream);
  }
  combineKernel<<<static_cast<unsigned>(T < kMaxBlocks ? T : kMaxBlocks), rowThreads, static_cast<size_t>(K) * sizeof(int32_t),
                  stream>>>(o, rowOf, choice, weight, T, K, D, g.y);
}

}  // namespace cr::cuda
