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

/** Seconds a fade or slide takes at a layer's start (and a fade at its end). */
#define RC_ANIM_SECONDS 0.4
/** A slide_up layer starts this fraction of the frame height lower. */
#define RC_SLIDE_FRACTION 0.04

/** One text layer. text is owned (malloc'd) by the layer. */
typedef struct rc_layer {
    char role[32];
    char *text;
    double start, end;
    int anim;           /**< enum rc_anim */
    int font_size;      /**< pixels */
    uint32_t color;     /**< 0xRRGGBB */
    int has_box;        /**< 1: box below is set; 0: position is */
    int box_x, box_y, box_w, box_h;
    int position;       /**< enum rc_pos */
} rc_layer;

/** A parsed composition. Free with rc_comp_free. */
typedef struct rc_comp {
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
