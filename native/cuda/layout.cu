// The strided copy behind expand, permute, concat and slice on the GPU, the math of
// native/cpu/copy.cc: dst[Σ i_d·dstStrides[d]] = src[Σ i_d·srcStrides[d]] over `shape`, elements
// of 2 or 4 bytes (copied as bits: any dtype).
// On the host the shape is simplified first — size-1 dimensions dropped, neighbours merged when
// both sides step through them as one run — so most copies become few long rows (a broadcast
// becomes rows with source stride 0). Parallel decomposition: grid.y strides over the rows (the
// row index decomposed once per row), grid.x × threads across the innermost dimension, so a warp
// reads and writes consecutive elements whenever that dimension is contiguous on both sides.
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
