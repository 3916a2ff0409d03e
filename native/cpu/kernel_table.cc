// The kernel table of one instruction set (this file is compiled once per set).
// Each kernel family declares its entry points in its own header; one line per
// kernel below puts it in the table.
#include "gemm.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

void elementwise(const ElementwiseArgs& args);
void norm(const NormArgs& args);
void softmax(const SoftmaxArgs& args);
void rope(const RopeArgs& args);
void embedding(const EmbeddingArgs& args);
void copy(const CopyArgs& args);
void batchedGemm(const BatchedGemmArgs& args);
void moe(const MoeArgs& args);
void blockScan(const BlockScanArgs& args);
void slstm(const SlstmArgs& args);
void complexRnn(const ComplexRnnArgs& args);
void diagonalScan(const DiagonalScanArgs& args);
void causalConv1d(const CausalConv1dArgs& args);
void selectiveScan(const SelectiveScanArgs& args);
void fftConv(const FftConvArgs& args);
void ssmKernel(const SsmKernelArgs& args);
void rnn(const RnnArgs& args);
void linearAttention(const LinearAttentionArgs& args);
void mlstm(const MlstmArgs& args);
void attention(const AttentionArgs& args);
ProbeResult probeFma(int64_t iterations);
ProbeResult probeTriad(float* a, const float* b, const float* c, int64_t n, int repeats);
ProbeResult probeRead(const float* a, int64_t n, int repeats);

static Kernels makeTable() {
  Kernels k{};
#if defined(CR_ISA_AVX512)
  k.isa = "avx512";
#elif defined(CR_ISA_AVX2)
  k.isa = "avx2";
#else
  k.isa = "scalar";
#endif
  k.gemm = &gemm;
  k.elementwise = &elementwise;
  k.norm = &norm;
  k.softmax = &softmax;
  k.rope = &rope;
  k.embedding = &embedding;
  k.copy = &copy;
  k.batchedGemm = &batchedGemm;
  k.moe = &moe;
  k.blockScan = &blockScan;
  k.slstm = &slstm;
  k.complexRnn = &complexRnn;
  k.diagonalScan = &diagonalScan;
  k.causalConv1d = &causalConv1d;
  k.selectiveScan = &selectiveScan;
  k.fftConv = &fftConv;
  k.ssmKernel = &ssmKernel;
  k.rnn = &rnn;
  k.linearAttention = &linearAttention;
  k.mlstm = &mlstm;
  k.attention = &attention;
  k.probeFma = &probeFma;
  k.probeTriad = &probeTriad;
  k.probeRead = &probeRead;
  return k;
}

extern const Kernels table;
const Kernels table = makeTable();

}  // namespace cr::cpu::CR_ISA
