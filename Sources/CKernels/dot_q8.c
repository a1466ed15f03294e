// The 8-bit activation path (optional, --activations q8): activations are quantized per block of
// 32 to int8 with one fp32 scale (and the scaled sum of the quants, for weight formats with an
// offset), and each weight block's dot product is an exact integer sum (pmaddubsw/pmaddwd)
// scaled once: dot = dw·dx·Σ qw·qx + offset_w·sx. This is llama.cpp's CPU scheme: faster, and
// numerically different from fp32 (see shared/reference/README.md), so it is checked by
// perplexity, not by logits. As in dot.c, the 1-token and 4-token variants do the same operations
// for every (row, token) pair.
#include "CKernels.h"
#include <math.h>

void pf_quantize_q8(const float *x, int blocks, pf_q8_block *out) {
    for (int b = 0; b < blocks; b++) {
        const float *v = x + (size_t)b * 32;
        float amax = 0;
        for (int j = 0; j < 32; j++) { float a = fabsf(v[j]); amax = a > amax ? a : amax; }
        float d = amax / 127.0f;
        float inv = d != 0 ? 1.0f / d : 0;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int q = (int)lrintf(v[j] * inv);
            out[b].q[j] = (int8_t)q;
            sum += q;
        }
        out[b].d = d;
        out[b].s = d * (float)sum;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define PF_AVX2 __attribute__((target("avx2,fma,f16c")))
#include "kquants.h"

/// pf_quantize_q8 with eight lanes: the same operations per element (|x| maxed exactly, one
/// float product, round to nearest even as lrintf does), so the same bytes and scales.
PF_AVX2 static void pf_quantize_q8_avx2_impl(const float *x, int blocks, pf_q8_block *out) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int b = 0; b < blocks; b++) {
        const float *v = x + (size_t)b * 32;
        __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8), v2 = _mm256_loadu_ps(v + 16), v3 = _mm256_loadu_ps(v + 24);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                 _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
        float d = _mm_cvtss_f32(h) / 127.0f;
        __m256 inv = _mm256_set1_ps(d != 0 ? 1.0f / d : 0);
        __m256i q0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, inv)), q1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, inv));
        __m256i q2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, inv)), q3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, inv));
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(q0, q1), _mm256_add_epi32(q2, q3));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
        // Packing interleaves the 128-bit lanes; the permutation puts the bytes back in order.
        __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
        bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)out[b].q, bytes);
        out[b].d = d;
        out[b].s = d * (float)_mm_cvtsi128_si32(s4);
    }
}

void pf_quantize_q8_avx2(const float *x, int blocks, pf_q8_block *out) { pf_quantize_q8_avx2_impl(x, blocks, out); }

PF_AVX2 static inline float pf_half8(const uint8_t *p) {
    uint16_t h; __builtin_memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/// The 32 nibbles of a Q4 block as bytes in element order (low nibbles, then high nibbles).
PF_AVX2 static inline __m256i pf_nibble_bytes(const uint8_t *q) {
    __m128i raw = _mm_loadu_si128((const __m128i *)q);
    __m128i mask = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), mask), _mm_and_si128(raw, mask));
}

/// Σ (unsigned w) · (signed x) over 32 bytes, as 8 int32 lanes converted to float.
PF_AVX2 static inline __m256 pf_udot(__m256i w, __m256i x) {
    __m256i pairs = _mm256_maddubs_epi16(w, x);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

/// Σ (signed w) · (signed x): pmaddubsw wants one unsigned side, so move w's sign onto x.
PF_AVX2 static inline __m256 pf_sdot(__m256i w, __m256i x) {
    return pf_udot(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}

PF_AVX2 static inline float pf_hsum8(__m256 v) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(q) + _mm_cvtss_f32(_mm_shuffle_ps(q, q, 1));
}

/// A weight block as the integer dot product sees it: 32 bytes (unsigned, or signed when
/// Q8_0 and Q6_K: see PF_Q8_SIGNED), the float scale and offset, and for Q6_K an integer scale
/// per 4-byte lane group (its two 16-element halves have their own scales).
typedef struct { __m256i w; float d, offset; __m256 lanes; } pf_wblock;

PF_AVX2 static inline __m256i pf_fifth_bits_q8(uint32_t qh) {
    // Bit i of qh becomes bit 4 of byte i: spread the 32 bits over 32 bytes.
    __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

/// Block j of the group at p (see Kernels' BlockDecode for the layouts).
PF_AVX2 static inline void pf_wdecode(int type, const uint8_t *p, int j, pf_wblock *b) {
    switch (type) {
    case PF_WEIGHT_Q4_1: b->d = pf_half8(p); b->offset = pf_half8(p + 2); b->w = pf_nibble_bytes(p + 4); break;
    case PF_WEIGHT_Q4_0: b->d = pf_half8(p); b->offset = -8.0f * b->d; b->w = pf_nibble_bytes(p + 2); break;
    case PF_WEIGHT_Q5_0: case PF_WEIGHT_Q5_1: {
        int q51 = type == PF_WEIGHT_Q5_1;
        uint32_t qh; __builtin_memcpy(&qh, p + (q51 ? 4 : 2), 4);
        b->d = pf_half8(p); b->offset = q51 ? pf_half8(p + 2) : -16.0f * b->d;
        b->w = _mm256_or_si256(pf_nibble_bytes(p + (q51 ? 8 : 6)), pf_fifth_bits_q8(qh));
        break;
    }
    case PF_WEIGHT_Q4_K: case PF_WEIGHT_Q5_K: {
        int sc, mn;
        pf_k_scale_min(p + 4, j, &sc, &mn);
        b->d = pf_half8(p) * (float)sc; b->offset = -(pf_half8(p + 2) * (float)mn);
        b->w = pf_k_values(p, j, type == PF_WEIGHT_Q5_K);
        break;
    }
    case PF_WEIGHT_Q6_K: {
        b->w = pf_q6_values(p, j);
        const int8_t *sc = (const int8_t *)(p + 192);
        // After pmaddwd, lanes 0..3 hold elements 0..15 and lanes 4..7 elements 16..31.
        b->lanes = _mm256_setr_m128(_mm_set1_ps((float)sc[2 * j]), _mm_set1_ps((float)sc[2 * j + 1]));
        b->d = pf_half8(p + 208); b->offset = 0;
        break;
    }
    default: b->d = pf_half8(p); b->offset = 0; b->w = _mm256_loadu_si256((const __m256i *)(p + 2)); break;
    }
}

/// AVX-VNNI (VEX) and AVX-512 VNNI (EVEX, 256-bit with VL): one vpdpbusd does what pmaddubsw +
/// pmaddwd do. Equal bit for bit: no pair sum of pmaddubsw saturates here (|w| ≤ 128 after the
/// sign move, |x| ≤ 127, so a pair is at most 32,512).
#define PF_VNNI __attribute__((target("avx2,fma,f16c,avxvnni")))
#define PF_VNNI512 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))

PF_VNNI static inline __m256 pf_udot_vnni(__m256i w, __m256i x) {
    return _mm256_cvtepi32_ps(_mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), w, x));
}
PF_VNNI static inline __m256 pf_sdot_vnni(__m256i w, __m256i x) {
    return pf_udot_vnni(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}
PF_VNNI512 static inline __m256 pf_udot_vnni512(__m256i w, __m256i x) {
    return _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), w, x));
}
PF_VNNI512 static inline __m256 pf_sdot_vnni512(__m256i w, __m256i x) {
    return pf_udot_vnni512(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}

#define PF_Q8_TARGET PF_AVX2
#define PF_Q8_UDOT pf_udot
#define PF_Q8_SDOT pf_sdot
#define PF_Q8_SUFFIX _avx2
#include "q8_rows.h"
#undef PF_Q8_TARGET
#undef PF_Q8_UDOT
#undef PF_Q8_SDOT
#undef PF_Q8_SUFFIX

#define PF_Q8_TARGET PF_VNNI
#define PF_Q8_UDOT pf_udot_vnni
#define PF_Q8_SDOT pf_sdot_vnni
#define PF_Q8_SUFFIX _vnni
#include "q8_rows.h"
#undef PF_Q8_TARGET
#undef PF_Q8_UDOT
#undef PF_Q8_SDOT
#undef PF_Q8_SUFFIX

#define PF_Q8_TARGET PF_VNNI512
#define PF_Q8_UDOT pf_udot_vnni512
#define PF_Q8_SDOT pf_sdot_vnni512
#define PF_Q8_SUFFIX _vnni512
#include "q8_rows.h"
#undef PF_Q8_TARGET
#undef PF_Q8_UDOT
#undef PF_Q8_SDOT
#undef PF_Q8_SUFFIX

int pf_matmul_rows_q8(int type, const void *weights, size_t row_bytes, int blocks, int r0, int r1,
                      const pf_q8_block *x, int ntok, float *y, size_t ys) {
    return pf_q8_dispatch_avx2(type, weights, row_bytes, blocks, r0, r1, x, ntok, y, ys);
}

int pf_matmul_rows_q8_on(int isa, int type, const void *weights, size_t row_bytes, int blocks, int r0, int r1,
                         const pf_q8_block *x, int ntok, float *y, size_t ys) {
    switch (isa) {
    case PF_ISA_AVX2: return pf_q8_dispatch_avx2(type, weights, row_bytes, blocks, r0, r1, x, ntok, y, ys);
    case PF_ISA_AVXVNNI: return pf_q8_dispatch_vnni(type, weights, row_bytes, blocks, r0, r1, x, ntok, y, ys);
    case PF_ISA_AVX512VNNI: return pf_q8_dispatch_vnni512(type, weights, row_bytes, blocks, r0, r1, x, ntok, y, ys);
    default: return 0;
    }
}

#else
void pf_quantize_q8_avx2(const float *x, int blocks, pf_q8_block *out) { pf_quantize_q8(x, blocks, out); }
int pf_matmul_rows_q8(int type, const void *weights, size_t row_bytes, int blocks, int r0, int r1,
                      const pf_q8_block *x, int ntok, float *y, size_t ys) {
    (void)type; (void)weights; (void)row_bytes; (void)blocks; (void)r0; (void)r1; (void)x; (void)ntok; (void)y; (void)ys;
    return 0;
}
int pf_matmul_rows_q8_on(int isa, int type, const void *weights, size_t row_bytes, int blocks, int r0, int r1,
                         const pf_q8_block *x, int ntok, float *y, size_t ys) {
    (void)isa;
    return pf_matmul_rows_q8(type, weights, row_bytes, blocks, r0, r1, x, ntok, y, ys);
}
#endif
