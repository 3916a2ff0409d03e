// __nv_bfloat16 for the emu build: storage plus the conversions our kernels use, with the CPU
// dtype code's exact round-to-nearest-even and NaN handling (native/core/dtype.cc).
#pragma once
#include <cstdint>

#include "../../core/dtype.h"
#include "emu.h"

struct __align__(2) __nv_bfloat16 {
  uint16_t __x;
  __nv_bfloat16() = default;
  __nv_bfloat16(float f) : __x(::cr::f32ToBf16(f)) {}
  operator float() const { return ::cr::bf16ToF32(__x); }
};
struct __align__(4) __nv_bfloat162 {
  __nv_bfloat16 x, y;
};
inline __nv_bfloat16 __float2bfloat16_rn(float f) { __nv_bfloat16 h; h.__x = ::cr::f32ToBf16(f); return h; }
inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
inline float __bfloat162float(__nv_bfloat16 h) { return ::cr::bf16ToF32(h.__x); }
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.__x; }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short bits) { __nv_bfloat16 h; h.__x = bits; return h; }
inline short __bfloat16_as_short(__nv_bfloat16 h) { return static_cast<short>(h.__x); }
inline __nv_bfloat16 __short_as_bfloat16(short bits) { __nv_bfloat16 h; h.__x = static_cast<uint16_t>(bits); return h; }
