// Layout ops, all on the strided-copy kernel: expand (broadcast size-1
// dimensions), permute (reorder dimensions), concat (along one axis) and
// slice (a strided range along one axis). Any 16- or 32-bit dtype.
#include <string>

#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

namespace {

int elementBytes(const TensorView& t) { return static_cast<int>(dtypeSize(t.dtype)); }

void contiguousStrides(const TensorView& t, int64_t* strides) {
  int64_t s = 1;
  for (int d = t.rank - 1; d >= 0; --d) {
    strides[d] = s;
    s *= t.shape[d];
  }
}

void expectSameDType(const OpCall& call, const char* name, const TensorView& t, const TensorView& y) {
  if (t.dtype != y.dtype) throwType(call.op(), ": ", name, " and y must have the same dtype");
}

}  // namespace

cpu::CopyArgs expandArgs(const OpCall& call) {
  const TensorView& x = call.tensor("x");
  const TensorView& y = call.tensor("y");
  expectSameDType(call, "x", x, y);
  if (x.rank > y.rank) throwRange(call.op(), ": x has more dimensions than the target shape");
  cpu::CopyArgs g;
  g.rank = y.rank;
  int64_t xStrides[kMaxRank];
  contiguousStrides(x, xStrides);
  const int lead = y.rank - x.rank;
  for (int d = 0; d < y.rank; ++d) {
    g.shape[d] = y.shape[d];
    if (d < lead) {
      g.srcStrides[d] = 0;
    } else {
      const int64_t xd = x.shape[d - lead];
      if (xd != y.shape[d] && xd != 1) throwRange(call.op(), ": x ", shapeString(x), " cannot broadcast to ", shapeString(y));
      g.srcStrides[d] = xd == 1 ? 0 : xStrides[d - lead];
    }
  }
  contiguousStrides(y, g.dstStrides);
  g.src = x.data;
  g.dst = y.data;
  g.elementBytes = elementBytes(y);
  return g;
}

void runExpand(const OpCall& call) { cpu::kernels().copy(expandArgs(call)); }

cpu::CopyArgs permuteArgs(const OpCall& call, const int32_t* hostPerm) {
  const TensorView& x = call.tensor("x");
  const TensorView& y = call.tensor("y");
  const TensorView& perm = call.tensor("perm");
  expectSameDType(call, "x", x, y);
  expectDType(call, "perm", perm, {DType::I32});
  expectShape(call, "perm", perm, {x.rank});
  if (y.rank != x.rank) throwRange(call.op(), ": y must have x's rank");
  int64_t xStrides[kMaxRank];
  contiguousStrides(x, xStrides);
  cpu::CopyArgs g;
  g.rank = y.rank;
  bool seen[kMaxRank] = {};
  for (int d = 0; d < x.rank; ++d) {
    const int32_t from = hostPerm[d];
    if (from < 0 || from >= x.rank || seen[from]) throwRange(call.op(), ": perm is not a permutation of 0..", x.rank - 1);
    seen[from] = true;
    if (y.shape[d] != x.shape[from]) throwRange(call.op(), ": y's shape does not match the permuted x");
    g.shape[d] = y.shape[d];
    g.srcStrides[d] = xStrides[from];
  }
  contiguousStrides(y, g.dstStrides);
  g.src = x.data;
  g.dst = y.data;
  g.elementBytes = elementBytes(y);
  return g;
}

void runPermute(const OpCall& call) { cpu::kernels().copy(permuteArgs(call, call.tensor("perm").as<int32_t>())); }

std::vector<cpu::CopyArgs> concatArgs(const OpCall& call) {
  std::vector<cpu::CopyArgs> copies;
  const TensorView& y = call.tensor("y");
  const int axis = static_cast<int>(call.number("axis", 0));
  if (axis < 0 || axis >= y.rank) throwRange(call.op(), ": axis out of range");
  int64_t yStrides[kMaxRank];
  contiguousStrides(y, yStrides);
  int64_t offset = 0;
  for (int i = 0;; ++i) {
    const std::string name = "in" + std::to_string(i);
    const TensorView* t = call.find(name.c_str());
    if (t == nullptr) break;
    expectSameDType(call, name.c_str(), *t, y);
    if (t->rank != y.rank) throwRange(call.op(), ": ", name, " must have rank ", y.rank);
    for (int d = 0; d < y.rank; ++d) {
      if (d != axis && t->shape[d] != y.shape[d]) throwRange(call.op(), ": ", name, " ", shapeString(*t), " does not fit ", shapeString(y));
    }
    if (offset + t->shape[axis] > y.shape[axis]) throwRange(call.op(), ": inputs are longer than y along axis ", axis);
    cpu::CopyArgs g;
    g.rank = y.rank;
    contiguousStrides(*t, g.srcStrides);
    for (int d = 0; d < y.rank; ++d) {
      g.shape[d] = t->shape[d];
      g.dstStrides[d] = yStrides[d];
    }
    g.src = t->data;
    g.dst = static_cast<char*>(y.data) + offset * yStrides[axis] * elementBytes(y);
    g.elementBytes = elementBytes(y);
    if (t->size() > 0) copies.push_back(g);
    offset += t->shape[axis];
  }
  if (offset != y.shape[axis]) throwRange(call.op(), ": inputs do not fill y along axis ", axis);
  return copies;
}

void runConcat(const OpCall& call) {
  for (const cpu::CopyArgs& g : concatArgs(call)) cpu::kernels().copy(g);
}

cpu::CopyArgs sliceArgs(const OpCall& call, bool* empty) {
  const TensorView& x = call.tensor("x");
  const TensorView& y = call.tensor("y");
  expectSameDType(call, "x", x, y);
  const int axis = static_cast<int>(call.number("axis", 0));
  const int64_t start = static_cast<int64_t>(call.number("start", 0));
  const int64_t step = static_cast<int64_t>(call.number("step", 1));
  if (axis < 0 || axis >= x.rank || y.rank != x.rank) throwRange(call.op(), ": axis out of range");
  if (step < 1 || start < 0 || (y.shape[axis] > 0 && start + (y.shape[axis] - 1) * step >= x.shape[axis])) {
    throwRange(call.op(), ": the slice runs past x's dimension ", axis);
  }
  for (int d = 0; d < x.rank; ++d) {
    if (d != axis && x.shape[d] != y.shape[d]) throwRange(call.op(), ": y must match x outside the sliced axis");
  }
  cpu::CopyArgs g;
  g.rank = x.rank;
  contiguousStrides(x, g.srcStrides);
  contiguousStrides(y, g.dstStrides);
  for (int d = 0; d < x.rank; ++d) g.shape[d] = y.shape[d];
  g.src = static_cast<const char*>(x.data) + start * g.srcStrides[axis] * elementBytes(x);
  g.srcStrides[axis] *= step;
  g.dst = y.data;
  g.elementBytes = elementBytes(y);
  *empty = y.size() == 0;
  return g;
}

void runSlice(const OpCall& call) {
  bool empty = false;
  const cpu::CopyArgs g = sliceArgs(call, &empty);
  if (!empty) cpu::kernels().copy(g);
}

}  // namespace cr
