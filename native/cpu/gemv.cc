// GEMM for M ≤ 8 rows (decoding: one token per sequence). Each weight is used
// by at most 8 rows, so the time is the time to stream B from memory once:
// no packing, B read in its own layout, N split across threads in contiguous
// ranges so each thread streams its own part of the weights.
#include <algorithm>
#include <cstdint>

#include "../core/threadpool.h"
#include "gemm.h"

namespace cr::cpu::CR_ISA {

namespace {

template <DType T>
static inline Vec loadB(const void* base, int64_t offset) {
  if constexpr (T == DType::F32) return vload(static_cast<const float*>(base) + offset);
  else if constexpr (T == DType::BF16) return vloadBf16(static_cast<const uint16_t*>(base) + offset);
  else return vloadF16(static_cast<const uint16_t*>(base) + offset);
}
template <DType T>
static inline Vec loadBPartial(const void* base, int64_t offset, int n) {
  if constexpr (T == DType::F32) return vloadPartial(static_cast<const float*>(base) + offset, n);
  else if constexpr (T == DType::BF16) return vloadBf16Partial(static_cast<const uint16_t*>(base) + offset, n);
  else return vloadF16Partial(static_cast<const uint16_t*>(base) + offset, n);
}

static inline void storeOut(const GemmArgs& g, int64_t m, int64_t n, float value) {
  float* out = g.C + m * g.ldc + n;
  if (g.bias) value += g.bias[n];
  *out = g.accumulate ? *out + value : value;
}

// transB: y[m][n] = Σ_k A[m][k] · B[n][k]. One row of B at a time, read
// front to back, so the whole weight matrix is a single sequential stream
// (rows of a few KB are too short for the prefetcher to ramp up on several
// at once). U independent accumulators per row of A hide the FMA latency.
template <int M, int U, DType T>
static void dotRows(const GemmArgs& g, int64_t n0, int64_t n1) {
  const int64_t K = g.K;
  constexpr int64_t step = U * kLanes;
  const int64_t kUnrolled = K - K % step;
  const int64_t kFull = K - K % kLanes;
  for (int64_t n = n0; n < n1; ++n) {
    const int64_t row = n * g.ldb;
    Vec acc[M][U];
#pragma GCC unroll 8
    for (int m = 0; m < M; ++m) {
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) acc[m][u] = vzero();
    }
    for (int64_t k = 0; k < kUnrolled; k += step) {
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) {
        const Vec b = loadB<T>(g.B, row + k + u * kLanes);
#pragma GCC unroll 8
        for (int m = 0; m < M; ++m) acc[m][u] = vfma(vload(g.A + m * g.lda + k + u * kLanes), b, acc[m][u]);
      }
    }
    for (int64_t k = kUnrolled; k < kFull; k += kLanes) {
      const Vec b = loadB<T>(g.B, row + k);
      for (int m = 0; m < M; ++m) acc[m][0] = vfma(vload(g.A + m * g.lda + k), b, acc[m][0]);
    }
    if (kFull < K) {
      const int tail = static_cast<int>(K - kFull);
      const Vec b = loadBPartial<T>(g.B, row + kFull, tail);
      for (int m = 0; m < M; ++m) acc[m][0] = vfma(vloadPartial(g.A + m * g.lda + kFull, tail), b, acc[m][0]);
    }
    for (int m = 0; m < M; ++m) {
      Vec sum = acc[m][0];
      for (int u = 1; u < U; ++u) sum += acc[m][u];
      storeOut(g, m, n, vreduceAdd(sum));
    }
  }
}

// Not transposed: y[m][cols] = Σ_k A[m][k] · B[k][cols]. A block of NV
// vectors of columns is accumulated down all of K in registers.
template <int M, int NV, DType T>
static void axpyColumns(const GemmArgs& g, int64_t c0, int64_t c1) {
  constexpr int W = NV * kLanes;
  int64_t c = c0;
  for (; c < c1; c += W) {
    const int width = static_cast<int>(std::min<int64_t>(W, c1 - c));
    Vec acc[M][NV];
#pragma GCC unroll 8
    for (int m = 0; m < M; ++m) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[m][v] = vzero();
    }
    if (width == W) {
      for (int64_t k = 0; k < g.K; ++k) {
        Vec b[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) b[v] = loadB<T>(g.B, k * g.ldb + c + v * kLanes);
#pragma GCC unroll 8
        for (int m = 0; m < M; ++m) {
          const Vec a = vset(g.A[m * g.lda + k]);
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) acc[m][v] = vfma(a, b[v], acc[m][v]);
        }
      }
    } else {
      for (int64_t k = 0; k < g.K; ++k) {
        for (int v = 0; v < NV; ++v) {
          const int cnt = std::min(kLanes, width - v * kLanes);
          if (cnt <= 0) break;
          const Vec b = loadBPartial<T>(g.B, k * g.ldb + c + v * kLanes, cnt);
          for (int m = 0; m < M; ++m) acc[m][v] = vfma(vset(g.A[m * g.lda + k]), b, acc[m][v]);
        }
      }
    }
    alignas(64) float lane[kLanes];
    for (int m = 0; m < M; ++m) {
      for (int v = 0; v < NV; ++v) {
        const int cnt = std::min(kLanes, width - v * kLanes);
        if (cnt <= 0) break;
        vstore(lane, acc[m][v]);
        for (int i = 0; i < cnt; ++i) storeOut(g, m, c + v * kLanes + i, lane[i]);
      }
    }
  }
}

template <int M, DType T>
static void runRange(const GemmArgs& g, int64_t n0, int64_t n1) {
  if (g.transB) {
    constexpr int U = M <= 2 ? 4 : M <= 4 ? 3 : 2;
    dotRows<M, U, T>(g, n0, n1);
  } else {
#if defined(CR_ISA_AVX2)
    constexpr int NV = M <= 2 ? 4 : M <= 4 ? 2 : 1;
#else
    constexpr int NV = M <= 4 ? 4 : 2;
#endif
    axpyColumns<M, NV, T>(g, n0, n1);
  }
}

template <DType T>
static void runRows(const GemmArgs& g, int64_t n0, int64_t n1) {
  switch (g.M) {
    case 1: return runRange<1, T>(g, n0, n1);
    case 2: return runRange<2, T>(g, n0, n1);
    case 3: return runRange<3, T>(g, n0, n1);
    case 4: return runRange<4, T>(g, n0, n1);
    case 5: return runRange<5, T>(g, n0, n1);
    case 6: return runRange<6, T>(g, n0, n1);
    case 7: return runRange<7, T>(g, n0, n1);
    default: return runRange<8, T>(g, n0, n1);
  }
}

}  // namespace

void gemv(const GemmArgs& g) {
  // Split N in chunks aligned to whole vectors (transB splits rows of B, so any split works).
  const int64_t align = g.transB ? 1 : kLanes;
  const int64_t units = (g.N + align - 1) / align;
  const int64_t bytesPerUnit = align * g.K * static_cast<int64_t>(dtypeSize(g.bType));
  // About 1 MB of weights per thread at least: handing a region to another core costs tens of µs
  // (measured on this VM: a 512 KB GEMV took 29 µs on one thread and 36–40 µs on two, while 4.7 MB
  // went from 97 to 60 µs), about what one core streams in that time.
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 20) / std::max<int64_t>(1, bytesPerUnit));
  parallelFor(units, grain, [&](int64_t u0, int64_t u1) {
    const int64_t n0 = u0 * align, n1 = std::min(g.N, u1 * align);
    switch (g.bType) {
      case DType::BF16: return runRows<DType::BF16>(g, n0, n1);
      case DType::F16: return runRows<DType::F16>(g, n0, n1);
      default: return runRows<DType::F32>(g, n0, n1);
    }
  });
}

}  // namespace cr::cpu::CR_ISA
