// Declarations of every op in the table (one .cc per op family).
#pragma once
#include "op_call.h"

namespace cr {

void runMatmul(const OpCall& call);  // ops/matmul.cc
void runLinear(const OpCall& call);  // ops/matmul.cc
void runElementwise(const OpCall& call);  // ops/elementwise.cc
void runRmsNorm(const OpCall& call);      // ops/norm.cc
void runLayerNorm(const OpCall& call);    // ops/norm.cc
void runSoftmax(const OpCall& call);      // ops/softmax.cc
void runRope(const OpCall& call);         // ops/rope.cc
void runEmbedding(const OpCall& call);    // ops/embedding.cc
void runExpand(const OpCall& call);       // ops/layout.cc
void runPermute(const OpCall& call);      // ops/layout.cc
void runConcat(const OpCall& call);       // ops/layout.cc
void runSlice(const OpCall& call);        // ops/layout.cc
void runBmm(const OpCall& call);          // ops/matmul.cc
void runMoe(const OpCall& call);          // ops/moe.cc
void runBlockScan(const OpCall& call);    // ops/block_scan.cc
void runSlstm(const OpCall& call);        // ops/slstm.cc
void runComplexRnn(const OpCall& call);   // ops/complex_rnn.cc
void runDiagonalScan(const OpCall& call);  // ops/diagonal_scan.cc
void runCausalConv1d(const OpCall& call);  // ops/causal_conv1d.cc
void runSelectiveScan(const OpCall& call);  // ops/selective_scan.cc
void runFftConv(const OpCall& call);      // ops/fft_conv.cc
void runSsmKernel(const OpCall& call);    // ops/fft_conv.cc
void runLstm(const OpCall& call);         // ops/rnn.cc
void runGru(const OpCall& call);          // ops/rnn.cc
void runRnn(const OpCall& call);          // ops/rnn.cc
void runLinearAttention(const OpCall& call);  // ops/linear_attention.cc
void runMlstm(const OpCall& call);            // ops/linear_attention.cc
void runAttention(const OpCall& call);    // ops/attention.cc

}  // namespace cr
