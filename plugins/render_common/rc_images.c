/*
 * rc_images.c — image layers on the FFmpeg libraries. See rc_images.h.
 */
#include "rc_images.h"
#include "rc_media.h"
#include "rc_pixels.h"

#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The decoded picture as yuv420p, scaled down (area filter) when longer than
   RC_IMAGE_MAX_SIDE, with even sides. */
static int to_yuv420p(AVFrame *in, AVFrame **out, cl_error *err)
{
    int w = in->width, h = in->height;
    double k = (w > h ? w : h) > RC_IMAGE_MAX_SIDE ? (double)RC_IMAGE_MAX_SIDE / (w > h ? w : h) : 1;
    int ow = (int)lround(w * k) & ~1, oh = (int)lround(h * k) & ~1;
    if (ow < 16 || oh < 16)
        return rc_err(err, CL_EUPSTREAM, "image is too small (%dx%d; at least 16x16)", w, h);
    AVFrame *f = av_frame_alloc();
    if (!f)
        return rc_err(err, CL_ENOMEM, "out of memory");
    f->format = AV_PIX_FMT_YUV420P;
    f->width = ow;
    f->height = oh;
    struct SwsContext *sws = NULL;
    if (av_frame_get_buffer(f, 0) < 0 ||
        !(sws = sws_getContext(w, h, in->format, ow, oh, AV_PIX_FMT_YUV420P, k < 1 ? SWS_AREA : SWS_BICUBIC,
                               NULL, NULL, NULL))) {
        av_frame_free(&f);
        return rc_err(err, CL_EUPSTREAM, "cannot convert the image (%dx%d, %s)", w, h,
                      av_get_pix_fmt_name(in->format) ? av_get_pix_fmt_name(in->format) : "?");
    }
    /* Transparent pixels of a PNG become black here; photos have none. */
    sws_scale(sws, (const uint8_t *const *)in->data, in->linesize, 0, h, f->data, f->linesize);
    sws_freeContext(sws);
    *out = f;
    return CL_OK;
}

int rc_image_get(rc_image_cache *cache, const char *path, const AVFrame **out, cl_error *err)
{
    for (int i = 0; i < cache->n; i++)
        if (strcmp(cache->e[i].path, path) == 0) {
            *out = cache->e[i].frame;
            return CL_OK;
        }
    if (cache->n == cache->cap) {
        int nc = cache->cap ? cache->cap * 2 : 8;
        struct rc_image_entry *ne = realloc(cache->e, (size_t)nc * sizeof *ne);
        if (!ne)
            return rc_err(err, CL_ENOMEM, "out of memory");
        cache->e = ne;
        cache->cap = nc;
    }
    AVFrame *dec = NULL, *yuv = NULL;
    int rc = rc_decode_image(path, "image layer", &dec, err);
    if (rc == CL_OK)
        rc = to_yuv420p(dec, &yuv, err);
    av_frame_free(&dec);
    if (rc != CL_OK)
        return rc;
    char *p = strdup(path);
    if (!p) {
        av_frame_free(&yuv);
        return rc_err(err, CL_ENOMEM, "out of memory");
    }
    cache->e[cache->n].path = p;
    cache->e[cache->n].frame = yuv;
    cache->n++;
    *out = yuv;
    return CL_OK;
}

void rc_image_cache_free(rc_image_cache *cache)
{
    for (int i = 0; i < cache->n; i++) {
        free(cache->e[i].path);
        av_frame_free(&cache->e[i].frame);
    }
    free(cache->e);
    memset(cache, 0, sizeof *cache);
}

uint8_t rc_round_rect_cover(int x, int y, int w, int h, int radius)
{
    if (radius <= 0)
        return 255;
    int r = radius * 2 > w ? w / 2 : radius;
    r = r * 2 > h ? h / 2 : r;
    double cx, cy;
    if (x < r)
        cx = r - 0.5;
    else if (x >= w - r)
        cx = w - r - 0.5;
    else
        return 255;
    if (y < r)
        cy = r - 0.5;
    else if (y >= h - r)
        cy = h - r - 0.5;
    else
        return 255;
    double d = hypot(x - cx, y - cy) - r + 0.5; /* < 0 inside */
    if (d <= -0.5)
        return 255;
    if (d >= 0.5)
        return 0;
    return (uint8_t)lround((0.5 - d) * 255);
}

/* Bilinear sampling of one plane: the window (wx, wy, ww, wh) of src (in
   the plane's pixels) onto the dw x dh region at (dx, dy) of dst, blended
   with op (0..256), corners rounded by r (0 = none). Weights in 8 bits.
   Separable: each source row the region needs is sampled horizontally once
   (a small ring of two rows), then every output row is one vertical tap of
   two such rows; the result is bit for bit that of a 4-tap bilinear per
   pixel. */
static void sample_plane(const uint8_t *src, int sls, int sw, int sh, double wx, double wy, double ww,
                         double wh, uint8_t *dst, int dls, int dst_w, int dst_h, int dx, int dy, int dw,
                         int dh, int op, int r)
{
    if (dw <= 0 || dh <= 0)
        return;
    /* the columns inside the frame: i0 <= i < i1 */
    int i0 = dx < 0 ? -dx : 0, i1 = dx + dw > dst_w ? dst_w - dx : dw;
    if (i1 <= i0)
        return;
    int n = i1 - i0;
    int32_t *xi = malloc(sizeof *xi * (size_t)n);
    uint8_t *xf = malloc((size_t)n), *vals = malloc((size_t)n);
    uint16_t *rows = malloc(sizeof *rows * (size_t)n * 2);
    if (!xi || !xf || !vals || !rows) {
        free(xi), free(xf), free(vals), free(rows);
        return;
    }
    double stepx = ww / dw, stepy = wh / dh;
    for (int k = 0; k < n; k++) {
        int i = i0 + k;
        double s = wx + (i + 0.5) * stepx - 0.5;
        s = s < 0 ? 0 : s > sw - 1 ? sw - 1 : s;
        int si = (int)s;
        if (si >= sw - 1)
            si = sw - 2 < 0 ? 0 : sw - 2;
        xi[k] = si;
        int f = (int)lround((s - si) * 256);
        xf[k] = (uint8_t)(f > 255 ? 255 : f);
    }
    /* the ring: slot[k] holds source row tag[k] */
    uint16_t *slot[2] = {rows, rows + n};
    int tag[2] = {-1, -1};
    for (int j = 0; j < dh; j++) {
        int y = dy + j;
        if (y < 0 || y >= dst_h)
            continue;
        double s = wy + (j + 0.5) * stepy - 0.5;
        s = s < 0 ? 0 : s > sh - 1 ? sh - 1 : s;
        int si = (int)s;
        if (si >= sh - 1)
            si = sh - 2 < 0 ? 0 : sh - 2;
        int fy = (int)lround((s - si) * 256);
        fy = fy > 256 ? 256 : fy;
        const int need[2] = {si, sh > 1 ? si + 1 : si};
        const uint16_t *h[2];
        for (int q = 0; q < 2; q++) {
            int k = tag[0] == need[q] ? 0 : tag[1] == need[q] ? 1 : -1;
            if (k < 0) {
                k = tag[0] == need[q ^ 1] ? 1 : 0; /* keep the row the other tap uses */
                rc_px_hrow(src + (size_t)need[q] * sls, sls, xi, xf, n, slot[k]);
                tag[k] = need[q];
            }
            h[q] = slot[k];
        }
        rc_px_vrow(h[0], h[1], fy, n, vals);
        uint8_t *d = dst + (size_t)y * dls + dx + i0;
        if (r > 0 && (j < r || j >= dh - r)) {
            for (int k = 0; k < n; k++) {
                int i = i0 + k, o = op;
                if (i < r || i >= dw - r)
                    o = o * rc_round_rect_cover(i, j, dw, dh, r) / 255;
                d[k] = o >= 256 ? vals[k] : (uint8_t)((vals[k] * o + d[k] * (256 - o)) >> 8);
            }
        } else {
            rc_px_put(d, vals, n, op);
        }
    }
    free(xi), free(xf), free(vals), free(rows);
}

void rc_image_draw(const AVFrame *src, const rc_layer *l, const rc_view *v, AVFrame *dst, int bx, int by,
                   int bw, int bh, int op)
{
    double sx, sy, sw, sh;
    int ox, oy, ow, oh;
    if (src->width < 2 || src->height < 2)
        return;
    rc_image_window(l, v, src->width, src->height, bw, bh, &sx, &sy, &sw, &sh, &ox, &oy, &ow, &oh);
    int x = (bx + ox) & ~1, y = (by + oy) & ~1;
    sample_plane(src->data[0], src->linesize[0], src->width, src->height, sx, sy, sw, sh, dst->data[0],
                 dst->linesize[0], dst->width, dst->height, x, y, ow, oh, op, l->radius);
    for (int p = 1; p < 3; p++)
        sample_plane(src->data[p], src->linesize[p], src->width / 2, src->height / 2, sx / 2, sy / 2, sw / 2,
                     sh / 2, dst->data[p], dst->linesize[p], dst->width / 2, dst->height / 2, x / 2, y / 2,
                     ow / 2, oh / 2, op, l->radius / 2);
}
