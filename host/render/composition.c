/*
 * composition.c — building and validating render compositions. See
 * composition.h and docs/composition.md. The renderer plugins parse the same
 * format again with the same limits (plugins/render_common/rc_comp.c): the
 * renderer ABI takes JSON from any caller, so both sides check.
 */
#include "render/composition.h"
#include "rc_comp.h"
#include "core/buf.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Safe areas                                                                */
/* ------------------------------------------------------------------------- */

/* Pixels of a 1080x1920 frame that each platform's UI covers (see
   docs/composition.md for what each margin clears). */
static const struct {
    const char *channel;
    cl_safe_area area;
} safe_areas[] = {
    {"instagram", {220, 420, 60, 140}}, /* header; caption, audio, buttons; like/comment rail */
    {"tiktok", {180, 480, 60, 180}},    /* tabs; caption + sound; right rail */
    {"whatsapp", {200, 260, 60, 60}},   /* progress bar + name; reply bar */
};

int cl_composition_safe_area(const char *channel, int width, int height, cl_safe_area *out)
{
    for (size_t i = 0; i < sizeof safe_areas / sizeof *safe_areas; i++) {
        if (!channel || strcmp(channel, safe_areas[i].channel) != 0)
            continue;
        const cl_safe_area *a = &safe_areas[i].area;
        out->top = a->top * height / 1920;
        out->bottom = a->bottom * height / 1920;
        out->left = a->left * width / 1080;
        out->right = a->right * width / 1080;
        return 0;
    }
    out->top = out->bottom = height / 20;
    out->left = out->right = width / 20;
    return -1;
}

/* ------------------------------------------------------------------------- */
/* Validation                                                                */
/* ------------------------------------------------------------------------- */

static int is_color(const char *s)
{
    if (!s || s[0] != '#')
        return 0;
    size_t n = strlen(s + 1);
    if (n != 6 && n != 3)
        return 0;
    for (size_t i = 1; i <= n; i++)
        if (!strchr("0123456789abcdefABCDEF", s[i]))
            return 0;
    return 1;
}

static int is_http_url(const char *s)
{
    return s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) && strlen(s) < 2048;
}

/* Optional number: absent/null -> def. */
static int num(const cJSON *o, const char *key, double def, double *out, const char *where,
               char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return cl_errf(err, errlen, "%s%s must be a number", where, key);
    *out = v->valuedouble;
    return 0;
}

/* Optional string: absent/null -> NULL. */
static int str(const cJSON *o, const char *key, const char **out, const char *where, char *err,
               size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return cl_errf(err, errlen, "%s%s must be a string", where, key);
    *out = v->valuestring;
    return 0;
}

static int one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

static int validate_layer(const cJSON *o, int i, int w, int h, double dur, char *err, size_t errlen)
{
    static const char *const roles[] = {"hook", "caption", "cta", "business_name", NULL};
    static const char *const anims[] = {"none", "fade", "slide_up", NULL};
    static const char *const positions[] = {"top", "center", "bottom", NULL};
    char where[48];
    snprintf(where, sizeof where, "layers[%d].", i);
    if (!cJSON_IsObject(o))
        return cl_errf(err, errlen, "layers[%d] must be an object", i);
    const char *role, *text, *anim, *color, *pos, *type;
    if (str(o, "type", &type, where, err, errlen))
        return -1;
    if (type && strcmp(type, "text") != 0)
        return cl_errf(err, errlen, "%stype %.20s needs \"version\": 2", where, type);
    if (str(o, "role", &role, where, err, errlen) || str(o, "text", &text, where, err, errlen) ||
        str(o, "animation", &anim, where, err, errlen) || str(o, "color", &color, where, err, errlen) ||
        str(o, "position", &pos, where, err, errlen))
        return -1;
    if (!role || !one_of(role, roles))
        return cl_errf(err, errlen, "%srole must be one of hook, caption, cta, business_name", where);
    if (!text || !text[0])
        return cl_errf(err, errlen, "%stext must be a non-empty string", where);
    if (strlen(text) > 500)
        return cl_errf(err, errlen, "%stext is longer than 500 bytes", where);
    double start, end, fs;
    if (num(o, "start", 0, &start, where, err, errlen) || num(o, "end", dur, &end, where, err, errlen) ||
        num(o, "font_size", 56, &fs, where, err, errlen))
        return -1;
    if (start < 0 || start >= dur)
        return cl_errf(err, errlen, "%sstart must be >= 0 and less than duration (%g)", where, dur);
    if (end <= start || end > dur + 1e-6)
        return cl_errf(err, errlen, "%send must be greater than start and at most duration (%g)", where,
                    dur);
    if (fs < 12 || fs > 300)
        return cl_errf(err, errlen, "%sfont_size must be between 12 and 300", where);
    if (anim && !one_of(anim, anims))
        return cl_errf(err, errlen, "%sanimation must be one of none, fade, slide_up", where);
    if (color && !is_color(color))
        return cl_errf(err, errlen, "%scolor must be #RRGGBB", where);
    if (pos && !one_of(pos, positions))
        return cl_errf(err, errlen, "%sposition must be one of top, center, bottom", where);
    const cJSON *box = cJSON_GetObjectItemCaseSensitive(o, "box");
    if (box && !cJSON_IsNull(box)) {
        if (!cJSON_IsObject(box))
            return cl_errf(err, errlen, "%sbox must be an object {x,y,w,h}", where);
        double v[4];
        static const char *const k[4] = {"x", "y", "w", "h"};
        for (int j = 0; j < 4; j++) {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(box, k[j]);
            if (!cJSON_IsNumber(f))
                return cl_errf(err, errlen, "%sbox.%s must be a number", where, k[j]);
            v[j] = f->valuedouble;
        }
        if (v[0] < 0 || v[1] < 0 || v[2] < 16 || v[3] < 16 || v[0] + v[2] > w || v[1] + v[3] > h)
            return cl_errf(err, errlen, "%sbox must lie inside the %dx%d frame (w, h >= 16)", where, w, h);
    }
    return 0;
}

static int validate_root(const cJSON *root, char *err, size_t errlen)
{
    if (!cJSON_IsObject(root))
        return cl_errf(err, errlen, "composition must be a JSON object");
    const char *tpl;
    if (str(root, "template", &tpl, "", err, errlen))
        return -1;
    if (tpl && strcmp(tpl, CL_COMPOSITION_TEMPLATE) != 0)
        return cl_errf(err, errlen, "template must be \"%s\" (got \"%.64s\")", CL_COMPOSITION_TEMPLATE, tpl);
    double w, h, fps, dur;
    if (num(root, "width", 1080, &w, "", err, errlen) || num(root, "height", 1920, &h, "", err, errlen) ||
        num(root, "fps", 30, &fps, "", err, errlen) || num(root, "duration", 15, &dur, "", err, errlen))
        return -1;
    if (!((w == 1080 && h == 1920) || (w == 1080 && h == 1080) || (w == 1920 && h == 1080)))
        return cl_errf(err, errlen,
                    "width x height must be 1080x1920, 1080x1080 or 1920x1080 (got %gx%g)", w, h);
    if (fps != 24 && fps != 25 && fps != 30 && fps != 60)
        return cl_errf(err, errlen, "fps must be 24, 25, 30 or 60 (got %g)", fps);
    if (dur < 3 || dur > 60)
        return cl_errf(err, errlen, "duration must be between 3 and 60 seconds (got %g)", dur);

    const cJSON *bg = cJSON_GetObjectItemCaseSensitive(root, "background");
    if (bg && !cJSON_IsNull(bg)) {
        if (!cJSON_IsObject(bg))
            return cl_errf(err, errlen, "background must be an object");
        const char *type, *color, *url;
        if (str(bg, "type", &type, "background.", err, errlen) ||
            str(bg, "color", &color, "background.", err, errlen) ||
            str(bg, "image_url", &url, "background.", err, errlen))
            return -1;
        if (color && !is_color(color))
            return cl_errf(err, errlen, "background.color must be #RRGGBB");
        if (type && strcmp(type, "gradient") == 0) {
            const cJSON *cols = cJSON_GetObjectItemCaseSensitive(bg, "colors");
            if (!cJSON_IsArray(cols) || cJSON_GetArraySize(cols) != 2)
                return cl_errf(err, errlen, "background.colors must be an array of two #RRGGBB colours");
            for (int i = 0; i < 2; i++) {
                const cJSON *c = cJSON_GetArrayItem(cols, i);
                if (!cJSON_IsString(c) || !is_color(c->valuestring))
                    return cl_errf(err, errlen, "background.colors[%d] must be #RRGGBB", i);
            }
        } else if (type && strcmp(type, "image") == 0) {
            if (!is_http_url(url))
                return cl_errf(err, errlen, "background.image_url must be an http(s) URL");
        } else if (type && strcmp(type, "solid") != 0) {
            return cl_errf(err, errlen, "background.type must be one of solid, gradient, image");
        }
    }
    const char *logo;
    if (str(root, "logo_url", &logo, "", err, errlen))
        return -1;
    if (logo && !is_http_url(logo))
        return cl_errf(err, errlen, "logo_url must be an http(s) URL or null");

    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(root, "safe_area");
    if (sa && !cJSON_IsNull(sa)) {
        if (!cJSON_IsObject(sa))
            return cl_errf(err, errlen, "safe_area must be an object {top,bottom,left,right}");
        double v[4];
        static const char *const k[4] = {"top", "bottom", "left", "right"};
        for (int j = 0; j < 4; j++) {
            if (num(sa, k[j], 0, &v[j], "safe_area.", err, errlen))
                return -1;
            if (v[j] < 0)
                return cl_errf(err, errlen, "safe_area.%s must be >= 0", k[j]);
        }
        if (v[0] + v[1] > h * 0.8 || v[2] + v[3] > w * 0.8)
            return cl_errf(err, errlen, "safe_area must leave at least 20%% of the frame free");
    }
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    if (layers && !cJSON_IsNull(layers)) {
        if (!cJSON_IsArray(layers))
            return cl_errf(err, errlen, "layers must be an array");
        if (cJSON_GetArraySize(layers) > 16)
            return cl_errf(err, errlen, "layers has more than 16 entries");
        int i = 0;
        const cJSON *l;
        cJSON_ArrayForEach(l, layers)
        {
            if (validate_layer(l, i++, (int)w, (int)h, dur, err, errlen))
                return -1;
        }
    }
    return 0;
}

int cl_composition_validate(const char *json, char *err, size_t errlen)
{
    if (!json)
        return cl_errf(err, errlen, "composition is missing");
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return cl_errf(err, errlen, "composition is not valid JSON");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (ver && !cJSON_IsNull(ver) && !(cJSON_IsNumber(ver) && ver->valuedouble == 1)) {
        /* Version 2 (and a wrong version): the renderers' own parser, so the
           host and the plugins agree on every field by construction. */
        cJSON_Delete(root);
        rc_comp c;
        int rc = rc_comp_parse(json, &c, err, errlen);
        rc_comp_free(&c);
        return rc;
    }
    int rc = validate_root(root, err, errlen);
    cJSON_Delete(root);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Building hf_promo_v1                                                      */
/* ------------------------------------------------------------------------- */

static const char *obj_str(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

char *cl_composition_clip_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return strdup(s);
    size_t cut = max;
    while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--;
    size_t sp = cut;
    while (sp > max / 2 && s[sp] != ' ')
        sp--;
    if (s[sp] == ' ')
        cut = sp;
    char *out = malloc(cut + 4);
    if (out) {
        memcpy(out, s, cut);
        memcpy(out + cut, "...", 4);
    }
    return out;
}

static int add_layer(cJSON *layers, const char *role, const char *text, size_t max, double start,
                     double end, const char *anim, int font_size, const char *color)
{
    char *t = cl_composition_clip_text(text, max);
    cJSON *l = cJSON_CreateObject();
    if (!t || !l) {
        free(t);
        cJSON_Delete(l);
        return -1;
    }
    cJSON_AddStringToObject(l, "role", role);
    cJSON_AddStringToObject(l, "text", t);
    cJSON_AddNumberToObject(l, "start", round(start * 100) / 100);
    cJSON_AddNumberToObject(l, "end", round(end * 100) / 100);
    cJSON_AddStringToObject(l, "animation", anim);
    cJSON_AddNumberToObject(l, "font_size", font_size);
    cJSON_AddStringToObject(l, "color", color);
    free(t);
    cJSON_AddItemToArray(layers, l);
    return 0;
}

void cl_composition_timing(const cJSON *draft, const cJSON *rules, double *dur, double *fps)
{
    *dur = 15, *fps = 30;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(rules, "duration_seconds");
    if (!cJSON_IsNumber(d))
        d = cJSON_GetObjectItemCaseSensitive(draft, "duration_seconds");
    if (cJSON_IsNumber(d))
        *dur = d->valuedouble < 3 ? 3 : d->valuedouble > 60 ? 60 : d->valuedouble;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(rules, "fps");
    if (cJSON_IsNumber(f))
        *fps = f->valuedouble;
}

static int build(const cJSON *draft, const cJSON *profile, const char *channel, const cJSON *rules,
                 cJSON *out, char *err, size_t errlen)
{
    static const char *const channels[] = {"instagram", "tiktok", "whatsapp", NULL};
    if (!channel || !one_of(channel, channels))
        return cl_errf(err, errlen, "channel must be one of instagram, tiktok, whatsapp");
    if (!cJSON_IsObject(draft))
        return cl_errf(err, errlen, "draft must be a JSON object");
    if (profile && !cJSON_IsObject(profile))
        return cl_errf(err, errlen, "profile must be a JSON object");
    if (rules && !cJSON_IsObject(rules))
        return cl_errf(err, errlen, "channel rules must be a JSON object");
    /* The draft's top-level copy is its own channel's (cl_draft_select_channel):
       the words the item shows are the words drawn. Only a draft made for
       another channel falls back to this channel's variant. */
    const char *own = obj_str(draft, "channel");
    const cJSON *variants = cJSON_GetObjectItemCaseSensitive(draft, "variants");
    const cJSON *variant = own && strcmp(own, channel) == 0 ? NULL
                           : cJSON_IsObject(variants)       ? cJSON_GetObjectItemCaseSensitive(variants, channel)
                                                            : NULL;

    const char *hook = obj_str(variant, "hook") ? obj_str(variant, "hook") : obj_str(draft, "hook");
    const char *caption = obj_str(variant, "caption") ? obj_str(variant, "caption") : obj_str(draft, "caption");
    const char *cta = obj_str(variant, "cta") ? obj_str(variant, "cta") : obj_str(draft, "cta");
    if (!hook)
        return cl_errf(err, errlen, "draft.hook is missing");
    const char *name = obj_str(profile, "business_name") ? obj_str(profile, "business_name")
                                                         : obj_str(profile, "name");

    int w = 1080, h = 1920;
    const char *size = obj_str(rules, "size");
    if (size) {
        if (strcmp(size, "1080x1920") == 0)
            w = 1080, h = 1920;
        else if (strcmp(size, "1080x1080") == 0)
            w = 1080, h = 1080;
        else if (strcmp(size, "1920x1080") == 0)
            w = 1920, h = 1080;
        else
            return cl_errf(err, errlen, "channel rules: size must be 1080x1920, 1080x1080 or 1920x1080");
    }
    double dur, fps;
    cl_composition_timing(draft, rules, &dur, &fps);

    cJSON_AddStringToObject(out, "template", CL_COMPOSITION_TEMPLATE);
    cJSON_AddNumberToObject(out, "width", w);
    cJSON_AddNumberToObject(out, "height", h);
    cJSON_AddNumberToObject(out, "fps", fps);
    cJSON_AddNumberToObject(out, "duration", dur);

    cJSON *bg = cJSON_AddObjectToObject(out, "background");
    const char *bg_url = obj_str(profile, "background_asset_url");
    const cJSON *brand = profile ? cJSON_GetObjectItemCaseSensitive(profile, "brand_colors") : NULL;
    const cJSON *b0 = cJSON_IsArray(brand) ? cJSON_GetArrayItem(brand, 0) : NULL;
    const cJSON *b1 = cJSON_IsArray(brand) ? cJSON_GetArrayItem(brand, 1) : NULL;
    const char *c0 = cJSON_IsString(b0) && is_color(b0->valuestring) ? b0->valuestring : NULL;
    const char *c1 = cJSON_IsString(b1) && is_color(b1->valuestring) ? b1->valuestring : NULL;
    if (!bg)
        return cl_errf(err, errlen, "out of memory");
    if (bg_url && is_http_url(bg_url)) {
        cJSON_AddStringToObject(bg, "type", "image");
        cJSON_AddStringToObject(bg, "image_url", bg_url);
        cJSON_AddStringToObject(bg, "color", c0 ? c0 : "#111827");
    } else if (c0 && !c1) {
        cJSON_AddStringToObject(bg, "type", "solid");
        cJSON_AddStringToObject(bg, "color", c0);
    } else {
        cJSON_AddStringToObject(bg, "type", "gradient");
        cJSON *cols = cJSON_AddArrayToObject(bg, "colors");
        cJSON_AddItemToArray(cols, cJSON_CreateString(c0 ? c0 : "#111827"));
        cJSON_AddItemToArray(cols, cJSON_CreateString(c1 ? c1 : "#4F46E5"));
    }
    const char *logo = obj_str(profile, "logo_url");
    if (logo && is_http_url(logo))
        cJSON_AddStringToObject(out, "logo_url", logo);
    else
        cJSON_AddNullToObject(out, "logo_url");

    cl_safe_area sa;
    cl_composition_safe_area(channel, w, h, &sa);
    cJSON *jsa = cJSON_AddObjectToObject(out, "safe_area");
    cJSON_AddNumberToObject(jsa, "top", sa.top);
    cJSON_AddNumberToObject(jsa, "bottom", sa.bottom);
    cJSON_AddNumberToObject(jsa, "left", sa.left);
    cJSON_AddNumberToObject(jsa, "right", sa.right);

    /* hf_promo_v1 timeline: the hook opens, the caption follows, the CTA
       closes; the business name stays on top throughout (below the logo). */
    int base = w < h ? w : h;
    double hook_end = dur * 0.4 < 6 ? dur * 0.4 : 6;
    double cta_start = dur * 0.7;
    cJSON *layers = cJSON_AddArrayToObject(out, "layers");
    if (!layers || add_layer(layers, "hook", hook, 120, 0, hook_end, "slide_up", base * 84 / 1080, "#FFFFFF"))
        return cl_errf(err, errlen, "out of memory");
    if (caption && add_layer(layers, "caption", caption, 160, hook_end, cta_start, "fade",
                             base * 56 / 1080, "#FFFFFF"))
        return cl_errf(err, errlen, "out of memory");
    if (cta && add_layer(layers, "cta", cta, 80, cta_start, dur, "slide_up", base * 68 / 1080, "#FDE68A"))
        return cl_errf(err, errlen, "out of memory");
    if (name) {
        if (add_layer(layers, "business_name", name, 60, 0, dur, "fade", base * 44 / 1080, "#FFFFFF"))
            return cl_errf(err, errlen, "out of memory");
        if (logo && is_http_url(logo)) {
            /* The logo sits at the top centre of the safe area, at most a
               tenth of the frame high: the name goes just below it. */
            cJSON *l = cJSON_GetArrayItem(layers, cJSON_GetArraySize(layers) - 1);
            cJSON *box = cJSON_AddObjectToObject(l, "box");
            cJSON_AddNumberToObject(box, "x", sa.left);
            cJSON_AddNumberToObject(box, "y", sa.top + h / 10 + base / 54);
            cJSON_AddNumberToObject(box, "w", w - sa.left - sa.right);
            cJSON_AddNumberToObject(box, "h", base * 44 / 1080 * 2);
        } else {
            cJSON_AddStringToObject(cJSON_GetArrayItem(layers, cJSON_GetArraySize(layers) - 1),
                                    "position", "top");
        }
    }
    return 0;
}

int cl_composition_build(const char *draft_json, const char *profile_json, const char *channel,
                         const char *channel_rules_json, cl_buf *out, char *err, size_t errlen)
{
    cJSON *draft = draft_json ? cJSON_Parse(draft_json) : NULL;
    cJSON *profile = profile_json ? cJSON_Parse(profile_json) : NULL;
    cJSON *rules = channel_rules_json ? cJSON_Parse(channel_rules_json) : NULL;
    cJSON *comp = cJSON_CreateObject();
    char *text = NULL;
    int rc = -1;
    if (!draft)
        cl_errf(err, errlen, "draft is not valid JSON");
    else if (profile_json && !profile)
        cl_errf(err, errlen, "profile is not valid JSON");
    else if (channel_rules_json && !rules)
        cl_errf(err, errlen, "channel rules are not valid JSON");
    else if (!comp)
        cl_errf(err, errlen, "out of memory");
    else if (build(draft, profile, channel, rules, comp, err, errlen) == 0) {
        if (!(text = cJSON_PrintUnformatted(comp)))
            cl_errf(err, errlen, "out of memory");
        else if (cl_composition_validate(text, err, errlen) == 0)
            rc = cl_buf_puts(out, text) == 0 ? 0 : cl_errf(err, errlen, "out of memory");
    }
    free(text);
    cJSON_Delete(draft);
    cJSON_Delete(profile);
    cJSON_Delete(rules);
    cJSON_Delete(comp);
    return rc;
}
