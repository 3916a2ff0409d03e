// Building blocks shared by the chunked linear-attention kernels
// (linear_attention.cc: GLA / simple GLA; mlstm.cc: xLSTM's mLSTM).
//
// Both ops carry a [K, V] state S across chunks and, per chunk of L tokens,
// end in the same two products once their decays are folded into operands:
//
//   o[L, V] = rowScale ⊙ (qInter[L, K] · S[K, V] + A[L, L] · v[L, V])   (A lower-triangular)
//   S[K, V] = γ ⊙rows S + kUpdᵀ[K, L] · v[L, V]
//
// `product` computes such sums of small products straight from row-major
// operands (no packing: every operand here is at most a few tens of KB and
// sits in L1/L2), with a register tile of MR rows × NR columns like gemm.cc's
// micro-kernel. `recurrentPanel` is the token-by-token form used for short
// sequences and decoding. Everything is static inline (see isa.h).
#pragma once
#include <algorithm>
#include <cstdint>

#if defined(__SSE__) || defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#define CR_LA_HAVE_MXCSR 1
#endif

#include "../core/threadpool.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {
namespace la {

#if defined(CR_ISA_AVX512)
constexpr int MR = 8, NV = 2;  // 16 zmm accumulators, as in gemm.cc
#elif defined(CR_ISA_AVX2)
constexpr int MR = 6, NV = 2;  // 12 ymm accumulators
#else
constexpr int MR = 4, NV = 4;
#endif
constexpr int NR = NV * kLanes;

// Products of many per-step decays ≤ 1 pass through the subnormal range on
// their way to zero, where x86 arithmetic can take a slow microcode path.
// Values that small are far below what float32 resolves next to the O(1)
// terms they are added to, so flush them (FTZ + DAZ) for the kernel's
// duration on this thread and restore the caller's mode afterwards.
class FlushDenormals {
 public:
#if defined(CR_LA_HAVE_MXCSR)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#else
  FlushDenormals() {}
#endif
 public:
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;
};

// One term a[M, depth] · b[depth, N] of a product; b is row-major (leading
// dimension ldb), a is row-major (a[i·lda + p]) or, in a product with
// transposedA, stored transposed (a[p·lda + i]). `lowerTriangular`: a is zero
// right of its diagonal, so row tile [i0, i0 + mr) only needs depth < i0 + mr.
struct Term {
  const float* a = nullptr;
  int64_t lda = 0;
  const float* b = nullptr;
  int64_t ldb = 0;
  int64_t depth = 0;
  bool lowerTriangular = false;
};

// c tile [mr × nr] = accScale ⊙rows (Σ terms) + oldScale ⊙rows c (oldScale null: overwrite).
// Rows past mr repeat the last row (their sums are never stored), so no read
// goes past the operand; kFullHeight (mr == MR) lets transposed reads use fixed offsets.
template <bool kFullWidth, bool kTransposedA, bool kFullHeight>
static inline void productTile(const Term* terms, int numTerms, int64_t i0, int mr, int nr, float* c, int64_t ldc,
                               const float* accScale, const float* oldScale) {
  Vec acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[i][j] = vzero();
  }
  int width[NV];
  for (int j = 0; j < NV; ++j) width[j] = std::max(0, std::min(kLanes, nr - j * kLanes));
  for (int term = 0; term < numTerms; ++term) {
    const Term& x = terms[term];
    const int64_t depth = x.lowerTriangular ? std::min<int64_t>(x.depth, i0 + mr) : x.depth;
    const float* arow[MR];
    int row[MR];
    for (int i = 0; i < MR; ++i) {
      row[i] = std::min(i, mr - 1);
      arow[i] = x.a + (i0 + row[i]) * x.lda;
    }
    const float* acol = x.a + i0;
    const float* brow = x.b;
    for (int64_t p = 0; p < depth; ++p, brow += x.ldb, acol += x.lda) {
      Vec bv[NV];
      if (kFullWidth) {
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) bv[j] = vload(brow + j * kLanes);
      } else {
        for (int j = 0; j < NV; ++j) bv[j] = width[j] > 0 ? vloadPartial(brow + j * kLanes, width[j]) : vzero();
      }
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const Vec av = vset(kTransposedA ? acol[kFullHeight ? i : row[i]] : arow[i][p]);
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) acc[i][j] = vfma(av, bv[j], acc[i][j]);
      }
    }
  }
  for (int i = 0; i < mr; ++i) {
    float* out = c + (i0 + i) * ldc;
    const Vec rowScale = vset(accScale ? accScale[i0 + i] : 1.0f);
    for (int j = 0; j < NV; ++j) {
      if (!kFullWidth && width[j] == 0) break;
      Vec sum = acc[i][j] * rowScale;
      if (kFullWidth) {
        if (oldScale) sum = vfma(vset(oldScale[i0 + i]), vload(out + j * kLanes), sum);
        vstore(out + j * kLanes, sum);
      } else {
        if (oldScale) sum = vfma(vset(oldScale[i0 + i]), vloadPartial(out + j * kLanes, width[j]), sum);
        vstorePartial(out + j * kLanes, sum, width[j]);
      }
    }
  }
}

// c[M, N] = accScale ⊙rows Σ terms + oldScale ⊙rows c. Terms' b and c point at
// column 0 of the N columns computed. `skipUpper`: leave out column panels
// entirely right of the diagonal (c is lower-triangular; the caller masks it).
template <bool kTransposedA = false>
static inline void product(int64_t M, int64_t N, const Term* terms, int numTerms, float* c, int64_t ldc,
                           const float* accScale, const float* oldScale, bool skipUpper = false) {
  Term shifted[2];
  for (int64_t j0 = 0; j0 < N; j0 += NR) {
    const int nr = static_cast<int>(std::min<int64_t>(NR, N - j0));
    for (int t = 0; t < numTerms; ++t) {
      shifted[t] = terms[t];
      shifted[t].b = terms[t].b + j0;
    }
    for (int64_t i0 = 0; i0 < M; i0 += MR) {
      const int mr = static_cast<int>(std::min<int64_t>(MR, M - i0));
      if (skipUpper && j0 > i0 + mr - 1) continue;
      float* tile = c + j0;
      if (nr == NR && mr == MR) productTile<true, kTransposedA, true>(shifted, numTerms, i0, mr, nr, tile, ldc, accScale, oldScale);
      else if (nr == NR) productTile<true, kTransposedA, false>(shifted, numTerms, i0, mr, nr, tile, ldc, accScale, oldScale);
      else productTile<false, kTransposedA, false>(shifted, numTerms, i0, mr, nr, tile, ldc, accScale, oldScale);
    }
  }
}

// dst[K, L] (leading dimension ld) = src[L, K]ᵀ (src rows srcStride apart), times `scale`.
static inline void transposeRows(const float* src, int64_t srcStride, int64_t L, int64_t K, float scale, float* dst,
                                 int64_t ld) {
  for (int64_t t = 0; t < L; ++t) {
    const float* row = src + t * srcStride;
    for (int64_t k = 0; k < K; ++k) dst[k * ld + t] = row[k] * scale;
  }
}

// dst[L, K] (contiguous) = scale · src rows.
static inline void copyRows(const float* src, int64_t srcStride, int64_t L, int64_t K, float scale, float* dst) {
  const Vec factor = vset(scale);
  const int tail = static_cast<int>(K % kLanes);
  for (int64_t t = 0; t < L; ++t) {
    const float* row = src + t * srcStride;
    float* out = dst + t * K;
    int64_t x = 0;
    for (; x + kLanes <= K; x += kLanes) vstore(out + x, vload(row + x) * factor);
    if (tail) vstorePartial(out + x, vloadPartial(row + x, tail) * factor, tail);
  }
}

// Asks for `rows` rows of `floats` floats, `stride` apart, to be brought into
// L2: the next chunk's inputs arrive while this chunk computes, instead of
// stalling the first pass that reads them.
static inline void prefetchRows(const float* p, int64_t stride, int64_t rows, int64_t floats) {
  for (int64_t r = 0; r < rows; ++r, p += stride) {
    for (int64_t x = 0; x < floats; x += 16) __builtin_prefetch(p + x, 0, 2);
  }
}

// Σ_x a[x]·b[x] over n floats.
static inline float dot(const float* a, const float* b, int64_t n) {
  Vec acc = vzero();
  int64_t x = 0;
  for (; x + kLanes <= n; x += kLanes) acc = vfma(vload(a + x), vload(b + x), acc);
  if (x < n) acc = vfma(vloadPartial(a + x, static_cast<int>(n - x)), vloadPartial(b + x, static_cast<int>(n - x)), acc);
  return vreduceAdd(acc);
}

// dst[x] *= factor[x] over n floats.
static inline void multiplyInPlace(float* dst, const float* factor, int64_t n) {
  for (int64_t x = 0; x < n; x += kLanes) {
    const int m = static_cast<int>(std::min<int64_t>(kLanes, n - x));
    vstorePartial(dst + x, vloadPartial(dst + x, m) * vloadPartial(factor + x, m), m);
  }
}

// The per-token recurrence on one panel of ≤ NR state columns, over `count` tokens:
//
//   S = d_t ⊙rows S + (c_t · k_t)ᵀ v_t        d_t: decayScalar[t] · decayRows[t, :] (either may be null = 1)
//   o_t = outScale_t · (q_t · S)              c_t: keyScale[t] (null = 1)
//
// q, k rows are qkStride apart, v and o rows voStride apart (all pointing at
// this panel's first column for v and o). S has leading dimension ldS. The
// first token reads its old state from `first` (leading dimension ldFirst;
// null: zeros) instead of S, so a decode step reads the caller's state and
// writes the new one in one pass.
template <bool kFullWidth>
static inline void recurrentPanel(int64_t count, int64_t K, int nr, const float* q, const float* k, int64_t qkStride,
                                  const float* v, float* o, int64_t voStride, const float* decayScalar,
                                  const float* decayRows, const float* keyScale, const float* outScale,
                                  float* S, int64_t ldS, const float* first, int64_t ldFirst) {
  int width[NV];
  for (int j = 0; j < NV; ++j) width[j] = std::max(0, std::min(kLanes, nr - j * kLanes));
  for (int64_t t = 0; t < count; ++t) {
    const float* qt = q + t * qkStride;
    const float* kt = k + t * qkStride;
    const float* dRows = decayRows ? decayRows + t * K : nullptr;
    const Vec dScalar = vset(decayScalar ? decayScalar[t] : 1.0f);
    const float kScale = keyScale ? keyScale[t] : 1.0f;
    Vec vt[NV], acc[NV];
    for (int j = 0; j < NV; ++j) {
      acc[j] = vzero();
      if (kFullWidth) vt[j] = vload(v + t * voStride + j * kLanes);
      else vt[j] = width[j] > 0 ? vloadPartial(v + t * voStride + j * kLanes, width[j]) : vzero();
    }
    const bool fromFirst = t == 0 && first != S;
    for (int64_t r = 0; r < K; ++r) {
      float* row = S + r * ldS;
      const float* oldRow = fromFirst ? (first ? first + r * ldFirst : nullptr) : row;
      const Vec d = dRows ? dScalar * vset(dRows[r]) : dScalar;
      const Vec kr = vset(kt[r] * kScale);
      const Vec qr = vset(qt[r]);
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) {
        Vec old;
        if (oldRow == nullptr) old = vzero();
        else if (kFullWidth) old = vload(oldRow + j * kLanes);
        else old = width[j] > 0 ? vloadPartial(oldRow + j * kLanes, width[j]) : vzero();
        const Vec updated = vfma(kr, vt[j], old * d);
        if (kFullWidth) vstore(row + j * kLanes, updated);
        else if (width[j] > 0) vstorePartial(row + j * kLanes, updated, width[j]);
        acc[j] = vfma(qr, updated, acc[j]);
      }
    }
    const Vec scaleOut = vset(outScale[t]);
    for (int j = 0; j < NV; ++j) {
      if (kFullWidth) vstore(o + t * voStride + j * kLanes, acc[j] * scaleOut);
      else if (width[j] > 0) vstorePartial(o + t * voStride + j * kLanes, acc[j] * scaleOut, width[j]);
    }
  }
}

// Runs recurrentPanel over the columns [0, columns) in panels of NR.
static inline void recurrentColumns(int64_t count, int64_t K, int64_t columns, const float* q, const float* k,
                                    int64_t qkStride, const float* v, float* o, int64_t voStride,
                                    const float* decayScalar, const float* decayRows, const float* keyScale,
                                    const float* outScale, float* S, int64_t ldS, const float* first,
                                    int64_t ldFirst) {
  for (int64_t j0 = 0; j0 < columns; j0 += NR) {
    const int nr = static_cast<int>(std::min<int64_t>(NR, columns - j0));
    const float* panelFirst = first ? first + j0 : nullptr;
    if (nr == NR) {
      recurrentPanel<true>(count, K, nr, q, k, qkStride, v + j0, o + j0, voStride, decayScalar, decayRows, keyScale,
                           outScale, S + j0, ldS, panelFirst, ldFirst);
    } else {
      recurrentPanel<false>(count, K, nr, q, k, qkStride, v + j0, o + j0, voStride, decayScalar, decayRows, keyScale,
                            outScale, S + j0, ldS, panelFirst, ldFirst);
    }
  }
}

// Splits the work of batch·heads sequences over the pool: each task is one
// (sequence, column range of V). Column ranges only appear when there are too
// few sequences to keep every thread busy and balanced; they repeat the
// column-independent work (decays, the intra-chunk scores), so they are as
// few as that allows.
struct Split {
  int64_t sequences = 0, ranges = 1, columnsPerRange = 0, V = 0;
  int64_t tasks() const { return sequences * ranges; }
};

static inline Split splitWork(int64_t sequences, int64_t V) {
  Split s;
  s.sequences = sequences;
  s.V = V;
  const int64_t threads = ThreadPool::instance().numThreads();
  const int64_t panels = (V + NR - 1) / NR;
  int64_t ranges = 1;
  while (ranges < panels && (sequences * ranges) % threads != 0 && sequences * ranges < 4 * threads) ++ranges;
  const int64_t panelsPerRange = (panels + ranges - 1) / ranges;
  s.ranges = (panels + panelsPerRange - 1) / panelsPerRange;
  s.columnsPerRange = panelsPerRange * NR;
  return s;
}

// Runs fn(task) for tasks [0, count): over the pool, or on the calling thread
// alone when the whole call is below kSerialMultiplyAdds. A decode step
// (T = 1) is a few µs of work, about what waking another thread costs on a
// quiet machine and far less than it costs on a busy one (measured: 20 µs
// steps turning into 230 µs ones with two threads on a shared 2-core host).
constexpr int64_t kSerialMultiplyAdds = int64_t{1} << 18;

template <typename F>
static inline void runTasks(int64_t count, int64_t multiplyAdds, F&& fn) {
  if (multiplyAdds < kSerialMultiplyAdds) {
    ThreadPool::instance().run(1, [&](int, int) {
      for (int64_t task = 0; task < count; ++task) fn(task);
    });
  } else {
    parallelTasks(count, [&](int64_t task, int) { fn(task); });
  }
}

}  // namespace la
}  // namespace cr::cpu::CR_ISA
