/*
 * composition.h — the render composition (docs/composition.md): building it
 * server-side from a draft, the project profile and the target channel's
 * rules, and validating one before a renderer sees it. Pure C over cJSON:
 * no database, no plugins, no I/O.
 */
#ifndef CL_RENDER_COMPOSITION_H
#define CL_RENDER_COMPOSITION_H

#include "core/buf.h"
#include <stddef.h>

/** The first (and default) template id. */
#define CL_COMPOSITION_TEMPLATE "hf_promo_v1"

/** Text clear of a platform's UI overlays, in pixels of a 1080x1920 frame. */
typedef struct cl_safe_area {
    int top, bottom, left, right;
} cl_safe_area;

/**
 * The safe area for channel ("instagram", "tiktok", "whatsapp") scaled to a
 * width x height frame (vertical margins scale with height, horizontal with
 * width). Returns 0, or -1 for an unknown channel (*out then holds a generic
 * 5% margin).
 */
int cl_composition_safe_area(const char *channel, int width, int height, cl_safe_area *out);

struct cJSON;
/**
 * A render's duration and frame rate: the channel rules' duration_seconds,
 * else the draft's, else 15 (clamped to 3 ... 60); the rules' fps, else 30.
 * draft and rules may be NULL.
 */
void cl_composition_timing(const struct cJSON *draft, const struct cJSON *rules, double *dur, double *fps);

/**
 * At most max bytes of s, cut at a word boundary (UTF-8 safe), with "..."
 * when cut. malloc'd (caller frees); NULL when out of memory.
 */
char *cl_composition_clip_text(const char *s, size_t max);

/**
 * Check a composition. Returns 0, or -1 with a message naming the offending
 * field in err ("layers[1].end must be greater than start ...").
 */
int cl_composition_validate(const char *json, char *err, size_t errlen);

/**
 * Build the hf_promo_v1 composition for one content item.
 *   draft_json          the promo draft: {"hook","caption","cta",
 *                       "variants":{"<channel>":{"hook","caption","cta"}}, "duration_seconds"?}
 *   profile_json        the project profile: {"business_name"|"name", "brand_colors":[c0,c1]?,
 *                       "logo_url"?, "background_asset_url"?}; may be NULL
 *   channel             "instagram" | "tiktok" | "whatsapp"
 *   channel_rules_json  the channel's rules (from the scripts/channels Lua files), may be NULL:
 *                       {"duration_seconds"?, "fps"?, "size"?: "1080x1920"|"1080x1080"|"1920x1080"}
 * On success appends the composition JSON to *out (the caller owns and frees
 * it with cl_buf_free) and returns 0; otherwise -1 with err naming the
 * field, and *out unchanged.
 */
int cl_composition_build(const char *draft_json, const char *profile_json, const char *channel,
                         const char *channel_rules_json, cl_buf *out, char *err, size_t errlen);

#endif
