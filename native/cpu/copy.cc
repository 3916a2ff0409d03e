// Strided copy: the one kernel behind expand, permute, concat and slice.
// The innermost dimension is the hot loop: memcpy when both sides are
// contiguous, a fill when the source broadcasts, a strided gather otherwise.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

namespace {

template <typename T>
static void innerCopy(const T* src, int64_t srcStride, T* dst, int64_t dstStride, int64_t n) {
  if (srcStride == 1 && dstStride == 1) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T));
  } else if (srcStride == 0) {
    const T v = *src;
    for (int64_t i = 0; i < n; ++i) dst[i * dstStride] = v;
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i * dstStride] = src[i * srcStride];
  }
}

template <typename T>
static void copyRows(const CopyArgs& g, int64_t r0, int64_t r1) {
  const int last = g.rank - 1;
  const int64_t inner = g.shape[last];
  for (int64_t r = r0; r < r1; ++r) {
    // Decompose the row index over the outer dimensions.
    int64_t rem = r, srcOffset = 0, dstOffset = 0;
    for (int d = last - 1; d >= 0; --d) {
      const int64_t i = rem % g.shape[d];
      rem /= g.shape[d];
      srcOffset += i * g.srcStrides[d];
      dstOffset += i * g.dstStrides[d];
    }
    innerCopy(static_cast<const T*>(g.src) + srcOffset, g.srcStrides[last], static_cast<T*>(g.dst) + dstOffset,
              g.dstStrides[last], inner);
  }
}

}  // namespace

void copy(const CopyArgs& g) {
  if (g.rank == 0) {
    std::memcpy(g.dst, g.src, static_cast<size_t>(g.elementBytes));
    return;
  }
  int64_t rows = 1;
  for (int d = 0; d < g.rank - 1; ++d) rows *= g.shape[d];
  const int64_t inner = g.shape[g.rank - 1];
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(1, inner));
  parallelFor(rows, grain, [&](int64_t r0, int64_t r1) {
    if (g.elementBytes == 2) copyRows<uint16_t>(g, r0, r1);
    else copyRows<uint32_t>(g, r0, r1);
  });
}

}  // namespace cr::cpu::CR_ISA
