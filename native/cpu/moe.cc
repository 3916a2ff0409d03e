// Sparse mixture of experts. Tokens are grouped by expert (a counting sort of
// the router's choices), so each expert runs its gated MLP once over all the
// tokens routed to it as three GEMMs, instead of once per token; with one
// token (decoding) those GEMMs take the weight-streaming path. Only the
// chosen experts' weights are ever read.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/arena.h"
#include "../core/threadpool.h"
#include "gemm.h"

namespace cr::cpu::CR_ISA {

void moe(const MoeArgs& g) {
  const int64_t T = g.tokens, D = g.dModel, F = g.ffn, E = g.experts, K = g.topK;
  const size_t wBytes = dtypeSize(g.weightType);
  ScratchScope scratch;
  float* logits = scratch.allocate<float>(static_cast<size_t>(T * E));
  {
    GemmArgs r;
    r.M = T; r.N = E; r.K = D;
    r.A = g.x; r.lda = D;
    r.B = g.router; r.bType = g.routerType; r.ldb = D; r.transB = true;
    r.C = logits; r.ldc = E;
    gemm(r);
  }
  // Softmax over experts, then the topK by probability (ties to the lower index).
  int32_t* choice = scratch.allocate<int32_t>(static_cast<size_t>(T * K));
  float* weight = scratch.allocate<float>(static_cast<size_t>(T * K));
  for (int64_t t = 0; t < T; ++t) {
    float* row = logits + t * E;
    float max = row[0];
    for (int64_t e = 1; e < E; ++e) max = std::max(max, row[e]);
    double sum = 0;
    for (int64_t e = 0; e < E; ++e) sum += std::exp(static_cast<double>(row[e] - max));
    for (int64_t k = 0; k < K; ++k) {
      int64_t best = -1;
      for (int64_t e = 0; e < E; ++e) {
        bool taken = false;
        for (int64_t j = 0; j < k; ++j) taken = taken || choice[t * K + j] == e;
        if (!taken && (best < 0 || row[e] > row[best])) best = e;
      }
      choice[t * K + k] = static_cast<int32_t>(best);
      weight[t * K + k] = static_cast<float>(std::exp(static_cast<double>(row[best] - max)) / sum);
    }
    if (g.normalize) {
      float total = 0;
      for (int64_t k = 0; k < K; ++k) total += weight[t * K + k];
      for (int64_t k = 0; k < K; ++k) weight[t * K + k] /= total;
    }
    if (g.chosen) std::memcpy(g.chosen + t * K, choice + t * K, static_cast<size_t>(K) * sizeof(int32_t));
  }
  // Group (token, slot) pairs by expert.
  int64_t* start = scratch.allocate<int64_t>(static_cast<size_t>(E + 1));
  for (int64_t e = 0; e <= E; ++e) start[e] = 0;
  for (int64_t i = 0; i < T * K; ++i) ++start[choice[i] + 1];
  for (int64_t e = 0; e < E; ++e) start[e + 1] += start[e];
  int64_t* order = scratch.allocate<int64_t>(static_cast<size_t>(T * K));
  int64_t* fill = scratch.allocate<int64_t>(static_cast<size_t>(E));
  for (int64_t e = 0; e < E; ++e) fill[e] = start[e];
  for (int64_t i = 0; i < T * K; ++i) order[fill[choice[i]]++] = i;

  std::memset(g.y, 0, static_cast<size_t>(T * D) * sizeof(float));
  int64_t maxRows = 0;
  for (int64_t e = 0; e < E; ++e) maxRows = std::max(maxRows, start[e + 1] - start[e]);
  float* xs = scratch.allocate<float>(static_cast<size_t>(maxRows * D));
  float* h = scratch.allocate<float>(static_cast<size_t>(maxRows * F));
  float* u = scratch.allocate<float>(static_cast<size_t>(maxRows * F));
  float* o = scratch.allocate<float>(static_cast<size_t>(maxRows * D));
  for (int64_t e = 0; e < E; ++e) {
    const int64_t n = start[e + 1] - start[e];
    if (n == 0) continue;
    const int64_t* pairs = order + start[e];
    for (int64_t r = 0; r < n; ++r) std::memcpy(xs + r * D, g.x + (pairs[r] / K) * D, static_cast<size_t>(D) * sizeof(float));
    GemmArgs p;
    p.M = n; p.K = D; p.N = F;
    p.A = xs; p.lda = D;
    p.bType = g.weightType; p.ldb = D; p.transB = true;
    p.ldc = F;
    p.B = static_cast<const char*>(g.gate) + e * F * D * static_cast<int64_t>(wBytes);
    p.C = h;
    gemm(p);
    p.B = static_cast<const char*>(g.up) + e * F * D * static_cast<int64_t>(wBytes);
    p.C = u;
    gemm(p);
    parallelFor(n * F, 1 << 14, [&](int64_t i0, int64_t i1) {
      int64_t i = i0;
      for (; i + kLanes <= i1; i += kLanes) vstore(h + i, vsilu(vload(h + i)) * vload(u + i));
      for (; i < i1; ++i) h[i] = h[i] / (1.0f + std::exp(-h[i])) * u[i];
    });
    GemmArgs d;
    d.M = n; d.K = F; d.N = D;
    d.A = h; d.lda = F;
    d.B = static_cast<const char*>(g.down) + e * D * F * static_cast<int64_t>(wBytes);
    d.bType = g.weightType; d.ldb = F; d.transB = true;
    d.C = o; d.ldc = D;
    gemm(d);
    for (int64_t r = 0; r < n; ++r) {
      const int64_t pair = pairs[r];
      float* dst = g.y + (pair / K) * D;
      const Vec w = vset(weight[pair]);
      const float* src = o + r * D;
      int64_t j = 0;
      for (; j + kLanes <= D; j += kLanes) vstore(dst + j, vfma(w, vload(src + j), vload(dst + j)));
      for (; j < D; ++j) dst[j] += weight[pair] * src[j];
    }
  }
}

}  // namespace cr::cpu::CR_ISA
