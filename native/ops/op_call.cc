#include "op_call.h"

#include <cstring>
#include <sstream>

namespace cr {

const TensorView* OpCall::find(const char* name) const {
  for (const auto& entry : tensors_) {
    if (entry.first == name) return &entry.second;
  }
  return nullptr;
}

const TensorView& OpCall::tensor(const char* name) const {
  const TensorView* t = find(name);
  if (t == nullptr) throwType(op_, ": missing tensor argument '", name, "'");
  return *t;
}

namespace {
std::string placeName(int device) { return device == TensorView::kHost ? "cpu" : "cuda"; }
}  // namespace

int OpCall::device() const {
  if (tensors_.empty()) return TensorView::kHost;
  const auto& first = tensors_.front();
  for (const auto& entry : tensors_) {
    if (entry.second.device != first.second.device) {
      throwType(op_, ": ", first.first, " is on ", placeName(first.second.device), " but ", entry.first, " is on ",
                placeName(entry.second.device), "; move both with toDevice/toHost");
    }
  }
  return first.second.device;
}

const Attr* OpCall::findAttr(const char* name) const {
  for (const auto& entry : attrs_) {
    if (entry.first == name) return &entry.second;
  }
  return nullptr;
}

double OpCall::number(const char* name, double fallback) const {
  const Attr* a = findAttr(name);
  if (a == nullptr) return fallback;
  if (a->kind != Attr::Kind::Number) throwType(op_, ": option '", name, "' must be a number");
  return a->number;
}

bool OpCall::flag(const char* name, bool fallback) const {
  const Attr* a = findAttr(name);
  if (a == nullptr) return fallback;
  if (a->kind != Attr::Kind::Bool) throwType(op_, ": option '", name, "' must be a boolean");
  return a->flag;
}

std::string OpCall::text(const char* name, const std::string& fallback) const {
  const Attr* a = findAttr(name);
  if (a == nullptr) return fallback;
  if (a->kind != Attr::Kind::String) throwType(op_, ": option '", name, "' must be a string");
  return a->text;
}

std::string shapeString(const TensorView& t) {
  std::ostringstream out;
  out << '[';
  for (int i = 0; i < t.rank; ++i) out << (i ? ", " : "") << t.shape[i];
  out << ']';
  return out.str();
}

void expectDType(const OpCall& call, const char* name, const TensorView& t, std::initializer_list<DType> allowed) {
  for (DType d : allowed) {
    if (t.dtype == d) return;
  }
  std::string names;
  for (DType d : allowed) names += (names.empty() ? "" : " or ") + std::string(dtypeName(d));
  throwType(call.op(), ": ", name, " must be ", names, ", got ", dtypeName(t.dtype));
}

void expectRank(const OpCall& call, const char* name, const TensorView& t, int rank) {
  if (t.rank != rank) throwRange(call.op(), ": ", name, " must have rank ", rank, ", got shape ", shapeString(t));
}

void expectRankAtLeast(const OpCall& call, const char* name, const TensorView& t, int rank) {
  if (t.rank < rank) throwRange(call.op(), ": ", name, " must have rank ≥ ", rank, ", got shape ", shapeString(t));
}

void expectShape(const OpCall& call, const char* name, const TensorView& t, std::initializer_list<int64_t> shape) {
  bool same = t.rank == static_cast<int>(shape.size());
  int i = 0;
  for (int64_t d : shape) same = same && t.shape[i++] == d;
  if (!same) {
    std::ostringstream want;
    want << '[';
    i = 0;
    for (int64_t d : shape) want << (i++ ? ", " : "") << d;
    want << ']';
    throwRange(call.op(), ": ", name, " must have shape ", want.str(), ", got ", shapeString(t));
  }
}

}  // namespace cr
