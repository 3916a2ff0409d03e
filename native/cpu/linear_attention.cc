// Gated linear attention: the chunked form of flash-linear-attention's GLA /
// simple GLA (fla/ops/gla/naive.py, fla/ops/simple_gla/naive.py), per batch row and head
//
//   S_t = diag(exp(gk_t)) · exp(g_t) · S_{t−1} + k_tᵀ v_t,   o_t = scale · q_t S_t
//
// (the current token's k_t v_t is in S_t; no decay without g and gk). With
// a_u = exp(gk_u + g_u) the decay of one step, token s reaches S_t (s ≤ t)
// through Π_{u=s+1..t} a_u. A chunk of L tokens starting from state S0 splits into
//
//   o_t  = scale·(q_t ⊙ Π_{u≤t} a_u) · S0  +  Σ_{s≤t} scale·Σ_x q_t[x] k_s[x] Π_{u=s+1..t} a_u[x] · v_s
//          └ inter-chunk: qInter · S0 ┘       └ intra-chunk: A[t, s] · v_s, A lower-triangular ┘
//   S_L  = (Π_u a_u) ⊙rows S0 + Σ_s (k_s ⊙ Π_{u=s+1..L} a_u)ᵀ v_s
//
// Every factor is a product of decays ≤ 1: it can underflow, never overflow,
// whatever the decay (log decays of −20 per step and beyond). Products are
// formed by multiplying the a_u, not as exp(cumsum_t − cumsum_s): a
// difference of two long cumulative sums loses digits to cancellation.
//
// Per-channel decays (gk) make A[t, s] a decayed inner product, which is not
// one matrix product. Rows are taken in sub-blocks of kSubBlock tokens: for
// t in the block starting at t0 and s < t0, Π_{u=s+1..t} = Π_{u=t0..t} · Π_{u=s+1..t0−1},
// so A[t, s] = (q_t ⊙ Π_{t0..t}) · (k_s ⊙ Π_{s+1..t0−1}): a matrix product of
// two factor-scaled operands. Inside the block (s ≥ t0), the factor is built up
// by one multiplication per earlier s.
//
// For short sequences (decoding) the recurrence itself runs, token by token.
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

constexpr int64_t kSubBlock = 16;       // rows per per-channel-decay sub-block
constexpr int64_t kRecurrentGroup = 16;  // tokens whose decays are computed together on the recurrent path

enum class Decay { None, Scalar, Channel };

// One (batch, head) sequence restricted to a range of V columns.
struct Sequence {
  const float* q;
  const float* k;
  const float* v;  // at column v0
  const float* g;
  const float* gk;
  float* o;  // at column v0
  int64_t qkStride, voStride, gStride;
  int64_t columns;
  float* S;  // [K, columns] state, leading dimension ldS
  int64_t ldS;
};

struct ChunkBuffers {
  float* qs;     // [C, K]: scale·q, turned into qInter
  float* kT;     // [K, C]: kᵀ (per-channel decays: k̃ᵀ, then kUpdᵀ)
  float* kUpd;   // [C, K]: k_s ⊙ Π_{u>s} a_u for a scalar decay
  float* vChunk; // [C, columns]: the chunk's v, contiguous
  float* A;      // [C, C]
  float* decay;  // [C, K] (per channel) or [C] (scalar): a_u
  float* gamma;  // [K]: decay of the whole chunk, per state row
  float* run;    // [max(K, C)]: running products
  float* cum;    // [K]
};

static inline float logDecay(const Sequence& s, int64_t t) { return s.g ? s.g[t * s.gStride] : 0.0f; }

// a_u = exp(gk_u + g_u) for the L tokens from c0, [L, K].
static void channelDecays(const Sequence& s, int64_t c0, int64_t L, int64_t K, float* decay) {
  for (int64_t u = 0; u < L; ++u) {
    const float* gk = s.gk + (c0 + u) * s.qkStride;
    const Vec g = vset(logDecay(s, c0 + u));
    float* out = decay + u * K;
    for (int64_t x = 0; x < K; x += kLanes) {
      const int n = static_cast<int>(std::min<int64_t>(kLanes, K - x));
      vstorePartial(out + x, vexp(vloadPartial(gk + x, n) + g), n);
    }
  }
}

// Zeroes A[t, s] for s > t (the parts the triangular products read).
static void maskUpper(float* A, int64_t C, int64_t L) {
  for (int64_t t = 0; t + 1 < L; ++t) std::memset(A + t * C + t + 1, 0, static_cast<size_t>(L - t - 1) * sizeof(float));
}

// Intra-chunk scores, qInter, kUpdᵀ and γ for a scalar decay per step.
static void prepareScalarDecay(const Sequence& s, int64_t c0, int64_t L, int64_t K, int64_t C, ChunkBuffers& w) {
  float* a = w.decay;
  for (int64_t u = 0; u < L; ++u) a[u] = std::exp(logDecay(s, c0 + u));
  // Row t of the decay matrix is row t − 1 times a_t, plus a 1 on the diagonal.
  float* rowDecay = w.run;
  float prefix = 1.0f;
  for (int64_t t = 0; t < L; ++t) {
    const Vec at = vset(a[t]);
    float* row = w.A + t * C;
    for (int64_t x = 0; x < t; x += kLanes) {
      const int n = static_cast<int>(std::min<int64_t>(kLanes, t - x));
      const Vec d = vloadPartial(rowDecay + x, n) * at;
      vstorePartial(rowDecay + x, d, n);
      vstorePartial(row + x, vloadPartial(row + x, n) * d, n);
    }
    rowDecay[t] = 1.0f;
    prefix *= a[t];
    la::copyRows(w.qs + t * K, 0, 1, K, prefix, w.qs + t * K);
  }
  maskUpper(w.A, C, L);
  float suffix = 1.0f;
  for (int64_t t = L - 1; t >= 0; --t) {
    la::copyRows(s.k + (c0 + t) * s.qkStride, 0, 1, K, suffix, w.kUpd + t * K);
    suffix *= a[t];
  }
  for (int64_t x = 0; x < K; ++x) w.gamma[x] = prefix;
}

// Σ_x u[x]·k[x], then u ⊙= a (one pass over u).
static inline float dotThenDecay(float* u, const float* k, const float* a, int64_t K) {
  Vec acc = vzero();
  for (int64_t x = 0; x < K; x += kLanes) {
    const int n = static_cast<int>(std::min<int64_t>(kLanes, K - x));
    const Vec ux = vloadPartial(u + x, n);
    acc = vfma(ux, vloadPartial(k + x, n), acc);
    vstorePartial(u + x, ux * vloadPartial(a + x, n), n);
  }
  return vreduceAdd(acc);
}

// The same for per-channel decays (see the comment at the top).
static void prepareChannelDecay(const Sequence& s, int64_t c0, int64_t L, int64_t K, int64_t C, ChunkBuffers& w) {
  channelDecays(s, c0, L, K, w.decay);
  const float* k = s.k + c0 * s.qkStride;
  float* kTilde = w.kT;  // column s: k_s ⊙ Π_{u=s+1..t0−1} a_u for the block starting at t0
  float* run = w.run;
  for (int64_t x = 0; x < K; ++x) w.cum[x] = 1.0f;
  for (int64_t t0 = 0; t0 < L; t0 += kSubBlock) {
    const int64_t t1 = std::min(L, t0 + kSubBlock);
    // Inside the block: u = scale·q_t ⊙ Π_{u=s+1..t} a_u, built from s = t down.
    for (int64_t t = t0; t < t1; ++t) {
      std::memcpy(run, w.qs + t * K, static_cast<size_t>(K) * sizeof(float));
      float* row = w.A + t * C;
      for (int64_t si = t; si >= t0; --si) row[si] = dotThenDecay(run, k + si * s.qkStride, w.decay + si * K, K);
    }
    // qhat_t = scale·q_t ⊙ Π_{u=t0..t} a_u; run ends as the block's total decay.
    for (int64_t x = 0; x < K; ++x) run[x] = 1.0f;
    for (int64_t t = t0; t < t1; ++t) {
      la::multiplyInPlace(run, w.decay + t * K, K);
      la::multiplyInPlace(w.qs + t * K, run, K);
    }
    if (t0 > 0) {
      const Term earlier{w.qs + t0 * K, K, kTilde, C, K};
      la::product(t1 - t0, t0, &earlier, 1, w.A + t0 * C, C, nullptr, nullptr);
    }
    // qInter_t = qhat_t ⊙ Π_{u<t0} a_u.
    for (int64_t t = t0; t < t1; ++t) la::multiplyInPlace(w.qs + t * K, w.cum, K);
    la::multiplyInPlace(w.cum, run, K);
    // Move kTilde's reference point to t1.
    for (int64_t x = 0; x < K; ++x) {
      const Vec total = vset(run[x]);
      float* col = kTilde + x * C;
      for (int64_t si = 0; si < t0; si += kLanes) {
        const int n = static_cast<int>(std::min<int64_t>(kLanes, t0 - si));
        vstorePartial(col + si, vloadPartial(col + si, n) * total, n);
      }
    }
    for (int64_t x = 0; x < K; ++x) run[x] = 1.0f;
    for (int64_t si = t1 - 1; si >= t0; --si) {
      const float* ks = k + si * s.qkStride;
      for (int64_t x = 0; x < K; ++x) kTilde[x * C + si] = ks[x] * run[x];
      la::multiplyInPlace(run, w.decay + si * K, K);
    }
  }
  maskUpper(w.A, C, L);
  std::memcpy(w.gamma, w.cum, static_cast<size_t>(K) * sizeof(float));
}

static void runChunked(const LinearAttentionArgs& a, Sequence& s, Decay decay, ScratchScope& scratch) {
  const int64_t K = a.K, T = a.T;
  const int64_t C = std::min(a.chunkSize, T);
  ChunkBuffers w;
  w.qs = scratch.allocate<float>(static_cast<size_t>(C * K));
  w.kT = scratch.allocate<float>(static_cast<size_t>(K * C));
  w.kUpd = decay == Decay::Scalar ? scratch.allocate<float>(static_cast<size_t>(C * K)) : nullptr;
  w.vChunk = scratch.allocate<float>(static_cast<size_t>(C * s.columns));
  w.A = scratch.allocate<float>(static_cast<size_t>(C * C));
  w.decay = scratch.allocate<float>(static_cast<size_t>(C * K));
  w.gamma = scratch.allocate<float>(static_cast<size_t>(K));
  w.run = scratch.allocate<float>(static_cast<size_t>(std::max(K, C)));
  w.cum = scratch.allocate<float>(static_cast<size_t>(K));
  if (decay == Decay::None) {
    for (int64_t x = 0; x < K; ++x) w.gamma[x] = 1.0f;
  }
  for (int64_t c0 = 0; c0 < T; c0 += C) {
    const int64_t L = std::min(C, T - c0);
    const float* k = s.k + c0 * s.qkStride;
    if (c0 + C < T) {
      const int64_t next = std::min(C, T - c0 - C);
      la::prefetchRows(s.q + (c0 + C) * s.qkStride, s.qkStride, next, K);
      la::prefetchRows(s.k + (c0 + C) * s.qkStride, s.qkStride, next, K);
      la::prefetchRows(s.v + (c0 + C) * s.voStride, s.voStride, next, s.columns);
      if (s.gk) la::prefetchRows(s.gk + (c0 + C) * s.qkStride, s.qkStride, next, K);
    }
    // A contiguous copy: rows of v are heads·V apart, often a multiple of 4 KB,
    // which would map a whole chunk onto a few L1 sets.
    const float* v = w.vChunk;
    la::copyRows(s.v + c0 * s.voStride, s.voStride, L, s.columns, 1.0f, w.vChunk);
    la::copyRows(s.q + c0 * s.qkStride, s.qkStride, L, K, a.scale, w.qs);
    if (decay == Decay::Channel) {
      prepareChannelDecay(s, c0, L, K, C, w);
    } else {
      la::transposeRows(k, s.qkStride, L, K, 1.0f, w.kT, C);
      const Term scores{w.qs, K, w.kT, C, K};
      la::product(L, L, &scores, 1, w.A, C, nullptr, nullptr, /*skipUpper=*/true);
      if (decay == Decay::Scalar) prepareScalarDecay(s, c0, L, K, C, w);
      else maskUpper(w.A, C, L);
    }
    // o = qInter · S + A · v with the state from before the chunk, then the state update.
    const Term output[2] = {{w.qs, K, s.S, s.ldS, K}, {w.A, C, v, s.columns, L, /*lowerTriangular=*/true}};
    la::product(L, s.columns, output, 2, s.o + c0 * s.voStride, s.voStride, nullptr, nullptr);
    // kUpdᵀ · v: kUpd is read transposed from its [L, K] rows, except for
    // per-channel decays, which build it as kUpdᵀ [K, C].
    if (decay == Decay::Channel) {
      const Term update{w.kT, C, v, s.columns, L};
      la::product(K, s.columns, &update, 1, s.S, s.ldS, nullptr, w.gamma);
    } else {
      const Term update{decay == Decay::Scalar ? w.kUpd : k, decay == Decay::Scalar ? K : s.qkStride, v, s.columns, L};
      la::product<true>(K, s.columns, &update, 1, s.S, s.ldS, nullptr, w.gamma);
    }
  }
}

static void runRecurrent(const LinearAttentionArgs& a, Sequence& s, Decay decay, const float* initial,
                         ScratchScope& scratch) {
  const int64_t K = a.K, T = a.T;
  const int64_t G = std::min(kRecurrentGroup, T);
  float* decayRows = decay == Decay::Channel ? scratch.allocate<float>(static_cast<size_t>(G * K)) : nullptr;
  float* decayScalar = decay == Decay::Scalar ? scratch.allocate<float>(static_cast<size_t>(G)) : nullptr;
  float* outScale = scratch.allocate<float>(static_cast<size_t>(G));
  for (int64_t u = 0; u < G; ++u) outScale[u] = a.scale;
  const float* first = initial;
  int64_t ldFirst = a.V;
  for (int64_t t0 = 0; t0 < T; t0 += G) {
    const int64_t n = std::min(G, T - t0);
    if (decayRows) channelDecays(s, t0, n, K, decayRows);
    if (decayScalar) {
      for (int64_t u = 0; u < n; ++u) decayScalar[u] = std::exp(logDecay(s, t0 + u));
    }
    la::recurrentColumns(n, K, s.columns, s.q + t0 * s.qkStride, s.k + t0 * s.qkStride, s.qkStride,
                         s.v + t0 * s.voStride, s.o + t0 * s.voStride, s.voStride, decayScalar, decayRows, nullptr,
                         outScale, s.S, s.ldS, first, ldFirst);
    first = s.S;
    ldFirst = s.ldS;
  }
}

}  // namespace

void linearAttention(const LinearAttentionArgs& a) {
  const int64_t H = a.heads, K = a.K, V = a.V;
  const Decay decay = a.gk ? Decay::Channel : a.g ? Decay::Scalar : Decay::None;
  const bool recurrent = useRecurrentForm(a.mode, a.T, a.chunkSize);
  const la::Split split = la::splitWork(a.batch * H, V);
  la::runTasks(split.tasks(), a.batch * H * a.T * K * V, [&](int64_t task) {
    la::FlushDenormals flush;
    ScratchScope scratch;
    const int64_t seq = task / split.ranges;
    const int64_t v0 = (task % split.ranges) * split.columnsPerRange;
    const int64_t b = seq / H, h = seq % H;
    Sequence s;
    s.qkStride = H * K;
    s.voStride = H * V;
    s.gStride = H;
    s.q = a.q + (b * a.T * H + h) * K;
    s.k = a.k + (b * a.T * H + h) * K;
    s.v = a.v + (b * a.T * H + h) * V + v0;
    s.o = a.o + (b * a.T * H + h) * V + v0;
    s.g = a.g ? a.g + b * a.T * H + h : nullptr;
    s.gk = a.gk ? a.gk + (b * a.T * H + h) * K : nullptr;
    s.columns = std::min(split.columnsPerRange, V - v0);
    if (a.finalState) {
      s.S = a.finalState + seq * K * V + v0;
      s.ldS = V;
    } else {
      s.S = scratch.allocate<float>(static_cast<size_t>(K * s.columns));
      s.ldS = s.columns;
    }
    const float* initial = a.initialState ? a.initialState + seq * K * V + v0 : nullptr;
    if (recurrent) {
      runRecurrent(a, s, decay, initial, scratch);
      return;
    }
    for (int64_t x = 0; x < K; ++x) {
      float* row = s.S + x * s.ldS;
      if (initial) std::memcpy(row, initial + x * V, static_cast<size_t>(s.columns) * sizeof(float));
      else std::memset(row, 0, static_cast<size_t>(s.columns) * sizeof(float));
    }
    runChunked(a, s, decay, scratch);
  });
}

}  // namespace cr::cpu::CR_ISA
