/*
 * rc_comp.c — composition parsing and layout shared by the renderer plugins.
 * See rc_comp.h and docs/composition.md.
 */
#include "rc_comp.h"

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

static int parse_layer(const cJSON *o, int i, const rc_comp *c, rc_layer *l, char *err,
                       size_t errlen)
{
    char where[48];
    snprintf(where, sizeof where, "layers[%d].", i);
    if (!cJSON_IsObject(o))
        return fail(err, errlen, "layers[%d] must be an object", i);
    const char *role, *text, *anim, *color, *pos;
    if (get_str(o, "role", &role, where, err, errlen) || get_str(o, "text", &text, where, err, errlen) ||
        get_str(o, "animation", &anim, where, err, errlen) ||
        get_str(o, "color", &color, where, err, errlen) ||
        get_str(o, "position", &pos, where, err, errlen))
        return -1;
    if (!role || (strcmp(role, "hook") && strcmp(role, "caption") && strcmp(role, "cta") &&
                  strcmp(role, "business_name")))
        return fail(err, errlen, "%srole must be one of hook, caption, cta, business_name", where);
    snprintf(l->role, sizeof l->role, "%s", role);
    if (!text || !text[0])
        return fail(err, errlen, "%stext must be a non-empty string", where);
    if (strlen(text) > 500)
        return fail(err, errlen, "%stext is longer than 500 bytes", where);
    double start, end, fs;
    if (get_num(o, "start", 0, &start, where, err, errlen) ||
        get_num(o, "end", c->duration, &end, where, err, errlen) ||
        get_num(o, "font_size", default_font_size(role, c->height, c->width), &fs, where, err,
                errlen))
        return -1;
    if (start < 0 || start >= c->duration)
        return fail(err, errlen, "%sstart must be >= 0 and less than duration (%g)", where,
                    c->duration);
    if (end <= start || end > c->duration + 1e-6)
        return fail(err, errlen, "%send must be greater than start and at most duration (%g)",
                    where, c->duration);
    if (fs < 12 || fs > 300)
        return fail(err, errlen, "%sfont_size must be between 12 and 300", where);
    l->start = start;
    l->end = end;
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
    const cJSON *box = cJSON_GetObjectItemCaseSensitive(o, "box");
    if (box && !cJSON_IsNull(box)) {
        if (!cJSON_IsObject(box))
            return fail(err, errlen, "%sbox must be an object {x,y,w,h}", where);
        double v[4];
        const char *k[4] = {"x", "y", "w", "h"};
        for (int j = 0; j < 4; j++) {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(box, k[j]);
            if (!cJSON_IsNumber(f))
                return fail(err, errlen, "%sbox.%s must be a number", where, k[j]);
            v[j] = f->valuedouble;
        }
        if (v[0] < 0 || v[1] < 0 || v[2] < 16 || v[3] < 16 || v[0] + v[2] > c->width ||
            v[1] + v[3] > c->height)
            return fail(err, errlen, "%sbox must lie inside the %dx%d frame (w, h >= 16)", where,
                        c->width, c->height);
        l->has_box = 1;
        l->box_x = (int)v[0];
        l->box_y = (int)v[1];
        l->box_w = (int)v[2];
        l->box_h = (int)v[3];
    }
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
    if (!(l->text = dupstr(text)))
        return fail(err, errlen, "out of memory");
    return 0;
}

static int parse_body(const cJSON *root, rc_comp *c, char *err, size_t errlen)
{
    if (!cJSON_IsObject(root))
        return fail(err, errlen, "composition must be a JSON object");
    const char *tpl;
    if (get_str(root, "template", &tpl, "", err, errlen))
        return -1;
    snprintf(c->template_id, sizeof c->template_id, "%s", tpl ? tpl : "hf_promo_v1");
    double w, h, fps, dur;
    if (get_num(root, "width", 1080, &w, "", err, errlen) ||
        get_num(root, "height", 1920, &h, "", err, errlen) ||
        get_num(root, "fps", 30, &fps, "", err, errlen) ||
        get_num(root, "duration", 15, &dur, "", err, errlen))
        return -1;
    if (!((w == 1080 && h == 1920) || (w == 1080 && h == 1080) || (w == 1920 && h == 1080)))
        return fail(err, errlen, "width x height must be 1080x1920, 1080x1080 or 1920x1080 (got %gx%g)",
                    w, h);
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
        if (n > 16)
            return fail(err, errlen, "layers has more than 16 entries");
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
    for (int i = 0; i < c->n_layers; i++)
        free(c->layers[i].text);
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
    double a = 1.0, in = (t - l->start) / RC_ANIM_SECONDS, out = (l->end - t) / RC_ANIM_SECONDS;
    if (in > 1)
        in = 1;
    if (out > 1)
        out = 1;
    if (l->anim == RC_ANIM_FADE) {
        a = in < out ? in : out;
    } else if (l->anim == RC_ANIM_SLIDE_UP) {
        a = in;
        double e = 1 - (1 - in) * (1 - in) * (1 - in); /* ease-out cubic */
        *offset = (int)lround((1 - e) * c->height * RC_SLIDE_FRACTION);
    }
    *alpha = a < 0 ? 0 : a;
    return 1;
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

int rc_mkdirs_for(const char *file_path)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s", file_path) >= (int)sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    char *slash = strrchr(p, '/');
    if (!slash || slash == p)
        return 0;
    *slash = '\0';
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return -1;
        *q = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}
