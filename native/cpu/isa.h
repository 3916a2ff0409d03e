// Kernels in native/cpu/ are compiled once per instruction set, each time
// with that set's compiler flags and one of CR_ISA_SCALAR / CR_ISA_AVX2 /
// CR_ISA_AVX512 defined. Everything they define lives in namespace
// cr::cpu::CR_ISA, and helpers in headers they include are `static inline`,
// so no function compiled for AVX-512 can be merged by the linker with its
// twin from another set and run on a CPU that lacks it
// (test/isa-symbols.test.ts checks the object files for that).
#pragma once

#if defined(CR_ISA_AVX512)
#define CR_ISA avx512
#elif defined(CR_ISA_AVX2)
#define CR_ISA avx2
#elif defined(CR_ISA_SCALAR)
#define CR_ISA scalar
#else
#error "compile native/cpu kernels with one of CR_ISA_SCALAR, CR_ISA_AVX2, CR_ISA_AVX512"
#endif
