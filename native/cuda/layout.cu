// The strided copy behind expand, permute, concat and slice on the GPU, the math of
// native/cpu/copy.cc: dst[Σ i_d·dstStrides[d]] = src[Σ i_d·srcStrides[d]] over `shape`, elements
// of 2 or 4 bytes (copied as bits: any dtype).
// On the host the shape is simplified first — size-1 dimensions dropped, neighbours merged when
// both sides step through them as one run — so most copies become few long rows (a broadcast
// becomes rows with source stride 0). Parallel decomposition: grid.y strides over the rows (the
// row index decomposed once per row), grid.x × threads across the innermost dimension, so a warp
// reads and writes consecutive elements whenever that dimension is contiguous on both sides.
// A transpose — the destination's innermost dimension strided in the source while another
// dimension is the source's contiguous one — goes through 32 × 32 tiles in shared memory
// instead, so that both the reads and the writes of a warp are coalesced.
#include <cstdint>

#include "check.h"
#include "small_ops.cuh"

namespace cr::cuda {
namespace {

// shape/strides are CopyArgs' with the simplification applied (rank ≥ 1).
template <typename T>
__global__ void copyKernel(cpu::CopyArgs g, int64_t rows) {
  const int last = g.rank - 1;
  const int64_t inner = g.shape[last];
  const int64_t ss = g.srcStrides[last], ds = g.dstStrides[last];
  const T* src = static_cast<const T*>(g.src);
  T* dst = static_cast<T*>(g.dst);
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    int64_t rem = r, srcOffset = 0, dstOffset = 0;
    for (int d = last - 1; d >= 0; --d) {
      const int64_t i = rem % g.shape[d];
      rem /= g.shape[d];
      srcOffset += i * g.srcStrides[d];
      dstOffset += i * g.dstStrides[d];
    }
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < inner;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
      dst[dstOffset + i * ds] = src[srcOffset + i * ss];
    }
  }
}

// The batch of 2-D transposes: dimension `a` contiguous in the source (extent I), the last
// dimension contiguous in the destination (extent J), the others folded into the batch index.
struct Transpose {
  int64_t I, J, srcStrideJ, dstStrideI;
  int batchRank;
  int64_t batchShape[8], batchSrc[8], batchDst[8];
  int64_t batch;
};

constexpr int kTile = 32;
constexpr int kTileRows = 8;

template <typename T>
__global__ void transposeKernel(const T* src, T* dst, Transpose p) {
  __shared__ T tile[kTile][kTile + 1];  // +1: the column reads hit 32 different banks
  const int64_t i0 = static_cast<int64_t>(blockIdx.y) * kTile, j0 = static_cast<int64_t>(blockIdx.x) * kTile;
  for (int64_t b = blockIdx.z; b < p.batch; b += gridDim.z) {
    int64_t rem = b, srcBase = 0, dstBase = 0;
    for (int d = p.batchRank - 1; d >= 0; --d) {
      const int64_t k = rem % p.batchShape[d];
      rem /= p.batchShape[d];
      srcBase += k * p.batchSrc[d];
      dstBase += k * p.batchDst[d];
    }
    for (int r = threadIdx.y; r < kTile; r += kTileRows) {
      const int64_t i = i0 + threadIdx.x, j = j0 + r;
      if (i < p.I && j < p.J) tile[r][threadIdx.x] = src[srcBase + i + j * p.srcStrideJ];
    }
    __syncthreads();
    for (int r = threadIdx.y; r < kTile; r += kTileRows) {
      const int64_t i = i0 + r, j = j0 + threadIdx.x;
      if (i < p.I && j < p.J) dst[dstBase + i * p.dstStrideI + j] = tile[threadIdx.x][r];
    }
    __syncthreads();  // the tile is refilled for the next batch entry
  }
}

// A transpose plan for `g` (simplified), when its shape is one.
bool transposePlan(const cpu::CopyArgs& g, Transpose* p) {
  const int last = g.rank - 1;
  if (g.rank < 2 || g.dstStrides[last] != 1 || g.srcStrides[last] == 1 || g.srcStrides[last] == 0) return false;
  int a = -1;
  for (int d = 0; d < last; ++d) {
    if (g.srcStrides[d] == 1) a = d;
  }
  if (a < 0) return false;
  p->I = g.shape[a];
  p->J = g.shape[last];
  p->srcStrideJ = g.srcStrides[last];
  p->dstStrideI = g.dstStrides[a];
  p->batchRank = 0;
  p->batch = 1;
  for (int d = 0; d < last; ++d) {
    if (d == a) continue;
    p->batchShape[p->batchRank] = g.shape[d];
    p->batchSrc[p->batchRank] = g.srcStrides[d];
    p->batchDst[p->batchRank] = g.dstStrides[d];
    ++p->batchRank;
    p->batch *= g.shape[d];
  }
  return (p->I + kTile - 1) / kTile <= 65535;
}

// Drops size-1 dimensions and merges dimension d into d + 1 where both sides
// step through the pair as one run.
cpu::CopyArgs simplified(const cpu::CopyArgs& g) {
  cpu::CopyArgs s = g;
  s.rank = 0;
  for (int d = 0; d < g.rank; ++d) {
    if (g.shape[d] == 1) continue;
    if (s.rank > 0) {
      const int p = s.rank - 1;
      if (s.srcStrides[p] == g.srcStrides[d] * g.shape[d] && s.dstStrides[p] == g.dstStrides[d] * g.shape[d]) {
        s.shape[p] *= g.shape[d];
        s.srcStrides[p] = g.srcStrides[d];
        s.dstStrides[p] = g.dstStrides[d];
        continue;
      }
    }
    s.shape[s.rank] = g.shape[d];
    s.srcStrides[s.rank] = g.srcStrides[d];
    s.dstStrides[s.rank] = g.dstStrides[d];
    ++s.rank;
  }
  if (s.rank == 0) {  // a single element
    s.rank = 1;
    s.shape[0] = 1;
    s.srcStrides[0] = 1;
    s.dstStrides[0] = 1;
  }
  return s;
}

}  // namespace

void copy(const cpu::CopyArgs& args, cudaStream_t stream) {
  for (int d = 0; d < args.rank; ++d) {
    if (args.shape[d] == 0) return;
  }
  const cpu::CopyArgs g = simplified(args);
  Transpose plan;
  if (transposePlan(g, &plan)) {
    const int64_t tilesJ = (plan.J + kTile - 1) / kTile, tilesI = (plan.I + kTile - 1) / kTile;
    if (tilesJ <= 0x7fffffff) {
      const dim3 grid(static_cast<unsigned>(tilesJ), static_cast<unsigned>(tilesI),
                      static_cast<unsigned>(plan.batch < 65535 ? plan.batch : 65535));
      const dim3 block(kTile, kTileRows);
      if (g.elementBytes == 2) transposeKernel<uint16_t><<<grid, block, 0, stream>>>(static_cast<const uint16_t*>(g.src), static_cast<uint16_t*>(g.dst), plan);
      else transposeKernel<uint32_t><<<grid, block, 0, stream>>>(static_cast<const uint32_t*>(g.src), static_cast<uint32_t*>(g.dst), plan);
      return;
    }
  }
  int64_t rows = 1;
  for (int d = 0; d < g.rank - 1; ++d) rows *= g.shape[d];
  const int64_t inner = g.shape[g.rank - 1];
  const int threads = inner >= 256 ? 256 : (inner >= 64 ? 64 : 32);
  int64_t xBlocks = (inner + threads - 1) / threads;
  if (xBlocks > 65535) xBlocks = 65535;
  const dim3 grid(static_cast<unsigned>(xBlocks), static_cast<unsigned>(rows < 65535 ? rows : 65535));
  if (g.elementBytes == 2) copyKernel<uint16_t><<<grid, threads, 0, stream>>>(g, rows);
  else copyKernel<uint32_t><<<grid, threads, 0, stream>>>(g, rows);
}

}  // namespace cr::cuda
