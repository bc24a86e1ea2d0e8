/*
 * render_hyperframes.c — the HyperFrames renderer (capability renderer, id
 * "hyperframes"). It writes an HTML composition package for the
 * composition (docs/composition.md), runs the HyperFrames CLI on it with the
 * system Chromium, then adds a silent AAC track (+faststart) to the video it
 * made and takes the thumbnail, both with the FFmpeg libraries in process.
 *
 * The package is deterministic and offline: one index.html whose root
 * carries data-composition-id/width/height/fps/duration and data-no-timeline
 * (no GSAP), every layer a full-length clip animated by one CSS @keyframes
 * sampled from the same curves render_ffmpeg uses (rc_layer_state), the font
 * file copied next to it, and remote images fetched beforehand through the
 * host's HTTP client (its guard applies) into the package. Version 2 layers:
 * rects as divs, images copied in and moved by keyframes sampled from the
 * same camera curve render_ffmpeg draws (rc_image_window), fonts per layer,
 * and a small script that shrinks a text that overflows its box in 8% steps
 * as render_ffmpeg's layout does.
 *
 * The CLI runs through posix_spawn (an argument vector, no shell) in its own
 * process group, with stdout/stderr in files of the work directory, and an
 * explicit environment: only the variables in env_allowed below (PATH, HOME,
 * locale, temp and cache directories, fontconfig) plus the browser path and
 * the offline switches — never the database URL, API keys or secrets the host
 * was started with. The
 * plugin polls: cancellation and the timeout kill the whole group
 * (SIGTERM, then SIGKILL); progress comes from the CLI's "@hf-progress"
 * lines.
 *
 * Configuration (section HYPERFRAMES):
 *   HYPERFRAMES_ENABLED       must be true, else every render is CL_EUNSUPPORTED
 *   HYPERFRAMES_BIN           the CLI, default "hyperframes" (searched in PATH)
 *   HYPERFRAMES_BROWSER_PATH  Chromium for the CLI, passed through when set
 *   HYPERFRAMES_QUALITY       draft | looks | delivery, default looks
 *   HYPERFRAMES_WORKERS       CLI render workers, default 1
 *   HYPERFRAMES_TIMEOUT_MS    whole-render deadline, default 600000
 *   HYPERFRAMES_FONT          font file (default as render_ffmpeg: assets, then DejaVu)
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np */
#include "cliploop_plugin.h"
#include "rc_captions.h"
#include "rc_comp.h"

#include <cjson/cJSON.h>
#include "rc_media.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Most videos one call makes (ABI 2.1 max_outputs; made one after the other). */
#define HF_MAX_OUTPUTS 8

/* The whole render's deadline unless HYPERFRAMES_TIMEOUT_MS says otherwise. */
#define HF_TIMEOUT_MS 600000


/* ------------------------------------------------------------------------- */
/* The page, built in the SDK's clp_buf                                      */
/* ------------------------------------------------------------------------- */

static void sb_html(clp_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': clp_buf_append(b, "&amp;", 5); break;
        case '<': clp_buf_append(b, "&lt;", 4); break;
        case '>': clp_buf_append(b, "&gt;", 4); break;
        case '"': clp_buf_append(b, "&quot;", 6); break;
        case '\'': clp_buf_append(b, "&#39;", 5); break;
        case '\n': clp_buf_append(b, "<br>", 4); break;
        default: clp_buf_append(b, s, 1);
        }
    }
}

/* ------------------------------------------------------------------------- */
/* The composition package                                                   */
/* ------------------------------------------------------------------------- */

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    int rc = in && out ? 0 : -1;
    char buf[65536];
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

/* Keyframes for layer l over the whole composition, sampled from rc_layer_state. */
static void layer_keyframes(clp_buf *b, const rc_comp *c, const rc_layer *l, int idx)
{
    double ts[64];
    int n = 0;
    double in = l->fade_in > 0 ? l->fade_in : 0, out = l->fade_out > 0 ? l->fade_out : 0;
    if (l->anim == RC_ANIM_SLIDE_UP && in < RC_ANIM_SECONDS)
        in = RC_ANIM_SECONDS;
    ts[n++] = 0;
    ts[n++] = l->start - 0.001;
    for (int k = 0; k <= 8; k++)
        ts[n++] = l->start + in * k / 8;
    for (int k = 0; k <= 8; k++)
        ts[n++] = l->end - out + out * k / 8 - (k == 8 ? 0.001 : 0);
    ts[n++] = l->end;
    ts[n++] = c->duration;
    /* sort (tiny n) */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && ts[j] < ts[j - 1]; j--) {
            double t = ts[j];
            ts[j] = ts[j - 1];
            ts[j - 1] = t;
        }
    clp_buf_printf(b, "@keyframes L%d{", idx);
    double last_pct = -1;
    for (int i = 0; i < n; i++) {
        double t = ts[i];
        if (t < 0 || t > c->duration)
            continue;
        double pct = t / c->duration * 100;
        if (pct - last_pct < 0.0005)
            continue;
        last_pct = pct;
        double a;
        int off;
        rc_layer_state(c, l, t >= c->duration ? c->duration - 1e-6 : t, &a, &off);
        clp_buf_printf(b, "%.4f%%{opacity:%.3f;transform:translateY(%dpx)}", pct, a, off);
    }
    clp_buf_append(b, "}\n", 2);
}

/* An image layer's camera as CSS: the picture (src_w x src_h) placed in its
   box so that the window rc_image_window shows fills it, sampled 48 times
   over the layer's time (linear between samples of the smoothstep curve). */
static void image_keyframes(clp_buf *b, const rc_comp *c, const rc_layer *l, int idx, int src_w, int src_h)
{
    clp_buf_printf(b, "@keyframes M%d{", idx);
    int steps = l->has_motion ? 48 : 1;
    for (int k = 0; k <= steps; k++) {
        double t = l->start + (l->end - l->start) * k / steps;
        rc_view v;
        rc_image_view(l, t, &v);
        double sx, sy, sw, sh;
        int ox, oy, ow, oh;
        rc_image_window(l, &v, src_w, src_h, l->box_w, l->box_h, &sx, &sy, &sw, &sh, &ox, &oy, &ow, &oh);
        double kx = ow / sw, ky = oh / sh;
        double pct = l->has_motion ? t / c->duration * 100 : (k ? 100 : 0);
        clp_buf_printf(b, "%.4f%%{left:%.2fpx;top:%.2fpx;width:%.2fpx;height:%.2fpx}", pct, ox - sx * kx, oy - sy * ky,
                  src_w * kx, src_h * ky);
    }
    clp_buf_append(b, "}\n", 2);
}

/* Version 2 layers: each text layer's own font (copied in as fontN), rects,
   and images (copied in as imgN) with their camera keyframes. */
static int v2_styles(clp_buf *b, const rc_comp *c, const char *dir, cl_error *err)
{
    char path[PATH_MAX + 64];
    for (int i = 0; i < c->n_layers; i++) {
        const rc_layer *l = &c->layers[i];
        if (l->type == RC_LAYER_TEXT && l->font) {
            snprintf(path, sizeof path, "%s/font%d.ttf", dir, i);
            if (copy_file(l->font, path) != 0)
                return rc_err(err, CL_EIO, "cannot copy the font %s into the HyperFrames package", l->font);
            clp_buf_printf(b, "@font-face{font-family:\"CLF%d\";src:url(\"font%d.ttf\");}\n.t%d{font-family:\"CLF%d\";}\n",
                      i, i, i, i);
        }
        if (l->type == RC_LAYER_TEXT) {
            static const char *const al[] = {"center", "left", "right"};
            clp_buf_printf(b, ".t%d{text-align:%s;%s}\n", i, al[l->align], l->shadow ? "" : "text-shadow:none;");
            if (l->align != RC_ALIGN_CENTER)
                clp_buf_printf(b, ".c%d>.txt{width:100%%;}\n", i);
            if (l->outline > 0)
                clp_buf_printf(b, ".t%d{-webkit-text-stroke:%dpx #%06x;paint-order:stroke fill;}\n", i, l->outline * 2,
                          l->outline_color);
            if (l->has_bg)
                clp_buf_printf(b, ".t%d span.panel{display:inline-block;background:rgba(%d,%d,%d,%.3f);padding:%dpx;"
                             "border-radius:%dpx;box-decoration-break:clone;}\n",
                          i, l->bg_color >> 16 & 255, l->bg_color >> 8 & 255, l->bg_color & 255, l->bg_opacity,
                          l->bg_pad, l->radius);
        } else if (l->type == RC_LAYER_RECT) {
            layer_keyframes(b, c, l, i);
            clp_buf_printf(b, ".c%d{left:%dpx;top:%dpx;width:%dpx;height:%dpx;background:#%06x;border-radius:%dpx;"
                         "animation:L%d %.3fs linear 1 both;opacity:0;}\n",
                      i, l->box_x, l->box_y, l->box_w, l->box_h, l->color, l->radius, i, c->duration);
        } else {
            AVFrame *pic = NULL;
            int rc = rc_decode_image(l->path, "image layer", &pic, err);
            if (rc != CL_OK)
                return rc;
            int w = pic->width, h = pic->height;
            av_frame_free(&pic);
            snprintf(path, sizeof path, "%s/img%d", dir, i);
            if (copy_file(l->path, path) != 0)
                return rc_err(err, CL_EIO, "cannot copy %s into the HyperFrames package", l->path);
            layer_keyframes(b, c, l, i);
            image_keyframes(b, c, l, i, w, h);
            clp_buf_printf(b, ".c%d{left:%dpx;top:%dpx;width:%dpx;height:%dpx;overflow:hidden;border-radius:%dpx;"
                         "animation:L%d %.3fs linear 1 both;opacity:0;}\n"
                         ".c%d img{position:absolute;animation:M%d %.3fs linear 1 both;}\n",
                      i, l->box_x, l->box_y, l->box_w, l->box_h, l->radius, i, c->duration, i, i, c->duration);
        }
    }
    return CL_OK;
}

/* Burned-in captions (rc_captions.h) as clips on top of every layer: one box per
   cue shown from its start to its end, each word a span whose colour switches
   to the highlight while it is the one being spoken — CSS keyframes over the
   whole video, as the layers are. The same placement rules as render_ffmpeg. */
static void captions_html(clp_buf *b, const rc_comp *c, const rc_captions *caps, int *track)
{
    if (!caps || caps->n_cues == 0)
        return;
    double s = (c->width < c->height ? c->width : c->height) / 1080.0, D = c->duration; /* as rc_captions */
    int fs = (int)lround(caps->font_size * s), ol = (int)lround(caps->outline * s);
    int safe_w = c->width - c->safe_left - c->safe_right, safe_h = c->height - c->safe_top - c->safe_bottom;
    clp_buf_printf(b, "<style>.cap{left:%dpx;width:%dpx;text-align:center;opacity:0;animation-duration:%.3fs;"
                 "animation-timing-function:linear;animation-fill-mode:both;animation-iteration-count:1;}\n"
                 ".cap>div{display:inline-block;max-width:%dpx;font-size:%dpx;line-height:1.28;font-weight:bold;"
                 "color:#%06x;padding:%dpx;border-radius:%dpx;%s%s}\n"
                 ".cap span{animation-duration:%.3fs;animation-timing-function:step-end;animation-fill-mode:both;"
                 "animation-iteration-count:1;}\n",
              c->safe_left, safe_w, D, safe_w - 2 * ol, fs, caps->color, (int)lround(fs * 0.45), fs / 5,
              caps->box ? "background:rgba(0,0,0,0.55);" : "", "", D);
    if (ol > 0)
        clp_buf_printf(b, ".cap>div{-webkit-text-stroke:%dpx #000;paint-order:stroke fill;}\n", ol * 2);
    const char *place;
    char pl[160];
    switch (caps->position) {
    case RC_CAP_TOP: snprintf(pl, sizeof pl, "top:%dpx;", c->safe_top); break;
    case RC_CAP_CENTER: snprintf(pl, sizeof pl, "top:%dpx;transform:translateY(-50%%);", c->safe_top + safe_h / 2); break;
    case RC_CAP_BOTTOM: snprintf(pl, sizeof pl, "bottom:%dpx;", c->safe_bottom); break;
    default: snprintf(pl, sizeof pl, "top:%dpx;transform:translateY(-50%%);", c->safe_top + (int)(safe_h * 0.72)); break;
    }
    place = pl;
    clp_buf_printf(b, ".cap{%s}\n", place);
    for (int i = 0; i < caps->n_cues; i++) {
        const rc_cap_cue *q = &caps->cues[i];
        /* the cue: visible in [start, end) */
        clp_buf_printf(b, "@keyframes Q%d{0%%{opacity:0}%.4f%%{opacity:0}%.4f%%{opacity:1}%.4f%%{opacity:1}%.4f%%{opacity:0}"
                     "100%%{opacity:0}}\n.q%d{animation-name:Q%d;}\n",
                  i, fmax(0, q->start / D * 100 - 0.0001), q->start / D * 100, fmax(q->start / D * 100, q->end / D * 100 - 0.0001),
                  q->end / D * 100, i, i);
        for (int k = 0; caps->words_mode && k < q->n_words; k++) {
            double a = q->words[k].start, e = k + 1 < q->n_words ? q->words[k + 1].start : q->end;
            clp_buf_printf(b, "@keyframes W%d_%d{0%%{color:#%06x}%.4f%%{color:#%06x}%.4f%%{color:#%06x}}\n"
                         ".w%d_%d{animation-name:W%d_%d;}\n",
                      i, k, caps->color, a / D * 100, caps->highlight, e / D * 100, caps->color, i, k, i, k);
        }
    }
    clp_buf_printf(b, "</style>\n");
    for (int i = 0; i < caps->n_cues; i++) {
        const rc_cap_cue *q = &caps->cues[i];
        clp_buf_printf(b, "<div class=\"clip cap q%d\" data-start=\"0\" data-duration=\"%.3f\" data-track-index=\"%d\"><div>",
                  i, D, (*track)++);
        for (int k = 0; k < q->n_words; k++) {
            clp_buf_printf(b, "%s<span class=\"w%d_%d\">", k ? " " : "", i, k);
            sb_html(b, q->words[k].text);
            clp_buf_printf(b, "</span>");
        }
        clp_buf_printf(b, "</div></div>\n");
    }
}

static int write_package(const rc_comp *c, const rc_captions *caps, const char *dir, const char *font,
                         const char *bg_file, const char *logo_file, cl_error *err)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/font.ttf", dir);
    if (copy_file(font, path) != 0)
        return rc_err(err, CL_EIO, "cannot copy the font %s into the HyperFrames package", font);
    clp_buf b = {0};
    int W = c->width, H = c->height;
    clp_buf_printf(&b,
              "<!doctype html>\n<html><head><meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=%d, height=%d\">\n<style>\n"
              "@font-face{font-family:\"CLText\";src:url(\"font.ttf\") format(\"truetype\");}\n"
              "html,body{margin:0;padding:0;background:#000;}\n"
              "#stage{position:relative;width:%dpx;height:%dpx;overflow:hidden;"
              "font-family:\"CLText\",sans-serif;",
              W, H, W, H);
    if (c->bg_type == RC_BG_GRADIENT) {
        /* From the top-left to the bottom-right corner, as render_ffmpeg draws it. */
        double deg = 180.0 - atan((double)W / H) * 180.0 / M_PI;
        clp_buf_printf(&b, "background:linear-gradient(%.3fdeg,#%06x,#%06x);", deg, c->bg_colors[0],
                  c->bg_colors[1]);
    } else {
        clp_buf_printf(&b, "background:#%06x;", c->bg_color);
    }
    clp_buf_printf(&b, "}\n"
                  ".bgimg{position:absolute;left:0;top:0;width:%dpx;height:%dpx;object-fit:cover;}\n"
                  ".logo{position:absolute;left:0;top:%dpx;width:%dpx;height:%dpx;object-fit:contain;}\n"
                  ".clip{position:absolute;}\n"
                  ".txt{text-align:center;line-height:1.22;white-space:pre-wrap;overflow-wrap:anywhere;"
                  "animation-duration:%.3fs;animation-timing-function:linear;animation-fill-mode:both;"
                  "animation-iteration-count:1;opacity:0;}\n",
              W, H, c->safe_top, W, H / 10, c->duration);
    for (int i = 0; i < c->n_layers; i++) {
        const rc_layer *l = &c->layers[i];
        if (l->type != RC_LAYER_TEXT)
            continue;
        int shadow = l->font_size / 24 > 2 ? l->font_size / 24 : 2;
        layer_keyframes(&b, c, l, i);
        clp_buf_printf(&b, ".t%d{animation-name:L%d;font-size:%dpx;color:#%06x;"
                      "text-shadow:%dpx %dpx 0 rgba(0,0,0,0.6);}\n",
                  i, i, l->font_size, l->color, shadow, shadow);
        int x, w, ay, anchor;
        rc_layer_area(c, l, &x, &w, &ay, &anchor);
        if (l->has_box)
            clp_buf_printf(&b, ".c%d{left:%dpx;top:%dpx;width:%dpx;height:%dpx;display:flex;"
                          "align-items:center;justify-content:center;}\n",
                      i, l->box_x, l->box_y, l->box_w, l->box_h);
        else if (anchor == RC_POS_TOP)
            clp_buf_printf(&b, ".c%d{left:%dpx;width:%dpx;top:%dpx;}\n", i, x, w, ay);
        else if (anchor == RC_POS_BOTTOM)
            clp_buf_printf(&b, ".c%d{left:%dpx;width:%dpx;bottom:%dpx;}\n", i, x, w, H - ay);
        else
            clp_buf_printf(&b, ".c%d{left:%dpx;width:%dpx;top:%dpx;transform:translateY(-50%%);}\n", i, x,
                      w, ay);
    }
    int v2 = v2_styles(&b, c, dir, err);
    if (v2 != CL_OK) {
        clp_buf_free(&b);
        return v2;
    }
    clp_buf_printf(&b,
              "</style></head>\n<body>\n"
              "<div id=\"stage\" data-composition-id=\"cliploop-%s\" data-width=\"%d\" "
              "data-height=\"%d\" data-fps=\"%d\" data-duration=\"%.3f\" data-start=\"0\" "
              "data-no-timeline>\n",
              c->template_id, W, H, c->fps, c->duration);
    int track = 0;
    if (bg_file)
        clp_buf_printf(&b, "<img class=\"clip bgimg\" src=\"%s\" alt=\"\" data-start=\"0\" "
                      "data-duration=\"%.3f\" data-track-index=\"%d\">\n",
                  bg_file, c->duration, track++);
    if (logo_file)
        clp_buf_printf(&b, "<img class=\"clip logo\" src=\"%s\" alt=\"\" data-start=\"0\" "
                      "data-duration=\"%.3f\" data-track-index=\"%d\">\n",
                  logo_file, c->duration, track++);
    for (int i = 0; i < c->n_layers; i++) {
        const rc_layer *l = &c->layers[i];
        if (l->type == RC_LAYER_RECT) {
            clp_buf_printf(&b, "<div class=\"clip c%d\" data-start=\"0\" data-duration=\"%.3f\" data-track-index=\"%d\">"
                          "</div>\n", i, c->duration, track++);
            continue;
        }
        if (l->type == RC_LAYER_IMAGE) {
            clp_buf_printf(&b, "<div class=\"clip c%d\" data-start=\"0\" data-duration=\"%.3f\" data-track-index=\"%d\">"
                          "<img src=\"img%d\" alt=\"\"></div>\n", i, c->duration, track++, i);
            continue;
        }
        /* data-fit: the height the text must fit in; the script below shrinks the font
           in 8% steps down to 12 px as render_ffmpeg does. */
        clp_buf_printf(&b, "<div class=\"clip c%d\" data-start=\"0\" data-duration=\"%.3f\" "
                      "data-track-index=\"%d\" data-fit=\"%d\"><div class=\"txt t%d\">%s",
                  i, c->duration, track++,
                  l->has_box ? l->box_h /* a panel's padding is inside the span */
                             : (c->height - c->safe_top - c->safe_bottom) * 2 / 5,
                  i, l->has_bg ? "<span class=\"panel\">" : "");
        sb_html(&b, l->text);
        clp_buf_printf(&b, "%s</div></div>\n", l->has_bg ? "</span>" : "");
    }
    captions_html(&b, c, caps, &track);
    clp_buf_printf(&b, "</div>\n<script>for(const c of document.querySelectorAll('.clip[data-fit]')){"
                  "const t=c.firstElementChild,H=+c.dataset.fit;let f=parseFloat(getComputedStyle(t).fontSize);"
                  "while(t.scrollHeight>H&&f>12){f=Math.max(12,Math.floor(f*0.92));t.style.fontSize=f+'px';}}"
                  "</script>\n</body></html>\n");
    if (b.oom) {
        clp_buf_free(&b);
        return rc_err(err, CL_ENOMEM, "out of memory");
    }
    snprintf(path, sizeof path, "%s/index.html", dir);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b.data, 1, b.len, f) == b.len;
    if (f && fclose(f) != 0)
        ok = 0;
    clp_buf_free(&b);
    return ok ? CL_OK : rc_err(err, CL_EIO, "cannot write %s: %s", path, strerror(errno));
}

/* ------------------------------------------------------------------------- */
/* Running the CLI                                                           */
/* ------------------------------------------------------------------------- */

static const char *cfg(const char *key, const char *def)
{
    const char *v = clp_config(key);
    return v && *v ? v : def;
}

static int cfg_true(const char *key) { return clp_config_bool(key, 0); }

/* The CLI as posix_spawnp runs it: a bare name is looked up in PATH by
   posix_spawnp itself; a path is made absolute, since the CLI runs in the
   work directory. 0, or -1 when the path is not an executable file. */
static int find_bin(const char *bin, char *out, size_t len)
{
    char abs[PATH_MAX];
    if (strchr(bin, '/') && (access(bin, X_OK) != 0 || !realpath(bin, abs)))
        return -1;
    snprintf(out, len, "%s", strchr(bin, '/') ? abs : bin);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The last len bytes of a file, ANSI escapes and progress lines removed. */
static void file_tail(const char *path, char *out, size_t len)
{
    out[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char raw[4096];
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > (long)sizeof raw - 1 ? size - (long)sizeof raw + 1 : 0;
    fseek(f, from, SEEK_SET);
    size_t n = fread(raw, 1, sizeof raw - 1, f);
    fclose(f);
    raw[n] = '\0';
    char clean[4096];
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof clean - 1; i++) {
        if (raw[i] == 0x1b) { /* skip ESC [ ... letter */
            while (i < n && !((raw[i] >= 'A' && raw[i] <= 'Z') || (raw[i] >= 'a' && raw[i] <= 'z')))
                i++;
            continue;
        }
        if (raw[i] == '\r')
            raw[i] = '\n';
        if (raw[i] == '@' && strncmp(raw + i, "@hf-progress", 12) == 0) {
            while (i < n && raw[i] != '\n')
                i++;
            continue;
        }
        clean[o++] = raw[i];
    }
    clean[o] = '\0';
    /* trim trailing whitespace, keep the end */
    while (o > 0 && (clean[o - 1] == '\n' || clean[o - 1] == ' '))
        clean[--o] = '\0';
    const char *start = o > len - 1 ? clean + o - (len - 1) : clean;
    snprintf(out, len, "%s", start);
    for (char *p = out; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

/* Progress from the newest "@hf-progress {...,"pct":N,...}" line in the log:
   its JSON object read with cJSON; -1 when there is none yet. */
static int read_pct(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char buf[8192];
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0, SEEK_SET);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    int pct = -1;
    for (char *p = buf; (p = strstr(p, "@hf-progress")); p += 12) {
        const char *s = p + 12 + strspn(p + 12, " "), *e = p + strcspn(p, "\n");
        cJSON *o = cJSON_ParseWithLength(s, (size_t)(e - s));
        const cJSON *v = cJSON_GetObjectItem(o, "pct");
        if (cJSON_IsNumber(v))
            pct = v->valueint;
        cJSON_Delete(o);
    }
    return pct;
}

static void kill_group(pid_t pid)
{
    kill(-pid, SIGTERM);
    for (int i = 0; i < 30; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(100000);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* What the CLI, node and Chromium need from our environment; everything
   else (DATABASE_URL, *_API_KEY, secrets) stays with the host. */
static int env_allowed(const char *kv)
{
    static const char *const names[] = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR",
                                        "TMP", "TEMP", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                                        "XDG_RUNTIME_DIR", "FONTCONFIG_FILE", "FONTCONFIG_PATH", NULL};
    const char *eq = strchr(kv, '=');
    if (!eq)
        return 0;
    size_t n = (size_t)(eq - kv);
    if (n > 3 && strncmp(kv, "LC_", 3) == 0)
        return 1;
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == n && strncmp(kv, names[i], n) == 0)
            return 1;
    return 0;
}

/* Progress over all the videos of a call (ABI 2.1): the frames of the videos
   already made, and the frames of all of them (0 = just this one's). */
static _Thread_local int64_t prog_base, prog_all;

static void hf_progress(cl_call *call, int64_t done, int64_t total)
{
    clp_progress(call, prog_base + done, prog_all ? prog_all : total);
}

static int run_cli(const char *bin, const char *pkg, const char *out_mp4, const char *work,
                   int total_frames, cl_call *call, cl_error *err)
{
    char log_out[PATH_MAX + 64], log_err[PATH_MAX + 64];
    snprintf(log_out, sizeof log_out, "%s/hyperframes.out", work);
    snprintf(log_err, sizeof log_err, "%s/hyperframes.err", work);
    const char *quality = cfg("QUALITY", "looks");
    const char *workers = cfg("WORKERS", "1");
    char *argv[] = {(char *)bin, "render", (char *)pkg, "-o", (char *)out_mp4, "--quality",
                    (char *)quality, "--workers", (char *)workers, NULL};

    /* The environment: the allow-listed part of ours, plus the browser and
       offline switches. */
    size_t ne = 0;
    while (environ[ne])
        ne++;
    char **envp = calloc(ne + 8, sizeof *envp);
    char browser[1200];
    if (!envp)
        return rc_err(err, CL_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (env_allowed(environ[i]))
            envp[k++] = environ[i];
    const char *bp = cfg("BROWSER_PATH", NULL);
    if (bp) {
        snprintf(browser, sizeof browser, "HYPERFRAMES_BROWSER_PATH=%s", bp);
        envp[k++] = browser;
    }
    envp[k++] = "HYPERFRAMES_NO_TELEMETRY=1";
    envp[k++] = "HYPERFRAMES_NO_UPDATE_CHECK=1";
    envp[k++] = "PUPPETEER_SKIP_DOWNLOAD=1";
    envp[k++] = "DO_NOT_TRACK=1";
    envp[k] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, log_err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addchdir_np(&fa, work);
    posix_spawnattr_setpgroup(&at, 0);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int e = posix_spawnp(&pid, bin, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    free(envp);
    if (e != 0)
        return rc_err(err, e == ENOENT ? CL_EUNSUPPORTED : CL_EIO,
                      "cannot start the HyperFrames CLI (HYPERFRAMES_BIN=%s): %s%s", bin, strerror(e),
                      e == ENOENT ? "; install it with scripts/lib/hyperframes.sh or point HYPERFRAMES_BIN at it" : "");

    int64_t timeout_ms = clp_config_int("TIMEOUT_MS", HF_TIMEOUT_MS);
    double deadline = now_s() + (double)timeout_ms / 1000.0;
    int status = 0, last_pct = -1;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            kill_group(pid);
            return rc_err(err, CL_EIO, "lost the HyperFrames process: %s", strerror(errno));
        }
        if (clp_cancelled(call)) {
            kill_group(pid);
            return rc_err(err, CL_ECANCELLED, "HyperFrames render cancelled");
        }
        if (now_s() > deadline) {
            kill_group(pid);
            return rc_err(err, CL_ETIMEOUT, "HyperFrames render exceeded HYPERFRAMES_TIMEOUT_MS (%lld ms)",
                          (long long)timeout_ms);
        }
        int pct = read_pct(log_out);
        if (pct > last_pct && pct <= 100) {
            last_pct = pct;
            hf_progress(call, (int64_t)total_frames * pct / 100, total_frames);
        }
        clp_sleep(call, 100); /* returns early on cancel: the loop's check then stops the CLI */
    }
    kill(-pid, SIGKILL); /* stray children of the CLI (browsers) go with it */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char tail[360];
        file_tail(log_err, tail, sizeof tail);
        if (!tail[0])
            file_tail(log_out, tail, sizeof tail);
        if (WIFSIGNALED(status))
            return rc_err(err, CL_EUPSTREAM, "hyperframes was killed by signal %d: %s",
                          WTERMSIG(status), tail);
        return rc_err(err, CL_EUPSTREAM, "hyperframes exited with status %d: %s",
                      WEXITSTATUS(status), tail);
    }
    return CL_OK;
}

/* One video; its package and raw video are named after idx in the work directory. */
static int hf_render_one(cl_call *call, const cl_render_request *req, int idx, cl_error *err)
{
    if (!cfg_true("ENABLED"))
        return rc_err(err, CL_EUNSUPPORTED,
                      "HyperFrames rendering is disabled (set HYPERFRAMES_ENABLED=true)");
    if (!req || !req->video_path || !req->thumbnail_path || !req->composition_json)
        return rc_err(err, CL_EINVAL, "render request lacks composition_json, video_path or thumbnail_path");
    const char *bin_cfg = cfg("BIN", "hyperframes");
    char bin[PATH_MAX];
    if (find_bin(bin_cfg, bin, sizeof bin) != 0)
        return rc_err(err, CL_EUNSUPPORTED,
                      "the HyperFrames CLI was not found (HYPERFRAMES_BIN=%s); install it with "
                      "scripts/lib/hyperframes.sh or point HYPERFRAMES_BIN at it",
                      bin_cfg);
    rc_comp c;
    char msg[400], font[1024];
    if (rc_comp_parse(req->composition_json, &c, msg, sizeof msg) != 0)
        return rc_err(err, CL_EINVAL, "invalid composition: %s", msg);
    int rc;
    if (rc_find_font(cfg("FONT", NULL), clp_asset_dir(), font, sizeof font, msg, sizeof msg) != 0) {
        rc = rc_err(err, CL_EUNSUPPORTED, "%s (HYPERFRAMES_FONT)", msg);
        goto out;
    }
    /* Absolute: the CLI runs with the work directory as its cwd. */
    const char *wd0 = req->work_dir && req->work_dir[0] ? req->work_dir : clp_temp_dir();
    char wd_abs[PATH_MAX];
    const char *wd = wd0 && realpath(wd0, wd_abs) ? wd_abs : NULL;
    if (!wd) {
        rc = rc_err(err, CL_EIO, "work directory %s is not usable", wd0 ? wd0 : "(none)");
        goto out;
    }
    char pkg[PATH_MAX + 32], raw[PATH_MAX + 32];
    snprintf(pkg, sizeof pkg, idx ? "%s/hf-package-%d" : "%s/hf-package", wd, idx);
    snprintf(raw, sizeof raw, idx ? "%s/hyperframes-raw-%d.mp4" : "%s/hyperframes-raw.mp4", wd, idx);
    if (mkdir(pkg, 0700) != 0 && errno != EEXIST) {
        rc = rc_err(err, CL_EIO, "cannot create %s: %s", pkg, strerror(errno));
        goto out;
    }
    if (rc_mkdirs_for(req->video_path) != 0 || rc_mkdirs_for(req->thumbnail_path) != 0) {
        rc = rc_err(err, CL_EIO, "cannot create the output directory for %s: %s", req->video_path,
                    strerror(errno));
        goto out;
    }
    /* An unwritable destination fails before the (slow) render. */
    FILE *probe = fopen(req->video_path, "ab");
    if (!probe) {
        rc = rc_err(err, CL_EIO, "cannot write the video to %s: %s", req->video_path, strerror(errno));
        goto out;
    }
    fclose(probe);
    char path[PATH_MAX + 64];
    const char *bg_file = NULL, *logo_file = NULL;
    if (c.bg_image_url) {
        snprintf(path, sizeof path, "%s/background.img", pkg);
        if ((rc = rc_fetch_to_file(cl_plugin_api_, call, c.bg_image_url, path, "background image", err)) != CL_OK)
            goto out_rm;
        bg_file = "background.img";
    }
    if (c.logo_url) {
        snprintf(path, sizeof path, "%s/logo.img", pkg);
        if ((rc = rc_fetch_to_file(cl_plugin_api_, call, c.logo_url, path, "logo", err)) != CL_OK)
            goto out_rm;
        logo_file = "logo.img";
    }
    /* Files the layers name must be inside the work directory (the host stages them there). */
    for (int i = 0; i < c.n_layers; i++) {
        const char *f = c.layers[i].type == RC_LAYER_IMAGE ? c.layers[i].path : c.layers[i].font;
        if (f && !rc_path_inside(wd, f)) {
            rc = rc_err(err, CL_EINVAL, "layers[%d] names a file outside the render's work directory", i);
            goto out_rm;
        }
    }
    rc_captions *caps = NULL;
    if (rc_captions_parse(req->composition_json, c.duration, &caps, msg, sizeof msg) != 0) {
        rc = rc_err(err, CL_EINVAL, "invalid composition: %s", msg);
        goto out_rm;
    }
    rc = write_package(&c, caps, pkg, font, bg_file, logo_file, err);
    rc_captions_free(caps);
    if (rc != CL_OK)
        goto out_rm;
    int total = (int)lround(c.duration * c.fps);
    hf_progress(call, 0, total);
    if ((rc = run_cli(bin, pkg, raw, wd, total, call, err)) != CL_OK)
        goto out_rm;
    struct stat st;
    if (stat(raw, &st) != 0 || st.st_size == 0) {
        rc = rc_err(err, CL_EUPSTREAM, "hyperframes exited successfully but wrote no video");
        goto out_rm;
    }
    /* The soundtrack (rc_audio.h): the mix, or silence without "audio". */
    rc_audio_spec au;
    rc_mix mix = {0};
    if (rc_audio_parse(req->composition_json, wd, &au, msg, sizeof msg) != 0) {
        rc = rc_err(err, CL_EINVAL, "invalid composition: %s", msg);
        goto out_rm;
    }
    rc = rc_audio_mix(cl_plugin_api_, call, &au, c.duration, &mix, err);
    if (rc == CL_OK)
        rc = rc_mux_with_audio(raw, req->video_path, &mix, err);
    rc_mix_free(&mix);
    rc_audio_spec_free(&au);
    if (rc != CL_OK)
        goto out_rm;
    unlink(raw);
    rc = rc_thumbnail_from_video(req->video_path, 1.0, req->thumbnail_path, err);
    if (rc == CL_OK)
        hf_progress(call, total, total);
out_rm:
    if (rc != CL_OK) {
        unlink(req->video_path);
        unlink(req->thumbnail_path);
    }
out:
    rc_comp_free(&c);
    return rc;
}

/*
 * The call: one video, or (ABI 2.1) several — the CLI renders one page at a
 * time, so the videos are made one after the other (progress counts them
 * all). All or nothing: a failure removes the videos already made.
 */
static int hf_render(void *self, cl_call *call, const cl_render_request *req, cl_error *err)
{
    (void)self;
    int extra = req && req->outputs ? req->n_outputs : 0;
    if (extra < 0 || extra + 1 > HF_MAX_OUTPUTS)
        return rc_err(err, CL_EINVAL, "a render call makes 1 to %d videos, not %d", HF_MAX_OUTPUTS, extra + 1);
    if (extra == 0)
        return hf_render_one(call, req, 0, err);
    cl_render_request one[HF_MAX_OUTPUTS];
    int64_t frames[HF_MAX_OUTPUTS], all = 0;
    for (int i = 0; i <= extra; i++) {
        const cl_render_output *o = i ? req->outputs[i - 1] : NULL;
        if (i && (!o || o->size < sizeof *o))
            return rc_err(err, CL_EINVAL, "render request: outputs[%d] is missing or too small", i - 1);
        one[i] = (cl_render_request){.size = sizeof one[i],
                                     .composition_json = o ? o->composition_json : req->composition_json,
                                     .work_dir = req->work_dir,
                                     .video_path = o ? o->video_path : req->video_path,
                                     .thumbnail_path = o ? o->thumbnail_path : req->thumbnail_path};
        rc_comp c;
        char msg[400];
        if (!one[i].composition_json || rc_comp_parse(one[i].composition_json, &c, msg, sizeof msg) != 0)
            return rc_err(err, CL_EINVAL, "video %d: invalid composition: %s", i + 1,
                          one[i].composition_json ? msg : "missing");
        frames[i] = (int64_t)lround(c.duration * c.fps);
        all += frames[i];
        rc_comp_free(&c);
    }
    int rc = CL_OK, made = 0;
    prog_base = 0;
    prog_all = all;
    for (int i = 0; i <= extra && rc == CL_OK; i++) {
        if ((rc = hf_render_one(call, &one[i], i, err)) == CL_OK)
            made++;
        prog_base += frames[i];
    }
    prog_base = prog_all = 0;
    for (int i = 0; rc != CL_OK && i < made; i++) {
        unlink(one[i].video_path);
        unlink(one[i].thumbnail_path);
    }
    return rc;
}

static int setup(cl_error *err)
{
    (void)err;
    static cl_renderer r = {
        .base = {.kind = CL_CAP_RENDERER,
                 .id = "hyperframes",
                 .description = "HyperFrames CLI (HTML composition, headless Chromium)"},
        .render = hf_render,
        .max_outputs = HF_MAX_OUTPUTS,
    };
    return clp_register(&r);
}

CL_PLUGIN("render_hyperframes", "1.0.0", "HYPERFRAMES", setup)
