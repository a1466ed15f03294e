// What every interleaved 8-bit kernel shares (interleaved.c includes this once): the integer block
// sums, the one scaling definition, and how each format's block becomes eight vectors of unsigned
// bytes (vector e: elements 4e..4e+3 of the eight rows, one row a 32-bit lane). The kernels
// themselves are x8_kernel.h, instantiated per format by x8_formats.h, per instruction set.

// How far ahead of its blocks a group's one-token pass prefetches (see _x8_group); 0 for no
// prefetch (to compare, build with -Xcc -DPF_X8_AHEAD_BYTES=0).
#ifndef PF_X8_AHEAD_BYTES
#define PF_X8_AHEAD_BYTES 4096
#endif

/// Asks for the lines of the struct `bytes` past `*p` (into L1, as `prefetcht0`): how a tile of
/// four tokens fetches the next row group's block while it computes on this one's, and the
/// one-token pass the block PF_X8_AHEAD_BYTES ahead. A hint, so it faults on nothing, past the
/// end of a matrix too (the address is computed as an integer).
#define PF_X8_PREFETCH(p, bytes)                                                                       \
    do {                                                                                               \
        const char *c_ = (const char *)((uintptr_t)(p) + (uintptr_t)(bytes));                         \
        for (size_t o_ = 0; o_ < sizeof(*(p)); o_ += 64) __builtin_prefetch(c_ + o_, 0, 3);            \
        __builtin_prefetch(c_ + sizeof(*(p)) - 1, 0, 3);                                               \
    } while (0)

#define PF_X8_CAT2(a, b) a##b
#define PF_X8_CAT(a, b) PF_X8_CAT2(a, b)

/// The exact integer Σ qw·qx of a block for 8 rows (one per lane) against one token's block: the
/// 8 weight vectors against the token's bytes 4e..4e+3 broadcast, with `DOT` (PF_X8_DOT4, or
/// PF_X8_UDOT4 where bytes above 127 could saturate pmaddubsw). Two chains, added at the end: the
/// same integers either way.
#define PF_X8_BLOCK_SUM(s, w, xq, DOT)                                                                  \
    do {                                                                                               \
        __m256i s0 = _mm256_setzero_si256(), s1 = s0;                                                  \
        DOT(s0, w[0], _mm256_set1_epi32((xq)[0])); DOT(s1, w[1], _mm256_set1_epi32((xq)[1]));          \
        DOT(s0, w[2], _mm256_set1_epi32((xq)[2])); DOT(s1, w[3], _mm256_set1_epi32((xq)[3]));          \
        DOT(s0, w[4], _mm256_set1_epi32((xq)[4])); DOT(s1, w[5], _mm256_set1_epi32((xq)[5]));          \
        DOT(s0, w[6], _mm256_set1_epi32((xq)[6])); DOT(s1, w[7], _mm256_set1_epi32((xq)[7]));          \
        s = _mm256_add_epi32(s0, s1);                                                                  \
    } while (0)

/// acc = fma(m, sx, fma(Σ·dx, dw, acc)): the one definition of every (row, token) sum (see
/// interleaved.c), lane by lane.
#define PF_X8_ACCUMULATE(acc, s, dw, mw, xb)                                                           \
    acc = _mm256_fmadd_ps(mw, _mm256_set1_ps((xb)->s),                                                 \
                          _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps((xb)->d)), dw, acc))

/// Eight f16 values as floats (exact).
#define PF_X8_HALVES(a) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a)))

/// Q4_1's (and Q5_0's) nibbles: lane r of `qs` vector g holds row r's packed bytes 4g..4g+3,
/// elements 4g..4g+3 in the low nibbles and 16+4g..16+4g+3 in the high ones.
#define PF_X8_NIBBLES(wv, b)                                                                           \
    do {                                                                                               \
        const __m256i low = _mm256_set1_epi8(0x0F);                                                    \
        for (int g = 0; g < 4; g++) {                                                                  \
            __m256i v = _mm256_loadu_si256((const __m256i *)((b)->qs + 32 * g));                       \
            wv[g] = _mm256_and_si256(v, low);                                                          \
            wv[4 + g] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);                                \
        }                                                                                              \
    } while (0)

/// Q5_0's fifth bits, or-ed in at bit 4: byte 4r + i of the plane `qh` holds, in bit e, row r's
/// bit of element 4e + i, so one 16-bit shift and one mask per vector put it in place (the shifts
/// are at most 4, so no bit crosses into the neighbouring byte's bit 4).
#define PF_X8_FIFTH_BITS(wv, b)                                                                        \
    do {                                                                                               \
        const __m256i bit4 = _mm256_set1_epi8(0x10);                                                   \
        __m256i h = _mm256_loadu_si256((const __m256i *)(b)->qh);                                      \
        wv[0] = _mm256_or_si256(wv[0], _mm256_and_si256(_mm256_slli_epi16(h, 4), bit4));               \
        wv[1] = _mm256_or_si256(wv[1], _mm256_and_si256(_mm256_slli_epi16(h, 3), bit4));               \
        wv[2] = _mm256_or_si256(wv[2], _mm256_and_si256(_mm256_slli_epi16(h, 2), bit4));               \
        wv[3] = _mm256_or_si256(wv[3], _mm256_and_si256(_mm256_slli_epi16(h, 1), bit4));               \
        wv[4] = _mm256_or_si256(wv[4], _mm256_and_si256(h, bit4));                                     \
        wv[5] = _mm256_or_si256(wv[5], _mm256_and_si256(_mm256_srli_epi16(h, 1), bit4));               \
        wv[6] = _mm256_or_si256(wv[6], _mm256_and_si256(_mm256_srli_epi16(h, 2), bit4));               \
        wv[7] = _mm256_or_si256(wv[7], _mm256_and_si256(_mm256_srli_epi16(h, 3), bit4));               \
    } while (0)

/// Whole unsigned bytes (Q8_0's, biased by +128) as they are stored.
#define PF_X8_BYTES(wv, b)                                                                             \
    do {                                                                                               \
        for (int e = 0; e < 8; e++) wv[e] = _mm256_loadu_si256((const __m256i *)((b)->qs + 32 * e));  \
    } while (0)

// The 512-bit forms (the avx512vnni path's 16-row tiles): two groups' block k (rows r ..< r + 16)
// joined into zmm registers, each activation broadcast once for sixteen rows; lane by lane the
// same operations as the eight-row forms, so the same bits.
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

#define PF_X16_NIBBLES(wv, ba, bb)                                                                     \
    do {                                                                                               \
        const __m512i low = _mm512_set1_epi8(0x0F);                                                    \
        for (int g = 0; g < 4; g++) {                                                                  \
            __m512i v = PF_X16_JOIN((ba)->qs + 32 * g, (bb)->qs + 32 * g);                             \
            wv[g] = _mm512_and_si512(v, low);                                                          \
            wv[4 + g] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);                                \
        }                                                                                              \
    } while (0)

#define PF_X16_FIFTH_BITS(wv, ba, bb)                                                                  \
    do {                                                                                               \
        const __m512i bit4 = _mm512_set1_epi8(0x10);                                                   \
        __m512i h = PF_X16_JOIN((ba)->qh, (bb)->qh);                                                   \
        wv[0] = _mm512_or_si512(wv[0], _mm512_and_si512(_mm512_slli_epi16(h, 4), bit4));               \
        wv[1] = _mm512_or_si512(wv[1], _mm512_and_si512(_mm512_slli_epi16(h, 3), bit4));               \
        wv[2] = _mm512_or_si512(wv[2], _mm512_and_si512(_mm512_slli_epi16(h, 2), bit4));               \
        wv[3] = _mm512_or_si512(wv[3], _mm512_and_si512(_mm512_slli_epi16(h, 1), bit4));               \
        wv[4] = _mm512_or_si512(wv[4], _mm512_and_si512(h, bit4));                                     \
        wv[5] = _mm512_or_si512(wv[5], _mm512_and_si512(_mm512_srli_epi16(h, 1), bit4));               \
        wv[6] = _mm512_or_si512(wv[6], _mm512_and_si512(_mm512_srli_epi16(h, 2), bit4));               \
        wv[7] = _mm512_or_si512(wv[7], _mm512_and_si512(_mm512_srli_epi16(h, 3), bit4));               \
    } while (0)

#define PF_X16_BYTES(wv, ba, bb)                                                                       \
    do {                                                                                               \
        for (int e = 0; e < 8; e++) wv[e] = PF_X16_JOIN((ba)->qs + 32 * e, (bb)->qs + 32 * e);         \
    } while (0)
