// Long causal depthwise convolution (fftConv), reference in test/reference/fft_conv.ts:
//
//   y[b, t, ch] = Σ_{s=0}^{min(t, Lk−1)} k[ch, s]·u[b, t−s, ch] + D[ch]·u[b, t, ch]
//
// Two paths, chosen by estimated cost:
//
// FFT (O(L log L)): the linear convolution is a circular one of N ≥ L + Lk − 1
// points (N a power of two), computed as IFFT(FFT(u)·FFT(k)). Each real
// sequence of N points is packed as N/2 complex points z[m] = x[2m] + i·x[2m+1]
// and transformed by an N/2-point complex FFT; a split step turns that into the
// spectrum of the real sequence and back, so no work is spent on zero imaginary
// parts. The transforms run "SIMD across channels": one complex point holds
// kLanes channels (kLanes real parts, then kLanes imaginary parts), so every
// butterfly is plain vector arithmetic with a broadcast twiddle, and since u is
// token-major [b, L, c], gathering a block of kLanes channels at one time step
// is a single contiguous load. The kernel's spectrum is computed once per
// channel block and reused for every batch row.
//
// The complex FFT is a radix-4 decimation in frequency (a radix-2 step at the
// bottom when log2 of the size is odd), recursive so that once a sub-transform
// fits in cache all its remaining passes stay there. Its outputs come out in
// bit-reversed order; the pointwise product and the real split/merge work
// directly on that order (through a bit-reversal table), and the inverse
// transform, a decimation in time, takes bit-reversed input and gives natural
// order back, so no permutation pass is ever made. Twiddles are computed in
// double and stored as float once per size (native/core/fft_tables.cc).
//
// Direct (O(L·Lk)): for short sequences or short kernels, where the FFT's
// fixed cost does not pay. Also SIMD across channels.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/arena.h"
#include "../core/fft_tables.h"
#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

namespace {

// Floats in one complex point of kLanes parallel transforms: kLanes real parts, then kLanes imaginary parts.
constexpr int64_t kPoint = 2 * kLanes;

// a·b + c. The portable build has no FMA instruction, and std::fma in software
// would cost more than the rounding it saves.
static inline Vec mulAdd(Vec a, Vec b, Vec c) {
#if defined(CR_ISA_SCALAR)
  return a * b + c;
#else
  return vfma(a, b, c);
#endif
}
static inline Vec mulSub(Vec a, Vec b, Vec c) {  // a·b − c
#if defined(CR_ISA_SCALAR)
  return a * b - c;
#else
  return vfma(a, b, vneg(c));
#endif
}

struct Cplx {
  Vec re, im;
};
static inline Cplx cload(const float* p) { return {vload(p), vload(p + kLanes)}; }
static inline void cstore(float* p, Cplx a) {
  vstore(p, a.re);
  vstore(p + kLanes, a.im);
}
static inline Cplx operator+(Cplx a, Cplx b) { return {a.re + b.re, a.im + b.im}; }
static inline Cplx operator-(Cplx a, Cplx b) { return {a.re - b.re, a.im - b.im}; }
static inline Cplx conj(Cplx a) { return {a.re, vneg(a.im)}; }
static inline Cplx mulI(Cplx a) { return {vneg(a.im), a.re}; }  // i·a
// a·w for a twiddle w = (wr, wi) shared by all lanes.
static inline Cplx mulW(Cplx a, const float* w) {
  const Vec wr = vset(w[0]), wi = vset(w[1]);
  return {mulSub(a.re, wr, a.im * wi), mulAdd(a.re, wi, a.im * wr)};
}
// a·conj(w).
static inline Cplx mulConjW(Cplx a, const float* w) {
  const Vec wr = vset(w[0]), wi = vset(w[1]);
  return {mulAdd(a.re, wr, a.im * wi), mulSub(a.im, wr, a.re * wi)};
}
// a·b, both per lane.
static inline Cplx mul(Cplx a, Cplx b) { return {mulSub(a.re, b.re, a.im * b.im), mulAdd(a.re, b.im, a.im * b.re)}; }

// What one transform size needs: radix-4 twiddles by log2 of the sub-size, the
// real-split twiddles and the bit reversal of the complex size.
struct Plan {
  int log2Half = 0;  // complex points: half = 2^log2Half = N/2
  int64_t half = 0;
  const float* radix4[fft::kMaxLog2 + 1] = {};
  const float* split = nullptr;
  const uint32_t* reversal = nullptr;
};

static Plan makePlan(int log2N) {
  Plan p;
  p.log2Half = log2N - 1;
  p.half = int64_t(1) << p.log2Half;
  for (int s = 2; s <= p.log2Half; ++s) p.radix4[s] = fft::radix4Twiddles(s);
  p.split = fft::realTwiddles(log2N);
  p.reversal = fft::bitReversal(p.log2Half);
  return p;
}

// Sub-transforms at most this large run their passes breadth-first (they fit
// in L1 and the recursion would only add calls).
constexpr int kLeafLog2 = kLanes >= 16 ? 7 : kLanes >= 8 ? 8 : 11;

// One radix-4 DIF pass over M = 2^log2M points. With a_p = z[j + p·M/4] and
// y_q = Σ_p a_p·(−i)^{pq}, output index 4r + q of the size-M DFT is the size-M/4
// DFT (over j) of y_q[j]·W^{qj}. Those four sequences are stored in the order
// q = 0, 2, 1, 3 so that sub-transform outputs, recursively, land in plain
// bit-reversed order (the same order a radix-2 DIF gives).
static void forwardPass(float* z, int log2M, const float* tw) {
  const int64_t q = int64_t(1) << (log2M - 2);
  float* p0 = z;
  float* p1 = z + q * kPoint;
  float* p2 = p1 + q * kPoint;
  float* p3 = p2 + q * kPoint;
  for (int64_t j = 0; j < q; ++j) {
    const int64_t o = j * kPoint;
    const Cplx a0 = cload(p0 + o), a1 = cload(p1 + o), a2 = cload(p2 + o), a3 = cload(p3 + o);
    const Cplx t0 = a0 + a2, t1 = a0 - a2, t2 = a1 + a3, t3 = a1 - a3;
    const Cplx y1 = t1 - mulI(t3), y3 = t1 + mulI(t3);
    const float* w = tw + 6 * j;  // W^j, W^2j, W^3j
    cstore(p0 + o, t0 + t2);
    cstore(p1 + o, mulW(t0 - t2, w + 2));
    cstore(p2 + o, mulW(y1, w));
    cstore(p3 + o, mulW(y3, w + 4));
  }
}

// The exact inverse of forwardPass, times 4: undo the twiddles (conjugates) and
// apply the inverse 4-point DFT a_p = Σ_q y_q·i^{pq}.
static void inversePass(float* z, int log2M, const float* tw) {
  const int64_t q = int64_t(1) << (log2M - 2);
  float* p0 = z;
  float* p1 = z + q * kPoint;
  float* p2 = p1 + q * kPoint;
  float* p3 = p2 + q * kPoint;
  for (int64_t j = 0; j < q; ++j) {
    const int64_t o = j * kPoint;
    const float* w = tw + 6 * j;
    const Cplx y0 = cload(p0 + o);
    const Cplx y2 = mulConjW(cload(p1 + o), w + 2);
    const Cplx y1 = mulConjW(cload(p2 + o), w);
    const Cplx y3 = mulConjW(cload(p3 + o), w + 4);
    const Cplx s0 = y0 + y2, s1 = y0 - y2, s2 = y1 + y3, s3 = y1 - y3;
    cstore(p0 + o, s0 + s2);
    cstore(p1 + o, s1 + mulI(s3));
    cstore(p2 + o, s0 - s2);
    cstore(p3 + o, s1 - mulI(s3));
  }
}

// Radix-2 butterflies on consecutive pairs (the last DIF level / first DIT level
// when log2 of the size is odd); the same operation is its own inverse times 2.
static void pairButterflies(float* z, int64_t points) {
  for (int64_t m = 0; m < points; m += 2) {
    float* p = z + m * kPoint;
    const Cplx a = cload(p), b = cload(p + kPoint);
    cstore(p, a + b);
    cstore(p + kPoint, a - b);
  }
}

// In-place forward FFT (e^{−2πi·jk/M}) of M = 2^log2M points, natural order in,
// bit-reversed order out.
static void forwardFft(float* z, int log2M, const Plan& plan) {
  if (log2M <= kLeafLog2) {
    int s = log2M;
    for (; s >= 2; s -= 2) {
      const int64_t size = int64_t(1) << s;
      for (int64_t b = 0; b < (int64_t(1) << log2M); b += size) forwardPass(z + b * kPoint, s, plan.radix4[s]);
    }
    if (s == 1) pairButterflies(z, int64_t(1) << log2M);
    return;
  }
  forwardPass(z, log2M, plan.radix4[log2M]);
  const int64_t quarter = int64_t(1) << (log2M - 2);
  for (int b = 0; b < 4; ++b) forwardFft(z + b * quarter * kPoint, log2M - 2, plan);
}

// In-place unnormalised inverse FFT (e^{+2πi·jk/M}, no 1/M) of M = 2^log2M
// points, bit-reversed order in, natural order out.
static void inverseFft(float* z, int log2M, const Plan& plan) {
  if (log2M <= kLeafLog2) {
    const int64_t M = int64_t(1) << log2M;
    int s = log2M % 2 == 1 ? 1 : 0;
    if (s == 1) pairButterflies(z, M);
    for (s += 2; s <= log2M; s += 2) {
      const int64_t size = int64_t(1) << s;
      for (int64_t b = 0; b < M; b += size) inversePass(z + b * kPoint, s, plan.radix4[s]);
    }
    return;
  }
  const int64_t quarter = int64_t(1) << (log2M - 2);
  for (int b = 0; b < 4; ++b) inverseFft(z + b * quarter * kPoint, log2M - 2, plan);
  inversePass(z, log2M, plan.radix4[log2M]);
}

// Loads z with the real sequence x (kLanes channels per time step, `rowStride`
// floats apart, `lanes` valid) as z[m] = x[2m] + i·x[2m+1], zero past `length`.
static void packSequence(float* z, const float* x, int64_t rowStride, int64_t length, int lanes, int64_t half) {
  for (int64_t t = 0; t < length; ++t) vstore(z + (t >> 1) * kPoint + (t & 1) * kLanes, vloadPartial(x + t * rowStride, lanes));
  if (length & 1) vstore(z + (length >> 1) * kPoint + kLanes, vzero());
  const int64_t used = (length + 1) >> 1;
  std::memset(z + used * kPoint, 0, static_cast<size_t>((half - used) * kPoint) * sizeof(float));
}

// The kernel taps of channels c0 … c0 + lanes − 1 (k is [channels, Lk],
// channel-major, so this is a transpose), packed like packSequence.
static void packKernel(float* z, const FftConvArgs& g, int64_t c0, int lanes, int64_t half) {
  std::memset(z, 0, static_cast<size_t>(half * kPoint) * sizeof(float));
  for (int l = 0; l < lanes; ++l) {
    const float* taps = g.k + (c0 + l) * g.Lk;
    for (int64_t s = 0; s < g.Lk; ++s) z[(s >> 1) * kPoint + (s & 1) * kLanes + l] = taps[s];
  }
}

// The real split. With Z the half-point FFT of z[m] = x[2m] + i·x[2m+1], the
// spectrum of the N real points x is, for 0 < k < half,
//   X[k] = E + W_N^k·O,  E = (Z[k] + conj Z[half−k])/2,  O = (Z[k] − conj Z[half−k])/(2i),
// and X[half − k] = conj(E − W_N^k·O); X[0] = Re Z[0] + Im Z[0], X[half] = Re Z[0] − Im Z[0].
// The functions below leave out every factor 1/2 (it is folded into the
// kernel's spectrum instead), so they compute 2X.

// The kernel's spectrum, from its FFT in bit-reversed order, into `spectrum`
// in natural order scaled by `scale`; entry 0 holds the two real bins X[0], X[half].
static void splitKernelSpectrum(const float* z, float* spectrum, const Plan& plan, float scale) {
  const int64_t half = plan.half;
  const Vec s = vset(scale);
  {
    const Cplx z0 = cload(z);  // bin 0 sits at bit-reversed position 0
    const Vec s2 = s + s;
    cstore(spectrum, {(z0.re + z0.im) * s2, (z0.re - z0.im) * s2});
  }
  for (int64_t k = 1; k <= half / 2; ++k) {
    const int64_t k2 = half - k;
    const Cplx zk = cload(z + plan.reversal[k] * kPoint);
    const Cplx zk2 = cload(z + plan.reversal[k2] * kPoint);
    const Cplx e = zk + conj(zk2);
    const Cplx d = zk - conj(zk2);
    const Cplx o = {d.im, vneg(d.re)};  // −i·d
    const Cplx wo = mulW(o, plan.split + 2 * k);
    const Cplx xk = e + wo;
    const Cplx xk2 = conj(e - wo);
    cstore(spectrum + k * kPoint, {xk.re * s, xk.im * s});
    cstore(spectrum + k2 * kPoint, {xk2.re * s, xk2.im * s});
  }
}

// Forward split, product with the kernel's spectrum G, and the inverse merge,
// in place on the bit-reversed FFT of the data. The merge is the split's
// inverse: for Y the spectrum of the real output y, the half-point sequence
// y[2m] + i·y[2m+1] has the FFT
//   Z'[k] = (Y[k] + conj Y[half−k]) + i·(Y[k] − conj Y[half−k])·conj(W_N^k)   (again ×2)
// and Z'[half − k] = conj(first term) + i·conj(second factor) for the partner.
static void multiplySpectra(float* z, const float* spectrum, const Plan& plan) {
  const int64_t half = plan.half;
  {
    const Cplx z0 = cload(z);
    const Cplx g0 = cload(spectrum);  // (G[0], G[half]), both real per lane
    const Vec y0 = (z0.re + z0.im) * (g0.re + g0.re);
    const Vec yHalf = (z0.re - z0.im) * (g0.im + g0.im);
    cstore(z, {y0 + yHalf, y0 - yHalf});
  }
  for (int64_t k = 1; k <= half / 2; ++k) {
    const int64_t k2 = half - k;
    float* pk = z + plan.reversal[k] * kPoint;
    float* pk2 = z + plan.reversal[k2] * kPoint;
    const float* w = plan.split + 2 * k;
    const Cplx zk = cload(pk), zk2 = cload(pk2);
    const Cplx e = zk + conj(zk2);
    const Cplx d = zk - conj(zk2);
    const Cplx wo = mulW({d.im, vneg(d.re)}, w);
    const Cplx yk = mul(e + wo, cload(spectrum + k * kPoint));
    const Cplx yk2 = mul(conj(e - wo), cload(spectrum + k2 * kPoint));
    const Cplx sum = yk + conj(yk2);
    const Cplx odd = mulConjW(yk - conj(yk2), w);
    cstore(pk, sum + mulI(odd));
    cstore(pk2, conj(sum) + mulI(conj(odd)));  // when k == k2 both stores agree
  }
}

// y rows t < L of one batch row and channel block from the inverse transform,
// plus the skip term D·u.
static void unpackOutput(const float* z, const FftConvArgs& g, int64_t bi, int64_t c0, int lanes) {
  const int64_t base = bi * g.L * g.channels + c0;
  const Vec d = g.D ? vloadPartial(g.D + c0, lanes) : vzero();
  for (int64_t t = 0; t < g.L; ++t) {
    Vec v = vload(z + (t >> 1) * kPoint + (t & 1) * kLanes);
    const int64_t at = base + t * g.channels;
    if (g.D) v = mulAdd(d, vloadPartial(g.u + at, lanes), v);
    vstorePartial(g.y + at, v, lanes);
  }
}

struct FftShape {
  int log2N = 0;
  int64_t blocks = 0;
};

static int log2Ceil(int64_t n) {
  int p = 0;
  while ((int64_t(1) << p) < n) ++p;
  return p;
}

// The FFT length: a power of two ≥ L + Lk − 1 (so the circular convolution has
// no wrap-around in the first L outputs), at least 4 so the split has a pair.
static int fftLog2(const FftConvArgs& g) { return std::max(2, log2Ceil(g.L + g.Lk - 1)); }

static void convolveFft(const FftConvArgs& g) {
  const int log2N = fftLog2(g);
  const Plan plan = makePlan(log2N);  // fetched (or built) before any thread starts
  const int64_t half = plan.half;
  const int64_t bufferFloats = half * kPoint;
  const int64_t blocks = (g.channels + kLanes - 1) / kLanes;
  // The 1/2 of each split, the 1/2 of each merge, and the inverse FFT's 1/half.
  const float scale = static_cast<float>(1.0 / (8.0 * static_cast<double>(half)));
  auto lanesOf = [&](int64_t block) { return static_cast<int>(std::min<int64_t>(kLanes, g.channels - block * kLanes)); };
  auto kernelSpectrum = [&](int64_t block, float* spectrum, float* work) {
    packKernel(work, g, block * kLanes, lanesOf(block), half);
    forwardFft(work, plan.log2Half, plan);
    splitKernelSpectrum(work, spectrum, plan, scale);
  };
  auto convolveRow = [&](int64_t bi, int64_t block, const float* spectrum, float* work) {
    const int64_t c0 = block * kLanes;
    const int lanes = lanesOf(block);
    packSequence(work, g.u + bi * g.L * g.channels + c0, g.channels, g.L, lanes, half);
    forwardFft(work, plan.log2Half, plan);
    multiplySpectra(work, spectrum, plan);
    inverseFft(work, plan.log2Half, plan);
    unpackOutput(work, g, bi, c0, lanes);
  };
  const int threads = ThreadPool::instance().numThreads();
  if (g.batch == 1 || blocks >= threads || ThreadPool::inRegion()) {
    // One task per channel block: its kernel spectrum, then every batch row.
    parallelTasks(blocks, [&](int64_t block, int) {
      ScratchScope scratch;
      float* spectrum = scratch.allocate<float>(static_cast<size_t>(bufferFloats));
      float* work = scratch.allocate<float>(static_cast<size_t>(bufferFloats));
      kernelSpectrum(block, spectrum, work);
      for (int64_t bi = 0; bi < g.batch; ++bi) convolveRow(bi, block, spectrum, work);
    });
    return;
  }
  // Fewer channel blocks than threads: keep every block's spectrum (few, so
  // small) and spread the batch rows over the threads too.
  ScratchScope shared;
  float* spectra = shared.allocate<float>(static_cast<size_t>(blocks * bufferFloats));
  parallelTasks(blocks, [&](int64_t block, int) {
    ScratchScope scratch;
    float* work = scratch.allocate<float>(static_cast<size_t>(bufferFloats));
    kernelSpectrum(block, spectra + block * bufferFloats, work);
  });
  parallelTasks(blocks * g.batch, [&](int64_t task, int) {
    ScratchScope scratch;
    float* work = scratch.allocate<float>(static_cast<size_t>(bufferFloats));
    const int64_t block = task % blocks;
    convolveRow(task / blocks, block, spectra + block * bufferFloats, work);
  });
}

// ---- direct path ----------------------------------------------------------------

constexpr int64_t kDirectTile = 256;        // output steps per task
constexpr int64_t kDirectTapChunk = 2048;   // taps held in scratch at once (with their rows, about L2's size)
constexpr int kDirectRows = 8;              // outputs accumulated together (independent FMA chains)
constexpr int kDirectTaps = 4;              // taps applied together: 8 × 4 products from 11 row loads and 4 tap loads

static void convolveDirect(const FftConvArgs& g) {
  const int64_t blocks = (g.channels + kLanes - 1) / kLanes;
  const int64_t tiles = (g.L + kDirectTile - 1) / kDirectTile;
  parallelTasks(blocks * g.batch * tiles, [&](int64_t task, int) {
    const int64_t tile = task % tiles;
    const int64_t bi = (task / tiles) % g.batch;
    const int64_t c0 = (task / tiles / g.batch) * kLanes;
    const int lanes = static_cast<int>(std::min<int64_t>(kLanes, g.channels - c0));
    const int64_t t0 = tile * kDirectTile;
    const int64_t t1 = std::min(g.L, t0 + kDirectTile);
    const float* u = g.u + bi * g.L * g.channels + c0;
    float* y = g.y + bi * g.L * g.channels + c0;
    const Vec d = g.D ? vloadPartial(g.D + c0, lanes) : vzero();
    const int64_t taps = std::min(g.Lk, t1);  // taps past t1 − 1 reach only t < 0
    ScratchScope scratch;
    float* tapRows = scratch.allocate<float>(static_cast<size_t>(std::min(taps + kDirectTaps, kDirectTapChunk) * kLanes));
    float* rows = scratch.allocate<float>(static_cast<size_t>((t1 - t0 + std::min(taps + kDirectTaps, kDirectTapChunk)) * kLanes));
    // Taps in chunks; the first chunk writes y (with D·u), later ones add to it.
    for (int64_t first = 0; first < taps; first += kDirectTapChunk) {
      const int64_t count = std::min(kDirectTapChunk, taps - first);
      const int64_t padded = (count + kDirectTaps - 1) / kDirectTaps * kDirectTaps;
      // Taps first … first + padded − 1, tap-major with the block's channels
      // across lanes (zero past the chunk), and u from time
      // t0 − first − padded + 1 to t1 − 1 − first (zero before t = 0): every
      // tap of the chunk reads a row, and out-of-range times read zero.
      std::memset(tapRows, 0, static_cast<size_t>(padded * kLanes) * sizeof(float));
      for (int l = 0; l < lanes; ++l) {
        const float* k = g.k + (c0 + l) * g.Lk + first;
        for (int64_t s = 0; s < count; ++s) tapRows[s * kLanes + l] = k[s];
      }
      const int64_t rowTime0 = t0 - first - padded + 1;
      const int64_t rowCount = t1 - t0 + padded - 1;
      for (int64_t r = 0; r < rowCount; ++r) {
        const int64_t t = rowTime0 + r;
        vstore(rows + r * kLanes, t < 0 ? vzero() : vloadPartial(u + t * g.channels, lanes));
      }
      auto rowAt = [&](int64_t time) { return rows + (time - rowTime0) * kLanes; };
      int64_t t = t0;
      for (; t + kDirectRows <= t1; t += kDirectRows) {
        // Taps past t + kDirectRows − 1 reach only t < 0 for all these outputs.
        const int64_t end = std::min(first + padded, std::min(g.Lk, t + kDirectRows));
        if (first > 0 && end <= first) continue;
        Vec acc[kDirectRows];
        for (int i = 0; i < kDirectRows; ++i) {
          acc[i] = first == 0 ? d * vload(rowAt(t + i)) : vloadPartial(y + (t + i) * g.channels, lanes);
        }
        for (int64_t s = first; s < end; s += kDirectTaps) {
          Vec tap[kDirectTaps];
          for (int j = 0; j < kDirectTaps; ++j) tap[j] = vload(tapRows + (s - first + j) * kLanes);
          // in[m] = u[t − s − (kDirectTaps − 1) + m]: output i, tap s + j reads in[i − j + kDirectTaps − 1].
          const float* base = rowAt(t - s - (kDirectTaps - 1));
          Vec in[kDirectRows + kDirectTaps - 1];
#pragma GCC unroll 16
          for (int m = 0; m < kDirectRows + kDirectTaps - 1; ++m) in[m] = vload(base + m * kLanes);
#pragma GCC unroll 8
          for (int i = 0; i < kDirectRows; ++i) {
#pragma GCC unroll 4
            for (int j = 0; j < kDirectTaps; ++j) acc[i] = mulAdd(tap[j], in[i - j + kDirectTaps - 1], acc[i]);
          }
        }
        for (int i = 0; i < kDirectRows; ++i) vstorePartial(y + (t + i) * g.channels, acc[i], lanes);
      }
      for (; t < t1; ++t) {
        const int64_t end = std::min(first + count, t + 1);
        if (first > 0 && end <= first) continue;
        Vec acc = first == 0 ? d * vload(rowAt(t)) : vloadPartial(y + t * g.channels, lanes);
        for (int64_t s = first; s < end; ++s) acc = mulAdd(vload(tapRows + (s - first) * kLanes), vload(rowAt(t - s)), acc);
        vstorePartial(y + t * g.channels, acc, lanes);
      }
    }
  });
}

// Estimated cost per (batch row, channel), in multiply-adds of the direct sum.
// The FFT path makes two half-size complex transforms per row plus one per
// channel for the kernel, and slows down once a block's transform outgrows L2.
// The constants come from timing both paths (AVX-512 and AVX2, b = 1 and 8):
// they cross near L = Lk ≈ 100 … 200, and near Lk ≈ 100 … 150 for L in the
// thousands; L ≤ 64 or Lk ≤ 16 always goes direct.
static bool fftIsCheaper(const FftConvArgs& g) {
  const int log2N = fftLog2(g);
  if (log2N > fft::kMaxLog2 + 1) return false;
  const double L = static_cast<double>(g.L), Lk = static_cast<double>(g.Lk);
  const double direct = L * Lk - Lk * (Lk - 1) / 2;
  const double N = std::ldexp(1.0, log2N);
  const double transforms = 2.0 + 1.0 / static_cast<double>(g.batch);
  const double outOfCache = N * kLanes * sizeof(float) > 512 * 1024 ? 1.25 : 1.0;
  const double fft = 1.2 * N * (log2N + 2) * transforms * outOfCache;
  return fft < direct;
}

}  // namespace

void fftConv(const FftConvArgs& g) {
  if (g.batch <= 0 || g.L <= 0 || g.channels <= 0 || g.Lk <= 0) return;
  const bool useFft = g.method == ConvMethod::Fft || (g.method == ConvMethod::Auto && fftIsCheaper(g));
  if (useFft) {
    convolveFft(g);
  } else {
    convolveDirect(g);
  }
}

}  // namespace cr::cpu::CR_ISA
