// Long causal depthwise convolution (fftConv) on the GPU, the math of native/cpu/fft_conv.cc:
//
//   y[b, t, ch] = Σ_{s=0}^{min(t, Lk−1)} k[ch, s]·u[b, t−s, ch] + D[ch]·u[b, t, ch]
//
// FFT path. The same algorithm as the CPU op: the linear convolution is the circular one of
// N ≥ L + Lk − 1 points (a power of two, ≥ 4); each real sequence is packed as H = N/2 complex
// points z[m] = x[2m] + i·x[2m+1], transformed by an H-point complex FFT (radix-4 decimation in
// frequency, a radix-2 step when log2 H is odd: natural order in, bit-reversed order out), split
// into the real spectrum, multiplied by the kernel's spectrum, merged back and inverted by the
// mirror-image decimation in time (bit-reversed in, natural out), so no permutation pass is made.
// Every factor 1/2 of split and merge and the inverse's 1/H are folded into the kernel's
// spectrum, which is computed once per channel and reused for every batch row.
//
// Parallel decomposition. u and y are token-major [b, L, c], which a per-row transform would
// read with stride c: a pack kernel first transposes them through shared-memory tiles into
// complex rows [b][c][H] (zero-padded), and an unpack kernel transposes the result back, adding
// D·u. A row of H ≤ 2^14 complex points (128 KB, so L = Lk = 16384 still fits) is transformed
// by one thread block entirely in shared memory: load, forward FFT, split·product·merge, inverse
// FFT, store. Longer rows (up to H = 2^26, N = 2^27, the CPU op's limit for its FFT path; both
// factors ≤ 2^13) take the four-step decomposition
// H = H1·H2 through global memory: with n = n1·H2 + n2 and k = k1 + H1·k2,
//   X[k] = Σ_{n2} W_H2^{n2·k2} · (W_H^{n2·k1} · Σ_{n1} x[n1·H2 + n2]·W_H1^{n1·k1}),
// a column pass (H1-point FFTs over n1, a block taking several adjacent columns so its loads
// are coalesced, then the twiddle W_H^{n2·k1}) and a row pass (H2-point FFTs of contiguous
// rows). The column FFT leaves k1 bit-reversed in the row index and the row FFT k2 bit-reversed
// in the column index, which together is exactly the bit-reversed order of the H-point FFT, so
// the split·product·merge pass (one thread per frequency pair k, H − k) is shared by both
// paths. The inverse runs the two passes backwards (row inverse, conjugate twiddle, column
// inverse).
//
// Twiddles: W_N^i for i < N/4 in double, rounded once to float, cached on the device per
// (device, N); the other quadrants are exact rotations by −i.
//
// Direct path (O(L·Lk)): for short kernels, where the FFT's fixed cost does not pay, when
// 'direct' is asked for, and past the FFT's size limit. A block owns 32 channels × 64 steps of
// one batch row; taps and the matching input window are staged in shared memory in chunks of 64
// taps (both loaded coalesced), each thread accumulating 8 outputs of one channel.
#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "../core/error.h"
#include "../core/fft_tables.h"
#include "check.h"
#include "fft.cuh"
#include "kernels.cuh"

namespace cr::cuda {
namespace {

// Longest complex row transformed inside one block: 2^14 points, 128 KB of shared memory (one
// block per SM; past this the four-step path's extra global passes are the cheaper cost).
constexpr int kMaxBlockLog2 = 14;
// Points a column-pass block holds: its columns × H1 (32 KB).
constexpr int kColumnTile = 4096;
// Threads of a transform block (blockThreads); the kernels are compiled for it (≤ 64 registers).
constexpr int kMaxThreads = 1024;

// ---- complex helpers ------------------------------------------------------------------

__device__ __forceinline__ float2 cadd(float2 a, float2 b) { return make_float2(a.x + b.x, a.y + b.y); }
__device__ __forceinline__ float2 csub(float2 a, float2 b) { return make_float2(a.x - b.x, a.y - b.y); }
__device__ __forceinline__ float2 cconj(float2 a) { return make_float2(a.x, -a.y); }
__device__ __forceinline__ float2 cmulI(float2 a) { return make_float2(-a.y, a.x); }  // i·a
__device__ __forceinline__ float2 cmul(float2 a, float2 b) {
  return make_float2(fmaf(a.x, b.x, -a.y * b.y), fmaf(a.x, b.y, a.y * b.x));
}
__device__ __forceinline__ float2 cmulConj(float2 a, float2 b) {  // a·conj(b)
  return make_float2(fmaf(a.x, b.x, a.y * b.y), fmaf(a.y, b.x, -a.x * b.y));
}
__device__ __forceinline__ float2 cscale(float2 a, float s) { return make_float2(a.x * s, a.y * s); }

// The quarter-circle twiddle table of an N-point real transform.
struct Twiddles {
  const float2* quarter;  // W_N^i, i < N/4
  int log2N;
};

// W_N^i for 0 ≤ i < N: a table entry rotated by (−i)^quadrant, which is exact.
__device__ __forceinline__ float2 root(const Twiddles& tw, uint32_t i) {
  const int shift = tw.log2N - 2;
  const float2 w = tw.quarter[i & ((1u << shift) - 1u)];
  switch ((i >> shift) & 3u) {
    case 0: return w;
    case 1: return make_float2(w.y, -w.x);
    case 2: return make_float2(-w.x, -w.y);
    default: return make_float2(-w.y, w.x);
  }
}

// The low `bits` bits of k, reversed (bits ≥ 1).
__device__ __forceinline__ uint32_t reverseBits(uint32_t k, int bits) {
  k = ((k >> 1) & 0x55555555u) | ((k & 0x55555555u) << 1);
  k = ((k >> 2) & 0x33333333u) | ((k & 0x33333333u) << 2);
  k = ((k >> 4) & 0x0F0F0F0Fu) | ((k & 0x0F0F0F0Fu) << 4);
  k = ((k >> 8) & 0x00FF00FFu) | ((k & 0x00FF00FFu) << 8);
  k = (k >> 16) | (k << 16);
  return k >> (32 - bits);
}

// ---- in-block transforms ----------------------------------------------------------------
// `count` sequences of M = 2^log2M points in shared memory, sequence q at z + q·stride. The
// twiddle W_S^j of a pass over spans of S = 2^s points is W_N^{j·N/S}. Every thread of the block
// must call these (they synchronise between passes); they end synchronised.

// Forward FFT (e^{−2πi·jk/M}), natural order in, bit-reversed out: radix-4 DIF passes from the
// widest span down, outputs of a pass stored in the order q = 0, 2, 1, 3 so the recursion lands
// in plain bit-reversed order; a radix-2 pass last when log2M is odd.
__device__ void forwardFft(float2* z, int log2M, int count, int stride, const Twiddles& tw) {
  int s = log2M;
  for (; s >= 2; s -= 2) {
    const int q = 1 << (s - 2);
    const int total = count << (log2M - 2);
    const int shift = tw.log2N - s;
    const int spansLog2 = log2M - s;
    for (int beta = threadIdx.x; beta < total; beta += blockDim.x) {
      const int j = beta & (q - 1);
      const int span = beta >> (s - 2);
      float2* p = z + (span >> spansLog2) * stride + ((span & ((1 << spansLog2) - 1)) << s) + j;
      const float2 a0 = p[0], a1 = p[q], a2 = p[2 * q], a3 = p[3 * q];
      const float2 t0 = cadd(a0, a2), t1 = csub(a0, a2), t2 = cadd(a1, a3), t3 = csub(a1, a3);
      const float2 y1 = csub(t1, cmulI(t3)), y3 = cadd(t1, cmulI(t3));
      const uint32_t e = static_cast<uint32_t>(j) << shift;
      p[0] = cadd(t0, t2);
      p[q] = cmul(csub(t0, t2), root(tw, 2 * e));
      p[2 * q] = cmul(y1, root(tw, e));
      p[3 * q] = cmul(y3, root(tw, 3 * e));
    }
    __syncthreads();
  }
  if (s == 1) {
    const int pairs = count << (log2M - 1);
    for (int m = threadIdx.x; m < pairs; m += blockDim.x) {
      float2* p = z + (m >> (log2M - 1)) * stride + 2 * (m & ((1 << (log2M - 1)) - 1));
      const float2 a = p[0], b = p[1];
      p[0] = cadd(a, b);
      p[1] = csub(a, b);
    }
    __syncthreads();
  }
}

// The unnormalised inverse (e^{+2πi·jk/M}, no 1/M), bit-reversed in, natural out: each pass of
// forwardFft undone, in the opposite order.
__device__ void inverseFft(float2* z, int log2M, int count, int stride, const Twiddles& tw) {
  int s = log2M & 1;
  if (s == 1) {
    const int pairs = count << (log2M - 1);
    for (int m = threadIdx.x; m < pairs; m += blockDim.x) {
      float2* p = z + (m >> (log2M - 1)) * stride + 2 * (m & ((1 << (log2M - 1)) - 1));
      const float2 a = p[0], b = p[1];
      p[0] = cadd(a, b);
      p[1] = csub(a, b);
    }
    __syncthreads();
  }
  for (s += 2; s <= log2M; s += 2) {
    const int q = 1 << (s - 2);
    const int total = count << (log2M - 2);
    const int shift = tw.log2N - s;
    const int spansLog2 = log2M - s;
    for (int beta = threadIdx.x; beta < total; beta += blockDim.x) {
      const int j = beta & (q - 1);
      const int span = beta >> (s - 2);
      float2* p = z + (span >> spansLog2) * stride + ((span & ((1 << spansLog2) - 1)) << s) + j;
      const uint32_t e = static_cast<uint32_t>(j) << shift;
      const float2 y0 = p[0];
      const float2 y2 = cmulConj(p[q], root(tw, 2 * e));
      const float2 y1 = cmulConj(p[2 * q], root(tw, e));
      const float2 y3 = cmulConj(p[3 * q], root(tw, 3 * e));
      const float2 s0 = cadd(y0, y2), s1 = csub(y0, y2), s2 = cadd(y1, y3), s3 = csub(y1, y3);
      p[0] = cadd(s0, s2);
      p[q] = cadd(s1, cmulI(s3));
      p[2 * q] = csub(s0, s2);
      p[3 * q] = csub(s1, cmulI(s3));
    }
    __syncthreads();
  }
}

// ---- the real split ---------------------------------------------------------------------
// With Z the H-point FFT of z[m] = x[2m] + i·x[2m+1] (bit-reversed positions), the spectrum of
// the N real points is X[k] = E + W_N^k·O, X[H−k] = conj(E − W_N^k·O), E = Z[k] + conj Z[H−k],
// O = −i·(Z[k] − conj Z[H−k]) (both ×2), X[0] = Re Z[0] + Im Z[0], X[H] = Re Z[0] − Im Z[0].
// Spectra are stored at the bit-reversed positions too; position 0 holds (X[0], X[H]).

// The kernel's spectrum for the frequency pair (k, H − k), 0 ≤ k ≤ H/2, scaled by `scale`.
__device__ void splitKernelPair(const float2* z, float2* spectrum, uint32_t k, int log2H, const Twiddles& tw, float scale) {
  if (k == 0) {
    const float2 z0 = z[0];
    spectrum[0] = make_float2((z0.x + z0.y) * (2 * scale), (z0.x - z0.y) * (2 * scale));
    return;
  }
  const uint32_t pk = reverseBits(k, log2H), pk2 = reverseBits((1u << log2H) - k, log2H);
  const float2 zk = z[pk], zk2 = z[pk2];
  const float2 e = cadd(zk, cconj(zk2));
  const float2 d = csub(zk, cconj(zk2));
  const float2 wo = cmul(make_float2(d.y, -d.x), root(tw, k));
  spectrum[pk] = cscale(cadd(e, wo), scale);
  spectrum[pk2] = cscale(cconj(csub(e, wo)), scale);
}

// Split, product with the kernel's spectrum G and the inverse merge for the pair (k, H − k), in
// place. The merge: for Y the spectrum of the real output, the packed sequence has the FFT
//   Z'[k] = (Y[k] + conj Y[H−k]) + i·(Y[k] − conj Y[H−k])·conj(W_N^k)  (×2),
// Z'[H−k] = conj(first term) + i·conj(second factor).
__device__ void multiplyPair(float2* z, const float2* spectrum, uint32_t k, int log2H, const Twiddles& tw) {
  if (k == 0) {
    const float2 z0 = z[0], g0 = spectrum[0];
    const float y0 = (z0.x + z0.y) * (g0.x + g0.x);
    const float yHalf = (z0.x - z0.y) * (g0.y + g0.y);
    z[0] = make_float2(y0 + yHalf, y0 - yHalf);
    return;
  }
  const uint32_t pk = reverseBits(k, log2H), pk2 = reverseBits((1u << log2H) - k, log2H);
  const float2 w = root(tw, k);
  const float2 zk = z[pk], zk2 = z[pk2];
  const float2 e = cadd(zk, cconj(zk2));
  const float2 d = csub(zk, cconj(zk2));
  const float2 wo = cmul(make_float2(d.y, -d.x), w);
  const float2 yk = cmul(cadd(e, wo), spectrum[pk]);
  const float2 yk2 = cmul(cconj(csub(e, wo)), spectrum[pk2]);
  const float2 sum = cadd(yk, cconj(yk2));
  const float2 odd = cmulConj(csub(yk, cconj(yk2)), w);
  z[pk] = cadd(sum, cmulI(odd));
  z[pk2] = cadd(cconj(sum), cmulI(cconj(odd)));  // when k = H/2 both stores agree
}

// ---- kernels: layout ----------------------------------------------------------------------

// Rows of H packed points: buffer row (b − b0)·cc + ch holds u[b, 2m and 2m+1, c0 + ch], zero
// past L. Tiles of 64 steps × 32 channels: read along channels, written along the row.
__global__ void packInputKernel(const float* u, int64_t L, int64_t channels, int64_t c0, int64_t cc, int64_t b0,
                                int64_t bb, float2* rows, int log2H) {
  __shared__ float tile[64][33];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t H = int64_t(1) << log2H;
  const int64_t m0 = static_cast<int64_t>(blockIdx.x) * 32;
  for (int64_t ch0 = static_cast<int64_t>(blockIdx.y) * 32; ch0 < cc; ch0 += static_cast<int64_t>(gridDim.y) * 32) {
    for (int64_t b = blockIdx.z; b < bb; b += gridDim.z) {
      for (int r = ty; r < 64; r += 8) {
        const int64_t t = 2 * m0 + r, ch = ch0 + tx;
        tile[r][tx] = t < L && ch < cc ? u[((b0 + b) * L + t) * channels + c0 + ch] : 0.0f;
      }
      __syncthreads();
      for (int r = ty; r < 32; r += 8) {
        const int64_t ch = ch0 + r, m = m0 + tx;
        if (ch < cc && m < H) rows[(b * cc + ch) * H + m] = make_float2(tile[2 * tx][r], tile[2 * tx + 1][r]);
      }
      __syncthreads();
    }
  }
}

// The inverse of packInputKernel for the output: y[b, t, c0 + ch] = (packed row value at t) + D·u.
__global__ void unpackOutputKernel(const float2* rows, const float* u, const float* D, float* y, int64_t L, int64_t channels,
                                   int64_t c0, int64_t cc, int64_t b0, int64_t bb, int log2H) {
  __shared__ float tile[64][33];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t H = int64_t(1) << log2H;
  const int64_t m0 = static_cast<int64_t>(blockIdx.x) * 32;
  for (int64_t ch0 = static_cast<int64_t>(blockIdx.y) * 32; ch0 < cc; ch0 += static_cast<int64_t>(gridDim.y) * 32) {
    for (int64_t b = blockIdx.z; b < bb; b += gridDim.z) {
      for (int r = ty; r < 32; r += 8) {
        const int64_t ch = ch0 + r, m = m0 + tx;
        const float2 v = ch < cc && m < H && 2 * m < L ? rows[(b * cc + ch) * H + m] : make_float2(0.0f, 0.0f);
        tile[2 * tx][r] = v.x;
        tile[2 * tx + 1][r] = v.y;
      }
      __syncthreads();
      for (int r = ty; r < 64; r += 8) {
        const int64_t t = 2 * m0 + r, ch = ch0 + tx;
        if (t < L && ch < cc) {
          const int64_t at = ((b0 + b) * L + t) * channels + c0 + ch;
          float v = tile[r][tx];
          if (D != nullptr) v = fmaf(D[c0 + ch], u[at], v);
          y[at] = v;
        }
      }
      __syncthreads();
    }
  }
}

// Kernel taps of channels c0 … c0 + cc − 1 packed into rows (k is channel-major: no transpose).
__global__ void packTapsKernel(const float* k, int64_t Lk, int64_t c0, int64_t cc, float2* rows, int log2H) {
  const int64_t H = int64_t(1) << log2H;
  const int64_t total = cc * H;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t ch = i >> log2H, m = i & (H - 1);
    const float* taps = k + (c0 + ch) * Lk;
    rows[i] = make_float2(2 * m < Lk ? taps[2 * m] : 0.0f, 2 * m + 1 < Lk ? taps[2 * m + 1] : 0.0f);
  }
}

// ---- kernels: rows that fit in one block --------------------------------------------------

// One block per channel: the kernel's spectrum from its taps.
__global__ void __launch_bounds__(kMaxThreads) blockKernelSpectrumKernel(const float* k, int64_t Lk, int64_t c0, int64_t cc, float2* spectra, Twiddles tw,
                                          float scale) {
  extern __shared__ float2 smem[];
  const int log2H = tw.log2N - 1;
  const int64_t H = int64_t(1) << log2H;
  for (int64_t ch = blockIdx.x; ch < cc; ch += gridDim.x) {
    const float* taps = k + (c0 + ch) * Lk;
    for (int64_t m = threadIdx.x; m < H; m += blockDim.x) {
      smem[m] = make_float2(2 * m < Lk ? taps[2 * m] : 0.0f, 2 * m + 1 < Lk ? taps[2 * m + 1] : 0.0f);
    }
    __syncthreads();
    forwardFft(smem, log2H, 1, 0, tw);
    for (int64_t p = threadIdx.x; p <= H / 2; p += blockDim.x) splitKernelPair(smem, spectra + ch * H, static_cast<uint32_t>(p), log2H, tw, scale);
    __syncthreads();
  }
}

// One block per packed row: forward FFT, product with its channel's spectrum, inverse, in place.
__global__ void __launch_bounds__(kMaxThreads) blockConvolveKernel(float2* rows, int64_t count, int64_t cc, const float2* spectra, Twiddles tw) {
  extern __shared__ float2 smem[];
  const int log2H = tw.log2N - 1;
  const int64_t H = int64_t(1) << log2H;
  for (int64_t row = blockIdx.x; row < count; row += gridDim.x) {
    float2* z = rows + row * H;
    const float2* spectrum = spectra + (row % cc) * H;
    for (int64_t m = threadIdx.x; m < H; m += blockDim.x) smem[m] = z[m];
    __syncthreads();
    forwardFft(smem, log2H, 1, 0, tw);
    for (int64_t p = threadIdx.x; p <= H / 2; p += blockDim.x) multiplyPair(smem, spectrum, static_cast<uint32_t>(p), log2H, tw);
    __syncthreads();
    inverseFft(smem, log2H, 1, 0, tw);
    for (int64_t m = threadIdx.x; m < H; m += blockDim.x) z[m] = smem[m];
    __syncthreads();
  }
}

// ---- kernels: the four-step passes for long rows ------------------------------------------
// A row of H = H1·H2 points is viewed as [H1][H2]. Shared memory holds `cols` columns of H1
// points, each padded by one point so a warp's transposed accesses spread over the banks.

__global__ void __launch_bounds__(kMaxThreads) columnPassKernel(float2* rows, int64_t count, int log2H1, int log2H2, int cols, bool inverse, Twiddles tw) {
  extern __shared__ float2 smem[];
  const int H1 = 1 << log2H1, H2 = 1 << log2H2;
  const int stride = H1 + 1;
  const int n20 = blockIdx.x * cols;
  for (int64_t row = blockIdx.y; row < count; row += gridDim.y) {
    float2* z = rows + (row << (log2H1 + log2H2));
    // Element (n1, n20 + c) ↔ smem[c·stride + n1]; consecutive threads take consecutive columns.
    for (int i = threadIdx.x; i < cols * H1; i += blockDim.x) {
      const int c = i % cols, n1 = i / cols;
      float2 v = z[static_cast<int64_t>(n1) * H2 + n20 + c];
      // Inverse: undo the twiddle W_H^{n2·k1} first (k1 = the bit reversal of the row index).
      if (inverse) v = cmulConj(v, root(tw, 2u * static_cast<uint32_t>(n20 + c) * reverseBits(n1, log2H1)));
      smem[c * stride + n1] = v;
    }
    __syncthreads();
    if (inverse) {
      inverseFft(smem, log2H1, cols, stride, tw);
    } else {
      forwardFft(smem, log2H1, cols, stride, tw);
    }
    for (int i = threadIdx.x; i < cols * H1; i += blockDim.x) {
      const int c = i % cols, n1 = i / cols;
      float2 v = smem[c * stride + n1];
      if (!inverse) v = cmul(v, root(tw, 2u * static_cast<uint32_t>(n20 + c) * reverseBits(n1, log2H1)));
      z[static_cast<int64_t>(n1) * H2 + n20 + c] = v;
    }
    __syncthreads();
  }
}

__global__ void __launch_bounds__(kMaxThreads) rowPassKernel(float2* rows, int64_t count, int log2H1, int log2H2, bool inverse, Twiddles tw) {
  extern __shared__ float2 smem[];
  const int H2 = 1 << log2H2;
  for (int64_t row = blockIdx.y; row < count; row += gridDim.y) {
    float2* z = rows + (row << (log2H1 + log2H2)) + (static_cast<int64_t>(blockIdx.x) << log2H2);
    for (int m = threadIdx.x; m < H2; m += blockDim.x) smem[m] = z[m];
    __syncthreads();
    if (inverse) {
      inverseFft(smem, log2H2, 1, 0, tw);
    } else {
      forwardFft(smem, log2H2, 1, 0, tw);
    }
    for (int m = threadIdx.x; m < H2; m += blockDim.x) z[m] = smem[m];
    __syncthreads();
  }
}

// One thread per frequency pair (k, H − k) of a transformed row, k ≤ H/2.
__global__ void splitKernelsKernel(const float2* rows, int64_t cc, float2* spectra, Twiddles tw, float scale) {
  const int log2H = tw.log2N - 1;
  const int64_t H = int64_t(1) << log2H;
  const int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k > H / 2) return;
  for (int64_t ch = blockIdx.y; ch < cc; ch += gridDim.y) {
    splitKernelPair(rows + ch * H, spectra + ch * H, static_cast<uint32_t>(k), log2H, tw, scale);
  }
}

__global__ void multiplyKernel(float2* rows, int64_t count, int64_t cc, const float2* spectra, Twiddles tw) {
  const int log2H = tw.log2N - 1;
  const int64_t H = int64_t(1) << log2H;
  const int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k > H / 2) return;
  for (int64_t row = blockIdx.y; row < count; row += gridDim.y) {
    multiplyPair(rows + row * H, spectra + (row % cc) * H, static_cast<uint32_t>(k), log2H, tw);
  }
}

// ---- direct path ----------------------------------------------------------------------------

constexpr int kDirectSteps = 64;  // outputs per block (time) and taps per staged chunk
constexpr int kDirectRowsPerThread = kDirectSteps / 8;

__global__ void directKernel(cpu::FftConvArgs a) {
  __shared__ float taps[kDirectSteps][33];
  __shared__ float window[2 * kDirectSteps][33];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t ch0 = static_cast<int64_t>(blockIdx.x) * 32;
  const int64_t ch = ch0 + tx;
  const int64_t tiles = (a.L + kDirectSteps - 1) / kDirectSteps;
  for (int64_t b = blockIdx.z; b < a.batch; b += gridDim.z) {
    for (int64_t tile = blockIdx.y; tile < tiles; tile += gridDim.y) {
      const int64_t t0 = tile * kDirectSteps;
      const float* u = a.u + b * a.L * a.channels;
      float acc[kDirectRowsPerThread];
      const float d = a.D != nullptr && ch < a.channels ? a.D[ch] : 0.0f;
#pragma unroll
      for (int i = 0; i < kDirectRowsPerThread; ++i) {
        const int64_t t = t0 + ty + 8 * i;
        acc[i] = t < a.L && ch < a.channels ? d * u[t * a.channels + ch] : 0.0f;
      }
      // Taps past t0 + 63 reach only t < 0 for this tile's outputs.
      const int64_t tapEnd = a.Lk < t0 + kDirectSteps ? a.Lk : t0 + kDirectSteps;
      for (int64_t s0 = 0; s0 < tapEnd; s0 += kDirectSteps) {
        // taps[s][c] = k[ch0 + c, s0 + s]: read along the taps (contiguous in k).
        for (int r = ty; r < 32; r += 8) {
          for (int s = tx; s < kDirectSteps; s += 32) {
            const int64_t c = ch0 + r, tap = s0 + s;
            taps[s][r] = c < a.channels && tap < a.Lk ? a.k[c * a.Lk + tap] : 0.0f;
          }
        }
        // window[r][c] = u[t0 − s0 − 63 + r, ch0 + c], zero outside [0, L).
        const int64_t tau0 = t0 - s0 - (kDirectSteps - 1);
        for (int r = ty; r < 2 * kDirectSteps - 1; r += 8) {
          const int64_t tau = tau0 + r;
          window[r][tx] = tau >= 0 && tau < a.L && ch < a.channels ? u[tau * a.channels + ch] : 0.0f;
        }
        __syncthreads();
        for (int s = 0; s < kDirectSteps; ++s) {
          const float w = taps[s][tx];
#pragma unroll
          for (int i = 0; i < kDirectRowsPerThread; ++i) {
            // Output t = t0 + ty + 8i, tap s0 + s reads u[t − s0 − s] = window[ty + 8i − s + 63].
            acc[i] = fmaf(w, window[ty + 8 * i - s + kDirectSteps - 1][tx], acc[i]);
          }
        }
        __syncthreads();
      }
#pragma unroll
      for (int i = 0; i < kDirectRowsPerThread; ++i) {
        const int64_t t = t0 + ty + 8 * i;
        if (t < a.L && ch < a.channels) a.y[(b * a.L + t) * a.channels + ch] = acc[i];
      }
    }
  }
}

// ---- host side -----------------------------------------------------------------------------

unsigned gridCount(int64_t n) { return static_cast<unsigned>(n < 65535 ? n : 65535); }

int log2Ceil(int64_t n) {
  int p = 0;
  while ((int64_t(1) << p) < n) ++p;
  return p;
}

// The transform length N = 2^log2N ≥ L + Lk − 1, at least 4 (the split needs a pair).
int fftLog2(const cpu::FftConvArgs& g) {
  const int p = log2Ceil(g.L + g.Lk - 1);
  return p < 2 ? 2 : p;
}

constexpr double kTwoPi = 6.283185307179586476925286766559;

// W_N^i for i < N/4 in double, rounded once: angles past N/8 taken from the complementary angle,
// so every value comes from an argument in [0, π/4].
std::vector<float2> quarterTwiddles(int log2N) {
  const int64_t N = int64_t(1) << log2N, quarter = N / 4;
  std::vector<float2> t(static_cast<size_t>(quarter));
  for (int64_t i = 0; i < quarter; ++i) {
    double c, s;
    if (2 * i <= quarter) {
      const double theta = kTwoPi * static_cast<double>(i) / static_cast<double>(N);
      c = std::cos(theta);
      s = std::sin(theta);
    } else {
      const double phi = kTwoPi * static_cast<double>(quarter - i) / static_cast<double>(N);
      c = std::sin(phi);
      s = std::cos(phi);
    }
    t[static_cast<size_t>(i)] = make_float2(static_cast<float>(c), static_cast<float>(-s));
  }
  return t;
}

// The device's table for N = 2^log2N, made on first use and kept for the life of the process.
Twiddles twiddles(int log2N) {
  static std::mutex mutex;
  static std::map<std::pair<int, int>, float2*> tables;
  int device = 0;
  CR_CUDA_CHECK(cudaGetDevice(&device));
  std::lock_guard<std::mutex> lock(mutex);
  float2*& table = tables[{device, log2N}];
  if (table == nullptr) {
    const std::vector<float2> host = quarterTwiddles(log2N);
    void* raw = nullptr;
    CR_CUDA_CHECK(cudaMalloc(&raw, host.size() * sizeof(float2)));
    auto* p = static_cast<float2*>(raw);
    const cudaError_t copied = cudaMemcpy(p, host.data(), host.size() * sizeof(float2), cudaMemcpyHostToDevice);
    if (copied != cudaSuccess) {
      cudaFree(p);
      CR_CUDA_CHECK(copied);
    }
    table = p;
  }
  return {table, log2N};
}

// Threads for a block transforming `points` complex points: one radix-4 butterfly each, 32 … 1024.
int blockThreads(int64_t points) {
  const int64_t t = points / 4;
  return static_cast<int>(t < 32 ? 32 : t > kMaxThreads ? kMaxThreads : t);
}

template <typename Kernel>
void allowSharedMemory(Kernel kernel, size_t bytes) {
  if (bytes > 48 * 1024) CR_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

// Estimated cost per (batch row, channel) of each path; the FFT's constant stands for its
// memory traffic (pack, transforms, unpack) against the direct sum's FMAs staged in shared
// memory. Untimed on hardware: a guess that sends kernels of a few dozen taps to the direct sum.
bool fftIsCheaper(const cpu::FftConvArgs& g) {
  const int log2N = fftLog2(g);
  if (log2N > fft::kMaxLog2 + 1) return false;
  const double L = static_cast<double>(g.L), Lk = static_cast<double>(g.Lk);
  const double direct = L * Lk - Lk * (Lk - 1) / 2;
  const double N = std::ldexp(1.0, log2N);
  const double transforms = 2.0 + 1.0 / static_cast<double>(g.batch);
  return 4.0 * N * (log2N + 4) * transforms < direct;
}

void convolveDirect(const cpu::FftConvArgs& g, cudaStream_t stream) {
  const int64_t tiles = (g.L + kDirectSteps - 1) / kDirectSteps;
  const dim3 grid(static_cast<unsigned>((g.channels + 31) / 32), gridCount(tiles), gridCount(g.batch));
  directKernel<<<grid, dim3(32, 8), 0, stream>>>(g);
}

// Scratch per call: at most this many bytes of packed rows and spectra (more rows are done in
// groups of channels and batch rows).
constexpr int64_t kScratchBudget = int64_t(512) << 20;

void convolveFft(const cpu::FftConvArgs& g, cudaStream_t stream) {
  const int log2N = fftLog2(g);
  const int log2H = log2N - 1;
  const int64_t H = int64_t(1) << log2H;
  const Twiddles tw = twiddles(log2N);
  // The 1/2 of each split, the 1/2 of each merge, and the inverse FFT's 1/H.
  const float scale = static_cast<float>(1.0 / (8.0 * static_cast<double>(H)));
  const int64_t rowBytes = H * static_cast<int64_t>(sizeof(float2));
  // Channels per group (cc) and batch rows per group (bb): spectra cc·H plus data bb·cc·H.
  int64_t bb = g.batch;
  int64_t cc = kScratchBudget / (rowBytes * (1 + bb));
  if (cc < 1) {
    cc = 1;
    bb = kScratchBudget / rowBytes - 1;
    if (bb < 1) bb = 1;
  }
  if (cc > g.channels) cc = g.channels;
  float2* spectra = static_cast<float2*>(scratch(static_cast<size_t>(cc * rowBytes), stream));
  float2* rows = static_cast<float2*>(scratch(static_cast<size_t>(bb * cc * rowBytes), stream));

  const bool inBlock = log2H <= kMaxBlockLog2;
  const int log2H1 = log2H / 2, log2H2 = log2H - log2H1;
  const int H1 = 1 << log2H1;
  const int cols = inBlock ? 0 : (kColumnTile / H1 < 1 ? 1 : kColumnTile / H1 > (1 << log2H2) ? (1 << log2H2) : kColumnTile / H1);
  const size_t blockBytes = static_cast<size_t>(rowBytes);
  const size_t columnBytes = static_cast<size_t>(cols) * (H1 + 1) * sizeof(float2);
  const size_t rowPassBytes = (size_t(1) << log2H2) * sizeof(float2);
  if (inBlock) {
    allowSharedMemory(blockKernelSpectrumKernel, blockBytes);
    allowSharedMemory(blockConvolveKernel, blockBytes);
  } else {
    allowSharedMemory(columnPassKernel, columnBytes);
    allowSharedMemory(rowPassKernel, rowPassBytes);
  }
  const int threads = inBlock ? blockThreads(H) : 0;
  auto fourStep = [&](float2* data, int64_t count, bool inverse) {
    const unsigned columnBlocks = static_cast<unsigned>((int64_t(1) << log2H2) / cols);
    const unsigned rowBlocks = static_cast<unsigned>(H1);
    if (!inverse) {
      columnPassKernel<<<dim3(columnBlocks, gridCount(count)), blockThreads(int64_t(cols) * H1), columnBytes, stream>>>(
          data, count, log2H1, log2H2, cols, false, tw);
      rowPassKernel<<<dim3(rowBlocks, gridCount(count)), blockThreads(int64_t(1) << log2H2), rowPassBytes, stream>>>(
          data, count, log2H1, log2H2, false, tw);
    } else {
      rowPassKernel<<<dim3(rowBlocks, gridCount(count)), blockThreads(int64_t(1) << log2H2), rowPassBytes, stream>>>(
          data, count, log2H1, log2H2, true, tw);
      columnPassKernel<<<dim3(columnBlocks, gridCount(count)), blockThreads(int64_t(cols) * H1), columnBytes, stream>>>(
          data, count, log2H1, log2H2, cols, true, tw);
    }
  };
  const unsigned pairBlocks = static_cast<unsigned>((H / 2 + 1 + 255) / 256);
  for (int64_t c0 = 0; c0 < g.channels; c0 += cc) {
    const int64_t cn = g.channels - c0 < cc ? g.channels - c0 : cc;
    if (inBlock) {
      blockKernelSpectrumKernel<<<gridCount(cn), threads, blockBytes, stream>>>(g.k, g.Lk, c0, cn, spectra, tw, scale);
    } else {
      // The kernels' transforms go through the data buffer (free until the first batch group).
      packTapsKernel<<<gridCount((cn * H + 255) / 256), 256, 0, stream>>>(g.k, g.Lk, c0, cn, rows, log2H);
      fourStep(rows, cn, false);
      splitKernelsKernel<<<dim3(pairBlocks, gridCount(cn)), 256, 0, stream>>>(rows, cn, spectra, tw, scale);
    }
    for (int64_t b0 = 0; b0 < g.batch; b0 += bb) {
      const int64_t bn = g.batch - b0 < bb ? g.batch - b0 : bb;
      const dim3 tiles(static_cast<unsigned>((H + 31) / 32), gridCount((cn + 31) / 32), gridCount(bn));
      packInputKernel<<<tiles, dim3(32, 8), 0, stream>>>(g.u, g.L, g.channels, c0, cn, b0, bn, rows, log2H);
      if (inBlock) {
        blockConvolveKernel<<<gridCount(bn * cn), threads, blockBytes, stream>>>(rows, bn * cn, cn, spectra, tw);
      } else {
        fourStep(rows, bn * cn, false);
        multiplyKernel<<<dim3(pairBlocks, gridCount(bn * cn)), 256, 0, stream>>>(rows, bn * cn, cn, spectra, tw);
        fourStep(rows, bn * cn, true);
      }
      unpackOutputKernel<<<tiles, dim3(32, 8), 0, stream>>>(rows, g.u, g.D, g.y, g.L, g.channels, c0, cn, b0, bn, log2H);
    }
  }
}

}  // namespace

void fftConv(const cpu::FftConvArgs& g, cudaStream_t stream) {
  if (g.batch <= 0 || g.L <= 0 || g.channels <= 0 || g.Lk <= 0) return;
  const bool useFft = g.method == cpu::ConvMethod::Fft || (g.method == cpu::ConvMethod::Auto && fftIsCheaper(g));
  if (useFft) {
    convolveFft(g, stream);
  } else {
    convolveDirect(g, stream);
  }
}

}  // namespace cr::cuda
