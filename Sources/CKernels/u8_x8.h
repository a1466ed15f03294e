// The 8-row interleaved kernel of whole unsigned bytes (pf_u8_x8: Q8_0, Q5_0), included once per
// instruction set by interleaved.c after q4_1_x8.h (the same PF_X8_TARGET, PF_X8_UDOT4 and
// PF_X8_SUFFIX). A block stands for dw·(u − bias): Q8_0 stored biased, u = q + 128 (0..255), Q5_0
// as its quants 0..31 with their own bias 16. One unsigned·signed product per byte then holds:
// Σ u·x = Σ (u − bias)·x + bias·Σx, and bias·Σx comes back out through the offset term with
// m = −bias·dw (exact: the biases are powers of two).
#define PF_X8_CAT2(a, b) a##b
#define PF_X8_CAT(a, b) PF_X8_CAT2(a, b)
#define PF_X8_NAME(base) PF_X8_CAT(base, PF_X8_SUFFIX)

#define PF_X8_BLOCK_SUM(s, b, xq)                                                                       \
    do {                                                                                               \
        const __m256i *wv = (const __m256i *)(b)->qs;                                                  \
        __m256i s0 = _mm256_setzero_si256(), s1 = s0;                                                  \
        PF_X8_UDOT4(s0, _mm256_loadu_si256(wv + 0), _mm256_set1_epi32((xq)[0]));                        \
        PF_X8_UDOT4(s1, _mm256_loadu_si256(wv + 1), _mm256_set1_epi32((xq)[1]));                        \
        PF_X8_UDOT4(s0, _mm256_loadu_si256(wv + 2), _mm256_set1_epi32((xq)[2]));                        \
        PF_X8_UDOT4(s1, _mm256_loadu_si256(wv + 3), _mm256_set1_epi32((xq)[3]));                        \
        PF_X8_UDOT4(s0, _mm256_loadu_si256(wv + 4), _mm256_set1_epi32((xq)[4]));                        \
        PF_X8_UDOT4(s1, _mm256_loadu_si256(wv + 5), _mm256_set1_epi32((xq)[5]));                        \
        PF_X8_UDOT4(s0, _mm256_loadu_si256(wv + 6), _mm256_set1_epi32((xq)[6]));                        \
        PF_X8_UDOT4(s1, _mm256_loadu_si256(wv + 7), _mm256_set1_epi32((xq)[7]));                        \
        s = _mm256_add_epi32(s0, s1);                                                                  \
    } while (0)

/// acc = fma(m, sx, fma(Σ·dx, dw, acc)) with m = −bias·dw (`minus_bias`: −bias).
#define PF_X8_ACCUMULATE(acc, s, blk, xb)                                                              \
    do {                                                                                               \
        __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk)->d));                       \
        acc = _mm256_fmadd_ps(_mm256_mul_ps(dw, minus_bias), _mm256_set1_ps((xb)->s),     \
                              _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps((xb)->d)), dw, acc)); \
    } while (0)

/// Tokens t0 ..< ntok of the eight rows from row r.
PF_X8_TARGET static inline void PF_X8_NAME(pf_u8_x8_group)(const pf_u8_x8 *w, float bias, int blocks, int r,
                                                           const pf_q8_block *x, int t0, int ntok, float *y, size_t ys) {
    const __m256 minus_bias = _mm256_set1_ps(-bias);
    {
        const pf_u8_x8 *wr = w + (size_t)(r / 8) * blocks;
        int t = t0;
        for (; t + 4 <= ntok; t += 4) {
            const pf_q8_block *x0 = x + (size_t)t * blocks;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int k = 0; k < blocks; k++) {
                const pf_u8_x8 *b = wr + k;
                __m256i s;
                PF_X8_BLOCK_SUM(s, b, (const int32_t *)x0[k].q); PF_X8_ACCUMULATE(a0, s, b, x0 + k);
                PF_X8_BLOCK_SUM(s, b, (const int32_t *)x0[blocks + k].q); PF_X8_ACCUMULATE(a1, s, b, x0 + blocks + k);
                PF_X8_BLOCK_SUM(s, b, (const int32_t *)x0[2 * blocks + k].q); PF_X8_ACCUMULATE(a2, s, b, x0 + 2 * blocks + k);
                PF_X8_BLOCK_SUM(s, b, (const int32_t *)x0[3 * blocks + k].q); PF_X8_ACCUMULATE(a3, s, b, x0 + 3 * blocks + k);
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
                const pf_u8_x8 *b = wr + k;
                __m256i s;
                PF_X8_BLOCK_SUM(s, b, (const int32_t *)xt[k].q);
                PF_X8_ACCUMULATE(a, s, b, xt + k);
            }
            _mm256_storeu_ps(y + (size_t)t * ys + r, a);
        }
    }
}

#ifdef PF_X8_WIDE
/// The 512-bit tile of two groups (rows r ..< r + 16) against four tokens: see q4_1_x8.h.
#define PF_X16_U8_ACCUMULATE(acc, s, dw, xb)                                                           \
    acc = _mm512_fmadd_ps(_mm512_mul_ps(dw, minus_bias), _mm512_set1_ps((xb)->s),                      \
                          _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps((xb)->d)), dw, acc))

/// Tokens 0 ..< ntok4 (a multiple of 4) of the sixteen rows from row r.
PF_X8_TARGET static void PF_X8_NAME(pf_u8_x16_tiles)(const pf_u8_x8 *w, float bias, int blocks, int r,
                                                     const pf_q8_block *x, int ntok4, float *y, size_t ys) {
    const __m512 minus_bias = _mm512_set1_ps(-bias);
    const pf_u8_x8 *wa = w + (size_t)(r / 8) * blocks, *wb = wa + blocks;
    for (int t = 0; t < ntok4; t += 4) {
        const pf_q8_block *x0 = x + (size_t)t * blocks;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < blocks; k++) {
            const pf_u8_x8 *ba = wa + k, *bb = wb + k;
            __m512i wv[8];
            for (int e = 0; e < 8; e++) wv[e] = PF_X16_JOIN(ba->qs + 32 * e, bb->qs + 32 * e);
            __m512 dw = PF_X16_HALVES(ba->d, bb->d);
            __m512i s;
            PF_X16_BLOCK_SUM(s, wv, (const int32_t *)x0[k].q); PF_X16_U8_ACCUMULATE(a0, s, dw, x0 + k);
            PF_X16_BLOCK_SUM(s, wv, (const int32_t *)x0[blocks + k].q); PF_X16_U8_ACCUMULATE(a1, s, dw, x0 + blocks + k);
            PF_X16_BLOCK_SUM(s, wv, (const int32_t *)x0[2 * blocks + k].q); PF_X16_U8_ACCUMULATE(a2, s, dw, x0 + 2 * blocks + k);
            PF_X16_BLOCK_SUM(s, wv, (const int32_t *)x0[3 * blocks + k].q); PF_X16_U8_ACCUMULATE(a3, s, dw, x0 + 3 * blocks + k);
        }
        _mm512_storeu_ps(y + (size_t)t * ys + r, a0);
        _mm512_storeu_ps(y + (size_t)(t + 1) * ys + r, a1);
        _mm512_storeu_ps(y + (size_t)(t + 2) * ys + r, a2);
        _mm512_storeu_ps(y + (size_t)(t + 3) * ys + r, a3);
    }
}
#undef PF_X16_U8_ACCUMULATE
#endif

PF_X8_TARGET static void PF_X8_NAME(pf_u8_x8_rows)(const pf_u8_x8 *w, float bias, int blocks, int r0, int r1,
                                                   const pf_q8_block *x, int ntok, float *y, size_t ys) {
    int r = r0;
#ifdef PF_X8_WIDE
    int ntok4 = ntok / 4 * 4;
    for (; ntok4 > 0 && r + 16 <= r1; r += 16) {
        PF_X8_NAME(pf_u8_x16_tiles)(w, bias, blocks, r, x, ntok4, y, ys);
        PF_X8_NAME(pf_u8_x8_group)(w, bias, blocks, r, x, ntok4, ntok, y, ys);
        PF_X8_NAME(pf_u8_x8_group)(w, bias, blocks, r + 8, x, ntok4, ntok, y, ys);
    }
#endif
    for (; r < r1; r += 8) PF_X8_NAME(pf_u8_x8_group)(w, bias, blocks, r, x, 0, ntok, y, ys);
}

#undef PF_X8_BLOCK_SUM
#ifdef PF_X8_WIDE
#undef PF_X16_BLOCK_SUM
#endif
#undef PF_X8_ACCUMULATE
#undef PF_X8_NAME
#undef PF_X8_CAT
#undef PF_X8_CAT2
