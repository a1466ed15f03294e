#ifndef PAGEDFLEX_CKERNELS_H
#define PAGEDFLEX_CKERNELS_H
// The few kernels Swift cannot express well: 8-bit integer dot products (pmaddubsw) and the CPU
// feature check that guards them. Every AVX2 function is compiled with a target attribute and
// called only after pf_cpu_has_avx2_fma() said yes; each has a portable fallback.
#include <stdint.h>
#include <stddef.h>

/// 1 when the CPU running this process has AVX2, FMA and F16C.
int pf_cpu_has_avx2_fma(void);

/// The `pause` hint for spin-wait loops.
static inline void pf_cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
#endif
