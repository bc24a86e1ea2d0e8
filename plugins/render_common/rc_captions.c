/*
 * rc_captions.c — see rc_captions.h.
 */
#include "rc_captions.h"
#include "rc_comp.h"
#include "rc_pixels.h"

#include <cjson/cJSON.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CUES 64
#define MAX_WORDS 64
#define MAX_LINES 3

void rc_captions_free(rc_captions *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_cues; i++) {
        rc_cap_cue *q = &c->cues[i];
        for (int k = 0; k < q->n_words; k++)
            free(q->words[k].text);
        free(q->words);
        free(q->text);
        free(q->text_a);
        free(q->outline_a);
    }
    free(c->cues);
    free(c->flat);
    free(c);
}

static int num(const cJSON *o, const char *k, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v))
        return -1;
    *out = v->valuedouble;
    return 0;
}

/* Split text into whitespace-delimited words without times (lines mode). */
static int split_words(rc_cap_cue *q)
{
    const char *s = q->text;
    q->words = calloc(MAX_WORDS, sizeof *q->words);
    if (!q->words)
        return -1;
    while (*s && q->n_words < MAX_WORDS) {
        while (*s && isspace((unsigned char)*s))
            s++;
        const char *b = s;
        while (*s && !isspace((unsigned char)*s))
            s++;
        if (s > b) {
            rc_cap_word *w = &q->words[q->n_words++];
            w->text = strndup(b, (size_t)(s - b));
            w->start = q->start, w->end = q->end;
            if (!w->text)
                return -1;
        }
    }
    return 0;
}

int rc_captions_parse(const char *composition_json, double duration, rc_captions **out, char *err, size_t errlen)
{
    *out = NULL;
    cJSON *root = cJSON_Parse(composition_json ? composition_json : "");
    const cJSON *cj = cJSON_GetObjectItemCaseSensitive(root, "captions");
    int rc = -1;
    rc_captions *c = NULL;
    if (!cj || cJSON_IsNull(cj)) {
        rc = 0;
        goto out;
    }
    if (!cJSON_IsObject(cj)) {
        snprintf(err, errlen, "captions must be an object");
        goto out;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    c->flat_state = -1;
    const char *mode = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cj, "mode"));
    if (mode && strcmp(mode, "words") != 0 && strcmp(mode, "lines") != 0) {
        snprintf(err, errlen, "captions.mode must be \"words\" or \"lines\"");
        goto out;
    }
    c->words_mode = !mode || strcmp(mode, "words") == 0;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(cj, "style");
    const char *pos = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "position"));
    static const char *const positions[] = {"top", "center", "lower_third", "bottom"};
    c->position = RC_CAP_LOWER_THIRD;
    if (pos) {
        int found = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(pos, positions[i]) == 0)
                found = i;
        if (found < 0) {
            snprintf(err, errlen, "captions.style.position must be top, center, lower_third or bottom");
            goto out;
        }
        c->position = found;
    }
    double v;
    c->font_size = num(st, "font_size", &v) == 0 ? (int)v : 60;
    c->outline = num(st, "outline", &v) == 0 ? (int)v : 5;
    if (c->font_size < 16 || c->font_size > 160 || c->outline < 0 || c->outline > 12) {
        snprintf(err, errlen, "captions.style.font_size must be 16 … 160 and outline 0 … 12");
        goto out;
    }
    const cJSON *box = cJSON_GetObjectItemCaseSensitive(st, "box");
    c->box = !box || cJSON_IsTrue(box);
    const char *col = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "color"));
    const char *hl = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "highlight_color"));
    c->color = 0xFFFFFF, c->highlight = 0xFDE68A;
    if ((col && rc_parse_color(col, &c->color) != 0) || (hl && rc_parse_color(hl, &c->highlight) != 0)) {
        snprintf(err, errlen, "captions.style colours must be #RRGGBB");
        goto out;
    }
    const cJSON *cues = cJSON_GetObjectItemCaseSensitive(cj, "cues");
    int n = cJSON_GetArraySize(cues);
    if (!cJSON_IsArray(cues) || n > MAX_CUES) {
        snprintf(err, errlen, "captions.cues must be an array of at most %d cues", MAX_CUES);
        goto out;
    }
    c->cues = calloc((size_t)n + 1, sizeof *c->cues);
    if (!c->cues) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    double last = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *q = cJSON_GetArrayItem(cues, i);
        rc_cap_cue *cue = &c->cues[c->n_cues++];
        const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "text"));
        if (!text || !text[0] || strlen(text) > 500 || num(q, "start", &cue->start) || num(q, "end", &cue->end) ||
            cue->start < last - 1e-6 || cue->end <= cue->start || cue->end > duration + 1e-6) {
            snprintf(err, errlen,
                     "captions.cues[%d] must have text (1 … 500 bytes) and start < end within the duration, in order", i);
            goto out;
        }
        last = cue->start;
        if (!(cue->text = strdup(text))) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        const cJSON *words = cJSON_GetObjectItemCaseSensitive(q, "words");
        int nw = cJSON_GetArraySize(words);
        if (c->words_mode && cJSON_IsArray(words) && nw > 0) {
            if (nw > MAX_WORDS) {
                snprintf(err, errlen, "captions.cues[%d].words has more than %d words", i, MAX_WORDS);
                goto out;
            }
            cue->words = calloc((size_t)nw, sizeof *cue->words);
            if (!cue->words) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            double wl = cue->start - 1e-6;
            for (int k = 0; k < nw; k++) {
                const cJSON *w = cJSON_GetArrayItem(words, k);
                rc_cap_word *cw = &cue->words[cue->n_words++];
                const char *wt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "text"));
                if (!wt || !wt[0] || strlen(wt) > 200 || num(w, "start", &cw->start) || num(w, "end", &cw->end) ||
                    cw->start < wl || cw->end <= cw->start || cw->end > cue->end + 1e-6) {
                    snprintf(err, errlen,
                             "captions.cues[%d].words[%d] must have text and increasing start < end inside the cue", i, k);
                    goto out;
                }
                wl = cw->start - 1e-6;
                if (!(cw->text = strdup(wt))) {
                    snprintf(err, errlen, "out of memory");
                    goto out;
                }
            }
        } else if (split_words(cue) != 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    }
    *out = c;
    c = NULL;
    rc = 0;
out:
    rc_captions_free(c);
    cJSON_Delete(root);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Layout and masks                                                          */
/* ------------------------------------------------------------------------- */

static uint32_t utf8_next(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    uint32_t cp = *p++;
    int extra = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
    if (extra)
        cp &= 0x3F >> extra;
    while (extra-- > 0 && (*p & 0xC0) == 0x80)
        cp = (cp << 6) | (*p++ & 0x3F);
    *s = (const char *)p;
    return cp;
}

static int word_width(FT_Face f, const char *s)
{
    int w = 0;
    while (*s) {
        uint32_t cp = utf8_next(&s);
        if (FT_Load_Char(f, cp, FT_LOAD_DEFAULT) == 0)
            w += (int)(f->glyph->advance.x >> 6);
    }
    return w;
}

static void draw_word(FT_Face f, const char *s, uint8_t *mask, int mw, int mh, int x, int baseline)
{
    while (*s) {
        uint32_t cp = utf8_next(&s);
        if (FT_Load_Char(f, cp, FT_LOAD_RENDER) != 0)
            continue;
        FT_GlyphSlot g = f->glyph;
        int gx = x + g->bitmap_left, gy = baseline - g->bitmap_top;
        for (unsigned r = 0; r < g->bitmap.rows; r++) {
            int yy = gy + (int)r;
            if (yy < 0 || yy >= mh)
                continue;
            for (unsigned k = 0; k < g->bitmap.width; k++) {
                int xx = gx + (int)k;
                if (xx < 0 || xx >= mw)
                    continue;
                uint8_t a = g->bitmap.buffer[r * (unsigned)g->bitmap.pitch + k];
                uint8_t *d = &mask[(size_t)yy * mw + xx];
                if (a > *d)
                    *d = a;
            }
        }
        x += (int)(g->advance.x >> 6);
    }
}

/* Max filter over a disc of radius r: the outline's coverage. */
static uint8_t *dilate(const uint8_t *a, int w, int h, int r)
{
    uint8_t *o = calloc((size_t)w * h, 1), *tmp = calloc((size_t)w * h, 1);
    if (!o || !tmp) {
        free(o);
        free(tmp);
        return NULL;
    }
    /* separable approximation of the disc: horizontal then vertical max */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t m = 0;
            for (int d = -r; d <= r; d++) {
                int xx = x + d;
                if (xx >= 0 && xx < w && a[(size_t)y * w + xx] > m)
                    m = a[(size_t)y * w + xx];
            }
            tmp[(size_t)y * w + x] = m;
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t m = 0;
            for (int d = -r; d <= r; d++) {
                int yy = y + d;
                if (yy >= 0 && yy < h && tmp[(size_t)yy * w + x] > m)
                    m = tmp[(size_t)yy * w + x];
            }
            o[(size_t)y * w + x] = m;
        }
    free(tmp);
    return o;
}

/* Lay out one cue at font size fs within max_w: line of each word; 0 fits, -1 not. */
static int lay_lines(FT_Face f, rc_cap_cue *q, int fs, int max_w, int *line_of, int *widths, int *n_lines,
                     int *line_w)
{
    FT_Set_Pixel_Sizes(f, 0, (FT_UInt)fs);
    int space = word_width(f, " "), line = 0, cur = 0;
    for (int k = 0; k < q->n_words; k++) {
        widths[k] = word_width(f, q->words[k].text);
        if (widths[k] > max_w)
            return -1;
        int add = cur ? space + widths[k] : widths[k];
        if (cur && cur + add > max_w) {
            line_w[line] = cur;
            if (++line >= MAX_LINES)
                return -1;
            cur = widths[k];
        } else {
            cur += add;
        }
        line_of[k] = line;
    }
    line_w[line] = cur;
    *n_lines = line + 1;
    return 0;
}

int rc_captions_prepare(rc_captions *c, const char *font_path, int width, int height, int safe_top,
                        int safe_bottom, int safe_left, int safe_right, char *err, size_t errlen)
{
    if (!c)
        return 0;
    FT_Library lib = NULL;
    FT_Face face = NULL;
    if (FT_Init_FreeType(&lib) != 0 || FT_New_Face(lib, font_path, 0, &face) != 0) {
        snprintf(err, errlen, "cannot open the captions font %s", font_path);
        if (lib)
            FT_Done_FreeType(lib);
        return -1;
    }
    double scale = (width < height ? width : height) / 1080.0; /* as the templates' unit */
    int rc = 0;
    int safe_w = width - safe_left - safe_right, safe_h = height - safe_top - safe_bottom;
    for (int i = 0; i < c->n_cues && rc == 0; i++) {
        rc_cap_cue *q = &c->cues[i];
        int line_of[MAX_WORDS], widths[MAX_WORDS], line_w[MAX_LINES] = {0}, n_lines = 1;
        int fs = (int)lround(c->font_size * scale), ol = (int)lround(c->outline * scale);
        int pad = (int)lround(fs * 0.45), max_w = safe_w - 2 * pad - 2 * ol;
        while (lay_lines(face, q, fs, max_w, line_of, widths, &n_lines, line_w) != 0 && fs > 14) {
            fs = (int)(fs * 0.92);
            pad = (int)lround(fs * 0.45);
            max_w = safe_w - 2 * pad - 2 * ol;
        }
        int line_h = (int)lround(fs * 1.28), block_w = 0;
        for (int l = 0; l < n_lines; l++)
            if (line_w[l] > block_w)
                block_w = line_w[l];
        q->w = ((block_w + 2 * pad + 2 * ol) + 1) & ~1;
        q->h = ((n_lines * line_h + 2 * pad) + 1) & ~1;
        if (q->w > safe_w)
            q->w = safe_w & ~1;
        q->x = (safe_left + (safe_w - q->w) / 2) & ~1;
        int y;
        switch (c->position) {
        case RC_CAP_TOP: y = safe_top; break;
        case RC_CAP_CENTER: y = safe_top + (safe_h - q->h) / 2; break;
        case RC_CAP_BOTTOM: y = height - safe_bottom - q->h; break;
        default: y = safe_top + (int)(safe_h * 0.72) - q->h / 2; break;
        }
        if (y + q->h > height - safe_bottom)
            y = height - safe_bottom - q->h;
        if (y < safe_top)
            y = safe_top;
        q->y = y & ~1;
        q->text_a = calloc((size_t)q->w * q->h, 1);
        if (!q->text_a) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        int space = word_width(face, " ");
        int ascent = (int)(face->size->metrics.ascender >> 6), descent = (int)(-face->size->metrics.descender >> 6);
        int text_h = ascent + descent;
        int cur_line = -1, x = 0;
        for (int k = 0; k < q->n_words; k++) {
            int l = line_of[k];
            if (l != cur_line) {
                cur_line = l;
                x = (q->w - line_w[l]) / 2;
            }
            int top = pad + l * line_h + (line_h - text_h) / 2, baseline = top + ascent;
            draw_word(face, q->words[k].text, q->text_a, q->w, q->h, x, baseline);
            rc_cap_word *w = &q->words[k];
            w->x0 = x - ol, w->x1 = x + widths[k] + ol, w->y0 = top - ol, w->y1 = top + text_h + ol;
            x += widths[k] + space;
        }
        if (ol > 0 && !(q->outline_a = dilate(q->text_a, q->w, q->h, ol))) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
    }
    FT_Done_Face(face);
    FT_Done_FreeType(lib);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Per frame                                                                 */
/* ------------------------------------------------------------------------- */

static int cue_at(const rc_captions *c, double t)
{
    for (int i = 0; c && i < c->n_cues; i++)
        if (t >= c->cues[i].start && t < c->cues[i].end)
            return i;
    return -1;
}

static int word_at(const rc_captions *c, const rc_cap_cue *q, double t)
{
    if (!c->words_mode)
        return -1;
    int cur = -1;
    for (int k = 0; k < q->n_words; k++)
        if (t >= q->words[k].start)
            cur = k; /* the last word begun: it stays lit through the pause after it */
    return cur;
}

int rc_captions_state(const rc_captions *c, double t)
{
    int i = cue_at(c, t);
    if (i < 0)
        return -1;
    return i * (MAX_WORDS + 1) + word_at(c, &c->cues[i], t) + 1;
}

static inline uint8_t ry(uint32_t c)
{
    int R = c >> 16 & 255, G = c >> 8 & 255, B = c & 255;
    return (uint8_t)((66 * R + 129 * G + 25 * B + 128) / 256 + 16);
}
static inline uint8_t ru(uint32_t c)
{
    int R = c >> 16 & 255, G = c >> 8 & 255, B = c & 255;
    return (uint8_t)((-38 * R - 74 * G + 112 * B + 128) / 256 + 128);
}
static inline uint8_t rv(uint32_t c)
{
    int R = c >> 16 & 255, G = c >> 8 & 255, B = c & 255;
    return (uint8_t)((112 * R - 94 * G - 18 * B + 128) / 256 + 128);
}

/* One coverage step of the overlay: a (0..255) of colour v over what is
   below; K is how much of the pixel under the canvas still shows, B the
   colour laid so far (premultiplied), both 0..1 and 0..255. */
static inline void lay(double *K, double *B, int v, int a)
{
    double al = a / 255.0;
    *B = *B * (1 - al) + v * al;
    *K *= 1 - al;
}

/* K and B in 1/256, b never more than what (256 - k) of full white gives. */
static inline void flat_put(uint16_t *k, uint16_t *b, double K, double B)
{
    int ki = (int)lround(K * 256), bi = (int)lround(B * 256), bmax = (256 - ki) * 255;
    *k = (uint16_t)ki;
    *b = (uint16_t)(bi > bmax ? bmax : bi < 0 ? 0 : bi);
}

/* Flatten cue q with word hw lit (NULL: none): the box, the outline and the
   text, in that order, into c->flat. -1 when out of memory. */
static int flatten(rc_captions *c, const rc_cap_cue *q, const rc_cap_word *hw)
{
    size_t ny = (size_t)q->w * q->h, nc = (size_t)(q->w / 2) * (q->h / 2), need = ny * 2 + nc * 3;
    if (need > c->flat_cap) {
        uint16_t *f = realloc(c->flat, need * sizeof *f);
        if (!f)
            return -1;
        c->flat = f;
        c->flat_cap = need;
    }
    uint16_t *ky = c->flat, *by = ky + ny, *kc = by + ny, *bu = kc + nc, *bv = bu + nc;
    const int box_a = c->box ? 140 : 0; /* ~55% black */
    const int yb = 16, ub = 128, vb = 128;
    int yc = ry(c->color), yh = ry(c->highlight), uc = ru(c->color), vc = rv(c->color), uh = ru(c->highlight),
        vh = rv(c->highlight);
    for (int y = 0; y < q->h; y++)
        for (int x = 0; x < q->w; x++) {
            size_t k = (size_t)y * q->w + x;
            double K = 1, B = 0;
            if (box_a)
                lay(&K, &B, yb, box_a);
            if (q->outline_a && q->outline_a[k])
                lay(&K, &B, yb, q->outline_a[k]);
            if (q->text_a[k]) {
                int lit = hw && x >= hw->x0 && x < hw->x1 && y >= hw->y0 && y < hw->y1;
                lay(&K, &B, lit ? yh : yc, q->text_a[k]);
            }
            flat_put(&ky[k], &by[k], K, B);
        }
    for (int y = 0; y < q->h / 2; y++)
        for (int x = 0; x < q->w / 2; x++) {
            size_t k0 = (size_t)(2 * y) * q->w + 2 * x, k1 = k0 + (size_t)q->w, kk = (size_t)y * (q->w / 2) + x;
            int ta = (q->text_a[k0] + q->text_a[k0 + 1] + q->text_a[k1] + q->text_a[k1 + 1]) / 4;
            int oa = q->outline_a ? (q->outline_a[k0] + q->outline_a[k0 + 1] + q->outline_a[k1] + q->outline_a[k1 + 1]) / 4 : 0;
            double K = 1, U = 0, V = 0, K2 = 1;
            if (box_a)
                lay(&K, &U, ub, box_a), lay(&K2, &V, vb, box_a);
            if (oa)
                lay(&K, &U, ub, oa), lay(&K2, &V, vb, oa);
            if (ta) {
                int lit = hw && 2 * x >= hw->x0 && 2 * x < hw->x1 && 2 * y >= hw->y0 && 2 * y < hw->y1;
                lay(&K, &U, lit ? uh : uc, ta);
                lay(&K2, &V, lit ? vh : vc, ta);
            }
            flat_put(&kc[kk], &bu[kk], K, U);
            uint16_t kv;
            flat_put(&kv, &bv[kk], K2, V); /* K2 == K: the same coverage steps */
        }
    return 0;
}

void rc_captions_draw(rc_captions *c, AVFrame *dst, double t)
{
    int i = cue_at(c, t);
    if (i < 0)
        return;
    const rc_cap_cue *q = &c->cues[i];
    if (!q->text_a)
        return;
    int state = rc_captions_state(c, t);
    if (state != c->flat_state) {
        int cw = word_at(c, q, t);
        c->flat_state = -1;
        if (flatten(c, q, cw >= 0 ? &q->words[cw] : NULL) != 0)
            return; /* out of memory: this frame without captions */
        c->flat_state = state;
    }
    size_t ny = (size_t)q->w * q->h, nc = (size_t)(q->w / 2) * (q->h / 2);
    const uint16_t *ky = c->flat, *by = ky + ny, *kc = by + ny, *bu = kc + nc, *bv = bu + nc;
    int w = q->x + q->w > dst->width ? dst->width - q->x : q->w;
    for (int y = 0; y < q->h && w > 0; y++) {
        int fy = q->y + y;
        if (fy >= 0 && fy < dst->height)
            rc_px_over(dst->data[0] + (size_t)fy * dst->linesize[0] + q->x, ky + (size_t)y * q->w,
                       by + (size_t)y * q->w, w);
    }
    int cw2 = q->w / 2, wc = q->x / 2 + cw2 > dst->width / 2 ? dst->width / 2 - q->x / 2 : cw2;
    for (int y = 0; y < q->h / 2 && wc > 0; y++) {
        int fy = q->y / 2 + y;
        if (fy < 0 || fy >= dst->height / 2)
            continue;
        size_t o = (size_t)y * cw2;
        rc_px_over(dst->data[1] + (size_t)fy * dst->linesize[1] + q->x / 2, kc + o, bu + o, wc);
        rc_px_over(dst->data[2] + (size_t)fy * dst->linesize[2] + q->x / 2, kc + o, bv + o, wc);
    }
}
