// Dot products of encoded weight rows with fp32 activation rows, AVX2/FMA/F16C.
//
// Per 32-element block: p = q0*x0 + q1*x1 + q2*x2 + q3*x3 (8 lanes, fused multiply-adds in this
// order), acc = scale*p + acc (or acc += p for unscaled types), off += offset * sum(x of block);
// y = hsum(acc) + off. The 1-token and 4-token variants do exactly these operations for every
// (row, token) pair, so a token's result does not depend on how many tokens share the call.
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define PF_AVX2 __attribute__((target("avx2,fma,f16c")))
#include "kquants.h"

// A decoded block: its 32 values in four vectors, and its scale and offset either as floats or,
// for the types that store them as an adjacent f16 pair (Q4_1, Q5_1; Q8_0's lone scale), as
// `so` = (scale, offset, 0, 0): one conversion, and used where they are made, the scale
// broadcast and the offset term lane 1 of a vector fused multiply-add (bit for bit the scalar
// fmaf). Measured per type: for the others, building `so` costs more than it saves.
typedef struct { __m256 q0, q1, q2, q3; __m128 so; float scale, offset; } pf_block;

PF_AVX2 static inline float pf_half(const uint8_t *p) {
    uint16_t h; __builtin_memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// (h, 0, 0, 0) for the f16 at p; (h0, h1, 0, 0) for the two adjacent at p.
PF_AVX2 static inline __m128 pf_half_lane(const uint8_t *p) {
    uint16_t h; __builtin_memcpy(&h, p, 2);
    return _mm_cvtph_ps(_mm_cvtsi32_si128(h));
}
PF_AVX2 static inline __m128 pf_half_pair(const uint8_t *p) {
    int h; __builtin_memcpy(&h, p, 4);
    return _mm_cvtph_ps(_mm_cvtsi32_si128(h));
}
PF_AVX2 static inline float pf_lane1(__m128 v) { return _mm_cvtss_f32(_mm_movehdup_ps(v)); }

PF_AVX2 static inline __m256 pf_u8x8(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)); }
PF_AVX2 static inline __m256 pf_i8x8(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)); }

// Byte i holds element i (low nibble) and element i + 16 (high): each half of the 16 bytes is
// widened to 32-bit lanes once (straight from memory), then masked for one vector and shifted
// for the other. Integer lanes, elements 0-7, 8-15, 16-23, 24-31.
PF_AVX2 static inline void pf_nibble_lanes(const uint8_t *q, __m256i v[4]) {
    __m256i first = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)q));
    __m256i second = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(q + 8)));
    __m256i mask = _mm256_set1_epi32(0x0F);
    v[0] = _mm256_and_si256(first, mask);
    v[1] = _mm256_and_si256(second, mask);
    v[2] = _mm256_srli_epi32(first, 4);
    v[3] = _mm256_srli_epi32(second, 4);
}
PF_AVX2 static inline void pf_nibbles(const uint8_t *q, pf_block *b) {
    __m256i v[4];
    pf_nibble_lanes(q, v);
    b->q0 = _mm256_cvtepi32_ps(v[0]); b->q1 = _mm256_cvtepi32_ps(v[1]);
    b->q2 = _mm256_cvtepi32_ps(v[2]); b->q3 = _mm256_cvtepi32_ps(v[3]);
}

PF_AVX2 static inline void pf_decode_q4_1(const uint8_t *p, int j, pf_block *b) {
    (void)j;
    b->so = pf_half_pair(p); pf_nibbles(p + 4, b);
}
PF_AVX2 static inline void pf_decode_q4_0(const uint8_t *p, int j, pf_block *b) {
    (void)j;
    b->scale = pf_half(p); b->offset = -8.0f * b->scale; pf_nibbles(p + 2, b);
}
PF_AVX2 static inline void pf_decode_q8_0(const uint8_t *p, int j, pf_block *b) {
    (void)j;
    b->so = pf_half_lane(p);
    __m128i lo = _mm_loadu_si128((const __m128i *)(p + 2));
    __m128i hi = _mm_loadu_si128((const __m128i *)(p + 18));
    b->q0 = pf_i8x8(lo); b->q1 = pf_i8x8(_mm_srli_si128(lo, 8));
    b->q2 = pf_i8x8(hi); b->q3 = pf_i8x8(_mm_srli_si128(hi, 8));
}
PF_AVX2 static inline void pf_decode_f32(const uint8_t *p, int j, pf_block *b) {
    (void)j;
    const float *f = (const float *)p;
    b->scale = 1; b->offset = 0;
    b->q0 = _mm256_loadu_ps(f); b->q1 = _mm256_loadu_ps(f + 8);
    b->q2 = _mm256_loadu_ps(f + 16); b->q3 = _mm256_loadu_ps(f + 24);
}
PF_AVX2 static inline void pf_decode_f16(const uint8_t *p, int j, pf_block *b) {
    (void)j;
    b->scale = 1; b->offset = 0;
    b->q0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
    b->q1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 16)));
    b->q2 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 32)));
    b->q3 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 48)));
}
PF_AVX2 static inline __m256 pf_bf16x8(const uint8_t *p) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
PF_AVX2 static inline void pf_decode_bf16(const uint8_t *p, int j, pf_block *b) {
    (void)j;
    b->scale = 1; b->offset = 0;
    b->q0 = pf_bf16x8(p); b->q1 = pf_bf16x8(p + 16); b->q2 = pf_bf16x8(p + 32); b->q3 = pf_bf16x8(p + 48);
}

// Q5_0/Q5_1: nibbles as Q4_0, and bit i of qh is bit 4 of element i (or-ed in as integers, so
// one conversion per vector).
PF_AVX2 static inline __m256i pf_fifth_bits(__m256i qh, __m256i shifts) {
    return _mm256_slli_epi32(_mm256_and_si256(_mm256_srlv_epi32(qh, shifts), _mm256_set1_epi32(1)), 4);
}
PF_AVX2 static inline void pf_five_bits(const uint8_t *qs, uint32_t qh, pf_block *b) {
    __m256i v[4];
    pf_nibble_lanes(qs, v);
    __m256i bits = _mm256_set1_epi32((int)qh), shifts = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i eight = _mm256_set1_epi32(8);
    b->q0 = _mm256_cvtepi32_ps(_mm256_or_si256(v[0], pf_fifth_bits(bits, shifts)));
    shifts = _mm256_add_epi32(shifts, eight);
    b->q1 = _mm256_cvtepi32_ps(_mm256_or_si256(v[1], pf_fifth_bits(bits, shifts)));
    shifts = _mm256_add_epi32(shifts, eight);
    b->q2 = _mm256_cvtepi32_ps(_mm256_or_si256(v[2], pf_fifth_bits(bits, shifts)));
    shifts = _mm256_add_epi32(shifts, eight);
    b->q3 = _mm256_cvtepi32_ps(_mm256_or_si256(v[3], pf_fifth_bits(bits, shifts)));
}
PF_AVX2 static inline void pf_decode_q5_0(const uint8_t *p, int j, pf_block *b) {
    (void)j;
    uint32_t qh; __builtin_memcpy(&qh, p + 2, 4);
    b->scale = pf_half(p); b->offset = -16.0f * b->scale; pf_five_bits(p + 6, qh, b);
}
PF_AVX2 static inline void pf_decode_q5_1(const uint8_t *p, int j, pf_block *b) {
    (void)j;
    uint32_t qh; __builtin_memcpy(&qh, p + 4, 4);
    b->so = pf_half_pair(p); pf_five_bits(p + 8, qh, b);
}

// 32 bytes (unsigned) into four vectors of 8 floats, in element order.
PF_AVX2 static inline void pf_bytes_u8(__m256i v, pf_block *b) {
    __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
    b->q0 = pf_u8x8(lo); b->q1 = pf_u8x8(_mm_srli_si128(lo, 8));
    b->q2 = pf_u8x8(hi); b->q3 = pf_u8x8(_mm_srli_si128(hi, 8));
}

PF_AVX2 static inline void pf_decode_k(const uint8_t *p, int j, int fifth_bit, pf_block *b) {
    int sc, mn; pf_k_scale_min(p + 4, j, &sc, &mn);
    b->scale = pf_half(p) * (float)sc; b->offset = -(pf_half(p + 2) * (float)mn);
    pf_bytes_u8(pf_k_values(p, j, fifth_bit), b);
}
PF_AVX2 static inline void pf_decode_q4_k(const uint8_t *p, int j, pf_block *b) { pf_decode_k(p, j, 0, b); }
PF_AVX2 static inline void pf_decode_q5_k(const uint8_t *p, int j, pf_block *b) { pf_decode_k(p, j, 1, b); }

// The kernel's values are scale·(q − 32) per 16-element half (exact integers); the block's scale is d.
PF_AVX2 static inline void pf_decode_q6_k(const uint8_t *p, int j, pf_block *b) {
    __m256i v = pf_q6_values(p, j);
    const int8_t *sc = (const int8_t *)(p + 192);
    __m256 s0 = _mm256_set1_ps((float)sc[2 * j]), s1 = _mm256_set1_ps((float)sc[2 * j + 1]);
    __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
    b->q0 = _mm256_mul_ps(s0, pf_i8x8(lo)); b->q1 = _mm256_mul_ps(s0, pf_i8x8(_mm_srli_si128(lo, 8)));
    b->q2 = _mm256_mul_ps(s1, pf_i8x8(hi)); b->q3 = _mm256_mul_ps(s1, pf_i8x8(_mm_srli_si128(hi, 8)));
    b->scale = pf_half(p + 208); b->offset = 0;
}

PF_AVX2 static inline __m256 pf_partial(const pf_block *b, const float *x) {
    __m256 p = _mm256_mul_ps(b->q0, _mm256_loadu_ps(x));
    p = _mm256_fmadd_ps(b->q1, _mm256_loadu_ps(x + 8), p);
    p = _mm256_fmadd_ps(b->q2, _mm256_loadu_ps(x + 16), p);
    p = _mm256_fmadd_ps(b->q3, _mm256_loadu_ps(x + 24), p);
    return p;
}

// The same pairwise order as the Swift fallback's horizontalSum.
PF_AVX2 static inline float pf_hsum(__m256 v) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(q) + _mm_cvtss_f32(_mm_shuffle_ps(q, q, 1));
}

// Prefill: a weight row decoded once per block of tokens, into memory the tile reads back (L1):
// each block's four vectors exactly as the decoder makes them, its scale (1 for unscaled types:
// fma(1, p, acc) rounds as acc + p does) and offset. Rows of up to PF_DECODED_BLOCKS blocks.
#define PF_DECODED_BLOCKS 128
typedef struct {
    float q[PF_DECODED_BLOCKS * 32] __attribute__((aligned(32)));
    float scale[PF_DECODED_BLOCKS], offset[PF_DECODED_BLOCKS];
} pf_decoded;

// `nr` (1 or 2) decoded rows against `nt` (1 to 4) tokens: per (row, token) the operations of
// the kernels below, block by block, so the bits are theirs; x is loaded once for both rows and
// a decoded block once per token. Constant `nr` and `nt` at every call (always inlined).
PF_AVX2 static inline __attribute__((always_inline)) void pf_decoded_tile(
    const pf_decoded *ra, const pf_decoded *rb, const int nr, int blocks, const float *x, size_t xs,
    const float *sums, size_t ss, const int nt, int has_offset, float *y, size_t ys) {
    const pf_decoded *rows[2] = {ra, rb};
    __m256 acc[2][4];
    float off[2][4];
    for (int i = 0; i < nr; i++)
        for (int t = 0; t < nt; t++) { acc[i][t] = _mm256_setzero_ps(); off[i][t] = 0; }
    for (int k = 0; k < blocks; k++) {
        for (int t = 0; t < nt; t++) {
            const float *xb = x + (size_t)t * xs + (size_t)k * 32;
            __m256 x0 = _mm256_loadu_ps(xb), x1 = _mm256_loadu_ps(xb + 8);
            __m256 x2 = _mm256_loadu_ps(xb + 16), x3 = _mm256_loadu_ps(xb + 24);
            for (int i = 0; i < nr; i++) {
                const float *q = rows[i]->q + (size_t)k * 32;
                __m256 p = _mm256_mul_ps(_mm256_load_ps(q), x0);
                p = _mm256_fmadd_ps(_mm256_load_ps(q + 8), x1, p);
                p = _mm256_fmadd_ps(_mm256_load_ps(q + 16), x2, p);
                p = _mm256_fmadd_ps(_mm256_load_ps(q + 24), x3, p);
                acc[i][t] = _mm256_fmadd_ps(_mm256_set1_ps(rows[i]->scale[k]), p, acc[i][t]);
            }
        }
        if (has_offset)
            for (int i = 0; i < nr; i++)
                for (int t = 0; t < nt; t++) off[i][t] = __builtin_fmaf(rows[i]->offset[k], sums[(size_t)t * ss + k], off[i][t]);
    }
    for (int i = 0; i < nr; i++)
        for (int t = 0; t < nt; t++) y[(size_t)t * ys + i] = pf_hsum(acc[i][t]) + off[i][t];
}

// Tokens t0 ..< t1 (at least 4) of `nr` decoded rows: tiles of four tokens, then the rest.
PF_AVX2 static inline __attribute__((always_inline)) void pf_decoded_tokens(
    const pf_decoded *ra, const pf_decoded *rb, const int nr, int blocks, const float *x, size_t k,
    const float *sums, int t0, int t1, int has_offset, float *y, size_t ys) {
    int t = t0;
    for (; t + 4 <= t1; t += 4)
        pf_decoded_tile(ra, rb, nr, blocks, x + (size_t)t * k, k, sums + (size_t)t * blocks, blocks, 4, has_offset,
                        y + (size_t)t * ys, ys);
    switch (t1 - t) {
    case 3: pf_decoded_tile(ra, rb, nr, blocks, x + (size_t)t * k, k, sums + (size_t)t * blocks, blocks, 3, has_offset, y + (size_t)t * ys, ys); break;
    case 2: pf_decoded_tile(ra, rb, nr, blocks, x + (size_t)t * k, k, sums + (size_t)t * blocks, blocks, 2, has_offset, y + (size_t)t * ys, ys); break;
    case 1: pf_decoded_tile(ra, rb, nr, blocks, x + (size_t)t * k, k, sums + (size_t)t * blocks, blocks, 1, has_offset, y + (size_t)t * ys, ys); break;
    default: break;
    }
}

// `vso`: the block's scale and offset are in `so` (see pf_block).
#define PF_SCALE_VECTOR(b, vso) ((vso) ? _mm256_broadcastss_ps((b).so) : _mm256_set1_ps((b).scale))
#define PF_ACC(acc, p, b, scaled, vso) \
    acc = (scaled) ? _mm256_fmadd_ps(PF_SCALE_VECTOR(b, vso), (p), acc) : _mm256_add_ps(acc, (p))
// o += offset · sum: lane 1 of a vector fused multiply-add (vso), or the scalar one (the same bits).
typedef struct { __m128 v; float s; } pf_offset_sum;
#define PF_OFF(o, b, sum, vso) \
    do { if (vso) (o).v = _mm_fmadd_ps((b).so, _mm_set1_ps(sum), (o).v); else (o).s = __builtin_fmaf((b).offset, (sum), (o).s); } while (0)
#define PF_OFF_TOTAL(o, vso) ((vso) ? pf_lane1((o).v) : (o).s)
#define PF_OFF_ZERO {_mm_setzero_ps(), 0}

#define PF_DEFINE_DOT(NAME, DECODE, BYTES, GROUP, SCALED, OFFSET, VSO)                                  \
enum { NAME##_has_offset = (OFFSET) };                                                                  \
PF_AVX2 static inline void NAME##_avx2(const uint8_t *row, int blocks, const float *x, size_t xs,              \
                                const float *sums, size_t ss, int ntok, float *y, size_t ys) {          \
    if (ntok == 4) {                                                                                    \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                     \
        pf_offset_sum o0 = PF_OFF_ZERO, o1 = o0, o2 = o0, o3 = o0;                                      \
        PF_FOR_EACH_BLOCK(k, j, at, GROUP, BYTES) {                                                     \
            pf_block b; DECODE(row + at, j, &b);                                                        \
            const float *xb = x + (size_t)k * 32;                                                       \
            __m256 p0 = pf_partial(&b, xb), p1 = pf_partial(&b, xb + xs);                                \
            __m256 p2 = pf_partial(&b, xb + 2 * xs), p3 = pf_partial(&b, xb + 3 * xs);                   \
            PF_ACC(a0, p0, b, SCALED, VSO); PF_ACC(a1, p1, b, SCALED, VSO);                             \
            PF_ACC(a2, p2, b, SCALED, VSO); PF_ACC(a3, p3, b, SCALED, VSO);                             \
            if (OFFSET) {                                                                               \
                PF_OFF(o0, b, sums[k], VSO); PF_OFF(o1, b, sums[k + ss], VSO);                          \
                PF_OFF(o2, b, sums[k + 2 * ss], VSO); PF_OFF(o3, b, sums[k + 3 * ss], VSO);             \
            }                                                                                           \
        }                                                                                               \
        y[0] = pf_hsum(a0) + PF_OFF_TOTAL(o0, VSO); y[ys] = pf_hsum(a1) + PF_OFF_TOTAL(o1, VSO);        \
        y[2 * ys] = pf_hsum(a2) + PF_OFF_TOTAL(o2, VSO); y[3 * ys] = pf_hsum(a3) + PF_OFF_TOTAL(o3, VSO); \
        return;                                                                                         \
    }                                                                                                   \
    for (int t = 0; t < ntok; t++) {                                                                    \
        __m256 a = _mm256_setzero_ps(); pf_offset_sum o = PF_OFF_ZERO;                                  \
        const float *xt = x + (size_t)t * xs; const float *st = sums + (size_t)t * ss;                  \
        PF_FOR_EACH_BLOCK(k, j, at, GROUP, BYTES) {                                                     \
            pf_block b; DECODE(row + at, j, &b);                                                        \
            __m256 p = pf_partial(&b, xt + (size_t)k * 32);                                             \
            PF_ACC(a, p, b, SCALED, VSO);                                                               \
            if (OFFSET) PF_OFF(o, b, st[k], VSO);                                                       \
        }                                                                                               \
        y[(size_t)t * ys] = pf_hsum(a) + PF_OFF_TOTAL(o, VSO);                                          \
    }                                                                                                   \
}                                                                                                       \
/* The row's blocks decoded once into `d` (prefill: shared by a block of tokens). */                 \
PF_AVX2 static inline void NAME##_decode_row(const uint8_t *row, int blocks, pf_decoded *d) {           \
    PF_FOR_EACH_BLOCK(k, j, at, GROUP, BYTES) {                                                         \
        pf_block b; DECODE(row + at, j, &b);                                                            \
        float *q = d->q + (size_t)k * 32;                                                               \
        _mm256_store_ps(q, b.q0); _mm256_store_ps(q + 8, b.q1);                                         \
        _mm256_store_ps(q + 16, b.q2); _mm256_store_ps(q + 24, b.q3);                                   \
        d->scale[k] = !(SCALED) ? 1.0f : (VSO) ? _mm_cvtss_f32(b.so) : b.scale;                        \
        d->offset[k] = (VSO) ? pf_lane1(b.so) : b.offset;                                               \
    }                                                                                                   \
}                                                                                                       \
/* One token, two rows (decode): two independent accumulator chains, the same operations per row. */ \
/* `ahead`: bytes from each row to the row whose block is prefetched (see PF_PREFETCH_BYTES). */   \
PF_AVX2 static inline void NAME##_pair(const uint8_t *ra, const uint8_t *rb, int blocks, const float *x,    \
                                       const float *sums, float *y, size_t ahead) {                    \
    __m256 aa = _mm256_setzero_ps(), ab = aa; pf_offset_sum oa = PF_OFF_ZERO, ob = oa;                  \
    PF_FOR_EACH_BLOCK(k, j, at, GROUP, BYTES) {                                                         \
        size_t at_block = ahead + at + (size_t)j * ((BYTES) / (GROUP));                                 \
        _mm_prefetch((const char *)(ra + at_block), _MM_HINT_T1);                                       \
        _mm_prefetch((const char *)(rb + at_block), _MM_HINT_T1);                                       \
        pf_block ba, bb;                                                                                \
        DECODE(ra + at, j, &ba);                                                                        \
        DECODE(rb + at, j, &bb);                                                                        \
        const float *xb = x + (size_t)k * 32;                                                           \
        __m256 pa = pf_partial(&ba, xb), pb = pf_partial(&bb, xb);                                      \
        PF_ACC(aa, pa, ba, SCALED, VSO); PF_ACC(ab, pb, bb, SCALED, VSO);                               \
        if (OFFSET) { PF_OFF(oa, ba, sums[k], VSO); PF_OFF(ob, bb, sums[k], VSO); }                     \
    }                                                                                                   \
    y[0] = pf_hsum(aa) + PF_OFF_TOTAL(oa, VSO); y[1] = pf_hsum(ab) + PF_OFF_TOTAL(ob, VSO);             \
}

// Groups of one block, or K-quant super-blocks of 8 (BYTES is the group's size).
PF_DEFINE_DOT(pf_dot_f32, pf_decode_f32, 128, 1, 0, 0, 0)
PF_DEFINE_DOT(pf_dot_f16, pf_decode_f16, 64, 1, 0, 0, 0)
PF_DEFINE_DOT(pf_dot_bf16, pf_decode_bf16, 64, 1, 0, 0, 0)
PF_DEFINE_DOT(pf_dot_q8_0, pf_decode_q8_0, 34, 1, 1, 0, 1)
PF_DEFINE_DOT(pf_dot_q4_0, pf_decode_q4_0, 18, 1, 1, 1, 0)
PF_DEFINE_DOT(pf_dot_q4_1, pf_decode_q4_1, 20, 1, 1, 1, 1)
PF_DEFINE_DOT(pf_dot_q5_0, pf_decode_q5_0, 22, 1, 1, 1, 0)
PF_DEFINE_DOT(pf_dot_q5_1, pf_decode_q5_1, 24, 1, 1, 1, 1)
PF_DEFINE_DOT(pf_dot_q4_k, pf_decode_q4_k, 144, 8, 1, 1, 0)
PF_DEFINE_DOT(pf_dot_q5_k, pf_decode_q5_k, 176, 8, 1, 1, 0)
PF_DEFINE_DOT(pf_dot_q6_k, pf_decode_q6_k, 210, 8, 1, 0, 0)

#define PF_DEFINE_ROWS(NAME)                                                                           \
PF_AVX2 static void NAME##_rows(const uint8_t *w, size_t row_bytes, int blocks, int r0, int r1,          \
                                const float *x, int ntok, const float *sums, float *y, size_t ys) {     \
    const size_t k = (size_t)blocks * 32;                                                               \
    if (ntok >= 4 && blocks <= PF_DECODED_BLOCKS) {                                                     \
        /* Prefill: rows decoded once per block of tokens, two at a time. */                            \
        pf_decoded da, db;                                                                              \
        for (int t0 = 0; t0 < ntok; t0 += PF_TOKEN_BLOCK) {                                             \
            int t1 = t0 + PF_TOKEN_BLOCK < ntok ? t0 + PF_TOKEN_BLOCK : ntok;                           \
            int r = r0;                                                                                 \
            for (; r + 2 <= r1; r += 2) {                                                               \
                NAME##_decode_row(w + (size_t)r * row_bytes, blocks, &da);                              \
                NAME##_decode_row(w + (size_t)(r + 1) * row_bytes, blocks, &db);                        \
                pf_decoded_tokens(&da, &db, 2, blocks, x, k, sums, t0, t1, NAME##_has_offset, y + r, ys); \
            }                                                                                           \
            if (r < r1) {                                                                               \
                NAME##_decode_row(w + (size_t)r * row_bytes, blocks, &da);                              \
                pf_decoded_tokens(&da, &da, 1, blocks, x, k, sums, t0, t1, NAME##_has_offset, y + r, ys); \
            }                                                                                           \
        }                                                                                               \
        return;                                                                                         \
    }                                                                                                   \
    for (int t0 = 0; t0 < ntok; t0 += PF_TOKEN_BLOCK) {                                                 \
        int t1 = t0 + PF_TOKEN_BLOCK < ntok ? t0 + PF_TOKEN_BLOCK : ntok;                               \
        int r = r0;                                                                                     \
        if (t1 - t0 < 4)                                                                                \
            for (; r + 2 <= r1; r += 2)                                                                 \
                for (int t = t0; t < t1; t++)                                                           \
                    NAME##_pair(w + (size_t)r * row_bytes, w + (size_t)(r + 1) * row_bytes, blocks,     \
                                x + t * k, sums + (size_t)t * blocks, y + (size_t)t * ys + r,           \
                                pf_prefetch_ahead(row_bytes));                                         \
        for (; r < r1; r++) {                                                                           \
            const uint8_t *row = w + (size_t)r * row_bytes;                                             \
            int t = t0;                                                                                 \
            for (; t + 4 <= t1; t += 4)                                                                 \
                NAME##_avx2(row, blocks, x + t * k, k, sums + (size_t)t * blocks, blocks, 4,            \
                            y + (size_t)t * ys + r, ys);                                                \
            if (t < t1)                                                                                 \
                NAME##_avx2(row, blocks, x + t * k, k, sums + (size_t)t * blocks, blocks, t1 - t,       \
                            y + (size_t)t * ys + r, ys);                                                \
        }                                                                                               \
    }                                                                                                   \
}

// Tokens of X kept hot in cache while the rows of a range pass over them.
#define PF_TOKEN_BLOCK 64

PF_DEFINE_ROWS(pf_dot_f32)
PF_DEFINE_ROWS(pf_dot_f16)
PF_DEFINE_ROWS(pf_dot_bf16)
PF_DEFINE_ROWS(pf_dot_q8_0)
PF_DEFINE_ROWS(pf_dot_q4_0)
PF_DEFINE_ROWS(pf_dot_q4_1)
PF_DEFINE_ROWS(pf_dot_q5_0)
PF_DEFINE_ROWS(pf_dot_q5_1)
PF_DEFINE_ROWS(pf_dot_q4_k)
PF_DEFINE_ROWS(pf_dot_q5_k)
PF_DEFINE_ROWS(pf_dot_q6_k)

int pf_matmul_rows(int type, const void *weights, size_t row_bytes, int blocks, int r0, int r1,
                   const float *x, int ntok, const float *sums, float *y, size_t ys) {
    const uint8_t *w = (const uint8_t *)weights;
    switch (type) {
    case PF_WEIGHT_F32: pf_dot_f32_rows(w, row_bytes, blocks, r0, r1, x, ntok, sums, y, ys); return 1;
    case PF_WEIGHT_F16: pf_dot_f16_rows(w, row_bytes, blocks, r0, r1, x, ntok, sums, y, ys); return 1;
    case PF_WEIGHT_BF16: pf_dot_bf16_rows(w, row_bytes, blocks, r0, r1, x, ntok, sums, y, ys); return 1;
    case PF_WEIGHT_Q8_0: pf_dot_q8_0_rows(w, row_bytes, blocks, r0, r1, x, ntok, sums, y, ys); return 1;
    case PF_WEIGHT_Q4_0: pf_dot_q4_0_rows(w, row_bytes, blocks, r0, r1, x, ntok, sums, y, ys); return 1;
    case PF_WEIGHT_Q4_1: pf_dot_q4_1_rows(w, row_bytes, blocks, r0, r1, x, ntok, sums, y, ys); return 1;
    case PF_WEIGHT_Q5_0: pf_dot_q5_0_rows(w, row_bytes, blocks, r0, r1, x, ntok, sums, y, ys); return 1;
    case PF_WEIGHT_Q5_1: pf_dot_q5_1_rows(w, row_bytes, blocks, r0, r1, x, ntok, sums, y, ys); return 1;
    case PF_WEIGHT_Q4_K: pf_dot_q4_k_rows(w, row_bytes, blocks, r0, r1, x, ntok, sums, y, ys); return 1;
    case PF_WEIGHT_Q5_K: pf_dot_q5_k_rows(w, row_bytes, blocks, r0, r1, x, ntok, sums, y, ys); return 1;
    case PF_WEIGHT_Q6_K: pf_dot_q6_k_rows(w, row_bytes, blocks, r0, r1, x, ntok, sums, y, ys); return 1;
    default: return 0;
    }
}

#else
int pf_matmul_rows(int type, const void *weights, size_t row_bytes, int blocks, int r0, int r1,
                   const float *x, int ntok, const float *sums, float *y, size_t ys) {
    (void)type; (void)weights; (void)row_bytes; (void)blocks; (void)r0; (void)r1; (void)x; (void)ntok;
    (void)sums; (void)y; (void)ys;
    return 0;
}
#endif
