/*
 * rc_pixels.c — per-frame pixel loops, portable C and AVX2. See rc_pixels.h.
 *
 * The AVX2 versions do the same integer arithmetic as the C ones, 8 or 16
 * pixels at a time: every intermediate value fits the lane it is computed in
 * (products of an 8-bit value and a weight <= 256 stay below 65536), so the
 * results are the same bytes, not approximations.
 */
#include "rc_pixels.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RC_PX_AVX2 1
#include <immintrin.h>
#endif

static int px_portable; /* tests: rc_px_use_simd(0) */

void rc_px_use_simd(int on) { px_portable = !on; }

static int px_avx2(void)
{
#ifdef RC_PX_AVX2
    return !px_portable && __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

const char *rc_px_simd_name(void) { return px_avx2() ? "avx2" : "c"; }

/* ------------------------------------------------------------------ C */

static void hrow_c(const uint8_t *row, int row_bytes, const int32_t *xi, const uint8_t *xf, int n, uint16_t *out)
{
    (void)row_bytes; /* reads row[xi] and row[xi + 1] only */
    for (int i = 0; i < n; i++) {
        int a = xi[i], fx = xf[i];
        out[i] = (uint16_t)(row[a] * (256 - fx) + row[a + 1] * fx);
    }
}

static void vrow_c(const uint16_t *h0, const uint16_t *h1, int fy, int n, uint8_t *out)
{
    uint32_t w0 = (uint32_t)(256 - fy), w1 = (uint32_t)fy;
    for (int i = 0; i < n; i++)
        out[i] = (uint8_t)((h0[i] * w0 + h1[i] * w1 + 32768u) >> 16);
}

static void put_c(uint8_t *d, const uint8_t *v, int n, int op)
{
    uint32_t a = (uint32_t)op, b = 256u - a;
    for (int i = 0; i < n; i++)
        d[i] = (uint8_t)((v[i] * a + d[i] * b) >> 8);
}

static void blend_c(uint8_t *d, const uint8_t *s, const uint8_t *a, int n, int opacity)
{
    /* No branch on a zero alpha (it leaves d as it is anyway): the loop vectorizes. */
    for (int i = 0; i < n; i++) {
        uint32_t aa = ((a[i] + (a[i] >> 7u)) * (uint32_t)opacity) >> 8; /* 0..256 */
        d[i] = (uint8_t)((s[i] * aa + d[i] * (256u - aa)) >> 8);
    }
}

static void over_c(uint8_t *d, const uint16_t *k, const uint16_t *b, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (uint8_t)((d[i] * k[i] + b[i] + 128u) >> 8);
}

/* --------------------------------------------------------------- AVX2 */

#ifdef RC_PX_AVX2
#define AVX2 __attribute__((target("avx2")))

/* 16 unsigned 16-bit lanes (each <= 255) to 16 bytes at out. */
AVX2 static inline void store16_u8(uint8_t *out, __m256i v)
{
    __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi16(v, v), 0x08);
    _mm_storeu_si128((__m128i *)out, _mm256_castsi256_si128(p));
}

AVX2 static inline __m256i load16_u16(const uint8_t *p)
{
    return _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)p));
}

AVX2 static void hrow_avx2(const uint8_t *row, int row_bytes, const int32_t *xi, const uint8_t *xf, int n,
                           uint16_t *out)
{
    const __m256i lo8 = _mm256_set1_epi32(0xff);
    int i = 0;
    /* a 4-byte gather at xi reads row[xi .. xi + 3]: inside the line while xi + 4 <= row_bytes */
    for (; i + 8 <= n && xi[i + 7] + 4 <= row_bytes; i += 8) {
        __m256i g = _mm256_i32gather_epi32((const int *)(const void *)row,
                                           _mm256_loadu_si256((const __m256i *)(const void *)(xi + i)), 1);
        __m256i p0 = _mm256_and_si256(g, lo8), p1 = _mm256_and_si256(_mm256_srli_epi32(g, 8), lo8);
        __m256i f = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(xf + i)));
        /* p0 * (256 - f) + p1 * f = p0 * 256 + (p1 - p0) * f */
        __m256i v = _mm256_add_epi32(_mm256_slli_epi32(p0, 8), _mm256_mullo_epi32(_mm256_sub_epi32(p1, p0), f));
        __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(v, v), 0x08);
        _mm_storeu_si128((__m128i *)(void *)(out + i), _mm256_castsi256_si128(p));
    }
    hrow_c(row, row_bytes, xi + i, xf + i, n - i, out + i);
}

AVX2 static void vrow_avx2(const uint16_t *h0, const uint16_t *h1, int fy, int n, uint8_t *out)
{
    const __m256i w0 = _mm256_set1_epi32(256 - fy), w1 = _mm256_set1_epi32(fy), half = _mm256_set1_epi32(32768),
                  z = _mm256_setzero_si256();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(h0 + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(h1 + i));
        __m256i lo = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_unpacklo_epi16(a, z), w0),
                                      _mm256_mullo_epi32(_mm256_unpacklo_epi16(b, z), w1));
        __m256i hi = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_unpackhi_epi16(a, z), w0),
                                      _mm256_mullo_epi32(_mm256_unpackhi_epi16(b, z), w1));
        lo = _mm256_srli_epi32(_mm256_add_epi32(lo, half), 16);
        hi = _mm256_srli_epi32(_mm256_add_epi32(hi, half), 16);
        /* unpack then pack per 128-bit lane: the 16 results in order */
        store16_u8(out + i, _mm256_packus_epi32(lo, hi));
    }
    vrow_c(h0 + i, h1 + i, fy, n - i, out + i);
}

AVX2 static void put_avx2(uint8_t *d, const uint8_t *v, int n, int op)
{
    const __m256i a = _mm256_set1_epi16((short)op), b = _mm256_set1_epi16((short)(256 - op));
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i r = _mm256_add_epi16(_mm256_mullo_epi16(load16_u16(v + i), a), _mm256_mullo_epi16(load16_u16(d + i), b));
        store16_u8(d + i, _mm256_srli_epi16(r, 8));
    }
    put_c(d + i, v + i, n - i, op);
}

AVX2 static void blend_avx2(uint8_t *d, const uint8_t *s, const uint8_t *a, int n, int opacity)
{
    const __m256i op = _mm256_set1_epi16((short)opacity), full = _mm256_set1_epi16(256);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i al = load16_u16(a + i);
        __m256i aa = _mm256_add_epi16(al, _mm256_srli_epi16(al, 7)); /* 0..256 */
        if (opacity < 256)                                          /* aa * opacity <= 65280 */
            aa = _mm256_srli_epi16(_mm256_mullo_epi16(aa, op), 8);
        __m256i r = _mm256_add_epi16(_mm256_mullo_epi16(load16_u16(s + i), aa),
                                     _mm256_mullo_epi16(load16_u16(d + i), _mm256_sub_epi16(full, aa)));
        store16_u8(d + i, _mm256_srli_epi16(r, 8));
    }
    blend_c(d + i, s + i, a + i, n - i, opacity);
}

AVX2 static void over_avx2(uint8_t *d, const uint16_t *k, const uint16_t *b, int n)
{
    const __m256i half = _mm256_set1_epi16(128);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i kk = _mm256_loadu_si256((const __m256i *)(const void *)(k + i));
        __m256i bb = _mm256_loadu_si256((const __m256i *)(const void *)(b + i));
        /* d * k + b <= 65280 (b <= (256 - k) * 255), + 128 still fits */
        __m256i r = _mm256_add_epi16(_mm256_add_epi16(_mm256_mullo_epi16(load16_u16(d + i), kk), bb), half);
        store16_u8(d + i, _mm256_srli_epi16(r, 8));
    }
    over_c(d + i, k + i, b + i, n - i);
}
#endif

/* ----------------------------------------------------------- dispatch */

/* name##_avx2 when the CPU has AVX2 (and tests did not ask for C), else name##_c. */
#ifdef RC_PX_AVX2
#define PX_DISPATCH(name, ...)                                                                                        \
    do {                                                                                                              \
        if (px_avx2())                                                                                                \
            name##_avx2(__VA_ARGS__);                                                                                 \
        else                                                                                                          \
            name##_c(__VA_ARGS__);                                                                                    \
    } while (0)
#else
#define PX_DISPATCH(name, ...) name##_c(__VA_ARGS__)
#endif

void rc_px_hrow(const uint8_t *row, int row_bytes, const int32_t *xi, const uint8_t *xf, int n, uint16_t *out)
{
    PX_DISPATCH(hrow, row, row_bytes, xi, xf, n, out);
}

void rc_px_vrow(const uint16_t *h0, const uint16_t *h1, int fy, int n, uint8_t *out)
{
    PX_DISPATCH(vrow, h0, h1, fy, n, out);
}

void rc_px_put(uint8_t *d, const uint8_t *v, int n, int op)
{
    if (op >= 256)
        memcpy(d, v, (size_t)n);
    else
        PX_DISPATCH(put, d, v, n, op);
}

void rc_px_blend(uint8_t *d, const uint8_t *s, const uint8_t *a, int n, int opacity)
{
    PX_DISPATCH(blend, d, s, a, n, opacity);
}

void rc_px_over(uint8_t *d, const uint16_t *k, const uint16_t *b, int n)
{
    PX_DISPATCH(over, d, k, b, n);
}
