// Fused pointwise expressions on the GPU, the stack machine of native/cpu/elementwise.cc:
//   out[j] = program(in_0[j mod period_0], …, in_{k−1}[j mod period_{k−1}]).
// Parallel decomposition: each thread owns runs of 4 consecutive outputs and interprets the
// program once per run on a stack of 4-wide values, so the interpretation (one switch per
// instruction) is spread over 4 elements; an input whose period is a multiple of 4 is read with
// one float4 load per run (aligned then), a broadcast scalar once, any other period per element.
// Every block first copies the program into shared memory with each Const's value folded into
// its argument slot, so the interpreter reads one 8-byte word per instruction from shared
// memory; a program too long for shared memory is read from global memory instead.
#include <cstdint>

#include "check.h"
#include "small_ops.cuh"

namespace cr::cuda {
namespace {

using cpu::EwOp;

struct V4 {
  float v[4];
};

__device__ __forceinline__ float softplusf(float x) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }

__device__ __forceinline__ float unaryOp(EwOp op, float x) {
  switch (op) {
    case EwOp::Neg: return -x;
    case EwOp::Exp: return expf(x);
    case EwOp::Log: return logf(x);
    case EwOp::Sigmoid: return 1.0f / (1.0f + expf(-x));
    case EwOp::Silu: return x / (1.0f + expf(-x));
    case EwOp::Tanh: return tanhf(x);
    case EwOp::Softplus: return softplusf(x);
    case EwOp::LogSigmoid: return -softplusf(-x);
    case EwOp::Relu: return fmaxf(x, 0.0f);
    case EwOp::Gelu: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case EwOp::GeluTanh: return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * fmaf(0.044715f * x, x * x, x)));
    case EwOp::Sqrt: return sqrtf(x);
    case EwOp::Rsqrt: return 1.0f / sqrtf(x);
    case EwOp::Abs: return fabsf(x);
    case EwOp::Square: return x * x;
    case EwOp::Recip: return 1.0f / x;
    case EwOp::Cos: return cosf(x);
    case EwOp::Sin: return sinf(x);
    default: return x;
  }
}

__device__ __forceinline__ float binaryOp(EwOp op, float a, float b) {
  switch (op) {
    case EwOp::Add: return a + b;
    case EwOp::Sub: return a - b;
    case EwOp::Mul: return a * b;
    case EwOp::Div: return a / b;
    case EwOp::Min: return fminf(a, b);
    case EwOp::Max: return fmaxf(a, b);
    default: return a;
  }
}

__device__ __forceinline__ bool isBinary(EwOp op) {
  return op == EwOp::Add || op == EwOp::Sub || op == EwOp::Mul || op == EwOp::Div || op == EwOp::Min || op == EwOp::Max;
}

// Input `k` at outputs [j, j + 4) (count of them valid: the tail run may be short).
__device__ __forceinline__ V4 loadInput(const cpu::ElementwiseArgs& g, int k, int64_t j, int count) {
  V4 r;
  const float* src = g.inputs[k];
  const int64_t period = g.periods[k];
  if (period == 1) {
    const float s = src[0];
#pragma unroll
    for (int l = 0; l < 4; ++l) r.v[l] = s;
  } else if (count == 4 && period % 4 == 0 && (reinterpret_cast<uintptr_t>(src) & 15) == 0) {
    const float4 q = *reinterpret_cast<const float4*>(src + (period == g.n ? j : j % period));
    r.v[0] = q.x; r.v[1] = q.y; r.v[2] = q.z; r.v[3] = q.w;
  } else {
    int64_t at = period == g.n ? j : j % period;
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      r.v[l] = l < count ? src[at] : 0.0f;
      if (++at == period) at = 0;
    }
  }
  return r;
}

// A program of at most kInlineInstructions, already folded on the host, passed by value.
struct InlineProgram {
  int2 ins[kInlineInstructions];
};

// sharedProgram[pc] = (opcode, argument), a Const's argument replaced by its value's bits.
__global__ void elementwiseKernel(cpu::ElementwiseArgs g, bool inShared, bool inlined, InlineProgram inlineProgram) {
  extern __shared__ int2 sharedProgram[];
  if (inShared) {
    for (int pc = threadIdx.x; pc < g.numInstructions; pc += blockDim.x) {
      int2 ins;
      if (inlined) {
        ins = inlineProgram.ins[pc];
      } else {
        ins = make_int2(g.program[2 * pc], g.program[2 * pc + 1]);
        if (static_cast<EwOp>(ins.x) == EwOp::Const) ins.y = __float_as_int(g.constants[ins.y]);
      }
      sharedProgram[pc] = ins;
    }
    __syncthreads();
  }
  const int64_t runs = (g.n + 3) / 4;
  for (int64_t run = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; run < runs;
       run += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t j = run * 4;
    const int count = g.n - j < 4 ? static_cast<int>(g.n - j) : 4;
    V4 stack[cpu::kMaxEwStack];
    int sp = 0;
    for (int pc = 0; pc < g.numInstructions; ++pc) {
      const int2 ins = inShared ? sharedProgram[pc] : make_int2(g.program[2 * pc], g.program[2 * pc + 1]);
      const auto op = static_cast<EwOp>(ins.x);
      if (op == EwOp::Input) {
        stack[sp++] = loadInput(g, ins.y, j, count);
      } else if (op == EwOp::Const) {
        const float c = inShared ? __int_as_float(ins.y) : g.constants[ins.y];
#pragma unroll
        for (int l = 0; l < 4; ++l) stack[sp].v[l] = c;
        ++sp;
      } else if (isBinary(op)) {
        --sp;
#pragma unroll
        for (int l = 0; l < 4; ++l) stack[sp - 1].v[l] = binaryOp(op, stack[sp - 1].v[l], stack[sp].v[l]);
      } else {
#pragma unroll
        for (int l = 0; l < 4; ++l) stack[sp - 1].v[l] = unaryOp(op, stack[sp - 1].v[l]);
      }
    }
    float* out = g.out + j;
    if (count == 4 && (reinterpret_cast<uintptr_t>(out) & 15) == 0) {
      *reinterpret_cast<float4*>(out) = make_float4(stack[0].v[0], stack[0].v[1], stack[0].v[2], stack[0].v[3]);
    } else {
      for (int l = 0; l < count; ++l) out[l] = stack[0].v[l];
    }
  }
}

}  // namespace

void elementwise(const cpu::ElementwiseArgs& g, const int32_t* foldedProgram, cudaStream_t stream) {
  if (g.n == 0) return;
  const int threads = 256;
  const int64_t runs = (g.n + 3) / 4;
  const int64_t blocks = (runs + threads - 1) / threads;
  const size_t programBytes = static_cast<size_t>(g.numInstructions) * sizeof(int2);
  const bool inlined = foldedProgram != nullptr;
  if (inlined && g.numInstructions > kInlineInstructions) throwRange("elementwise: an inline program holds at most ", kInlineInstructions, " instructions");
  const bool inShared = inlined || programBytes <= 32 * 1024;
  InlineProgram inlineProgram{};
  if (inlined) {
    for (int pc = 0; pc < g.numInstructions; ++pc) inlineProgram.ins[pc] = make_int2(foldedProgram[2 * pc], foldedProgram[2 * pc + 1]);
  }
  elementwiseKernel<<<static_cast<unsigned>(blocks < 65535 * 16 ? blocks : 65535 * 16), threads, inShared ? programBytes : 0,
                      stream>>>(g, inShared, inlined, inlineProgram);
}

}  // namespace cr::cuda
