#ifndef PAGEDFLEX_CKERNELS_H
#define PAGEDFLEX_CKERNELS_H
// The few kernels Swift cannot express well: 8-bit integer dot products (pmaddubsw) and the CPU
// feature check that guards them. Every AVX2 function is compiled with a target attribute and
// called only after pf_cpu_has_avx2_fma() said yes; each has a portable fallback.
#include <stdint.h>
#include <stddef.h>

/// 1 when the CPU running this process has AVX2, FMA and F16C.
int pf_cpu_has_avx2_fma(void);
/// 1 when it also has AVX-VNNI (the VEX-encoded vpdpbusd), with the OS saving the AVX state.
int pf_cpu_has_avxvnni(void);
/// 1 when it also has AVX-512 F, VL and VNNI (vpdpbusd on 256-bit registers, EVEX-encoded).
int pf_cpu_has_avx512vnni(void);
/// 1 on an Intel CPU (the CPUID vendor string GenuineIntel).
int pf_cpu_is_intel(void);

/// The instruction sets the 8-bit kernel comes in (Kernels.KernelPath picks one).
enum { PF_ISA_AVX2 = 1, PF_ISA_AVXVNNI = 2, PF_ISA_AVX512VNNI = 3 };

/// 1 when the module that imports this header was compiled for x86-64-v3 (AVX2, FMA and F16C
/// enabled at compile time, as `-Xcc -march=x86-64-v3` does), else 0: lets a Swift program say
/// which build it is, since Swift has no conditional for target features.
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define PF_BUILT_FOR_X86_64_V3 1
#else
#define PF_BUILT_FOR_X86_64_V3 0
#endif

/// Weight encodings, as Kernels.WeightType numbers them.
enum {
    PF_WEIGHT_F32 = 0, PF_WEIGHT_F16 = 1, PF_WEIGHT_BF16 = 2, PF_WEIGHT_Q8_0 = 3, PF_WEIGHT_Q4_0 = 4, PF_WEIGHT_Q4_1 = 5,
    PF_WEIGHT_Q5_0 = 6, PF_WEIGHT_Q5_1 = 7, PF_WEIGHT_Q4_K = 8, PF_WEIGHT_Q5_K = 9, PF_WEIGHT_Q6_K = 10
};

/// Y[t][r] = W[r] · X[t] for rows r0 ..< r1 of W and tokens t < ntok: `weights` holds rows of
/// `blocks` 32-element blocks of `type` (`row_bytes` each; K-quants store them in super-blocks of
/// 8), X is ntok × (32·blocks) floats, Y has row stride `ys`, and `sums[t*blocks + k]` is the sum
/// of block k of X[t] (read only by the types with an offset: Q4_0/Q4_1/Q5_0/Q5_1/Q4_K/Q5_K). Up to four tokens share each decoded block; the arithmetic of every (row, token)
/// pair is the same whatever ntok is. AVX2/FMA/F16C: call only when pf_cpu_has_avx2_fma() is 1.
/// Returns 0 (doing nothing) when built for another architecture.
int pf_matmul_rows(int type, const void *weights, size_t row_bytes, int blocks, int r0, int r1,
                   const float *x, int ntok, const float *sums, float *y, size_t ys);

/// A block of 32 activations quantized to 8 bits: x ≈ d·q, and s = d·Σq.
typedef struct { float d; float s; int8_t q[32]; } pf_q8_block;

/// Quantizes `blocks` blocks of 32 floats (round to nearest, scale = max|x| / 127). Portable C.
void pf_quantize_q8(const float *x, int blocks, pf_q8_block *out);
/// pf_quantize_q8 in AVX2 (the same bytes and scales). Call only when pf_cpu_has_avx2_fma() is 1.
void pf_quantize_q8_avx2(const float *x, int blocks, pf_q8_block *out);

/// As pf_matmul_rows, with activations quantized by pf_quantize_q8 (`x` holds ntok × blocks
/// blocks) and integer dot products per block; for the quantized weight types only (Q8_0, Q4_0,
/// Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K). Returns 0
/// (doing nothing) for other types or architectures. AVX2: call only when pf_cpu_has_avx2_fma().
int pf_matmul_rows_q8(int type, const void *weights, size_t row_bytes, int blocks, int r0, int r1,
                      const pf_q8_block *x, int ntok, float *y, size_t ys);
/// pf_matmul_rows_q8 on a chosen instruction set (PF_ISA_*; the CPU must have it): pmaddubsw +
/// pmaddwd on AVX2, one vpdpbusd per block with VNNI. Every set gives the same bits.
int pf_matmul_rows_q8_on(int isa, int type, const void *weights, size_t row_bytes, int blocks, int r0, int r1,
                         const pf_q8_block *x, int ntok, float *y, size_t ys);

/// Eight Q4_1 rows' block k, interleaved for the 8-bit path (interleaved.c): `qs` holds four
/// vectors, lane `r` of vector `g` being row r's packed bytes 4g..4g+3 (elements 4g..4g+3 in the
/// low nibbles, 16+4g..16+4g+3 in the high ones); `d` and `m` the rows' scales and minimums as
/// the file's f16 bits (160 bytes, as many as the eight rows' blocks; one conversion per block).
typedef struct { uint8_t qs[128]; uint16_t d[8]; uint16_t m[8]; } pf_q4_1_x8;

/// Bytes of the interleaved copy of `rows` (a multiple of 8) Q4_1 rows of `blocks` blocks.
size_t pf_q4_1_x8_bytes(int rows, int blocks);
/// Writes the interleaved copy of `rows` (a multiple of 8) Q4_1 rows (`row_bytes` apart) to `out`.
void pf_q4_1_x8_pack(const void *weights, size_t row_bytes, int rows, int blocks, pf_q4_1_x8 *out);
/// Y[t][r] = W[r] · X[t] for rows r0 ..< r1 (multiples of 8) of an interleaved Q4_1 matrix and
/// 8-bit activations, on instruction set `isa` (the CPU must have it); every set and every ntok
/// gives the same bits. Returns 0 (doing nothing) for rows not on a multiple of 8, an unknown
/// set, or another architecture.
int pf_matmul_rows_q4_1_x8_on(int isa, const pf_q4_1_x8 *weights, int blocks, int r0, int r1,
                              const pf_q8_block *x, int ntok, float *y, size_t ys);

/// Eight rows' block k as unsigned bytes, interleaved: lane `r` of vector `e` of `qs` holds row
/// r's quants 4e..4e+3 as u = q + 128 (Q8_0), the block standing for d·(u − bias) with bias 128;
/// `d` the rows' scales as f16 bits.
typedef struct { uint8_t qs[256]; uint16_t d[8]; } pf_u8_x8;

/// Bytes of the unsigned-byte interleaved copy of `rows` (a multiple of 8) rows of `blocks` blocks.
size_t pf_u8_x8_bytes(int rows, int blocks);
/// Writes the interleaved copy of `rows` (a multiple of 8) Q8_0 rows (`row_bytes` apart) to `out`.
void pf_q8_0_x8_pack(const void *weights, size_t row_bytes, int rows, int blocks, pf_u8_x8 *out);

/// Eight Q5_0 rows' block k, interleaved: `qs` the low nibbles laid out as pf_q4_1_x8's, `qh` the
/// fifth bits (byte 4r + i, bit e: row r's element 4e + i), `d` the rows' scales as f16 bits. 176
/// bytes, as many as the eight rows' blocks; a block stands for d·(u − 16), u the 5-bit quant.
typedef struct { uint8_t qs[128]; uint8_t qh[32]; uint16_t d[8]; } pf_q5_0_x8;

/// Bytes of the interleaved copy of `rows` (a multiple of 8) Q5_0 rows of `blocks` blocks.
size_t pf_q5_0_x8_bytes(int rows, int blocks);
/// Writes the interleaved copy of `rows` (a multiple of 8) Q5_0 rows (`row_bytes` apart) to `out`.
void pf_q5_0_x8_pack(const void *weights, size_t row_bytes, int rows, int blocks, pf_q5_0_x8 *out);
/// pf_matmul_rows_q4_1_x8_on for an interleaved Q5_0 matrix: the same bits as its whole-byte
/// form would give through pf_matmul_rows_u8_x8_on with bias 16.
int pf_matmul_rows_q5_0_x8_on(int isa, const pf_q5_0_x8 *weights, int blocks, int r0, int r1,
                              const pf_q8_block *x, int ntok, float *y, size_t ys);
/// pf_matmul_rows_q4_1_x8_on for an unsigned-byte interleaved matrix whose blocks stand for
/// d·(u − bias) (128 for Q8_0).
int pf_matmul_rows_u8_x8_on(int isa, const pf_u8_x8 *weights, float bias, int blocks, int r0, int r1,
                            const pf_q8_block *x, int ntok, float *y, size_t ys);

/// Asks for `bytes` bytes from `p` to be brought into the caches (one prefetch per 64-byte line;
/// a hint: it changes no memory and faults on nothing).
static inline void pf_prefetch_range(const void *p, size_t bytes) {
    const char *c = (const char *)p;
    for (size_t i = 0; i < bytes; i += 64) __builtin_prefetch(c + i, 0, 2);
}

/// The `pause` hint for spin-wait loops.
static inline void pf_cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
#endif
