// Depthwise causal convolution (Mamba's and Griffin's short conv1d):
// y[t, ch] = bias[ch] + Σ_j weight[ch, j] · x[t − (w − 1) + j, ch], inputs
// before t = 0 taken from the caller's state (the previous w − 1 inputs).
//
// Vectorised over channels, which are contiguous in x. The taps are
// transposed once per call to [w, c] so each tap is a contiguous vector
// load, and the state to token-major rows [w − 1, c] so the first w − 1
// outputs read their inputs the same way as every later one: each output row
// gathers w input-row pointers (from x or from the state) and sums w FMAs per
// vector. Both transposes cost O(c · w), the size of the state, so a decode
// step (L = 1) does no work that grows with anything else.
//
// Parallel over (batch, time) rows, and also over channel blocks when there
// are too few rows for the threads (decode steps, short prompts). Rows are
// independent: a row at t needs only inputs, never outputs.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../core/arena.h"
#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

namespace {

// Each thread gets at least this many multiply-adds.
constexpr int64_t kMinMacsPerThread = 1 << 15;

// One output row over channels [ch0, ch1): y = act(bias + Σ_j weightT[j] · rows[j]).
static inline void convRow(const float* const* rows, const float* weightT, const float* bias, int64_t c, int64_t width,
                           bool silu, int64_t ch0, int64_t ch1, float* y) {
  int64_t ch = ch0;
  // Four vectors at a time: four independent FMA chains hide the FMA latency.
  for (; ch + 4 * kLanes <= ch1; ch += 4 * kLanes) {
    Vec acc0 = bias ? vload(bias + ch) : vzero();
    Vec acc1 = bias ? vload(bias + ch + kLanes) : vzero();
    Vec acc2 = bias ? vload(bias + ch + 2 * kLanes) : vzero();
    Vec acc3 = bias ? vload(bias + ch + 3 * kLanes) : vzero();
    for (int64_t j = 0; j < width; ++j) {
      const float* wj = weightT + j * c + ch;
      const float* xj = rows[j] + ch;
      acc0 = vfma(vload(wj), vload(xj), acc0);
      acc1 = vfma(vload(wj + kLanes), vload(xj + kLanes), acc1);
      acc2 = vfma(vload(wj + 2 * kLanes), vload(xj + 2 * kLanes), acc2);
      acc3 = vfma(vload(wj + 3 * kLanes), vload(xj + 3 * kLanes), acc3);
    }
    if (silu) {
      acc0 = vsilu(acc0);
      acc1 = vsilu(acc1);
      acc2 = vsilu(acc2);
      acc3 = vsilu(acc3);
    }
    vstore(y + ch, acc0);
    vstore(y + ch + kLanes, acc1);
    vstore(y + ch + 2 * kLanes, acc2);
    vstore(y + ch + 3 * kLanes, acc3);
  }
  for (; ch < ch1; ch += kLanes) {
    const int m = static_cast<int>(std::min<int64_t>(kLanes, ch1 - ch));
    Vec acc = bias ? vloadPartial(bias + ch, m) : vzero();
    for (int64_t j = 0; j < width; ++j) acc = vfma(vloadPartial(weightT + j * c + ch, m), vloadPartial(rows[j] + ch, m), acc);
    if (silu) acc = vsilu(acc);
    vstorePartial(y + ch, acc, m);
  }
}

// Transposes between channel-major [n, K] (a channel's taps or state slots
// side by side) and token-major [K, n] (rows of channels). Each narrow K is
// compiled on its own so the compiler vectorises the strided side; they run
// once per call over O(c · w) floats, which is most of a decode step's work.
template <int K>
static void toTokenMajorFixed(const float* __restrict src, float* __restrict dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    for (int k = 0; k < K; ++k) dst[k * n + i] = src[i * K + k];
  }
}

template <int K>
static void toChannelMajorFixed(const float* __restrict src, int64_t srcStride, float* __restrict dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    for (int k = 0; k < K; ++k) dst[i * K + k] = src[k * srcStride + i];
  }
}

// dst[k · n + i] = src[i · K + k]
static void toTokenMajor(const float* src, float* dst, int64_t n, int64_t K) {
  switch (K) {
    case 1: std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); return;
    case 2: toTokenMajorFixed<2>(src, dst, n); return;
    case 3: toTokenMajorFixed<3>(src, dst, n); return;
    case 4: toTokenMajorFixed<4>(src, dst, n); return;
    case 5: toTokenMajorFixed<5>(src, dst, n); return;
    case 6: toTokenMajorFixed<6>(src, dst, n); return;
    case 7: toTokenMajorFixed<7>(src, dst, n); return;
    case 8: toTokenMajorFixed<8>(src, dst, n); return;
    default:
      for (int64_t k = 0; k < K; ++k) {
        for (int64_t i = 0; i < n; ++i) dst[k * n + i] = src[i * K + k];
      }
  }
}

// dst[i · K + k] = src[k · srcStride + i]
static void toChannelMajor(const float* src, int64_t srcStride, float* dst, int64_t n, int64_t K) {
  switch (K) {
    case 1: std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); return;
    case 2: toChannelMajorFixed<2>(src, srcStride, dst, n); return;
    case 3: toChannelMajorFixed<3>(src, srcStride, dst, n); return;
    case 4: toChannelMajorFixed<4>(src, srcStride, dst, n); return;
    case 5: toChannelMajorFixed<5>(src, srcStride, dst, n); return;
    case 6: toChannelMajorFixed<6>(src, srcStride, dst, n); return;
    case 7: toChannelMajorFixed<7>(src, srcStride, dst, n); return;
    default:
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t k = 0; k < K; ++k) dst[i * K + k] = src[k * srcStride + i];
      }
  }
}

}  // namespace

void causalConv1d(const CausalConv1dArgs& g) {
  const int64_t batch = g.batch, L = g.L, c = g.channels, width = g.width;
  const int64_t past = width - 1;  // inputs before t = 0 that the first outputs see
  ScratchScope scratch;

  float* weightT = scratch.allocate<float>(static_cast<size_t>(width * c));
  toTokenMajor(g.weight, weightT, c, width);
  // history[(bi · past + k) · c + ch] = input at time k − past; zeros without a state.
  float* history = nullptr;
  if (past > 0) {
    history = scratch.allocate<float>(static_cast<size_t>(batch * past * c));
    for (int64_t bi = 0; bi < batch; ++bi) {
      float* rows = history + bi * past * c;
      if (g.initialState) toTokenMajor(g.initialState + bi * c * past, rows, c, past);
      else std::memset(rows, 0, static_cast<size_t>(past * c) * sizeof(float));
    }
  }

  // Split channels into blocks only when rows alone leave threads idle.
  const int64_t rowCount = batch * L;
  const int64_t vecsPerRow = (c + kLanes - 1) / kLanes;
  const int64_t threads = ThreadPool::inRegion() ? 1 : ThreadPool::instance().numThreads();
  const int64_t blocksPerRow = std::min<int64_t>(vecsPerRow, std::max<int64_t>(1, (2 * threads + rowCount - 1) / rowCount));
  const int64_t blockWidth = ((vecsPerRow + blocksPerRow - 1) / blocksPerRow) * kLanes;
  const int64_t items = rowCount * blocksPerRow;
  const int64_t grain = std::max<int64_t>(1, kMinMacsPerThread / std::max<int64_t>(1, blockWidth * width));

  parallelFor(items, grain, [&](int64_t i0, int64_t i1) {
    ScratchScope local;
    const float** rows = local.allocate<const float*>(static_cast<size_t>(width));
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t row = item / blocksPerRow, block = item % blocksPerRow;
      const int64_t bi = row / L, t = row % L;
      for (int64_t j = 0; j < width; ++j) {
        const int64_t source = t - past + j;  // input time of tap j
        rows[j] = source >= 0 ? g.x + (bi * L + source) * c : history + (bi * past + source + past) * c;
      }
      const int64_t ch0 = block * blockWidth, ch1 = std::min(c, ch0 + blockWidth);
      convRow(rows, weightT, g.bias, c, width, g.silu, ch0, ch1, g.y + row * c);
    }
  });

  // The last `past` inputs, oldest first, channel-major like the state.
  if (g.finalState && past > 0) {
    for (int64_t bi = 0; bi < batch; ++bi) {
      float* out = g.finalState + bi * c * past;
      if (L >= past) {
        toChannelMajor(g.x + (bi * L + L - past) * c, c, out, c, past);
        continue;
      }
      // Fewer new inputs than slots: each channel's slots shift left by L (one
      // copy of the whole block, as the channels' slots are contiguous), and x
      // fills the last L.
      if (g.initialState) std::memmove(out, g.initialState + bi * c * past + L, static_cast<size_t>(c * past - L) * sizeof(float));
      else std::memset(out, 0, static_cast<size_t>(c * past) * sizeof(float));
      for (int64_t t = 0; t < L; ++t) {
        const float* in = g.x + (bi * L + t) * c;
        for (int64_t ch = 0; ch < c; ++ch) out[ch * past + past - L + t] = in[ch];
      }
    }
  }
}

}  // namespace cr::cpu::CR_ISA
