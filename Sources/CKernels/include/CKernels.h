#ifndef PAGEDFLEX_CKERNELS_H
#define PAGEDFLEX_CKERNELS_H
#include <stdint.h>
#include <stddef.h>
/// 1 when the CPU running this process has AVX2, FMA and F16C.
int pf_cpu_has_avx2_fma(void);
#endif
