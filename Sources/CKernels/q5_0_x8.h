// The 8-row interleaved Q5_0 kernel (pf_q5_0_x8), included once per instruction set by
// interleaved.c after q4_1_x8.h, whose PF_X8_BLOCK_SUM (and, with PF_X8_WIDE, PF_X16_*) it uses.
// The low nibbles are laid out as Q4_1's; the fifth bits come from a 32-byte plane `qh` whose byte
// 4r + i holds, in bit e, row r's fifth bit of element 4e + i, so that one shift and one mask per
// vector put them at bit 4 of its bytes. The quants are then the same unsigned bytes u = q + 16
// (0..31) the whole-byte kernel (u8_x8.h) multiplies, and the sums and their scaling are the
// same operations: the same bits, from 176 bytes per 8 rows and block instead of 272.
#define PF_X5_NAME(base) PF_X8_CAT(base, PF_X8_SUFFIX)

/// The block's eight vectors of quants (elements 4e..4e+3 of every row in vector e).
#define PF_X5_DECODE(wv, b)                                                                            \
    do {                                                                                               \
        const __m256i low = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);                     \
        __m256i h = _mm256_loadu_si256((const __m256i *)(b)->qh);                                      \
        for (int g = 0; g < 4; g++) {                                                                  \
            __m256i v = _mm256_loadu_si256((const __m256i *)((b)->qs + 32 * g));                       \
            wv[g] = _mm256_and_si256(v, low);                                                          \
            wv[4 + g] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);                                \
        }                                                                                              \
        wv[0] = _mm256_or_si256(wv[0], _mm256_and_si256(_mm256_slli_epi16(h, 4), bit4));               \
        wv[1] = _mm256_or_si256(wv[1], _mm256_and_si256(_mm256_slli_epi16(h, 3), bit4));               \
        wv[2] = _mm256_or_si256(wv[2], _mm256_and_si256(_mm256_slli_epi16(h, 2), bit4));               \
        wv[3] = _mm256_or_si256(wv[3], _mm256_and_si256(_mm256_slli_epi16(h, 1), bit4));               \
        wv[4] = _mm256_or_si256(wv[4], _mm256_and_si256(h, bit4));                                     \
        wv[5] = _mm256_or_si256(wv[5], _mm256_and_si256(_mm256_srli_epi16(h, 1), bit4));               \
        wv[6] = _mm256_or_si256(wv[6], _mm256_and_si256(_mm256_srli_epi16(h, 2), bit4));               \
        wv[7] = _mm256_or_si256(wv[7], _mm256_and_si256(_mm256_srli_epi16(h, 3), bit4));               \
    } while (0)

/// acc = fma(−16·dw, sx, fma(Σ·dx, dw, acc)): u8_x8.h's definition with bias 16.
#define PF_X5_ACCUMULATE(acc, s, dw, xb)                                                               \
    acc = _mm256_fmadd_ps(_mm256_mul_ps(dw, minus16), _mm256_set1_ps((xb)->s),                         \
                          _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps((xb)->d)), dw, acc))

/// Tokens t0 ..< ntok of the eight rows from row r.
PF_X8_TARGET static inline void PF_X5_NAME(pf_q5_0_x8_group)(const pf_q5_0_x8 *w, int blocks, int r, const pf_q8_block *x,
                                                             int t0, int ntok, float *y, size_t ys) {
    const __m256 minus16 = _mm256_set1_ps(-16.0f);
    const pf_q5_0_x8 *wr = w + (size_t)(r / 8) * blocks;
    int t = t0;
    for (; t + 4 <= ntok; t += 4) {
        const pf_q8_block *x0 = x + (size_t)t * blocks;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < blocks; k++) {
            const pf_q5_0_x8 *b = wr + k;
            __m256i wv[8];
            PF_X5_DECODE(wv, b);
            __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->d));
            __m256i s;
            PF_X8_BLOCK_SUM(s, wv, (const int32_t *)x0[k].q); PF_X5_ACCUMULATE(a0, s, dw, x0 + k);
            PF_X8_BLOCK_SUM(s, wv, (const int32_t *)x0[blocks + k].q); PF_X5_ACCUMULATE(a1, s, dw, x0 + blocks + k);
            PF_X8_BLOCK_SUM(s, wv, (const int32_t *)x0[2 * blocks + k].q); PF_X5_ACCUMULATE(a2, s, dw, x0 + 2 * blocks + k);
            PF_X8_BLOCK_SUM(s, wv, (const int32_t *)x0[3 * blocks + k].q); PF_X5_ACCUMULATE(a3, s, dw, x0 + 3 * blocks + k);
        }
        _mm256_storeu_ps(y + (size_t)t * ys + r, a0);
        _mm256_storeu_ps(y + (size_t)(t + 1) * ys + r, a1);
        _mm256_storeu_ps(y + (size_t)(t + 2) * ys + r, a2);
        _mm256_storeu_ps(y + (size_t)(t + 3) * ys + r, a3);
    }
    for (; t < ntok; t++) {
        const pf_q8_block *xt = x + (size_t)t * blocks;
        __m256 a = _mm256_setzero_ps();
        for (int k = 0; k < blocks; k++) {
            const pf_q5_0_x8 *b = wr + k;
            __m256i wv[8];
            PF_X5_DECODE(wv, b);
            __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->d));
            __m256i s;
            PF_X8_BLOCK_SUM(s, wv, (const int32_t *)xt[k].q);
            PF_X5_ACCUMULATE(a, s, dw, xt + k);
        }
        _mm256_storeu_ps(y + (size_t)t * ys + r, a);
    }
}

#ifdef PF_X8_WIDE
/// PF_X5_DECODE for two groups' block k (rows r ..< r + 16) in zmm registers.
#define PF_X16_Q5_DECODE(wv, ba, bb)                                                                   \
    do {                                                                                               \
        const __m512i low = _mm512_set1_epi8(0x0F), bit4 = _mm512_set1_epi8(0x10);                     \
        __m512i h = PF_X16_JOIN((ba)->qh, (bb)->qh);                                                   \
        for (int g = 0; g < 4; g++) {                                                                  \
            __m512i v = PF_X16_JOIN((ba)->qs + 32 * g, (bb)->qs + 32 * g);                             \
            wv[g] = _mm512_and_si512(v, low);                                                          \
            wv[4 + g] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);                                \
        }                                                                                              \
        wv[0] = _mm512_or_si512(wv[0], _mm512_and_si512(_mm512_slli_epi16(h, 4), bit4));               \
        wv[1] = _mm512_or_si512(wv[1], _mm512_and_si512(_mm512_slli_epi16(h, 3), bit4));               \
        wv[2] = _mm512_or_si512(wv[2], _mm512_and_si512(_mm512_slli_epi16(h, 2), bit4));               \
        wv[3] = _mm512_or_si512(wv[3], _mm512_and_si512(_mm512_slli_epi16(h, 1), bit4));               \
        wv[4] = _mm512_or_si512(wv[4], _mm512_and_si512(h, bit4));                                     \
        wv[5] = _mm512_or_si512(wv[5], _mm512_and_si512(_mm512_srli_epi16(h, 1), bit4));               \
        wv[6] = _mm512_or_si512(wv[6], _mm512_and_si512(_mm512_srli_epi16(h, 2), bit4));               \
        wv[7] = _mm512_or_si512(wv[7], _mm512_and_si512(_mm512_srli_epi16(h, 3), bit4));               \
    } while (0)

#define PF_X16_Q5_ACCUMULATE(acc, s, dw, xb)                                                           \
    acc = _mm512_fmadd_ps(_mm512_mul_ps(dw, minus16), _mm512_set1_ps((xb)->s),                         \
                          _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps((xb)->d)), dw, acc))

/// Tokens 0 ..< ntok4 (a multiple of 4) of the sixteen rows from row r.
PF_X8_TARGET static void PF_X5_NAME(pf_q5_0_x16_tiles)(const pf_q5_0_x8 *w, int blocks, int r, const pf_q8_block *x,
                                                       int ntok4, float *y, size_t ys) {
    const __m512 minus16 = _mm512_set1_ps(-16.0f);
    const pf_q5_0_x8 *wa = w + (size_t)(r / 8) * blocks, *wb = wa + blocks;
    for (int t = 0; t < ntok4; t += 4) {
        const pf_q8_block *x0 = x + (size_t)t * blocks;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < blocks; k++) {
            const pf_q5_0_x8 *ba = wa + k, *bb = wb + k;
            __m512i wv[8];
            PF_X16_Q5_DECODE(wv, ba, bb);
            __m512 dw = PF_X16_HALVES(ba->d, bb->d);
            __m512i s;
            PF_X16_BLOCK_SUM(s, wv, (const int32_t *)x0[k].q); PF_X16_Q5_ACCUMULATE(a0, s, dw, x0 + k);
            PF_X16_BLOCK_SUM(s, wv, (const int32_t *)x0[blocks + k].q); PF_X16_Q5_ACCUMULATE(a1, s, dw, x0 + blocks + k);
            PF_X16_BLOCK_SUM(s, wv, (const int32_t *)x0[2 * blocks + k].q); PF_X16_Q5_ACCUMULATE(a2, s, dw, x0 + 2 * blocks + k);
            PF_X16_BLOCK_SUM(s, wv, (const int32_t *)x0[3 * blocks + k].q); PF_X16_Q5_ACCUMULATE(a3, s, dw, x0 + 3 * blocks + k);
        }
        _mm512_storeu_ps(y + (size_t)t * ys + r, a0);
        _mm512_storeu_ps(y + (size_t)(t + 1) * ys + r, a1);
        _mm512_storeu_ps(y + (size_t)(t + 2) * ys + r, a2);
        _mm512_storeu_ps(y + (size_t)(t + 3) * ys + r, a3);
    }
}
#undef PF_X16_Q5_DECODE
#undef PF_X16_Q5_ACCUMULATE
#endif

PF_X8_TARGET static void PF_X5_NAME(pf_q5_0_x8_rows)(const pf_q5_0_x8 *w, int blocks, int r0, int r1,
                                                     const pf_q8_block *x, int ntok, float *y, size_t ys) {
    int r = r0;
#ifdef PF_X8_WIDE
    int ntok4 = ntok / 4 * 4;
    for (; ntok4 > 0 && r + 16 <= r1; r += 16) {
        PF_X5_NAME(pf_q5_0_x16_tiles)(w, blocks, r, x, ntok4, y, ys);
        PF_X5_NAME(pf_q5_0_x8_group)(w, blocks, r, x, ntok4, ntok, y, ys);
        PF_X5_NAME(pf_q5_0_x8_group)(w, blocks, r + 8, x, ntok4, ntok, y, ys);
    }
#endif
    for (; r < r1; r += 8) PF_X5_NAME(pf_q5_0_x8_group)(w, blocks, r, x, 0, ntok, y, ys);
}

#undef PF_X5_DECODE
#undef PF_X5_ACCUMULATE
#undef PF_X5_NAME
#undef PF_X8_BLOCK_SUM
