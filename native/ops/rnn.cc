// lstm, gru, rnn: torch.nn.LSTM / GRU / RNN (batch-first, one layer, one
// direction) over x [b, L, in] with weightIH [G·H, in], weightHH [G·H, H],
// optional biases [G·H] and initial states [b, H]; outputs y [b, L, H],
// h [b, H] and (LSTM) c [b, H]. Kernel: native/cpu/rnn.cc.
#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

namespace {

cpu::RnnCell cellOf(const OpCall& call) {
  if (call.op() == "lstm") return cpu::RnnCell::Lstm;
  if (call.op() == "gru") return cpu::RnnCell::Gru;
  const std::string nonlinearity = call.text("nonlinearity", "tanh");
  if (nonlinearity == "tanh") return cpu::RnnCell::RnnTanh;
  if (nonlinearity == "relu") return cpu::RnnCell::RnnRelu;
  throwRange(call.op(), ": nonlinearity must be 'tanh' or 'relu', got '", nonlinearity, "'");
}

}  // namespace

cpu::RnnArgs rnnArgs(const OpCall& call) {
  const cpu::RnnCell cell = cellOf(call);
  const int64_t G = cell == cpu::RnnCell::Lstm ? 4 : cell == cpu::RnnCell::Gru ? 3 : 1;
  const TensorView& x = call.tensor("x");
  const TensorView& weightIH = call.tensor("weightIH");
  const TensorView& weightHH = call.tensor("weightHH");
  const TensorView& y = call.tensor("y");
  const TensorView& h = call.tensor("h");
  expectDType(call, "x", x, {DType::F32});
  expectDType(call, "weightIH", weightIH, {DType::F32, DType::BF16, DType::F16});
  expectDType(call, "weightHH", weightHH, {DType::F32, DType::BF16, DType::F16});
  expectRank(call, "x", x, 3);
  expectRank(call, "weightHH", weightHH, 2);
  const int64_t B = x.shape[0], L = x.shape[1], in = x.shape[2], H = weightHH.shape[1];
  if (B < 1 || L < 1 || in < 1 || H < 1) {
    throwRange(call.op(), ": x ", shapeString(x), " and weightHH ", shapeString(weightHH), " must have no empty dimension");
  }
  expectShape(call, "weightHH", weightHH, {G * H, H});
  expectShape(call, "weightIH", weightIH, {G * H, in});
  const auto optional = [&](const char* name, std::initializer_list<int64_t> shape) -> const float* {
    const TensorView* t = call.find(name);
    if (t == nullptr) return nullptr;
    expectDType(call, name, *t, {DType::F32});
    expectShape(call, name, *t, shape);
    return t->as<float>();
  };
  cpu::RnnArgs a;
  a.cell = cell;
  a.batch = B;
  a.seqLen = L;
  a.inputSize = in;
  a.hiddenSize = H;
  a.x = x.as<float>();
  a.weightIH = weightIH.data;
  a.weightIHType = weightIH.dtype;
  a.weightHH = weightHH.data;
  a.weightHHType = weightHH.dtype;
  a.biasIH = optional("biasIH", {G * H});
  a.biasHH = optional("biasHH", {G * H});
  a.h0 = optional("h0", {B, H});
  expectDType(call, "y", y, {DType::F32});
  expectShape(call, "y", y, {B, L, H});
  expectDType(call, "h", h, {DType::F32});
  expectShape(call, "h", h, {B, H});
  a.y = y.as<float>();
  a.h = h.as<float>();
  if (cell == cpu::RnnCell::Lstm) {
    a.c0 = optional("c0", {B, H});
    const TensorView& c = call.tensor("c");
    expectDType(call, "c", c, {DType::F32});
    expectShape(call, "c", c, {B, H});
    a.c = c.as<float>();
  } else if (call.find("c0") != nullptr) {
    throwType(call.op(), ": c0 is an LSTM state; ", call.op(), " takes h0 only");
  }
  return a;
}

void runLstm(const OpCall& call) { cpu::kernels().rnn(rnnArgs(call)); }
void runGru(const OpCall& call) { cpu::kernels().rnn(rnnArgs(call)); }
void runRnn(const OpCall& call) { cpu::kernels().rnn(rnnArgs(call)); }

}  // namespace cr
