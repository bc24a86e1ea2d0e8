/*
 * rc_comp.h — the renderers' private view of a composition (docs/composition.md):
 * parsing the JSON into plain structs, laying text out, and small helpers
 * shared by render_ffmpeg and render_hyperframes. Compiled into both plugins
 * (this folder has no CMakeLists.txt of its own, so it builds no plugin).
 *
 * The host validates compositions before it calls a renderer; the plugins
 * parse again with the same limits because the renderer ABI accepts JSON
 * from any caller.
 */
#ifndef RC_COMP_H
#define RC_COMP_H

#include <stddef.h>
#include <stdint.h>

enum rc_bg_type { RC_BG_SOLID = 0, RC_BG_GRADIENT = 1, RC_BG_IMAGE = 2 };
enum rc_anim { RC_ANIM_NONE = 0, RC_ANIM_FADE = 1, RC_ANIM_SLIDE_UP = 2 };
enum rc_pos { RC_POS_TOP = 0, RC_POS_CENTER = 1, RC_POS_BOTTOM = 2 };
/** Layer types (version 2; version 1 has text layers only). */
enum rc_layer_type { RC_LAYER_TEXT = 0, RC_LAYER_IMAGE = 1, RC_LAYER_RECT = 2 };
enum rc_align { RC_ALIGN_CENTER = 0, RC_ALIGN_LEFT = 1, RC_ALIGN_RIGHT = 2 };
enum rc_fit { RC_FIT_COVER = 0, RC_FIT_CONTAIN = 1 };

/** Most layers a composition may have (version 1: 16). */
#define RC_MAX_LAYERS 32

/** One end of an image layer's motion: zoom (>= 1, relative to the fit) and
    the centre of the visible window in the image (0..1 on each axis). */
typedef struct rc_view {
    double scale, cx, cy;
} rc_view;

/** Seconds a fade or slide takes at a layer's start (and a fade at its end). */
#define RC_ANIM_SECONDS 0.4
/** A slide_up layer starts this fraction of the frame height lower. */
#define RC_SLIDE_FRACTION 0.04

/** One layer. text, font and path are owned (malloc'd) by the layer. */
typedef struct rc_layer {
    int type;           /**< enum rc_layer_type */
    char role[32];
    char *text;         /**< text layers */
    double start, end;
    int anim;           /**< enum rc_anim */
    int font_size;      /**< pixels */
    uint32_t color;     /**< 0xRRGGBB */
    int has_box;        /**< 1: box below is set; 0: position is */
    int box_x, box_y, box_w, box_h;
    int position;       /**< enum rc_pos */
    /* version 2 */
    double fade_in, fade_out; /**< seconds of opacity ramp at start / end */
    double opacity;     /**< 0..1, multiplies the ramps (default 1) */
    char *font;         /**< text: absolute font file, NULL = the renderer's default */
    int outline;        /**< text: outline width in pixels, 0 = none */
    int shadow;         /**< text: 1 draws the soft drop shadow (default when no outline and no bg) */
    uint32_t outline_color;
    int has_bg;         /**< text: a panel behind the text block */
    uint32_t bg_color;
    double bg_opacity;
    int bg_pad;         /**< pixels around the text block */
    int align;          /**< text: enum rc_align */
    int radius;         /**< rect / text bg / image: corner radius in pixels */
    char *path;         /**< image: absolute file path */
    int fit;            /**< image: enum rc_fit */
    int has_motion;     /**< image: from/to below are set */
    rc_view from, to;   /**< image: the view at start and at end */
} rc_layer;

/** A parsed composition. Free with rc_comp_free. */
typedef struct rc_comp {
    int version;               /**< 1 or 2 */
    char template_id[64];
    int width, height, fps;
    double duration;
    int bg_type;               /**< enum rc_bg_type */
    uint32_t bg_color;         /**< solid (and fallback) colour, 0xRRGGBB */
    uint32_t bg_colors[2];     /**< gradient: top-left colour, bottom-right colour */
    char *bg_image_url;        /**< image background, owned; NULL otherwise */
    char *logo_url;            /**< owned; NULL when none */
    int safe_top, safe_bottom, safe_left, safe_right;
    rc_layer *layers;          /**< owned array */
    int n_layers;
} rc_comp;

/**
 * Parse composition JSON into *c (zeroed first). Returns 0, or -1 with a
 * message naming the field in err. On failure *c holds nothing to free
 * (rc_comp_free is still safe).
 */
int rc_comp_parse(const char *json, rc_comp *c, char *err, size_t errlen);

/** Free everything *c owns; *c is zeroed. */
void rc_comp_free(rc_comp *c);

/**
 * The view (zoom and centre) of an image layer at time t: eased from
 * l->from to l->to over [start, end] with smoothstep. Without motion:
 * scale 1, centre 0.5/0.5.
 */
void rc_image_view(const rc_layer *l, double t, rc_view *out);

/**
 * The source rectangle (in pixels of a src_w x src_h image) an image layer
 * shows at view v in a box_w x box_h box: the fit (cover fills the box and
 * crops; contain shows the whole image) zoomed by v->scale around
 * (v->cx, v->cy), kept inside the image. For contain, *dst_* is the part of
 * the box the image covers (the rest stays transparent); for cover it is the
 * whole box.
 */
void rc_image_window(const rc_layer *l, const rc_view *v, int src_w, int src_h, int box_w, int box_h,
                     double *sx, double *sy, double *sw, double *sh, int *dst_x, int *dst_y,
                     int *dst_w, int *dst_h);

/** 1 when path (absolute) resolves to a file inside dir (realpath on both). */
int rc_path_inside(const char *dir, const char *path);

/** "#RRGGBB" or "#RGB" -> 0xRRGGBB. Returns 0 or -1. */
int rc_parse_color(const char *s, uint32_t *out);

/**
 * Layer opacity (0..1) and vertical offset (pixels, >= 0, downwards) at time
 * t. Returns 0 when the layer is not shown at t. Both renderers use the same
 * curves (fade in/out RC_ANIM_SECONDS; slide_up eases out over the same time).
 */
int rc_layer_state(const rc_comp *c, const rc_layer *l, double t, double *alpha, int *offset);

/**
 * The rectangle a layer's text may occupy: its box, or the safe area's width
 * with a vertical anchor from position. *anchor_y is the top of the text
 * block for top/box, the centre for center, the bottom for bottom
 * (see *anchor: enum rc_pos).
 */
void rc_layer_area(const rc_comp *c, const rc_layer *l, int *x, int *w, int *anchor_y,
                   int *anchor);

/**
 * Find a font file: cfg_path when set (then it must exist), else
 * <asset_dir>/fonts/DejaVuSans-Bold.ttf, else the system DejaVu path.
 * Writes the path to out and returns 0, or -1 with err listing what was tried.
 */
int rc_find_font(const char *cfg_path, const char *asset_dir, char *out, size_t outlen,
                 char *err, size_t errlen);

/** mkdir -p path's parent directory. Returns 0 or -1 (errno set). */
int rc_mkdirs_for(const char *file_path);

#endif
