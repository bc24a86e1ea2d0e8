/*
 * test_pixels.c — the per-frame pixel loops of render_ffmpeg
 * (plugins/render_common/rc_pixels.c, compiled in):
 *   - known answers of each loop in portable C (the formulas rc_pixels.h states);
 *   - the AVX2 versions give the same bytes as the C ones over random rows of
 *     every length 1..80 and long ones, every weight and opacity edge
 *     (0, 1, 128, 255, 256), full and empty alpha, and samples at the last
 *     pixel of a row whose line ends at an unmapped page (a read past the
 *     line faults; the sanitizer does not see a gather's reads).
 * On a CPU without AVX2 the comparison is skipped and says so.
 */
#include "rc_pixels.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A row whose last byte is the last readable byte: the page after it is
   unmapped, so a read past the line faults (the sanitizer cannot see a
   gather's reads). */
static uint8_t *guard_page;
static size_t page;
static uint8_t *row_at_edge(const uint8_t *src, int n)
{
    if (!guard_page) {
        page = (size_t)sysconf(_SC_PAGESIZE);
        guard_page = mmap(NULL, page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (guard_page == MAP_FAILED || mprotect(guard_page + page, page, PROT_NONE) != 0)
            abort();
    }
    uint8_t *r = guard_page + page - (size_t)n;
    memcpy(r, src, (size_t)n);
    return r;
}

static uint32_t seed = 12345;
static uint32_t rnd(void)
{
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
}

static void test_known(void)
{
    rc_px_use_simd(0);
    CHECK(strcmp(rc_px_simd_name(), "c") == 0);
    uint8_t row[4] = {0, 255, 10, 20};
    int32_t xi[3] = {0, 1, 2};
    uint8_t xf[3] = {128, 0, 64};
    uint16_t h[3];
    rc_px_hrow(row, 4, xi, xf, 3, h);
    CHECK(h[0] == 255 * 128);            /* halfway between 0 and 255, unrounded */
    CHECK(h[1] == 255 * 256);            /* exactly on a pixel */
    CHECK(h[2] == 10 * 192 + 20 * 64);   /* a quarter of the way */
    uint16_t a[2] = {0, 65280}, b[2] = {65280, 65280};
    uint8_t v[2];
    rc_px_vrow(a, b, 128, 2, v);
    CHECK(v[0] == 128 && v[1] == 255);   /* (0 * 128 + 65280 * 128 + 32768) >> 16 = 128 */
    rc_px_vrow(a, b, 0, 2, v);
    CHECK(v[0] == 0 && v[1] == 255);
    uint8_t d[3] = {100, 100, 100}, s[3] = {200, 200, 200}, al[3] = {0, 255, 128};
    rc_px_put(d, s, 3, 256);
    CHECK(d[0] == 200 && d[2] == 200);   /* opaque: a copy */
    memset(d, 100, 3);
    rc_px_put(d, s, 3, 64);
    CHECK(d[0] == (200 * 64 + 100 * 192) >> 8);
    memset(d, 100, 3);
    rc_px_blend(d, s, al, 3, 256);
    CHECK(d[0] == 100 && d[1] == 200);   /* alpha 0 leaves d, alpha 255 at full opacity writes s */
    CHECK(d[2] == (200 * 128 + 100 * 128) >> 8);
    uint16_t fk[3] = {256, 0, 128}, fb[3] = {0, 255 * 256, 200 * 128};
    memset(d, 100, 3);
    rc_px_over(d, fk, fb, 3);
    CHECK(d[0] == 100 && d[1] == 255 && d[2] == 150); /* clear, opaque white, half of 200 over 100 */
    rc_px_use_simd(1);
}

/* One random case of every loop at length n, both versions, compared. */
static int same_at(int n, int weight)
{
    int ok = 1, sw = n + 1 + (int)(rnd() % 3); /* the source row: at least n + 1 pixels */
    uint8_t *row = malloc((size_t)sw), *xf = malloc((size_t)n), *o1 = malloc((size_t)n), *o2 = malloc((size_t)n);
    uint8_t *s = malloc((size_t)n), *al = malloc((size_t)n), *d1 = malloc((size_t)n), *d2 = malloc((size_t)n);
    int32_t *xi = malloc(sizeof *xi * (size_t)n);
    uint16_t *h1 = malloc(sizeof *h1 * (size_t)n), *h2 = malloc(sizeof *h2 * (size_t)n);
    uint16_t *g0 = malloc(sizeof *g0 * (size_t)n), *g1 = malloc(sizeof *g1 * (size_t)n);
    if (!row || !xf || !o1 || !o2 || !s || !al || !d1 || !d2 || !xi || !h1 || !h2 || !g0 || !g1)
        abort();
    for (int i = 0; i < sw; i++)
        row[i] = (uint8_t)rnd();
    /* non-decreasing columns up to the last pair (sw - 2), as sample_plane makes them */
    for (int i = 0; i < n; i++) {
        int x = (int)((int64_t)i * (sw - 2) / (n > 1 ? n - 1 : 1));
        xi[i] = i == n - 1 ? sw - 2 : x;
        xf[i] = weight >= 0 ? (uint8_t)(weight > 255 ? 255 : weight) : (uint8_t)rnd();
        s[i] = (uint8_t)rnd();
        al[i] = i % 5 == 0 ? 0 : i % 5 == 1 ? 255 : (uint8_t)rnd();
        d1[i] = d2[i] = (uint8_t)rnd();
        g0[i] = (uint16_t)(rnd() % 65281);
        g1[i] = (uint16_t)(rnd() % 65281);
    }
    int fy = weight >= 0 ? weight : (int)(rnd() % 257), op = weight >= 0 ? weight : (int)(rnd() % 257);

    const uint8_t *edge = (size_t)sw <= 4096 ? row_at_edge(row, sw) : row;
    rc_px_use_simd(0);
    rc_px_hrow(row, sw, xi, xf, n, h1);
    rc_px_use_simd(1);
    rc_px_hrow(edge, sw, xi, xf, n, h2);
    ok &= memcmp(h1, h2, sizeof *h1 * (size_t)n) == 0;

    rc_px_use_simd(0);
    rc_px_vrow(g0, g1, fy, n, o1);
    rc_px_use_simd(1);
    rc_px_vrow(g0, g1, fy, n, o2);
    ok &= memcmp(o1, o2, (size_t)n) == 0;

    rc_px_use_simd(0);
    rc_px_put(d1, s, n, op);
    rc_px_use_simd(1);
    rc_px_put(d2, s, n, op);
    ok &= memcmp(d1, d2, (size_t)n) == 0;

    rc_px_use_simd(0);
    rc_px_blend(d1, s, al, n, op);
    rc_px_use_simd(1);
    rc_px_blend(d2, s, al, n, op);
    ok &= memcmp(d1, d2, (size_t)n) == 0;

    /* a flattened overlay: k and b as rc_captions makes them (b <= (256 - k) * 255) */
    for (int i = 0; i < n; i++) {
        int k = weight >= 0 ? weight : (int)(rnd() % 257);
        g0[i] = (uint16_t)k;
        g1[i] = (uint16_t)(k == 256 ? 0 : rnd() % ((256u - (unsigned)k) * 255u + 1));
    }
    rc_px_use_simd(0);
    rc_px_over(d1, g0, g1, n);
    rc_px_use_simd(1);
    rc_px_over(d2, g0, g1, n);
    ok &= memcmp(d1, d2, (size_t)n) == 0;

    free(row), free(xf), free(o1), free(o2), free(s), free(al), free(d1), free(d2);
    free(xi), free(h1), free(h2), free(g0), free(g1);
    return ok;
}

static void test_same_bytes(void)
{
    rc_px_use_simd(1);
    if (strcmp(rc_px_simd_name(), "avx2") != 0) {
        fprintf(stderr, "test_pixels: this CPU has no AVX2; only the portable loops ran\n");
        return;
    }
    int bad = 0, cases = 0;
    static const int weights[] = {-1, 0, 1, 128, 255, 256};
    for (int n = 1; n <= 80; n++)
        for (size_t w = 0; w < sizeof weights / sizeof *weights; w++, cases++)
            bad += !same_at(n, weights[w]);
    static const int longs[] = {540, 1080, 1081, 1920, 2159};
    for (size_t k = 0; k < sizeof longs / sizeof *longs; k++)
        for (int rep = 0; rep < 20; rep++, cases++)
            bad += !same_at(longs[k], -1);
    if (bad)
        fprintf(stderr, "test_pixels: %d of %d cases differ between AVX2 and C\n", bad, cases);
    CHECK(bad == 0);
    CHECK(cases == 80 * 6 + 5 * 20);
}

int main(void)
{
    test_known();
    test_same_bytes();
    return unit_done("test_pixels");
}
