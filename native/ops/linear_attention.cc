// linearAttention (chunked gated linear attention) and mlstm (xLSTM's mLSTM
// cell): re-checks every shape the kernels index with, then runs them.
#include <cmath>
#include <string>

#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

namespace {

// Optional float32 tensor of an exact shape, or nullptr when absent.
const float* optionalInput(const OpCall& call, const char* name, std::initializer_list<int64_t> shape) {
  const TensorView* t = call.find(name);
  if (t == nullptr) return nullptr;
  expectDType(call, name, *t, {DType::F32});
  expectShape(call, name, *t, shape);
  return t->as<float>();
}

float* optionalOutput(const OpCall& call, const char* name, std::initializer_list<int64_t> shape) {
  return const_cast<float*>(optionalInput(call, name, shape));
}

struct Dims {
  int64_t batch, T, heads, K, V;
};

// q, k [b, T, h, K] and v [b, T, h, V], all non-empty.
Dims checkQkv(const OpCall& call) {
  const TensorView& q = call.tensor("q");
  const TensorView& k = call.tensor("k");
  const TensorView& v = call.tensor("v");
  for (const char* name : {"q", "k", "v"}) {
    const TensorView& t = call.tensor(name);
    expectDType(call, name, t, {DType::F32});
    expectRank(call, name, t, 4);
  }
  Dims d{q.shape[0], q.shape[1], q.shape[2], q.shape[3], v.shape[3]};
  if (d.batch < 1 || d.T < 1 || d.heads < 1 || d.K < 1 || d.V < 1) {
    throwRange(call.op(), ": q and v must have no empty dimension, got q ", shapeString(q), " and v ", shapeString(v));
  }
  expectShape(call, "k", k, {d.batch, d.T, d.heads, d.K});
  expectShape(call, "v", v, {d.batch, d.T, d.heads, d.V});
  return d;
}

int64_t chunkSizeOf(const OpCall& call) {
  const double chunkSize = call.number("chunkSize", 32);  // lib/ops/linear_attention.ts: DEFAULT_CHUNK_SIZE
  // At most 1024 (lib/ops/linear_attention.ts: MAX_CHUNK_SIZE): each thread's
  // scratch arena holds a [chunkSize, chunkSize] score block and keeps it.
  if (!(chunkSize >= 1) || chunkSize != std::floor(chunkSize) || chunkSize > 1024) {
    throwRange(call.op(), ": chunkSize must be an integer in [1, 1024], got ", chunkSize);
  }
  return static_cast<int64_t>(chunkSize);
}

int modeOf(const OpCall& call) {
  const std::string mode = call.text("mode", "auto");
  if (mode == "auto") return 0;
  if (mode == "chunked") return 1;
  if (mode == "recurrent") return 2;
  throwRange(call.op(), ": mode must be 'auto', 'chunked' or 'recurrent', got '", mode, "'");
}

float scaleOf(const OpCall& call, int64_t K) {
  const double scale = call.number("scale", 1.0 / std::sqrt(static_cast<double>(K)));
  if (!std::isfinite(scale)) throwRange(call.op(), ": scale must be a finite number, got ", scale);
  return static_cast<float>(scale);
}

}  // namespace

cpu::LinearAttentionArgs linearAttentionArgs(const OpCall& call) {
  const Dims d = checkQkv(call);
  cpu::LinearAttentionArgs a;
  a.batch = d.batch;
  a.T = d.T;
  a.heads = d.heads;
  a.K = d.K;
  a.V = d.V;
  a.q = call.tensor("q").as<float>();
  a.k = call.tensor("k").as<float>();
  a.v = call.tensor("v").as<float>();
  a.g = optionalInput(call, "g", {d.batch, d.T, d.heads});
  a.gk = optionalInput(call, "gk", {d.batch, d.T, d.heads, d.K});
  a.initialState = optionalInput(call, "initialState", {d.batch, d.heads, d.K, d.V});
  a.o = optionalOutput(call, "o", {d.batch, d.T, d.heads, d.V});
  if (a.o == nullptr) throwRange(call.op(), ": missing output o");
  a.finalState = optionalOutput(call, "finalState", {d.batch, d.heads, d.K, d.V});
  a.scale = scaleOf(call, d.K);
  a.chunkSize = chunkSizeOf(call);
  a.mode = modeOf(call);
  return a;
}

cpu::MlstmArgs mlstmArgs(const OpCall& call) {
  const Dims d = checkQkv(call);
  cpu::MlstmArgs a;
  a.batch = d.batch;
  a.T = d.T;
  a.heads = d.heads;
  a.K = d.K;
  a.V = d.V;
  a.q = call.tensor("q").as<float>();
  a.k = call.tensor("k").as<float>();
  a.v = call.tensor("v").as<float>();
  a.inputGate = optionalInput(call, "i", {d.batch, d.T, d.heads});
  a.forgetGate = optionalInput(call, "f", {d.batch, d.T, d.heads});
  if (a.inputGate == nullptr || a.forgetGate == nullptr) throwRange(call.op(), ": the gates i and f are required");
  a.initialC = optionalInput(call, "initialC", {d.batch, d.heads, d.K, d.V});
  a.initialN = optionalInput(call, "initialN", {d.batch, d.heads, d.K});
  a.initialM = optionalInput(call, "initialM", {d.batch, d.heads});
  if ((a.initialC != nullptr) != (a.initialN != nullptr) || (a.initialC != nullptr) != (a.initialM != nullptr)) {
    throwRange(call.op(), ": initialC, initialN and initialM must be given together");
  }
  a.h = optionalOutput(call, "h", {d.batch, d.T, d.heads, d.V});
  if (a.h == nullptr) throwRange(call.op(), ": missing output h");
  a.finalC = optionalOutput(call, "finalC", {d.batch, d.heads, d.K, d.V});
  a.finalN = optionalOutput(call, "finalN", {d.batch, d.heads, d.K});
  a.finalM = optionalOutput(call, "finalM", {d.batch, d.heads});
  a.scale = scaleOf(call, d.K);
  const double eps = call.number("eps", 1e-6);
  if (!(eps >= 0) || !std::isfinite(eps)) throwRange(call.op(), ": eps must be a finite number ≥ 0, got ", eps);
  a.eps = static_cast<float>(eps);
  a.chunkSize = chunkSizeOf(call);
  a.mode = modeOf(call);
  return a;
}

void runLinearAttention(const OpCall& call) { cpu::kernels().linearAttention(linearAttentionArgs(call)); }

void runMlstm(const OpCall& call) { cpu::kernels().mlstm(mlstmArgs(call)); }

}  // namespace cr
