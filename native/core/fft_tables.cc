#include "fft_tables.h"

#include <cmath>
#include <memory>
#include <mutex>

#include "error.h"

namespace cr::fft {

namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;

// e^{−2πi·j/M} in double. The angle is reduced to the first octant first, so
// the sines and cosines of nearby angles come from the same accurate range
// and symmetric twiddles are exactly symmetric.
void unitRoot(int64_t j, int64_t M, double* re, double* im) {
  j %= M;
  // e^{−2πi·j/M} = conj(e^{2πi·j/M}); use j/M in [0, 1) and fold by symmetry.
  const int64_t eighth = M / 8;
  double c, s;
  if (M % 8 == 0) {
    const int64_t octant = j / eighth;
    const int64_t r = j % eighth;
    // angle = 2π·(octant·M/8 + r)/M = octant·π/4 + θ, θ = 2π r/M ∈ [0, π/4)
    const double theta = kTwoPi * static_cast<double>(r) / static_cast<double>(M);
    const double ct = std::cos(theta), st = std::sin(theta);
    const double h = std::sqrt(0.5);
    // cos/sin of octant·π/4 + θ, written per octant from ct, st exactly where possible.
    switch (octant) {
      case 0: c = ct; s = st; break;
      case 1: c = h * (ct - st); s = h * (ct + st); break;
      case 2: c = -st; s = ct; break;
      case 3: c = -h * (ct + st); s = h * (ct - st); break;
      case 4: c = -ct; s = -st; break;
      case 5: c = -h * (ct - st); s = -h * (ct + st); break;
      case 6: c = st; s = -ct; break;
      default: c = h * (ct + st); s = -h * (ct - st); break;
    }
  } else {
    const double angle = kTwoPi * static_cast<double>(j) / static_cast<double>(M);
    c = std::cos(angle);
    s = std::sin(angle);
  }
  *re = c;
  *im = -s;
}

struct Slot {
  std::once_flag once;
  std::unique_ptr<float[]> floats;
  std::unique_ptr<uint32_t[]> indices;
};

Slot radix4Slots[kMaxLog2 + 1];
Slot realSlots[kMaxLog2 + 2];
Slot reversalSlots[kMaxLog2 + 1];

}  // namespace

const float* radix4Twiddles(int log2M) {
  if (log2M < 2 || log2M > kMaxLog2) throwRange("fft: radix-4 twiddles for 2^", log2M, " points are out of range");
  Slot& slot = radix4Slots[log2M];
  std::call_once(slot.once, [&] {
    const int64_t M = int64_t(1) << log2M;
    const int64_t quarter = M / 4;
    std::unique_ptr<float[]> t(new float[static_cast<size_t>(6 * quarter)]);
    for (int64_t j = 0; j < quarter; ++j) {
      for (int p = 1; p <= 3; ++p) {
        double re, im;
        unitRoot(p * j, M, &re, &im);
        t[6 * j + 2 * (p - 1)] = static_cast<float>(re);
        t[6 * j + 2 * (p - 1) + 1] = static_cast<float>(im);
      }
    }
    slot.floats = std::move(t);
  });
  return slot.floats.get();
}

const float* realTwiddles(int log2N) {
  if (log2N < 2 || log2N > kMaxLog2 + 1) throwRange("fft: real-split twiddles for 2^", log2N, " points are out of range");
  Slot& slot = realSlots[log2N];
  std::call_once(slot.once, [&] {
    const int64_t N = int64_t(1) << log2N;
    const int64_t count = N / 4 + 1;
    std::unique_ptr<float[]> t(new float[static_cast<size_t>(2 * count)]);
    for (int64_t k = 0; k < count; ++k) {
      double re, im;
      unitRoot(k, N, &re, &im);
      t[2 * k] = static_cast<float>(re);
      t[2 * k + 1] = static_cast<float>(im);
    }
    slot.floats = std::move(t);
  });
  return slot.floats.get();
}

const uint32_t* bitReversal(int log2M) {
  if (log2M < 0 || log2M > kMaxLog2) throwRange("fft: bit reversal for 2^", log2M, " points is out of range");
  Slot& slot = reversalSlots[log2M];
  std::call_once(slot.once, [&] {
    const uint32_t M = uint32_t(1) << log2M;
    std::unique_ptr<uint32_t[]> r(new uint32_t[M]);
    r[0] = 0;
    // rev(i) from rev(i >> 1): shift right and bring bit 0 of i to the top.
    for (uint32_t i = 1; i < M; ++i) r[i] = (r[i >> 1] >> 1) | ((i & 1u) << (log2M - 1));
    slot.indices = std::move(r);
  });
  return slot.indices.get();
}

}  // namespace cr::fft
