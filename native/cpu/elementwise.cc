// Fused pointwise expressions: a small stack machine run over blocks of the
// output. Each instruction sweeps a block of kBlock floats held in L1, so the
// interpretation cost (one switch per instruction per block) is spread over
// hundreds of elements, and an expression like `sigmoid(a) * b + c` reads each
// input once and writes the output once, however many steps it has.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

namespace {

constexpr int64_t kBlock = 512;  // floats per block: stack of 8 blocks = 16 KB, in L1

// Fills `dst` with input elements [j0, j0 + len) of a periodic input.
static inline const float* inputBlock(const float* src, int64_t period, int64_t j0, int64_t len, float* dst) {
  if (period == 1) {
    const Vec v = vset(src[0]);
    int64_t i = 0;
    for (; i + kLanes <= len; i += kLanes) vstore(dst + i, v);
    for (; i < len; ++i) dst[i] = src[0];
    return dst;
  }
  int64_t start = j0 % period;
  if (start + len <= period) return src + start;  // contiguous: read in place
  int64_t done = 0;
  while (done < len) {
    const int64_t run = std::min(len - done, period - start);
    std::memcpy(dst + done, src + start, static_cast<size_t>(run) * sizeof(float));
    done += run;
    start = 0;
  }
  return dst;
}

template <typename F>
static inline void unary(float* a, int64_t len, F f) {
  int64_t i = 0;
  for (; i + kLanes <= len; i += kLanes) vstore(a + i, f(vload(a + i)));
  if (i < len) vstorePartial(a + i, f(vloadPartial(a + i, static_cast<int>(len - i))), static_cast<int>(len - i));
}

template <typename F>
static inline void binary(float* a, const float* b, int64_t len, F f) {
  int64_t i = 0;
  for (; i + kLanes <= len; i += kLanes) vstore(a + i, f(vload(a + i), vload(b + i)));
  if (i < len) {
    const int n = static_cast<int>(len - i);
    vstorePartial(a + i, f(vloadPartial(a + i, n), vloadPartial(b + i, n)), n);
  }
}

static void runBlock(const ElementwiseArgs& g, int64_t j0, int64_t len, float (*stack)[kBlock]) {
  int sp = 0;
  for (int pc = 0; pc < g.numInstructions; ++pc) {
    const auto op = static_cast<EwOp>(g.program[2 * pc]);
    const int32_t arg = g.program[2 * pc + 1];
    switch (op) {
      case EwOp::Input: {
        const float* src = inputBlock(g.inputs[arg], g.periods[arg], j0, len, stack[sp]);
        if (src != stack[sp]) std::memcpy(stack[sp], src, static_cast<size_t>(len) * sizeof(float));
        ++sp;
        break;
      }
      case EwOp::Const: {
        const float c = g.constants[arg];
        inputBlock(&c, 1, 0, len, stack[sp]);
        ++sp;
        break;
      }
      case EwOp::Neg: unary(stack[sp - 1], len, [](Vec x) { return vneg(x); }); break;
      case EwOp::Exp: unary(stack[sp - 1], len, [](Vec x) { return vexp(x); }); break;
      case EwOp::Log: unary(stack[sp - 1], len, [](Vec x) { return vlog(x); }); break;
      case EwOp::Sigmoid: unary(stack[sp - 1], len, [](Vec x) { return vsigmoid(x); }); break;
      case EwOp::Silu: unary(stack[sp - 1], len, [](Vec x) { return vsilu(x); }); break;
      case EwOp::Tanh: unary(stack[sp - 1], len, [](Vec x) { return vtanh(x); }); break;
      case EwOp::Softplus: unary(stack[sp - 1], len, [](Vec x) { return vsoftplus(x); }); break;
      case EwOp::LogSigmoid: unary(stack[sp - 1], len, [](Vec x) { return vlogSigmoid(x); }); break;
      case EwOp::Relu: unary(stack[sp - 1], len, [](Vec x) { return vmax(x, vzero()); }); break;
      case EwOp::Gelu: unary(stack[sp - 1], len, [](Vec x) { return vgelu(x); }); break;
      case EwOp::GeluTanh: unary(stack[sp - 1], len, [](Vec x) { return vgeluTanh(x); }); break;
      case EwOp::Sqrt: unary(stack[sp - 1], len, [](Vec x) { return vsqrt(x); }); break;
      case EwOp::Rsqrt: unary(stack[sp - 1], len, [](Vec x) { return vset(1.0f) / vsqrt(x); }); break;
      case EwOp::Abs: unary(stack[sp - 1], len, [](Vec x) { return vabs(x); }); break;
      case EwOp::Square: unary(stack[sp - 1], len, [](Vec x) { return x * x; }); break;
      case EwOp::Recip: unary(stack[sp - 1], len, [](Vec x) { return vset(1.0f) / x; }); break;
      case EwOp::Cos: unary(stack[sp - 1], len, [](Vec x) { Vec s, c; vsincos(x, &s, &c); return c; }); break;
      case EwOp::Sin: unary(stack[sp - 1], len, [](Vec x) { Vec s, c; vsincos(x, &s, &c); return s; }); break;
      case EwOp::Add: --sp; binary(stack[sp - 1], stack[sp], len, [](Vec a, Vec b) { return a + b; }); break;
      case EwOp::Sub: --sp; binary(stack[sp - 1], stack[sp], len, [](Vec a, Vec b) { return a - b; }); break;
      case EwOp::Mul: --sp; binary(stack[sp - 1], stack[sp], len, [](Vec a, Vec b) { return a * b; }); break;
      case EwOp::Div: --sp; binary(stack[sp - 1], stack[sp], len, [](Vec a, Vec b) { return a / b; }); break;
      case EwOp::Min: --sp; binary(stack[sp - 1], stack[sp], len, [](Vec a, Vec b) { return vmin(a, b); }); break;
      case EwOp::Max: --sp; binary(stack[sp - 1], stack[sp], len, [](Vec a, Vec b) { return vmax(a, b); }); break;
    }
  }
  std::memcpy(g.out + j0, stack[0], static_cast<size_t>(len) * sizeof(float));
}

}  // namespace

void elementwise(const ElementwiseArgs& g) {
  const int64_t blocks = (g.n + kBlock - 1) / kBlock;
  // ~64 K elements per thread at least: below that the wake-up costs more than it saves.
  parallelFor(blocks, std::max<int64_t>(1, (int64_t(1) << 16) / kBlock), [&](int64_t b0, int64_t b1) {
    alignas(64) float stack[kMaxEwStack][kBlock];
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t j0 = b * kBlock;
      runBlock(g, j0, std::min(kBlock, g.n - j0), stack);
    }
  });
}

}  // namespace cr::cpu::CR_ISA
