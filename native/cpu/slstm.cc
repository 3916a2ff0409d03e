// The sLSTM recurrence (Beck et al., "xLSTM", 2024), one (batch row, head)
// per task: heads only talk to themselves through the block-diagonal
// recurrent matrix, so every task runs its whole sequence without
// synchronising. Per step: raw = Wx + R·y_{t−1} + b for the four gates, then
//   m_t = max(log σ(f̃) + m_{t−1}, ĩ)   (ĩ alone while n_{t−1} = 0)
//   i = exp(ĩ − m_t), f = exp(log σ(f̃) + m_{t−1} − m_t)
//   c_t = f c_{t−1} + i tanh(z̃), n_t = f n_{t−1} + i, y_t = σ(õ) c_t / n_t
// which matches the vanilla cell of NX-AI/xlstm (slstm_forward_pointwise).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/arena.h"
#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

void slstm(const SlstmArgs& g) {
  const int64_t H = g.heads, dh = g.headDim, hidden = H * dh;
  parallelTasks(g.batch * H, [&](int64_t task, int) {
    const int64_t b = task / H, h = task % H;
    ScratchScope scratch;
    float* y = scratch.allocate<float>(static_cast<size_t>(dh));
    float* c = scratch.allocate<float>(static_cast<size_t>(dh));
    float* n = scratch.allocate<float>(static_cast<size_t>(dh));
    float* m = scratch.allocate<float>(static_cast<size_t>(dh));
    float* raw = scratch.allocate<float>(static_cast<size_t>(4 * dh));
    float* states[4] = {y, c, n, m};
    for (int s = 0; s < 4; ++s) {
      if (g.initial[s]) std::memcpy(states[s], g.initial[s] + b * hidden + h * dh, static_cast<size_t>(dh) * sizeof(float));
      else std::fill(states[s], states[s] + dh, 0.0f);
    }
    const float* R = g.recurrent + h * dh * 4 * dh;  // [dh (input), 4, dh (output)]
    for (int64_t t = 0; t < g.L; ++t) {
      // raw[g·dh + j] = Wx + b + Σ_k y[k] · R[k][g][j]
      const float* wx = g.gates + (b * g.L + t) * 4 * hidden;
      for (int gate = 0; gate < 4; ++gate) {
        const float* src = wx + gate * hidden + h * dh;
        const float* bias = g.bias ? g.bias + (h * 4 + gate) * dh : nullptr;
        for (int64_t j = 0; j < dh; ++j) raw[gate * dh + j] = src[j] + (bias ? bias[j] : 0.0f);
      }
      for (int64_t k = 0; k < dh; ++k) {
        const Vec yk = vset(y[k]);
        const float* row = R + k * 4 * dh;
        int64_t j = 0;
        for (; j + kLanes <= 4 * dh; j += kLanes) vstore(raw + j, vfma(yk, vload(row + j), vload(raw + j)));
        for (; j < 4 * dh; ++j) raw[j] += y[k] * row[j];
      }
      float* out = g.y + (b * g.L + t) * hidden + h * dh;
      for (int64_t j = 0; j < dh; ++j) {
        const float iRaw = raw[j], fRaw = raw[dh + j], zRaw = raw[2 * dh + j], oRaw = raw[3 * dh + j];
        // log σ(f̃) = −softplus(−f̃), accurate for large |f̃|.
        const float logF = -(std::max(-fRaw, 0.0f) + std::log1p(std::exp(-std::fabs(fRaw))));
        const float logFPlusM = m[j] + logF;
        const bool fresh = n[j] == 0.0f;
        const float mNew = fresh ? iRaw : std::max(iRaw, logFPlusM);
        const float iGate = std::exp(iRaw - mNew);
        // A fresh state holds nothing to forget; skipping exp() there also avoids
        // exp(log f − ĩ) overflowing to inf (then inf · 0 = NaN) for very negative ĩ.
        const float fGate = fresh ? 0.0f : std::exp(logFPlusM - mNew);
        const float oGate = 1.0f / (1.0f + std::exp(-oRaw));
        c[j] = fGate * c[j] + iGate * std::tanh(zRaw);
        n[j] = fGate * n[j] + iGate;
        m[j] = mNew;
        y[j] = oGate * c[j] / n[j];
        out[j] = y[j];
      }
    }
    for (int s = 0; s < 4; ++s) {
      if (g.last[s]) std::memcpy(g.last[s] + b * hidden + h * dh, states[s], static_cast<size_t>(dh) * sizeof(float));
    }
  });
}

}  // namespace cr::cpu::CR_ISA
