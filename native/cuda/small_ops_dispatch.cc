// The CUDA dispatch of the small ops (native/cuda/{elementwise,norm,softmax,rope,embedding,
// layout,moe}.cu), registered from a static initialiser like sequence_dispatch.cc: listing
// this file in native/sources.json's cuda group with those kernels is all it takes.
// Checks that read values — elementwise's program, permute's perm — run on a host copy read
// back here (a few bytes); embedding's ids are checked on the device (embedding.cu).
#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "../ops/op_args.h"
#include "kernels.cuh"
#include "launch.h"
#include "runtime.h"
#include "small_ops.cuh"

namespace cr::cuda {

namespace {

// A host copy of a small int32 tensor on the device.
std::vector<int32_t> hostInts(const TensorView& t, cudaStream_t stream) {
  std::vector<int32_t> out(static_cast<size_t>(t.size()));
  if (!out.empty()) {
    CR_CUDA_CHECK(cudaMemcpyAsync(out.data(), t.data, out.size() * sizeof(int32_t), cudaMemcpyDeviceToHost, stream));
    CR_CUDA_CHECK(cudaStreamSynchronize(stream));
  }
  return out;
}

// "1,-2,3" → {1, -2, 3}: strict, every value an int32.
std::vector<int32_t> parseInts(const OpCall& call, const char* name, const std::string& text) {
  std::vector<int32_t> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find(',', i);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(i, end - i);
    bool ok = !item.empty() && item.size() <= 11;
    for (size_t k = 0; ok && k < item.size(); ++k) ok = (item[k] >= '0' && item[k] <= '9') || (k == 0 && item[k] == '-' && item.size() > 1);
    const long long v = ok ? std::stoll(item) : 0;
    if (!ok || v < INT32_MIN || v > INT32_MAX) throwRange(call.op(), ": ", name, " must be comma-separated int32 values, got '", item, "'");
    out.push_back(static_cast<int32_t>(v));
    i = end + 1;
  }
  return out;
}

// The program comes as text when the TypeScript op made the call (programCode, constantBits): it is checked here
// and, folded, handed to the kernel by value, so the op never waits for the stream (inside a batch the kernels of
// the earlier ops may still run). Otherwise, or when it is too long to inline, a host copy of the device program is
// read back and checked, and the kernel reads the device tensors.
void runElementwise(const OpCall& call) {
  OpScope scope;
  const TensorView& program = call.tensor("program");
  const TensorView& constants = call.tensor("constants");
  expectDType(call, "program", program, {DType::I32});
  const std::string code = call.text("programCode", "");
  if (!code.empty() && program.size() <= 2 * kInlineInstructions) {
    const std::vector<int32_t> hostProgram = parseInts(call, "programCode", code);
    const std::vector<int32_t> constantBits = parseInts(call, "constantBits", call.text("constantBits", ""));
    if (static_cast<int64_t>(hostProgram.size()) != program.size() || static_cast<int64_t>(constantBits.size()) != constants.size()) {
      throwRange(call.op(), ": programCode/constantBits hold ", hostProgram.size(), "/", constantBits.size(),
                 " values but the program/constants tensors ", program.size(), "/", constants.size());
    }
    const cpu::ElementwiseArgs g = elementwiseArgs(call, hostProgram.data());
    std::vector<int32_t> folded(hostProgram);
    for (int pc = 0; pc < g.numInstructions; ++pc) {
      if (static_cast<cpu::EwOp>(folded[2 * pc]) == cpu::EwOp::Const) folded[2 * pc + 1] = constantBits[folded[2 * pc + 1]];
    }
    elementwise(g, folded.data(), scope.stream());
    scope.finish();
    return;
  }
  const std::vector<int32_t> hostProgram = hostInts(program, scope.stream());
  const cpu::ElementwiseArgs g = elementwiseArgs(call, hostProgram.data());
  elementwise(g, nullptr, scope.stream());
  scope.finish();
}

void runRmsNorm(const OpCall& call) {
  const cpu::NormArgs g = normArgs(call, true);
  OpScope scope;
  norm(g, scope.stream());
  scope.finish();
}

void runLayerNorm(const OpCall& call) {
  const cpu::NormArgs g = normArgs(call, false);
  OpScope scope;
  norm(g, scope.stream());
  scope.finish();
}

void runSoftmax(const OpCall& call) {
  const cpu::SoftmaxArgs g = softmaxArgs(call);
  OpScope scope;
  softmax(g, scope.stream());
  scope.finish();
}

void runRope(const OpCall& call) {
  const cpu::RopeArgs g = ropeArgs(call);
  OpScope scope;
  rope(g, scope.stream());
  scope.finish();
}

void runEmbedding(const OpCall& call) {
  const cpu::EmbeddingArgs g = embeddingArgs(call);
  OpScope scope;
  auto* firstBad = static_cast<unsigned long long*>(scratch(sizeof(unsigned long long), scope.stream()));
  embedding(g, firstBad, scope.stream());
  unsigned long long bad = 0;
  CR_CUDA_CHECK(cudaMemcpyAsync(&bad, firstBad, sizeof(bad), cudaMemcpyDeviceToHost, scope.stream()));
  int32_t id = 0;
  if (bad != ~0ull) {
    CR_CUDA_CHECK(cudaStreamSynchronize(scope.stream()));
    CR_CUDA_CHECK(cudaMemcpyAsync(&id, g.ids + bad, sizeof(id), cudaMemcpyDeviceToHost, scope.stream()));
  }
  scope.finish();
  if (bad != ~0ull) throwRange(call.op(), ": ids[", bad, "] = ", id, " is outside [0, ", g.vocab, ")");
}

void runCopy(const cpu::CopyArgs& g) {
  OpScope scope;
  copy(g, scope.stream());
  scope.finish();
}

void runExpand(const OpCall& call) { runCopy(expandArgs(call)); }

void runPermute(const OpCall& call) {
  OpScope scope;
  const TensorView& perm = call.tensor("perm");
  expectDType(call, "perm", perm, {DType::I32});
  const TensorView& x = call.tensor("x");
  expectShape(call, "perm", perm, {x.rank});
  const std::vector<int32_t> hostPerm = hostInts(perm, scope.stream());
  copy(permuteArgs(call, hostPerm.data()), scope.stream());
  scope.finish();
}

void runConcat(const OpCall& call) {
  const std::vector<cpu::CopyArgs> copies = concatArgs(call);
  OpScope scope;
  for (const cpu::CopyArgs& g : copies) copy(g, scope.stream());
  scope.finish();
}

void runSlice(const OpCall& call) {
  bool empty = false;
  const cpu::CopyArgs g = sliceArgs(call, &empty);
  if (empty) return;
  runCopy(g);
}

void runMoe(const OpCall& call) {
  const cpu::MoeArgs g = moeArgs(call);
  OpScope scope;
  moe(g, scope.stream());
  scope.finish();
}

}  // namespace

void registerSmallOpKernels() {
  registerOp("elementwise", runElementwise);
  registerOp("rmsNorm", runRmsNorm);
  registerOp("layerNorm", runLayerNorm);
  registerOp("softmax", runSoftmax);
  registerOp("rope", runRope);
  registerOp("embedding", runEmbedding);
  registerOp("expand", runExpand);
  registerOp("permute", runPermute);
  registerOp("concat", runConcat);
  registerOp("slice", runSlice);
  registerOp("moe", runMoe);
}

namespace {
[[maybe_unused]] const bool registered = (registerSmallOpKernels(), true);
}  // namespace

}  // namespace cr::cuda
