/*
 * templates.c — running the Lua video templates (scripts/templates/) and
 * turning what they return into a valid version 2 composition. See
 * templates.h and docs/composition.md.
 */
#include "render/templates.h"
#include "lua/lua_runtime.h"
#include "media/brand.h"
#include "render/caption_track.h"
#include "render/composition.h"
#include "tts/tts.h"
#include "core/buf.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int valid_name(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
            return 0;
    return n > 0 && n <= 40;
}

int cl_template_exists(const char *name)
{
    if (!valid_name(name))
        return 0;
    char dir[1024], path[1200];
    cl_lua_scripts_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/templates/%s.lua", dir, name);
    return access(path, R_OK) == 0;
}

static int is_lua(const struct dirent *de)
{
    size_t n = strlen(de->d_name);
    return n > 4 && strcmp(de->d_name + n - 4, ".lua") == 0;
}

int cl_template_names(char **names_json, char *err, size_t errlen)
{
    char dir[1024], tdir[1200];
    cl_lua_scripts_dir(dir, sizeof dir);
    snprintf(tdir, sizeof tdir, "%s/templates", dir);
    struct dirent **list = NULL;
    int n = scandir(tdir, &list, is_lua, alphasort);
    if (n < 0)
        return cl_errf(err, errlen, "cannot read %s", tdir), CL_EIO;
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)strlen(list[i]->d_name) - 4, list[i]->d_name);
        if (valid_name(name))
            cJSON_AddItemToArray(arr, cJSON_CreateString(name));
        free(list[i]);
    }
    free(list);
    *names_json = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return *names_json ? 0 : (cl_errf(err, errlen, "out of memory"), CL_ENOMEM);
}

static int allowed_in(const cJSON *rules, const char *name)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(rules, "templates");
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        return 1;
    const cJSON *t;
    cJSON_ArrayForEach(t, list)
    {
        if (cJSON_IsString(t) && strcmp(t->valuestring, name) == 0)
            return 1;
    }
    return 0;
}

int cl_template_allowed(const char *rules_json, const char *name)
{
    cJSON *rules = rules_json ? cJSON_Parse(rules_json) : NULL;
    int ok = allowed_in(rules, name);
    cJSON_Delete(rules);
    return ok;
}

static const char *sfield(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* A price or a percentage in s: "50%", "20 % off", "$12", "₦5,000", "9.99 EUR". */
static int names_offer(const char *s)
{
    if (!s)
        return 0;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            const char *q = p;
            while ((*q >= '0' && *q <= '9') || *q == '.' || *q == ',')
                q++;
            while (*q == ' ')
                q++;
            if (*q == '%' || strncmp(q, "off", 3) == 0 || strncmp(q, "OFF", 3) == 0)
                return 1;
        }
        if (*p == '$' || strncmp(p, "\xe2\x82\xac", 3) == 0 || strncmp(p, "\xc2\xa3", 2) == 0 ||
            strncmp(p, "\xe2\x82\xa6", 3) == 0) /* $ € £ ₦ */
            return 1;
    }
    return 0;
}

void cl_template_choose(const char *draft_json, const char *rules_json, int has_images, char *out, size_t outlen)
{
    cJSON *draft = draft_json ? cJSON_Parse(draft_json) : NULL;
    cJSON *rules = rules_json ? cJSON_Parse(rules_json) : NULL;
    const char *want = sfield(draft, "template");
    const char *pick = NULL;
    if (want && cl_template_exists(want) && allowed_in(rules, want))
        pick = want;
    const char *order[5];
    int n = 0;
    if (has_images)
        order[n++] = "showcase";
    if (names_offer(sfield(draft, "hook")) || names_offer(sfield(draft, "cta")))
        order[n++] = "offer";
    order[n++] = "three_reasons";
    order[n++] = "quote";
    for (int i = 0; !pick && i < n; i++)
        if (cl_template_exists(order[i]) && allowed_in(rules, order[i]))
            pick = order[i];
    /* Rules that allow none of the built-in ones: their first allowed template. */
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(rules, "templates"), *t;
    cJSON_ArrayForEach(t, list)
    {
        if (!pick && cJSON_IsString(t) && cl_template_exists(t->valuestring))
            pick = t->valuestring;
    }
    snprintf(out, outlen, "%s", pick ? pick : CL_TEMPLATE_DEFAULT);
    cJSON_Delete(draft);
    cJSON_Delete(rules);
}

/* ------------------------------------------------------------------------- */
/* Fonts and colours                                                         */
/* ------------------------------------------------------------------------- */

int cl_template_font_path(const char *id, const char *brand_json, char *out, size_t outlen)
{
    if (!id)
        return -1;
    cJSON *brand = NULL;
    int rc = -1;
    if (!strcmp(id, "heading") || !strcmp(id, "body")) {
        brand = brand_json ? cJSON_Parse(brand_json) : NULL;
        char key[32];
        snprintf(key, sizeof key, "%s_font_path", id);
        const char *p = sfield(brand, key);
        if (p && p[0] == '/' && access(p, R_OK) == 0) {
            snprintf(out, outlen, "%s", p);
            cJSON_Delete(brand);
            return 0;
        }
        snprintf(key, sizeof key, "%s_font", id);
        id = sfield(brand, key);
        if (!id)
            id = strcmp(key, "heading_font") == 0 ? "dejavu-sans-bold" : "dejavu-sans";
    }
    const cl_brand_font *bf = cl_brand_font_find(id);
    if (bf && cl_brand_font_installed(bf)) {
        snprintf(out, outlen, "%s", bf->path);
        rc = 0;
    }
    cJSON_Delete(brand);
    return rc;
}

static int hex_color(const char *s, int rgb[3])
{
    unsigned v;
    if (!s || s[0] != '#' || strlen(s) != 7 || sscanf(s + 1, "%6x", &v) != 1)
        return -1;
    rgb[0] = v >> 16 & 255, rgb[1] = v >> 8 & 255, rgb[2] = v & 255;
    return 0;
}

/* WCAG relative luminance. */
static double luminance(const int rgb[3])
{
    double l[3];
    for (int i = 0; i < 3; i++) {
        double c = rgb[i] / 255.0;
        l[i] = c <= 0.03928 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
    }
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
}

/* The text colour that reads on bg: near-white or near-black, whichever contrasts more. */
static const char *ink_on(const char *bg)
{
    int rgb[3];
    if (hex_color(bg, rgb) != 0)
        return "#FFFFFF";
    double L = luminance(rgb);
    /* contrast against white, and against #111827 (luminance 0.0103) */
    return 1.05 / (L + 0.05) >= (L + 0.05) / 0.0603 ? "#FFFFFF" : "#111827";
}

/* Mix a colour toward black (k < 0) or white (k > 0). */
static void shade(const char *c, double k, char out[8])
{
    int rgb[3];
    if (hex_color(c, rgb) != 0)
        rgb[0] = rgb[1] = rgb[2] = 17;
    for (int i = 0; i < 3; i++) {
        double v = k < 0 ? rgb[i] * (1 + k) : rgb[i] + (255 - rgb[i]) * k;
        rgb[i] = (int)lround(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    snprintf(out, 8, "#%02X%02X%02X", rgb[0], rgb[1], rgb[2]);
}

static const char *nth_color(const cJSON *arr, int i)
{
    const cJSON *c = cJSON_IsArray(arr) ? cJSON_GetArrayItem(arr, i) : NULL;
    int rgb[3];
    return cJSON_IsString(c) && hex_color(c->valuestring, rgb) == 0 ? c->valuestring : NULL;
}

/* ctx.brand from the brand kit, else the profile's brand_colors, else a calm default. */
static cJSON *brand_ctx(const cJSON *kit, const cJSON *profile)
{
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(kit, "colors");
    if (!nth_color(cols, 0))
        cols = cJSON_GetObjectItemCaseSensitive(profile, "brand_colors");
    const char *p = nth_color(cols, 0), *s = nth_color(cols, 1), *a = nth_color(cols, 2);
    char sec[8], dark[8], light[8];
    if (!p)
        p = "#1E3A8A";
    if (!s) {
        shade(p, -0.45, sec);
        s = sec;
    }
    if (!a)
        a = "#FDE68A";
    shade(p, -0.75, dark);
    shade(p, 0.92, light);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "primary", p);
    cJSON_AddStringToObject(b, "secondary", s);
    cJSON_AddStringToObject(b, "accent", a);
    cJSON_AddStringToObject(b, "on_primary", ink_on(p));
    cJSON_AddStringToObject(b, "on_secondary", ink_on(s));
    cJSON_AddStringToObject(b, "on_accent", ink_on(a));
    cJSON_AddStringToObject(b, "dark", dark);
    cJSON_AddStringToObject(b, "light", light);
    const char *hf = sfield(kit, "heading_font"), *bf = sfield(kit, "body_font");
    cJSON_AddStringToObject(b, "heading_font", hf ? hf : "dejavu-sans-bold");
    cJSON_AddStringToObject(b, "body_font", bf ? bf : "dejavu-sans");
    const cJSON *logo = cJSON_GetObjectItemCaseSensitive(kit, "logo_media_id");
    if (cJSON_IsNumber(logo))
        cJSON_AddNumberToObject(b, "logo", logo->valuedouble);
    const char *lp = sfield(kit, "logo_placement");
    cJSON_AddStringToObject(b, "logo_placement", lp ? lp : "top");
    return b;
}

/* ------------------------------------------------------------------------- */
/* Building                                                                  */
/* ------------------------------------------------------------------------- */

/* The band the channel's caption style occupies (docs/audio.md): the
   tallest box plugins/render_common/rc_captions.c draws (3 lines of the
   style's font size scaled to the frame width, its padding), at the style's
   position inside the safe area. */
static void caption_band(const cJSON *rules, int w, int h, const cl_safe_area *sa, int band[4])
{
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(rules, "captions");
    const char *pos = sfield(cs, "position");
    const cJSON *fsz = cJSON_GetObjectItemCaseSensitive(cs, "font_size");
    int font = cJSON_IsNumber(fsz) && fsz->valuedouble >= 24 && fsz->valuedouble <= 120 ? fsz->valueint : 60;
    int fs = (int)lround(font * ((w < h ? w : h) / 1080.0)), pad = (int)lround(fs * 0.45), line_h = (int)lround(fs * 1.28);
    int safe_h = h - sa->top - sa->bottom, bh = 3 * line_h + 2 * pad + 4, y;
    if (bh > safe_h)
        bh = safe_h;
    if (pos && !strcmp(pos, "top"))
        y = sa->top;
    else if (pos && !strcmp(pos, "center"))
        y = sa->top + (safe_h - bh) / 2;
    else if (pos && !strcmp(pos, "bottom"))
        y = h - sa->bottom - bh;
    else /* lower_third: centred 72% down the safe area */
        y = sa->top + (int)(safe_h * 0.72) - bh / 2;
    if (y + bh > h - sa->bottom)
        y = h - sa->bottom - bh;
    if (y < sa->top)
        y = sa->top;
    band[0] = sa->left, band[1] = y, band[2] = w - sa->left - sa->right, band[3] = bh;
}

static cJSON *add_box(cJSON *parent, const char *key, double x, double y, double bw, double bh)
{
    cJSON *o = cJSON_AddObjectToObject(parent, key);
    cJSON_AddNumberToObject(o, "x", x);
    cJSON_AddNumberToObject(o, "y", y);
    cJSON_AddNumberToObject(o, "w", bw);
    cJSON_AddNumberToObject(o, "h", bh);
    return o;
}

static int frame_size(const cJSON *rules, int *w, int *h, char *err, size_t errlen)
{
    if (*w > 0 && *h > 0)
        return 0;
    *w = 1080, *h = 1920;
    const char *size = sfield(rules, "size"), *aspect = sfield(rules, "aspect");
    if (!size && aspect) /* the channel's own shape: "9:16", "1:1", "4:5", "16:9" */
        size = !strcmp(aspect, "1:1") ? "1080x1080" : !strcmp(aspect, "4:5") ? "1080x1350"
               : !strcmp(aspect, "16:9") ? "1920x1080" : "1080x1920";
    if (!size)
        return 0;
    if (sscanf(size, "%dx%d", w, h) != 2 ||
        !((*w == 1080 && (*h == 1920 || *h == 1080 || *h == 1350)) || (*w == 1920 && *h == 1080)))
        return cl_errf(err, errlen,
                       "channel rules: size must be 1080x1920, 1080x1080, 1080x1350 or 1920x1080");
    return 0;
}

static const char *aspect_name(int w, int h)
{
    return w == h ? "1:1" : w > h ? "16:9" : h * 4 == w * 5 ? "4:5" : "9:16";
}

static cJSON *text_ctx(const cJSON *draft, const cJSON *profile, const char *channel)
{
    const char *own = sfield(draft, "channel");
    const cJSON *variants = cJSON_GetObjectItemCaseSensitive(draft, "variants");
    const cJSON *variant = own && channel && strcmp(own, channel) == 0 ? NULL
                           : cJSON_IsObject(variants) && channel    ? cJSON_GetObjectItemCaseSensitive(variants, channel)
                                                                    : NULL;
    cJSON *t = cJSON_CreateObject();
    /* The words as the video shows them: clipped as version 1 clips them. */
    static const char *const keys[] = {"hook", "caption", "cta"};
    static const size_t max[] = {120, 160, 80};
    for (int i = 0; i < 3; i++) {
        const char *v = sfield(variant, keys[i]) ? sfield(variant, keys[i]) : sfield(draft, keys[i]);
        char *c = cl_composition_clip_text(v ? v : "", max[i]);
        cJSON_AddStringToObject(t, keys[i], c ? c : "");
        free(c);
    }
    const char *name = sfield(profile, "business_name") ? sfield(profile, "business_name") : sfield(profile, "name");
    cJSON_AddStringToObject(t, "business_name", name ? name : "");
    cJSON *beats = cJSON_AddArrayToObject(t, "beats");
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(draft, "script"))
    {
        if (cJSON_IsString(b) && b->valuestring[0])
            cJSON_AddItemToArray(beats, cJSON_CreateString(b->valuestring));
    }
    return t;
}

/* Replace {"media": id} by "path" and font ids by paths, refusing raw paths. */
static int resolve_layers(cJSON *comp, const cJSON *media, const char *brand_json, char *err, size_t errlen)
{
    cJSON *layers = cJSON_GetObjectItemCaseSensitive(comp, "layers");
    if (!cJSON_IsArray(layers))
        return cl_errf(err, errlen, "the template returned no layers array");
    int i = 0;
    cJSON *l;
    cJSON_ArrayForEach(l, layers)
    {
        if (!cJSON_IsObject(l))
            return cl_errf(err, errlen, "layers[%d] must be an object", i);
        if (cJSON_GetObjectItemCaseSensitive(l, "path"))
            return cl_errf(err, errlen,
                           "layers[%d]: a template names images as {\"media\": id}, not a path", i);
        const cJSON *mid = cJSON_GetObjectItemCaseSensitive(l, "media");
        if (mid) {
            const char *path = NULL;
            const cJSON *m;
            cJSON_ArrayForEach(m, media)
            {
                const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
                if (cJSON_IsNumber(mid) && cJSON_IsNumber(id) && id->valuedouble == mid->valuedouble)
                    path = sfield(m, "path");
            }
            if (!path)
                return cl_errf(err, errlen, "layers[%d].media %g is not one of the project's images", i,
                            cJSON_IsNumber(mid) ? mid->valuedouble : -1.0);
            cJSON_AddStringToObject(l, "path", path);
            cJSON_DeleteItemFromObjectCaseSensitive(l, "media");
        }
        cJSON *font = cJSON_GetObjectItemCaseSensitive(l, "font");
        if (cJSON_IsString(font)) {
            char path[1024];
            if (cl_template_font_path(font->valuestring, brand_json, path, sizeof path) != 0)
                return cl_errf(err, errlen,
                               "layers[%d].font \"%.60s\" is not a known font", i, font->valuestring);
            cJSON_SetValuestring(font, path);
        }
        i++;
    }
    return 0;
}

int cl_template_build(const char *name, const cl_template_input *in, cl_buf *out, char *err, size_t errlen)
{
    if (!valid_name(name) || !cl_template_exists(name))
        return cl_errf(err, errlen, "template \"%.40s\" does not exist", name ? name : "");
    cJSON *draft = in->draft_json ? cJSON_Parse(in->draft_json) : NULL;
    cJSON *profile = in->profile_json ? cJSON_Parse(in->profile_json) : NULL;
    cJSON *rules = in->rules_json ? cJSON_Parse(in->rules_json) : NULL;
    cJSON *kit = in->brand_json ? cJSON_Parse(in->brand_json) : NULL;
    cJSON *media = in->media_json ? cJSON_Parse(in->media_json) : cJSON_CreateArray();
    cJSON *ctx = NULL, *comp = NULL;
    char *arg = NULL, *res = NULL, *text = NULL;
    int rc = -1, w = in->width, h = in->height;
    if (!cJSON_IsObject(draft)) {
        cl_errf(err, errlen, "draft must be a JSON object");
        goto out;
    }
    if (!cJSON_IsArray(media)) {
        cl_errf(err, errlen, "media must be a JSON array");
        goto out;
    }
    if (frame_size(rules, &w, &h, err, errlen) != 0)
        goto out;
    double dur, fps;
    cl_composition_timing(draft, rules, &dur, &fps);
    cl_safe_area sa;
    cl_composition_safe_area(in->channel, w, h, &sa);

    ctx = cJSON_CreateObject();
    cJSON *frame = cJSON_AddObjectToObject(ctx, "frame");
    cJSON_AddNumberToObject(frame, "width", w);
    cJSON_AddNumberToObject(frame, "height", h);
    cJSON_AddNumberToObject(frame, "fps", fps);
    cJSON_AddNumberToObject(frame, "duration", dur);
    cJSON_AddStringToObject(frame, "aspect", aspect_name(w, h));
    cJSON_AddNumberToObject(frame, "unit", (w < h ? w : h) / 1080.0);
    cJSON *area = cJSON_AddObjectToObject(frame, "area");
    cJSON_AddNumberToObject(area, "x", sa.left);
    cJSON_AddNumberToObject(area, "y", sa.top);
    cJSON_AddNumberToObject(area, "w", w - sa.left - sa.right);
    cJSON_AddNumberToObject(area, "h", h - sa.top - sa.bottom);
    /* The caption band, and the content area: the larger part of the safe
       area above or below it, a gap away (the whole safe area without captions). */
    cJSON *choice = in->audio_json ? cJSON_Parse(in->audio_json) : NULL;
    int band[4] = {0, 0, 0, 0}, caps = cl_captions_mode_for(draft, choice, rules, cl_tts_enabled()) != CL_CAPTIONS_NONE;
    cJSON_Delete(choice);
    int ax = sa.left, ay = sa.top, aw = w - sa.left - sa.right, ah = h - sa.top - sa.bottom;
    if (caps) {
        caption_band(rules, w, h, &sa, band);
        add_box(frame, "captions", band[0], band[1], band[2], band[3]);
        int gap = (w < h ? w : h) * 24 / 1080, above = band[1] - gap - ay,
            below = ay + ah - (band[1] + band[3] + gap);
        if (above >= below)
            add_box(frame, "content", ax, ay, aw, above);
        else
            add_box(frame, "content", ax, band[1] + band[3] + gap, aw, below);
    } else {
        add_box(frame, "content", ax, ay, aw, ah);
    }
    cJSON *jsa = cJSON_AddObjectToObject(frame, "safe");
    cJSON_AddNumberToObject(jsa, "top", sa.top);
    cJSON_AddNumberToObject(jsa, "bottom", sa.bottom);
    cJSON_AddNumberToObject(jsa, "left", sa.left);
    cJSON_AddNumberToObject(jsa, "right", sa.right);
    cJSON_AddStringToObject(ctx, "channel", in->channel ? in->channel : "");
    cJSON_AddItemToObject(ctx, "text", text_ctx(draft, profile, in->channel));
    cJSON *brand = brand_ctx(kit, profile);
    cJSON_AddItemToObject(ctx, "brand", brand);
    /* Where the logo goes (the kit's placement) as a box of this frame. */
    const char *lp = sfield(brand, "logo_placement");
    if (cJSON_GetObjectItemCaseSensitive(brand, "logo") && lp && strcmp(lp, "none") != 0) {
        int s = (w < h ? w : h) * 14 / 100, x = sa.left + (w - sa.left - sa.right - s) / 2, y = sa.top;
        if (!strcmp(lp, "top-left"))
            x = sa.left;
        else if (!strcmp(lp, "top-right"))
            x = w - sa.right - s;
        else if (!strcmp(lp, "bottom"))
            y = h - sa.bottom - s;
        cJSON *lb = cJSON_AddObjectToObject(brand, "logo_box");
        cJSON_AddNumberToObject(lb, "x", x);
        cJSON_AddNumberToObject(lb, "y", y);
        cJSON_AddNumberToObject(lb, "w", s);
        cJSON_AddNumberToObject(lb, "h", s);
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(brand, "logo");
    }
    cJSON *imgs = cJSON_AddArrayToObject(ctx, "images");
    const cJSON *logo = cJSON_GetObjectItemCaseSensitive(kit, "logo_media_id");
    const cJSON *m;
    cJSON_ArrayForEach(m, media)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
        if (!cJSON_IsNumber(id) || (cJSON_IsNumber(logo) && logo->valuedouble == id->valuedouble))
            continue;
        cJSON *one = cJSON_CreateObject();
        cJSON_AddNumberToObject(one, "media", id->valuedouble);
        const cJSON *mw = cJSON_GetObjectItemCaseSensitive(m, "width"), *mh = cJSON_GetObjectItemCaseSensitive(m, "height");
        cJSON_AddNumberToObject(one, "width", cJSON_IsNumber(mw) ? mw->valuedouble : 0);
        cJSON_AddNumberToObject(one, "height", cJSON_IsNumber(mh) ? mh->valuedouble : 0);
        cJSON_AddItemToArray(imgs, one);
    }
    if (!(arg = cJSON_PrintUnformatted(ctx))) {
        cl_errf(err, errlen, "out of memory");
        goto out;
    }
    char script[64], lerr[512];
    snprintf(script, sizeof script, "templates/%s", name);
    if (cl_lua_call(script, "build", arg, &res, lerr, sizeof lerr) != 0) {
        cl_errf(err, errlen, "template %s: %s", name, lerr);
        goto out;
    }
    comp = cJSON_Parse(res);
    if (!cJSON_IsObject(comp)) {
        cl_errf(err, errlen, "template %s must return a table {background, layers}", name);
        goto out;
    }
    if (resolve_layers(comp, media, in->brand_json, err, errlen) != 0)
        goto out;
    /* The frame is the host's, whatever the script says. */
    static const char *const fixed[] = {"version", "template", "width", "height", "fps", "safe_area", "logo_url",
                                        "caption_zone"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(comp, fixed[i]);
    cJSON_AddNumberToObject(comp, "version", 2);
    cJSON_AddStringToObject(comp, "template", name);
    cJSON_AddNumberToObject(comp, "width", w);
    cJSON_AddNumberToObject(comp, "height", h);
    cJSON_AddNumberToObject(comp, "fps", fps);
    if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(comp, "duration"))) {
        cJSON_DeleteItemFromObjectCaseSensitive(comp, "duration");
        cJSON_AddNumberToObject(comp, "duration", dur);
    }
    if (caps)
        add_box(comp, "caption_zone", band[0], band[1], band[2], band[3]);
    cJSON *osa = cJSON_AddObjectToObject(comp, "safe_area");
    cJSON_AddNumberToObject(osa, "top", sa.top);
    cJSON_AddNumberToObject(osa, "bottom", sa.bottom);
    cJSON_AddNumberToObject(osa, "left", sa.left);
    cJSON_AddNumberToObject(osa, "right", sa.right);
    if (!(text = cJSON_PrintUnformatted(comp))) {
        cl_errf(err, errlen, "out of memory");
        goto out;
    }
    char verr[400];
    if (cl_composition_validate(text, verr, sizeof verr) != 0) {
        cl_errf(err, errlen, "template %s made an invalid composition: %s", name, verr);
        goto out;
    }
    rc = cl_buf_puts(out, text) == 0 ? 0 : cl_errf(err, errlen, "out of memory");
out:
    free(arg);
    free(res);
    free(text);
    cJSON_Delete(draft);
    cJSON_Delete(profile);
    cJSON_Delete(rules);
    cJSON_Delete(kit);
    cJSON_Delete(media);
    cJSON_Delete(ctx);
    cJSON_Delete(comp);
    return rc;
}
