// xLSTM's mLSTM cell, chunked, with the recurrent step for short sequences.
//
// The recurrence is NX-AI's mlstm_kernels `mlstm_recurrent_step__native_fw`
// (torch/recurrent/native_step.py), per batch row and head:
//
//   log f_t = log σ(f̃_t);   m_t = max(log f_t + m_{t−1}, ĩ_t)
//   f'_t = exp(log f_t + m_{t−1} − m_t);   i'_t = exp(ĩ_t − m_t)
//   C_t = f'_t C_{t−1} + i'_t k_tᵀ v_t;   n_t = f'_t n_{t−1} + i'_t k_t
//   h_t = (q̃_t C_t) / (max(|q̃_t · n_t|, exp(−m_t)) + eps),   q̃ = scale · q
//
// The scale multiplies q (as there; xlstm's older backends scale k instead,
// which stores a scaled C and n but gives the same h), the state starts at
// C = 0, n = 0, m = 0 when none is given, and eps is added to the maximum.
//
// Unrolled over a chunk with cumulative log forget gates b_t = Σ_{u≤t} log f_u
// and the state (C0, n0, m0) before it, exactly (m_t is the recurrence's own):
//
//   q̃_t C_t = exp(b_t + m0 − m_t) q̃_t C0 + Σ_{s≤t} exp(b_t − b_s + ĩ_s − m_t) (q̃_t · k_s) v_s
//
// and the same with n for the normaliser; every exponent is ≤ 0 because m_t
// is the maximum of exactly these terms. That is linear attention with a
// scalar decay (linear_attention.h's two products) plus the normaliser's
// row sums; the exponents are formed in double from the cumulative sums,
// where no digits cancel at these lengths.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/arena.h"
#include "../core/threadpool.h"
#include "kernels.h"
#include "linear_attention.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

namespace {

using la::Term;

constexpr int64_t kRecurrentGroup = 16;

static inline double logSigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }

struct Cell {
  const float* q;
  const float* k;
  const float* v;  // at column v0
  const float* inputGate;
  const float* forgetGate;
  float* h;  // at column v0
  int64_t qkStride, voStride, gateStride;
  int64_t columns;
  float* C;  // [K, columns], leading dimension ldC
  int64_t ldC;
  float* n;  // [K]
  double m;
};

// The max-stabiliser recurrence over L tokens from c0: cumulative log forget
// gates, input gates and m_t, in double.
static void gateScan(const Cell& c, int64_t c0, int64_t L, double m, double* cumLogF, double* logI, double* mt) {
  double cum = 0;
  for (int64_t u = 0; u < L; ++u) {
    const double logF = logSigmoid(c.forgetGate[(c0 + u) * c.gateStride]);
    logI[u] = c.inputGate[(c0 + u) * c.gateStride];
    cum += logF;
    cumLogF[u] = cum;
    m = std::max(logF + m, logI[u]);
    mt[u] = m;
  }
}

static void runChunked(const MlstmArgs& a, Cell& c, ScratchScope& scratch) {
  const int64_t K = a.K, T = a.T;
  const int64_t C = std::min(a.chunkSize, T);
  float* qs = scratch.allocate<float>(static_cast<size_t>(C * K));
  float* kT = scratch.allocate<float>(static_cast<size_t>(K * C));
  float* kUpd = scratch.allocate<float>(static_cast<size_t>(C * K));
  float* vChunk = scratch.allocate<float>(static_cast<size_t>(C * c.columns));
  float* A = scratch.allocate<float>(static_cast<size_t>(C * C));
  float* exponent = scratch.allocate<float>(static_cast<size_t>(C));
  float* invDen = scratch.allocate<float>(static_cast<size_t>(C));
  float* gamma = scratch.allocate<float>(static_cast<size_t>(K));
  double* cumLogF = scratch.allocate<double>(static_cast<size_t>(C));
  double* logI = scratch.allocate<double>(static_cast<size_t>(C));
  double* mt = scratch.allocate<double>(static_cast<size_t>(C));
  for (int64_t c0 = 0; c0 < T; c0 += C) {
    const int64_t L = std::min(C, T - c0);
    const float* k = c.k + c0 * c.qkStride;
    if (c0 + C < T) {
      const int64_t next = std::min(C, T - c0 - C);
      la::prefetchRows(c.q + (c0 + C) * c.qkStride, c.qkStride, next, K);
      la::prefetchRows(c.k + (c0 + C) * c.qkStride, c.qkStride, next, K);
      la::prefetchRows(c.v + (c0 + C) * c.voStride, c.voStride, next, c.columns);
    }
    // Contiguous: rows of v are heads·V apart, often a multiple of 4 KB.
    const float* v = vChunk;
    la::copyRows(c.v + c0 * c.voStride, c.voStride, L, c.columns, 1.0f, vChunk);
    gateScan(c, c0, L, c.m, cumLogF, logI, mt);
    la::copyRows(c.q + c0 * c.qkStride, c.qkStride, L, K, a.scale, qs);
    la::transposeRows(k, c.qkStride, L, K, 1.0f, kT, C);
    const Term scores{qs, K, kT, C, K};
    la::product(L, L, &scores, 1, A, C, nullptr, nullptr, /*skipUpper=*/true);
    for (int64_t t = 0; t < L; ++t) {
      float* row = A + t * C;
      for (int64_t s = 0; s <= t; ++s) exponent[s] = static_cast<float>(cumLogF[t] - cumLogF[s] + logI[s] - mt[t]);
      double rowSum = 0;
      for (int64_t s = 0; s <= t; s += kLanes) {
        const int n = static_cast<int>(std::min<int64_t>(kLanes, t + 1 - s));
        const Vec scaled = vloadPartial(row + s, n) * vexp(vloadPartial(exponent + s, n));
        vstorePartial(row + s, scaled, n);
        rowSum += vreduceAdd(scaled);
      }
      if (t + 1 < L) std::memset(row + t + 1, 0, static_cast<size_t>(L - t - 1) * sizeof(float));
      // Normaliser: q̃_t · n_t = exp(b_t + m0 − m_t) q̃_t · n0 + Σ_s A[t, s].
      const double inter = std::exp(cumLogF[t] + c.m - mt[t]);
      float* q = qs + t * K;
      const double qn = inter * la::dot(q, c.n, K) + rowSum;
      invDen[t] = static_cast<float>(1.0 / (std::max(std::fabs(qn), std::exp(-mt[t])) + a.eps));
      const Vec interScale = vset(static_cast<float>(inter));
      for (int64_t x = 0; x < K; x += kLanes) {
        const int n = static_cast<int>(std::min<int64_t>(kLanes, K - x));
        vstorePartial(q + x, vloadPartial(q + x, n) * interScale, n);
      }
    }
    // kUpd_s = k_s · exp(b_L − b_s + ĩ_s − m_L): token s's weight in the state after the chunk.
    const double mEnd = mt[L - 1];
    const float chunkDecay = static_cast<float>(std::exp(cumLogF[L - 1] + c.m - mEnd));
    la::copyRows(c.n, 0, 1, K, chunkDecay, c.n);
    for (int64_t s = 0; s < L; ++s) {
      const float weight = static_cast<float>(std::exp(cumLogF[L - 1] - cumLogF[s] + logI[s] - mEnd));
      float* row = kUpd + s * K;
      la::copyRows(k + s * c.qkStride, 0, 1, K, weight, row);
      for (int64_t x = 0; x < K; x += kLanes) {
        const int n = static_cast<int>(std::min<int64_t>(kLanes, K - x));
        vstorePartial(c.n + x, vloadPartial(c.n + x, n) + vloadPartial(row + x, n), n);
      }
    }
    for (int64_t x = 0; x < K; ++x) gamma[x] = chunkDecay;
    const Term output[2] = {{qs, K, c.C, c.ldC, K}, {A, C, v, c.columns, L, /*lowerTriangular=*/true}};
    la::product(L, c.columns, output, 2, c.h + c0 * c.voStride, c.voStride, invDen, nullptr);
    const Term update{kUpd, K, v, c.columns, L};
    la::product<true>(K, c.columns, &update, 1, c.C, c.ldC, nullptr, gamma);
    c.m = mEnd;
  }
}

// Token by token: the scalar gates and the normaliser first (O(K) per token),
// then the [K, V] state in column panels.
static void runRecurrent(const MlstmArgs& a, Cell& c, const float* initialC, ScratchScope& scratch) {
  const int64_t K = a.K, T = a.T;
  const int64_t G = std::min(kRecurrentGroup, T);
  float* forget = scratch.allocate<float>(static_cast<size_t>(G));
  float* input = scratch.allocate<float>(static_cast<size_t>(G));
  float* outScale = scratch.allocate<float>(static_cast<size_t>(G));
  const float* first = initialC;
  int64_t ldFirst = a.V;
  for (int64_t t0 = 0; t0 < T; t0 += G) {
    const int64_t count = std::min(G, T - t0);
    for (int64_t u = 0; u < count; ++u) {
      const int64_t t = t0 + u;
      const double logF = logSigmoid(c.forgetGate[t * c.gateStride]);
      const double logI = c.inputGate[t * c.gateStride];
      const double m = std::max(logF + c.m, logI);
      const float f = static_cast<float>(std::exp(logF + c.m - m));
      const float i = static_cast<float>(std::exp(logI - m));
      const float* kt = c.k + t * c.qkStride;
      for (int64_t x = 0; x < K; x += kLanes) {
        const int n = static_cast<int>(std::min<int64_t>(kLanes, K - x));
        vstorePartial(c.n + x, vfma(vset(i), vloadPartial(kt + x, n), vset(f) * vloadPartial(c.n + x, n)), n);
      }
      const double qn = static_cast<double>(a.scale) * la::dot(c.q + t * c.qkStride, c.n, K);
      forget[u] = f;
      input[u] = i;
      outScale[u] = static_cast<float>(a.scale / (std::max(std::fabs(qn), std::exp(-m)) + a.eps));
      c.m = m;
    }
    la::recurrentColumns(count, K, c.columns, c.q + t0 * c.qkStride, c.k + t0 * c.qkStride, c.qkStride,
                         c.v + t0 * c.voStride, c.h + t0 * c.voStride, c.voStride, forget, nullptr, input, outScale,
                         c.C, c.ldC, first, ldFirst);
    first = c.C;
    ldFirst = c.ldC;
  }
}

}  // namespace

void mlstm(const MlstmArgs& a) {
  const int64_t H = a.heads, K = a.K, V = a.V;
  const bool recurrent = useRecurrentForm(a.mode, a.T, a.chunkSize);
  const la::Split split = la::splitWork(a.batch * H, V);
  la::runTasks(split.tasks(), a.batch * H * a.T * K * V, [&](int64_t task) {
    la::FlushDenormals flush;
    ScratchScope scratch;
    const int64_t seq = task / split.ranges;
    const int64_t v0 = (task % split.ranges) * split.columnsPerRange;
    const int64_t b = seq / H, h = seq % H;
    Cell c;
    c.qkStride = H * K;
    c.voStride = H * V;
    c.gateStride = H;
    c.q = a.q + (b * a.T * H + h) * K;
    c.k = a.k + (b * a.T * H + h) * K;
    c.v = a.v + (b * a.T * H + h) * V + v0;
    c.h = a.h + (b * a.T * H + h) * V + v0;
    c.inputGate = a.inputGate + b * a.T * H + h;
    c.forgetGate = a.forgetGate + b * a.T * H + h;
    c.columns = std::min(split.columnsPerRange, V - v0);
    if (a.finalC) {
      c.C = a.finalC + seq * K * V + v0;
      c.ldC = V;
    } else {
      c.C = scratch.allocate<float>(static_cast<size_t>(K * c.columns));
      c.ldC = c.columns;
    }
    // Every column range carries its own copy of n and m (they do not depend
    // on the columns); the first range reports them.
    c.n = scratch.allocate<float>(static_cast<size_t>(K));
    if (a.initialN) std::memcpy(c.n, a.initialN + seq * K, static_cast<size_t>(K) * sizeof(float));
    else std::memset(c.n, 0, static_cast<size_t>(K) * sizeof(float));
    c.m = a.initialM ? a.initialM[seq] : 0.0;
    const float* initialC = a.initialC ? a.initialC + seq * K * V + v0 : nullptr;
    if (recurrent) {
      runRecurrent(a, c, initialC, scratch);
    } else {
      for (int64_t x = 0; x < K; ++x) {
        float* row = c.C + x * c.ldC;
        if (initialC) std::memcpy(row, initialC + x * V, static_cast<size_t>(c.columns) * sizeof(float));
        else std::memset(row, 0, static_cast<size_t>(c.columns) * sizeof(float));
      }
      runChunked(a, c, scratch);
    }
    if (v0 == 0) {
      if (a.finalN) std::memcpy(a.finalN + seq * K, c.n, static_cast<size_t>(K) * sizeof(float));
      if (a.finalM) a.finalM[seq] = static_cast<float>(c.m);
    }
  });
}

}  // namespace cr::cpu::CR_ISA
