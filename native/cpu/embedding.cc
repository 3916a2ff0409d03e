// Embedding lookup: rows of the table (float32, bfloat16 or float16) widened
// to float32. Ids were range-checked by the op before any row is written.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

void embedding(const EmbeddingArgs& g) {
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(1, g.dim));
  parallelFor(g.count, grain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t row = g.ids[i];
      float* y = g.y + i * g.dim;
      if (g.tableType == DType::F32) {
        std::memcpy(y, static_cast<const float*>(g.table) + row * g.dim, static_cast<size_t>(g.dim) * sizeof(float));
        continue;
      }
      const uint16_t* src = static_cast<const uint16_t*>(g.table) + row * g.dim;
      for (int64_t j = 0; j < g.dim; j += kLanes) {
        const int m = static_cast<int>(std::min<int64_t>(kLanes, g.dim - j));
        const Vec v = g.tableType == DType::BF16 ? (m == kLanes ? vloadBf16(src + j) : vloadBf16Partial(src + j, m))
                                                  : (m == kLanes ? vloadF16(src + j) : vloadF16Partial(src + j, m));
        vstorePartial(y + j, v, m);
      }
    }
  });
}

}  // namespace cr::cpu::CR_ISA
