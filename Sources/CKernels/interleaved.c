// Q4_1 weights repacked for the 8-bit path: eight rows interleaved so that one 32-bit lane of a
// vector is one row, and a block's Σ qw·qx for eight rows is eight vpdpbusd (or pmaddubsw +
// pmaddwd) into one integer vector: no per-block float work per row, no horizontal sums. Every
// (row, token) output is defined as
//
//     acc = 0;  for each block k:  acc = fma(m_k, s_k, fma(float(Σ_k qw·qx) · dx_k, dw_k, acc))
//
// (dw, m: the block's scale and minimum, the f16 values converted exactly; dx, s = dx·Σqx: the
// activation block's), which every path and every tiling computes lane by lane, so the bits
// depend on neither the instruction set nor the batch. It differs from the row-by-row 8-bit
// kernel's sums (dot_q8.c) only in rounding: a matrix is read one way or the other, never both.
//
// Q8_0 is interleaved the same way as whole unsigned bytes (pf_u8_x8, biased by +128) with
// m = −bias·dw (exact) taking the bias back out; Q5_0 keeps Q4_1's nibbles and a plane of fifth
// bits (pf_q5_0_x8), read as unsigned bytes with bias 16. The kernel is x8_kernel.h, one
// instantiation per format (x8_formats.h) and instruction set; what they share is x8_common.h.
#include "CKernels.h"
#include <string.h>

size_t pf_q4_1_x8_bytes(int rows, int blocks) { return (size_t)(rows / 8) * (size_t)blocks * sizeof(pf_q4_1_x8); }

void pf_q4_1_x8_pack(const void *weights, size_t row_bytes, int rows, int blocks, pf_q4_1_x8 *out) {
    const uint8_t *w = (const uint8_t *)weights;
    for (int r8 = 0; r8 < rows / 8; r8++) {
        for (int k = 0; k < blocks; k++) {
            pf_q4_1_x8 *o = out + (size_t)r8 * blocks + k;
            for (int lane = 0; lane < 8; lane++) {
                const uint8_t *b = w + (size_t)(r8 * 8 + lane) * row_bytes + (size_t)k * 20;  // f16 d, f16 m, 16 bytes
                memcpy(&o->d[lane], b, 2);
                memcpy(&o->m[lane], b + 2, 2);
                for (int g = 0; g < 4; g++) memcpy(o->qs + 32 * g + 4 * lane, b + 4 + 4 * g, 4);
            }
        }
    }
}

size_t pf_u8_x8_bytes(int rows, int blocks) { return (size_t)(rows / 8) * (size_t)blocks * sizeof(pf_u8_x8); }

size_t pf_q5_0_x8_bytes(int rows, int blocks) { return (size_t)(rows / 8) * (size_t)blocks * sizeof(pf_q5_0_x8); }

void pf_q5_0_x8_pack(const void *weights, size_t row_bytes, int rows, int blocks, pf_q5_0_x8 *out) {
    const uint8_t *w = (const uint8_t *)weights;
    for (int r8 = 0; r8 < rows / 8; r8++) {
        for (int k = 0; k < blocks; k++) {
            pf_q5_0_x8 *o = out + (size_t)r8 * blocks + k;
            for (int lane = 0; lane < 8; lane++) {
                // f16 d, 32 fifth bits (bit j: element j), 16 bytes of nibbles (elements j and j + 16)
                const uint8_t *b = w + (size_t)(r8 * 8 + lane) * row_bytes + (size_t)k * 22;
                uint32_t qh;
                memcpy(&o->d[lane], b, 2);
                memcpy(&qh, b + 2, 4);
                for (int g = 0; g < 4; g++) memcpy(o->qs + 32 * g + 4 * lane, b + 6 + 4 * g, 4);
                for (int i = 0; i < 4; i++) {
                    unsigned plane = 0;  // bit e: element 4e + i
                    for (int e = 0; e < 8; e++) plane |= ((qh >> (4 * e + i)) & 1u) << e;
                    o->qh[4 * lane + i] = (uint8_t)plane;
                }
            }
        }
    }
}

void pf_q8_0_x8_pack(const void *weights, size_t row_bytes, int rows, int blocks, pf_u8_x8 *out) {
    const uint8_t *w = (const uint8_t *)weights;
    for (int r8 = 0; r8 < rows / 8; r8++) {
        for (int k = 0; k < blocks; k++) {
            pf_u8_x8 *o = out + (size_t)r8 * blocks + k;
            for (int lane = 0; lane < 8; lane++) {
                const uint8_t *b = w + (size_t)(r8 * 8 + lane) * row_bytes + (size_t)k * 34;  // f16 d, 32 signed bytes
                memcpy(&o->d[lane], b, 2);
                for (int e = 0; e < 8; e++)
                    for (int i = 0; i < 4; i++) o->qs[32 * e + 4 * lane + i] = (uint8_t)((int)(int8_t)b[2 + 4 * e + i] + 128);
            }
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define PF_AVX2 __attribute__((target("avx2,fma,f16c")))
#include "kquants.h"
#include "x8_common.h"
#define PF_VNNI __attribute__((target("avx2,fma,f16c,avxvnni")))
#define PF_VNNI512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

// pmaddubsw's pair sums cannot saturate for nibbles (≤ 15 · 127 · 2 = 3,810), but can for full
// bytes (255 · 127 · 2): the AVX2 form of an unsigned byte product splits the byte into its
// nibbles, u·x = lo·x + 16·hi·x, each exact, and adds them as 32-bit integers.
PF_AVX2 static inline __m256i pf_x8_udot4_avx2(__m256i s, __m256i w, __m256i x) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256i lo = _mm256_maddubs_epi16(_mm256_and_si256(w, low), x);
    __m256i hi = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w, 4), low), x);
    return _mm256_add_epi32(s, _mm256_add_epi32(_mm256_madd_epi16(lo, _mm256_set1_epi16(1)),
                                                _mm256_madd_epi16(hi, _mm256_set1_epi16(16))));
}

#define PF_X8_TARGET PF_AVX2
#define PF_X8_DOT4(s, w, x) s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1)))
#define PF_X8_UDOT4(s, w, x) s = pf_x8_udot4_avx2(s, w, x)
#define PF_X8_SUFFIX _avx2
#include "x8_formats.h"
#undef PF_X8_TARGET
#undef PF_X8_DOT4
#undef PF_X8_UDOT4
#undef PF_X8_SUFFIX

#define PF_X8_TARGET PF_VNNI
#define PF_X8_DOT4(s, w, x) s = _mm256_dpbusd_avx_epi32(s, w, x)
#define PF_X8_UDOT4 PF_X8_DOT4
#define PF_X8_SUFFIX _vnni
#include "x8_formats.h"
#undef PF_X8_TARGET
#undef PF_X8_DOT4
#undef PF_X8_UDOT4
#undef PF_X8_SUFFIX

#define PF_X8_TARGET PF_VNNI512
#define PF_X8_DOT4(s, w, x) s = _mm256_dpbusd_epi32(s, w, x)
#define PF_X8_UDOT4 PF_X8_DOT4
#define PF_X8_SUFFIX _vnni512
#define PF_X8_WIDE 1  // and the 16-row × 4-token zmm tile
#include "x8_formats.h"
#undef PF_X8_TARGET
#undef PF_X8_DOT4
#undef PF_X8_UDOT4
#undef PF_X8_SUFFIX
#undef PF_X8_WIDE

/// Runs format `id`'s kernel on instruction set `isa` (0 for one it does not know).
#define PF_X8_ON(id, ...)                                                                              \
    switch (isa) {                                                                                     \
    case PF_ISA_AVX2: pf_##id##_x8_rows_avx2(__VA_ARGS__); return 1;                                   \
    case PF_ISA_AVXVNNI: pf_##id##_x8_rows_vnni(__VA_ARGS__); return 1;                                \
    case PF_ISA_AVX512VNNI: pf_##id##_x8_rows_vnni512(__VA_ARGS__); return 1;                          \
    default: return 0;                                                                                 \
    }

int pf_matmul_rows_u8_x8_on(int isa, const pf_u8_x8 *weights, float bias, int blocks, int r0, int r1,
                            const pf_q8_block *x, int ntok, float *y, size_t ys) {
    if (r0 % 8 != 0 || r1 % 8 != 0) return 0;
    PF_X8_ON(u8, weights, bias, blocks, r0, r1, x, ntok, y, ys)
}

int pf_matmul_rows_q5_0_x8_on(int isa, const pf_q5_0_x8 *weights, int blocks, int r0, int r1,
                              const pf_q8_block *x, int ntok, float *y, size_t ys) {
    if (r0 % 8 != 0 || r1 % 8 != 0) return 0;
    PF_X8_ON(q5_0, weights, 16.0f, blocks, r0, r1, x, ntok, y, ys)
}

int pf_matmul_rows_q4_1_x8_on(int isa, const pf_q4_1_x8 *weights, int blocks, int r0, int r1,
                              const pf_q8_block *x, int ntok, float *y, size_t ys) {
    if (r0 % 8 != 0 || r1 % 8 != 0) return 0;
    PF_X8_ON(q4_1, weights, 0.0f, blocks, r0, r1, x, ntok, y, ys)  // Q4_1's offsets are its minimums
}
#else
int pf_matmul_rows_q5_0_x8_on(int isa, const pf_q5_0_x8 *weights, int blocks, int r0, int r1,
                              const pf_q8_block *x, int ntok, float *y, size_t ys) {
    (void)isa; (void)weights; (void)blocks; (void)r0; (void)r1; (void)x; (void)ntok; (void)y; (void)ys;
    return 0;
}
int pf_matmul_rows_u8_x8_on(int isa, const pf_u8_x8 *weights, float bias, int blocks, int r0, int r1,
                            const pf_q8_block *x, int ntok, float *y, size_t ys) {
    (void)isa; (void)weights; (void)bias; (void)blocks; (void)r0; (void)r1; (void)x; (void)ntok; (void)y; (void)ys;
    return 0;
}
int pf_matmul_rows_q4_1_x8_on(int isa, const pf_q4_1_x8 *weights, int blocks, int r0, int r1,
                              const pf_q8_block *x, int ntok, float *y, size_t ys) {
    (void)isa; (void)weights; (void)blocks; (void)r0; (void)r1; (void)x; (void)ntok; (void)y; (void)ys;
    return 0;
}
#endif
