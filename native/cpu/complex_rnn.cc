// The unitary RNN's recurrence h_t = modReLU(W h_{t−1} + u_t). W is split
// once per call into real and imaginary planes so each step's complex
// matrix-vector product is four real dot products per row, vectorised along
// the row. Threads own blocks of hidden units for the whole sequence and meet
// at a barrier after each step (one parallel region per call).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/arena.h"
#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

void complexRnn(const ComplexRnnArgs& g) {
  const int64_t B = g.batch, H = g.hidden;
  ScratchScope scratch;
  float* wRe = scratch.allocate<float>(static_cast<size_t>(H * H));
  float* wIm = scratch.allocate<float>(static_cast<size_t>(H * H));
  for (int64_t i = 0; i < H * H; ++i) {
    wRe[i] = g.weight[2 * i];
    wIm[i] = g.weight[2 * i + 1];
  }
  // Two state buffers (planar re/im) per batch row, swapped every step.
  float* state[2];
  for (float*& s : state) s = scratch.allocate<float>(static_cast<size_t>(B * 2 * H));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t j = 0; j < H; ++j) {
      state[0][b * 2 * H + j] = g.h0 ? g.h0[(b * H + j) * 2] : 0.0f;
      state[0][b * 2 * H + H + j] = g.h0 ? g.h0[(b * H + j) * 2 + 1] : 0.0f;
    }
  }
  ThreadPool& pool = ThreadPool::instance();
  const int nth = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(pool.numThreads(), (B * H * H) / 16384 + 1)));
  pool.run(nth, [&](int tid, int threads) {
    const int64_t r0 = H * tid / threads, r1 = H * (tid + 1) / threads;
    for (int64_t t = 0; t < g.L; ++t) {
      const float* cur = state[t & 1];
      float* next = state[(t + 1) & 1];
      for (int64_t b = 0; b < B; ++b) {
        const float* hr = cur + b * 2 * H;
        const float* hi = hr + H;
        for (int64_t i = r0; i < r1; ++i) {
          const float* ar = wRe + i * H;
          const float* ai = wIm + i * H;
          Vec rr = vzero(), ii = vzero(), ri = vzero(), ir = vzero();
          int64_t j = 0;
          for (; j + kLanes <= H; j += kLanes) {
            const Vec xr = vload(hr + j), xi = vload(hi + j), wr = vload(ar + j), wi = vload(ai + j);
            rr = vfma(wr, xr, rr);
            ii = vfma(wi, xi, ii);
            ri = vfma(wr, xi, ri);
            ir = vfma(wi, xr, ir);
          }
          float zr = vreduceAdd(rr) - vreduceAdd(ii), zi = vreduceAdd(ri) + vreduceAdd(ir);
          for (; j < H; ++j) {
            zr += ar[j] * hr[j] - ai[j] * hi[j];
            zi += ar[j] * hi[j] + ai[j] * hr[j];
          }
          const float* u = g.u + ((b * g.L + t) * H + i) * 2;
          zr += u[0];
          zi += u[1];
          const float mag = std::sqrt(zr * zr + zi * zi);
          const float scale = mag + g.bias[i] > 0.0f && mag > 0.0f ? (mag + g.bias[i]) / mag : 0.0f;
          next[b * 2 * H + i] = zr * scale;
          next[b * 2 * H + H + i] = zi * scale;
          float* y = g.y + ((b * g.L + t) * H + i) * 2;
          y[0] = zr * scale;
          y[1] = zi * scale;
        }
      }
      ThreadPool::barrier();
    }
  });
  const float* final = state[g.L & 1];
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t j = 0; j < H; ++j) {
      g.last[(b * H + j) * 2] = final[b * 2 * H + j];
      g.last[(b * H + j) * 2 + 1] = final[b * 2 * H + H + j];
    }
  }
}

}  // namespace cr::cpu::CR_ISA
