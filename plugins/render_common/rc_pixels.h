/*
 * rc_pixels.h — the per-frame pixel loops of render_ffmpeg: the two passes
 * of bilinear image sampling and alpha blending over one row of one plane.
 *
 * Each loop has a portable C version and, on x86-64 CPUs with AVX2, an AVX2
 * version chosen at run time; both give the same bytes for the same input
 * (tests/unit/test_pixels.c compares them). Nothing here allocates; every
 * pointer is borrowed for the call.
 */
#ifndef RC_PIXELS_H
#define RC_PIXELS_H

#include <stdint.h>

/**
 * One source row sampled horizontally at n destination columns: out[i] =
 * row[xi[i]] * (256 - xf[i]) + row[xi[i] + 1] * xf[i] (0..65280, unrounded).
 * xi must be non-decreasing with 0 <= xi[i] and xi[i] + 1 < row_bytes;
 * row_bytes is how many bytes may be read from row (its line size), so the
 * vector version reads past the last sampled pixel only inside the line.
 */
void rc_px_hrow(const uint8_t *row, int row_bytes, const int32_t *xi, const uint8_t *xf, int n, uint16_t *out);

/** The vertical tap of two such rows: out[i] = (h0[i] * (256 - fy) + h1[i] * fy + 32768) >> 16; fy 0..256. */
void rc_px_vrow(const uint16_t *h0, const uint16_t *h1, int fy, int n, uint8_t *out);

/** d[i] = v[i] when op >= 256, else (v[i] * op + d[i] * (256 - op)) >> 8; op 0..256. */
void rc_px_put(uint8_t *d, const uint8_t *v, int n, int op);

/**
 * s over d with per-pixel alpha a (0..255) times opacity (0..256):
 * aa = ((a + (a >> 7)) * opacity) >> 8, d = (s * aa + d * (256 - aa)) >> 8.
 */
void rc_px_blend(uint8_t *d, const uint8_t *s, const uint8_t *a, int n, int opacity);

/**
 * A flattened overlay: d[i] = (d[i] * k[i] + b[i] + 128) >> 8, where k (0..256)
 * is how much of what is under shows and b (<= (256 - k) * 255) the
 * overlay's premultiplied colour, both in 1/256.
 */
void rc_px_over(uint8_t *d, const uint16_t *k, const uint16_t *b, int n);

/** Tests: 0 makes every loop use the portable C version, 1 (the default) the best the CPU has. */
void rc_px_use_simd(int on);

/** "avx2" or "c": what the loops use now. */
const char *rc_px_simd_name(void);

#endif
