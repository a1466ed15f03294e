// The interleaved 8-bit formats, each an instantiation of x8_kernel.h: included once per
// instruction set by interleaved.c (after x8_common.h). A format says how a block becomes eight
// vectors of unsigned bytes, which pmaddubsw form is safe for them, and its offsets m:
//
// - Q4_1: its nibbles; m its minimums (f16).
// - Q5_0: the nibbles and a plane of fifth bits, u = q + 16 (0..31); m = −16·dw.
// - Q8_0 (pf_u8_x8): whole bytes stored biased, u = q + 128 (0..255); m = −128·dw, the bias given
//   by the caller.
//
// A biased block stands for dw·(u − bias), and Σ u·x = Σ (u − bias)·x + bias·Σx: bias·Σx comes
// back out through the offset term with m = −bias·dw (exact: the biases are powers of two).
// No include guard: it is meant to be included several times.
#define PF_XK_T pf_q4_1_x8
#define PF_XK_ID q4_1
#define PF_XK_DOT PF_X8_DOT4
#define PF_XK_DECODE(wv, b) PF_X8_NIBBLES(wv, b)
#define PF_XK_MINIMUM(dw, b) PF_X8_HALVES((b)->m)
#define PF_XK_DECODE16(wv, ba, bb) PF_X16_NIBBLES(wv, ba, bb)
#define PF_XK_MINIMUM16(dw, ba, bb) PF_X16_HALVES((ba)->m, (bb)->m)
#include "x8_kernel.h"

#define PF_XK_T pf_q5_0_x8
#define PF_XK_ID q5_0
#define PF_XK_DOT PF_X8_DOT4  // u ≤ 31: pmaddubsw's pair sums stay far from saturation
#define PF_XK_DECODE(wv, b) do { PF_X8_NIBBLES(wv, b); PF_X8_FIFTH_BITS(wv, b); } while (0)
#define PF_XK_MINIMUM(dw, b) _mm256_mul_ps(dw, minus_bias)
#define PF_XK_DECODE16(wv, ba, bb) do { PF_X16_NIBBLES(wv, ba, bb); PF_X16_FIFTH_BITS(wv, ba, bb); } while (0)
#define PF_XK_MINIMUM16(dw, ba, bb) _mm512_mul_ps(dw, minus_bias)
#include "x8_kernel.h"

#define PF_XK_T pf_u8_x8
#define PF_XK_ID u8
#define PF_XK_DOT PF_X8_UDOT4
#define PF_XK_DECODE(wv, b) PF_X8_BYTES(wv, b)
#define PF_XK_MINIMUM(dw, b) _mm256_mul_ps(dw, minus_bias)
#define PF_XK_DECODE16(wv, ba, bb) PF_X16_BYTES(wv, ba, bb)
#define PF_XK_MINIMUM16(dw, ba, bb) _mm512_mul_ps(dw, minus_bias)
#include "x8_kernel.h"
