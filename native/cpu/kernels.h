// The CPU kernel table: one entry per kernel, filled once per instruction set
// (kernel_table.cc) and chosen at load time (dispatch.cc). Ops call kernels
// only through this table.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace cr::cpu {

// C[M, N] (=|+=) A[M, K] · op(B) (+ bias), float32 A and C.
// op(B) = B [K, N] (row stride ldb), or Bᵀ with B stored [N, K] when transB.
// B may be float32, bfloat16 or float16; it is widened inside the packed panels.
struct GemmArgs {
  int64_t M = 0, N = 0, K = 0;
  const float* A = nullptr;
  int64_t lda = 0;
  const void* B = nullptr;
  DType bType = DType::F32;
  int64_t ldb = 0;
  bool transB = false;
  float* C = nullptr;
  int64_t ldc = 0;
  const float* bias = nullptr;  // [N], added once
  bool accumulate = false;      // C += A·op(B) instead of C = A·op(B)
};

struct ProbeResult {
  double seconds = 0;
  double work = 0;  // flops or bytes, depending on the probe
};

struct Kernels {
  const char* isa;
  // Picks the path by shape (small-M decode path or blocked packed GEMM) and
  // runs it on the thread pool; safe to call from inside a region (runs serially).
  void (*gemm)(const GemmArgs& args);
  // Peak-rate probes for benchmarks: FMA throughput on one thread, and a
  // streaming triad a[i] = b[i] + s·c[i] over n floats on the thread that calls it.
  ProbeResult (*probeFma)(int64_t iterations);
  ProbeResult (*probeTriad)(float* a, const float* b, const float* c, int64_t n, int repeats);
  ProbeResult (*probeRead)(const float* a, int64_t n, int repeats);
};

const Kernels& kernels();                 // the table in use
const Kernels* kernelsFor(int isa);       // a specific table (cr::Isa value), or nullptr
void selectKernels(int isa);              // used at load time and by tests

}  // namespace cr::cpu
