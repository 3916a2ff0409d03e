// The CUDA dispatch of lstm, gru and rnn (kernels: native/cuda/rnn.cu),
// registered from a static initialiser as native/cuda/sequence_dispatch.cc does.
//
// CROSSROAD_CUDA_RNN picks the recurrence's path: unset (or empty) lets the
// kernel choose, `step` forces one launch per step, `persistent` forces the
// cooperative kernel (an error where it cannot run). It is read on every
// call, so tests can cover both paths in one process.
#include <cstdlib>
#include <string>

#include "../ops/op_args.h"
#include "launch.h"
#include "rnn.cuh"
#include "runtime.h"

namespace cr::cuda {

namespace {

RnnPath pathFromEnvironment(const OpCall& call) {
  const char* value = std::getenv("CROSSROAD_CUDA_RNN");
  if (value == nullptr || *value == '\0') return RnnPath::Auto;
  const std::string v = value;
  if (v == "step") return RnnPath::Step;
  if (v == "persistent") return RnnPath::Persistent;
  throwRange(call.op(), ": CROSSROAD_CUDA_RNN must be 'step', 'persistent' or unset, got '", v, "'");
}

void runRecurrent(const OpCall& call) {
  const cpu::RnnArgs a = rnnArgs(call);
  const RnnPath path = pathFromEnvironment(call);
  OpScope scope;
  rnn(call.op().c_str(), a, path, scope.stream());
  scope.finish();
}

}  // namespace

void registerRnnKernels() {
  registerOp("lstm", runRecurrent);
  registerOp("gru", runRecurrent);
  registerOp("rnn", runRecurrent);
}

namespace {
[[maybe_unused]] const bool registered = (registerRnnKernels(), true);
}  // namespace

}  // namespace cr::cuda
