// GEMM entry points for kernels of the same instruction set (an LSTM's input
// projection, attention's block products). Called inside a thread-pool region
// they run on the calling thread only.
#pragma once
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

// Any shape: the small-M path (gemv.cc) for M ≤ 8, else the packed kernel.
void gemm(const GemmArgs& args);
// The packed kernel regardless of M.
void gemmPacked(const GemmArgs& args);
// The M ≤ 8 path (weights streamed once).
void gemv(const GemmArgs& args);

}  // namespace cr::cpu::CR_ISA
