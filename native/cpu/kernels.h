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

// Sparse mixture of experts (Mixtral / Jamba): a router picks topK experts per
// token; each expert is a gated MLP down(silu(gate·x) ⊙ up·x); the token's
// output is the router-weighted sum of its experts' outputs.
struct MoeArgs {
  int64_t tokens = 0, dModel = 0, ffn = 0, experts = 0, topK = 0;
  const float* x = nullptr;       // [tokens, dModel]
  const void* router = nullptr;   // [experts, dModel]
  const void* gate = nullptr;     // [experts, ffn, dModel]
  const void* up = nullptr;       // [experts, ffn, dModel]
  const void* down = nullptr;     // [experts, dModel, ffn]
  DType routerType = DType::F32, weightType = DType::F32;
  bool normalize = false;         // renormalise the topK router weights to sum to 1
  float* y = nullptr;             // [tokens, dModel]
  int32_t* chosen = nullptr;      // optional [tokens, topK]: the experts picked
};

// Block-diagonal linear recurrence: h_t = A · h_{t−1} + b_t per channel, with
// a time-invariant n×n block A per channel (LinOSS: n = 2; dense recurrent
// modes: larger n). Shapes: a [c, n, n], b and h [batch, L, c, n].
struct BlockScanArgs {
  int64_t batch = 0, L = 0, channels = 0, n = 0;
  const float* a = nullptr;
  const float* b = nullptr;
  const float* initialState = nullptr;  // [batch, c, n] or null (zeros)
  float* h = nullptr;
  float* lastState = nullptr;           // [batch, c, n]
};

// xLSTM's sLSTM cell over a sequence: exponential input gate, sigmoid forget
// gate in log space, normaliser n and stabiliser m, and a block-diagonal
// recurrent matrix (one dh×(4·dh) block per head). gates = preactivations
// W·x [batch, L, 4, heads, dh] in gate order i, f, z, o.
struct SlstmArgs {
  int64_t batch = 0, L = 0, heads = 0, headDim = 0;
  const float* gates = nullptr;
  const float* recurrent = nullptr;  // [heads, dh, 4, dh]
  const float* bias = nullptr;       // [heads, 4, dh] or null
  const float* initial[4] = {};      // y, c, n, m, each [batch, heads·dh] or null (zeros)
  float* y = nullptr;                // [batch, L, heads·dh]
  float* last[4] = {};               // y, c, n, m
};

// Complex recurrence of unitary RNNs (Arjovsky et al., 2016):
// h_t = modReLU(W h_{t−1} + u_t, bias), modReLU(z) = (|z| + bias) z/|z| when
// |z| + bias > 0, else 0. Complex values are (re, im) pairs.
struct ComplexRnnArgs {
  int64_t batch = 0, L = 0, hidden = 0;
  const float* u = nullptr;       // [batch, L, hidden, 2] (the input term V·x_t)
  const float* weight = nullptr;  // [hidden, hidden, 2]
  const float* bias = nullptr;    // [hidden]
  const float* h0 = nullptr;      // [batch, hidden, 2] or null
  float* y = nullptr;             // [batch, L, hidden, 2]
  float* last = nullptr;          // [batch, hidden, 2]
};

// h_t = a_t ⊙ h_{t−1} + b_t for t < L, independently per (batch, channel);
// complex: every element is a (re, im) pair and ⊙ is complex multiplication.
struct DiagonalScanArgs {
  int64_t batch = 0, L = 0, channels = 0;
  bool complex = false;
  const float* a = nullptr;             // [batch, L, channels(, 2)]
  const float* b = nullptr;             // [batch, L, channels(, 2)]
  const float* initialState = nullptr;  // [batch, channels(, 2)], or nullptr for zeros
  float* h = nullptr;                   // [batch, L, channels(, 2)]
  float* lastState = nullptr;           // [batch, channels(, 2)]
};

// Depthwise causal conv: y[t, ch] = bias[ch] + Σ_j weight[ch, j] · x[t − (width − 1) + j, ch],
// with inputs before t = 0 from initialState (oldest first) or zeros; optional silu.
struct CausalConv1dArgs {
  int64_t batch = 0, L = 0, channels = 0, width = 0;
  const float* x = nullptr;             // [batch, L, channels]
  const float* weight = nullptr;        // [channels, width]
  const float* bias = nullptr;          // [channels] or nullptr
  const float* initialState = nullptr;  // [batch, channels, width − 1] or nullptr (zeros)
  bool silu = false;
  float* y = nullptr;                   // [batch, L, channels]
  float* finalState = nullptr;          // [batch, channels, width − 1] (the last width − 1 inputs) or nullptr
};

// Mamba-1 selective scan (native/cpu/selective_scan.cc), token-major: u, delta,
// z, y [batch, L, d]; A [d, n]; B, C [batch, L, groups, n], channel c reading
// group c / (d / groups); D, deltaBias [d]; initialState, lastState [batch, d, n].
struct SelectiveScanArgs {
  int64_t batch = 0, L = 0, d = 0, n = 0, groups = 1;
  const float* u = nullptr;
  const float* delta = nullptr;
  const float* A = nullptr;
  const float* B = nullptr;
  const float* C = nullptr;
  const float* D = nullptr;             // optional
  const float* z = nullptr;             // optional
  const float* deltaBias = nullptr;     // optional
  const float* initialState = nullptr;  // optional: zeros when absent
  bool deltaSoftplus = false;
  float* y = nullptr;
  float* lastState = nullptr;  // optional
};

// Long causal depthwise convolution (fftConv):
//   y[b, t, ch] = Σ_{s=0}^{min(t, Lk−1)} k[ch, s]·u[b, t−s, ch] + D[ch]·u[b, t, ch]
// u, y [batch, L, channels] (token-major); k [channels, Lk]; D [channels] or null.
// `method` picks the path: FFT (O(L log L)) or the direct sum (O(L·Lk)); Auto
// chooses by estimated cost.
enum class ConvMethod : int32_t { Auto = 0, Fft = 1, Direct = 2 };
struct FftConvArgs {
  int64_t batch = 0, L = 0, channels = 0, Lk = 0;
  const float* u = nullptr;
  const float* k = nullptr;
  const float* D = nullptr;
  float* y = nullptr;
  ConvMethod method = ConvMethod::Auto;
};

// Convolution kernel of a diagonal complex SSM (S4D), by the Vandermonde product:
//   K[ch, l] = 2·Re Σ_n C[ch, n]·B̄[ch, n]·Ā[ch, n]^l,  l < L,
// ZOH: Ā = exp(ΔA), B̄ = (Ā − 1)/A·B;  bilinear: Ā = (1 + ΔA/2)/(1 − ΔA/2), B̄ = Δ/(1 − ΔA/2)·B.
// A, B, C [channels, dState, 2] as (re, im); delta [channels]; k [channels, L].
struct SsmKernelArgs {
  int64_t channels = 0, dState = 0, L = 0;
  const float* A = nullptr;
  const float* B = nullptr;
  const float* C = nullptr;
  const float* delta = nullptr;
  bool bilinear = false;
  float* k = nullptr;
};

// Recurrent cells with torch.nn.LSTM / GRU / RNN semantics, batch-first, one
// layer, one direction. G gate blocks of H rows each in the weights, in
// PyTorch's order: LSTM i, f, g, o (G = 4); GRU r, z, n (G = 3); RNN (G = 1).
enum class RnnCell : int32_t { Lstm = 0, Gru = 1, RnnTanh = 2, RnnRelu = 3 };
struct RnnArgs {
  RnnCell cell = RnnCell::Lstm;
  int64_t batch = 0, seqLen = 0, inputSize = 0, hiddenSize = 0;
  const float* x = nullptr;       // [batch, seqLen, inputSize]
  const void* weightIH = nullptr;  // [G·H, inputSize]
  DType weightIHType = DType::F32;
  const void* weightHH = nullptr;  // [G·H, H]
  DType weightHHType = DType::F32;
  const float* biasIH = nullptr;  // [G·H] or null
  const float* biasHH = nullptr;  // [G·H] or null
  const float* h0 = nullptr;      // [batch, H] or null (zeros)
  const float* c0 = nullptr;      // [batch, H] or null (zeros); LSTM only
  float* y = nullptr;             // [batch, seqLen, H]: every step's hidden state
  float* h = nullptr;             // [batch, H]: the last hidden state
  float* c = nullptr;             // [batch, H]: the last cell state (LSTM)
};

// Gated linear attention (native/cpu/linear_attention.cc), per batch row and head:
//   S_t = diag(exp(gk_t)) · exp(g_t) · S_{t−1} + k_tᵀ v_t  (S is [K, V]; g, gk optional log decays)
//   o_t = scale · q_t S_t
// q, k, gk [batch, T, heads, K], v, o [batch, T, heads, V], g [batch, T, heads],
// states [batch, heads, K, V]. mode: 0 picks by T, 1 chunked, 2 recurrent.
struct LinearAttentionArgs {
  int64_t batch = 0, T = 0, heads = 0, K = 0, V = 0;
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  const float* g = nullptr;
  const float* gk = nullptr;
  const float* initialState = nullptr;
  float* o = nullptr;
  float* finalState = nullptr;
  float scale = 1.0f;
  int64_t chunkSize = 32;
  int mode = 0;
};

// xLSTM's mLSTM cell (native/cpu/mlstm.cc), stabilised as in NX-AI's
// mlstm_kernels: m_t = max(log σ(f_t) + m_{t−1}, i_t), C_t = f'_t C_{t−1} + i'_t k_tᵀ v_t,
// n_t = f'_t n_{t−1} + i'_t k_t, h_t = (q̃_t C_t) / (max(|q̃_t · n_t|, exp(−m_t)) + eps), q̃ = scale · q.
// q, k [batch, T, heads, K], v, h [batch, T, heads, V], gates i, f [batch, T, heads];
// C [batch, heads, K, V], n [batch, heads, K], m [batch, heads]. mode as above.
struct MlstmArgs {
  int64_t batch = 0, T = 0, heads = 0, K = 0, V = 0;
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  const float* inputGate = nullptr;
  const float* forgetGate = nullptr;
  const float* initialC = nullptr;
  const float* initialN = nullptr;
  const float* initialM = nullptr;
  float* h = nullptr;
  float* finalC = nullptr;
  float* finalN = nullptr;
  float* finalM = nullptr;
  float scale = 1.0f;
  float eps = 1e-6f;
  int64_t chunkSize = 32;
  int mode = 0;
};

// Whether linearAttention / mlstm (CPU and CUDA) take the recurrent form: `mode` when it forces one, else below
// half a chunk of tokens, where the chunked form's fixed work per chunk (transposes, score blocks) is not amortised.
inline bool useRecurrentForm(int mode, int64_t T, int64_t chunkSize) {
  if (mode != 0) return mode == 2;
  return 2 * T < chunkSize;
}

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
  void (*moe)(const MoeArgs& args);
  void (*blockScan)(const BlockScanArgs& args);
  void (*slstm)(const SlstmArgs& args);
  void (*complexRnn)(const ComplexRnnArgs& args);
  // State-space building blocks (native/cpu/diagonal_scan.cc, causal_conv1d.cc).
  void (*diagonalScan)(const DiagonalScanArgs& args);
  void (*causalConv1d)(const CausalConv1dArgs& args);
  void (*selectiveScan)(const SelectiveScanArgs& args);  // native/cpu/selective_scan.cc
  // Sequence convolutions for SSMs (native/cpu/fft_conv.cc, ssm_kernel.cc).
  void (*fftConv)(const FftConvArgs& args);
  void (*ssmKernel)(const SsmKernelArgs& args);
  // LSTM / GRU / RNN over a sequence (native/cpu/rnn.cc).
  void (*rnn)(const RnnArgs& args);
  void (*linearAttention)(const LinearAttentionArgs& args);
  void (*mlstm)(const MlstmArgs& args);
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
