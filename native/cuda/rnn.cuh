// The recurrent cells (lstm, gru, rnn) on the GPU: native/cuda/rnn.cu.
#pragma once
#include <cuda_runtime.h>

#include "../cpu/kernels.h"

namespace cr::cuda {

// How the recurrence runs: one cooperative launch for all steps with W_hh on
// chip (Persistent), or one launch per step reading W_hh from global memory
// (Step). Auto picks Persistent whenever it fits and is available.
enum class RnnPath { Auto, Persistent, Step };

// Launches the whole op on `stream` (`op` names it in errors). Persistent throws when the device cannot
// take it (W_hh does not fit on chip, no cooperative launch).
void rnn(const char* op, const cpu::RnnArgs& args, RnnPath path, cudaStream_t stream);

}  // namespace cr::cuda
