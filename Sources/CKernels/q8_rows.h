// The 8-bit rows kernel, included once per instruction set by dot_q8.c. The includer defines
// PF_Q8_TARGET (the target attribute), PF_Q8_UDOT / PF_Q8_SDOT (Σ of 32 unsigned·signed or
// signed·signed byte products as 8 float lanes, exact integers) and PF_Q8_SUFFIX (appended to
// every name). The integer sums are exact on every path, so each copy gives the same bits.
// No include guard: it is meant to be included several times.
#define PF_Q8_CAT2(a, b) a##b
#define PF_Q8_CAT(a, b) PF_Q8_CAT2(a, b)
#define PF_Q8_NAME(base) PF_Q8_CAT(base, PF_Q8_SUFFIX)

// Whether blocks of `type` hold signed bytes, as a constant of the type: blocks read back from a
// buffer keep the branches folded.
#define PF_Q8_SIGNED(type) ((type) == PF_WEIGHT_Q8_0 || (type) == PF_WEIGHT_Q6_K)

// acc += (Σ·dx)·dw: the activation's scale is broadcast from memory into the product (one
// instruction with AVX-512's embedded broadcast), the weight's once per block for all tokens.
// `off` stays 0 for the types without an offset (Q8_0, Q6_K): `type` is a constant in each copy,
// so the test folds away, and y = Σ + 0 is what it always was.
#define PF_Q8_STEP(acc, off, b, xb)                                                                  \
    do {                                                                                             \
        __m256i xq = _mm256_loadu_si256((const __m256i *)(xb)->q);                                   \
        __m256 dot = PF_Q8_SIGNED(type) ? PF_Q8_SDOT((b).w, xq) : PF_Q8_UDOT((b).w, xq);                   \
        if (type == PF_WEIGHT_Q6_K) dot = _mm256_mul_ps(dot, (b).lanes);                              \
        acc = _mm256_fmadd_ps(_mm256_mul_ps(dot, _mm256_set1_ps((xb)->d)), _mm256_set1_ps((b).d), acc); \
        if (type != PF_WEIGHT_Q8_0 && type != PF_WEIGHT_Q6_K) off = __builtin_fmaf((b).offset, (xb)->s, off); \
    } while (0)

/// Blocks per row the prefill tile decodes ahead into a buffer on the stack (96 bytes each, two
/// rows): 4,096 columns. Longer rows take the single-row loop, which decodes as it goes.
#define PF_Q8_MAX_PREDECODED 128

/// Two adjacent rows against one token (y[0], y[1]): two independent accumulator chains.
__attribute__((always_inline)) PF_Q8_TARGET static inline void PF_Q8_NAME(pf_q8_two_rows)(
    int type, const uint8_t *ra, const uint8_t *rb, size_t group_bytes, int group, int blocks, const pf_q8_block *xt, float *y) {
    __m256 aa = _mm256_setzero_ps(), ab = aa; float oa = 0, ob = 0;
    PF_FOR_EACH_BLOCK(k, j, at, group, group_bytes) {
        pf_wblock ba, bb;
        pf_wdecode(type, ra + at, j, &ba);
        pf_wdecode(type, rb + at, j, &bb);
        PF_Q8_STEP(aa, oa, ba, xt + k);
        PF_Q8_STEP(ab, ob, bb, xt + k);
    }
    y[0] = pf_hsum8(aa) + oa;
    y[1] = pf_hsum8(ab) + ob;
}

/// Rows r0..<r1 against ntok activation rows. Always inlined into one copy per weight type (see
/// PF_DEFINE_Q8_ROWS), so the type's switch and the group's division fold away. Four tokens
/// share each decoded block; fewer than four (decode) take four rows at a time (then two), so
/// independent accumulator chains hide the latency of the multiply-adds and each activation
/// block is loaded once for them. Every (row, token) pair sees the same operations in the same
/// order either way.
__attribute__((always_inline)) PF_Q8_TARGET static inline void PF_Q8_NAME(pf_q8_rows)(
    int type, const uint8_t *w, size_t row_bytes, size_t group_bytes, int group, int blocks,
    int r0, int r1, const pf_q8_block *x, int ntok, float *y, size_t ys) {
    for (int t0 = 0; t0 < ntok; t0 += 64) {
        int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;
        int r = r0;
        if (t1 - t0 < 4) {
            const size_t ahead = pf_prefetch_ahead(row_bytes);
            for (; r + 4 <= r1; r += 4) {
                const uint8_t *ra = w + (size_t)r * row_bytes, *rb = ra + row_bytes, *rc = rb + row_bytes, *rd = rc + row_bytes;
                for (int t = t0; t < t1; t++) {
                    const pf_q8_block *xt = x + (size_t)t * blocks;
                    __m256 aa = _mm256_setzero_ps(), ab = aa, ac = aa, ad = aa; float oa = 0, ob = 0, oc = 0, od = 0;
                    PF_FOR_EACH_BLOCK(k, j, at, group, group_bytes) {
                        // The same block of the rows `ahead` bytes on (see PF_PREFETCH_BYTES).
                        size_t at_block = ahead + at + (size_t)j * (group_bytes / group);
                        _mm_prefetch((const char *)(ra + at_block), _MM_HINT_T1);
                        _mm_prefetch((const char *)(rb + at_block), _MM_HINT_T1);
                        _mm_prefetch((const char *)(rc + at_block), _MM_HINT_T1);
                        _mm_prefetch((const char *)(rd + at_block), _MM_HINT_T1);
                        pf_wblock ba, bb, bc, bd;
                        pf_wdecode(type, ra + at, j, &ba);
                        pf_wdecode(type, rb + at, j, &bb);
                        pf_wdecode(type, rc + at, j, &bc);
                        pf_wdecode(type, rd + at, j, &bd);
                        PF_Q8_STEP(aa, oa, ba, xt + k);
                        PF_Q8_STEP(ab, ob, bb, xt + k);
                        PF_Q8_STEP(ac, oc, bc, xt + k);
                        PF_Q8_STEP(ad, od, bd, xt + k);
                    }
                    float *yt = y + (size_t)t * ys + r;
                    yt[0] = pf_hsum8(aa) + oa; yt[1] = pf_hsum8(ab) + ob;
                    yt[2] = pf_hsum8(ac) + oc; yt[3] = pf_hsum8(ad) + od;
                }
            }
            for (; r + 2 <= r1; r += 2) {
                const uint8_t *ra = w + (size_t)r * row_bytes;
                for (int t = t0; t < t1; t++)
                    PF_Q8_NAME(pf_q8_two_rows)(type, ra, ra + row_bytes, group_bytes, group, blocks, x + (size_t)t * blocks,
                                               y + (size_t)t * ys + r);
            }
        }
        // Prefill: two rows against four tokens, each decoded block used four times and each
        // activation block twice; the tokens left over (fewer than four) and an odd last row
        // go through the loop below, with the same operations per (row, token).
        if (t1 - t0 >= 4 && blocks <= PF_Q8_MAX_PREDECODED) {
            for (; r + 2 <= r1; r += 2) {
                const uint8_t *ra = w + (size_t)r * row_bytes, *rb = ra + row_bytes;
                // The two rows decoded once for all the tokens of this block of tokens (the
                // blocks are the ones every other loop decodes, so the arithmetic is the same).
                pf_wblock da[PF_Q8_MAX_PREDECODED], db[PF_Q8_MAX_PREDECODED];
                PF_FOR_EACH_BLOCK(k, j, at, group, group_bytes) {
                    pf_wdecode(type, ra + at, j, &da[k]);
                    pf_wdecode(type, rb + at, j, &db[k]);
                }
                int t = t0;
                for (; t + 4 <= t1; t += 4) {
                    const pf_q8_block *x0 = x + (size_t)t * blocks, *x1 = x0 + blocks, *x2 = x1 + blocks, *x3 = x2 + blocks;
                    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                    float oa0 = 0, oa1 = 0, oa2 = 0, oa3 = 0, ob0 = 0, ob1 = 0, ob2 = 0, ob3 = 0;
                    for (int k = 0; k < blocks; k++) {
                        const pf_wblock ba = da[k], bb = db[k];
                        PF_Q8_STEP(a0, oa0, ba, x0 + k); PF_Q8_STEP(b0, ob0, bb, x0 + k);
                        PF_Q8_STEP(a1, oa1, ba, x1 + k); PF_Q8_STEP(b1, ob1, bb, x1 + k);
                        PF_Q8_STEP(a2, oa2, ba, x2 + k); PF_Q8_STEP(b2, ob2, bb, x2 + k);
                        PF_Q8_STEP(a3, oa3, ba, x3 + k); PF_Q8_STEP(b3, ob3, bb, x3 + k);
                    }
                    float *yt = y + (size_t)t * ys + r;
                    yt[0] = pf_hsum8(a0) + oa0; yt[1] = pf_hsum8(b0) + ob0;
                    yt[ys] = pf_hsum8(a1) + oa1; yt[ys + 1] = pf_hsum8(b1) + ob1;
                    yt[2 * ys] = pf_hsum8(a2) + oa2; yt[2 * ys + 1] = pf_hsum8(b2) + ob2;
                    yt[3 * ys] = pf_hsum8(a3) + oa3; yt[3 * ys + 1] = pf_hsum8(b3) + ob3;
                }
                for (; t < t1; t++)
                    PF_Q8_NAME(pf_q8_two_rows)(type, ra, rb, group_bytes, group, blocks, x + (size_t)t * blocks, y + (size_t)t * ys + r);
            }
        }
        for (; r < r1; r++) {
            const uint8_t *row = w + (size_t)r * row_bytes;
            int t = t0;
            for (; t + 4 <= t1; t += 4) {
                const pf_q8_block *x0 = x + (size_t)t * blocks;
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
                float o0 = 0, o1 = 0, o2 = 0, o3 = 0;
                PF_FOR_EACH_BLOCK(k, j, at, group, group_bytes) {
                    pf_wblock b; pf_wdecode(type, row + at, j, &b);
                    PF_Q8_STEP(a0, o0, b, x0 + k);
                    PF_Q8_STEP(a1, o1, b, x0 + blocks + k);
                    PF_Q8_STEP(a2, o2, b, x0 + 2 * blocks + k);
                    PF_Q8_STEP(a3, o3, b, x0 + 3 * blocks + k);
                }
                float *yt = y + (size_t)t * ys + r;
                yt[0] = pf_hsum8(a0) + o0; yt[ys] = pf_hsum8(a1) + o1;
                yt[2 * ys] = pf_hsum8(a2) + o2; yt[3 * ys] = pf_hsum8(a3) + o3;
            }
            for (; t < t1; t++) {
                const pf_q8_block *xt = x + (size_t)t * blocks;
                __m256 a = _mm256_setzero_ps(); float o = 0;
                PF_FOR_EACH_BLOCK(k, j, at, group, group_bytes) {
                    pf_wblock b; pf_wdecode(type, row + at, j, &b);
                    PF_Q8_STEP(a, o, b, xt + k);
                }
                y[(size_t)t * ys + r] = pf_hsum8(a) + o;
            }
        }
    }
}

// One copy of the kernel per weight type: TYPE, the bytes of a group of blocks and the blocks
// per group (8 for the K-quants' super-blocks) are constants in each.
#define PF_DEFINE_Q8_ROWS(NAME, TYPE, BYTES, GROUP)                                                   \
    PF_Q8_TARGET static void PF_Q8_NAME(NAME)(const uint8_t *w, size_t row_bytes, int blocks, int r0, int r1,           \
                             const pf_q8_block *x, int ntok, float *y, size_t ys) {                    \
        PF_Q8_NAME(pf_q8_rows)(TYPE, w, row_bytes, BYTES, GROUP, blocks, r0, r1, x, ntok, y, ys);                   \
    }
PF_DEFINE_Q8_ROWS(pf_q8_rows_q4_1, PF_WEIGHT_Q4_1, 20, 1)
PF_DEFINE_Q8_ROWS(pf_q8_rows_q4_0, PF_WEIGHT_Q4_0, 18, 1)
PF_DEFINE_Q8_ROWS(pf_q8_rows_q8_0, PF_WEIGHT_Q8_0, 34, 1)
PF_DEFINE_Q8_ROWS(pf_q8_rows_q5_0, PF_WEIGHT_Q5_0, 22, 1)
PF_DEFINE_Q8_ROWS(pf_q8_rows_q5_1, PF_WEIGHT_Q5_1, 24, 1)
PF_DEFINE_Q8_ROWS(pf_q8_rows_q4_k, PF_WEIGHT_Q4_K, 144, 8)
PF_DEFINE_Q8_ROWS(pf_q8_rows_q5_k, PF_WEIGHT_Q5_K, 176, 8)
PF_DEFINE_Q8_ROWS(pf_q8_rows_q6_k, PF_WEIGHT_Q6_K, 210, 8)

PF_Q8_TARGET static int PF_Q8_NAME(pf_q8_dispatch)(int type, const void *weights, size_t row_bytes, int blocks, int r0, int r1,
                      const pf_q8_block *x, int ntok, float *y, size_t ys) {
    const uint8_t *w = (const uint8_t *)weights;
    switch (type) {
    case PF_WEIGHT_Q4_1: PF_Q8_NAME(pf_q8_rows_q4_1)(w, row_bytes, blocks, r0, r1, x, ntok, y, ys); return 1;
    case PF_WEIGHT_Q4_0: PF_Q8_NAME(pf_q8_rows_q4_0)(w, row_bytes, blocks, r0, r1, x, ntok, y, ys); return 1;
    case PF_WEIGHT_Q8_0: PF_Q8_NAME(pf_q8_rows_q8_0)(w, row_bytes, blocks, r0, r1, x, ntok, y, ys); return 1;
    case PF_WEIGHT_Q5_0: PF_Q8_NAME(pf_q8_rows_q5_0)(w, row_bytes, blocks, r0, r1, x, ntok, y, ys); return 1;
    case PF_WEIGHT_Q5_1: PF_Q8_NAME(pf_q8_rows_q5_1)(w, row_bytes, blocks, r0, r1, x, ntok, y, ys); return 1;
    case PF_WEIGHT_Q4_K: PF_Q8_NAME(pf_q8_rows_q4_k)(w, row_bytes, blocks, r0, r1, x, ntok, y, ys); return 1;
    case PF_WEIGHT_Q5_K: PF_Q8_NAME(pf_q8_rows_q5_k)(w, row_bytes, blocks, r0, r1, x, ntok, y, ys); return 1;
    case PF_WEIGHT_Q6_K: PF_Q8_NAME(pf_q8_rows_q6_k)(w, row_bytes, blocks, r0, r1, x, ntok, y, ys); return 1;
    default: return 0;
    }
}

#undef PF_Q8_STEP
#undef PF_Q8_SIGNED
#undef PF_Q8_MAX_PREDECODED
#undef PF_DEFINE_Q8_ROWS
#undef PF_Q8_NAME
#undef PF_Q8_CAT
#undef PF_Q8_CAT2
