#include "CKernels.h"
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

int pf_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

int pf_cpu_has_avxvnni(void) {
#if defined(__x86_64__) || defined(__i386__)
    if (!pf_cpu_has_avx2_fma()) return 0;  // which also means the OS saves the YMM state
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 1, a, b, c, d);
    return (a >> 4) & 1;  // CPUID.(EAX=7, ECX=1):EAX[4] = AVX-VNNI
#else
    return 0;
#endif
}

int pf_cpu_has_avx512vnni(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return pf_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

int pf_cpu_is_intel(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return 0;
    return b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e;  // "Genu" "ineI" "ntel"
#else
    return 0;
#endif
}
