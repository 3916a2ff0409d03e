// matmul: y[..., M, N] = a[..., M, K] · b ([K, N], or [N, K] with transB)
// linear: y[..., out] = x[..., in] · weightᵀ (+ bias), weight [out, in] as in PyTorch.
// Leading dimensions of a/x fold into M: b is shared by every row.
#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

namespace {

cpu::GemmArgs gemmArgs(const OpCall& call, const TensorView& a, const TensorView& b, const TensorView* bias,
                       const TensorView& y, bool transB, const char* aName, const char* bName) {
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
  return g;
}

}  // namespace

cpu::GemmArgs matmulArgs(const OpCall& call) {
  const TensorView& a = call.tensor("a");
  expectRankAtLeast(call, "a", a, 2);
  return gemmArgs(call, a, call.tensor("b"), nullptr, call.tensor("y"), call.flag("transB", false), "a", "b");
}

cpu::GemmArgs linearArgs(const OpCall& call) {
  return gemmArgs(call, call.tensor("x"), call.tensor("weight"), call.find("bias"), call.tensor("y"), true, "x", "weight");
}

void runMatmul(const OpCall& call) { cpu::kernels().gemm(matmulArgs(call)); }

// bmm: y[i] = a[i] · b[i] (or b[i]ᵀ) over matching leading batch dimensions
// (matmul is the form where one b is shared by every batch).
cpu::BatchedGemmArgs bmmArgs(const OpCall& call) {
  const TensorView& a = call.tensor("a");
  const TensorView& b = call.tensor("b");
  const TensorView& y = call.tensor("y");
  const bool transB = call.flag("transB", false);
  expectDType(call, "a", a, {DType::F32});
  expectDType(call, "b", b, {DType::F32, DType::BF16, DType::F16});
  expectDType(call, "y", y, {DType::F32});
  expectRankAtLeast(call, "a", a, 3);
  if (b.rank != a.rank) throwRange(call.op(), ": b must have a's rank");
  const int64_t M = a.dim(-2), K = a.dim(-1);
  const int64_t N = transB ? b.dim(-2) : b.dim(-1);
  if ((transB ? b.dim(-1) : b.dim(-2)) != K) throwRange(call.op(), ": b ", shapeString(b), " does not match K=", K);
  const int64_t batch = a.rows(a.rank - 2);
  if (b.rows(b.rank - 2) != batch) throwRange(call.op(), ": a and b must have the same batch dimensions");
  if (y.size() != batch * M * N) throwRange(call.op(), ": y has the wrong size");
  cpu::BatchedGemmArgs g;
  g.batch = batch;
  g.gemm.M = M;
  g.gemm.N = N;
  g.gemm.K = K;
  g.gemm.A = a.as<float>();
  g.gemm.lda = K;
  g.gemm.B = b.data;
  g.gemm.bType = b.dtype;
  g.gemm.ldb = b.dim(-1);
  g.gemm.transB = transB;
  g.gemm.C = y.as<float>();
  g.gemm.ldc = N;
  g.strideA = M * K;
  g.strideB = K * N;
  g.strideC = M * N;
  return g;
}

void runBmm(const OpCall& call) { cpu::kernels().batchedGemm(bmmArgs(call)); }

void runLinear(const OpCall& call) { cpu::kernels().gemm(linearArgs(call)); }

}  // namespace cr
