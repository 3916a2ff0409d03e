// A thin float32 vector type for the instruction set this file is compiled
// for: 16 lanes on AVX-512, 8 on AVX2, 1 on the portable path. Kernels are
// written once against it. Everything here is `static inline` (see isa.h).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "isa.h"

#if defined(CR_ISA_AVX512) || defined(CR_ISA_AVX2)
#include <immintrin.h>
#endif

namespace cr::cpu::CR_ISA {

#if defined(CR_ISA_AVX512)

constexpr int kLanes = 16;
struct Vec {
  __m512 v;
};
static inline __mmask16 tailMask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
static inline Vec vzero() { return {_mm512_setzero_ps()}; }
static inline Vec vset(float x) { return {_mm512_set1_ps(x)}; }
static inline Vec vload(const float* p) { return {_mm512_loadu_ps(p)}; }
static inline void vstore(float* p, Vec a) { _mm512_storeu_ps(p, a.v); }
static inline Vec vloadPartial(const float* p, int n) { return {_mm512_maskz_loadu_ps(tailMask(n), p)}; }
static inline void vstorePartial(float* p, Vec a, int n) { _mm512_mask_storeu_ps(p, tailMask(n), a.v); }
static inline Vec vloadBf16(const uint16_t* p) {
  return {_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16))};
}
static inline Vec vloadF16(const uint16_t* p) {
  return {_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)))};
}
static inline Vec vloadBf16Partial(const uint16_t* p, int n) {
  __m256i raw = _mm256_maskz_loadu_epi16(tailMask(n), p);
  return {_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16))};
}
static inline Vec vloadF16Partial(const uint16_t* p, int n) {
  return {_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tailMask(n), p))};
}
static inline Vec operator+(Vec a, Vec b) { return {_mm512_add_ps(a.v, b.v)}; }
static inline Vec operator-(Vec a, Vec b) { return {_mm512_sub_ps(a.v, b.v)}; }
static inline Vec operator*(Vec a, Vec b) { return {_mm512_mul_ps(a.v, b.v)}; }
static inline Vec operator/(Vec a, Vec b) { return {_mm512_div_ps(a.v, b.v)}; }
static inline Vec vfma(Vec a, Vec b, Vec c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }    // a·b + c
static inline Vec vfnma(Vec a, Vec b, Vec c) { return {_mm512_fnmadd_ps(a.v, b.v, c.v)}; }  // c − a·b
static inline Vec vmax(Vec a, Vec b) { return {_mm512_max_ps(a.v, b.v)}; }
static inline Vec vmin(Vec a, Vec b) { return {_mm512_min_ps(a.v, b.v)}; }
static inline Vec vabs(Vec a) { return {_mm512_abs_ps(a.v)}; }
static inline Vec vneg(Vec a) { return {_mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a.v), _mm512_set1_epi32(INT32_MIN)))}; }
static inline Vec vround(Vec a) { return {_mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)}; }
static inline Vec vfloor(Vec a) { return {_mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)}; }
static inline Vec vsqrt(Vec a) { return {_mm512_sqrt_ps(a.v)}; }
// 2^n for integral n in [-126, 127] held as floats.
static inline Vec vpow2i(Vec n) {
  return {_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n.v), _mm512_set1_epi32(127)), 23))};
}
// Picks b where a < b's lane-wise condition holds: select(cond ? x : y) built from a comparison.
static inline Vec vselectLess(Vec a, Vec b, Vec x, Vec y) {  // a < b ? x : y
  return {_mm512_mask_blend_ps(_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ), y.v, x.v)};
}
static inline Vec vcopySign(Vec magnitude, Vec sign) {
  const __m512i signBit = _mm512_set1_epi32(INT32_MIN);
  return {_mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(signBit, _mm512_castps_si512(magnitude.v)),
                                              _mm512_and_si512(signBit, _mm512_castps_si512(sign.v))))};
}
// Exponent and mantissa in [1, 2) of positive normal floats.
static inline void vfrexp(Vec x, Vec* exponent, Vec* mantissa) {
  exponent->v = _mm512_getexp_ps(x.v);
  mantissa->v = _mm512_getmant_ps(x.v, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
}
static inline float vreduceAdd(Vec a) { return _mm512_reduce_add_ps(a.v); }
static inline float vreduceMax(Vec a) { return _mm512_reduce_max_ps(a.v); }

#elif defined(CR_ISA_AVX2)

constexpr int kLanes = 8;
struct Vec {
  __m256 v;
};
static inline __m256i tailMask(int n) {
  static const int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskTable + 8 - n));
}
static inline Vec vzero() { return {_mm256_setzero_ps()}; }
static inline Vec vset(float x) { return {_mm256_set1_ps(x)}; }
static inline Vec vload(const float* p) { return {_mm256_loadu_ps(p)}; }
static inline void vstore(float* p, Vec a) { _mm256_storeu_ps(p, a.v); }
static inline Vec vloadPartial(const float* p, int n) { return {_mm256_maskload_ps(p, tailMask(n))}; }
static inline void vstorePartial(float* p, Vec a, int n) { _mm256_maskstore_ps(p, tailMask(n), a.v); }
static inline Vec vloadBf16(const uint16_t* p) {
  return {_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16))};
}
static inline Vec vloadF16(const uint16_t* p) { return {_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))}; }
static inline __m128i loadU16Partial(const uint16_t* p, int n) {
  alignas(16) uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::memcpy(tmp, p, static_cast<size_t>(n) * 2);
  return _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
}
static inline Vec vloadBf16Partial(const uint16_t* p, int n) {
  return {_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(loadU16Partial(p, n)), 16))};
}
static inline Vec vloadF16Partial(const uint16_t* p, int n) { return {_mm256_cvtph_ps(loadU16Partial(p, n))}; }
static inline Vec operator+(Vec a, Vec b) { return {_mm256_add_ps(a.v, b.v)}; }
static inline Vec operator-(Vec a, Vec b) { return {_mm256_sub_ps(a.v, b.v)}; }
static inline Vec operator*(Vec a, Vec b) { return {_mm256_mul_ps(a.v, b.v)}; }
static inline Vec operator/(Vec a, Vec b) { return {_mm256_div_ps(a.v, b.v)}; }
static inline Vec vfma(Vec a, Vec b, Vec c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
static inline Vec vfnma(Vec a, Vec b, Vec c) { return {_mm256_fnmadd_ps(a.v, b.v, c.v)}; }
static inline Vec vmax(Vec a, Vec b) { return {_mm256_max_ps(a.v, b.v)}; }
static inline Vec vmin(Vec a, Vec b) { return {_mm256_min_ps(a.v, b.v)}; }
static inline Vec vabs(Vec a) { return {_mm256_andnot_ps(_mm256_set1_ps(-0.0f), a.v)}; }
static inline Vec vneg(Vec a) { return {_mm256_xor_ps(_mm256_set1_ps(-0.0f), a.v)}; }
static inline Vec vround(Vec a) { return {_mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)}; }
static inline Vec vfloor(Vec a) { return {_mm256_floor_ps(a.v)}; }
static inline Vec vsqrt(Vec a) { return {_mm256_sqrt_ps(a.v)}; }
static inline Vec vpow2i(Vec n) {
  return {_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n.v), _mm256_set1_epi32(127)), 23))};
}
static inline Vec vselectLess(Vec a, Vec b, Vec x, Vec y) {
  return {_mm256_blendv_ps(y.v, x.v, _mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ))};
}
static inline Vec vcopySign(Vec magnitude, Vec sign) {
  const __m256 signBit = _mm256_set1_ps(-0.0f);
  return {_mm256_or_ps(_mm256_andnot_ps(signBit, magnitude.v), _mm256_and_ps(signBit, sign.v))};
}
static inline void vfrexp(Vec x, Vec* exponent, Vec* mantissa) {
  const __m256i bits = _mm256_castps_si256(x.v);
  exponent->v = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127)));
  mantissa->v = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                                    _mm256_set1_epi32(0x3f800000)));
}
static inline float vreduceAdd(Vec a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
static inline float vreduceMax(Vec a) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

#else  // portable scalar path

constexpr int kLanes = 1;
struct Vec {
  float v;
};
static inline Vec vzero() { return {0.0f}; }
static inline Vec vset(float x) { return {x}; }
static inline Vec vload(const float* p) { return {*p}; }
static inline void vstore(float* p, Vec a) { *p = a.v; }
static inline Vec vloadPartial(const float* p, int n) { return {n > 0 ? *p : 0.0f}; }
static inline void vstorePartial(float* p, Vec a, int n) {
  if (n > 0) *p = a.v;
}
static inline float bf16Bits(uint16_t h) {
  uint32_t w = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &w, 4);
  return f;
}
static inline float f16Bits(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    magnitude = mantissa ? NAN : INFINITY;
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  }
  uint32_t bits;
  std::memcpy(&bits, &magnitude, 4);
  bits |= sign;
  std::memcpy(&magnitude, &bits, 4);
  return magnitude;
}
static inline Vec vloadBf16(const uint16_t* p) { return {bf16Bits(*p)}; }
static inline Vec vloadF16(const uint16_t* p) { return {f16Bits(*p)}; }
static inline Vec vloadBf16Partial(const uint16_t* p, int n) { return {n > 0 ? bf16Bits(*p) : 0.0f}; }
static inline Vec vloadF16Partial(const uint16_t* p, int n) { return {n > 0 ? f16Bits(*p) : 0.0f}; }
static inline Vec operator+(Vec a, Vec b) { return {a.v + b.v}; }
static inline Vec operator-(Vec a, Vec b) { return {a.v - b.v}; }
static inline Vec operator*(Vec a, Vec b) { return {a.v * b.v}; }
static inline Vec operator/(Vec a, Vec b) { return {a.v / b.v}; }
static inline Vec vfma(Vec a, Vec b, Vec c) { return {std::fma(a.v, b.v, c.v)}; }
static inline Vec vfnma(Vec a, Vec b, Vec c) { return {std::fma(-a.v, b.v, c.v)}; }
static inline Vec vmax(Vec a, Vec b) { return {a.v > b.v ? a.v : b.v}; }
static inline Vec vmin(Vec a, Vec b) { return {a.v < b.v ? a.v : b.v}; }
static inline Vec vabs(Vec a) { return {std::fabs(a.v)}; }
static inline Vec vneg(Vec a) { return {-a.v}; }
static inline Vec vround(Vec a) { return {std::nearbyint(a.v)}; }
static inline Vec vfloor(Vec a) { return {std::floor(a.v)}; }
static inline Vec vsqrt(Vec a) { return {std::sqrt(a.v)}; }
static inline Vec vpow2i(Vec n) {
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n.v) + 127) << 23;
  float f;
  std::memcpy(&f, &bits, 4);
  return {f};
}
static inline Vec vselectLess(Vec a, Vec b, Vec x, Vec y) { return {a.v < b.v ? x.v : y.v}; }
static inline Vec vcopySign(Vec magnitude, Vec sign) { return {std::copysign(magnitude.v, sign.v)}; }
static inline void vfrexp(Vec x, Vec* exponent, Vec* mantissa) {
  uint32_t bits;
  std::memcpy(&bits, &x.v, 4);
  exponent->v = static_cast<float>(static_cast<int32_t>(bits >> 23) - 127);
  bits = (bits & 0x007fffffu) | 0x3f800000u;
  std::memcpy(&mantissa->v, &bits, 4);
}
static inline float vreduceAdd(Vec a) { return a.v; }
static inline float vreduceMax(Vec a) { return a.v; }

#endif

static inline Vec& operator+=(Vec& a, Vec b) { return a = a + b; }
static inline Vec& operator*=(Vec& a, Vec b) { return a = a * b; }

// e^x, Cephes-style: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6
// polynomial; about 1 ulp. Saturates to 0 below −87.3 and to +inf above 88.7.
static inline Vec vexp(Vec x) {
  const Vec hi = vset(88.7228391f), lo = vset(-87.3365479f);
  const Vec clamped = vmax(lo, vmin(hi, x));  // this operand order lets NaN through
  const Vec n = vround(clamped * vset(1.44269504088896341f));
  Vec r = vfnma(n, vset(0.693359375f), clamped);
  r = vfnma(n, vset(-2.12194440e-4f), r);
  Vec p = vset(1.9875691500e-4f);
  p = vfma(p, r, vset(1.3981999507e-3f));
  p = vfma(p, r, vset(8.3334519073e-3f));
  p = vfma(p, r, vset(4.1665795894e-2f));
  p = vfma(p, r, vset(1.6666665459e-1f));
  p = vfma(p, r, vset(5.0000001201e-1f));
  p = vfma(p * r, r, r + vset(1.0f));
  // Split 2^n in two factors so n = 128 (x near 88.7) does not overflow the exponent field.
  const Vec half = vround(n * vset(0.5f));
  Vec out = p * vpow2i(half) * vpow2i(n - half);
  out = vselectLess(x, lo, vzero(), out);
  return vselectLess(hi, x, vset(INFINITY), out);
}

// ln(x) for x > 0 (finite, normal), Cephes-style, about 1 ulp.
static inline Vec vlog(Vec x) {
  Vec e, m;
  vfrexp(x, &e, &m);  // x = m·2^e, m in [1, 2)
  // Move m to [sqrt(1/2), sqrt(2)) so the series argument is small.
  const Vec big = vselectLess(vset(1.41421356f), m, vset(1.0f), vzero());
  m = vselectLess(vset(1.41421356f), m, m * vset(0.5f), m);
  e = e + big;
  const Vec f = m - vset(1.0f);
  const Vec z = f * f;
  Vec p = vset(7.0376836292e-2f);
  p = vfma(p, f, vset(-1.1514610310e-1f));
  p = vfma(p, f, vset(1.1676998740e-1f));
  p = vfma(p, f, vset(-1.2420140846e-1f));
  p = vfma(p, f, vset(1.4249322787e-1f));
  p = vfma(p, f, vset(-1.6668057665e-1f));
  p = vfma(p, f, vset(2.0000714765e-1f));
  p = vfma(p, f, vset(-2.4999993993e-1f));
  p = vfma(p, f, vset(3.3333331174e-1f));
  Vec y = p * f * z;
  y = vfma(e, vset(-2.12194440e-4f), y);
  y = vfnma(z, vset(0.5f), y);
  return vfma(e, vset(0.693359375f), f + y);
}

static inline Vec vsigmoid(Vec x) { return vset(1.0f) / (vset(1.0f) + vexp(vneg(x))); }
static inline Vec vsilu(Vec x) { return x / (vset(1.0f) + vexp(vneg(x))); }

// tanh: an odd polynomial near zero (keeps relative accuracy for tiny x),
// 1 − 2/(e^{2|x|} + 1) elsewhere.
static inline Vec vtanh(Vec x) {
  const Vec ax = vabs(x);
  const Vec z = x * x;
  Vec p = vset(-5.70498872745e-3f);
  p = vfma(p, z, vset(2.06390887954e-2f));
  p = vfma(p, z, vset(-5.37397155531e-2f));
  p = vfma(p, z, vset(1.33314422036e-1f));
  p = vfma(p, z, vset(-3.33332819422e-1f));
  const Vec small = vfma(p * z, x, x);
  const Vec large = vcopySign(vset(1.0f) - vset(2.0f) / (vexp(ax + ax) + vset(1.0f)), x);
  return vselectLess(ax, vset(0.625f), small, large);
}

// softplus(x) = ln(1 + e^x) = max(x, 0) + ln(1 + e^{−|x|}).
static inline Vec vsoftplus(Vec x) {
  const Vec t = vexp(vneg(vabs(x)));  // in (0, 1]
  // For tiny t, 1 + t rounds to 1: use ln(1 + t) ≈ t − t²/2 there, which keeps
  // the relative accuracy of softplus at very negative x.
  const Vec series = vfnma(t * t, vset(0.5f), t);
  const Vec log1pT = vselectLess(t, vset(1e-4f), series, vlog(vset(1.0f) + t));
  return vmax(x, vzero()) + log1pT;
}

// log σ(x) = −softplus(−x), accurate for large |x| of either sign.
static inline Vec vlogSigmoid(Vec x) { return vneg(vsoftplus(vneg(x))); }

// erf(x), Abramowitz & Stegun 7.1.26: absolute error ≤ 1.5e-7, enough for GELU.
static inline Vec verf(Vec x) {
  const Vec ax = vabs(x);
  const Vec t = vset(1.0f) / vfma(vset(0.3275911f), ax, vset(1.0f));
  Vec p = vset(1.061405429f);
  p = vfma(p, t, vset(-1.453152027f));
  p = vfma(p, t, vset(1.421413741f));
  p = vfma(p, t, vset(-0.284496736f));
  p = vfma(p, t, vset(0.254829592f));
  const Vec y = vset(1.0f) - p * t * vexp(vneg(ax * ax));
  return vcopySign(y, x);
}

// GELU, exact form x·Φ(x) (PyTorch's default), and the tanh approximation.
static inline Vec vgelu(Vec x) { return x * vset(0.5f) * (vset(1.0f) + verf(x * vset(0.70710678118654752f))); }
static inline Vec vgeluTanh(Vec x) {
  const Vec inner = vset(0.7978845608028654f) * vfma(vset(0.044715f) * x, x * x, x);
  return x * vset(0.5f) * (vset(1.0f) + vtanh(inner));
}

// sin and cos together, Cephes-style: reduce by multiples of π/4 in three
// parts (accurate for |x| up to about 8192), then a polynomial per quadrant.
static inline void vsincos(Vec x, Vec* sinOut, Vec* cosOut) {
  const Vec ax = vabs(x);
  Vec j = vfloor(ax * vset(1.27323954473516f));  // 4/π
  j = j + (j - vset(2.0f) * vfloor(j * vset(0.5f)));  // odd → next even
  const Vec r = vfnma(j, vset(3.77489497744594108e-8f), vfnma(j, vset(2.4187564849853515625e-4f), vfnma(j, vset(0.78515625f), ax)));
  const Vec quadrant = j * vset(0.5f) - vset(4.0f) * vfloor(j * vset(0.125f));  // 0..3
  const Vec z = r * r;
  Vec sp = vset(-1.9515295891e-4f);
  sp = vfma(sp, z, vset(8.3321608736e-3f));
  sp = vfma(sp, z, vset(-1.6666654611e-1f));
  const Vec sinR = vfma(sp * z, r, r);
  Vec cp = vset(2.443315711809948e-5f);
  cp = vfma(cp, z, vset(-1.388731625493765e-3f));
  cp = vfma(cp, z, vset(4.166664568298827e-2f));
  const Vec cosR = vfma(cp * z, z, vfnma(z, vset(0.5f), vset(1.0f)));
  // quadrant q: sin = [s, c, −s, −c][q], cos = [c, −s, −c, s][q]
  const Vec odd = quadrant - vset(2.0f) * vfloor(quadrant * vset(0.5f));  // q mod 2
  const Vec half = vset(0.5f);
  const Vec sinBase = vselectLess(odd, half, sinR, cosR);
  const Vec cosBase = vselectLess(odd, half, cosR, sinR);
  const Vec sinSign = vselectLess(quadrant, vset(1.5f), vset(1.0f), vset(-1.0f));
  const Vec cosSign = vselectLess(vabs(quadrant - vset(1.5f)), vset(1.0f), vset(-1.0f), vset(1.0f));  // q = 1, 2 → −
  *sinOut = sinBase * sinSign * vselectLess(x, vzero(), vset(-1.0f), vset(1.0f));  // sin is odd
  *cosOut = cosBase * cosSign;
}

}  // namespace cr::cpu::CR_ISA
