// The CUDA linear-recurrence scans: diagonalScan (native/cuda/diagonal_scan.cu) and
// blockScan (native/cuda/block_scan.cu). Same contract as kernels.cuh: the CPU op's
// Args struct with DEVICE pointers, launched asynchronously on `stream`.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "../cpu/kernels.h"

namespace cr::cuda {

void diagonalScan(const cpu::DiagonalScanArgs& args, cudaStream_t stream);  // native/cuda/diagonal_scan.cu
void blockScan(const cpu::BlockScanArgs& args, cudaStream_t stream);        // native/cuda/block_scan.cu

// How many time chunks a scan of `sequences` independent recurrences of length L
// is split into (1: one pass, no time parallelism), so that sequences × chunks
// threads fill the device. Every chunk but the last has exactly ⌈L / chunks⌉ steps.
int64_t scanChunkCount(int64_t sequences, int64_t L);  // native/cuda/diagonal_scan.cu

}  // namespace cr::cuda
