/*
 * rc_images.h — image layers (composition version 2) on the FFmpeg
 * libraries: decoding a picture once into yuv420p, and drawing it into a
 * yuv420p frame at a view (zoom + centre) with bilinear sampling at
 * sub-pixel positions, so slow pans and zooms move smoothly instead of in
 * whole-pixel steps. Also the rounded-rectangle coverage used by rect
 * layers and text panels. Compiled into both renderer plugins.
 */
#ifndef RC_IMAGES_H
#define RC_IMAGES_H

#include "cliploop_plugin.h"
#include "rc_comp.h"

#include <libavutil/frame.h>
#include <stdint.h>

/** Longest side an image is kept at after decoding (larger ones are scaled down once). */
#define RC_IMAGE_MAX_SIDE 2160

/** Decoded pictures by path, so every layer and every aspect variant decodes a file once. */
typedef struct rc_image_cache {
    struct rc_image_entry {
        char *path;
        AVFrame *frame; /* yuv420p, even width and height */
    } *e;
    int n, cap;
} rc_image_cache;

/**
 * The yuv420p picture of path (decoded, converted, and scaled down to
 * RC_IMAGE_MAX_SIDE on first use; cached in *cache). The frame is borrowed:
 * it lives until rc_image_cache_free. Returns CL_OK, or CL_EUPSTREAM (not
 * an image) / CL_EIO / CL_ENOMEM with err filled.
 */
int rc_image_get(rc_image_cache *cache, const char *path, const AVFrame **out, cl_error *err);

/** Free every cached picture; *cache is zeroed. */
void rc_image_cache_free(rc_image_cache *cache);

/**
 * Draw image layer l as it is at view v into dst (yuv420p) within the box
 * (bx, by, bw, bh) — even coordinates — blending with opacity op (0..256;
 * 256 writes the pixels). Corners are rounded by l->radius. Pixels outside
 * the frame are skipped.
 */
void rc_image_draw(const AVFrame *src, const rc_layer *l, const rc_view *v, AVFrame *dst, int bx, int by,
                   int bw, int bh, int op);

/**
 * Coverage (0..255) of a w x h rectangle with corners rounded by radius, at
 * pixel (x, y), anti-aliased over one pixel.
 */
uint8_t rc_round_rect_cover(int x, int y, int w, int h, int radius);

#endif
