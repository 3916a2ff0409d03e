// fftConv: long causal depthwise convolution, y[b, t] = Σ_{s≤t} k[s]·u[b, t−s] + D·u[b, t]
// per channel (u, y [b, L, c], k [c, Lk], D [c]); kernel in native/cpu/fft_conv.cc.
// ssmKernel: the convolution kernel K [c, L] of a diagonal complex SSM (S4D);
// kernel in native/cpu/ssm_kernel.cc.
#include <cmath>

#include "../cpu/kernels.h"
#include "../core/fft_tables.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

cpu::FftConvArgs fftConvArgs(const OpCall& call) {
  const TensorView& u = call.tensor("u");
  const TensorView& k = call.tensor("k");
  const TensorView& y = call.tensor("y");
  expectDType(call, "u", u, {DType::F32});
  expectDType(call, "k", k, {DType::F32});
  expectDType(call, "y", y, {DType::F32});
  expectRank(call, "u", u, 3);
  expectRank(call, "k", k, 2);
  const int64_t batch = u.shape[0], L = u.shape[1], channels = u.shape[2];
  const int64_t Lk = k.shape[1];
  if (k.shape[0] != channels) throwRange(call.op(), ": k must have shape [c=", channels, ", Lk], got ", shapeString(k));
  if (Lk < 1 || Lk > L) throwRange(call.op(), ": k's length Lk must be in [1, L=", L, "], got ", Lk);
  expectShape(call, "y", y, {batch, L, channels});
  cpu::FftConvArgs g;
  g.batch = batch;
  g.L = L;
  g.channels = channels;
  g.Lk = Lk;
  g.u = u.as<float>();
  g.k = k.as<float>();
  g.y = y.as<float>();
  if (const TensorView* D = call.find("D")) {
    expectDType(call, "D", *D, {DType::F32});
    expectShape(call, "D", *D, {channels});
    g.D = D->as<float>();
  }
  const std::string method = call.text("method", "auto");
  if (method == "auto") {
    g.method = cpu::ConvMethod::Auto;
  } else if (method == "fft") {
    g.method = cpu::ConvMethod::Fft;
  } else if (method == "direct") {
    g.method = cpu::ConvMethod::Direct;
  } else {
    throwRange(call.op(), ": method must be 'auto', 'fft' or 'direct', got '", method, "'");
  }
  if (g.method == cpu::ConvMethod::Fft && L + Lk - 1 > (int64_t(1) << (fft::kMaxLog2 + 1))) {
    throwRange(call.op(), ": method 'fft' supports L + Lk − 1 ≤ 2^", fft::kMaxLog2 + 1, ", got ", L + Lk - 1);
  }
  return g;
}

void runFftConv(const OpCall& call) { cpu::kernels().fftConv(fftConvArgs(call)); }

cpu::SsmKernelArgs ssmKernelArgs(const OpCall& call) {
  const TensorView& A = call.tensor("A");
  const TensorView& B = call.tensor("B");
  const TensorView& C = call.tensor("C");
  const TensorView& delta = call.tensor("delta");
  const TensorView& k = call.tensor("k");
  for (const char* name : {"A", "B", "C", "delta", "k"}) expectDType(call, name, call.tensor(name), {DType::F32});
  expectRank(call, "A", A, 3);
  const int64_t channels = A.shape[0], dState = A.shape[1];
  if (A.shape[2] != 2) throwRange(call.op(), ": A must have shape [c, n, 2] (re, im), got ", shapeString(A));
  expectShape(call, "B", B, {channels, dState, 2});
  expectShape(call, "C", C, {channels, dState, 2});
  expectShape(call, "delta", delta, {channels});
  const double length = call.number("length", -1);
  if (!(length >= 1) || length != std::floor(length) || length > 9.0e15) {
    throwRange(call.op(), ": length must be an integer ≥ 1, got ", length);
  }
  const int64_t L = static_cast<int64_t>(length);
  expectShape(call, "k", k, {channels, L});
  const std::string discretization = call.text("discretization", "zoh");
  if (discretization != "zoh" && discretization != "bilinear") {
    throwRange(call.op(), ": discretization must be 'zoh' or 'bilinear', got '", discretization, "'");
  }
  cpu::SsmKernelArgs g;
  g.channels = channels;
  g.dState = dState;
  g.L = L;
  g.A = A.as<float>();
  g.B = B.as<float>();
  g.C = C.as<float>();
  g.delta = delta.as<float>();
  g.bilinear = discretization == "bilinear";
  g.k = k.as<float>();
  return g;
}

void runSsmKernel(const OpCall& call) { cpu::kernels().ssmKernel(ssmKernelArgs(call)); }

}  // namespace cr
