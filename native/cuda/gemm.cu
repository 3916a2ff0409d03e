// GEMM on the GPU with the CPU kernel's semantics (cpu::GemmArgs):
//   C[M, N] (=|+=) A[M, K] · op(B) (+ bias[N]),  A and C float32,
//   op(B) = B [K, N] (row stride ldb) or Bᵀ with B stored [N, K] (transB),
//   B float32, bfloat16 or float16.
// Three paths, chosen by shape and weight type:
//   - M ≤ 8 (decoding) or K = 0: GEMV. Bandwidth-bound: the weights are read
//     once, split over N and, when N alone gives too few blocks to fill the
//     GPU, over K too (partial sums in scratch, then one reduction pass).
//   - bfloat16/float16 weights: tensor cores through WMMA (16×16×16 bf16/f16
//     products, float32 accumulation). The float32 activations are rounded to
//     the weights' type while a tile is loaded into shared memory (float16:
//     |a| > 65504 becomes ±inf), so the result is the exact product of the
//     rounded inputs up to float32 summation order.
//   - float32 weights: a SIMT kernel (128×128 tiles, 8×8 outputs per thread),
//     exact float32 FMAs, no TF32.
// Every tile load is bounds-checked, so any M, N, K (odd tails included)
// and any leading dimensions work; aligned leading dimensions take vector
// loads. Tiles are double-buffered: the next tile is loaded from global memory
// into registers while the current one is multiplied from shared memory.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "check.h"
#include "kernels.cuh"

namespace cr::cuda {

namespace {

struct GemmParams {
  int64_t M, N, K;
  const float* A;
  int64_t lda;
  const void* B;
  int64_t ldb;
  float* C;
  int64_t ldc;
  const float* bias;
  bool accumulate;
};

// ---- element helpers ------------------------------------------------------------

struct F32 {
  using Storage = float;
};
struct BF16 {
  using Storage = uint16_t;
  using Wmma = __nv_bfloat16;
  static __device__ __forceinline__ uint16_t fromFloat(float x) { return __bfloat16_as_ushort(__float2bfloat16_rn(x)); }
};
struct F16 {
  using Storage = uint16_t;
  using Wmma = __half;
  static __device__ __forceinline__ uint16_t fromFloat(float x) { return __half_as_ushort(__float2half_rn(x)); }
};

__device__ __forceinline__ float widen(float x, F32) { return x; }
__device__ __forceinline__ float widen(uint16_t bits, BF16) { return __uint_as_float(static_cast<uint32_t>(bits) << 16); }
__device__ __forceinline__ float widen(uint16_t bits, F16) { return __half2float(__ushort_as_half(bits)); }

// Writes one output element: the sum, plus bias, plus the old C when accumulating.
__device__ __forceinline__ void storeC(const GemmParams& p, int64_t m, int64_t n, float sum) {
  if (p.bias != nullptr) sum += p.bias[n];
  float* c = p.C + m * p.ldc + n;
  *c = p.accumulate ? *c + sum : sum;
}

// Tile (tm, tn) of block `pid`, walking groups of 8 tile rows so that
// consecutive blocks share A rows and B columns in L2.
__device__ __forceinline__ void tileOf(int64_t pid, int64_t tilesM, int64_t tilesN, int64_t* tm, int64_t* tn) {
  constexpr int64_t kGroup = 8;
  const int64_t perGroup = kGroup * tilesN;
  const int64_t group = pid / perGroup;
  const int64_t firstM = group * kGroup;
  const int64_t rows = min(tilesM - firstM, kGroup);
  const int64_t inGroup = pid % perGroup;
  *tm = firstM + inGroup % rows;
  *tn = inGroup / rows;
}

// ---- SIMT float32 path ---------------------------------------------------------------

constexpr int kSimtBM = 128, kSimtBN = 128, kSimtBK = 8, kSimtThreads = 256;

template <bool kTransB>
__global__ void __launch_bounds__(kSimtThreads) gemmSimtKernel(GemmParams p, int64_t tilesM, int64_t tilesN) {
  // A and B tiles stored k-major, so a thread's 8 rows (columns) at one k are
  // two float4 reads.
  __shared__ __align__(16) float As[2][kSimtBK][kSimtBM];
  __shared__ __align__(16) float Bs[2][kSimtBK][kSimtBN];
  int64_t tm, tn;
  tileOf(blockIdx.x, tilesM, tilesN, &tm, &tn);
  const int64_t m0 = tm * kSimtBM, n0 = tn * kSimtBN;
  const int tid = threadIdx.x;
  const int tx = tid % 16, ty = tid / 16;
  const auto* B = static_cast<const float*>(p.B);

  // Loader mapping: A (and Bᵀ) tiles are 128 rows × 8 k, four consecutive k
  // per thread; a B [K, N] tile is 8 k × 128 columns, four columns per thread.
  const int ldRow = tid / 2, ldK = (tid % 2) * 4;
  const int ldBk = tid / 32, ldBn = (tid % 32) * 4;
  float ra[4], rb[4];

  auto load = [&](int64_t k0) {
    const int64_t m = m0 + ldRow;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t k = k0 + ldK + j;
      ra[j] = (m < p.M && k < p.K) ? p.A[m * p.lda + k] : 0.0f;
    }
    if (kTransB) {
      const int64_t n = n0 + ldRow;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int64_t k = k0 + ldK + j;
        rb[j] = (n < p.N && k < p.K) ? B[n * p.ldb + k] : 0.0f;
      }
    } else {
      const int64_t k = k0 + ldBk;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int64_t n = n0 + ldBn + j;
        rb[j] = (n < p.N && k < p.K) ? B[k * p.ldb + n] : 0.0f;
      }
    }
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int j = 0; j < 4; ++j) As[buf][ldK + j][ldRow] = ra[j];
    if (kTransB) {
#pragma unroll
      for (int j = 0; j < 4; ++j) Bs[buf][ldK + j][ldRow] = rb[j];
    } else {
      *reinterpret_cast<float4*>(&Bs[buf][ldBk][ldBn]) = make_float4(rb[0], rb[1], rb[2], rb[3]);
    }
  };

  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

  const int64_t tiles = (p.K + kSimtBK - 1) / kSimtBK;
  load(0);
  store(0);
  __syncthreads();
  for (int64_t t = 0; t < tiles; ++t) {
    const int buf = static_cast<int>(t & 1);
    if (t + 1 < tiles) load((t + 1) * kSimtBK);
#pragma unroll
    for (int k = 0; k < kSimtBK; ++k) {
      // Rows ty*4.. and 64+ty*4.. (columns likewise): a quarter warp reads 128
      // contiguous bytes, free of bank conflicts.
      const float4 a0 = *reinterpret_cast<const float4*>(&As[buf][k][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[buf][k][64 + ty * 4]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][k][tx * 4]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[buf][k][64 + tx * 4]);
      const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if (t + 1 < tiles) store(buf ^ 1);
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int64_t m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
    if (m >= p.M) continue;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int64_t n = n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + j - 4);
      if (n < p.N) storeC(p, m, n, acc[i][j]);
    }
  }
}

// ---- tensor-core path (bfloat16 / float16 weights) ---------------------------------------

constexpr int kTcBM = 128, kTcBN = 128, kTcBK = 32, kTcThreads = 256;
constexpr int kTcPad = 8;  // halves of padding per shared row: rows start on different banks
constexpr int kTcLdA = kTcBK + kTcPad;                       // As[m][k]
constexpr int kTcLdBt = kTcBK + kTcPad;                      // Bs[n][k] (transB)
constexpr int kTcLdBn = kTcBN + kTcPad;                      // Bs[k][n]
constexpr int kTcABytes = kTcBM * kTcLdA * 2;                // one buffer
constexpr int kTcBBytes = (kTcBN * kTcLdBt > kTcBK * kTcLdBn ? kTcBN * kTcLdBt : kTcBK * kTcLdBn) * 2;
constexpr int kTcSmemBytes = 2 * (kTcABytes + kTcBBytes);
constexpr int kTcStageBytes = (kTcThreads / 32) * 16 * 16 * 4;  // per-warp epilogue staging
static_assert(kTcStageBytes <= kTcSmemBytes, "epilogue staging reuses the tile buffers");
static_assert(kTcSmemBytes <= 48 * 1024, "static shared memory limit");

// kVecA: A rows are 16-byte aligned (A and lda), so four k load as one float4.
// kVecB: B rows are 16-byte aligned (B and ldb), so eight halves load as one uint4.
template <typename T, bool kTransB, bool kVecA, bool kVecB>
__global__ void __launch_bounds__(kTcThreads) gemmTensorCoreKernel(GemmParams p, int64_t tilesM, int64_t tilesN) {
  using namespace nvcuda;
  using Half = typename T::Wmma;
  __shared__ __align__(128) unsigned char smem[kTcSmemBytes];
  auto As = [&](int buf) { return reinterpret_cast<uint16_t*>(smem + buf * kTcABytes); };
  auto Bs = [&](int buf) { return reinterpret_cast<uint16_t*>(smem + 2 * kTcABytes + buf * kTcBBytes); };

  int64_t tm, tn;
  tileOf(blockIdx.x, tilesM, tilesN, &tm, &tn);
  const int64_t m0 = tm * kTcBM, n0 = tn * kTcBN;
  const int tid = threadIdx.x;
  const int warp = tid / 32, lane = tid % 32;
  const int wm = warp / 4, wn = warp % 4;  // 2 × 4 warps, each 64 × 32 outputs
  const auto* B = static_cast<const uint16_t*>(p.B);

  // A tile 128 × 32: four float4 groups per thread (rows tid/8 + 32i, k (tid%8)*4).
  // Bᵀ tile 128 × 32 halves: two 8-half groups per thread (rows tid/4 + 64i, k (tid%4)*8).
  // B tile 32 × 128 halves: two 8-half groups per thread (k tid/16 + 16i, columns (tid%16)*8).
  float4 ra[4];
  uint4 rb[2];

  auto load = [&](int64_t k0) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int64_t m = m0 + tid / 8 + 32 * i;
      const int64_t k = k0 + (tid % 8) * 4;
      const float* src = p.A + m * p.lda + k;
      if (kVecA && m < p.M && k + 4 <= p.K) {
        ra[i] = __ldg(reinterpret_cast<const float4*>(src));
      } else {
        ra[i].x = (m < p.M && k + 0 < p.K) ? src[0] : 0.0f;
        ra[i].y = (m < p.M && k + 1 < p.K) ? src[1] : 0.0f;
        ra[i].z = (m < p.M && k + 2 < p.K) ? src[2] : 0.0f;
        ra[i].w = (m < p.M && k + 3 < p.K) ? src[3] : 0.0f;
      }
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      int64_t row, col, rows, cols;  // in B's own storage: row-major [rows, cols]
      if (kTransB) {
        row = n0 + tid / 4 + 64 * i;
        col = k0 + (tid % 4) * 8;
        rows = p.N;
        cols = p.K;
      } else {
        row = k0 + tid / 16 + 16 * i;
        col = n0 + (tid % 16) * 8;
        rows = p.K;
        cols = p.N;
      }
      const uint16_t* src = B + row * p.ldb + col;
      if (kVecB && row < rows && col + 8 <= cols) {
        rb[i] = __ldg(reinterpret_cast<const uint4*>(src));
      } else {
        uint16_t h[8];
#pragma unroll
        for (int j = 0; j < 8; ++j) h[j] = (row < rows && col + j < cols) ? src[j] : uint16_t(0);
        rb[i].x = h[0] | (uint32_t(h[1]) << 16);
        rb[i].y = h[2] | (uint32_t(h[3]) << 16);
        rb[i].z = h[4] | (uint32_t(h[5]) << 16);
        rb[i].w = h[6] | (uint32_t(h[7]) << 16);
      }
    }
  };
  auto store = [&](int buf) {
    uint16_t* a = As(buf);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int row = tid / 8 + 32 * i, k = (tid % 8) * 4;
      uint2 packed;
      packed.x = T::fromFloat(ra[i].x) | (uint32_t(T::fromFloat(ra[i].y)) << 16);
      packed.y = T::fromFloat(ra[i].z) | (uint32_t(T::fromFloat(ra[i].w)) << 16);
      *reinterpret_cast<uint2*>(a + row * kTcLdA + k) = packed;
    }
    uint16_t* b = Bs(buf);
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      if (kTransB) {
        *reinterpret_cast<uint4*>(b + (tid / 4 + 64 * i) * kTcLdBt + (tid % 4) * 8) = rb[i];
      } else {
        *reinterpret_cast<uint4*>(b + (tid / 16 + 16 * i) * kTcLdBn + (tid % 16) * 8) = rb[i];
      }
    }
  };

  using BLayout = typename std::conditional<kTransB, wmma::col_major, wmma::row_major>::type;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[4][2];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

  const int64_t tiles = (p.K + kTcBK - 1) / kTcBK;
  load(0);
  store(0);
  __syncthreads();
  for (int64_t t = 0; t < tiles; ++t) {
    const int buf = static_cast<int>(t & 1);
    if (t + 1 < tiles) load((t + 1) * kTcBK);
    const Half* a = reinterpret_cast<const Half*>(As(buf));
    const Half* b = reinterpret_cast<const Half*>(Bs(buf));
#pragma unroll
    for (int kk = 0; kk < kTcBK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, Half, wmma::row_major> fa[4];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, Half, BLayout> fb[2];
#pragma unroll
      for (int i = 0; i < 4; ++i) wmma::load_matrix_sync(fa[i], a + (wm * 64 + i * 16) * kTcLdA + kk, kTcLdA);
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        if (kTransB) {
          wmma::load_matrix_sync(fb[j], b + (wn * 32 + j * 16) * kTcLdBt + kk, kTcLdBt);
        } else {
          wmma::load_matrix_sync(fb[j], b + kk * kTcLdBn + wn * 32 + j * 16, kTcLdBn);
        }
      }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
    if (t + 1 < tiles) store(buf ^ 1);
    __syncthreads();
  }

  // Epilogue: each warp stages one 16 × 16 fragment at a time in shared memory
  // (the tile buffers are free after the last barrier) and writes it with
  // bounds checks, bias and accumulation.
  float* stage = reinterpret_cast<float*>(smem) + warp * 256;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const int64_t mBase = m0 + wm * 64 + i * 16, nBase = n0 + wn * 32 + j * 16;
      if (mBase >= p.M || nBase >= p.N) continue;  // uniform across the warp
      wmma::store_matrix_sync(stage, acc[i][j], 16, wmma::mem_row_major);
      __syncwarp();
      for (int e = lane; e < 256; e += 32) {
        const int64_t m = mBase + e / 16, n = nBase + e % 16;
        if (m < p.M && n < p.N) storeC(p, m, n, stage[e]);
      }
      __syncwarp();
    }
  }
}

// ---- GEMV path (M ≤ 8) -------------------------------------------------------------------------

constexpr int kGemvMaxM = 8;
constexpr int kGemvThreads = 256;

// Sums for rows m < M of columns [n…] over k ∈ [k0, k1) go either to C (one
// split: bias and accumulation applied) or to partial[split][M][N].
__device__ __forceinline__ void gemvWrite(const GemmParams& p, float* partial, int split, int splits, int64_t m,
                                          int64_t n, float sum) {
  if (splits == 1) {
    storeC(p, m, n, sum);
  } else {
    partial[(static_cast<int64_t>(split) * p.M + m) * p.N + n] = sum;
  }
}

// transB ([N, K], rows contiguous in k): each warp owns kCols columns and
// streams their rows, lanes striding k by 8 elements; a warp-shuffle sum at the end.
constexpr int kGemvTCols = 4;
constexpr int kGemvTWarps = kGemvThreads / 32;

template <typename T, int kM, bool kVec>
__global__ void __launch_bounds__(kGemvThreads) gemvTransBKernel(GemmParams p, float* partial, int splits, int64_t kPerSplit) {
  using S = typename T::Storage;
  const auto* B = static_cast<const S*>(p.B);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t nBase = (static_cast<int64_t>(blockIdx.x) * kGemvTWarps + warp) * kGemvTCols;
  const int split = blockIdx.y;
  const int64_t k0 = split * kPerSplit, k1 = min(p.K, k0 + kPerSplit);
  if (nBase >= p.N) return;  // whole warp: no barrier below

  float acc[kM][kGemvTCols];
#pragma unroll
  for (int m = 0; m < kM; ++m)
#pragma unroll
    for (int c = 0; c < kGemvTCols; ++c) acc[m][c] = 0.0f;

  int64_t k = k0;
  if (kVec) {
    // k0 is a multiple of 8 (kPerSplit is), rows are 16-byte aligned: 8 elements per lane per step.
    for (; k + 8 * 32 <= k1; k += 8 * 32) {
      const int64_t kl = k + lane * 8;
      float b[kGemvTCols][8];
#pragma unroll
      for (int c = 0; c < kGemvTCols; ++c) {
        const int64_t n = min(nBase + c, p.N - 1);  // a clamped column is read but never written
        const S* src = B + n * p.ldb + kl;
        if constexpr (sizeof(S) == 2) {
          const uint4 v = __ldg(reinterpret_cast<const uint4*>(src));
          const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            b[c][2 * e] = widen(static_cast<uint16_t>(w[e] & 0xffff), T{});
            b[c][2 * e + 1] = widen(static_cast<uint16_t>(w[e] >> 16), T{});
          }
        } else {
          const float4 v0 = __ldg(reinterpret_cast<const float4*>(src));
          const float4 v1 = __ldg(reinterpret_cast<const float4*>(src) + 1);
          b[c][0] = v0.x, b[c][1] = v0.y, b[c][2] = v0.z, b[c][3] = v0.w;
          b[c][4] = v1.x, b[c][5] = v1.y, b[c][6] = v1.z, b[c][7] = v1.w;
        }
      }
#pragma unroll
      for (int m = 0; m < kM; ++m) {
        if (m >= p.M) break;
        const float4 a0 = __ldg(reinterpret_cast<const float4*>(p.A + m * p.lda + kl));
        const float4 a1 = __ldg(reinterpret_cast<const float4*>(p.A + m * p.lda + kl) + 1);
        const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
#pragma unroll
        for (int c = 0; c < kGemvTCols; ++c)
#pragma unroll
          for (int e = 0; e < 8; ++e) acc[m][c] = fmaf(a[e], b[c][e], acc[m][c]);
      }
    }
  }
  // The rest (or everything, unaligned): one element per lane per step.
  for (int64_t kl = k + lane; kl < k1; kl += 32) {
    float b[kGemvTCols];
#pragma unroll
    for (int c = 0; c < kGemvTCols; ++c) {
      const int64_t n = min(nBase + c, p.N - 1);
      b[c] = widen(B[n * p.ldb + kl], T{});
    }
#pragma unroll
    for (int m = 0; m < kM; ++m) {
      if (m >= p.M) break;
      const float a = p.A[m * p.lda + kl];
#pragma unroll
      for (int c = 0; c < kGemvTCols; ++c) acc[m][c] = fmaf(a, b[c], acc[m][c]);
    }
  }

#pragma unroll
  for (int m = 0; m < kM; ++m) {
#pragma unroll
    for (int c = 0; c < kGemvTCols; ++c) {
      float v = acc[m][c];
#pragma unroll
      for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
      acc[m][c] = v;
    }
  }
  // Lane m * kCols + c writes (m, c): at most 32 results per warp.
#pragma unroll
  for (int m = 0; m < kM; ++m) {
#pragma unroll
    for (int c = 0; c < kGemvTCols; ++c) {
      if (lane == m * kGemvTCols + c && m < p.M && nBase + c < p.N) gemvWrite(p, partial, split, splits, m, nBase + c, acc[m][c]);
    }
  }
}

// B [K, N] (rows contiguous in n): thread (column pair, k lane); a block owns
// 64 columns of a k range, its 8 warps take every 8th row, and shared memory
// sums the 8 warps' partials.
constexpr int kGemvNCols = 64;
constexpr int kGemvNRows = kGemvThreads / (kGemvNCols / 2);  // 8

template <typename T, int kM, bool kVec>
__global__ void __launch_bounds__(kGemvThreads) gemvKernel(GemmParams p, float* partial, int splits, int64_t kPerSplit) {
  using S = typename T::Storage;
  __shared__ float sums[kGemvNRows][kM][kGemvNCols];
  const auto* B = static_cast<const S*>(p.B);
  const int pair = threadIdx.x % (kGemvNCols / 2), row = threadIdx.x / (kGemvNCols / 2);
  const int64_t nBlock = static_cast<int64_t>(blockIdx.x) * kGemvNCols;
  const int64_t n = nBlock + 2 * pair;
  const int split = blockIdx.y;
  const int64_t k0 = split * kPerSplit, k1 = min(p.K, k0 + kPerSplit);

  float acc[kM][2];
#pragma unroll
  for (int m = 0; m < kM; ++m) acc[m][0] = acc[m][1] = 0.0f;

  if (n < p.N) {
    const bool both = n + 1 < p.N;
#pragma unroll 4
    for (int64_t k = k0 + row; k < k1; k += kGemvNRows) {
      const S* src = B + k * p.ldb + n;
      float b0, b1;
      if (kVec && both) {
        // n even, ldb even, B 4-byte (16-bit) / 8-byte (f32) aligned: one load for the pair.
        if constexpr (sizeof(S) == 2) {
          const uint32_t v = __ldg(reinterpret_cast<const unsigned int*>(src));
          b0 = widen(static_cast<uint16_t>(v & 0xffff), T{});
          b1 = widen(static_cast<uint16_t>(v >> 16), T{});
        } else {
          const float2 v = __ldg(reinterpret_cast<const float2*>(src));
          b0 = v.x;
          b1 = v.y;
        }
      } else {
        b0 = widen(src[0], T{});
        b1 = both ? widen(src[1], T{}) : 0.0f;
      }
#pragma unroll
      for (int m = 0; m < kM; ++m) {
        if (m >= p.M) break;
        const float a = __ldg(p.A + m * p.lda + k);
        acc[m][0] = fmaf(a, b0, acc[m][0]);
        acc[m][1] = fmaf(a, b1, acc[m][1]);
      }
    }
  }
#pragma unroll
  for (int m = 0; m < kM; ++m) {
    sums[row][m][2 * pair] = acc[m][0];
    sums[row][m][2 * pair + 1] = acc[m][1];
  }
  __syncthreads();
  for (int e = threadIdx.x; e < kM * kGemvNCols; e += kGemvThreads) {
    const int m = e / kGemvNCols, c = e % kGemvNCols;
    if (m >= p.M || nBlock + c >= p.N) continue;
    float s = 0.0f;
#pragma unroll
    for (int r = 0; r < kGemvNRows; ++r) s += sums[r][m][c];
    gemvWrite(p, partial, split, splits, m, nBlock + c, s);
  }
}

// C = Σ_split partial (+ bias) (+ C): the second pass of a split-K GEMV.
__global__ void gemvReduceKernel(GemmParams p, const float* partial, int splits) {
  const int64_t total = p.M * p.N;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t m = i / p.N, n = i % p.N;
    float s = 0.0f;
    for (int split = 0; split < splits; ++split) s += partial[split * total + i];
    storeC(p, m, n, s);
  }
}

// ---- host side ---------------------------------------------------------------------------------------

int multiprocessors() {
  static const int count = [] {
    int device = 0, sms = 0;
    if (cudaGetDevice(&device) != cudaSuccess || cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess) {
      cudaGetLastError();
      return 108;
    }
    return sms;
  }();
  return count;
}

bool aligned(const void* ptr, size_t bytes) { return reinterpret_cast<uintptr_t>(ptr) % bytes == 0; }

// Splits K so that the grid has about four blocks per SM (enough loads in
// flight to reach full bandwidth), keeping each split at least minK deep.
int chooseSplits(int64_t blocksN, int64_t K, int64_t minK) {
  const int64_t want = (4 * static_cast<int64_t>(multiprocessors()) + blocksN - 1) / blocksN;
  const int64_t most = std::max<int64_t>(1, K / minK);
  return static_cast<int>(std::clamp<int64_t>(want, 1, std::min<int64_t>(most, 64)));
}

template <typename T, int kM>
void launchGemvM(const GemmParams& p, cudaStream_t stream, bool transB) {
  using S = typename T::Storage;
  if (transB) {
    const bool vec = aligned(p.A, 16) && p.lda % 4 == 0 && aligned(p.B, 16) && (p.ldb * sizeof(S)) % 16 == 0;
    const int64_t blocksN = (p.N + kGemvTWarps * kGemvTCols - 1) / (kGemvTWarps * kGemvTCols);
    const int splits = chooseSplits(blocksN, p.K, 1024);
    // Multiples of 256 keep every split's start on the vector path's 8-element steps.
    const int64_t kPerSplit = std::max<int64_t>(256, (p.K + splits - 1) / splits + 255) / 256 * 256;
    const int used = static_cast<int>(std::max<int64_t>(1, (p.K + kPerSplit - 1) / kPerSplit));
    float* partial = used > 1 ? static_cast<float*>(scratch(sizeof(float) * used * p.M * p.N, stream)) : nullptr;
    const dim3 grid(static_cast<unsigned>(blocksN), used);
    if (vec) gemvTransBKernel<T, kM, true><<<grid, kGemvThreads, 0, stream>>>(p, partial, used, kPerSplit);
    else gemvTransBKernel<T, kM, false><<<grid, kGemvThreads, 0, stream>>>(p, partial, used, kPerSplit);
    if (used > 1) gemvReduceKernel<<<static_cast<unsigned>(std::min<int64_t>((p.M * p.N + 255) / 256, 4096)), 256, 0, stream>>>(p, partial, used);
  } else {
    const bool vec = aligned(p.B, 2 * sizeof(S)) && p.ldb % 2 == 0;
    const int64_t blocksN = (p.N + kGemvNCols - 1) / kGemvNCols;
    const int splits = chooseSplits(blocksN, p.K, 64);
    const int64_t kPerSplit = std::max<int64_t>(1, (p.K + splits - 1) / splits);
    const int used = static_cast<int>(std::max<int64_t>(1, (p.K + kPerSplit - 1) / kPerSplit));
    float* partial = used > 1 ? static_cast<float*>(scratch(sizeof(float) * used * p.M * p.N, stream)) : nullptr;
    const dim3 grid(static_cast<unsigned>(blocksN), used);
    if (vec) gemvKernel<T, kM, true><<<grid, kGemvThreads, 0, stream>>>(p, partial, used, kPerSplit);
    else gemvKernel<T, kM, false><<<grid, kGemvThreads, 0, stream>>>(p, partial, used, kPerSplit);
    if (used > 1) gemvReduceKernel<<<static_cast<unsigned>(std::min<int64_t>((p.M * p.N + 255) / 256, 4096)), 256, 0, stream>>>(p, partial, used);
  }
}

template <typename T>
void launchGemv(const GemmParams& p, cudaStream_t stream, bool transB) {
  // Row counts are compiled in (registers for the accumulators), in steps.
  if (p.M <= 1) launchGemvM<T, 1>(p, stream, transB);
  else if (p.M <= 2) launchGemvM<T, 2>(p, stream, transB);
  else if (p.M <= 4) launchGemvM<T, 4>(p, stream, transB);
  else launchGemvM<T, kGemvMaxM>(p, stream, transB);
}

template <typename T, bool kTransB>
void launchTensorCore(const GemmParams& p, cudaStream_t stream) {
  const int64_t tilesM = (p.M + kTcBM - 1) / kTcBM, tilesN = (p.N + kTcBN - 1) / kTcBN;
  const unsigned blocks = static_cast<unsigned>(tilesM * tilesN);
  const bool vecA = aligned(p.A, 16) && p.lda % 4 == 0;
  const bool vecB = aligned(p.B, 16) && p.ldb % 8 == 0;
  if (vecA && vecB) gemmTensorCoreKernel<T, kTransB, true, true><<<blocks, kTcThreads, 0, stream>>>(p, tilesM, tilesN);
  else if (vecA) gemmTensorCoreKernel<T, kTransB, true, false><<<blocks, kTcThreads, 0, stream>>>(p, tilesM, tilesN);
  else if (vecB) gemmTensorCoreKernel<T, kTransB, false, true><<<blocks, kTcThreads, 0, stream>>>(p, tilesM, tilesN);
  else gemmTensorCoreKernel<T, kTransB, false, false><<<blocks, kTcThreads, 0, stream>>>(p, tilesM, tilesN);
}

}  // namespace

void gemm(const cpu::GemmArgs& args, cudaStream_t stream) {
  if (args.M <= 0 || args.N <= 0) return;
  GemmParams p{args.M, args.N, std::max<int64_t>(args.K, 0), args.A, args.lda, args.B, args.ldb,
               args.C, args.ldc, args.bias, args.accumulate};
  // One grid dimension holds every tile: C has at most 2^32 elements, so at
  // most 2^18 tiles of 128 × 128 — but check rather than assume.
  const int64_t tiles = ((p.M + 127) / 128) * ((p.N + 127) / 128);
  if (tiles > 0x7fffffff) throwRange("gemm: [", p.M, ", ", p.N, "] is too large for one CUDA launch");
  if (p.M <= kGemvMaxM || p.K == 0) {
    switch (args.bType) {
      case DType::F32: launchGemv<F32>(p, stream, args.transB); break;
      case DType::BF16: launchGemv<BF16>(p, stream, args.transB); break;
      case DType::F16: launchGemv<F16>(p, stream, args.transB); break;
      default: throwType("gemm: B must be float32, bfloat16 or float16");
    }
    return;
  }
  switch (args.bType) {
    case DType::F32: {
      const int64_t tilesM = (p.M + kSimtBM - 1) / kSimtBM, tilesN = (p.N + kSimtBN - 1) / kSimtBN;
      const unsigned blocks = static_cast<unsigned>(tilesM * tilesN);
      if (args.transB) gemmSimtKernel<true><<<blocks, kSimtThreads, 0, stream>>>(p, tilesM, tilesN);
      else gemmSimtKernel<false><<<blocks, kSimtThreads, 0, stream>>>(p, tilesM, tilesN);
      break;
    }
    case DType::BF16:
      if (args.transB) launchTensorCore<BF16, true>(p, stream);
      else launchTensorCore<BF16, false>(p, stream);
      break;
    case DType::F16:
      if (args.transB) launchTensorCore<F16, true>(p, stream);
      else launchTensorCore<F16, false>(p, stream);
      break;
    default: throwType("gemm: B must be float32, bfloat16 or float16");
  }
}

}  // namespace cr::cuda
