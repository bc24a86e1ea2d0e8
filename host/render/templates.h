/*
 * templates.h — video templates: Lua scripts in scripts/templates/NAME.lua
 * (run in the host's Lua sandbox, reloaded when the file changes) that turn
 * a draft, the brand kit, the chosen media and the channel's frame into a
 * version 2 composition (docs/composition.md, "Templates").
 *
 * A template script returns a function(ctx) (or a table with build) that
 * returns {background = {...}, layers = {...}, duration = n?}. ctx:
 *   frame   {width, height, fps, duration, aspect ("9:16"|"1:1"|"4:5"|"16:9"),
 *            safe = {top, bottom, left, right}, area = {x, y, w, h} (the frame
 *            inside the safe area), unit (min(width, height) / 1080),
 *            captions = {x, y, w, h}: the band the channel's burned-in captions
 *            occupy (nil when the item will have none: render/caption_track.h), content = {x, y, w, h}: the
 *            part of the safe area a template lays its layers out in (the
 *            larger side of area beside the caption band, else area itself)}
 *   channel "instagram" | "tiktok" | "whatsapp"
 *   text    {hook, caption, cta, business_name, beats = {...}}
 *   brand   {primary, secondary, accent, on_primary, on_secondary, on_accent,
 *            dark, light (all "#RRGGBB"), heading_font, body_font (font ids),
 *            logo = media id | nil, logo_placement, logo_box = {x, y, w, h}: where
 *            the kit's placement puts the logo in this frame (nil with no logo
 *            or placement "none")}
 *   images  {{media = id, width, height}, ...} the project's kept images
 * Image layers name pictures as {"media": id} and text layers fonts by id
 * ("heading", "body", a bundled id such as "dejavu-serif-bold"); the host
 * resolves both to absolute paths. A template cannot name a file itself.
 */
#ifndef CL_RENDER_TEMPLATES_H
#define CL_RENDER_TEMPLATES_H

#include "core/buf.h"
#include <stddef.h>

/** The template used when a draft names none and no image is available. */
#define CL_TEMPLATE_DEFAULT "three_reasons"

/** What a template builds from. Borrowed strings; NULL = absent. */
typedef struct cl_template_input {
    const char *draft_json;   /**< the item's draft (hook, caption, cta, script, variants, template?) */
    const char *profile_json; /**< the project row (business_name/name, brand_colors, ...) */
    const char *channel;      /**< "instagram" | "tiktok" | "whatsapp" */
    const char *rules_json;   /**< the channel's Lua rules (size, fps, duration_seconds, templates?) */
    const char *brand_json;   /**< the brand kit: {colors[], heading_font, body_font,
                                   heading_font_path?, body_font_path?, logo_media_id?, logo_placement?} */
    const char *media_json;   /**< [{"id", "path", "width", "height"}]: kept images, materialized */
    const char *audio_json;   /**< the item's audio choice (content_items.audio): whether a voice
                                   speaks decides the caption band (render/caption_track.h); NULL = defaults */
    int width, height;        /**< 0: from the rules' size (default 1080x1920) */
} cl_template_input;

/** 1 when name is a valid template name with a script in scripts/templates. */
int cl_template_exists(const char *name);

/**
 * The template names (every scripts/templates/NAME.lua, sorted) as a JSON
 * array into *names_json (malloc'd; caller frees). Returns 0 or a negative
 * cl_status with err.
 */
int cl_template_names(char **names_json, char *err, size_t errlen);

/**
 * 1 when the channel rules allow template name (rules without a
 * "templates" list allow every template).
 */
int cl_template_allowed(const char *rules_json, const char *name);

/**
 * The template to render: the draft's "template" when it exists and the
 * channel allows it, else the first allowed of: showcase (when has_images),
 * offer (the hook names a % or a price), three_reasons, quote. Writes the
 * name into out.
 */
void cl_template_choose(const char *draft_json, const char *rules_json, int has_images, char *out,
                        size_t outlen);

/**
 * Run template `name` on in and append the version 2 composition (media and
 * font ids resolved to paths, validated; "caption_zone" {x, y, w, h} when the
 * item will have burned-in captions) to *out. Returns 0, or -1 with err
 * naming what failed (unknown template, script error, unknown media id,
 * invalid composition); *out is unchanged then.
 */
int cl_template_build(const char *name, const cl_template_input *in, cl_buf *out, char *err, size_t errlen);

/**
 * Resolve a font id to a file path into out: "heading"/"body" through the
 * brand kit (brand_json's *_font_path, else its *_font id), or a bundled id
 * (cl_brand_fonts, host/media/brand.h). Returns 0, or -1 when the id is
 * unknown or its file is not installed.
 */
int cl_template_font_path(const char *id, const char *brand_json, char *out, size_t outlen);

#endif
