/*
 * render_ffmpeg.c — the in-process FFmpeg-library renderer (capability
 * renderer, id "ffmpeg"). Composition format: docs/composition.md.
 *
 * Why it is fast. A promo is a static picture (background, logo) with a few
 * text layers that appear, fade and slide. Running the full filter graph
 * for every frame, as the ffmpeg program does, redraws the gradient and
 * every glyph 30 times a second. Here libavfilter runs once per static
 * element instead:
 *   1. the background graph (color | gradients | decoded image scaled to
 *      cover, plus the logo through overlay) produces ONE yuv420p frame;
 *   2. each text layer's drawtext chain runs once, on black and on white;
 *      the two results give the layer's colour and exact alpha (shadow
 *      included), converted once to Y/U/V planes with alpha, cropped to the
 *      pixels the text covers;
 *   3. per output frame we only work out each layer's opacity and offset at
 *      t; when nothing changed since the previous frame the previous
 *      picture is sent to the encoder again, otherwise the base frame is
 *      copied and the visible layers are alpha-blended into their boxes.
 *   4. a moving picture (image layer with motion) is sampled per frame from
 *      its decoded copy, only the window the view shows, bilinear and
 *      separable (each source row once, then one vertical tap per output
 *      row); when it covers the frame opaquely the background is not
 *      copied first. The pixel loops (sampling, blending) are in
 *      rc_pixels.c, in AVX2 where the CPU has it, byte for byte the same
 *      as their portable C versions.
 * What remains is the encoder: libx264 (CRF/preset from config, yuv420p,
 * BT.601 limited range, tagged), the soundtrack (rc_audio.h) or a silent AAC
 * track, MP4 with +faststart, and the thumbnail is the composed picture at
 * 1 s through the mjpeg encoder. Nothing shells out.
 *
 *   5. frames are composed by a compose thread a few frames ahead of the
 *      encoding thread (a ring of RF_AHEAD picture references), so composing
 *      frame i + 1 overlaps encoding frame i.
 *
 * Several videos per call (SDK ABI 2.1, req->outputs: a render and its
 * aspect variants): the pictures are decoded once for all of them, a
 * soundtrack they share is mixed once and AAC-encoded once (audio_track: the
 * packets are copied into each MP4), each video's static layers are drawn
 * once at its size, and the videos are composed and encoded in parallel
 * threads (one per video, x264's threads shared out between them); the
 * calling thread reports progress and passes cancellation on.
 *
 * Configuration (section RENDER_FFMPEG):
 *   RENDER_FFMPEG_CRF      x264 CRF, 0..51, default 23
 *   RENDER_FFMPEG_PRESET   x264 preset, default veryfast
 *   RENDER_FFMPEG_THREADS  encoder threads per video, default 0 (x264 decides for
 *                          one video; CPUs / videos, at least 1, for several)
 *   RENDER_FFMPEG_VARIANT_SUBME  x264 subme for a call's further videos (its
 *                          aspect variants), 0..11, default 1; -1: the preset's
 *   RENDER_FFMPEG_VARIANT_SUBPART  1: the further videos search the preset's
 *                          sub-macroblock motion partitions (p8x8, b8x8);
 *                          0, the default: whole macroblocks only, as x264's
 *                          superfast (never more partitions than the preset's)
 *   RENDER_FFMPEG_BALANCE  1 (default): in a call of several videos, each
 *                          video's threads get a CPU weight in proportion
 *                          to its expected work (their nice value raised by
 *                          0..RF_NICE_MAX), so that where the videos outnumber
 *                          the cores they finish together instead of the
 *                          largest finishing alone on one core; 0: none
 *   RENDER_FFMPEG_FONT     font file; default <asset_dir>/fonts/DejaVuSans-Bold.ttf,
 *                          then the system DejaVu Sans Bold
 *
 * Calls may run concurrently: all state lives in the call's render_ctx
 * array and image cache.
 */
#include "cliploop_plugin.h"
#include "rc_audio.h"
#include "rc_captions.h"
#include "rc_comp.h"
#include "rc_images.h"
#include "rc_media.h"
#include "rc_pixels.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/samplefmt.h>

#include <ft2build.h>
#include FT_FREETYPE_H

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#endif

static atomic_uint tmp_counter;

/** Most videos one call makes (ABI 2.1 max_outputs): a render and its aspect variants. */
#define RF_MAX_OUTPUTS 8

/** x264's sub-pixel refinement (subme) for a call's further videos (its
    aspect variants) unless RENDER_FFMPEG_VARIANT_SUBME says otherwise: one
    step below veryfast's 2 (docs/composition.md, "Encoder effort"). */
#define RF_VARIANT_SUBME 1

/** x264's partitions for a call's further videos unless
    RENDER_FFMPEG_VARIANT_SUBPART=1: superfast's (intra 8x8 and 4x4 in P and
    B frames, motion in whole 16x16 macroblocks), which drops the p8x8 and
    b8x8 searches of veryfast and slower presets (docs/composition.md,
    "Encoder effort"). ultrafast has fewer (none) and keeps them. */
#define RF_VARIANT_PARTITIONS "i8x8,i4x4"

/** x264's time per pixel at the variants' effort, relative to veryfast's
    (raw frames through libx264 at one thread, docs/composition.md): subme 1
    instead of 2 takes 0.75 of it, superfast's partitions 0.93. The balance
    (RENDER_FFMPEG_BALANCE) weighs each video's work with them. */
#define RF_COST_SUBME_LOW 0.75
#define RF_COST_PARTITIONS 0.93

/** The most the balance raises a video's threads' nice value: 10 steps of
    about 1.25x CPU weight each, a video with about 1/9 of another's work. */
#define RF_NICE_MAX 10

/* ------------------------------------------------------------------------- */
/* Text layout: wrap with FreeType's advances (the font drawtext will use)   */
/* ------------------------------------------------------------------------- */

#define MAX_LINES 12

typedef struct text_lines {
    char *line[MAX_LINES];
    int n;
    int font_size;
    int line_h;
} text_lines;

static void lines_free(text_lines *tl)
{
    for (int i = 0; i < tl->n; i++)
        free(tl->line[i]);
    tl->n = 0;
}

/* Decode one UTF-8 code point; advances *s. Invalid bytes decode as U+FFFD. */
static uint32_t utf8_next(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    uint32_t c = p[0];
    int n = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
    if (n == 0) {
        *s += 1;
        return c;
    }
    c &= 0x3f >> n;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            *s += i;
            return 0xfffd;
        }
        c = c << 6 | (p[i] & 0x3f);
    }
    *s += n + 1;
    return c;
}

static int text_width(FT_Face face, const char *s, size_t len)
{
    const char *end = s + len;
    long w = 0;
    FT_UInt prev = 0;
    while (s < end) {
        FT_UInt gi = FT_Get_Char_Index(face, utf8_next(&s));
        if (prev && gi && FT_HAS_KERNING(face)) {
            FT_Vector k;
            if (FT_Get_Kerning(face, prev, gi, FT_KERNING_DEFAULT, &k) == 0)
                w += k.x;
        }
        if (FT_Load_Glyph(face, gi, FT_LOAD_DEFAULT) == 0)
            w += face->glyph->advance.x;
        prev = gi;
    }
    return (int)(w >> 6);
}

/* Greedy word wrap of text into lines no wider than max_w at font size fs.
   Returns 0, 1 when a single word does not fit or there are too many lines
   (try a smaller size), -1 when out of memory. */
static int wrap_at(FT_Face face, const char *text, int fs, int max_w, int max_lines, text_lines *tl)
{
    FT_Set_Pixel_Sizes(face, 0, (FT_UInt)fs);
    tl->n = 0;
    const char *p = text;
    char cur[1024];
    size_t cur_len = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        int hard = *p == '\n';
        if (*p == '\0' || hard) {
            if (cur_len || hard) {
                if (tl->n >= max_lines)
                    return 1;
                if (cur_len) {
                    if (!(tl->line[tl->n] = strndup(cur, cur_len)))
                        return -1;
                    tl->n++;
                }
                cur_len = 0;
            }
            if (*p == '\0')
                break;
            p++;
            continue;
        }
        size_t wl = strcspn(p, " \t\r\n");
        if (wl >= sizeof cur - 2)
            wl = sizeof cur - 2;
        if (text_width(face, p, wl) > max_w)
            return 1;
        char cand[1024];
        size_t cl = 0;
        if (cur_len) {
            memcpy(cand, cur, cur_len);
            cand[cur_len] = ' ';
            cl = cur_len + 1;
        }
        if (cl + wl >= sizeof cand)
            wl = sizeof cand - cl - 1;
        memcpy(cand + cl, p, wl);
        cl += wl;
        if (cur_len && text_width(face, cand, cl) > max_w) {
            if (tl->n >= max_lines)
                return 1;
            if (!(tl->line[tl->n] = strndup(cur, cur_len)))
                return -1;
            tl->n++;
            memcpy(cur, p, wl);
            cur_len = wl;
        } else {
            memcpy(cur, cand, cl);
            cur_len = cl;
        }
        p += wl;
    }
    return 0;
}

/* Wrap, shrinking the font by 8% steps until the text fits max_w x max_h. */
static int layout_text(FT_Face face, const char *text, int fs, int max_w, int max_h, text_lines *tl)
{
    for (;;) {
        int line_h = (int)lround(fs * 1.22);
        int max_lines = max_h / line_h;
        if (max_lines > MAX_LINES)
            max_lines = MAX_LINES;
        if (max_lines < 1)
            max_lines = 1;
        int rc = wrap_at(face, text, fs, max_w, max_lines, tl);
        if (rc < 0) {
            lines_free(tl);
            return -1;
        }
        if (rc == 0 || fs <= 12) {
            tl->font_size = fs;
            tl->line_h = line_h;
            return 0; /* at the smallest size, keep what fitted */
        }
        lines_free(tl);
        fs = fs * 92 / 100;
        if (fs < 12)
            fs = 12;
    }
}

/* ------------------------------------------------------------------------- */
/* Render state                                                              */
/* ------------------------------------------------------------------------- */

/* A text layer drawn once: Y/U/V + alpha over its bounding box (even-aligned). */
typedef struct layer_img {
    int x, y, w, h; /* in frame coordinates; all even */
    uint8_t *yp, *ap;          /* w*h */
    uint8_t *up, *vp, *acp;    /* (w/2)*(h/2), chroma alpha is the 2x2 mean */
    int empty;                 /* nothing visible */
} layer_img;

typedef struct render_ctx {
    rc_comp comp;
    cl_call *call;
    cl_error *err;
    char font[1024];
    char work_dir[1024];
    AVFrame *base;      /* background + logo, yuv420p */
    layer_img *imgs;    /* comp.n_layers: text, rect and still image layers drawn once */
    layer_img *panels;  /* comp.n_layers: the panel behind a text layer with "bg" */
    rc_image_cache *images; /* decoded pictures of image layers, by path (shared by the call's videos) */
    const AVFrame **pics;  /* comp.n_layers: an image layer's picture (borrowed from images) */
    const char *video_path, *thumbnail_path; /* this video's files (borrowed from the request) */
    struct render_group *grp; /* several videos in parallel threads, else NULL */
    cl_error terr;            /* this video's error while it runs in its own thread */
    int rc;                   /* its result */
    /* output */
    AVFormatContext *oc;
    AVCodecContext *venc;
    AVStream *vst, *ast;
    AVPacket *pkt;
    struct audio_track *track; /* the AAC soundtrack, shared by the call's videos that have the same one */
    int apkt;                  /* next packet of track to write into this video */
    int io_open;
    int wrote_file; /* the video file was created by this call */
    int enc_threads; /* x264 threads when RENDER_FFMPEG_THREADS is unset; 0 = x264 decides */
    int subme;       /* x264 subme for this video; -1 = the preset's (the call's first video) */
    int subpart;     /* 1: the preset's partitions; 0: at most RF_VARIANT_PARTITIONS */
    double cost;     /* x264 time per pixel relative to the preset's (set by open_output) */
    int nice;        /* raise its threads' nice value by this (RENDER_FFMPEG_BALANCE), 0 = as the caller */
    rc_audio_spec audio; /* the composition's "audio" (rc_audio.h) */
    rc_captions *caps;   /* the composition's "captions" (rc_captions.h), NULL when none */
} render_ctx;

/* A soundtrack encoded once: the mix (rc_audio.h; empty: silence) through
   one AAC encoder into packets that every video with this soundtrack copies
   into its MP4. Whichever video's thread first needs audio up to a time
   encodes it, under the lock; packets [0, n) never change once published.
   The packet count is known from the duration, so the array never moves. */
typedef struct audio_track {
    pthread_mutex_t mu;
    rc_mix mix;
    const rc_audio_spec *spec; /* borrowed from the first video with this soundtrack */
    double duration;
    AVCodecContext *enc;
    AVFrame *frame;
    int64_t next, total; /* samples encoded / in the whole track */
    AVPacket **pkts;     /* in enc->time_base */
    int n, cap, flushed, failed, users;
} audio_track;

/* The videos of one call rendered in parallel threads: the calling thread
   reports the frames done (the sum over the videos) and watches for
   cancellation; a failing video stops the others. */
typedef struct render_group {
    atomic_int stop;         /* set on cancellation or on a video's failure */
    atomic_llong done;       /* frames encoded, all videos */
    int64_t total;
} render_group;

static int av_fail(render_ctx *r, int code, const char *what, int averr)
{
    char buf[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(averr, buf, sizeof buf);
    return rc_err(r->err, code, "%s: %s", what, buf);
}

/* ------------------------------------------------------------------------- */
/* Filter graphs (run once each)                                             */
/* ------------------------------------------------------------------------- */

/* Add a filter to g, initialised from an option string (may be NULL). */
static AVFilterContext *add_filter(AVFilterGraph *g, const char *name, const char *inst,
                                   const char *args)
{
    const AVFilter *f = avfilter_get_by_name(name);
    if (!f)
        return NULL;
    AVFilterContext *ctx = NULL;
    if (avfilter_graph_create_filter(&ctx, f, inst, args, NULL, g) < 0)
        return NULL;
    return ctx;
}

/* Pull the first frame out of a configured graph's sink. */
static AVFrame *pull_one(AVFilterContext *sink)
{
    AVFrame *f = av_frame_alloc();
    if (!f)
        return NULL;
    if (av_buffersink_get_frame(sink, f) < 0)
        av_frame_free(&f);
    return f;
}

/* A buffersrc fed with one decoded picture (then EOF). */
static AVFilterContext *picture_source(AVFilterGraph *g, const char *inst, AVFrame *pic)
{
    char args[256];
    snprintf(args, sizeof args, "video_size=%dx%d:pix_fmt=%d:time_base=1/1:pixel_aspect=1/1",
             pic->width, pic->height, pic->format);
    return add_filter(g, "buffer", inst, args);
}

static int fetch_and_decode(render_ctx *r, const char *url, const char *what, AVFrame **out)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.%d.%u", r->work_dir, what[0] == 'l' ? "logo" : "background",
             (int)getpid(), atomic_fetch_add(&tmp_counter, 1));
    int rc = rc_fetch_to_file(cl_plugin_api_, r->call, url, path, what, r->err);
    if (rc == CL_OK)
        rc = rc_decode_image(path, what, out, r->err);
    unlink(path);
    return rc;
}

/* Build and run the background graph once -> r->base (yuv420p). */
static int build_base(render_ctx *r)
{
    const rc_comp *c = &r->comp;
    AVFrame *bgpic = NULL, *logopic = NULL;
    int rc;
    if (c->bg_type == RC_BG_IMAGE &&
        (rc = fetch_and_decode(r, c->bg_image_url, "background image", &bgpic)) != CL_OK)
        return rc;
    if (c->logo_url && (rc = fetch_and_decode(r, c->logo_url, "logo", &logopic)) != CL_OK) {
        av_frame_free(&bgpic);
        return rc;
    }
    rc = rc_err(r->err, CL_EUNSUPPORTED,
                "the FFmpeg libraries lack a filter the background needs (color, gradients, "
                "scale, crop, overlay, format)");
    AVFilterGraph *g = avfilter_graph_alloc();
    AVFilterContext *bg = NULL, *bgsrc = NULL, *lgsrc = NULL, *last, *sink;
    char args[512];
    if (!g)
        goto out;
    if (c->bg_type == RC_BG_SOLID) {
        snprintf(args, sizeof args, "c=0x%06x:s=%dx%d:r=1:d=1", c->bg_color, c->width, c->height);
        bg = add_filter(g, "color", "bg", args);
    } else if (c->bg_type == RC_BG_GRADIENT) {
        /* A static linear gradient, top-left to bottom-right: the first frame
           of the gradients source (its rotation starts at 0; seed fixed). */
        snprintf(args, sizeof args,
                 "s=%dx%d:c0=0x%06x:c1=0x%06x:x0=0:y0=0:x1=%d:y1=%d:n=2:seed=1:speed=0.00001:r=1:d=1",
                 c->width, c->height, c->bg_colors[0], c->bg_colors[1], c->width - 1, c->height - 1);
        bg = add_filter(g, "gradients", "bg", args);
    } else {
        bgsrc = picture_source(g, "bgimg", bgpic);
        snprintf(args, sizeof args, "w=%d:h=%d:force_original_aspect_ratio=increase", c->width,
                 c->height);
        AVFilterContext *sc = bgsrc ? add_filter(g, "scale", "bgscale", args) : NULL;
        snprintf(args, sizeof args, "w=%d:h=%d", c->width, c->height);
        AVFilterContext *cr = sc ? add_filter(g, "crop", "bgcrop", args) : NULL;
        if (!cr || avfilter_link(bgsrc, 0, sc, 0) < 0 || avfilter_link(sc, 0, cr, 0) < 0)
            goto out;
        bg = cr;
    }
    if (!bg)
        goto out;
    last = bg;
    if (logopic) {
        lgsrc = picture_source(g, "logo", logopic);
        snprintf(args, sizeof args, "w=%d:h=%d:force_original_aspect_ratio=decrease",
                 c->width * 3 / 10, c->height / 10);
        AVFilterContext *ls = lgsrc ? add_filter(g, "scale", "logoscale", args) : NULL;
        AVFilterContext *lf = ls ? add_filter(g, "format", "logofmt", "pix_fmts=rgba") : NULL;
        snprintf(args, sizeof args, "x=(main_w-overlay_w)/2:y=%d:format=yuv420:eof_action=repeat",
                 c->safe_top);
        AVFilterContext *ov = lf ? add_filter(g, "overlay", "logooverlay", args) : NULL;
        if (!ov || avfilter_link(lgsrc, 0, ls, 0) < 0 || avfilter_link(ls, 0, lf, 0) < 0 ||
            avfilter_link(last, 0, ov, 0) < 0 || avfilter_link(lf, 0, ov, 1) < 0)
            goto out;
        last = ov;
    }
    AVFilterContext *fmt = add_filter(g, "format", "outfmt", "pix_fmts=yuv420p");
    sink = fmt ? add_filter(g, "buffersink", "out", NULL) : NULL;
    if (!sink || avfilter_link(last, 0, fmt, 0) < 0 || avfilter_link(fmt, 0, sink, 0) < 0)
        goto out;
    int e = avfilter_graph_config(g, NULL);
    if (e < 0) {
        rc = av_fail(r, CL_EIO, "background filter graph", e);
        goto out;
    }
    if ((bgsrc && (av_buffersrc_add_frame(bgsrc, bgpic) < 0 || av_buffersrc_add_frame(bgsrc, NULL) < 0)) ||
        (lgsrc && (av_buffersrc_add_frame(lgsrc, logopic) < 0 || av_buffersrc_add_frame(lgsrc, NULL) < 0))) {
        rc = rc_err(r->err, CL_EIO, "cannot feed the background graph");
        goto out;
    }
    if (!(r->base = pull_one(sink))) {
        rc = rc_err(r->err, CL_EIO, "the background graph produced no picture");
        goto out;
    }
    rc = CL_OK;
out:
    avfilter_graph_free(&g);
    av_frame_free(&bgpic);
    av_frame_free(&logopic);
    return rc;
}

/* Run the drawtext chain for one layer on an opaque canvas (black or white),
   rgb24. Returns the frame or NULL. */
static AVFrame *draw_text_on(render_ctx *r, const text_lines *tl, const rc_layer *l, const char *font,
                             int area_x, int area_w, int top, const char *canvas)
{
    const rc_comp *c = &r->comp;
    AVFrame *out = NULL;
    AVFilterGraph *g = avfilter_graph_alloc();
    char args[256];
    if (!g)
        return NULL;
    snprintf(args, sizeof args, "c=%s:s=%dx%d:r=1:d=1", canvas, c->width, c->height);
    AVFilterContext *src = add_filter(g, "color", "canvas", args);
    AVFilterContext *fmt = src ? add_filter(g, "format", "rgb", "pix_fmts=rgb24") : NULL;
    if (!fmt || avfilter_link(src, 0, fmt, 0) < 0)
        goto out;
    AVFilterContext *last = fmt;
    int shadow = tl->font_size / 24 > 2 ? tl->font_size / 24 : 2;
    for (int i = 0; i < tl->n; i++) {
        char name[32], val[64];
        snprintf(name, sizeof name, "text%d", i);
        const AVFilter *dt = avfilter_get_by_name("drawtext");
        AVFilterContext *f = dt ? avfilter_graph_alloc_filter(g, dt, name) : NULL;
        if (!f)
            goto out;
        /* Options set one by one: no filter-graph escaping of user text. */
        int e = av_opt_set(f, "fontfile", font, AV_OPT_SEARCH_CHILDREN);
        e |= av_opt_set(f, "text", tl->line[i], AV_OPT_SEARCH_CHILDREN);
        e |= av_opt_set(f, "expansion", "none", AV_OPT_SEARCH_CHILDREN);
        snprintf(val, sizeof val, "%d", tl->font_size);
        e |= av_opt_set(f, "fontsize", val, AV_OPT_SEARCH_CHILDREN);
        snprintf(val, sizeof val, "0x%06x", l->color);
        e |= av_opt_set(f, "fontcolor", val, AV_OPT_SEARCH_CHILDREN);
        if (l->outline > 0) {
            e |= av_opt_set_int(f, "borderw", l->outline, AV_OPT_SEARCH_CHILDREN);
            snprintf(val, sizeof val, "0x%06x", l->outline_color);
            e |= av_opt_set(f, "bordercolor", val, AV_OPT_SEARCH_CHILDREN);
        } else if (l->shadow) {
            e |= av_opt_set(f, "shadowcolor", "black@0.6", AV_OPT_SEARCH_CHILDREN);
            e |= av_opt_set_int(f, "shadowx", shadow, AV_OPT_SEARCH_CHILDREN);
            e |= av_opt_set_int(f, "shadowy", shadow, AV_OPT_SEARCH_CHILDREN);
        }
        if (l->align == RC_ALIGN_LEFT)
            snprintf(val, sizeof val, "%d", area_x);
        else if (l->align == RC_ALIGN_RIGHT)
            snprintf(val, sizeof val, "%d-text_w", area_x + area_w);
        else
            snprintf(val, sizeof val, "%d+(%d-text_w)/2", area_x, area_w);
        e |= av_opt_set(f, "x", val, AV_OPT_SEARCH_CHILDREN);
        snprintf(val, sizeof val, "%d", top + i * tl->line_h);
        e |= av_opt_set(f, "y", val, AV_OPT_SEARCH_CHILDREN);
        if (e < 0 || avfilter_init_str(f, NULL) < 0 || avfilter_link(last, 0, f, 0) < 0)
            goto out;
        last = f;
    }
    AVFilterContext *sink = add_filter(g, "buffersink", "out", NULL);
    if (!sink || avfilter_link(last, 0, sink, 0) < 0 || avfilter_graph_config(g, NULL) < 0)
        goto out;
    out = pull_one(sink);
out:
    avfilter_graph_free(&g);
    return out;
}

/* BT.601 limited range, what swscale and the color source use by default. */
static inline uint8_t rgb_y(int R, int G, int B) { return (uint8_t)((66 * R + 129 * G + 25 * B + 128) / 256 + 16); }
static inline int rgb_u(int R, int G, int B) { return (-38 * R - 74 * G + 112 * B); }
static inline int rgb_v(int R, int G, int B) { return (112 * R - 94 * G - 18 * B); }

static int layer_img_alloc(render_ctx *r, layer_img *li, int x, int y, int w, int h)
{
    li->x = x & ~1;
    li->y = y & ~1;
    li->w = w & ~1;
    li->h = h & ~1;
    if (li->x + li->w > r->comp.width)
        li->w = (r->comp.width - li->x) & ~1;
    if (li->y + li->h > r->comp.height)
        li->h = (r->comp.height - li->y) & ~1;
    if (li->x < 0 || li->y < 0 || li->w <= 0 || li->h <= 0) {
        li->empty = 1;
        return CL_OK;
    }
    size_t n = (size_t)li->w * li->h, nc = n / 4;
    li->yp = malloc(n);
    li->ap = malloc(n);
    li->up = malloc(nc);
    li->vp = malloc(nc);
    li->acp = malloc(nc);
    if (!li->yp || !li->ap || !li->up || !li->vp || !li->acp)
        return rc_err(r->err, CL_ENOMEM, "out of memory");
    return CL_OK;
}

/* From the black and white renders: straight colour + alpha, cropped to the
   covered box, converted to Y/U/V with alpha. */
static int extract_layer(render_ctx *r, const AVFrame *blk, const AVFrame *wht, layer_img *li)
{
    int W = blk->width, H = blk->height;
    int x0 = W, y0 = H, x1 = -1, y1 = -1;
    for (int y = 0; y < H; y++) {
        const uint8_t *b = blk->data[0] + (size_t)y * blk->linesize[0];
        const uint8_t *w = wht->data[0] + (size_t)y * wht->linesize[0];
        for (int x = 0; x < W * 3; x++) {
            if (b[x] != 0 || w[x] != 255) {
                int px = x / 3;
                if (px < x0)
                    x0 = px;
                if (px > x1)
                    x1 = px;
                if (y < y0)
                    y0 = y;
                y1 = y;
            }
        }
    }
    if (x1 < 0) {
        li->empty = 1;
        return CL_OK;
    }
    x0 &= ~1;
    y0 &= ~1;
    x1 = (x1 + 2) & ~1; /* exclusive, even */
    y1 = (y1 + 2) & ~1;
    if (x1 > W)
        x1 = W;
    if (y1 > H)
        y1 = H;
    int rc = layer_img_alloc(r, li, x0, y0, x1 - x0, y1 - y0);
    if (rc != CL_OK || li->empty)
        return rc;
    size_t nc = (size_t)li->w * li->h / 4;
    int *ua = calloc(nc, sizeof *ua), *va = calloc(nc, sizeof *va), *aa = calloc(nc, sizeof *aa);
    if (!ua || !va || !aa) {
        free(ua), free(va), free(aa);
        return rc_err(r->err, CL_ENOMEM, "out of memory");
    }
    int cw = li->w / 2;
    for (int y = 0; y < li->h; y++) {
        const uint8_t *b = blk->data[0] + (size_t)(y + y0) * blk->linesize[0] + x0 * 3;
        const uint8_t *w = wht->data[0] + (size_t)(y + y0) * wht->linesize[0] + x0 * 3;
        for (int x = 0; x < li->w; x++, b += 3, w += 3) {
            int d = 0;
            for (int k = 0; k < 3; k++) {
                int dk = w[k] - b[k];
                if (dk > d)
                    d = dk;
            }
            int a = 255 - d; /* on black: c*a; on white: c*a + 255*(1-a) */
            int R = 0, G = 0, B = 0;
            if (a > 0) {
                R = b[0] * 255 / a;
                G = b[1] * 255 / a;
                B = b[2] * 255 / a;
                R = R > 255 ? 255 : R;
                G = G > 255 ? 255 : G;
                B = B > 255 ? 255 : B;
            }
            size_t i = (size_t)y * li->w + x, ci = (size_t)(y / 2) * cw + x / 2;
            li->ap[i] = (uint8_t)a;
            li->yp[i] = rgb_y(R, G, B);
            ua[ci] += a * rgb_u(R, G, B);
            va[ci] += a * rgb_v(R, G, B);
            aa[ci] += a;
        }
    }
    for (size_t i = 0; i < nc; i++) {
        int a = aa[i];
        li->acp[i] = (uint8_t)((a + 2) / 4);
        li->up[i] = a ? (uint8_t)(128 + (ua[i] / a + 128) / 256) : 128;
        li->vp[i] = a ? (uint8_t)(128 + (va[i] / a + 128) / 256) : 128;
    }
    free(ua), free(va), free(aa);
    return CL_OK;
}

static void layer_img_free(layer_img *li)
{
    free(li->yp), free(li->ap), free(li->up), free(li->vp), free(li->acp);
    memset(li, 0, sizeof *li);
}

/* A flat colour with rounded corners and alpha (0..255): rect layers and text panels. */
static int fill_rect_img(render_ctx *r, layer_img *li, int x, int y, int w, int h, uint32_t color, int alpha,
                         int radius)
{
    int rc = layer_img_alloc(r, li, x, y, w, h);
    if (rc != CL_OK || li->empty)
        return rc;
    int R = color >> 16 & 255, G = color >> 8 & 255, B = color & 255;
    memset(li->yp, rgb_y(R, G, B), (size_t)li->w * li->h);
    memset(li->up, 128 + (rgb_u(R, G, B) + 128) / 256, (size_t)li->w * li->h / 4);
    memset(li->vp, 128 + (rgb_v(R, G, B) + 128) / 256, (size_t)li->w * li->h / 4);
    for (int j = 0; j < li->h; j++)
        for (int i = 0; i < li->w; i++)
            li->ap[(size_t)j * li->w + i] = (uint8_t)(rc_round_rect_cover(i, j, li->w, li->h, radius) * alpha / 255);
    for (int j = 0; j < li->h / 2; j++)
        for (int i = 0; i < li->w / 2; i++) {
            const uint8_t *a = li->ap + (size_t)2 * j * li->w + 2 * i;
            li->acp[(size_t)j * (li->w / 2) + i] = (uint8_t)((a[0] + a[1] + a[li->w] + a[li->w + 1] + 2) / 4);
        }
    return CL_OK;
}

/* A still image layer drawn once into a layer image (its corners as alpha). */
static int still_image_img(render_ctx *r, const rc_layer *l, const AVFrame *pic, layer_img *li)
{
    int rc = layer_img_alloc(r, li, l->box_x, l->box_y, l->box_w, l->box_h);
    if (rc != CL_OK || li->empty)
        return rc;
    AVFrame *tmp = av_frame_alloc();
    if (!tmp)
        return rc_err(r->err, CL_ENOMEM, "out of memory");
    tmp->format = AV_PIX_FMT_YUV420P;
    tmp->width = li->w;
    tmp->height = li->h;
    if (av_frame_get_buffer(tmp, 0) < 0) {
        av_frame_free(&tmp);
        return rc_err(r->err, CL_ENOMEM, "out of memory");
    }
    /* transparent where a contained image does not reach: alpha from a marker pass */
    memset(li->ap, 0, (size_t)li->w * li->h);
    for (int p = 0; p < 3; p++)
        for (int j = 0; j < (p ? li->h / 2 : li->h); j++)
            memset(tmp->data[p] + (size_t)j * tmp->linesize[p], p ? 128 : 0, (size_t)(p ? li->w / 2 : li->w));
    rc_view v;
    rc_image_view(l, l->start, &v);
    rc_image_draw(pic, l, &v, tmp, 0, 0, li->w, li->h, 256);
    double sx, sy, sw, sh;
    int ox, oy, ow, oh;
    rc_image_window(l, &v, pic->width, pic->height, li->w, li->h, &sx, &sy, &sw, &sh, &ox, &oy, &ow, &oh);
    for (int j = 0; j < li->h; j++) {
        memcpy(li->yp + (size_t)j * li->w, tmp->data[0] + (size_t)j * tmp->linesize[0], (size_t)li->w);
        for (int i = 0; i < li->w; i++)
            if (i >= ox && i < ox + ow && j >= oy && j < oy + oh)
                li->ap[(size_t)j * li->w + i] = rc_round_rect_cover(i - ox, j - oy, ow, oh, l->radius);
    }
    for (int j = 0; j < li->h / 2; j++) {
        memcpy(li->up + (size_t)j * (li->w / 2), tmp->data[1] + (size_t)j * tmp->linesize[1], (size_t)li->w / 2);
        memcpy(li->vp + (size_t)j * (li->w / 2), tmp->data[2] + (size_t)j * tmp->linesize[2], (size_t)li->w / 2);
        for (int i = 0; i < li->w / 2; i++) {
            const uint8_t *a = li->ap + (size_t)2 * j * li->w + 2 * i;
            li->acp[(size_t)j * (li->w / 2) + i] = (uint8_t)((a[0] + a[1] + a[li->w] + a[li->w + 1] + 2) / 4);
        }
    }
    av_frame_free(&tmp);
    return CL_OK;
}

/* Image layers: decode each picture once; a still one is drawn once here,
   a moving one per frame (compose). */
static int build_image_layer(render_ctx *r, int i)
{
    const rc_layer *l = &r->comp.layers[i];
    if (!rc_path_inside(r->work_dir, l->path))
        return rc_err(r->err, CL_EINVAL, "layers[%d].path must name a file inside the render's work directory", i);
    int rc = rc_image_get(r->images, l->path, &r->pics[i], r->err);
    if (rc != CL_OK || l->has_motion)
        return rc;
    return still_image_img(r, l, r->pics[i], &r->imgs[i]);
}

static int build_layers(render_ctx *r)
{
    const rc_comp *c = &r->comp;
    if (c->n_layers == 0)
        return CL_OK;
    if (!(r->imgs = calloc((size_t)c->n_layers, sizeof *r->imgs)) ||
        !(r->panels = calloc((size_t)c->n_layers, sizeof *r->panels)) ||
        !(r->pics = calloc((size_t)c->n_layers, sizeof *r->pics)))
        return rc_err(r->err, CL_ENOMEM, "out of memory");
    FT_Library ft;
    if (FT_Init_FreeType(&ft) != 0)
        return rc_err(r->err, CL_EUNSUPPORTED, "FreeType could not start");
    int rc = CL_OK;
    for (int i = 0; i < c->n_layers && rc == CL_OK; i++) {
        const rc_layer *l = &c->layers[i];
        if (l->type == RC_LAYER_IMAGE) {
            rc = build_image_layer(r, i);
            continue;
        }
        if (l->type == RC_LAYER_RECT) {
            rc = fill_rect_img(r, &r->imgs[i], l->box_x, l->box_y, l->box_w, l->box_h, l->color, 255, l->radius);
            continue;
        }
        const char *font = l->font ? l->font : r->font;
        if (l->font && !rc_path_inside(r->work_dir, l->font)) {
            rc = rc_err(r->err, CL_EINVAL, "layers[%d].font must name a file inside the render's work directory", i);
            break;
        }
        FT_Face face;
        if (FT_New_Face(ft, font, 0, &face) != 0) {
            rc = rc_err(r->err, CL_EUNSUPPORTED, "font %s could not be loaded", font);
            break;
        }
        int ax, aw, ay, anchor;
        rc_layer_area(c, l, &ax, &aw, &ay, &anchor);
        int pad = l->has_bg ? l->bg_pad : 0;
        if (pad * 2 > aw / 2)
            pad = aw / 4;
        int max_h = l->has_box ? l->box_h - 2 * pad : (c->height - c->safe_top - c->safe_bottom) * 2 / 5;
        text_lines tl = {0};
        if (layout_text(face, l->text, l->font_size, aw - 2 * pad, max_h, &tl) != 0) {
            FT_Done_Face(face);
            rc = rc_err(r->err, CL_ENOMEM, "out of memory");
            break;
        }
        int block = tl.n * tl.line_h, top;
        if (l->has_box)
            top = ay + (l->box_h - block) / 2;
        else if (anchor == RC_POS_TOP)
            top = ay + pad;
        else if (anchor == RC_POS_BOTTOM)
            top = ay - block - pad;
        else
            top = ay - block / 2;
        if (l->has_bg) {
            /* The panel hugs the text block: widest line plus the padding. */
            int tw = 0;
            for (int k = 0; k < tl.n; k++) {
                int lw = text_width(face, tl.line[k], strlen(tl.line[k]));
                tw = lw > tw ? lw : tw;
            }
            int px = l->align == RC_ALIGN_LEFT    ? ax
                     : l->align == RC_ALIGN_RIGHT ? ax + aw - tw - 2 * pad
                                                  : ax + (aw - tw) / 2 - pad;
            /* the line box is 1.22 em; the glyphs sit in its upper part */
            rc = fill_rect_img(r, &r->panels[i], px, top - pad, tw + 2 * pad, block + 2 * pad - tl.line_h / 8,
                               l->bg_color, (int)lround(l->bg_opacity * 255), l->radius);
            ax += pad;
            aw -= 2 * pad;
        }
        FT_Done_Face(face);
        AVFrame *blk = rc == CL_OK ? draw_text_on(r, &tl, l, font, ax, aw, top, "black") : NULL;
        AVFrame *wht = blk ? draw_text_on(r, &tl, l, font, ax, aw, top, "white") : NULL;
        if (rc == CL_OK && (!blk || !wht))
            rc = rc_err(r->err, CL_EUNSUPPORTED,
                        "drawing layers[%d] failed (is the drawtext filter available?)", i);
        else if (rc == CL_OK)
            rc = extract_layer(r, blk, wht, &r->imgs[i]);
        av_frame_free(&blk);
        av_frame_free(&wht);
        lines_free(&tl);
    }
    FT_Done_FreeType(ft);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Per-frame composition                                                     */
/* ------------------------------------------------------------------------- */

static void blend_plane(uint8_t *dst, int dst_ls, int dst_h, int x, int y, const uint8_t *src,
                        const uint8_t *alpha, int w, int h, int opacity /* 0..256 */)
{
    for (int j = 0; j < h; j++) {
        int dy = y + j;
        if (dy < 0 || dy >= dst_h)
            continue;
        uint8_t *d = dst + (size_t)dy * dst_ls + x;
        rc_px_blend(d, src + (size_t)j * w, alpha + (size_t)j * w, w, opacity);
    }
}

static void blend_img(AVFrame *dst, const layer_img *li, int op, int off)
{
    int H = dst->height;
    blend_plane(dst->data[0], dst->linesize[0], H, li->x, li->y + off, li->yp, li->ap, li->w, li->h, op);
    blend_plane(dst->data[1], dst->linesize[1], H / 2, li->x / 2, (li->y + off) / 2, li->up, li->acp, li->w / 2,
                li->h / 2, op);
    blend_plane(dst->data[2], dst->linesize[2], H / 2, li->x / 2, (li->y + off) / 2, li->vp, li->acp, li->w / 2,
                li->h / 2, op);
}

/* 1 when layer i, drawn at alpha, writes every pixel of the frame: a moving
   picture that covers the frame, fully opaque, square corners. */
static int covers_frame(const render_ctx *r, int i, double alpha)
{
    const rc_layer *l = &r->comp.layers[i];
    return alpha >= 1 && l->type == RC_LAYER_IMAGE && l->has_motion && l->fit == RC_FIT_COVER && l->radius == 0 &&
           l->box_x <= 0 && l->box_y <= 0 && l->box_x + l->box_w >= r->comp.width &&
           l->box_y + l->box_h >= r->comp.height && r->pics[i];
}

static void compose(render_ctx *r, AVFrame *dst, const double *alpha, const int *offset, double t)
{
    const AVFrame *b = r->base;
    int H = b->height;
    /* The background is copied unless the lowest visible layer covers it. */
    int first = 0;
    while (first < r->comp.n_layers && alpha[first] <= 0)
        first++;
    int skip_base = first < r->comp.n_layers && offset[first] == 0 && covers_frame(r, first, alpha[first]);
    for (int p = 0; p < 3 && !skip_base; p++) {
        int ph = p ? H / 2 : H, bytes = p ? b->width / 2 : b->width;
        if (dst->linesize[p] == b->linesize[p])
            memcpy(dst->data[p], b->data[p], (size_t)b->linesize[p] * ph);
        else
            for (int y = 0; y < ph; y++)
                memcpy(dst->data[p] + (size_t)y * dst->linesize[p],
                       b->data[p] + (size_t)y * b->linesize[p], (size_t)bytes);
    }
    for (int i = 0; i < r->comp.n_layers; i++) {
        const rc_layer *l = &r->comp.layers[i];
        if (alpha[i] <= 0)
            continue;
        int op = (int)lround(alpha[i] * 256), off = offset[i] & ~1;
        if (l->type == RC_LAYER_IMAGE && l->has_motion) {
            rc_view v;
            rc_image_view(l, t, &v);
            rc_image_draw(r->pics[i], l, &v, dst, l->box_x & ~1, (l->box_y & ~1) + off, l->box_w & ~1,
                          l->box_h & ~1, op);
            continue;
        }
        if (r->panels && !r->panels[i].empty && r->panels[i].ap)
            blend_img(dst, &r->panels[i], op, off);
        if (!r->imgs[i].empty)
            blend_img(dst, &r->imgs[i], op, off);
    }
}

/* ------------------------------------------------------------------------- */
/* Output: x264 + silent AAC in MP4                                          */
/* ------------------------------------------------------------------------- */

static int open_output(render_ctx *r, const char *path)
{
    const rc_comp *c = &r->comp;
    int e = avformat_alloc_output_context2(&r->oc, NULL, "mp4", path);
    if (e < 0)
        return av_fail(r, CL_EUNSUPPORTED, "the FFmpeg libraries cannot write MP4", e);
    const AVCodec *vc = avcodec_find_encoder_by_name("libx264");
    if (!vc)
        return rc_err(r->err, CL_EUNSUPPORTED,
                      "the FFmpeg libraries have no libx264 encoder (install libavcodec with x264)");

    /* video */
    r->venc = avcodec_alloc_context3(vc);
    r->vst = avformat_new_stream(r->oc, NULL);
    if (!r->venc || !r->vst)
        return rc_err(r->err, CL_ENOMEM, "out of memory");
    r->venc->width = c->width;
    r->venc->height = c->height;
    r->venc->pix_fmt = AV_PIX_FMT_YUV420P;
    r->venc->time_base = (AVRational){1, c->fps};
    r->venc->framerate = (AVRational){c->fps, 1};
    r->venc->sample_aspect_ratio = (AVRational){1, 1};
    r->venc->color_range = AVCOL_RANGE_MPEG;
    r->venc->colorspace = AVCOL_SPC_SMPTE170M;
    r->venc->color_primaries = AVCOL_PRI_BT709;
    r->venc->color_trc = AVCOL_TRC_BT709;
    r->venc->thread_count = (int)clp_config_range("THREADS", 0, 0, 64);
    if (r->venc->thread_count == 0)
        r->venc->thread_count = r->enc_threads;
    if (r->oc->oformat->flags & AVFMT_GLOBALHEADER)
        r->venc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    const char *preset = clp_config("PRESET");
    AVDictionary *vopt = NULL;
    char crf[16];
    snprintf(crf, sizeof crf, "%d", (int)clp_config_range("CRF", 23, 0, 51));
    av_dict_set(&vopt, "crf", crf, 0);
    av_dict_set(&vopt, "preset", preset && *preset ? preset : "veryfast", 0);
    /* a variant's effort (x264_param_parse, after the preset): its subme, and
       at most superfast's partitions (ultrafast's none stay none) */
    const char *pname = preset && *preset ? preset : "veryfast";
    int cut_parts = !r->subpart && strcmp(pname, "ultrafast") != 0;
    r->cost = (r->subme >= 0 && r->subme < 2 ? RF_COST_SUBME_LOW : 1) * (cut_parts ? RF_COST_PARTITIONS : 1);
    char xp[64] = "";
    if (r->subme >= 0)
        snprintf(xp, sizeof xp, "subme=%d%s", r->subme, cut_parts ? ":" : "");
    if (cut_parts)
        strcat(xp, "partitions=" RF_VARIANT_PARTITIONS);
    if (*xp)
        av_dict_set(&vopt, "x264-params", xp, 0);
    e = avcodec_open2(r->venc, vc, &vopt);
    av_dict_free(&vopt);
    if (e < 0)
        return av_fail(r, CL_EINVAL, "cannot open libx264 (check RENDER_FFMPEG_PRESET/CRF)", e);
    avcodec_parameters_from_context(r->vst->codecpar, r->venc);
    r->vst->time_base = r->venc->time_base;
    r->vst->avg_frame_rate = r->venc->framerate;
    r->vst->r_frame_rate = r->venc->framerate;

    /* audio: the call's encoded soundtrack (silence without one, so every platform accepts the file) */
    r->ast = avformat_new_stream(r->oc, NULL);
    if (!r->ast)
        return rc_err(r->err, CL_ENOMEM, "out of memory");
    avcodec_parameters_from_context(r->ast->codecpar, r->track->enc);
    r->ast->time_base = r->track->enc->time_base;

    if (!(r->pkt = av_packet_alloc()))
        return rc_err(r->err, CL_ENOMEM, "out of memory");
    if ((e = avio_open(&r->oc->pb, path, AVIO_FLAG_WRITE)) < 0) {
        char buf[AV_ERROR_MAX_STRING_SIZE] = "";
        av_strerror(e, buf, sizeof buf);
        return rc_err(r->err, CL_EIO, "cannot write the video to %s: %s", path, buf);
    }
    r->io_open = 1;
    r->wrote_file = 1;
    AVDictionary *mopt = NULL;
    av_dict_set(&mopt, "movflags", "+faststart", 0);
    e = avformat_write_header(r->oc, &mopt);
    av_dict_free(&mopt);
    if (e < 0)
        return av_fail(r, CL_EIO, "cannot write the MP4 header", e);
    return CL_OK;
}

/* Send frame (NULL flushes) and write every packet that comes out. */
static int encode(render_ctx *r, AVCodecContext *enc, AVStream *st, AVFrame *frame)
{
    int e = avcodec_send_frame(enc, frame);
    if (e < 0)
        return av_fail(r, CL_EIO, "encoder refused a frame", e);
    for (;;) {
        e = avcodec_receive_packet(enc, r->pkt);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF)
            return CL_OK;
        if (e < 0)
            return av_fail(r, CL_EIO, "encoding failed", e);
        av_packet_rescale_ts(r->pkt, enc->time_base, st->time_base);
        r->pkt->stream_index = st->index;
        e = av_interleaved_write_frame(r->oc, r->pkt);
        /* avio keeps a failed write (a full disk) in pb->error and goes on
           accepting packets: stop at the first one, not after every frame. */
        if (e >= 0 && r->oc->pb && r->oc->pb->error < 0)
            e = r->oc->pb->error;
        if (e < 0)
            return av_fail(r, CL_EIO, "cannot write to the video file", e);
    }
}

/* The AAC encoder of a soundtrack of `duration` seconds (the mix comes later:
   track_mixed). */
static int track_open(audio_track *t, const rc_audio_spec *spec, double duration, cl_error *err)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    t->spec = spec;
    t->duration = duration;
    t->total = (int64_t)llround(duration * 48000);
    int e = rc_aac_open(&t->enc, err);
    if (e != CL_OK)
        return e;
    /* every frame's packet, the encoder's delay, and the flush */
    t->cap = (int)(t->total / t->enc->frame_size) + 64;
    t->pkts = calloc((size_t)t->cap, sizeof *t->pkts);
    if (!t->pkts || !(t->frame = av_frame_alloc()))
        return rc_err(err, CL_ENOMEM, "out of memory");
    t->frame->format = AV_SAMPLE_FMT_FLTP;
    t->frame->nb_samples = t->enc->frame_size;
    t->frame->sample_rate = 48000;
    av_channel_layout_copy(&t->frame->ch_layout, &t->enc->ch_layout);
    if (av_frame_get_buffer(t->frame, 0) < 0)
        return rc_err(err, CL_ENOMEM, "out of memory");
    return CL_OK;
}

static void track_free(audio_track *t)
{
    for (int i = 0; i < t->n; i++)
        av_packet_free(&t->pkts[i]);
    free(t->pkts);
    av_frame_free(&t->frame);
    avcodec_free_context(&t->enc);
    rc_mix_free(&t->mix);
    pthread_mutex_destroy(&t->mu);
}

/* Send frame (NULL flushes) to the track's encoder and keep what comes out. Under t->mu. */
static int track_encode(audio_track *t, AVFrame *frame)
{
    if (avcodec_send_frame(t->enc, frame) < 0)
        return CL_EIO;
    for (;;) {
        AVPacket *p = av_packet_alloc();
        if (!p)
            return CL_ENOMEM;
        int e = avcodec_receive_packet(t->enc, p);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) {
            av_packet_free(&p);
            return CL_OK;
        }
        if (e < 0 || t->n == t->cap) {
            av_packet_free(&p);
            return CL_EIO;
        }
        t->pkts[t->n++] = p;
    }
}

/* The track encoded up to sample `upto` (the whole track and the encoder
   flushed at its end); returns the packets published. Under t->mu. */
static int track_until(audio_track *t, int64_t upto, int *published)
{
    int rc = t->failed;
    if (upto > t->total)
        upto = t->total;
    while (rc == CL_OK && t->next < upto) {
        int n = t->enc->frame_size;
        if (t->total - t->next < n)
            n = (int)(t->total - t->next);
        /* The encoder may hold a reference to the previous frame's buffer. */
        if (av_frame_make_writable(t->frame) < 0) {
            rc = CL_ENOMEM;
            break;
        }
        t->frame->nb_samples = n;
        t->frame->pts = t->next;
        rc_mix_fill(&t->mix, t->next, n, t->frame->data); /* silence without a mix */
        rc = track_encode(t, t->frame);
        t->next += n;
    }
    if (rc == CL_OK && t->next >= t->total && !t->flushed) {
        rc = track_encode(t, NULL);
        t->flushed = 1;
    }
    t->failed = rc;
    *published = t->n;
    return rc;
}

/* Write the soundtrack into this video up to sample `upto`. */
static int audio_until(render_ctx *r, int64_t upto)
{
    audio_track *t = r->track;
    int n = 0;
    pthread_mutex_lock(&t->mu);
    int rc = track_until(t, upto, &n);
    pthread_mutex_unlock(&t->mu);
    if (rc != CL_OK)
        return rc == CL_ENOMEM ? rc_err(r->err, rc, "out of memory") : rc_err(r->err, rc, "AAC encoding failed");
    for (; r->apkt < n; r->apkt++) {
        if (av_packet_ref(r->pkt, t->pkts[r->apkt]) < 0)
            return rc_err(r->err, CL_ENOMEM, "out of memory");
        av_packet_rescale_ts(r->pkt, t->enc->time_base, r->ast->time_base);
        r->pkt->stream_index = r->ast->index;
        int e = av_interleaved_write_frame(r->oc, r->pkt);
        if (e >= 0 && r->oc->pb && r->oc->pb->error < 0)
            e = r->oc->pb->error;
        if (e < 0)
            return av_fail(r, CL_EIO, "cannot write to the video file", e);
    }
    return CL_OK;
}

static void render_ctx_free(render_ctx *r)
{
    if (r->oc && r->io_open)
        avio_closep(&r->oc->pb);
    avformat_free_context(r->oc);
    avcodec_free_context(&r->venc);
    av_packet_free(&r->pkt);
    av_frame_free(&r->base);
    for (int i = 0; i < r->comp.n_layers; i++) {
        if (r->imgs)
            layer_img_free(&r->imgs[i]);
        if (r->panels)
            layer_img_free(&r->panels[i]);
    }
    free(r->imgs);
    free(r->panels);
    free(r->pics);
    rc_comp_free(&r->comp);
    rc_audio_spec_free(&r->audio);
    rc_captions_free(r->caps);
}

/* Cancellation, as the call or (several videos) the group sees it. */
static int stopped(render_ctx *r)
{
    return r->grp ? atomic_load(&r->grp->stop) : clp_cancelled(r->call);
}

static void frames_done(render_ctx *r, int64_t done, int64_t total, int64_t step)
{
    if (r->grp)
        atomic_fetch_add(&r->grp->done, step);
    else
        clp_progress(r->call, done, total);
}

/* Frames composed ahead of the encoder: the compose thread fills this ring
   with references to composed pictures, the video's encoding thread empties
   it, so composing frame i + 1 runs while frame i is encoded. An unchanged
   frame is another reference to the same picture. */
#define RF_AHEAD 3
typedef struct composer {
    render_ctx *r;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    AVFrame *q[RF_AHEAD];
    int head, count;
    int done; /* every frame is in the ring (or rc is set) */
    int stop; /* the encoding side stopped: compose no more */
    int rc;   /* the compose thread's failure */
    int64_t total;
} composer;

/* Hand frame f to the encoding side (takes the reference); 0 when it stopped. */
static int composer_put(composer *cp, AVFrame *f)
{
    pthread_mutex_lock(&cp->mu);
    while (cp->count == RF_AHEAD && !cp->stop)
        pthread_cond_wait(&cp->cv, &cp->mu);
    int ok = !cp->stop;
    if (ok) {
        cp->q[(cp->head + cp->count) % RF_AHEAD] = f;
        cp->count++;
        pthread_cond_broadcast(&cp->cv);
    }
    pthread_mutex_unlock(&cp->mu);
    if (!ok)
        av_frame_free(&f);
    return ok;
}

/* The next frame (the caller owns the reference), or NULL at the end or
   after the compose thread failed (cp->rc). */
static AVFrame *composer_get(composer *cp)
{
    pthread_mutex_lock(&cp->mu);
    while (cp->count == 0 && !cp->done)
        pthread_cond_wait(&cp->cv, &cp->mu);
    AVFrame *f = NULL;
    if (cp->count > 0) {
        f = cp->q[cp->head];
        cp->head = (cp->head + 1) % RF_AHEAD;
        cp->count--;
        pthread_cond_broadcast(&cp->cv);
    }
    pthread_mutex_unlock(&cp->mu);
    return f;
}

static void composer_finish(composer *cp, int rc)
{
    pthread_mutex_lock(&cp->mu);
    cp->done = 1;
    if (rc != CL_OK && cp->rc == CL_OK)
        cp->rc = rc;
    pthread_cond_broadcast(&cp->cv);
    pthread_mutex_unlock(&cp->mu);
}

/* A fresh yuv420p picture in f when the encoding side still references it. */
static int writable_picture(AVFrame *f, const rc_comp *c)
{
    if (f->buf[0] && av_frame_is_writable(f))
        return 0;
    av_frame_unref(f);
    f->format = AV_PIX_FMT_YUV420P;
    f->width = c->width;
    f->height = c->height;
    return av_frame_get_buffer(f, 0) < 0 ? -1 : 0;
}

/* The compose thread: every frame's picture, composed only when a layer's
   opacity or offset, a moving picture or the captions changed. */
static void *compose_thread(void *arg)
{
    composer *cp = arg;
    render_ctx *r = cp->r;
    const rc_comp *c = &r->comp;
    int n = c->n_layers, rc = CL_OK;
    double *alpha = calloc((size_t)n + 1, sizeof *alpha), *palpha = calloc((size_t)n + 1, sizeof *palpha);
    int *off = calloc((size_t)n + 1, sizeof *off), *poff = calloc((size_t)n + 1, sizeof *poff);
    AVFrame *cur = av_frame_alloc();
    if (!alpha || !palpha || !off || !poff || !cur)
        rc = CL_ENOMEM;
    int pcap = -2; /* the captions' state drawn last (rc_captions_state) */
    for (int64_t i = 0; i < cp->total && rc == CL_OK; i++) {
        double t = (double)i / c->fps;
        int changed = i == 0;
        for (int k = 0; k < n; k++) {
            rc_layer_state(c, &c->layers[k], t, &alpha[k], &off[k]);
            alpha[k] = round(alpha[k] * 256) / 256; /* what compose can show */
            if (alpha[k] != palpha[k] || (off[k] & ~1) != (poff[k] & ~1))
                changed = 1;
            if (alpha[k] > 0 && c->layers[k].type == RC_LAYER_IMAGE && c->layers[k].has_motion)
                changed = 1; /* a moving picture: redrawn every frame it shows */
        }
        int cap = rc_captions_state(r->caps, t);
        changed |= cap != pcap;
        if (changed) {
            if (writable_picture(cur, c) != 0) {
                rc = CL_ENOMEM;
                break;
            }
            compose(r, cur, alpha, off, t);
            rc_captions_draw(r->caps, cur, t); /* on top of every layer */
            pcap = cap;
            memcpy(palpha, alpha, sizeof *alpha * (size_t)n);
            memcpy(poff, off, sizeof *off * (size_t)n);
        }
        AVFrame *f = av_frame_clone(cur);
        if (!f)
            rc = CL_ENOMEM;
        else if (!composer_put(cp, f))
            break;
    }
    composer_finish(cp, rc);
    av_frame_free(&cur);
    free(alpha), free(palpha), free(off), free(poff);
    return NULL;
}

/* One video: frames composed by a compose thread, encoded here with the
   soundtrack, progress reported, the MP4 finished and the thumbnail (the
   picture at 1 s) written. */
static int render_frames(render_ctx *r)
{
    const rc_comp *c = &r->comp;
    int64_t total = (int64_t)llround(c->duration * c->fps);
    int64_t thumb_at = c->fps; /* 1 s (durations are at least 3 s) */
    composer cp = {.r = r, .total = total, .rc = CL_OK};
    pthread_mutex_init(&cp.mu, NULL);
    pthread_cond_init(&cp.cv, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, compose_thread, &cp) != 0) {
        pthread_cond_destroy(&cp.cv);
        pthread_mutex_destroy(&cp.mu);
        return rc_err(r->err, CL_ENOMEM, "cannot start the compose thread");
    }
    AVFrame *thumb = NULL, *last = NULL;
    int rc = CL_OK;
    if (!r->grp)
        clp_progress(r->call, 0, total);
    int64_t reported = 0;
    for (int64_t i = 0; i < total; i++) {
        if (stopped(r)) {
            rc = rc_err(r->err, CL_ECANCELLED, "render cancelled after %lld of %lld frames",
                        (long long)i, (long long)total);
            goto out;
        }
        AVFrame *f = composer_get(&cp);
        if (!f) {
            rc = rc_err(r->err, cp.rc != CL_OK ? cp.rc : CL_EIO, cp.rc == CL_ENOMEM ? "out of memory"
                                                                                  : "frame %lld was not composed",
                        (long long)i);
            goto out;
        }
        av_frame_free(&last);
        last = f;
        f->pts = i;
        if (i == thumb_at && !(thumb = av_frame_clone(f))) {
            rc = rc_err(r->err, CL_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = encode(r, r->venc, r->vst, f)) != CL_OK)
            goto out;
        if ((rc = audio_until(r, (i + 1) * 48000 / c->fps)) != CL_OK)
            goto out;
        if ((i + 1) % c->fps == 0 || i + 1 == total) {
            frames_done(r, i + 1, total, i + 1 - reported);
            reported = i + 1;
        }
    }
    if ((rc = encode(r, r->venc, r->vst, NULL)) != CL_OK || (rc = audio_until(r, INT64_MAX)) != CL_OK)
        goto out;
    int e = av_write_trailer(r->oc);
    if (e < 0) {
        rc = av_fail(r, CL_EIO, "cannot finish the MP4", e);
        goto out;
    }
    avio_closep(&r->oc->pb);
    r->io_open = 0;
    if (!thumb && !last)
        rc = rc_err(r->err, CL_EINVAL, "the composition has no frames");
    else
        rc = rc_write_jpeg(thumb ? thumb : last, r->thumbnail_path, r->err);
out:
    /* stop the compose thread and drop what it composed ahead */
    pthread_mutex_lock(&cp.mu);
    cp.stop = 1;
    pthread_cond_broadcast(&cp.cv);
    pthread_mutex_unlock(&cp.mu);
    pthread_join(th, NULL);
    for (; cp.count > 0; cp.count--, cp.head = (cp.head + 1) % RF_AHEAD)
        av_frame_free(&cp.q[cp.head]);
    pthread_cond_destroy(&cp.cv);
    pthread_mutex_destroy(&cp.mu);
    av_frame_free(&thumb);
    av_frame_free(&last);
    return rc;
}


/* One video's composition parsed and checked (calling thread). In the message
   of a failure, "video N: " when the call makes several. */
static int output_parse(render_ctx *r, const char *json, const char *video_path, const char *thumbnail_path,
                        const char *work_dir, const char *font, int idx, int n, cl_error *err)
{
    char msg[400], which[32] = "";
    if (n > 1)
        snprintf(which, sizeof which, "video %d: ", idx + 1);
    r->err = err;
    r->video_path = video_path;
    r->thumbnail_path = thumbnail_path;
    snprintf(r->work_dir, sizeof r->work_dir, "%s", work_dir);
    snprintf(r->font, sizeof r->font, "%s", font);
    if (!json || !video_path || !thumbnail_path)
        return rc_err(err, CL_EINVAL, "%srender request lacks composition_json, video_path or thumbnail_path", which);
    if (rc_comp_parse(json, &r->comp, msg, sizeof msg) != 0 ||
        rc_audio_parse(json, r->work_dir, &r->audio, msg, sizeof msg) != 0 ||
        rc_captions_parse(json, r->comp.duration, &r->caps, msg, sizeof msg) != 0)
        return rc_err(err, CL_EINVAL, "%sinvalid composition: %s", which, msg);
    if (rc_mkdirs_for(video_path) != 0 || rc_mkdirs_for(thumbnail_path) != 0)
        return rc_err(err, CL_EIO, "cannot create the output directory for %s: %s", video_path, strerror(errno));
    return CL_OK;
}

/* Everything drawn once for one video, and its output opened (calling thread). */
static int output_prepare(render_ctx *r)
{
    char msg[400];
    int rc;
    /* The output first: an unwritable path fails before any work is done. */
    if ((rc = open_output(r, r->video_path)) != CL_OK)
        return rc;
    if (r->caps && rc_captions_prepare(r->caps, r->font, r->comp.width, r->comp.height, r->comp.safe_top,
                                       r->comp.safe_bottom, r->comp.safe_left, r->comp.safe_right, msg,
                                       sizeof msg) != 0)
        return rc_err(r->err, CL_EUNSUPPORTED, "%s", msg);
    if ((rc = build_base(r)) != CL_OK || (rc = build_layers(r)) != CL_OK)
        return rc;
    return CL_OK;
}

/* "video N: " before err's message when the call makes several videos. */
static void name_video(cl_error *err, int idx, int n)
{
    if (n < 2 || !err || strncmp(err->message, "video ", 6) == 0)
        return;
    char m[sizeof err->message];
    snprintf(m, sizeof m, "%s", err->message);
    snprintf(err->message, sizeof err->message, "video %d: %.*s", idx + 1, (int)sizeof err->message - 16, m);
}

/* Two soundtracks that mix to the same samples. */
static int same_str(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }
static int same_audio(const render_ctx *a, const render_ctx *b)
{
    const rc_audio_spec *x = &a->audio, *y = &b->audio;
    return a->comp.duration == b->comp.duration && x->present == y->present && same_str(x->vo_path, y->vo_path) &&
           x->vo_gain_db == y->vo_gain_db && x->vo_start == y->vo_start && same_str(x->music_path, y->music_path) &&
           x->music_gain_db == y->music_gain_db && x->duck == y->duck && x->music_loop == y->music_loop &&
           x->fade_in == y->fade_in && x->fade_out == y->fade_out && x->target_lufs == y->target_lufs;
}

/* Lower this thread's CPU weight by r->nice steps (Linux: the nice value is
   per thread, and the compose thread it starts inherits it). A hint: a
   failure leaves the thread at the caller's weight. x264's own threads, when
   a video has more than one, were started by avcodec_open2 in the calling
   thread and keep its weight. */
static void lower_priority(const render_ctx *r)
{
#ifdef __linux__
    if (r->nice <= 0)
        return;
    id_t tid = (id_t)syscall(SYS_gettid);
    errno = 0;
    int cur = getpriority(PRIO_PROCESS, tid);
    if (cur != -1 || errno == 0)
        (void)setpriority(PRIO_PROCESS, tid, cur + r->nice);
#else
    (void)r;
#endif
}

/* Each video's CPU weight in a call of several (RENDER_FFMPEG_BALANCE): its
   expected work is its pixels times its encoder's cost per pixel; the video
   with the most work keeps the caller's weight, each other one is lowered by
   one nice step (CFS: about 1.25x less weight) per 1.25x less work. */
static void balance(render_ctx *r, int n)
{
    double work[RF_MAX_OUTPUTS], most = 0;
    for (int i = 0; i < n; i++) {
        work[i] = (double)r[i].comp.width * r[i].comp.height * r[i].cost;
        most = work[i] > most ? work[i] : most;
    }
    for (int i = 0; i < n; i++) {
        long k = work[i] > 0 ? lround(log(most / work[i]) / log(1.25)) : RF_NICE_MAX;
        r[i].nice = (int)(k < 0 ? 0 : k > RF_NICE_MAX ? RF_NICE_MAX : k);
    }
}

static void *frames_thread(void *arg)
{
    render_ctx *r = arg;
    lower_priority(r);
    r->rc = render_frames(r);
    if (r->rc != CL_OK)
        atomic_store(&r->grp->stop, 1);
    return NULL;
}

/* Render the prepared videos r[0..n) in parallel threads; the calling thread
   reports progress and passes cancellation on. Returns the first failure. */
static int run_parallel(render_ctx *r, int n, cl_call *call, cl_error *err)
{
    render_group g = {.total = 0};
    atomic_init(&g.stop, 0);
    atomic_init(&g.done, 0);
    pthread_t th[RF_MAX_OUTPUTS];
    int started = 0, cancelled = 0;
    for (int i = 0; i < n; i++)
        g.total += (int64_t)llround(r[i].comp.duration * r[i].comp.fps);
    clp_progress(call, 0, g.total);
    for (int i = 0; i < n; i++) {
        r[i].grp = &g;
        r[i].terr = (cl_error)CL_ERROR_INIT;
        r[i].err = &r[i].terr;
        r[i].rc = CL_OK;
        if (pthread_create(&th[i], NULL, frames_thread, &r[i]) != 0) {
            atomic_store(&g.stop, 1);
            r[i].rc = rc_err(&r[i].terr, CL_ENOMEM, "cannot start a render thread");
            break;
        }
        started++;
    }
    /* Poll until every thread has stopped; they stop at the group's flag. */
    int64_t last = -1;
    for (;;) {
        int64_t d = atomic_load(&g.done);
        if (d != last)
            clp_progress(call, d, g.total), last = d;
        if (d >= g.total || atomic_load(&g.stop))
            break;
        if (clp_sleep(call, 50) == CL_ECANCELLED) {
            cancelled = 1;
            atomic_store(&g.stop, 1);
            break;
        }
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < n; i++)
        r[i].err = err;
    if (cancelled)
        return rc_err(err, CL_ECANCELLED, "render cancelled after %lld of %lld frames",
                      (long long)atomic_load(&g.done), (long long)g.total);
    /* the video that failed first: a failure other than the stop it caused */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++)
            if (r[i].rc != CL_OK && (pass || r[i].rc != CL_ECANCELLED)) {
                *err = r[i].terr;
                name_video(err, i, n);
                return r[i].rc;
            }
    return CL_OK;
}

/*
 * One call, one or several videos (ABI 2.1: req->outputs). What the videos
 * share is done once: each picture is decoded once (the image cache), a
 * soundtrack identical across videos is mixed once. Each video's static
 * layers are drawn once at its size; then the videos' frames are composed and
 * encoded in parallel threads, one per video.
 */
static int ffmpeg_render(void *self, cl_call *call, const cl_render_request *req, cl_error *err)
{
    (void)self;
    if (!req)
        return rc_err(err, CL_EINVAL, "render request lacks composition_json, video_path or thumbnail_path");
    int extra = req->outputs ? req->n_outputs : 0;
    if (extra < 0 || extra + 1 > RF_MAX_OUTPUTS)
        return rc_err(err, CL_EINVAL, "a render call makes 1 to %d videos, not %d", RF_MAX_OUTPUTS, extra + 1);
    for (int k = 0; k < extra; k++)
        if (!req->outputs[k] || req->outputs[k]->size < sizeof(cl_render_output))
            return rc_err(err, CL_EINVAL, "render request: outputs[%d] is missing or too small", k);
    int n = extra + 1, rc = CL_OK;
    render_ctx r[RF_MAX_OUTPUTS];
    memset(r, 0, sizeof r);
    rc_image_cache images = {0};
    const char *wd = req->work_dir && req->work_dir[0] ? req->work_dir : clp_temp_dir();
    char font[1024] = "", msg[400];
    for (int i = 0; i < n && rc == CL_OK; i++) {
        const cl_render_output *o = i ? req->outputs[i - 1] : NULL;
        r[i].call = call;
        r[i].images = &images;
        rc = output_parse(&r[i], o ? o->composition_json : req->composition_json,
                          o ? o->video_path : req->video_path, o ? o->thumbnail_path : req->thumbnail_path,
                          wd ? wd : "/tmp", font, i, n, err);
        if (rc == CL_OK && !font[0] && (r[i].comp.n_layers > 0 || r[i].caps)) {
            if (rc_find_font(clp_config("FONT"), clp_asset_dir(), font, sizeof font, msg, sizeof msg) != 0)
                rc = rc_err(err, CL_EUNSUPPORTED, "%s (RENDER_FFMPEG_FONT)", msg);
            for (int k = 0; k <= i; k++)
                snprintf(r[k].font, sizeof r[k].font, "%s", font);
        }
    }
    /* the soundtracks: one AAC encoder (and below, one mix) for all the videos that have the same one */
    audio_track tracks[RF_MAX_OUTPUTS];
    int nt = 0;
    for (int i = 0; i < n && rc == CL_OK; i++) {
        for (int k = 0; k < i && !r[i].track; k++)
            if (same_audio(&r[i], &r[k]))
                r[i].track = r[k].track;
        if (!r[i].track) {
            r[i].track = &tracks[nt++];
            rc = track_open(r[i].track, &r[i].audio, r[i].comp.duration, err);
        }
    }
    /* x264's threads: its own choice for one video; shared out between several. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = n > 1 ? (int)((ncpu > 0 ? ncpu : 1) + n - 1) / n : 0;
    /* the variants' effort, read (and a bad value warned about) once per call */
    int variant_subme = n > 1 ? (int)clp_config_range("VARIANT_SUBME", RF_VARIANT_SUBME, -1, 11) : -1;
    int variant_subpart = n > 1 ? (int)clp_config_range("VARIANT_SUBPART", 0, 0, 1) : 1;
    for (int i = 0; i < n && rc == CL_OK; i++) {
        r[i].enc_threads = threads;
        r[i].subme = i > 0 ? variant_subme : -1;
        r[i].subpart = i > 0 ? variant_subpart : 1;
        if ((rc = output_prepare(&r[i])) != CL_OK)
            name_video(err, i, n);
    }
    for (int k = 0; k < nt && rc == CL_OK; k++)
        if ((rc = rc_audio_mix(cl_plugin_api_, call, tracks[k].spec, tracks[k].duration, &tracks[k].mix, err)) != CL_OK)
            for (int i = 0; i < n; i++)
                if (r[i].track == &tracks[k]) {
                    name_video(err, i, n);
                    break;
                }
    if (rc == CL_OK && n > 1 && clp_config_range("BALANCE", 1, 0, 1))
        balance(r, n);
    if (rc == CL_OK)
        rc = n == 1 ? render_frames(&r[0]) : run_parallel(r, n, call, err);
    for (int i = 0; i < n; i++) {
        int wrote = r[i].wrote_file;
        render_ctx_free(&r[i]);
        if (rc != CL_OK && wrote) {
            unlink(r[i].video_path); /* never leave a partial video behind */
            unlink(r[i].thumbnail_path);
        }
    }
    for (int k = 0; k < nt; k++)
        track_free(&tracks[k]);
    rc_image_cache_free(&images);
    return rc;
}

static int setup(cl_error *err)
{
    (void)err;
    av_log_set_level(AV_LOG_ERROR);
    static cl_renderer r = {
        .base = {.kind = CL_CAP_RENDERER,
                 .id = "ffmpeg",
                 .description = "FFmpeg libraries in process: libavfilter, libx264, AAC, MP4"},
        .render = ffmpeg_render,
        .max_outputs = RF_MAX_OUTPUTS,
    };
#ifdef RF_ABI_2_0
    /* The 2.0 struct ends before max_outputs: the host sees a one-video renderer. */
    r.base.id = "ffmpeg_abi20";
    r.base.description = "render_ffmpeg built as an ABI 2.0 plugin (tests)";
    return cl_plugin_api_->register_capability(cl_plugin_ctx_, &r.base, offsetof(cl_renderer, max_outputs));
#else
    return clp_register(&r);
#endif
}

#ifdef RF_ABI_2_0
/* This renderer as a plugin built against ABI 2.0 (tests only; the
   test-plugins/render_abi20 target): manifest minor 0 and the 2.0 renderer
   struct, so the host's fallback for older renderers (one call per video) is
   exercised with real rendering. */
CL_HIDDEN const cl_host_api *cl_plugin_api_;
CL_HIDDEN cl_plugin_ctx *cl_plugin_ctx_;
static int abi20_init(const cl_host_api *api, cl_plugin_ctx *ctx, cl_error *err)
{
    cl_plugin_api_ = api;
    cl_plugin_ctx_ = ctx;
    return setup(err);
}
static const cl_plugin_manifest abi20_manifest = {CL_PLUGIN_MAGIC, CL_ABI_MAJOR, 0, (uint32_t)sizeof(cl_plugin_manifest),
                                                  CL_BUILD_FINGERPRINT, "render_ffmpeg_abi20", "1.0.0",
                                                  "RENDER_FFMPEG", abi20_init};
CL_PLUGIN_DEFINE(abi20_manifest)
#else
CL_PLUGIN("render_ffmpeg", "1.0.0", "RENDER_FFMPEG", setup)
#endif
