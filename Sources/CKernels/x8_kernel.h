// One interleaved 8-bit kernel: rows r0 ..< r1 (multiples of 8) of one format against ntok
// tokens, on one instruction set. Instantiated by x8_formats.h, which defines the format:
//
//   PF_XK_T                     the struct of eight rows' block k (with f16 scales `d`)
//   PF_XK_ID                    the format's name in the functions' (q4_1 → pf_q4_1_x8_rows…)
//   PF_XK_DOT                   PF_X8_DOT4, or PF_X8_UDOT4 for bytes that reach 255
//   PF_XK_DECODE(wv, b)         the block's eight vectors of unsigned bytes
//   PF_XK_MINIMUM(dw, b)        its offsets m, given its scales (may use `minus_bias`: −bias)
//   PF_XK_DECODE16, PF_XK_MINIMUM16   the same for two groups in zmm registers (PF_X8_WIDE)
//
// and interleaved.c the instruction set (PF_X8_TARGET, PF_X8_DOT4, PF_X8_UDOT4, PF_X8_SUFFIX,
// and PF_X8_WIDE on the avx512vnni path). Every tile computes PF_X8_ACCUMULATE's definition lane
// by lane, so the bits depend on neither the tile, the instruction set nor the batch. The
// format's macros are undefined at the end. No include guard: it is meant to be included
// several times.
#define PF_XK_FN(base) PF_X8_CAT(PF_X8_CAT(PF_X8_CAT(pf_, PF_XK_ID), base), PF_X8_SUFFIX)

/// Tokens t0 ..< ntok of the eight rows from row r: four tokens share each decoded block, then
/// one token at a time (decode, and a step's last tokens).
///
/// The first tile of four tokens prefetches the next group's blocks (this group's next tiles
/// find theirs in L1): a tile computes long enough per byte that the hardware prefetcher,
/// trained only by demand misses, falls behind, and the stream stalls on memory at every group.
/// From memory, one thread, 1536 × 576 Q4_1: 4 tokens 27 → 15 µs, 16 tokens 78 → 42 µs on
/// Zen 5 (avx512vnni); the warm kernel takes 11 and 41.
///
/// A group that runs no 4-token tile (decode) prefetches PF_X8_AHEAD_BYTES ahead of each block in
/// its one-token pass (after a tile, the tile's prefetch has fetched the next group): the group's
/// blocks are one sequential stream, but Intel's L2 streamer restarts at every 4 KiB page and fell
/// behind it. Ice Lake Xeon, 2 threads, q8 decode after 128: SmolLM2 ~122 → ~160
/// tok/s (1, 2, 3, 4, 6 and 16 KiB ahead all gained; 4 KiB most), Gemma 3 57 → 67, weights at
/// 69 → 84 % of the read bandwidth. On Zen 5 it gains too: 2 threads, q8 decode after 128, with
/// and without it alternating (built with -DPF_X8_AHEAD_BYTES=0), SmolLM2 275.8 vs 239.1 tok/s
/// (means of 5 pairs; one even), Gemma 3 126.3 vs 117.5 (3 pairs). 16 KiB ahead, as the
/// row-by-row kernel does, cost one thread 20-25 %.
PF_X8_TARGET static inline void PF_XK_FN(_x8_group)(const PF_XK_T *w, float bias, int blocks, int r,
                                                   const pf_q8_block *x, int t0, int ntok, float *y, size_t ys) {
    const __m256 minus_bias = _mm256_set1_ps(-bias);
    (void)minus_bias;
    const PF_XK_T *wr = w + (size_t)(r / 8) * blocks;
    const size_t group_bytes = (size_t)blocks * sizeof(PF_XK_T);
    int t = t0;
    for (; t + 4 <= ntok; t += 4) {
        const pf_q8_block *x0 = x + (size_t)t * blocks;
        const int ahead = t == t0;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < blocks; k++) {
            const PF_XK_T *b = wr + k;
            if (ahead) PF_X8_PREFETCH(b, group_bytes);
            __m256i wv[8];
            PF_XK_DECODE(wv, b);
            __m256 dw = PF_X8_HALVES(b->d), mw = PF_XK_MINIMUM(dw, b);
            __m256i s;
            PF_X8_BLOCK_SUM(s, wv, (const int32_t *)x0[k].q, PF_XK_DOT); PF_X8_ACCUMULATE(a0, s, dw, mw, x0 + k);
            PF_X8_BLOCK_SUM(s, wv, (const int32_t *)x0[blocks + k].q, PF_XK_DOT); PF_X8_ACCUMULATE(a1, s, dw, mw, x0 + blocks + k);
            PF_X8_BLOCK_SUM(s, wv, (const int32_t *)x0[2 * blocks + k].q, PF_XK_DOT); PF_X8_ACCUMULATE(a2, s, dw, mw, x0 + 2 * blocks + k);
            PF_X8_BLOCK_SUM(s, wv, (const int32_t *)x0[3 * blocks + k].q, PF_XK_DOT); PF_X8_ACCUMULATE(a3, s, dw, mw, x0 + 3 * blocks + k);
        }
        _mm256_storeu_ps(y + (size_t)t * ys + r, a0);
        _mm256_storeu_ps(y + (size_t)(t + 1) * ys + r, a1);
        _mm256_storeu_ps(y + (size_t)(t + 2) * ys + r, a2);
        _mm256_storeu_ps(y + (size_t)(t + 3) * ys + r, a3);
    }
    for (; t < ntok; t++) {
        const pf_q8_block *xt = x + (size_t)t * blocks;
        const int ahead = PF_X8_AHEAD_BYTES > 0 && t == 0;
        __m256 a = _mm256_setzero_ps();
        for (int k = 0; k < blocks; k++) {
            const PF_XK_T *b = wr + k;
            if (ahead) PF_X8_PREFETCH(b, PF_X8_AHEAD_BYTES);
            __m256i wv[8];
            PF_XK_DECODE(wv, b);
            __m256 dw = PF_X8_HALVES(b->d), mw = PF_XK_MINIMUM(dw, b);
            __m256i s;
            PF_X8_BLOCK_SUM(s, wv, (const int32_t *)xt[k].q, PF_XK_DOT);
            PF_X8_ACCUMULATE(a, s, dw, mw, xt + k);
        }
        _mm256_storeu_ps(y + (size_t)t * ys + r, a);
    }
}

#ifdef PF_X8_WIDE
/// Tokens 0 ..< ntok4 (a multiple of 4) of the sixteen rows from row r; the first tile
/// prefetches the next sixteen rows' blocks, as _x8_group does.
PF_X8_TARGET static void PF_XK_FN(_x16_tiles)(const PF_XK_T *w, float bias, int blocks, int r, const pf_q8_block *x,
                                             int ntok4, float *y, size_t ys) {
    const __m512 minus_bias = _mm512_set1_ps(-bias);
    (void)minus_bias;
    const PF_XK_T *wa = w + (size_t)(r / 8) * blocks, *wb = wa + blocks;
    const size_t group_bytes = (size_t)blocks * sizeof(PF_XK_T);
    for (int t = 0; t < ntok4; t += 4) {
        const pf_q8_block *x0 = x + (size_t)t * blocks;
        const int ahead = t == 0;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < blocks; k++) {
            const PF_XK_T *ba = wa + k, *bb = wb + k;
            if (ahead) { PF_X8_PREFETCH(ba, 2 * group_bytes); PF_X8_PREFETCH(bb, 2 * group_bytes); }
            __m512i wv[8];
            PF_XK_DECODE16(wv, ba, bb);
            __m512 dw = PF_X16_HALVES(ba->d, bb->d), mw = PF_XK_MINIMUM16(dw, ba, bb);
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

PF_X8_TARGET static void PF_XK_FN(_x8_rows)(const PF_XK_T *w, float bias, int blocks, int r0, int r1,
                                           const pf_q8_block *x, int ntok, float *y, size_t ys) {
    int r = r0;
#ifdef PF_X8_WIDE
    // Sixteen rows at a time where four tokens share the blocks; the last tokens, eight rows.
    int ntok4 = ntok / 4 * 4;
    for (; ntok4 > 0 && r + 16 <= r1; r += 16) {
        PF_XK_FN(_x16_tiles)(w, bias, blocks, r, x, ntok4, y, ys);
        PF_XK_FN(_x8_group)(w, bias, blocks, r, x, ntok4, ntok, y, ys);
        PF_XK_FN(_x8_group)(w, bias, blocks, r + 8, x, ntok4, ntok, y, ys);
    }
#endif
    for (; r < r1; r += 8) PF_XK_FN(_x8_group)(w, bias, blocks, r, x, 0, ntok, y, ys);
}

#undef PF_XK_FN
#undef PF_XK_T
#undef PF_XK_ID
#undef PF_XK_DOT
#undef PF_XK_DECODE
#undef PF_XK_MINIMUM
#undef PF_XK_DECODE16
#undef PF_XK_MINIMUM16
