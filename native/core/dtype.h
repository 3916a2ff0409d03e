// Element types a tensor may hold. bfloat16 and float16 travel as raw 16-bit
// patterns (Uint16Array on the JS side); kernels widen them to float32.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace cr {

enum class DType : int { F32 = 0, BF16 = 1, F16 = 2, I32 = 3 };

size_t dtypeSize(DType dtype);
const char* dtypeName(DType dtype);      // the JS-facing name: 'float32', 'bfloat16', ...
bool parseDType(const std::string& name, DType* out);

// Scalar conversions used outside the per-ISA kernels (tests, probes, glue).
float bf16ToF32(uint16_t bits);
uint16_t f32ToBf16(float value);  // round to nearest even; NaN stays NaN
float f16ToF32(uint16_t bits);
uint16_t f32ToF16(float value);   // round to nearest even; overflow gives inf

}  // namespace cr
