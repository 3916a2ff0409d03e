// Softmax (or log-softmax) over the last dimension, max-subtracted so large
// logits do not overflow: sampling, routers, attention fallbacks.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

void softmax(const SoftmaxArgs& g) {
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(1, g.dim));
  parallelFor(g.rows, grain, [&](int64_t r0, int64_t r1) {
    const Vec scale = vset(g.scale);
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = g.x + r * g.dim;
      float* y = g.y + r * g.dim;
      Vec vmaxAcc = vset(-INFINITY);
      for (int64_t i = 0; i < g.dim; i += kLanes) {
        const int m = static_cast<int>(std::min<int64_t>(kLanes, g.dim - i));
        Vec v = vloadPartial(x + i, m) * scale;
        if (m < kLanes) {  // masked lanes must not win the max
          alignas(64) float lanes[kLanes];
          vstore(lanes, v);
          for (int l = m; l < kLanes; ++l) lanes[l] = -INFINITY;
          v = vload(lanes);
        }
        vmaxAcc = vmax(vmaxAcc, v);
      }
      const float rowMax = vreduceMax(vmaxAcc);
      // A row of all −inf has no maximum to subtract: treat it as uniform zeros-in.
      const Vec shift = vset(std::isfinite(rowMax) ? rowMax : 0.0f);
      Vec sumAcc = vzero();
      for (int64_t i = 0; i < g.dim; i += kLanes) {
        const int m = static_cast<int>(std::min<int64_t>(kLanes, g.dim - i));
        const Vec e = vexp(vloadPartial(x + i, m) * scale - shift);
        vstorePartial(y + i, e, m);
        alignas(64) float lanes[kLanes];
        if (m < kLanes) {
          vstore(lanes, e);
          for (int l = m; l < kLanes; ++l) lanes[l] = 0.0f;
          sumAcc += vload(lanes);
        } else {
          sumAcc += e;
        }
      }
      const float total = vreduceAdd(sumAcc);
      if (g.log) {
        const Vec sub = vset((std::isfinite(rowMax) ? rowMax : 0.0f) + std::log(total));
        for (int64_t i = 0; i < g.dim; i += kLanes) {
          const int m = static_cast<int>(std::min<int64_t>(kLanes, g.dim - i));
          vstorePartial(y + i, vloadPartial(x + i, m) * scale - sub, m);
        }
      } else {
        const Vec inv = vset(1.0f / total);
        for (int64_t i = 0; i < g.dim; i += kLanes) {
          const int m = static_cast<int>(std::min<int64_t>(kLanes, g.dim - i));
          vstorePartial(y + i, vloadPartial(y + i, m) * inv, m);
        }
      }
    }
  });
}

}  // namespace cr::cpu::CR_ISA
