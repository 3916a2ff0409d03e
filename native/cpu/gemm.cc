// Blocked, packed single-precision GEMM (the BLIS loop structure):
//
//   for pc in K by KC:                     B block [KC × N] packed once, shared by all threads
//     for ic in this thread's rows by MC:  A block [MC × KC] packed per thread (stays in L2)
//       for jr in panels of NR:            B micro-panel [KC × NR] (stays in L1)
//         for ir in panels of MR:          micro-kernel: C[MR × NR] += A[MR × KC] · B[KC × NR]
//
// The micro-kernel keeps the MR × NR tile of C in registers, broadcasting one
// A value per row and loading NR/kLanes vectors of B per k. bf16/f16 weights
// are widened while packing B, so the weights are never copied to float32 as
// a whole. M ≤ 8 goes to the bandwidth-bound path in gemv.cc instead.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../core/arena.h"
#include "../core/threadpool.h"
#include "gemm.h"

namespace cr::cpu::CR_ISA {

namespace {

#if defined(CR_ISA_AVX512)
constexpr int MR = 8, NV = 2;  // 16 zmm accumulators: enough to cover FMA latency, few loads per FMA
constexpr int64_t KC = 512, MC = 80;
#elif defined(CR_ISA_AVX2)
constexpr int MR = 6, NV = 2;  // 12 ymm accumulators + 2 for B + 1 broadcast
constexpr int64_t KC = 512, MC = 96;
#else
constexpr int MR = 4, NV = 4;  // scalar: 16 accumulators the compiler may vectorise
constexpr int64_t KC = 512, MC = 64;
#endif
constexpr int NR = NV * kLanes;
static_assert(MC % MR == 0, "row blocks are whole micro-panels");
// Bound on the shared packed B block, so it stays in the last-level cache.
constexpr int64_t kMaxBBlockFloats = int64_t(2) << 20;

// C tile += (or =) Ap · Bp over kc; the tile is MR × NR unless at an edge.
// `bias` (length ≥ nr) is added when non-null; `add` keeps what C held.
// On AVX2 it is kept out of line: inlined into the driver, GCC runs out of its
// 16 vector registers and spills the accumulators on every k step. AVX-512 has
// 32 and keeps it inline, as it was measured at 91 % of peak.
#if defined(CR_ISA_AVX2)
#define CR_MICROKERNEL_INLINE __attribute__((noinline))
#else
#define CR_MICROKERNEL_INLINE inline
#endif
CR_MICROKERNEL_INLINE static void microKernel(int64_t kc, const float* __restrict Ap, const float* __restrict Bp, float* C,
                               int64_t ldc, int mr, int nr, bool add, const float* bias) {
  Vec acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[i][j] = vzero();
  }
  // The C tile is read-modified-written once per KC block, long after it was
  // last touched: start bringing it in now so the update at the end doesn't stall.
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    __builtin_prefetch(C + i * ldc, 1, 3);
    __builtin_prefetch(C + i * ldc + NR - 1, 1, 3);
  }
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    Vec b[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) b[j] = vload(Bp + j * kLanes);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const Vec a = vset(Ap[i]);
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) acc[i][j] = vfma(a, b[j], acc[i][j]);
    }
    Ap += MR;
    Bp += NR;
  }
  if (mr == MR && nr == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      float* row = C + i * ldc;
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) {
        Vec v = acc[i][j];
        if (bias) v += vload(bias + j * kLanes);
        if (add) v += vload(row + j * kLanes);
        vstore(row + j * kLanes, v);
      }
    }
    return;
  }
  for (int i = 0; i < mr; ++i) {
    float* row = C + i * ldc;
    for (int j = 0; j < NV; ++j) {
      const int n = std::min(kLanes, nr - j * kLanes);
      if (n <= 0) break;
      Vec v = acc[i][j];
      if (bias) v += vloadPartial(bias + j * kLanes, n);
      if (add) v += vloadPartial(row + j * kLanes, n);
      vstorePartial(row + j * kLanes, v, n);
    }
  }
}

// Ap[p][k][i] = A[p·MR + i][k] for the mc × kc block at A, zero rows past mc.
static void packA(const float* A, int64_t lda, int64_t mc, int64_t kc, float* Ap) {
  for (int64_t p = 0; p < mc; p += MR) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - p));
    const float* src[MR];
    for (int i = 0; i < MR; ++i) src[i] = A + (p + std::min(i, rows - 1)) * lda;
    if (rows == MR) {
      for (int64_t k = 0; k < kc; ++k) {
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) Ap[i] = src[i][k];
        Ap += MR;
      }
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        for (int i = 0; i < MR; ++i) Ap[i] = i < rows ? src[i][k] : 0.0f;
        Ap += MR;
      }
    }
  }
}

template <typename Load>
static inline void packRowsNoTrans(Load load, int64_t kc, int cols, float* Bp) {
  // Bp[k][j] = B[k][j] for one panel; `load(k, j, n)` reads n ≤ kLanes columns.
  for (int64_t k = 0; k < kc; ++k) {
    for (int j = 0; j < NV; ++j) {
      const int n = std::min(kLanes, cols - j * kLanes);
      vstore(Bp + j * kLanes, n >= kLanes ? load(k, j * kLanes, kLanes) : n > 0 ? load(k, j * kLanes, n) : vzero());
    }
    Bp += NR;
  }
}

// Packs panel `panel` (NR columns of op(B) starting at column col0) over k in [k0, k0 + kc).
static void packBPanel(const GemmArgs& g, int64_t k0, int64_t kc, int64_t col0, float* Bp) {
  const int cols = static_cast<int>(std::min<int64_t>(NR, g.N - col0));
  if (!g.transB) {
    switch (g.bType) {
      case DType::F32: {
        const float* B = static_cast<const float*>(g.B) + k0 * g.ldb + col0;
        packRowsNoTrans([&](int64_t k, int j, int n) { return n == kLanes ? vload(B + k * g.ldb + j) : vloadPartial(B + k * g.ldb + j, n); },
                        kc, cols, Bp);
        return;
      }
      case DType::BF16: {
        const uint16_t* B = static_cast<const uint16_t*>(g.B) + k0 * g.ldb + col0;
        packRowsNoTrans([&](int64_t k, int j, int n) { return n == kLanes ? vloadBf16(B + k * g.ldb + j) : vloadBf16Partial(B + k * g.ldb + j, n); },
                        kc, cols, Bp);
        return;
      }
      case DType::F16: {
        const uint16_t* B = static_cast<const uint16_t*>(g.B) + k0 * g.ldb + col0;
        packRowsNoTrans([&](int64_t k, int j, int n) { return n == kLanes ? vloadF16(B + k * g.ldb + j) : vloadF16Partial(B + k * g.ldb + j, n); },
                        kc, cols, Bp);
        return;
      }
      default: return;
    }
  }
  // transB: B is [N, K]; column j of op(B) is row j of B. Transpose through a
  // small float buffer a few k at a time so reads stay sequential in each row.
  constexpr int KB = 16;
  alignas(64) float block[NR][KB];
  for (int64_t kk = 0; kk < kc; kk += KB) {
    const int kn = static_cast<int>(std::min<int64_t>(KB, kc - kk));
    for (int j = 0; j < NR; ++j) {
      if (j >= cols) {
        std::memset(block[j], 0, sizeof(block[j]));
        continue;
      }
      const int64_t offset = (col0 + j) * g.ldb + k0 + kk;
      switch (g.bType) {
        case DType::F32: {
          const float* row = static_cast<const float*>(g.B) + offset;
          for (int k = 0; k < kn; ++k) block[j][k] = row[k];
          break;
        }
        case DType::BF16: {
          const uint16_t* row = static_cast<const uint16_t*>(g.B) + offset;
          for (int k = 0; k < kn; k += kLanes) {
            const int n = std::min(kLanes, kn - k);
            vstore(&block[j][k], n == kLanes ? vloadBf16(row + k) : vloadBf16Partial(row + k, n));
          }
          break;
        }
        case DType::F16: {
          const uint16_t* row = static_cast<const uint16_t*>(g.B) + offset;
          for (int k = 0; k < kn; k += kLanes) {
            const int n = std::min(kLanes, kn - k);
            vstore(&block[j][k], n == kLanes ? vloadF16(row + k) : vloadF16Partial(row + k, n));
          }
          break;
        }
        default: break;
      }
    }
    for (int k = 0; k < kn; ++k) {
#pragma GCC unroll 64
      for (int j = 0; j < NR; ++j) Bp[j] = block[j][k];
      Bp += NR;
    }
  }
}

// Writes C = bias (or leaves C) when K == 0: the product contributes nothing.
static void gemmEmptyK(const GemmArgs& g) {
  if (g.accumulate && g.bias == nullptr) return;
  for (int64_t i = 0; i < g.M; ++i) {
    float* row = g.C + i * g.ldc;
    for (int64_t j = 0; j < g.N; ++j) {
      const float b = g.bias ? g.bias[j] : 0.0f;
      row[j] = g.accumulate ? row[j] + b : b;
    }
  }
}

}  // namespace

void gemmPacked(const GemmArgs& g) {
  const int64_t M = g.M, N = g.N, K = g.K;
  const int64_t panels = (N + NR - 1) / NR;
  // The shared B block: all of N at once when it fits, else column blocks.
  // Equal K blocks (768 = 2 × 384, not 512 + 256): every block amortises its C update equally.
  const int64_t kBlocks = (K + KC - 1) / KC;
  const int64_t kcMax = std::min<int64_t>(K, ((K + kBlocks - 1) / kBlocks + 7) / 8 * 8);
  // Equal column blocks too: 96 panels in blocks of at most 85 are 2 × 48, not 85 + 11.
  const int64_t ncLimit = std::max<int64_t>(1, std::min<int64_t>(panels, kMaxBBlockFloats / (kcMax * NR)));
  const int64_t colBlocks = (panels + ncLimit - 1) / ncLimit;
  const int64_t ncPanels = (panels + colBlocks - 1) / colBlocks;
  ScratchScope scratch;
  float* Bp = scratch.allocate<float>(static_cast<size_t>(kcMax * ncPanels * NR));

  ThreadPool& pool = ThreadPool::instance();
  const int64_t rowPanels = (M + MR - 1) / MR;
  const int nth = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(pool.numThreads(),
      (2 * M * N * K) / (int64_t(1) << 21) + 1)));

  pool.run(nth, [&](int tid, int nthreads) {
    // Threads split the rows of C when there are enough row panels, else the
    // column panels of each B block (small M, wide N).
    const bool splitRows = rowPanels >= nthreads * 2 || rowPanels >= panels;
    ScratchScope local;
    const int64_t mcMax = std::min<int64_t>(MC, rowPanels * MR);
    float* Ap = local.allocate<float>(static_cast<size_t>(mcMax * kcMax));

    for (int64_t jc = 0; jc < panels; jc += ncPanels) {
      const int64_t jcPanels = std::min(ncPanels, panels - jc);
      for (int64_t pc = 0; pc < K; pc += kcMax) {
        const int64_t kc = std::min<int64_t>(kcMax, K - pc);
        // Pack this B block cooperatively.
        for (int64_t p = tid; p < jcPanels; p += nthreads) {
          packBPanel(g, pc, kc, (jc + p) * NR, Bp + p * kc * NR);
        }
        ThreadPool::barrier();

        const bool first = pc == 0;
        const bool add = !first || g.accumulate;
        int64_t rowBegin = 0, rowEnd = rowPanels, colBegin = 0, colEnd = jcPanels;
        if (splitRows) {
          rowBegin = rowPanels * tid / nthreads;
          rowEnd = rowPanels * (tid + 1) / nthreads;
        } else {
          colBegin = jcPanels * tid / nthreads;
          colEnd = jcPanels * (tid + 1) / nthreads;
        }
        // Equal row blocks of at most MC rows (256 rows = 4 × 64, not 3 × 80 + 16).
        const int64_t myPanels = rowEnd - rowBegin;
        const int64_t rowBlocks = (myPanels * MR + MC - 1) / MC;
        const int64_t blockPanels = rowBlocks > 0 ? (myPanels + rowBlocks - 1) / rowBlocks : 1;
        for (int64_t ip = rowBegin; ip < rowEnd; ip += blockPanels) {
          const int64_t i0 = ip * MR;
          const int64_t mc = std::min<int64_t>(std::min<int64_t>(blockPanels, rowEnd - ip) * MR, M - i0);
          packA(g.A + i0 * g.lda + pc, g.lda, mc, kc, Ap);
          for (int64_t p = colBegin; p < colEnd; ++p) {
            const int64_t j0 = (jc + p) * NR;
            const int nr = static_cast<int>(std::min<int64_t>(NR, N - j0));
            const float* bias = first && g.bias ? g.bias + j0 : nullptr;
            const float* Bpanel = Bp + p * kc * NR;
            for (int64_t i = 0; i < mc; i += MR) {
              const int mr = static_cast<int>(std::min<int64_t>(MR, mc - i));
              microKernel(kc, Ap + i * kc, Bpanel, g.C + (i0 + i) * g.ldc + j0, g.ldc, mr, nr, add, bias);
            }
          }
        }
        ThreadPool::barrier();  // Bp is overwritten by the next block
      }
    }
  });
}

void gemm(const GemmArgs& g) {
  if (g.M <= 0 || g.N <= 0) return;
  if (g.K <= 0) return gemmEmptyK(g);
  if (g.M <= 8) return gemv(g);
  gemmPacked(g);
}

}  // namespace cr::cpu::CR_ISA

namespace cr::cpu::CR_ISA {

// Many independent products: big ones run one after another with all threads
// each; many small ones (attention-sized blocks) are spread over the threads,
// each computed serially by one thread.
void batchedGemm(const BatchedGemmArgs& b) {
  const GemmArgs& g = b.gemm;
  auto product = [&](int64_t i) {
    GemmArgs one = g;
    one.A = g.A + i * b.strideA;
    one.B = static_cast<const char*>(g.B) + i * b.strideB * static_cast<int64_t>(dtypeSize(g.bType));
    one.C = g.C + i * b.strideC;
    gemm(one);
  };
  const double flops = 2.0 * static_cast<double>(g.M) * static_cast<double>(g.N) * static_cast<double>(g.K);
  if (flops >= 4e7 || b.batch == 1) {
    for (int64_t i = 0; i < b.batch; ++i) product(i);
  } else {
    parallelTasks(b.batch, [&](int64_t i, int) { product(i); });
  }
}

}  // namespace cr::cpu::CR_ISA
