// Declarations of every op in the table (one .cc per op family).
#pragma once
#include "op_call.h"

namespace cr {

void runMatmul(const OpCall& call);  // ops/matmul.cc
void runLinear(const OpCall& call);  // ops/matmul.cc

}  // namespace cr
