// Diagonal linear recurrence h_t = a_t ⊙ h_{t−1} + b_t (LRU, S5, RG-LRU, the
// recurrent mode of S4D), real or complex, vectorised across channels.
//
// Two schedules, chosen by shape:
//  - Channel-parallel: each thread owns some (batch, channel range) segments
//    and walks them once from t = 0 to L − 1, one row at a time, so a, b and h
//    stream through memory in order. h_{t−1} is read back from the row of h
//    just written (still in L1), so the state never needs its own buffer;
//    a segment of one vector or less keeps it in a register instead, as the
//    loop-carried chain is then all the work there is.
//  - Time-parallel, when batch × channel vectors cannot keep the threads busy
//    but L is long (b = 1 with a few channels): a reduce-then-scan over nth + 1
//    time chunks. Pass 1: thread 0 scans chunk 0 for real (its incoming state
//    is known); thread k ≥ 1 scans chunk k from a zero state without writing
//    h, keeping only the chunk's end state and its decay product Π a. Pass 2
//    (serial, O(nth · state)): carry_{k+1} = (Π_k a) ⊙ carry_k + end_k, a
//    multiply forward that never divides by a product (products can underflow
//    to 0; that is then exactly right). Pass 3: thread k rescans chunk k + 1
//    from its true carry, writing h. The rescan replaces the usual fix-up
//    h_t += (Π_{s≤t} a_s) ⊙ carry: it reads b instead of h and writes h once,
//    so a chunk costs 8 + 12 bytes per element instead of 12 + 12, and every
//    h_t comes out of the same recurrence, in the same order, as a sequential
//    scan from the carry. Chunk 0 is shorter (weight 2 against 3) because in
//    pass 1 it does a full scan (12 bytes per element) while the others only
//    reduce (8), so both finish together. Products that reach subnormal
//    magnitudes are flushed to 0 (see flushSubnormal).
//
// Complex numbers are (re, im) pairs in memory. Each pair of vectors holding
// kLanes complex numbers is split into a vector of real parts and one of
// imaginary parts with in-lane shuffles (the channel order inside the vectors
// is permuted, identically for a, b and h, and undone on store), so the
// arithmetic is plain lane-wise FMAs.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../core/arena.h"
#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

namespace {

// Decay products shrink geometrically and would spend many steps as
// subnormals, each a slow microcode assist on x86. Below the smallest normal
// float they are flushed to 0: what they would add to h (carry · product) is
// then below 2^-126 times the carry, far under float32's resolution of h
// unless the carry itself is above 2^100.
static inline Vec flushSubnormal(Vec p) { return vselectLess(vabs(p), vset(1.17549435e-38f), vzero(), p); }

// ---- complex vectors: kLanes complex numbers as separate re / im vectors ----

struct Cx {
  Vec re, im;
};

#if defined(CR_ISA_AVX512)
static inline Cx deinterleave(Vec lo, Vec hi) {
  return {{_mm512_shuffle_ps(lo.v, hi.v, _MM_SHUFFLE(2, 0, 2, 0))}, {_mm512_shuffle_ps(lo.v, hi.v, _MM_SHUFFLE(3, 1, 3, 1))}};
}
static inline void interleave(Cx z, Vec* lo, Vec* hi) {
  lo->v = _mm512_unpacklo_ps(z.re.v, z.im.v);
  hi->v = _mm512_unpackhi_ps(z.re.v, z.im.v);
}
#elif defined(CR_ISA_AVX2)
static inline Cx deinterleave(Vec lo, Vec hi) {
  return {{_mm256_shuffle_ps(lo.v, hi.v, _MM_SHUFFLE(2, 0, 2, 0))}, {_mm256_shuffle_ps(lo.v, hi.v, _MM_SHUFFLE(3, 1, 3, 1))}};
}
static inline void interleave(Cx z, Vec* lo, Vec* hi) {
  lo->v = _mm256_unpacklo_ps(z.re.v, z.im.v);
  hi->v = _mm256_unpackhi_ps(z.re.v, z.im.v);
}
#else
// One lane: the two vectors already are the real and the imaginary part.
static inline Cx deinterleave(Vec lo, Vec hi) { return {lo, hi}; }
static inline void interleave(Cx z, Vec* lo, Vec* hi) {
  *lo = z.re;
  *hi = z.im;
}
#endif

static inline Cx loadCx(const float* p) { return deinterleave(vload(p), vload(p + kLanes)); }
static inline void storeCx(float* p, Cx z) {
  Vec lo, hi;
  interleave(z, &lo, &hi);
  vstore(p, lo);
  vstore(p + kLanes, hi);
}
// The first m < kLanes complex numbers (2m floats); lanes past them load as 0.
static inline Cx loadCxPartial(const float* p, int m) {
  const int loCount = std::min(2 * m, kLanes);
  return deinterleave(vloadPartial(p, loCount), vloadPartial(p + kLanes, 2 * m - loCount));
}
static inline void storeCxPartial(float* p, Cx z, int m) {
  const int loCount = std::min(2 * m, kLanes);
  Vec lo, hi;
  interleave(z, &lo, &hi);
  vstorePartial(p, lo, loCount);
  vstorePartial(p + kLanes, hi, 2 * m - loCount);
}

// a·h + b
static inline Cx cfma(Cx a, Cx h, Cx b) {
  return {vfma(a.re, h.re, vfnma(a.im, h.im, b.re)), vfma(a.re, h.im, vfma(a.im, h.re, b.im))};
}
static inline Cx flushSubnormal(Cx z) { return {flushSubnormal(z.re), flushSubnormal(z.im)}; }
static inline Cx cmul(Cx x, Cx y) { return {vfnma(x.im, y.im, x.re * y.re), vfma(x.re, y.im, x.im * y.re)}; }

// ---- one time step over a row of n channels ----
// out = a ⊙ prev + b, and prod ⊙= a when kProd. out may alias prev.

template <bool kProd>
static inline void stepRowReal(const float* a, const float* b, const float* prev, float* out, float* prod, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const Vec av = vload(a + i);
    vstore(out + i, vfma(av, vload(prev + i), vload(b + i)));
    if (kProd) vstore(prod + i, flushSubnormal(vload(prod + i) * av));
  }
  if (i < n) {
    const int m = static_cast<int>(n - i);
    const Vec av = vloadPartial(a + i, m);
    vstorePartial(out + i, vfma(av, vloadPartial(prev + i, m), vloadPartial(b + i, m)), m);
    if (kProd) vstorePartial(prod + i, flushSubnormal(vloadPartial(prod + i, m) * av), m);
  }
}

// n complex channels: 2n floats.
template <bool kProd>
static inline void stepRowComplex(const float* a, const float* b, const float* prev, float* out, float* prod, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const Cx av = loadCx(a + 2 * i);
    storeCx(out + 2 * i, cfma(av, loadCx(prev + 2 * i), loadCx(b + 2 * i)));
    if (kProd) storeCx(prod + 2 * i, flushSubnormal(cmul(loadCx(prod + 2 * i), av)));
  }
  if (i < n) {
    const int m = static_cast<int>(n - i);
    const Cx av = loadCxPartial(a + 2 * i, m);
    storeCxPartial(out + 2 * i, cfma(av, loadCxPartial(prev + 2 * i, m), loadCxPartial(b + 2 * i, m)), m);
    if (kProd) storeCxPartial(prod + 2 * i, flushSubnormal(cmul(loadCxPartial(prod + 2 * i, m), av)), m);
  }
}

template <bool kComplex, bool kProd = false>
static inline void stepRow(const float* a, const float* b, const float* prev, float* out, float* prod, int64_t n) {
  if (kComplex) stepRowComplex<kProd>(a, b, prev, out, prod, n);
  else stepRowReal<kProd>(a, b, prev, out, prod, n);
}

// ---- rows of at most one register (kLanes channels): the state stays in it ----
// Reading h_{t−1} back from memory would put a store-to-load forward (about
// 5 cycles) on the loop-carried chain beside the FMA; with one or a few
// channels that chain is all there is.

template <bool kComplex>
struct Narrow;
template <>
struct Narrow<false> {
  using T = Vec;
  static T load(const float* p, int m) { return m == kLanes ? vload(p) : vloadPartial(p, m); }
  static void store(float* p, T v, int m) {
    if (m == kLanes) vstore(p, v);
    else vstorePartial(p, v, m);
  }
  static T fma(T a, T h, T b) { return vfma(a, h, b); }
  static T mul(T x, T y) { return flushSubnormal(x * y); }
};
template <>
struct Narrow<true> {
  using T = Cx;
  static T load(const float* p, int m) { return m == kLanes ? loadCx(p) : loadCxPartial(p, m); }
  static void store(float* p, T v, int m) {
    if (m == kLanes) storeCx(p, v);
    else storeCxPartial(p, v, m);
  }
  static T fma(T a, T h, T b) { return cfma(a, h, b); }
  static T mul(T x, T y) { return flushSubnormal(cmul(x, y)); }
};

template <bool kComplex>
static void scanWriteNarrow(const float* a, const float* b, const float* state, float* h, int64_t steps, int64_t stride, int m) {
  using N = Narrow<kComplex>;
  typename N::T x = state ? N::fma(N::load(a, m), N::load(state, m), N::load(b, m)) : N::load(b, m);
  N::store(h, x, m);
  for (int64_t t = 1; t < steps; ++t) {
    const int64_t at = t * stride;
    x = N::fma(N::load(a + at, m), x, N::load(b + at, m));
    N::store(h + at, x, m);
  }
}

template <bool kComplex>
static void scanReduceNarrow(const float* a, const float* b, float* state, float* prod, int64_t steps, int64_t stride, int m) {
  using N = Narrow<kComplex>;
  typename N::T x = N::load(b, m), p = N::load(a, m);
  for (int64_t t = 1; t < steps; ++t) {
    const int64_t at = t * stride;
    const typename N::T decay = N::load(a + at, m);
    x = N::fma(decay, x, N::load(b + at, m));
    p = N::mul(p, decay);
  }
  N::store(state, x, m);
  N::store(prod, p, m);
}

// ---- a run of time steps over one segment of channels ----
// Pointers are at (batch, first step, first channel); `stride` floats separate
// consecutive steps; n channels (complex: n pairs).

// Scans `steps` steps from `state` (nullptr: zeros), writing every h_t.
template <bool kComplex>
static void scanWrite(const float* a, const float* b, const float* state, float* h, int64_t steps, int64_t stride, int64_t n) {
  if (n <= kLanes) return scanWriteNarrow<kComplex>(a, b, state, h, steps, stride, static_cast<int>(n));
  const int64_t floats = kComplex ? 2 * n : n;
  if (state) stepRow<kComplex>(a, b, state, h, nullptr, n);
  else std::memcpy(h, b, static_cast<size_t>(floats) * sizeof(float));  // a ⊙ 0 + b
  for (int64_t t = 1; t < steps; ++t) {
    const int64_t at = t * stride;
    stepRow<kComplex>(a + at, b + at, h + at - stride, h + at, nullptr, n);
  }
}

// Scans from a zero state without writing h: the end state goes to `state`
// and the product of every a to `prod`.
template <bool kComplex>
static void scanReduce(const float* a, const float* b, float* state, float* prod, int64_t steps, int64_t stride, int64_t n) {
  if (n <= kLanes) return scanReduceNarrow<kComplex>(a, b, state, prod, steps, stride, static_cast<int>(n));
  const int64_t floats = kComplex ? 2 * n : n;
  std::memcpy(state, b, static_cast<size_t>(floats) * sizeof(float));
  std::memcpy(prod, a, static_cast<size_t>(floats) * sizeof(float));
  for (int64_t t = 1; t < steps; ++t) {
    const int64_t at = t * stride;
    stepRow<kComplex, true>(a + at, b + at, state, state, prod, n);
  }
}

// Below this many steps per chunk the carries and barriers cost more than the
// time parallelism gains.
constexpr int64_t kMinChunkSteps = 512;
// Each thread of the channel-parallel path gets at least this many elements.
constexpr int64_t kMinElementsPerThread = 1 << 15;

template <bool kComplex>
static void scanChannelParallel(const DiagonalScanArgs& g) {
  const int64_t c = g.channels, L = g.L;
  const int64_t width = kComplex ? 2 : 1;  // floats per channel
  const int64_t stride = c * width;
  const int64_t vecsPerRow = (c + kLanes - 1) / kLanes;
  const int64_t units = g.batch * vecsPerRow;
  const int64_t grain = std::max<int64_t>(1, kMinElementsPerThread / (L * kLanes * width));
  parallelFor(units, grain, [&](int64_t u0, int64_t u1) {
    for (int64_t bi = u0 / vecsPerRow; bi * vecsPerRow < u1; ++bi) {
      const int64_t ch0 = (std::max(u0, bi * vecsPerRow) - bi * vecsPerRow) * kLanes;
      const int64_t ch1 = std::min(c, (std::min(u1, (bi + 1) * vecsPerRow) - bi * vecsPerRow) * kLanes);
      const int64_t n = ch1 - ch0;
      const int64_t base = bi * L * stride + ch0 * width;
      const float* state = g.initialState ? g.initialState + (bi * c + ch0) * width : nullptr;
      scanWrite<kComplex>(g.a + base, g.b + base, state, g.h + base, L, stride, n);
      std::memcpy(g.lastState + (bi * c + ch0) * width, g.h + base + (L - 1) * stride, static_cast<size_t>(n * width) * sizeof(float));
    }
  });
}

template <bool kComplex>
static void scanTimeParallel(const DiagonalScanArgs& g, int threads) {
  const int64_t c = g.channels, L = g.L, batch = g.batch;
  const int64_t width = kComplex ? 2 : 1;
  const int64_t stride = c * width;
  const int64_t slab = batch * stride;  // floats in one state of every (batch, channel)
  ScratchScope scratch;
  // Per chunk k: end state from zero (k in 1..nth−1), Π a over the chunk
  // (same k), and the true state entering it (k in 1..nth).
  float* endState = scratch.allocate<float>(static_cast<size_t>((threads + 1) * slab));
  float* product = scratch.allocate<float>(static_cast<size_t>((threads + 1) * slab));
  float* carry = scratch.allocate<float>(static_cast<size_t>((threads + 1) * slab));

  ThreadPool::instance().run(threads, [&](int tid, int nth) {
    if (nth == 1) {  // run inline (inside another region): one sequential pass
      if (tid == 0) scanChannelParallel<kComplex>(g);
      return;
    }
    // Chunk k covers [bound(k), bound(k + 1)); chunk 0 weighs 2, the others 3.
    const auto bound = [&](int64_t k) { return k == 0 ? 0 : L * (3 * k - 1) / (3 * static_cast<int64_t>(nth) + 2); };

    const int64_t t0 = bound(tid), t1 = bound(tid + 1);
    for (int64_t bi = 0; bi < batch; ++bi) {
      const int64_t base = (bi * L + t0) * stride;
      if (tid == 0) {
        const float* state = g.initialState ? g.initialState + bi * stride : nullptr;
        scanWrite<kComplex>(g.a + base, g.b + base, state, g.h + base, t1 - t0, stride, c);
        std::memcpy(carry + slab + bi * stride, g.h + base + (t1 - t0 - 1) * stride, static_cast<size_t>(stride) * sizeof(float));
      } else {
        scanReduce<kComplex>(g.a + base, g.b + base, endState + tid * slab + bi * stride, product + tid * slab + bi * stride,
                             t1 - t0, stride, c);
      }
    }
    ThreadPool::barrier();
    if (tid == 0) {
      // The state entering chunk k + 1 is chunk k's own scan started from the state entering chunk k.
      for (int k = 1; k < nth; ++k) {
        stepRow<kComplex>(product + k * slab, endState + k * slab, carry + k * slab, carry + (k + 1) * slab, nullptr,
                          batch * c);
      }
    }
    ThreadPool::barrier();
    const int64_t s0 = bound(tid + 1), s1 = bound(tid + 2);
    for (int64_t bi = 0; bi < batch; ++bi) {
      const int64_t base = (bi * L + s0) * stride;
      scanWrite<kComplex>(g.a + base, g.b + base, carry + (tid + 1) * slab + bi * stride, g.h + base, s1 - s0, stride, c);
      if (tid + 1 == nth) {
        std::memcpy(g.lastState + bi * stride, g.h + (bi * L + L - 1) * stride, static_cast<size_t>(stride) * sizeof(float));
      }
    }
  });
}

template <bool kComplex>
static void scan(const DiagonalScanArgs& g) {
  const int64_t vecsPerRow = (g.channels + kLanes - 1) / kLanes;
  const int poolThreads = ThreadPool::inRegion() ? 1 : ThreadPool::instance().numThreads();
  // Time chunks the length allows; the shortest chunk (chunk 0) gets 2/(3·nth + 2) of L.
  const int64_t byLength = (2 * g.L / kMinChunkSteps - 2) / 3;
  const int threads = static_cast<int>(std::min<int64_t>(poolThreads, byLength));
  // Time chunks cost about 20/12 of a plain pass (reduce, then rescan): worth
  // it when they keep enough more threads busy than the channel vectors can.
  if (threads >= 2 && 3 * static_cast<int64_t>(threads) > 5 * g.batch * vecsPerRow) {
    scanTimeParallel<kComplex>(g, threads);
  } else {
    scanChannelParallel<kComplex>(g);
  }
}

}  // namespace

void diagonalScan(const DiagonalScanArgs& g) {
  if (g.complex) scan<true>(g);
  else scan<false>(g);
}

}  // namespace cr::cpu::CR_ISA
