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
void runAttention(const OpCall& call);    // ops/attention.cc

}  // namespace cr
