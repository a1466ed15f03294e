// The 8-row interleaved Q4_1 kernel, included once per instruction set by interleaved.c. The
// includer defines PF_X8_TARGET (the target attribute), PF_X8_DOT4(s, w, x) (s += for every
// 32-bit lane Σ of the 4 unsigned·signed byte products of w and x, exact) and PF_X8_SUFFIX.
// No include guard: it is meant to be included several times.
#define PF_X8_CAT2(a, b) a##b
#define PF_X8_CAT(a, b) PF_X8_CAT2(a, b)
#define PF_X8_NAME(base) PF_X8_CAT(base, PF_X8_SUFFIX)

/// The exact integer Σ qw·qx of block `b` for 8 rows (one per lane) against one token's block:
/// the 8 nibble vectors (elements 4e..4e+3 in vector e) against the token's bytes 4e..4e+3
/// broadcast. Two chains, added at the end: the same integers either way.
#define PF_X8_BLOCK_SUM(s, w, xq)                                                                       \
    do {                                                                                               \
        __m256i s0 = _mm256_setzero_si256(), s1 = s0;                                                  \
        PF_X8_DOT4(s0, w[0], _mm256_set1_epi32((xq)[0])); PF_X8_DOT4(s1, w[1], _mm256_set1_epi32((xq)[1])); \
        PF_X8_DOT4(s0, w[2], _mm256_set1_epi32((xq)[2])); PF_X8_DOT4(s1, w[3], _mm256_set1_epi32((xq)[3])); \
        PF_X8_DOT4(s0, w[4], _mm256_set1_epi32((xq)[4])); PF_X8_DOT4(s1, w[5], _mm256_set1_epi32((xq)[5])); \
        PF_X8_DOT4(s0, w[6], _mm256_set1_epi32((xq)[6])); PF_X8_DOT4(s1, w[7], _mm256_set1_epi32((xq)[7])); \
        s = _mm256_add_epi32(s0, s1);                                                                  \
    } while (0)

/// acc = fma(m, sx, fma(Σ·dx, dw, acc)): the one definition of every (row, token) sum (see
/// interleaved.c), lane by lane.
#define PF_X8_ACCUMULATE(acc, s, dw, mw, xb)                                                           \
    acc = _mm256_fmadd_ps(mw, _mm256_set1_ps((xb)->s),                                                 \
                          _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps((xb)->d)), dw, acc))

/// The block's eight f16 scales and minimums as floats (exact).
#define PF_X8_SCALES(dw, mw, blk)                                                                      \
    __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk)->d));                           \
    __m256 mw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk)->m))

/// Tokens t0 ..< ntok of the eight rows from row r.
PF_X8_TARGET static inline void PF_X8_NAME(pf_q4_1_x8_group)(const pf_q4_1_x8 *w, int blocks, int r, const pf_q8_block *x,
                                                             int t0, int ntok, float *y, size_t ys) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    {
        const pf_q4_1_x8 *wr = w + (size_t)(r / 8) * blocks;
        int t = t0;
        // Four tokens share each decoded block.
        for (; t + 4 <= ntok; t += 4) {
            const pf_q8_block *x0 = x + (size_t)t * blocks;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int k = 0; k < blocks; k++) {
                const pf_q4_1_x8 *b = wr + k;
                __m256i wv[8];
                for (int g = 0; g < 4; g++) {
                    __m256i v = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * g));
                    wv[g] = _mm256_and_si256(v, low);
                    wv[4 + g] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
                }
                PF_X8_SCALES(dw, mw, b);
                __m256i s;
                PF_X8_BLOCK_SUM(s, wv, (const int32_t *)x0[k].q); PF_X8_ACCUMULATE(a0, s, dw, mw, x0 + k);
                PF_X8_BLOCK_SUM(s, wv, (const int32_t *)x0[blocks + k].q); PF_X8_ACCUMULATE(a1, s, dw, mw, x0 + blocks + k);
                PF_X8_BLOCK_SUM(s, wv, (const int32_t *)x0[2 * blocks + k].q); PF_X8_ACCUMULATE(a2, s, dw, mw, x0 + 2 * blocks + k);
                PF_X8_BLOCK_SUM(s, wv, (const int32_t *)x0[3 * blocks + k].q); PF_X8_ACCUMULATE(a3, s, dw, mw, x0 + 3 * blocks + k);
            }
            _mm256_storeu_ps(y + (size_t)t * ys + r, a0);
            _mm256_storeu_ps(y + (size_t)(t + 1) * ys + r, a1);
            _mm256_storeu_ps(y + (size_t)(t + 2) * ys + r, a2);
            _mm256_storeu_ps(y + (size_t)(t + 3) * ys + r, a3);
        }
        // One token at a time (decode, and a step's last tokens). No software prefetch: the
        // group's blocks are one sequential stream, which the hardware prefetcher follows
        // (prefetching 16 KiB ahead, as the row-by-row kernel does, cost 20-25% from memory).
        for (; t < ntok; t++) {
            const pf_q8_block *xt = x + (size_t)t * blocks;
            __m256 a = _mm256_setzero_ps();
            for (int k = 0; k < blocks; k++) {
                const pf_q4_1_x8 *b = wr + k;
                __m256i wv[8];
                for (int g = 0; g < 4; g++) {
                    __m256i v = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * g));
                    wv[g] = _mm256_and_si256(v, low);
                    wv[4 + g] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
                }
                PF_X8_SCALES(dw, mw, b);
                __m256i s;
                PF_X8_BLOCK_SUM(s, wv, (const int32_t *)xt[k].q);
                PF_X8_ACCUMULATE(a, s, dw, mw, xt + k);
            }
            _mm256_storeu_ps(y + (size_t)t * ys + r, a);
        }
    }
}

#ifdef PF_X8_WIDE
/// The 512-bit tile: two groups' block k (rows r ..< r + 16, one row a 32-bit lane of a zmm)
/// against four tokens, each activation broadcast once for sixteen rows. Lane by lane the same
/// operations as the eight-row tile, so the same bits.
#define PF_X16_BLOCK_SUM(s, w, xq)                                                                      \
    do {                                                                                               \
        __m512i s0 = _mm512_setzero_si512(), s1 = s0;                                                  \
        s0 = _mm512_dpbusd_epi32(s0, w[0], _mm512_set1_epi32((xq)[0]));                                 \
        s1 = _mm512_dpbusd_epi32(s1, w[1], _mm512_set1_epi32((xq)[1]));                                 \
        s0 = _mm512_dpbusd_epi32(s0, w[2], _mm512_set1_epi32((xq)[2]));                                 \
        s1 = _mm512_dpbusd_epi32(s1, w[3], _mm512_set1_epi32((xq)[3]));                                 \
        s0 = _mm512_dpbusd_epi32(s0, w[4], _mm512_set1_epi32((xq)[4]));                                 \
        s1 = _mm512_dpbusd_epi32(s1, w[5], _mm512_set1_epi32((xq)[5]));                                 \
        s0 = _mm512_dpbusd_epi32(s0, w[6], _mm512_set1_epi32((xq)[6]));                                 \
        s1 = _mm512_dpbusd_epi32(s1, w[7], _mm512_set1_epi32((xq)[7]));                                 \
        s = _mm512_add_epi32(s0, s1);                                                                  \
    } while (0)

#define PF_X16_ACCUMULATE(acc, s, dw, mw, xb)                                                          \
    acc = _mm512_fmadd_ps(mw, _mm512_set1_ps((xb)->s),                                                 \
                          _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps((xb)->d)), dw, acc))

/// Sixteen f16 values, eight from each of two 16-byte arrays, as floats.
#define PF_X16_HALVES(a, b)                                                                            \
    _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(a))), \
                                            _mm_loadu_si128((const __m128i *)(b)), 1))

/// Two 32-byte halves as one zmm.
#define PF_X16_JOIN(a, b)                                                                              \
    _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(a))),               \
                       _mm256_loadu_si256((const __m256i *)(b)), 1)

/// Tokens 0 ..< ntok4 (a multiple of 4) of the sixteen rows from row r.
PF_X8_TARGET static void PF_X8_NAME(pf_q4_1_x16_tiles)(const pf_q4_1_x8 *w, int blocks, int r, const pf_q8_block *x,
                                                       int ntok4, float *y, size_t ys) {
    const __m512i low = _mm512_set1_epi8(0x0F);
    const pf_q4_1_x8 *wa = w + (size_t)(r / 8) * blocks, *wb = wa + blocks;
    for (int t = 0; t < ntok4; t += 4) {
        const pf_q8_block *x0 = x + (size_t)t * blocks;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < blocks; k++) {
            const pf_q4_1_x8 *ba = wa + k, *bb = wb + k;
            __m512i wv[8];
            for (int g = 0; g < 4; g++) {
                __m512i v = PF_X16_JOIN(ba->qs + 32 * g, bb->qs + 32 * g);
                wv[g] = _mm512_and_si512(v, low);
                wv[4 + g] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
            }
            __m512 dw = PF_X16_HALVES(ba->d, bb->d), mw = PF_X16_HALVES(ba->m, bb->m);
            __m512i s;
            PF_X16_BLOCK_SUM(s, wv, (const int32_t *)x0[k].q); PF_X16_ACCUMULATE(a0, s, dw, mw, x0 + k);
            PF_X16_BLOCK_SUM(s, wv, (const int32_t *)x0[blocks + k].q); PF_X16_ACCUMULATE(a1, s, dw, mw, x0 + blocks + k);
            PF_X16_BLOCK_SUM(s, wv, (const int32_t *)x0[2 * blocks + k].q); PF_X16_ACCUMULATE(a2, s, dw, mw, x0 + 2 * blocks + k);
            PF_X16_BLOCK_SUM(s, wv, (const int32_t *)x0[3 * blocks + k].q); PF_X16_ACCUMULATE(a3, s, dw, mw, x0 + 3 * blocks + k);
        }
        _mm512_storeu_ps(y + (size_t)t * ys + r, a0);
        _mm512_storeu_ps(y + (size_t)(t + 1) * ys + r, a1);
        _mm512_storeu_ps(y + (size_t)(t + 2) * ys + r, a2);
        _mm512_storeu_ps(y + (size_t)(t + 3) * ys + r, a3);
    }
}
#endif

PF_X8_TARGET static void PF_X8_NAME(pf_q4_1_x8_rows)(const pf_q4_1_x8 *w, int blocks, int r0, int r1,
                                                     const pf_q8_block *x, int ntok, float *y, size_t ys) {
    int r = r0;
#ifdef PF_X8_WIDE
    // Sixteen rows at a time where four tokens share the blocks; the last tokens, eight rows.
    int ntok4 = ntok / 4 * 4;
    for (; ntok4 > 0 && r + 16 <= r1; r += 16) {
        PF_X8_NAME(pf_q4_1_x16_tiles)(w, blocks, r, x, ntok4, y, ys);
        PF_X8_NAME(pf_q4_1_x8_group)(w, blocks, r, x, ntok4, ntok, y, ys);
        PF_X8_NAME(pf_q4_1_x8_group)(w, blocks, r + 8, x, ntok4, ntok, y, ys);
    }
#endif
    for (; r < r1; r += 8) PF_X8_NAME(pf_q4_1_x8_group)(w, blocks, r, x, 0, ntok, y, ys);
}

#undef PF_X8_ACCUMULATE
#undef PF_X8_SCALES
#ifdef PF_X8_WIDE
#undef PF_X16_ACCUMULATE
#endif
#undef PF_X8_NAME
// PF_X8_BLOCK_SUM and PF_X8_CAT stay for q5_0_x8.h, which is included next.
