// Convolution kernel of a diagonal complex SSM (S4D), reference in
// test/reference/ssm_kernel.ts:
//
//   K[ch, l] = 2·Re Σ_n W[ch, n]·Z[ch, n]^l,   W = C·B̄,  Z = Ā,   l < L
//
// ZOH: Ā = exp(ΔA), B̄ = (Ā − 1)/A·B; bilinear: Ā = (1 + ΔA/2)/(1 − ΔA/2),
// B̄ = Δ/(1 − ΔA/2)·B. The factor 2 stands for the conjugate half of the state,
// which S4D leaves out (its `2 * K.real`).
//
// The Vandermonde product runs as one small GEMM per channel. Split
// l = r·J + j (j < J): Z^l = Z^{rJ}·Z^j, so with anchors a[r, n] = W·Z^{rJ} and
// the power table P[n, j] = Z^j,
//   K[rJ + j] = Σ_n 2·Re a[r, n]·Re P[n, j] − 2·Im a[r, n]·Im P[n, j],
// a [R × 2n]·[2n × J] product whose [R × J] result is K laid out row by row.
// The anchors and the table (n·(R + J) ≈ 2n·√L complex numbers) are computed
// in double — by repeated multiplication, re-anchored on exp(l·log Z) every
// few steps so rounding cannot accumulate — and rounded once to float; the
// 2n·L multiply-adds of the product then run at GEMM speed. Each K value is a
// sum of 2n products of correctly rounded factors, so its error stays near
// float precision for any L.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/arena.h"
#include "../core/threadpool.h"
#include "gemm.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

namespace {

// Powers between exact re-anchorings: each repeated product adds about one
// rounding of a double, so the error stays ~1e-15 relative.
constexpr int64_t kReanchor = 32;

// e^{x} for complex x, written out (no out-of-line std::complex templates in kernel objects).
static inline void complexExp(double re, double im, double* outRe, double* outIm) {
  const double m = std::exp(re);
  *outRe = m * std::cos(im);
  *outIm = m * std::sin(im);
}

// Flushes values below float's normal range to zero: they carry nothing a
// float result can show, and denormal operands slow some CPUs' FMAs down.
static inline float toFloat(double v) { return std::fabs(v) < static_cast<double>(FLT_MIN) ? 0.0f : static_cast<float>(v); }

struct StateTerms {
  double logRe, logIm;  // log Z (Z = Ā)
  double wRe, wIm;      // W = C·B̄
};

// log Ā and C·B̄ of one state, in double.
static StateTerms discretize(const float* A, const float* B, const float* C, double delta, bool bilinear) {
  const double aRe = A[0], aIm = A[1];
  const double xRe = delta * aRe, xIm = delta * aIm;  // ΔA
  double logRe, logIm, bRe, bIm;                      // log Ā, and B̄ / B
  if (bilinear) {
    // Ā = (1 + ΔA/2)/(1 − ΔA/2); B̄ = Δ/(1 − ΔA/2)·B.
    const double nRe = 1 + xRe / 2, nIm = xIm / 2;
    const double dRe = 1 - xRe / 2, dIm = -xIm / 2;
    logRe = 0.5 * (std::log(nRe * nRe + nIm * nIm) - std::log(dRe * dRe + dIm * dIm));
    logIm = std::atan2(nIm, nRe) - std::atan2(dIm, dRe);
    const double dNorm = dRe * dRe + dIm * dIm;
    bRe = delta * dRe / dNorm;
    bIm = -delta * dIm / dNorm;
  } else {
    // Ā = exp(ΔA); B̄ = (exp(ΔA) − 1)/A·B, with exp(ΔA) − 1 formed without
    // cancellation: e^{a}cos b − 1 = expm1(a)·cos b − 2 sin²(b/2).
    logRe = xRe;
    logIm = xIm;
    if (aRe == 0 && aIm == 0) {
      bRe = delta;  // the limit Δ as A → 0
      bIm = 0;
    } else {
      const double sinHalf = std::sin(xIm / 2);
      const double eRe = std::expm1(xRe) * std::cos(xIm) - 2 * sinHalf * sinHalf;
      const double eIm = std::exp(xRe) * std::sin(xIm);
      const double aNorm = aRe * aRe + aIm * aIm;
      bRe = (eRe * aRe + eIm * aIm) / aNorm;
      bIm = (eIm * aRe - eRe * aIm) / aNorm;
    }
  }
  // B̄ = (bRe + i·bIm)·B, W = C·B̄.
  const double bbRe = bRe * B[0] - bIm * B[1], bbIm = bRe * B[1] + bIm * B[0];
  return {logRe, logIm, C[0] * bbRe - C[1] * bbIm, C[0] * bbIm + C[1] * bbRe};
}

// out[i] = scale · Z^{step·i} · (w) for i < count, Z = e^{log}, as (re, im) in double.
// Repeated multiplication by Z^step, re-anchored every kReanchor steps.
template <typename Store>
static void powers(const StateTerms& s, int64_t step, int64_t count, double wRe, double wIm, Store&& store) {
  double zsRe, zsIm;  // Z^step
  complexExp(s.logRe * static_cast<double>(step), s.logIm * static_cast<double>(step), &zsRe, &zsIm);
  double pRe = 1, pIm = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (i % kReanchor == 0) {
      const double e = static_cast<double>(step) * static_cast<double>(i);
      complexExp(s.logRe * e, s.logIm * e, &pRe, &pIm);
    } else {
      const double re = pRe * zsRe - pIm * zsIm;
      pIm = pRe * zsIm + pIm * zsRe;
      pRe = re;
    }
    store(i, wRe * pRe - wIm * pIm, wRe * pIm + wIm * pRe);
  }
}

struct Blocking {
  int64_t J = 0, R = 0;
};

// J ≈ √L columns (a multiple of the vector width) and R = ⌈L/J⌉ rows.
static Blocking blocking(int64_t L) {
  int64_t J = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(L))));
  J = std::max<int64_t>(16, (J + 15) / 16 * 16);
  return {J, (L + J - 1) / J};
}

// K for one channel. Runs the GEMM on the calling thread inside a region, or
// on the whole pool when called outside one.
static void channelKernel(const SsmKernelArgs& g, int64_t ch) {
  const int64_t n = g.dState;
  const Blocking b = blocking(g.L);
  ScratchScope scratch;
  StateTerms* states = scratch.allocate<StateTerms>(static_cast<size_t>(n));
  const double delta = g.delta[ch];
  for (int64_t i = 0; i < n; ++i) {
    const int64_t at = (ch * n + i) * 2;
    states[i] = discretize(g.A + at, g.B + at, g.C + at, delta, g.bilinear);
  }
  float* table = scratch.allocate<float>(static_cast<size_t>(2 * n * b.J));    // [2n, J]: Re Z^j, Im Z^j
  float* anchors = scratch.allocate<float>(static_cast<size_t>(b.R * 2 * n));  // [R, 2n]: 2 Re a, −2 Im a
  for (int64_t i = 0; i < n; ++i) {
    float* reRow = table + (2 * i) * b.J;
    float* imRow = reRow + b.J;
    powers(states[i], 1, b.J, 1.0, 0.0, [&](int64_t j, double re, double im) {
      reRow[j] = toFloat(re);
      imRow[j] = toFloat(im);
    });
    powers(states[i], b.J, b.R, states[i].wRe, states[i].wIm, [&](int64_t r, double re, double im) {
      anchors[r * 2 * n + 2 * i] = toFloat(2 * re);
      anchors[r * 2 * n + 2 * i + 1] = toFloat(-2 * im);
    });
  }
  float* out = g.k + ch * g.L;
  const bool exact = b.R * b.J == g.L;
  float* product = exact ? out : scratch.allocate<float>(static_cast<size_t>(b.R * b.J));
  GemmArgs mm;
  mm.M = b.R;
  mm.N = b.J;
  mm.K = 2 * n;
  mm.A = anchors;
  mm.lda = 2 * n;
  mm.B = table;
  mm.bType = DType::F32;
  mm.ldb = b.J;
  mm.C = product;
  mm.ldc = b.J;
  gemm(mm);
  if (!exact) std::memcpy(out, product, static_cast<size_t>(g.L) * sizeof(float));
}

}  // namespace

void ssmKernel(const SsmKernelArgs& g) {
  if (g.channels <= 0 || g.L <= 0) return;
  if (g.dState <= 0) {  // no state: the kernel is zero
    std::memset(g.k, 0, static_cast<size_t>(g.channels * g.L) * sizeof(float));
    return;
  }
  const int threads = ThreadPool::instance().numThreads();
  if (g.channels >= threads || ThreadPool::inRegion()) {
    parallelFor(g.channels, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t ch = c0; ch < c1; ++ch) channelKernel(g, ch);
    });
  } else {
    // Few channels: one at a time, each product spread over the pool.
    for (int64_t ch = 0; ch < g.channels; ++ch) channelKernel(g, ch);
  }
}

}  // namespace cr::cpu::CR_ISA
