// Block extraction of the K-quant super-blocks, shared by the fp32-activation kernels (dot.c) and
// the 8-bit ones (dot_q8.c). Private to CKernels; include after defining PF_AVX2. Layouts: see
// Kernels' BlockDecode.
#ifndef PAGEDFLEX_KQUANTS_H
#define PAGEDFLEX_KQUANTS_H
#include <immintrin.h>
#include <stdint.h>

// How far ahead decode kernels prefetch weights (bytes, rounded up to whole rows). Decode reads
// each weight once, in rows of a few hundred bytes: streams too short for the hardware
// prefetcher, so without this the products wait on memory (the Q8_0 output matrix of Gemma 3,
// 178 MB, streamed at a third of the read bandwidth). Prefetched into L2 (T1): T0 requests hold
// L1's few miss buffers and gained little.
#ifndef PF_PREFETCH_BYTES
#define PF_PREFETCH_BYTES 16384
#endif

// Fully unrolls the loop that follows (clang; other compilers ignore it).
#if defined(__clang__)
#define PF_UNROLL _Pragma("clang loop unroll(full)")
#else
#define PF_UNROLL
#endif

// The prefetch distance for rows of `row_bytes`: whole rows, at least PF_PREFETCH_BYTES.
static inline size_t pf_prefetch_ahead(size_t row_bytes) {
    return (PF_PREFETCH_BYTES + row_bytes - 1) / row_bytes * row_bytes;
}

// Blocks k = 0 ..< blocks of a row, group by group (1 block, or a K-quant super-block of 8):
// `at` is the byte offset of block k's group and `j` the block's index in it. `group` is a
// constant in each kernel, so the inner loop unrolls and a super-block's shared loads and scales
// are read once. Uses `blocks` from the enclosing scope.
#define PF_FOR_EACH_BLOCK(k, j, at, group, group_bytes)                                              \
    for (int pf_g = 0, k = 0; pf_g < blocks / (group); pf_g++)                                        \
        for (size_t at = (size_t)pf_g * (group_bytes), pf_once = 1; pf_once; pf_once = 0)             \
            PF_UNROLL for (int j = 0; j < (group); j++, k++)

// Block j's 6-bit scale and min from the 12 packed bytes of a Q4_K/Q5_K super-block.
static inline void pf_k_scale_min(const uint8_t *s, int j, int *scale, int *min) {
    if (j < 4) { *scale = s[j] & 63; *min = s[j + 4] & 63; }
    else { *scale = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4); *min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4); }
}

// Block j's unsigned values of a Q4_K super-block (qs at 16) or Q5_K (qh at 16, qs at 48).
PF_AVX2 static inline __m256i pf_k_values(const uint8_t *p, int j, int fifth_bit) {
    __m256i raw = _mm256_loadu_si256((const __m256i *)(p + (fifth_bit ? 48 : 16) + 32 * (j >> 1)));
    __m256i mask = _mm256_set1_epi8(0x0F);
    __m256i v = (j & 1) ? _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask) : _mm256_and_si256(raw, mask);
    if (fifth_bit) {
        __m256i qh = _mm256_loadu_si256((const __m256i *)(p + 16));
        __m256i bit = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(j)), _mm256_set1_epi8(1));
        v = _mm256_or_si256(v, _mm256_slli_epi16(bit, 4));
    }
    return v;
}
// Block j's values q − 32 of a Q6_K super-block, as signed bytes (see Kernels' BlockDecode).
PF_AVX2 static inline __m256i pf_q6_values(const uint8_t *p, int j) {
    int half = j >> 2, c = j & 3;
    __m256i l = _mm256_loadu_si256((const __m256i *)(p + 64 * half + 32 * (c & 1)));
    __m256i h = _mm256_loadu_si256((const __m256i *)(p + 128 + 32 * half));
    __m256i low = _mm256_and_si256(_mm256_srl_epi16(l, _mm_cvtsi32_si128(c >= 2 ? 4 : 0)), _mm256_set1_epi8(0x0F));
    __m256i high = _mm256_and_si256(_mm256_srl_epi16(h, _mm_cvtsi32_si128(2 * c)), _mm256_set1_epi8(3));
    return _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(high, 4)), _mm256_set1_epi8(32));
}
#endif
