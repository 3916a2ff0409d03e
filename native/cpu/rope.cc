// Rotary position embeddings. The angle of pair i at position p is
// p · base^(−2i/rotaryDim); cos/sin are computed in double once per
// (position, pair) and shared by every head, so a prefill of T tokens costs
// T·rotaryDim/2 sincos calls, not T·heads·rotaryDim/2.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/arena.h"
#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

void rope(const RopeArgs& g) {
  const int64_t pairs = g.rotaryDim / 2;
  const int64_t tokens = g.batch * g.T;
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(1, g.heads * g.D));
  parallelFor(tokens, grain, [&](int64_t t0, int64_t t1) {
    ScratchScope scratch;
    float* cosTable = scratch.allocate<float>(static_cast<size_t>(pairs));
    float* sinTable = scratch.allocate<float>(static_cast<size_t>(pairs));
    double* inverseFrequency = scratch.allocate<double>(static_cast<size_t>(pairs));
    for (int64_t i = 0; i < pairs; ++i) {
      inverseFrequency[i] = std::pow(g.base, -2.0 * static_cast<double>(i) / static_cast<double>(g.rotaryDim));
    }
    for (int64_t token = t0; token < t1; ++token) {
      const int64_t b = token / g.T, t = token % g.T;
      int64_t position;
      if (g.positions) position = g.positions[token];
      else position = (g.rowOffsets ? g.rowOffsets[b] : g.offset) + t;
      const double p = static_cast<double>(position) * g.scale;
      for (int64_t i = 0; i < pairs; ++i) {
        const double angle = p * inverseFrequency[i];
        cosTable[i] = static_cast<float>(std::cos(angle));
        sinTable[i] = static_cast<float>(std::sin(angle));
      }
      for (int64_t h = 0; h < g.heads; ++h) {
        const float* x = g.x + (token * g.heads + h) * g.D;
        float* y = g.y + (token * g.heads + h) * g.D;
        if (g.interleaved) {
          for (int64_t i = 0; i < pairs; ++i) {
            const float a = x[2 * i], c = x[2 * i + 1];
            y[2 * i] = a * cosTable[i] - c * sinTable[i];
            y[2 * i + 1] = a * sinTable[i] + c * cosTable[i];
          }
        } else {
          const float* lo = x;
          const float* hi = x + pairs;
          for (int64_t i = 0; i < pairs; i += kLanes) {
            const int m = static_cast<int>(std::min<int64_t>(kLanes, pairs - i));
            const Vec a = vloadPartial(lo + i, m), c = vloadPartial(hi + i, m);
            const Vec cs = vloadPartial(cosTable + i, m), sn = vloadPartial(sinTable + i, m);
            vstorePartial(y + i, vfnma(c, sn, a * cs), m);
            vstorePartial(y + pairs + i, vfma(a, sn, c * cs), m);
          }
        }
        // Channels past the rotary part pass through.
        if (g.rotaryDim < g.D && x != y) {
          std::memcpy(y + g.rotaryDim, x + g.rotaryDim, static_cast<size_t>(g.D - g.rotaryDim) * sizeof(float));
        }
      }
    }
  });
}

}  // namespace cr::cpu::CR_ISA
