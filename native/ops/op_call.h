// What an op receives: named tensors (inputs and the outputs the caller
// allocated) and named scalar attributes. Shapes were checked in TypeScript
// already; ops check again what their memory safety depends on.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "../core/error.h"
#include "../core/tensor_view.h"

namespace cr {

struct Attr {
  enum class Kind { Number, Bool, String } kind = Kind::Number;
  double number = 0;
  bool flag = false;
  std::string text;
};

class OpCall {
 public:
  explicit OpCall(std::string op) : op_(std::move(op)) {}
  const std::string& op() const { return op_; }

  void addTensor(std::string name, const TensorView& view) { tensors_.emplace_back(std::move(name), view); }
  void addAttr(std::string name, Attr attr) { attrs_.emplace_back(std::move(name), std::move(attr)); }

  const TensorView* find(const char* name) const;  // nullptr when absent
  const TensorView& tensor(const char* name) const;  // throws when absent

  // Where every tensor of the call lives (TensorView::kHost or a CUDA device);
  // throws a TypeError naming two tensors when they live in different places.
  int device() const;

  double number(const char* name, double fallback) const;
  bool flag(const char* name, bool fallback) const;
  std::string text(const char* name, const std::string& fallback) const;

 private:
  std::string op_;
  std::vector<std::pair<std::string, TensorView>> tensors_;
  std::vector<std::pair<std::string, Attr>> attrs_;
  const Attr* findAttr(const char* name) const;
};

// Checks used by ops before touching memory. Messages name the op and argument.
void expectDType(const OpCall& call, const char* name, const TensorView& t, std::initializer_list<DType> allowed);
void expectRank(const OpCall& call, const char* name, const TensorView& t, int rank);
void expectRankAtLeast(const OpCall& call, const char* name, const TensorView& t, int rank);
void expectShape(const OpCall& call, const char* name, const TensorView& t, std::initializer_list<int64_t> shape);
std::string shapeString(const TensorView& t);

}  // namespace cr
