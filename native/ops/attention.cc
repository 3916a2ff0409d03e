// attention: softmax attention over q [b, Tq, H, D], k/v [b, Tk, Hkv, D]
// (kernel: native/cpu/attention.cc). Re-checks every size and length the
// kernel's memory accesses depend on.
#include <cmath>

#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

namespace {
// Positions are compared as float32 inside the kernel: exact below 2^24.
constexpr int64_t kMaxSequence = int64_t(1) << 24;
}  // namespace

cpu::AttentionArgs attentionArgs(const OpCall& call) {
  const TensorView& q = call.tensor("q");
  const TensorView& k = call.tensor("k");
  const TensorView& v = call.tensor("v");
  const TensorView& o = call.tensor("o");
  for (const auto& [name, t] : {std::pair<const char*, const TensorView*>{"q", &q}, {"k", &k}, {"v", &v}, {"o", &o}}) {
    expectDType(call, name, *t, {DType::F32});
    expectRank(call, name, *t, 4);
  }
  cpu::AttentionArgs g;
  g.batch = q.shape[0];
  g.Tq = q.shape[1];
  g.heads = q.shape[2];
  g.D = q.shape[3];
  g.Tk = k.shape[1];
  g.kvHeads = k.shape[2];
  if (g.batch < 1 || g.Tq < 1 || g.heads < 1 || g.D < 1 || g.Tk < 1 || g.kvHeads < 1) {
    throwRange(call.op(), ": empty dimension in q ", shapeString(q), " or k ", shapeString(k));
  }
  if (g.heads % g.kvHeads != 0) throwRange(call.op(), ": kv heads ", g.kvHeads, " must divide query heads ", g.heads);
  expectShape(call, "k", k, {g.batch, g.Tk, g.kvHeads, g.D});
  expectShape(call, "v", v, {g.batch, g.Tk, g.kvHeads, g.D});
  expectShape(call, "o", o, {g.batch, g.Tq, g.heads, g.D});
  if (g.Tq > kMaxSequence || g.Tk > kMaxSequence) throwRange(call.op(), ": sequence lengths above 2^24 are not supported");
  if (const TensorView* lengths = call.find("kvLengths")) {
    expectDType(call, "kvLengths", *lengths, {DType::I32});
    expectShape(call, "kvLengths", *lengths, {g.batch});
    const int32_t* data = lengths->as<int32_t>();
    for (int64_t b = 0; b < g.batch && !lengths->onDevice(); ++b) {
      if (data[b] < 0 || data[b] > g.Tk) throwRange(call.op(), ": kvLengths[", b, "] = ", data[b], " is outside [0, ", g.Tk, "]");
    }
    g.kvLengths = data;
  }
  g.causal = call.flag("causal", false);
  const double window = call.number("window", 0);
  if (!(window >= 0) || window != std::floor(window)) throwRange(call.op(), ": window must be a positive integer");
  if (window > 0 && !g.causal) throwRange(call.op(), ": window needs causal: true");
  // A window as long as the keys masks nothing.
  g.window = window >= static_cast<double>(g.Tk) ? 0 : static_cast<int64_t>(window);
  g.scale = static_cast<float>(call.number("scale", 1.0 / std::sqrt(static_cast<double>(g.D))));
  g.softcap = static_cast<float>(call.number("softcap", 0));
  if (!std::isfinite(g.scale)) throwRange(call.op(), ": scale must be finite");
  if (!(g.softcap >= 0) || !std::isfinite(g.softcap)) throwRange(call.op(), ": softcap must be a finite number ≥ 0");
  g.q = q.as<float>();
  g.k = k.as<float>();
  g.v = v.as<float>();
  g.o = o.as<float>();
  return g;
}

void runAttention(const OpCall& call) { cpu::kernels().attention(attentionArgs(call)); }

}  // namespace cr
