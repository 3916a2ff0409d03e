// The CUDA dispatch of linearAttention and mlstm (native/cuda/linear_attention.cu, mlstm.cu),
// registered from a static initialiser like sequence_dispatch.cc: listing this file in
// native/sources.json's cuda group together with the kernels is all it takes to enable them.
// The checks are the CPU op's (linearAttentionArgs / mlstmArgs); none reads tensor values.
#include "../ops/op_args.h"
#include "launch.h"
#include "linear_attention.cuh"
#include "runtime.h"

namespace cr::cuda {

namespace {

void runLinearAttention(const OpCall& call) {
  const cpu::LinearAttentionArgs a = linearAttentionArgs(call);
  OpScope scope;
  linearAttention(a, scope.stream());
  scope.finish();
}

void runMlstm(const OpCall& call) {
  const cpu::MlstmArgs a = mlstmArgs(call);
  OpScope scope;
  mlstm(a, scope.stream());
  scope.finish();
}

}  // namespace

void registerLinearAttentionKernels() {
  registerOp("linearAttention", runLinearAttention);
  registerOp("mlstm", runMlstm);
}

namespace {
[[maybe_unused]] const bool registered = (registerLinearAttentionKernels(), true);
}  // namespace

}  // namespace cr::cuda
