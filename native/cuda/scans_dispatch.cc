// The CUDA dispatch of the linear-recurrence scans whose kernels live in
// native/cuda/{diagonal_scan,block_scan}.cu, registered from a static
// initialiser like sequence_dispatch.cc: listing this file with them in
// native/sources.json's cuda group is what enables the ops. Both ops check only
// shapes and dtypes (the shared builders in native/ops), never tensor values,
// so the checks run unchanged on device pointers.
#include "../ops/op_args.h"
#include "launch.h"
#include "runtime.h"
#include "scans.cuh"

namespace cr::cuda {

namespace {

void runDiagonalScan(const OpCall& call) {
  const cpu::DiagonalScanArgs g = diagonalScanArgs(call);
  OpScope scope;
  diagonalScan(g, scope.stream());
  scope.finish();
}

void runBlockScan(const OpCall& call) {
  const cpu::BlockScanArgs g = blockScanArgs(call);
  OpScope scope;
  blockScan(g, scope.stream());
  scope.finish();
}

}  // namespace

void registerScanKernels() {
  registerOp("diagonalScan", runDiagonalScan);
  registerOp("blockScan", runBlockScan);
}

namespace {
[[maybe_unused]] const bool registered = (registerScanKernels(), true);
}  // namespace

}  // namespace cr::cuda
