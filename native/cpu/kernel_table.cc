// The kernel table of one instruction set (this file is compiled once per set).
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

void gemm(const GemmArgs& args);
ProbeResult probeFma(int64_t iterations);
ProbeResult probeTriad(float* a, const float* b, const float* c, int64_t n, int repeats);
ProbeResult probeRead(const float* a, int64_t n, int repeats);

extern const Kernels table;
const Kernels table = {
#if defined(CR_ISA_AVX512)
    "avx512",
#elif defined(CR_ISA_AVX2)
    "avx2",
#else
    "scalar",
#endif
    &gemm,
    &probeFma,
    &probeTriad,
    &probeRead,
};

}  // namespace cr::cpu::CR_ISA
