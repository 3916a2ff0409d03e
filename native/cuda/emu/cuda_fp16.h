// __half for the emu build: storage plus the conversions our kernels use, with the CPU dtype
// code's exact round-to-nearest-even and NaN handling (native/core/dtype.cc).
#pragma once
#include <cstdint>

#include "../../core/dtype.h"
#include "emu.h"

struct __align__(2) __half {
  uint16_t __x;
  __half() = default;
  __half(float f) : __x(::cr::f32ToF16(f)) {}
  operator float() const { return ::cr::f16ToF32(__x); }
};
struct __align__(4) __half2 {
  __half x, y;
};
inline __half __float2half_rn(float f) { __half h; h.__x = ::cr::f32ToF16(f); return h; }
inline __half __float2half(float f) { return __float2half_rn(f); }
inline float __half2float(__half h) { return ::cr::f16ToF32(h.__x); }
inline unsigned short __half_as_ushort(__half h) { return h.__x; }
inline __half __ushort_as_half(unsigned short bits) { __half h; h.__x = bits; return h; }
inline short __half_as_short(__half h) { return static_cast<short>(h.__x); }
inline __half __short_as_half(short bits) { __half h; h.__x = static_cast<uint16_t>(bits); return h; }
