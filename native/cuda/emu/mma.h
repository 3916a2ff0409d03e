// WMMA (nvcuda::wmma) for the emu build. Every lane holds the whole 16×16 tile, widened to
// float: load/store/fill act per lane (the same data on every lane, as the API requires
// warp-uniform pointers and ldm), and mma_sync is a warp collective that computes the product
// once and hands it to every lane, after checking that all lanes hold the same fragments
// (a lane-divergent WMMA call is a bug on a GPU too).
#pragma once
#include <cstring>
#include <type_traits>
#ifdef __F16C__
#include <immintrin.h>
#endif

#include "cuda_bf16.h"
#include "cuda_fp16.h"
#include "emu.h"

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
  static_assert(M == 16 && N == 16 && K == 16, "the emulator implements 16×16×16 WMMA shapes");
  static constexpr int kRows = std::is_same<Use, matrix_b>::value ? K : M;
  static constexpr int kCols = std::is_same<Use, matrix_a>::value ? K : N;
  static constexpr int num_elements = kRows * kCols;  // per lane here: the whole tile
  float x[kRows * kCols];                            // row-major
};

template <typename Use, int M, int N, int K, typename T, typename L>
inline void fill_fragment(fragment<Use, M, N, K, T, L>& f, float value) {
  const float v = static_cast<float>(T(value));
  for (int i = 0; i < f.num_elements; ++i) f.x[i] = v;
}

namespace detail {
inline float widen(float v) { return v; }
inline float widen(__nv_bfloat16 v) { return __uint_as_float(static_cast<uint32_t>(v.__x) << 16); }
#ifdef __F16C__
// Fragment loads dominate the emulated tensor-core GEMM: the hardware conversion (exact; it
// only differs from the CPU dtype code in the payload of a signalling NaN).
inline float widen(__half v) { return _cvtsh_ss(v.__x); }
#else
inline float widen(__half v) { return __half2float(v); }
#endif
}  // namespace detail

template <typename Use, int M, int N, int K, typename T, typename L, typename P>
inline void load_matrix_sync(fragment<Use, M, N, K, T, L>& f, const P* p, unsigned ldm) {
  static_assert(!std::is_same<Use, accumulator>::value, "an accumulator load takes a layout");
  using F = fragment<Use, M, N, K, T, L>;
  for (int r = 0; r < F::kRows; ++r)
    for (int c = 0; c < F::kCols; ++c)
      f.x[r * F::kCols + c] = detail::widen(std::is_same<L, col_major>::value ? p[c * ldm + r] : p[r * ldm + c]);
}

template <int M, int N, int K, typename T>
inline void load_matrix_sync(fragment<accumulator, M, N, K, T>& f, const float* p, unsigned ldm, layout_t layout) {
  for (int r = 0; r < M; ++r)
    for (int c = 0; c < N; ++c) f.x[r * N + c] = layout == mem_col_major ? p[c * ldm + r] : p[r * ldm + c];
}

template <int M, int N, int K, typename T>
inline void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, T>& f, unsigned ldm, layout_t layout) {
  for (int r = 0; r < M; ++r)
    for (int c = 0; c < N; ++c) (layout == mem_col_major ? p[c * ldm + r] : p[r * ldm + c]) = f.x[r * N + c];
}

namespace detail {
struct MmaOperands {
  float* d;
  const float* a;
  const float* b;
  const float* c;
};
// Leader: d = a·b + c (float accumulation in k order). Other lanes: check their inputs are
// the leader's, then copy the leader's d.
inline bool mmaCompute(void* leaderData, void* laneData) {
  auto* L = static_cast<MmaOperands*>(leaderData);
  auto* me = static_cast<MmaOperands*>(laneData);
  if (L == me) {
    // Each output sums c + a[i][0]·b[0][j] + a[i][1]·b[1][j] + … in k order; j innermost
    // vectorises. (Products of half or bfloat16 values are exact in float.)
    float out[256];
    std::memcpy(out, L->c, sizeof(out));
    for (int i = 0; i < 16; ++i)
      for (int k = 0; k < 16; ++k) {
        const float a = L->a[i * 16 + k];
        for (int j = 0; j < 16; ++j) out[i * 16 + j] += a * L->b[k * 16 + j];
      }
    std::memcpy(L->d, out, sizeof(out));
    return true;
  }
  // The leader's d may alias its c, so compare against the leader's a, b and its result's
  // inputs only where they cannot have been overwritten.
  const bool same = std::memcmp(me->a, L->a, 256 * sizeof(float)) == 0 && std::memcmp(me->b, L->b, 256 * sizeof(float)) == 0 &&
                    (L->d == L->c || std::memcmp(me->c, L->c, 256 * sizeof(float)) == 0);
  std::memcpy(me->d, L->d, 256 * sizeof(float));
  return same;
}
}  // namespace detail

template <typename TA, typename LA, typename TB, typename LB, typename TC>
inline void mma_sync_at(fragment<accumulator, 16, 16, 16, TC>& d, const fragment<matrix_a, 16, 16, 16, TA, LA>& a,
                        const fragment<matrix_b, 16, 16, 16, TB, LB>& b, const fragment<accumulator, 16, 16, 16, TC>& c,
                        const char* file, int line) {
  detail::MmaOperands ops{d.x, a.x, b.x, c.x};
  ::cr::emu::warpMma(&ops, &detail::mmaCompute, file, line);
}

}  // namespace wmma
}  // namespace nvcuda

#define mma_sync(d, a, b, c) mma_sync_at(d, a, b, c, __FILE__, __LINE__)
