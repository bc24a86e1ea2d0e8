/*
 * rc_captions.h — burned-in captions (docs/audio.md), shared by both renderer
 * plugins: the composition's "captions" parsed (cues of words with times),
 * and for render_ffmpeg their drawing onto yuv420p frames: each cue laid out
 * once with FreeType (wrapped inside the safe area's width, at most three
 * lines), its glyph coverage and a dilated outline rendered once into masks;
 * per frame the visible cue is blended over a translucent box with the
 * current word in the highlight colour. Compiled into both plugins.
 */
#ifndef RC_CAPTIONS_H
#define RC_CAPTIONS_H

#include <libavutil/frame.h>
#include <stddef.h>
#include <stdint.h>

enum rc_cap_pos { RC_CAP_TOP = 0, RC_CAP_CENTER = 1, RC_CAP_LOWER_THIRD = 2, RC_CAP_BOTTOM = 3 };

typedef struct rc_cap_word {
    char *text;           /**< owned */
    double start, end;    /**< seconds (equal to the cue's in lines mode) */
    int x0, x1, y0, y1;   /**< box in the cue's canvas (after layout) */
} rc_cap_word;

typedef struct rc_cap_cue {
    char *text;           /**< owned */
    double start, end;
    rc_cap_word *words;   /**< owned */
    int n_words;
    /* layout (rc_captions_prepare) */
    int x, y, w, h;       /**< canvas position and size in the frame (even) */
    uint8_t *text_a;      /**< w*h glyph coverage, owned */
    uint8_t *outline_a;   /**< w*h dilated coverage, owned (NULL without outline) */
} rc_cap_cue;

typedef struct rc_captions {
    int words_mode;        /**< 1 "words": highlight the current word; 0 "lines" */
    int position;          /**< enum rc_cap_pos */
    int font_size;         /**< pixels at 1080 wide */
    uint32_t color, highlight; /**< 0xRRGGBB */
    int outline;           /**< pixels at 1080 wide, 0 … 12 */
    int box;               /**< translucent box behind the lines */
    rc_cap_cue *cues;      /**< owned, in time order */
    int n_cues;
    /* What the shown cue does to the pixels under it, built by
       rc_captions_draw when the cue or its lit word changes and reused for
       every frame until then: out = (in * k + b + 128) >> 8 (rc_px_over). */
    int flat_state;        /**< the rc_captions_state it shows; -1: none built */
    uint16_t *flat;        /**< owned: luma k, b (w*h each); chroma k, b for U, b for V ((w/2)*(h/2) each) */
    size_t flat_cap;       /**< uint16_t elements allocated */
} rc_captions;

/**
 * Parse the "captions" object of composition_json (duration bounds the
 * times). *out is NULL when there is none. 0, or -1 with a message naming
 * the field. Free with rc_captions_free.
 */
int rc_captions_parse(const char *composition_json, double duration, rc_captions **out, char *err, size_t errlen);

void rc_captions_free(rc_captions *c);

/**
 * Lay every cue out for a width x height frame whose text must stay inside
 * the safe area (pixels from each edge) with the font file at font_path.
 * 0, or -1 with err.
 */
int rc_captions_prepare(rc_captions *c, const char *font_path, int width, int height, int safe_top,
                        int safe_bottom, int safe_left, int safe_right, char *err, size_t errlen);

/** What is shown at t as one number (cue and current word), -1 for nothing: a change means redraw. */
int rc_captions_state(const rc_captions *c, double t);

/**
 * Draw what is shown at t onto a yuv420p frame (after rc_captions_prepare).
 * Keeps the shown cue flattened in c, so one video's frames are drawn from
 * one thread at a time.
 */
void rc_captions_draw(rc_captions *c, AVFrame *dst, double t);

#endif
