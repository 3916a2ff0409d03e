// RMSNorm and LayerNorm over groups of channels, with the fusions layers ask
// for: a residual add before the norm (pre-norm blocks), and a silu gate
// before or after it (Mamba-2's gated RMSNorm). Per row: one pass to form the
// input, one (RMS) or two (LayerNorm: mean, then variance about it, which
// stays accurate when the mean is large) to reduce, one to scale.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

namespace {

static inline float sumOf(const float* x, int64_t n) {
  Vec acc0 = vzero(), acc1 = vzero();
  int64_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    acc0 += vload(x + i);
    acc1 += vload(x + i + kLanes);
  }
  float tail = 0;
  for (; i < n; ++i) tail += x[i];
  return vreduceAdd(acc0 + acc1) + tail;
}

static inline float sumSquaresAbout(const float* x, int64_t n, float center) {
  const Vec c = vset(center);
  Vec acc0 = vzero(), acc1 = vzero();
  int64_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    const Vec a = vload(x + i) - c, b = vload(x + i + kLanes) - c;
    acc0 = vfma(a, a, acc0);
    acc1 = vfma(b, b, acc1);
  }
  float tail = 0;
  for (; i < n; ++i) tail += (x[i] - center) * (x[i] - center);
  return vreduceAdd(acc0 + acc1) + tail;
}

// y[i] = (x[i] − center) · scale · w[i] (+ b[i]) (· silu(gate[i]))
static inline void scaleRow(const float* x, int64_t n, float center, float scale, const float* w, const float* b,
                            const float* gateAfter, float* y) {
  const Vec c = vset(center), s = vset(scale);
  for (int64_t i = 0; i < n; i += kLanes) {
    const int m = static_cast<int>(std::min<int64_t>(kLanes, n - i));
    Vec v = (vloadPartial(x + i, m) - c) * s;
    if (w) v = v * vloadPartial(w + i, m);
    if (b) v = v + vloadPartial(b + i, m);
    if (gateAfter) v = v * vsilu(vloadPartial(gateAfter + i, m));
    vstorePartial(y + i, v, m);
  }
}

}  // namespace

void norm(const NormArgs& g) {
  const int64_t groupSize = g.groupSize > 0 ? g.groupSize : g.dim;
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(1, g.dim));
  parallelFor(g.rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = g.x + r * g.dim;
      float* y = g.y + r * g.dim;
      const float* gate = g.gate ? g.gate + r * g.dim : nullptr;
      // Form the normalised input in y when it differs from x.
      const float* in = x;
      if (g.residual || (gate && g.gateBefore)) {
        const float* res = g.residual ? g.residual + r * g.dim : nullptr;
        for (int64_t i = 0; i < g.dim; i += kLanes) {
          const int m = static_cast<int>(std::min<int64_t>(kLanes, g.dim - i));
          Vec v = vloadPartial(x + i, m);
          if (res) v = v + vloadPartial(res + i, m);
          if (res && g.residualOut) vstorePartial(g.residualOut + r * g.dim + i, v, m);
          if (gate && g.gateBefore) v = v * vsilu(vloadPartial(gate + i, m));
          vstorePartial(y + i, v, m);
        }
        in = y;
      }
      for (int64_t c0 = 0; c0 < g.dim; c0 += groupSize) {
        const int64_t n = std::min(groupSize, g.dim - c0);
        float center = 0, meanSquare;
        if (g.rms) {
          meanSquare = sumSquaresAbout(in + c0, n, 0.0f) / static_cast<float>(n);
        } else {
          center = sumOf(in + c0, n) / static_cast<float>(n);
          meanSquare = sumSquaresAbout(in + c0, n, center) / static_cast<float>(n);
        }
        const float scale = 1.0f / std::sqrt(meanSquare + g.eps);
        scaleRow(in + c0, n, center, scale, g.weight ? g.weight + c0 : nullptr, g.bias ? g.bias + c0 : nullptr,
                 gate && !g.gateBefore ? gate + c0 : nullptr, y + c0);
      }
    }
  });
}

}  // namespace cr::cpu::CR_ISA
