// matmul: y[..., M, N] = a[..., M, K] · b ([K, N], or [N, K] with transB)
// linear: y[..., out] = x[..., in] · weightᵀ (+ bias), weight [out, in] as in PyTorch.
// Leading dimensions of a/x fold into M: b is shared by every row.
#include "../cpu/kernels.h"
#include "ops.h"

namespace cr {

namespace {

void runGemm(const OpCall& call, const TensorView& a, const TensorView& b, const TensorView* bias, const TensorView& y,
             bool transB, const char* aName, const char* bName) {
  expectDType(call, aName, a, {DType::F32});
  expectDType(call, bName, b, {DType::F32, DType::BF16, DType::F16});
  expectDType(call, "y", y, {DType::F32});
  expectRankAtLeast(call, aName, a, 1);
  expectRank(call, bName, b, 2);
  const int64_t K = a.dim(-1);
  const int64_t M = a.size() / (K > 0 ? K : 1);
  const int64_t N = transB ? b.shape[0] : b.shape[1];
  const int64_t bK = transB ? b.shape[1] : b.shape[0];
  if (bK != K) throwRange(call.op(), ": ", bName, " shape ", shapeString(b), " does not match K=", K, " of ", aName);
  if (y.rank != a.rank || y.dim(-1) != N || y.size() != M * N) {
    throwRange(call.op(), ": y must have shape [..., ", N, "] with ", aName, "'s leading dims, got ", shapeString(y));
  }
  if (bias != nullptr) {
    expectDType(call, "bias", *bias, {DType::F32});
    expectShape(call, "bias", *bias, {N});
  }
  cpu::GemmArgs g;
  g.M = M;
  g.N = N;
  g.K = K;
  g.A = a.as<float>();
  g.lda = K;
  g.B = b.data;
  g.bType = b.dtype;
  g.ldb = b.shape[1];
  g.transB = transB;
  g.C = y.as<float>();
  g.ldc = N;
  g.bias = bias ? bias->as<float>() : nullptr;
  cpu::kernels().gemm(g);
}

}  // namespace

void runMatmul(const OpCall& call) {
  const TensorView& a = call.tensor("a");
  expectRankAtLeast(call, "a", a, 2);
  runGemm(call, a, call.tensor("b"), nullptr, call.tensor("y"), call.flag("transB", false), "a", "b");
}

void runLinear(const OpCall& call) {
  runGemm(call, call.tensor("x"), call.tensor("weight"), call.find("bias"), call.tensor("y"), true, "x", "weight");
}

}  // namespace cr
