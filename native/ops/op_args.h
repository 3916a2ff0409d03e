// The checked kernel arguments of the ops that have more than one backend:
// each builder re-checks everything the kernel's memory accesses depend on and
// fills the CPU kernel's Args struct with the call's pointers, host or device
// (the CPU op hands it to cpu::kernels(), the CUDA op to native/cuda).
#pragma once
#include <vector>

#include "../cpu/kernels.h"
#include "op_call.h"

namespace cr {

cpu::GemmArgs matmulArgs(const OpCall& call);         // ops/matmul.cc
cpu::GemmArgs linearArgs(const OpCall& call);         // ops/matmul.cc
cpu::BatchedGemmArgs bmmArgs(const OpCall& call);     // ops/matmul.cc
// kvLengths' values are checked here when they are in host memory; the CUDA
// op checks a host copy of them itself.
cpu::AttentionArgs attentionArgs(const OpCall& call);          // ops/attention.cc
cpu::SelectiveScanArgs selectiveScanArgs(const OpCall& call);  // ops/selective_scan.cc
cpu::CausalConv1dArgs causalConv1dArgs(const OpCall& call);    // ops/causal_conv1d.cc
cpu::LinearAttentionArgs linearAttentionArgs(const OpCall& call);  // ops/linear_attention.cc
cpu::MlstmArgs mlstmArgs(const OpCall& call);                      // ops/linear_attention.cc
cpu::FftConvArgs fftConvArgs(const OpCall& call);              // ops/fft_conv.cc
// A's real parts (≤ 0) and delta's values (finite, > 0) are checked by the
// TypeScript wrapper on the host and by the CUDA op on a host copy; not here.
cpu::SsmKernelArgs ssmKernelArgs(const OpCall& call);          // ops/fft_conv.cc
cpu::DiagonalScanArgs diagonalScanArgs(const OpCall& call);    // ops/diagonal_scan.cc
cpu::BlockScanArgs blockScanArgs(const OpCall& call);          // ops/block_scan.cc
// lstm, gru and rnn: the cell comes from the op's name (and rnn's nonlinearity).
cpu::RnnArgs rnnArgs(const OpCall& call);                      // ops/rnn.cc

// The small ops. Where a check reads tensor VALUES (elementwise's program,
// permute's perm), the builder takes a host copy of them: the CPU op passes
// the tensor's own data, the CUDA op a copy it read back (a few bytes).
cpu::ElementwiseArgs elementwiseArgs(const OpCall& call, const int32_t* hostProgram);  // ops/elementwise.cc
cpu::NormArgs normArgs(const OpCall& call, bool rms);                                 // ops/norm.cc
cpu::SoftmaxArgs softmaxArgs(const OpCall& call);                                     // ops/softmax.cc
cpu::RopeArgs ropeArgs(const OpCall& call);                                           // ops/rope.cc
// Ids are range-checked here when they are in host memory; the CUDA kernel
// checks them on the device and the CUDA op turns a bad one into the same error.
cpu::EmbeddingArgs embeddingArgs(const OpCall& call);                                 // ops/embedding.cc
cpu::CopyArgs expandArgs(const OpCall& call);                                         // ops/layout.cc
cpu::CopyArgs permuteArgs(const OpCall& call, const int32_t* hostPerm);               // ops/layout.cc
// One copy per non-empty input, in order.
std::vector<cpu::CopyArgs> concatArgs(const OpCall& call);                            // ops/layout.cc
// A slice of no elements has nothing to copy: `empty` says so.
cpu::CopyArgs sliceArgs(const OpCall& call, bool* empty);                             // ops/layout.cc
cpu::MoeArgs moeArgs(const OpCall& call);                                             // ops/moe.cc

}  // namespace cr
