#include "op_table.h"

#include "ops.h"

namespace cr {

namespace {
const OpEntry kOps[] = {
    {"matmul", runMatmul},
    {"linear", runLinear},
    {"elementwise", runElementwise},
    {"rmsNorm", runRmsNorm},
    {"layerNorm", runLayerNorm},
    {"softmax", runSoftmax},
    {"rope", runRope},
    {"embedding", runEmbedding},
    {"expand", runExpand},
    {"permute", runPermute},
    {"concat", runConcat},
    {"slice", runSlice},
    {"bmm", runBmm},
    {"moe", runMoe},
    {"blockScan", runBlockScan},
    {"slstm", runSlstm},
    {"complexRnn", runComplexRnn},
    {"diagonalScan", runDiagonalScan},
    {"causalConv1d", runCausalConv1d},
    {"selectiveScan", runSelectiveScan},
    {"fftConv", runFftConv},
    {"ssmKernel", runSsmKernel},
    {"lstm", runLstm},
    {"gru", runGru},
    {"rnn", runRnn},
    {"linearAttention", runLinearAttention},
    {"mlstm", runMlstm},
    {"attention", runAttention},
    {nullptr, nullptr},
};
}  // namespace

const OpEntry* allOps() { return kOps; }

const OpEntry* findOp(const std::string& name) {
  for (const OpEntry* e = kOps; e->name != nullptr; ++e) {
    if (name == e->name) return e;
  }
  return nullptr;
}

}  // namespace cr
