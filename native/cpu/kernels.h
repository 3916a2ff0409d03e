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

// Fused pointwise math: out[j] = program(inputs at j). Each input repeats with
// its own period (n: full; a divisor of n: broadcast over leading dims; 1: a
// scalar), so per-channel parameters need no expanded copy. The program is
// postfix bytecode (pairs of opcode, argument) built by lib/ops/elementwise.ts.
enum class EwOp : int32_t {
  Input = 0, Const = 1, Neg = 2, Add = 3, Sub = 4, Mul = 5, Div = 6, Exp = 7, Log = 8, Sigmoid = 9,
  Silu = 10, Tanh = 11, Softplus = 12, Relu = 13, Gelu = 14, GeluTanh = 15, Sqrt = 16, Rsqrt = 17,
  Abs = 18, Min = 19, Max = 20, Square = 21, Recip = 22, LogSigmoid = 23, Cos = 24, Sin = 25,
};
constexpr int kMaxEwInputs = 8;
constexpr int kMaxEwStack = 8;
struct ElementwiseArgs {
  int64_t n = 0;
  int numInputs = 0;
  const float* inputs[kMaxEwInputs] = {};
  int64_t periods[kMaxEwInputs] = {};
  const int32_t* program = nullptr;  // numInstructions pairs
  int numInstructions = 0;
  const float* constants = nullptr;
  float* out = nullptr;
};

// y = norm(x) · weight (+ bias) over groups of `groupSize` channels of each row.
// rms: x / sqrt(mean(x²) + eps); else (x − mean) / sqrt(var + eps).
// gate (optional, [rows, dim]): gateBefore → norm(x · silu(gate)), else norm(x) · silu(gate).
// residual (optional): x + residual is normalised, and written to residualOut when given.
struct NormArgs {
  int64_t rows = 0, dim = 0, groupSize = 0;
  const float* x = nullptr;
  const float* residual = nullptr;
  float* residualOut = nullptr;
  const float* gate = nullptr;
  bool gateBefore = false;
  const float* weight = nullptr;
  const float* bias = nullptr;
  float eps = 1e-5f;
  bool rms = true;
  float* y = nullptr;
};

struct SoftmaxArgs {
  int64_t rows = 0, dim = 0;
  float scale = 1.0f;
  const float* x = nullptr;
  float* y = nullptr;
  bool log = false;  // log-softmax
};

// Rotary position embedding on x [batch, T, heads, D]: the first rotaryDim
// channels of each head rotate by angle pos · base^(−2i/rotaryDim).
// Positions: offset + t, with offset from `rowOffsets[b]` when given, or
// explicit `positions[b·T + t]`.
struct RopeArgs {
  int64_t batch = 0, T = 0, heads = 0, D = 0, rotaryDim = 0;
  const float* x = nullptr;
  float* y = nullptr;
  int64_t offset = 0;
  const int32_t* rowOffsets = nullptr;
  const int32_t* positions = nullptr;
  double base = 10000.0;
  double scale = 1.0;  // positions are multiplied by this (linear RoPE scaling)
  bool interleaved = false;  // pairs (2i, 2i+1) as in GPT-J; else halves (i, i + rotaryDim/2) as in GPT-NeoX/Llama
};

// y[i, :] = table[ids[i], :], widened to float32.
struct EmbeddingArgs {
  int64_t count = 0, dim = 0, vocab = 0;
  const int32_t* ids = nullptr;
  const void* table = nullptr;
  DType tableType = DType::F32;
  float* y = nullptr;
};

// dst (contiguous, `shape`) = src read with `srcStrides` (elements; 0 broadcasts).
// Elements are `elementBytes` wide (4 for float32/int32, 2 for 16-bit floats);
// dstOffset/dstStrides let several copies fill parts of one output (concat).
struct CopyArgs {
  int rank = 0;
  int64_t shape[8] = {};
  int64_t srcStrides[8] = {};
  int64_t dstStrides[8] = {};
  const void* src = nullptr;
  void* dst = nullptr;
  int elementBytes = 4;
};

// Batched GEMM: C[i] = A[i] · op(B[i]) for i < batch, each a GemmArgs-shaped
// product at the given element strides between batches (0 shares an operand).
struct BatchedGemmArgs {
  GemmArgs gemm;  // pointers of batch 0 and the per-product shape
  int64_t batch = 0;
  int64_t strideA = 0, strideB = 0, strideC = 0;
};

// Softmax attention per head: o = softmax(mask(softcap(scale · q·kᵀ))) · v.
// q [batch, Tq, heads, D], k/v [batch, Tk, kvHeads, D], o like q, all
// contiguous; query head h reads kv head h / (heads / kvHeads). Row r holds
// kvLengths[r] valid keys (Tk when null). Query t sits at position
// kvLength − Tq + t (bottom-right causal alignment); with `causal` it sees keys
// at positions ≤ its own, and with window > 0 only the last `window` of them.
struct AttentionArgs {
  int64_t batch = 0, Tq = 0, Tk = 0, heads = 0, kvHeads = 0, D = 0;
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  float* o = nullptr;
  const int32_t* kvLengths = nullptr;  // [batch], each in [0, Tk]
  bool causal = false;
  int64_t window = 0;   // 0: unlimited (requires causal otherwise)
  float scale = 1.0f;
  float softcap = 0.0f;  // > 0: scores s → softcap · tanh(s / softcap)
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
  // Glue for layers (native/cpu/elementwise.cc, norm.cc, rope.cc).
  void (*elementwise)(const ElementwiseArgs& args);
  void (*norm)(const NormArgs& args);
  void (*softmax)(const SoftmaxArgs& args);
  void (*rope)(const RopeArgs& args);
  void (*embedding)(const EmbeddingArgs& args);
  void (*copy)(const CopyArgs& args);
  void (*batchedGemm)(const BatchedGemmArgs& args);
  void (*attention)(const AttentionArgs& args);  // native/cpu/attention.cc
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
