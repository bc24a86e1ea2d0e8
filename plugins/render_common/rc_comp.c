/*
 * rc_comp.c — composition parsing and layout shared by the renderer plugins.
 * See rc_comp.h and docs/composition.md.
 */
#include "rc_comp.h"
#include "pl_fs.h"

#include <limits.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int rc_parse_color(const char *s, uint32_t *out)
{
    if (!s || s[0] != '#')
        return -1;
    size_t n = strlen(s + 1);
    for (size_t i = 1; i <= n; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return -1;
    }
    unsigned long v = strtoul(s + 1, NULL, 16);
    if (n == 6) {
        *out = (uint32_t)v;
        return 0;
    }
    if (n == 3) {
        uint32_t r = (v >> 8) & 0xf, g = (v >> 4) & 0xf, b = v & 0xf;
        *out = (r * 17) << 16 | (g * 17) << 8 | (b * 17);
        return 0;
    }
    return -1;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* A number field: absent -> *out = def; present but not a number -> error. */
static int get_num(const cJSON *o, const char *key, double def, double *out, const char *where,
                   char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return fail(err, errlen, "%s%s must be a number", where, key);
    *out = v->valuedouble;
    return 0;
}

static int get_str(const cJSON *o, const char *key, const char **out, const char *where, char *err,
                   size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return fail(err, errlen, "%s%s must be a string", where, key);
    *out = v->valuestring;
    return 0;
}

static int default_font_size(const char *role, int height, int width)
{
    int base = height < width ? height : width; /* 1080 for every valid size */
    if (strcmp(role, "hook") == 0)
        return base * 84 / 1080;
    if (strcmp(role, "cta") == 0)
        return base * 68 / 1080;
    if (strcmp(role, "business_name") == 0)
        return base * 44 / 1080;
    return base * 56 / 1080; /* caption */
}

static int default_position(const char *role)
{
    if (strcmp(role, "business_name") == 0)
        return RC_POS_TOP;
    if (strcmp(role, "cta") == 0)
        return RC_POS_BOTTOM;
    return RC_POS_CENTER;
}

static int valid_role(const char *role, int version)
{
    if (version < 2)
        return !strcmp(role, "hook") || !strcmp(role, "caption") || !strcmp(role, "cta") ||
               !strcmp(role, "business_name");
    size_t n = strlen(role);
    if (n == 0 || n > 31)
        return 0;
    for (const char *p = role; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

/* Optional box {x,y,w,h} inside the frame. */
static int parse_box(const cJSON *o, const char *where, const rc_comp *c, rc_layer *l, char *err,
                     size_t errlen)
{
    const cJSON *box = cJSON_GetObjectItemCaseSensitive(o, "box");
    if (!box || cJSON_IsNull(box))
        return 0;
    if (!cJSON_IsObject(box))
        return fail(err, errlen, "%sbox must be an object {x,y,w,h}", where);
    double v[4];
    const char *k[4] = {"x", "y", "w", "h"};
    for (int j = 0; j < 4; j++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(box, k[j]);
        if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble))
            return fail(err, errlen, "%sbox.%s must be a number", where, k[j]);
        v[j] = f->valuedouble;
    }
    if (v[0] < 0 || v[1] < 0 || v[2] < 16 || v[3] < 16 || v[0] + v[2] > c->width + 1e-6 ||
        v[1] + v[3] > c->height + 1e-6)
        return fail(err, errlen, "%sbox must lie inside the %dx%d frame (w, h >= 16)", where, c->width,
                    c->height);
    l->has_box = 1;
    l->box_x = (int)v[0];
    l->box_y = (int)v[1];
    l->box_w = (int)v[2];
    l->box_h = (int)v[3];
    return 0;
}

static int parse_view(const cJSON *m, const char *key, const char *where, rc_view *out, char *err,
                      size_t errlen)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(m, key);
    char w2[80];
    snprintf(w2, sizeof w2, "%smotion.%s.", where, key);
    if (!cJSON_IsObject(o))
        return fail(err, errlen, "%smotion.%s must be an object {scale,cx,cy}", where, key);
    if (get_num(o, "scale", 1, &out->scale, w2, err, errlen) || get_num(o, "cx", 0.5, &out->cx, w2, err, errlen) ||
        get_num(o, "cy", 0.5, &out->cy, w2, err, errlen))
        return -1;
    if (out->scale < 1 || out->scale > 4)
        return fail(err, errlen, "%sscale must be between 1 and 4", w2);
    if (out->cx < 0 || out->cx > 1 || out->cy < 0 || out->cy > 1)
        return fail(err, errlen, "%scx and cy must be between 0 and 1", w2);
    return 0;
}

/* The version 2 fields every layer type shares: fades and opacity. */
static int parse_fades(const cJSON *o, const char *where, double def_in, double def_out, rc_layer *l,
                       char *err, size_t errlen)
{
    double op;
    if (get_num(o, "fade_in", def_in, &l->fade_in, where, err, errlen) ||
        get_num(o, "fade_out", def_out, &l->fade_out, where, err, errlen) ||
        get_num(o, "opacity", 1, &op, where, err, errlen))
        return -1;
    double span = l->end - l->start;
    if (l->fade_in < 0 || l->fade_out < 0 || l->fade_in + l->fade_out > span + 1e-6)
        return fail(err, errlen, "%sfade_in and fade_out must be >= 0 and fit in the layer's time", where);
    if (op < 0 || op > 1)
        return fail(err, errlen, "%sopacity must be between 0 and 1", where);
    l->opacity = op;
    return 0;
}

static int parse_radius(const cJSON *o, const char *where, rc_layer *l, char *err, size_t errlen)
{
    double r;
    if (get_num(o, "radius", 0, &r, where, err, errlen))
        return -1;
    if (r < 0 || r > 540)
        return fail(err, errlen, "%sradius must be between 0 and 540", where);
    l->radius = (int)r;
    return 0;
}

static int parse_image(const cJSON *o, const char *where, const rc_comp *c, rc_layer *l, char *err,
                       size_t errlen)
{
    const char *path, *fit;
    if (get_str(o, "path", &path, where, err, errlen) || get_str(o, "fit", &fit, where, err, errlen))
        return -1;
    if (!path || path[0] != '/' || strlen(path) >= 1024 || strstr(path, "/../"))
        return fail(err, errlen, "%spath must be an absolute file path (the host resolves {\"media\": id})",
                    where);
    if (fit && strcmp(fit, "cover") && strcmp(fit, "contain"))
        return fail(err, errlen, "%sfit must be cover or contain", where);
    l->fit = fit && !strcmp(fit, "contain") ? RC_FIT_CONTAIN : RC_FIT_COVER;
    if (parse_box(o, where, c, l, err, errlen) || parse_fades(o, where, 0, 0, l, err, errlen) ||
        parse_radius(o, where, l, err, errlen))
        return -1;
    if (!l->has_box) {
        l->has_box = 1;
        l->box_w = c->width;
        l->box_h = c->height;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "motion");
    l->from = l->to = (rc_view){1, 0.5, 0.5};
    if (m && !cJSON_IsNull(m)) {
        if (!cJSON_IsObject(m))
            return fail(err, errlen, "%smotion must be an object {from,to}", where);
        if (parse_view(m, "from", where, &l->from, err, errlen) || parse_view(m, "to", where, &l->to, err, errlen))
            return -1;
        l->has_motion = l->from.scale != l->to.scale || l->from.cx != l->to.cx || l->from.cy != l->to.cy;
    }
    if (!(l->path = dupstr(path)))
        return fail(err, errlen, "out of memory");
    return 0;
}

static int parse_rect(const cJSON *o, const char *where, const rc_comp *c, rc_layer *l, char *err,
                      size_t errlen)
{
    const char *color, *anim;
    if (get_str(o, "color", &color, where, err, errlen) || get_str(o, "animation", &anim, where, err, errlen))
        return -1;
    if (!color || rc_parse_color(color, &l->color) != 0)
        return fail(err, errlen, "%scolor must be #RRGGBB", where);
    if (parse_box(o, where, c, l, err, errlen))
        return -1;
    if (!l->has_box)
        return fail(err, errlen, "%sbox is required for a rect", where);
    l->anim = RC_ANIM_NONE;
    if (anim && !strcmp(anim, "fade"))
        l->anim = RC_ANIM_FADE;
    else if (anim && !strcmp(anim, "slide_up"))
        l->anim = RC_ANIM_SLIDE_UP;
    else if (anim && strcmp(anim, "none"))
        return fail(err, errlen, "%sanimation must be one of none, fade, slide_up", where);
    double din = l->anim ? RC_ANIM_SECONDS : 0, dout = l->anim == RC_ANIM_FADE ? RC_ANIM_SECONDS : 0;
    if (din + dout > l->end - l->start)
        din = dout = 0;
    return parse_fades(o, where, din, dout, l, err, errlen) || parse_radius(o, where, l, err, errlen) ? -1 : 0;
}

/* Version 2 text fields: font, outline, bg, align. */
static int parse_text_v2(const cJSON *o, const char *where, rc_layer *l, char *err, size_t errlen)
{
    const char *font, *align, *ocolor;
    double outline;
    if (get_str(o, "font", &font, where, err, errlen) || get_str(o, "align", &align, where, err, errlen) ||
        get_str(o, "outline_color", &ocolor, where, err, errlen) ||
        get_num(o, "outline", 0, &outline, where, err, errlen))
        return -1;
    if (font && (font[0] != '/' || strlen(font) >= 1024 || strstr(font, "/../")))
        return fail(err, errlen, "%sfont must be an absolute font file path (the host resolves font ids)",
                    where);
    if (font && !(l->font = dupstr(font)))
        return fail(err, errlen, "out of memory");
    if (outline < 0 || outline > 20)
        return fail(err, errlen, "%soutline must be between 0 and 20 pixels", where);
    l->outline = (int)outline;
    l->outline_color = 0x000000;
    if (ocolor && rc_parse_color(ocolor, &l->outline_color) != 0)
        return fail(err, errlen, "%soutline_color must be #RRGGBB", where);
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(o, "shadow");
    if (sh && !cJSON_IsNull(sh) && !cJSON_IsBool(sh))
        return fail(err, errlen, "%sshadow must be true or false", where);
    l->align = RC_ALIGN_CENTER;
    if (align && !strcmp(align, "left"))
        l->align = RC_ALIGN_LEFT;
    else if (align && !strcmp(align, "right"))
        l->align = RC_ALIGN_RIGHT;
    else if (align && strcmp(align, "center"))
        return fail(err, errlen, "%salign must be one of left, center, right", where);
    const cJSON *bg = cJSON_GetObjectItemCaseSensitive(o, "bg");
    if (bg && !cJSON_IsNull(bg)) {
        char w2[80];
        snprintf(w2, sizeof w2, "%sbg.", where);
        const char *bc;
        double op, pad;
        if (!cJSON_IsObject(bg))
            return fail(err, errlen, "%sbg must be an object {color,opacity,pad,radius}", where);
        if (get_str(bg, "color", &bc, w2, err, errlen) || get_num(bg, "opacity", 1, &op, w2, err, errlen) ||
            get_num(bg, "pad", 24, &pad, w2, err, errlen) || parse_radius(bg, w2, l, err, errlen))
            return -1;
        if (!bc || rc_parse_color(bc, &l->bg_color) != 0)
            return fail(err, errlen, "%scolor must be #RRGGBB", w2);
        if (op < 0 || op > 1)
            return fail(err, errlen, "%sopacity must be between 0 and 1", w2);
        if (pad < 0 || pad > 200)
            return fail(err, errlen, "%spad must be between 0 and 200", w2);
        l->has_bg = 1;
        l->bg_opacity = op;
        l->bg_pad = (int)pad;
    }
    l->shadow = sh && cJSON_IsBool(sh) ? cJSON_IsTrue(sh) : !l->outline && !l->has_bg;
    return 0;
}

static int parse_layer(const cJSON *o, int i, const rc_comp *c, rc_layer *l, char *err,
                       size_t errlen)
{
    char where[48];
    snprintf(where, sizeof where, "layers[%d].", i);
    if (!cJSON_IsObject(o))
        return fail(err, errlen, "layers[%d] must be an object", i);
    const char *type, *role, *text, *anim, *color, *pos;
    if (get_str(o, "type", &type, where, err, errlen) || get_str(o, "role", &role, where, err, errlen) ||
        get_str(o, "text", &text, where, err, errlen) ||
        get_str(o, "animation", &anim, where, err, errlen) ||
        get_str(o, "color", &color, where, err, errlen) ||
        get_str(o, "position", &pos, where, err, errlen))
        return -1;
    l->type = RC_LAYER_TEXT;
    if (type && c->version < 2 && strcmp(type, "text"))
        return fail(err, errlen, "%stype %s needs \"version\": 2", where, type);
    if (type && !strcmp(type, "image"))
        l->type = RC_LAYER_IMAGE;
    else if (type && !strcmp(type, "rect"))
        l->type = RC_LAYER_RECT;
    else if (type && strcmp(type, "text"))
        return fail(err, errlen, "%stype must be one of text, image, rect", where);
    if (l->type != RC_LAYER_TEXT && !role)
        role = l->type == RC_LAYER_IMAGE ? "image" : "shape";
    if (!role || !valid_role(role, c->version))
        return fail(err, errlen,
                    c->version < 2 ? "%srole must be one of hook, caption, cta, business_name"
                                   : "%srole must be a name of a-z, 0-9 and _ (at most 31)",
                    where);
    snprintf(l->role, sizeof l->role, "%s", role);
    double start, end;
    if (get_num(o, "start", 0, &start, where, err, errlen) || get_num(o, "end", c->duration, &end, where, err, errlen))
        return -1;
    if (start < 0 || start >= c->duration)
        return fail(err, errlen, "%sstart must be >= 0 and less than duration (%g)", where,
                    c->duration);
    if (end <= start || end > c->duration + 1e-6)
        return fail(err, errlen, "%send must be greater than start and at most duration (%g)",
                    where, c->duration);
    l->start = start;
    l->end = end;
    l->opacity = 1;
    if (l->type == RC_LAYER_IMAGE)
        return parse_image(o, where, c, l, err, errlen);
    if (l->type == RC_LAYER_RECT)
        return parse_rect(o, where, c, l, err, errlen);

    double fs;
    if (get_num(o, "font_size", default_font_size(role, c->height, c->width), &fs, where, err, errlen))
        return -1;
    if (!text || !text[0])
        return fail(err, errlen, "%stext must be a non-empty string", where);
    if (strlen(text) > 500)
        return fail(err, errlen, "%stext is longer than 500 bytes", where);
    if (fs < 12 || fs > 300)
        return fail(err, errlen, "%sfont_size must be between 12 and 300", where);
    l->font_size = (int)fs;
    l->anim = RC_ANIM_NONE;
    if (anim && strcmp(anim, "fade") == 0)
        l->anim = RC_ANIM_FADE;
    else if (anim && strcmp(anim, "slide_up") == 0)
        l->anim = RC_ANIM_SLIDE_UP;
    else if (anim && strcmp(anim, "none") != 0)
        return fail(err, errlen, "%sanimation must be one of none, fade, slide_up", where);
    l->color = 0xffffff;
    if (color && rc_parse_color(color, &l->color) != 0)
        return fail(err, errlen, "%scolor must be #RRGGBB", where);
    if (parse_box(o, where, c, l, err, errlen))
        return -1;
    l->position = default_position(role);
    if (pos) {
        if (strcmp(pos, "top") == 0)
            l->position = RC_POS_TOP;
        else if (strcmp(pos, "center") == 0)
            l->position = RC_POS_CENTER;
        else if (strcmp(pos, "bottom") == 0)
            l->position = RC_POS_BOTTOM;
        else
            return fail(err, errlen, "%sposition must be one of top, center, bottom", where);
    }
    /* v1 ramps: fade in and out; slide_up fades in only. A layer shorter than
       its ramps shows them as far as they go (as version 1 always did). */
    l->fade_in = l->anim ? RC_ANIM_SECONDS : 0;
    l->fade_out = l->anim == RC_ANIM_FADE ? RC_ANIM_SECONDS : 0;
    l->shadow = 1;
    if (c->version >= 2) {
        if (l->fade_in + l->fade_out > end - start)
            l->fade_in = l->fade_out = 0;
        if (parse_fades(o, where, l->fade_in, l->fade_out, l, err, errlen) ||
            parse_text_v2(o, where, l, err, errlen))
            return -1;
    }
    if (!(l->text = dupstr(text)))
        return fail(err, errlen, "out of memory");
    return 0;
}

static int parse_body(const cJSON *root, rc_comp *c, char *err, size_t errlen)
{
    if (!cJSON_IsObject(root))
        return fail(err, errlen, "composition must be a JSON object");
    const char *tpl;
    double ver;
    if (get_str(root, "template", &tpl, "", err, errlen) || get_num(root, "version", 1, &ver, "", err, errlen))
        return -1;
    if (ver != 1 && ver != 2)
        return fail(err, errlen, "version must be 1 or 2 (got %g)", ver);
    c->version = (int)ver;
    if (tpl && (strlen(tpl) == 0 || strlen(tpl) >= sizeof c->template_id || !valid_role(tpl, 2)))
        return fail(err, errlen, "template must be a name of a-z, 0-9 and _");
    snprintf(c->template_id, sizeof c->template_id, "%s", tpl ? tpl : "hf_promo_v1");
    double w, h, fps, dur;
    if (get_num(root, "width", 1080, &w, "", err, errlen) ||
        get_num(root, "height", 1920, &h, "", err, errlen) ||
        get_num(root, "fps", 30, &fps, "", err, errlen) ||
        get_num(root, "duration", 15, &dur, "", err, errlen))
        return -1;
    if (!((w == 1080 && h == 1920) || (w == 1080 && h == 1080) || (w == 1920 && h == 1080) ||
          (c->version >= 2 && w == 1080 && h == 1350)))
        return fail(err, errlen, "width x height must be 1080x1920, 1080x1080, %s1920x1080 (got %gx%g)",
                    c->version >= 2 ? "1080x1350 or " : "", w, h);
    if (fps != 24 && fps != 25 && fps != 30 && fps != 60)
        return fail(err, errlen, "fps must be 24, 25, 30 or 60 (got %g)", fps);
    if (dur < 3 || dur > 60)
        return fail(err, errlen, "duration must be between 3 and 60 seconds (got %g)", dur);
    c->width = (int)w;
    c->height = (int)h;
    c->fps = (int)fps;
    c->duration = dur;

    c->bg_type = RC_BG_SOLID;
    c->bg_color = 0x111827;
    c->bg_colors[0] = 0x111827;
    c->bg_colors[1] = 0x4f46e5;
    const cJSON *bg = cJSON_GetObjectItemCaseSensitive(root, "background");
    if (bg && !cJSON_IsNull(bg)) {
        if (!cJSON_IsObject(bg))
            return fail(err, errlen, "background must be an object");
        const char *type, *color, *url;
        if (get_str(bg, "type", &type, "background.", err, errlen) ||
            get_str(bg, "color", &color, "background.", err, errlen) ||
            get_str(bg, "image_url", &url, "background.", err, errlen))
            return -1;
        if (color && rc_parse_color(color, &c->bg_color) != 0)
            return fail(err, errlen, "background.color must be #RRGGBB");
        if (!type || strcmp(type, "solid") == 0) {
            c->bg_type = RC_BG_SOLID;
        } else if (strcmp(type, "gradient") == 0) {
            c->bg_type = RC_BG_GRADIENT;
            const cJSON *cols = cJSON_GetObjectItemCaseSensitive(bg, "colors");
            if (!cJSON_IsArray(cols) || cJSON_GetArraySize(cols) != 2)
                return fail(err, errlen, "background.colors must be an array of two #RRGGBB colours");
            for (int i = 0; i < 2; i++) {
                const cJSON *it = cJSON_GetArrayItem(cols, i);
                if (!cJSON_IsString(it) || rc_parse_color(it->valuestring, &c->bg_colors[i]) != 0)
                    return fail(err, errlen, "background.colors[%d] must be #RRGGBB", i);
            }
        } else if (strcmp(type, "image") == 0) {
            c->bg_type = RC_BG_IMAGE;
            if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
                return fail(err, errlen, "background.image_url must be an http(s) URL");
            if (!(c->bg_image_url = dupstr(url)))
                return fail(err, errlen, "out of memory");
        } else {
            return fail(err, errlen, "background.type must be one of solid, gradient, image");
        }
    }
    const char *logo;
    if (get_str(root, "logo_url", &logo, "", err, errlen))
        return -1;
    if (logo) {
        if (strncmp(logo, "http://", 7) != 0 && strncmp(logo, "https://", 8) != 0)
            return fail(err, errlen, "logo_url must be an http(s) URL or null");
        if (!(c->logo_url = dupstr(logo)))
            return fail(err, errlen, "out of memory");
    }

    double st, sb, sl, sr;
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(root, "safe_area");
    const cJSON *so = sa && cJSON_IsObject(sa) ? sa : NULL;
    if (sa && !cJSON_IsNull(sa) && !so)
        return fail(err, errlen, "safe_area must be an object {top,bottom,left,right}");
    cJSON *empty = NULL;
    if (!so)
        so = empty = cJSON_CreateObject();
    int rc = get_num(so, "top", c->height * 0.05, &st, "safe_area.", err, errlen) ||
             get_num(so, "bottom", c->height * 0.05, &sb, "safe_area.", err, errlen) ||
             get_num(so, "left", c->width * 0.05, &sl, "safe_area.", err, errlen) ||
             get_num(so, "right", c->width * 0.05, &sr, "safe_area.", err, errlen);
    cJSON_Delete(empty);
    if (rc)
        return -1;
    if (st < 0 || sb < 0 || sl < 0 || sr < 0 || st + sb > c->height * 0.8 ||
        sl + sr > c->width * 0.8)
        return fail(err, errlen,
                    "safe_area values must be >= 0 and leave at least 20%% of the frame free");
    c->safe_top = (int)st;
    c->safe_bottom = (int)sb;
    c->safe_left = (int)sl;
    c->safe_right = (int)sr;

    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    if (layers && !cJSON_IsNull(layers)) {
        if (!cJSON_IsArray(layers))
            return fail(err, errlen, "layers must be an array");
        int n = cJSON_GetArraySize(layers);
        int max = c->version >= 2 ? RC_MAX_LAYERS : 16;
        if (n > max)
            return fail(err, errlen, "layers has more than %d entries", max);
        if (n > 0 && !(c->layers = calloc((size_t)n, sizeof *c->layers)))
            return fail(err, errlen, "out of memory");
        for (int i = 0; i < n; i++) {
            if (parse_layer(cJSON_GetArrayItem(layers, i), i, c, &c->layers[i], err, errlen))
                return -1;
            c->n_layers = i + 1;
        }
    }
    return 0;
}

int rc_comp_parse(const char *json, rc_comp *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (!json)
        return fail(err, errlen, "composition is missing");
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return fail(err, errlen, "composition is not valid JSON");
    int rc = parse_body(root, c, err, errlen);
    cJSON_Delete(root);
    if (rc)
        rc_comp_free(c);
    return rc;
}

void rc_comp_free(rc_comp *c)
{
    for (int i = 0; i < c->n_layers; i++) {
        free(c->layers[i].text);
        free(c->layers[i].font);
        free(c->layers[i].path);
    }
    free(c->layers);
    free(c->bg_image_url);
    free(c->logo_url);
    memset(c, 0, sizeof *c);
}

int rc_layer_state(const rc_comp *c, const rc_layer *l, double t, double *alpha, int *offset)
{
    *alpha = 0;
    *offset = 0;
    if (t < l->start || t >= l->end)
        return 0;
    double in = l->fade_in > 0 ? (t - l->start) / l->fade_in : 1;
    double out = l->fade_out > 0 ? (l->end - t) / l->fade_out : 1;
    if (in > 1)
        in = 1;
    if (out > 1)
        out = 1;
    double a = in < out ? in : out;
    if (l->anim == RC_ANIM_SLIDE_UP) {
        double k = (t - l->start) / RC_ANIM_SECONDS;
        k = k > 1 ? 1 : k;
        double e = 1 - (1 - k) * (1 - k) * (1 - k); /* ease-out cubic */
        *offset = (int)lround((1 - e) * c->height * RC_SLIDE_FRACTION);
    }
    a *= l->opacity;
    *alpha = a < 0 ? 0 : a;
    return 1;
}

void rc_image_view(const rc_layer *l, double t, rc_view *out)
{
    if (!l->has_motion) {
        *out = l->from;
        return;
    }
    double k = (t - l->start) / (l->end - l->start);
    k = k < 0 ? 0 : k > 1 ? 1 : k;
    k = k * k * (3 - 2 * k); /* smoothstep: starts and ends at rest */
    out->scale = l->from.scale + (l->to.scale - l->from.scale) * k;
    out->cx = l->from.cx + (l->to.cx - l->from.cx) * k;
    out->cy = l->from.cy + (l->to.cy - l->from.cy) * k;
}

void rc_image_window(const rc_layer *l, const rc_view *v, int src_w, int src_h, int box_w, int box_h,
                     double *sx, double *sy, double *sw, double *sh, int *dst_x, int *dst_y,
                     int *dst_w, int *dst_h)
{
    double ks = (double)box_w / src_w, kh = (double)box_h / src_h;
    *dst_x = *dst_y = 0;
    *dst_w = box_w;
    *dst_h = box_h;
    if (l->fit == RC_FIT_CONTAIN) {
        double k = ks < kh ? ks : kh;
        /* contain: the whole image, zoomed in its own area */
        *dst_w = (int)lround(src_w * k) & ~1;
        *dst_h = (int)lround(src_h * k) & ~1;
        *dst_w = *dst_w < 2 ? 2 : *dst_w;
        *dst_h = *dst_h < 2 ? 2 : *dst_h;
        *dst_x = ((box_w - *dst_w) / 2) & ~1;
        *dst_y = ((box_h - *dst_h) / 2) & ~1;
        *sw = src_w / v->scale;
        *sh = src_h / v->scale;
    } else {
        double k = ks > kh ? ks : kh; /* cover */
        *sw = box_w / k / v->scale;
        *sh = box_h / k / v->scale;
    }
    if (*sw > src_w)
        *sw = src_w;
    if (*sh > src_h)
        *sh = src_h;
    *sx = v->cx * src_w - *sw / 2;
    *sy = v->cy * src_h - *sh / 2;
    *sx = *sx < 0 ? 0 : *sx + *sw > src_w ? src_w - *sw : *sx;
    *sy = *sy < 0 ? 0 : *sy + *sh > src_h ? src_h - *sh : *sy;
}

int rc_path_inside(const char *dir, const char *path)
{
    char d[4096], p[4096];
    if (!dir || !path || !realpath(dir, d) || !realpath(path, p))
        return 0;
    size_t n = strlen(d);
    return strncmp(d, p, n) == 0 && p[n] == '/';
}

void rc_layer_area(const rc_comp *c, const rc_layer *l, int *x, int *w, int *anchor_y, int *anchor)
{
    if (l->has_box) {
        *x = l->box_x;
        *w = l->box_w;
        *anchor_y = l->box_y;
        *anchor = RC_POS_TOP;
        return;
    }
    *x = c->safe_left;
    *w = c->width - c->safe_left - c->safe_right;
    *anchor = l->position;
    if (l->position == RC_POS_TOP)
        *anchor_y = c->safe_top;
    else if (l->position == RC_POS_BOTTOM)
        *anchor_y = c->height - c->safe_bottom;
    else
        *anchor_y = (c->safe_top + c->height - c->safe_bottom) / 2;
}

int rc_find_font(const char *cfg_path, const char *asset_dir, char *out, size_t outlen, char *err,
                 size_t errlen)
{
    if (cfg_path && cfg_path[0]) {
        if (access(cfg_path, R_OK) != 0)
            return fail(err, errlen, "font file %s is not readable: %s", cfg_path, strerror(errno));
        snprintf(out, outlen, "%s", cfg_path);
        return 0;
    }
    char cand[1024] = "";
    if (asset_dir && asset_dir[0]) {
        snprintf(cand, sizeof cand, "%s/fonts/DejaVuSans-Bold.ttf", asset_dir);
        if (access(cand, R_OK) == 0) {
            snprintf(out, outlen, "%s", cand);
            return 0;
        }
    }
    static const char sys[] = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
    if (access(sys, R_OK) == 0) {
        snprintf(out, outlen, "%s", sys);
        return 0;
    }
    return fail(err, errlen, "no font file found (tried %s%s%s); install fonts-dejavu-core",
                cand[0] ? cand : "", cand[0] ? " and " : "", sys);
}

int rc_mkdirs_for(const char *file_path) { return pl_mkdirs_for(file_path); }
