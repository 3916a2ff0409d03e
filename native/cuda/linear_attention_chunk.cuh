// The chunked form shared by linearAttention (linear_attention.cu) and mlstm (mlstm.cu).
// Included by those two .cu files only (device code in an unnamed namespace).
//
// Both carry a [K, Vs] state S per (batch b, head h) and, for a chunk of L ≤ kRows tokens
// starting at c0 with state S0 before it, reduce to
//
//   o_t  = rowScale_t · ( q̂_t · S0  +  Σ_{s≤t} A[t, s] · v_s ),   A[t, s] = Σ_x q_t[x] k_s[x] w_{t,s}[x]
//   S_L  = γ ⊙rows S0 + Σ_s (k_s ⊙ u_s)ᵀ v_s
//
// with every weight the exponential of a log weight ≤ 0 (for decays ≤ 1), formed relative to the
// chunk start or end, never as exp(+cumulative sum) (which overflows at log decays of −20 per step):
//   linearAttention, G_t = Σ_{c0≤u≤t} (g_u + gk_u) chunk-local (per channel with gk):
//     q̂_t = scale·q_t ⊙ e^{G_t},  w_{t,s} = e^{G_t − G_s},  u_s = e^{G_{L−1} − G_s},  γ = e^{G_{L−1}}
//   mlstm (b_t: cumulative log σ(f), m_t: the stabiliser, both from mlstm.cu's gate scan; m0 = m_{c0−1}):
//     q̂_t = scale·q_t · e^{b_t − b_{c0−1} + m0 − m_t},  w_{t,s} = e^{b_t − b_s + i_s − m_t},
//     u_s = e^{b_{L−1} − b_s + i_s − m_{L−1}},  γ = e^{b_{L−1} − b_{c0−1} + m0 − m_{L−1}},
//     and the normaliser n rides along as state column V (its "v" is 1), rowScale_t = 1/(max(|q̂·n|, e^{−m_t}) + eps).
// G_t − G_s spans at most one chunk (≤ 64 steps), so the float cancellation in the difference stays
// within a few ulp of the chunk's own decay; mlstm's exponents are formed in double as on the CPU.
//
// Parallel decomposition (two kernels after the op's prepass):
//  * chunkStateKernel: the sequential pass over chunks. A block owns a kStateRows × kCols tile of S
//    of one (b, h) in registers (8 elements per thread) and walks the chunks in order: it stores S
//    before each chunk to `states` (for the output kernel), stages the chunk's weighted keys and
//    values in shared memory and applies the update. Parallel over (b, h, K tiles, Vs tiles).
//  * chunkOutputKernel: every chunk independently. A block owns (b, h, chunk, kCols columns of V):
//    in K slices of kDepth it stages q, k (and the per-channel log decays) and the slice of S0,
//    accumulates A (4 × 4 per thread) and q̂ · S0 (4 × 4 per thread), then masks and weights A,
//    (per-channel decays: off-diagonal 16 × 16 blocks of A from decay-factored q̃, k̃ staged per
//    slice, see RelativeSlices; only the diagonal blocks take an exponential per (t, s, x)),
//    stages v and adds A · v. A is recomputed per V tile (V / kCols times), which is cheaper than a
//    round trip through global memory for the head sizes this is for (V ≤ 128: once or twice).
#pragma once
#include <climits>
#include <cstdint>
#include <type_traits>

#include "../core/error.h"
#include "../cpu/kernels.h"

namespace cr::cuda {
namespace {

enum class ChunkKind { None, Scalar, Channel, Mlstm };

constexpr int kChunkThreads = 256;
constexpr int kRows = 64;       // most tokens per chunk on the GPU
constexpr int kCols = 64;       // V columns per block
constexpr int kDepth = 16;      // K channels per slice of the output kernel
constexpr int kStateRows = 32;  // K rows per block of the state kernel

struct ChunkParams {
  int64_t batch = 0, T = 0, heads = 0, K = 0, V = 0;
  int64_t Vs = 0;      // state columns: V, or V + 1 for mlstm (column V is n)
  int64_t C = 0;       // chunk length (≤ kRows)
  int64_t chunks = 0;  // ⌈T / C⌉
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  // linearAttention: chunk-local cumulative log decays, [b, T, h] (Scalar) or [b, T, h, K] (Channel).
  const float* logDecay = nullptr;
  // mlstm: cumulative log forget gates and stabilisers per (b·h, t) (double), the input gates [b, T, h].
  const double* cum = nullptr;
  const double* m = nullptr;
  const float* inputGate = nullptr;
  const float* initialM = nullptr;
  // S before token 0: initialState / initialC [b, h, K, V] and initialN [b, h, K] (null: zeros).
  const float* initialState = nullptr;
  const float* initialN = nullptr;
  float* states = nullptr;  // [b·h, chunks, K, Vs]: S before each chunk
  float* finalState = nullptr;
  float* finalN = nullptr;
  float* o = nullptr;
  float scale = 1.0f, eps = 0.0f;
};

// Per-token scalars of a chunk for the kinds whose weights do not depend on the channel,
// staged once per chunk: the log weight pieces, so that pair weights are one subtraction away.
struct TokenScalars {
  float g[kRows];       // Scalar: G_t
  double cum[kRows];    // Mlstm: b_t
  double m[kRows];      // Mlstm: m_t
  double logI[kRows];   // Mlstm: i_t
  double cumPrev, mPrev;  // Mlstm: b_{c0−1} (0 at c0 = 0) and m_{c0−1} (initialM or 0 at c0 = 0)
};

template <ChunkKind kind>
__device__ inline void stageTokenScalars(const ChunkParams& p, int64_t b, int64_t h, int64_t c0, int64_t L,
                                         TokenScalars& s) {
  const int tid = static_cast<int>(threadIdx.x);
  if constexpr (kind == ChunkKind::Scalar) {
    for (int t = tid; t < kRows; t += kChunkThreads) s.g[t] = t < L ? p.logDecay[(b * p.T + c0 + t) * p.heads + h] : 0.0f;
  }
  if constexpr (kind == ChunkKind::Mlstm) {
    const int64_t seq = b * p.heads + h;
    for (int t = tid; t < kRows; t += kChunkThreads) {
      const bool in = t < L;
      s.cum[t] = in ? p.cum[seq * p.T + c0 + t] : 0.0;
      s.m[t] = in ? p.m[seq * p.T + c0 + t] : 0.0;
      s.logI[t] = in ? static_cast<double>(p.inputGate[(b * p.T + c0 + t) * p.heads + h]) : 0.0;
    }
    if (tid == 0) {
      s.cumPrev = c0 > 0 ? p.cum[seq * p.T + c0 - 1] : 0.0;
      s.mPrev = c0 > 0 ? p.m[seq * p.T + c0 - 1] : (p.initialM ? static_cast<double>(p.initialM[seq]) : 0.0);
    }
  }
}

// The state pass. Block: (b·h, K tile of kStateRows, Vs tile of kCols), flattened into blockIdx.x.
// Thread (ty, tx) of 16 × 16 owns rows ty + 16i (i < 2) and columns tx + 16j (j < 4).
template <ChunkKind kind>
__global__ void __launch_bounds__(kChunkThreads) chunkStateKernel(ChunkParams p) {
  __shared__ float sKey[kRows][kStateRows + 1];  // k_s ⊙ u_s
  __shared__ float sVal[kRows][kCols];
  __shared__ float sGamma[kStateRows];
  __shared__ TokenScalars sTok;
  __shared__ float sWeight[kRows];  // u_s for the channel-independent kinds

  const int64_t kTiles = (p.K + kStateRows - 1) / kStateRows;
  const int64_t vTiles = (p.Vs + kCols - 1) / kCols;
  int64_t block = blockIdx.x;
  const int64_t vt = block % vTiles;
  block /= vTiles;
  const int64_t kt = block % kTiles;
  const int64_t seq = block / kTiles;
  const int64_t b = seq / p.heads, h = seq % p.heads;
  const int64_t x0 = kt * kStateRows, j0 = vt * kCols;
  const int tid = static_cast<int>(threadIdx.x);
  const int ty = tid / 16, tx = tid % 16;

  float S[2][4];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int64_t x = x0 + ty + 16 * i;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t col = j0 + tx + 16 * j;
      float init = 0.0f;
      if (x < p.K) {
        if (col < p.V) {
          if (p.initialState) init = p.initialState[(seq * p.K + x) * p.V + col];
        } else if (kind == ChunkKind::Mlstm && col == p.V) {
          if (p.initialN) init = p.initialN[seq * p.K + x];
        }
      }
      S[i][j] = init;
    }
  }

  for (int64_t c = 0; c < p.chunks; ++c) {
    const int64_t c0 = c * p.C;
    const int64_t L = p.T - c0 < p.C ? p.T - c0 : p.C;
    float* before = p.states + (seq * p.chunks + c) * p.K * p.Vs;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int64_t x = x0 + ty + 16 * i;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int64_t col = j0 + tx + 16 * j;
        if (x < p.K && col < p.Vs) before[x * p.Vs + col] = S[i][j];
      }
    }
    stageTokenScalars<kind>(p, b, h, c0, L, sTok);
    __syncthreads();
    if constexpr (kind == ChunkKind::Scalar || kind == ChunkKind::Mlstm || kind == ChunkKind::None) {
      for (int s = tid; s < kRows; s += kChunkThreads) {
        float u = 0.0f;
        if (s < L) {
          if constexpr (kind == ChunkKind::None) u = 1.0f;
          if constexpr (kind == ChunkKind::Scalar) u = expf(sTok.g[L - 1] - sTok.g[s]);
          if constexpr (kind == ChunkKind::Mlstm) {
            u = static_cast<float>(exp(sTok.cum[L - 1] - sTok.cum[s] + sTok.logI[s] - sTok.m[L - 1]));
          }
        }
        sWeight[s] = u;
      }
      if (tid < kStateRows) {
        float gamma = 1.0f;
        if constexpr (kind == ChunkKind::Scalar) gamma = expf(sTok.g[L - 1]);
        if constexpr (kind == ChunkKind::Mlstm) {
          gamma = static_cast<float>(exp(sTok.cum[L - 1] - sTok.cumPrev + sTok.mPrev - sTok.m[L - 1]));
        }
        sGamma[tid] = gamma;
      }
      __syncthreads();
    } else {
      // Channel: γ[x] = e^{G_{L−1}[x]}.
      if (tid < kStateRows) {
        const int64_t x = x0 + tid;
        sGamma[tid] = x < p.K ? expf(p.logDecay[((b * p.T + c0 + L - 1) * p.heads + h) * p.K + x]) : 0.0f;
      }
    }
    for (int idx = tid; idx < kRows * kStateRows; idx += kChunkThreads) {
      const int s = idx / kStateRows, xx = idx % kStateRows;
      const int64_t x = x0 + xx;
      float key = 0.0f;
      if (s < L && x < p.K) {
        const int64_t row = (b * p.T + c0 + s) * p.heads + h;
        key = p.k[row * p.K + x];
        if constexpr (kind == ChunkKind::Channel) {
          const int64_t last = (b * p.T + c0 + L - 1) * p.heads + h;
          key *= expf(p.logDecay[last * p.K + x] - p.logDecay[row * p.K + x]);
        } else {
          key *= sWeight[s];
        }
      }
      sKey[s][xx] = key;
    }
    for (int idx = tid; idx < kRows * kCols; idx += kChunkThreads) {
      const int s = idx / kCols, jj = idx % kCols;
      const int64_t col = j0 + jj;
      float val = 0.0f;
      if (s < L) {
        if (col < p.V) val = p.v[((b * p.T + c0 + s) * p.heads + h) * p.V + col];
        else if (kind == ChunkKind::Mlstm && col == p.V) val = 1.0f;
      }
      sVal[s][jj] = val;
    }
    __syncthreads();
    float acc[2][4] = {};
    for (int s = 0; s < L; ++s) {
      float kv[2], vv[4];
#pragma unroll
      for (int i = 0; i < 2; ++i) kv[i] = sKey[s][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) vv[j] = sVal[s][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 2; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(kv[i], vv[j], acc[i][j]);
      }
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float gamma = sGamma[ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) S[i][j] = fmaf(gamma, S[i][j], acc[i][j]);
    }
    // The next chunk restages sKey, sVal, sGamma and the token scalars.
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int64_t x = x0 + ty + 16 * i;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t col = j0 + tx + 16 * j;
      if (x >= p.K) continue;
      if (col < p.V) {
        if (p.finalState) p.finalState[(seq * p.K + x) * p.V + col] = S[i][j];
      } else if (kind == ChunkKind::Mlstm && col == p.V) {
        if (p.finalN) p.finalN[seq * p.K + x] = S[i][j];
      }
    }
  }
}

// Shared memory of the output kernel: the K slice (q, k, log decays, S0) while A and q̂·S0
// accumulate, then v once A is complete.
// Per-channel decays, between row block i and an earlier column block j (blocks of kSub tokens,
// the thread tiling's), with r_j = kSub·j + kSub − 1 the last token of block j (s ≤ r_j < t):
//   A[t, s] = Σ_x (q_t e^{G_t − G_{r_j}})[x] · (k_s e^{G_{r_j} − G_s})[x],
// both factors ≤ 1, staged once per slice (k̃ for the rows of blocks 0–2, q̃ for each j < i,
// packed: j = 0 rows 16–63, j = 1 rows 32–63, j = 2 rows 48–63). Only the kSub × kSub diagonal
// blocks take one exponential per (t, s, x).
constexpr int kSub = 16;
constexpr int kRelRowsK = kRows - kSub;                  // 48
constexpr int kRelRowsQ = (kRows / kSub) * (kRows / kSub - 1) / 2 * kSub;  // 96
struct RelativeSlices {
  float k[kRelRowsK][kDepth + 1];
  float q[kRelRowsQ][kDepth + 1];
};
struct NoRelativeSlices {};

template <ChunkKind kind>
struct OutputSlices {
  float q[kRows][kDepth + 1];
  float k[kRows][kDepth + 1];
  float g[kRows][kDepth + 1];
  float S[kDepth][kCols];
  float n[kDepth];
  std::conditional_t<kind == ChunkKind::Channel, RelativeSlices, NoRelativeSlices> rel;
};
template <ChunkKind kind>
union OutputStage {
  OutputSlices<kind> slice;
  float v[kRows][kCols];
};

// Packed row of q̃ for column block j and token t (t in a row block after j).
__device__ inline int relativeQRow(int j, int t) {
  return j * (2 * (kRows / kSub) - j - 1) / 2 * kSub + t - kSub * (j + 1);
}

// The outputs. Block: (b·h · chunks) in blockIdx.x, the V tile in blockIdx.y.
// Thread (ty, tx) of 16 × 16 owns rows t = ty + 16i and columns (of A: s; of o: j) tx + 16j, i, j < 4.
template <ChunkKind kind>
__global__ void __launch_bounds__(kChunkThreads) chunkOutputKernel(ChunkParams p) {
  __shared__ OutputStage<kind> stage;
  __shared__ float sA[kRows][kRows + 1];
  __shared__ TokenScalars sTok;
  __shared__ float sInter[kRows];   // the row factor of q̂ for the channel-independent kinds
  __shared__ float sInvDen[kRows];  // mlstm: 1 / (max(|q̂·n|, e^{−m}) + eps)

  const int64_t seq = blockIdx.x / p.chunks;
  const int64_t c = blockIdx.x % p.chunks;
  const int64_t b = seq / p.heads, h = seq % p.heads;
  const int64_t c0 = c * p.C;
  const int64_t L = p.T - c0 < p.C ? p.T - c0 : p.C;
  const int64_t j0 = static_cast<int64_t>(blockIdx.y) * kCols;
  const int tid = static_cast<int>(threadIdx.x);
  const int ty = tid / 16, tx = tid % 16;
  const float* S0 = p.states + (seq * p.chunks + c) * p.K * p.Vs;

  stageTokenScalars<kind>(p, b, h, c0, L, sTok);

  float a[4][4] = {};
  float o[4][4] = {};
  float qn = 0.0f;  // mlstm, threads t < kRows: q_t · n0 (scaled q)
  for (int64_t x0 = 0; x0 < p.K; x0 += kDepth) {
    for (int idx = tid; idx < kRows * kDepth; idx += kChunkThreads) {
      const int t = idx / kDepth, xx = idx % kDepth;
      const int64_t x = x0 + xx;
      float qv = 0.0f, kv = 0.0f, gv = 0.0f;
      if (t < L && x < p.K) {
        const int64_t row = (b * p.T + c0 + t) * p.heads + h;
        qv = p.q[row * p.K + x] * p.scale;
        kv = p.k[row * p.K + x];
        if constexpr (kind == ChunkKind::Channel) gv = p.logDecay[row * p.K + x];
      }
      stage.slice.q[t][xx] = qv;
      stage.slice.k[t][xx] = kv;
      stage.slice.g[t][xx] = gv;
    }
    for (int idx = tid; idx < kDepth * kCols; idx += kChunkThreads) {
      const int xx = idx / kCols, jj = idx % kCols;
      const int64_t x = x0 + xx, col = j0 + jj;
      stage.slice.S[xx][jj] = x < p.K && col < p.V ? S0[x * p.Vs + col] : 0.0f;
    }
    if constexpr (kind == ChunkKind::Mlstm) {
      if (tid < kDepth) {
        const int64_t x = x0 + tid;
        stage.slice.n[tid] = x < p.K ? S0[x * p.Vs + p.V] : 0.0f;
      }
    }
    __syncthreads();
    if constexpr (kind == ChunkKind::Channel) {
      for (int idx = tid; idx < kRelRowsK * kDepth; idx += kChunkThreads) {
        const int s = idx / kDepth, xx = idx % kDepth;
        const int r = (s / kSub) * kSub + kSub - 1;
        // r ≥ L: no token follows block j in this chunk, the row is never read.
        stage.slice.rel.k[s][xx] =
            r < L ? stage.slice.k[s][xx] * expf(stage.slice.g[r][xx] - stage.slice.g[s][xx]) : 0.0f;
      }
      for (int idx = tid; idx < kRelRowsQ * kDepth; idx += kChunkThreads) {
        const int row = idx / kDepth, xx = idx % kDepth;
        int j = 0;
        while (j + 1 < kRows / kSub - 1 && row >= relativeQRow(j + 1, kSub * (j + 2))) ++j;
        const int t = row - relativeQRow(j, kSub * (j + 1)) + kSub * (j + 1);
        const int r = kSub * j + kSub - 1;
        stage.slice.rel.q[row][xx] =
            t < L ? stage.slice.q[t][xx] * expf(stage.slice.g[t][xx] - stage.slice.g[r][xx]) : 0.0f;
      }
      __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int t = ty + 16 * i;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int s = tx + 16 * j;
        if (s > t || t >= L) continue;  // masked: for per-channel decays e^{G_t − G_s} may overflow there
        float sum = a[i][j];
        if constexpr (kind == ChunkKind::Channel) {
          if (j < i) {
            const float* qr = stage.slice.rel.q[relativeQRow(j, t)];
#pragma unroll
            for (int xx = 0; xx < kDepth; ++xx) sum = fmaf(qr[xx], stage.slice.rel.k[s][xx], sum);
          } else {
#pragma unroll
            for (int xx = 0; xx < kDepth; ++xx) {
              const float w = expf(stage.slice.g[t][xx] - stage.slice.g[s][xx]);
              sum = fmaf(stage.slice.q[t][xx] * stage.slice.k[s][xx], w, sum);
            }
          }
        } else {
#pragma unroll
          for (int xx = 0; xx < kDepth; ++xx) sum = fmaf(stage.slice.q[t][xx], stage.slice.k[s][xx], sum);
        }
        a[i][j] = sum;
      }
    }
    if constexpr (kind == ChunkKind::Channel) {
      // q̂ = q ⊙ e^{G_t}, in place, once A's reads of q are done.
      __syncthreads();
      for (int idx = tid; idx < kRows * kDepth; idx += kChunkThreads) {
        const int t = idx / kDepth, xx = idx % kDepth;
        stage.slice.q[t][xx] *= expf(stage.slice.g[t][xx]);
      }
      __syncthreads();
    }
    if constexpr (kind == ChunkKind::Mlstm) {
      if (tid < kRows) {
#pragma unroll
        for (int xx = 0; xx < kDepth; ++xx) qn = fmaf(stage.slice.q[tid][xx], stage.slice.n[xx], qn);
      }
    }
#pragma unroll 4
    for (int xx = 0; xx < kDepth; ++xx) {
      float qv[4], sv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) qv[i] = stage.slice.q[ty + 16 * i][xx];
#pragma unroll
      for (int j = 0; j < 4; ++j) sv[j] = stage.slice.S[xx][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) o[i][j] = fmaf(qv[i], sv[j], o[i][j]);
      }
    }
    __syncthreads();  // the next slice (or v) overwrites the stage
  }

  // A's weights and mask; q̂'s row factor.
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int t = ty + 16 * i;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int s = tx + 16 * j;
      float value = 0.0f;
      if (s <= t && t < L) {
        value = a[i][j];
        if constexpr (kind == ChunkKind::Scalar) value *= expf(sTok.g[t] - sTok.g[s]);
        if constexpr (kind == ChunkKind::Mlstm) {
          value *= expf(static_cast<float>(sTok.cum[t] - sTok.cum[s] + sTok.logI[s] - sTok.m[t]));
        }
      }
      sA[t][s] = value;
    }
  }
  for (int t = tid; t < kRows; t += kChunkThreads) {
    float inter = 1.0f;
    if (t < L) {
      if constexpr (kind == ChunkKind::Scalar) inter = expf(sTok.g[t]);
      if constexpr (kind == ChunkKind::Mlstm) inter = static_cast<float>(exp(sTok.cum[t] - sTok.cumPrev + sTok.mPrev - sTok.m[t]));
    }
    sInter[t] = inter;
  }
  for (int idx = tid; idx < kRows * kCols; idx += kChunkThreads) {
    const int s = idx / kCols, jj = idx % kCols;
    const int64_t col = j0 + jj;
    stage.v[s][jj] = s < L && col < p.V ? p.v[((b * p.T + c0 + s) * p.heads + h) * p.V + col] : 0.0f;
  }
  __syncthreads();
  if constexpr (kind == ChunkKind::Mlstm) {
    if (tid < kRows) {
      const int t = tid;
      double rowSum = 0.0;
      for (int s = 0; s <= t && s < L; ++s) rowSum += sA[t][s];
      const double total = static_cast<double>(sInter[t]) * qn + rowSum;
      const double floor = t < L ? exp(-sTok.m[t]) : 1.0;
      sInvDen[t] = static_cast<float>(1.0 / (fmax(fabs(total), floor) + static_cast<double>(p.eps)));
    }
    __syncthreads();
  }
  float rowInter[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) rowInter[i] = sInter[ty + 16 * i];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#pragma unroll
    for (int j = 0; j < 4; ++j) o[i][j] *= rowInter[i];
  }
  const int64_t sEnd = L;
  for (int s = 0; s < sEnd; ++s) {
    float av[4], vv[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) av[i] = sA[ty + 16 * i][s];
#pragma unroll
    for (int j = 0; j < 4; ++j) vv[j] = stage.v[s][tx + 16 * j];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int j = 0; j < 4; ++j) o[i][j] = fmaf(av[i], vv[j], o[i][j]);
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int t = ty + 16 * i;
    if (t >= L) continue;
    const float rowScale = kind == ChunkKind::Mlstm ? sInvDen[t] : 1.0f;
    float* out = p.o + ((b * p.T + c0 + t) * p.heads + h) * p.V;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t col = j0 + tx + 16 * j;
      if (col < p.V) out[col] = o[i][j] * rowScale;
    }
  }
}

// The GPU's chunk length for the op's chunkSize. chunkSize only moves work between the intra-chunk
// block and the state pass (the result is the same up to rounding), so it is honoured within
// [kMinChunk, kRows]: above, the [C, C] block would not fit in shared memory; below, the output
// kernel's 64 rows would mostly idle and `states` (one [K, Vs] state per chunk) would grow to
// T / C states.
constexpr int64_t kMinChunk = 16;
inline int64_t gpuChunk(int64_t chunkSize) {
  return chunkSize < kMinChunk ? kMinChunk : chunkSize > kRows ? kRows : chunkSize;
}

// The grids of the two kernels (checked against the launch limits). The launches themselves
// are in the .cu files: the emulator build rewrites <<<…>>> in .cu files only.
struct ChunkGrids {
  unsigned stateBlocks;
  dim3 output;
};

inline ChunkGrids chunkGrids(const char* op, const ChunkParams& p) {
  const int64_t BH = p.batch * p.heads;
  const int64_t stateBlocks = BH * ((p.K + kStateRows - 1) / kStateRows) * ((p.Vs + kCols - 1) / kCols);
  const int64_t outBlocks = BH * p.chunks;
  const int64_t vTiles = (p.V + kCols - 1) / kCols;
  if (stateBlocks > INT_MAX || outBlocks > INT_MAX || vTiles > 65535) {
    throwRange(op, ": the sizes are too large for one CUDA launch (batch·heads·chunks = ", outBlocks, ", V = ", p.V, ")");
  }
  return {static_cast<unsigned>(stateBlocks), dim3(static_cast<unsigned>(outBlocks), static_cast<unsigned>(vTiles))};
}

}  // namespace
}  // namespace cr::cuda
