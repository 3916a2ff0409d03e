// The S4D convolution kernel (ssmKernel) on the GPU, the math of native/cpu/ssm_kernel.cc:
//
//   K[ch, l] = 2·Re Σ_n W[ch, n]·Z[ch, n]^l,   W = C·B̄,  Z = Ā,   l < L
//
// ZOH: Ā = exp(ΔA), B̄ = (Ā − 1)/A·B; bilinear: Ā = (1 + ΔA/2)/(1 − ΔA/2), B̄ = Δ/(1 − ΔA/2)·B.
//
// As on the CPU, the Vandermonde product is split l = r·J + j (J ≈ √L, a multiple of 16,
// R = ⌈L/J⌉) so that Z^l = Z^{rJ}·Z^j: anchors a[r, n] = W·Z^{rJ} and the power table
// P[n, j] = Z^j are computed in double and rounded once to float (values below float's normal
// range flushed to zero, as the CPU op does), and
//   K[rJ + j] = Σ_n 2·Re a[r, n]·Re P[n, j] − 2·Im a[r, n]·Im P[n, j]
// is a float sum of 2n products of correctly rounded factors, so the error stays near float
// precision for any L. A float power by repeated multiplication, or a float exp(l·log Z) whose
// phase l·Im log Z is huge, would not.
//
// Parallel decomposition: three kernels per group of channels. (1) one thread per (channel,
// mode) discretises in double; (2) one thread per (channel, mode, table column or anchor row)
// evaluates its power with a double exp(e·log Z) — independent per entry, so no re-anchoring is
// needed; (3) one thread per (channel, position l) sums over the 2n modes: the threads of a
// block hold consecutive l, so their table reads P[·, j] are coalesced and their anchor reads
// a[r, ·] are broadcasts of a few rows.
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "check.h"
#include "fft.cuh"
#include "kernels.cuh"

namespace cr::cuda {
namespace {

struct StateTerms {
  double logRe, logIm;  // log Z (Z = Ā)
  double wRe, wIm;      // W = C·B̄
};

__device__ inline float toFloat(double v) { return fabs(v) < static_cast<double>(FLT_MIN) ? 0.0f : static_cast<float>(v); }

// log Ā and C·B̄ of one state in double; the same formulas as the CPU op's discretize.
__device__ StateTerms discretize(const float* A, const float* B, const float* C, double delta, bool bilinear) {
  const double aRe = A[0], aIm = A[1];
  const double xRe = delta * aRe, xIm = delta * aIm;  // ΔA
  double logRe, logIm, bRe, bIm;                      // log Ā, and B̄ / B
  if (bilinear) {
    const double nRe = 1 + xRe / 2, nIm = xIm / 2;
    const double dRe = 1 - xRe / 2, dIm = -xIm / 2;
    logRe = 0.5 * (log(nRe * nRe + nIm * nIm) - log(dRe * dRe + dIm * dIm));
    logIm = atan2(nIm, nRe) - atan2(dIm, dRe);
    const double dNorm = dRe * dRe + dIm * dIm;
    bRe = delta * dRe / dNorm;
    bIm = -delta * dIm / dNorm;
  } else {
    // exp(ΔA) − 1 without cancellation: e^{a}cos b − 1 = expm1(a)·cos b − 2 sin²(b/2).
    logRe = xRe;
    logIm = xIm;
    if (aRe == 0 && aIm == 0) {
      bRe = delta;  // the limit Δ as A → 0
      bIm = 0;
    } else {
      const double sinHalf = sin(xIm / 2);
      const double eRe = expm1(xRe) * cos(xIm) - 2 * sinHalf * sinHalf;
      const double eIm = exp(xRe) * sin(xIm);
      const double aNorm = aRe * aRe + aIm * aIm;
      bRe = (eRe * aRe + eIm * aIm) / aNorm;
      bIm = (eIm * aRe - eRe * aIm) / aNorm;
    }
  }
  const double bbRe = bRe * B[0] - bIm * B[1], bbIm = bRe * B[1] + bIm * B[0];
  return {logRe, logIm, C[0] * bbRe - C[1] * bbIm, C[0] * bbIm + C[1] * bbRe};
}

__global__ void discretizeKernel(cpu::SsmKernelArgs a, int64_t c0, int64_t cn, StateTerms* states) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= cn * a.dState) return;
  const int64_t ch = c0 + i / a.dState;
  const int64_t at = (c0 * a.dState + i) * 2;
  states[i] = discretize(a.A + at, a.B + at, a.C + at, static_cast<double>(a.delta[ch]), a.bilinear);
}

// table [cn][2n][J]: Re Z^j, Im Z^j; anchors [cn][R][2n]: 2·Re(W·Z^{rJ}), −2·Im(W·Z^{rJ}).
__global__ void powersKernel(const StateTerms* states, int64_t cn, int64_t n, int64_t J, int64_t R, float* table, float* anchors) {
  const int64_t perState = J + R;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= cn * n * perState) return;
  const int64_t state = i / perState, idx = i % perState;
  const int64_t ch = state / n, mode = state % n;
  const StateTerms s = states[state];
  if (idx < J) {
    const double e = static_cast<double>(idx);
    const double m = exp(s.logRe * e);
    float* re = table + (ch * 2 * n + 2 * mode) * J + idx;
    re[0] = toFloat(m * cos(s.logIm * e));
    re[J] = toFloat(m * sin(s.logIm * e));
  } else {
    const int64_t r = idx - J;
    const double e = static_cast<double>(r) * static_cast<double>(J);
    const double m = exp(s.logRe * e);
    const double pRe = m * cos(s.logIm * e), pIm = m * sin(s.logIm * e);
    float* out = anchors + (ch * R + r) * 2 * n + 2 * mode;
    out[0] = toFloat(2 * (s.wRe * pRe - s.wIm * pIm));
    out[1] = toFloat(-2 * (s.wRe * pIm + s.wIm * pRe));
  }
}

__global__ void productKernel(const float* table, const float* anchors, int64_t c0, int64_t cn, int64_t n, int64_t J,
                              int64_t R, int64_t L, float* k) {
  const int64_t l = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (l >= L) return;
  const int64_t r = l / J, j = l % J;
  for (int64_t ch = blockIdx.y; ch < cn; ch += gridDim.y) {
    const float* a = anchors + (ch * R + r) * 2 * n;
    const float* p = table + ch * 2 * n * J + j;
    float acc = 0.0f;
    for (int64_t q = 0; q < 2 * n; ++q) acc = fmaf(a[q], p[q * J], acc);
    k[(c0 + ch) * L + l] = acc;
  }
}

// Scratch per group of channels: at most this many bytes of tables and anchors.
constexpr int64_t kScratchBudget = int64_t(256) << 20;

}  // namespace

void ssmKernel(const cpu::SsmKernelArgs& g, cudaStream_t stream) {
  if (g.channels <= 0 || g.L <= 0) return;
  if (g.dState <= 0) {  // no state: the kernel is zero
    CR_CUDA_CHECK(cudaMemsetAsync(g.k, 0, static_cast<size_t>(g.channels * g.L) * sizeof(float), stream));
    return;
  }
  // J ≈ √L columns (a multiple of 16), R = ⌈L/J⌉ rows: the CPU op's blocking.
  int64_t J = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(g.L))));
  J = J < 16 ? 16 : (J + 15) / 16 * 16;
  const int64_t R = (g.L + J - 1) / J;
  const int64_t n = g.dState;
  const int64_t perChannel = n * static_cast<int64_t>(sizeof(StateTerms)) + 2 * n * (J + R) * static_cast<int64_t>(sizeof(float));
  int64_t cc = kScratchBudget / perChannel;
  if (cc < 1) cc = 1;
  if (cc > g.channels) cc = g.channels;
  auto* states = static_cast<StateTerms*>(scratch(static_cast<size_t>(cc * n) * sizeof(StateTerms), stream));
  auto* table = static_cast<float*>(scratch(static_cast<size_t>(cc * 2 * n * J) * sizeof(float), stream));
  auto* anchors = static_cast<float*>(scratch(static_cast<size_t>(cc * R * 2 * n) * sizeof(float), stream));
  const int threads = 256;
  for (int64_t c0 = 0; c0 < g.channels; c0 += cc) {
    const int64_t cn = g.channels - c0 < cc ? g.channels - c0 : cc;
    discretizeKernel<<<static_cast<unsigned>((cn * n + threads - 1) / threads), threads, 0, stream>>>(g, c0, cn, states);
    const int64_t entries = cn * n * (J + R);
    powersKernel<<<static_cast<unsigned>((entries + threads - 1) / threads), threads, 0, stream>>>(states, cn, n, J, R, table, anchors);
    const dim3 grid(static_cast<unsigned>((g.L + threads - 1) / threads), static_cast<unsigned>(cn < 65535 ? cn : 65535));
    productKernel<<<grid, threads, 0, stream>>>(table, anchors, c0, cn, n, J, R, g.L, g.k);
  }
}

}  // namespace cr::cuda
