/*
 * create.h — prompt -> brief and brief -> promo draft, over the configured
 * LLM provider (LLM_PROVIDER, looked up with cl_plugins_find) and the Lua
 * prompt/channel scripts (host/lua). No HTTP here: the create flow, chat and
 * the weekly loop call these from worker threads and map cl_error.code to
 * their own replies.
 *
 * Both functions:
 *   - never fall back to another provider: an unloaded provider is
 *     CL_EUNSUPPORTED, a failing one returns its own code and message;
 *   - retry a model answer that is not the expected JSON (malformed output
 *     from the provider, or a schema violation) up to CL_CREATE_MAX_ATTEMPTS
 *     calls in all, telling the model what was wrong, then fail with
 *     CL_EMALFORMED and a message that says so; other provider errors
 *     (auth, rate limit, timeout, …) are returned at once;
 *   - add "meta": {"provider","model","attempts","prompt_tokens",
 *     "completion_tokens"} to their result.
 * They block for as long as the provider takes; run them off the event loop.
 */
#ifndef CL_CREATE_CREATE_H
#define CL_CREATE_CREATE_H

#include "cliploop_plugin.h"
#include "http/http.h"

#include <cjson/cJSON.h>

/** Model calls per brief or draft, first try included. */
#define CL_CREATE_MAX_ATTEMPTS 3

/**
 * Rough prompt -> brief. profile_json is the project's business profile
 * (object; NULL or "" means {}); fields read when present: name, category,
 * location, audience, offer, tone, style, cta, language_style
 * (english|pidgin|mixed), default_channel, channels[]. context_text (may be
 * NULL) is business context. The channel is the one the request names
 * (channel scripts' infer), else the model's pick when it is a known
 * channel, else the profile's default, else "instagram".
 *
 * On success *brief_json (malloc'd, caller frees) is
 *   {"title","channel","tone","duration_seconds","style","cta","caption_hint",
 *    "audience","offer","language_style","aspect","request","meta":{…}}
 * with every field filled (defaults from the profile and the channel rules).
 * call may be NULL. Returns CL_OK or a negative cl_status with err filled.
 */
int cl_brief_generate(cl_call *call, const char *profile_json, const char *context_text,
                      const char *rough_prompt, char **brief_json, cl_error *err);

/**
 * Brief -> promo draft for `channel` (NULL or "": the brief's channel). The
 * model's answer is validated (cl_draft_validate), then the channel rules
 * are applied to the main copy and to each variant (cl_draft_apply_rules).
 *
 * On success *draft_json (malloc'd, caller frees) is
 *   {"channel","hook","script":[…],"caption","cta","caption_hint","hashtags":[…],
 *    "variants":{"<channel>":{"caption","cta","hashtags":[…],"hook"?}…},
 *    "duration_seconds","aspect","language_style","adjustments":[…],"meta":{…}}
 * where adjustments lists what the rules changed ("caption shortened to 280
 * characters", …). call may be NULL. Returns CL_OK or a negative cl_status.
 */
int cl_draft_generate(cl_call *call, const char *brief_json, const char *context_text,
                      const char *channel, char **draft_json, cl_error *err);

/**
 * Check a brief as the user edited it, with the same limits the studio shows
 * (cl_brief_limits): required and maximum lengths of the text fields (in
 * characters), a whole-number duration within the channel's rules
 * (`channel`, or the brief's own), a known channel and language style. Adds
 * "brief.<field>": message to fields (an object) for every problem; returns
 * how many. Reads the Lua channel rules.
 */
int cl_brief_check(const cJSON *brief, const char *channel, cJSON *fields);

/**
 * The brief's limits for the studio: {"fields":{key:{max_chars,required}},
 * "duration_seconds":{channel:{min,max}}}. Caller deletes; NULL with err
 * filled when no channel script loads.
 */
cJSON *cl_brief_limits(cl_error *err);

/**
 * Make `channel` the draft's channel: the top-level hook, caption, cta and
 * hashtags become that channel's variant (where the variant has them) and
 * "channel" is set. After this the top-level copy is what the item shows,
 * what the video draws, and what is copied, exported and published — one
 * source of truth per item. cl_draft_generate does it for its channel; a
 * channel switch on a stored draft calls it again (no LLM call).
 */
void cl_draft_select_channel(cJSON *draft, const char *channel);

/** Validate a model answer: a new object (caller deletes), or NULL with the problem in why. */
typedef cJSON *(*cl_answer_validate_fn)(const char *answer, char *why, size_t whylen);

/**
 * Render prompts/<prompt_name> with ctx, ask the configured provider, and
 * validate the answer; an unusable answer is retried (ctx gains
 * "retry_reason") up to max_attempts calls in all, then CL_EMALFORMED
 * (reported as HTTP 502 llm_malformed_output). Other provider errors return at
 * once. On success *result is the validated object (caller deletes) and
 * meta (caller's object) gets provider, model, attempts, token counts.
 */
int cl_llm_json(cl_call *call, const char *prompt_name, cJSON *ctx, cl_answer_validate_fn validate,
                int max_attempts, cJSON **result, cJSON *meta, cl_error *err);

/**
 * The channel scripts: *names_out a JSON array of channel names, *all_out
 * {"<channel>": rules…} (both caller-deleted). CL_OK or CL_EIO.
 */
int cl_channel_rules_all(cJSON **names_out, cJSON **all_out, cl_error *err);

/**
 * Turn a validated answer (cl_draft_validate's object, consumed) into the
 * stored draft for channel chan: unknown channels' variants dropped, the
 * target given a variant, the brief's CTA (if any) used everywhere, every
 * channel's rules applied, the target's copy on top, then duration, aspect,
 * language style (from brief and rules), adjustments and meta (consumed).
 * all is cl_channel_rules_all's object; brief may be an empty object.
 * Returns the new draft (caller deletes).
 */
cJSON *cl_draft_finish(cJSON *draft, const char *chan, const cJSON *all, const cJSON *brief, cJSON *meta);

/**
 * Check a model answer against the draft schema: hook (non-empty string),
 * script (1..12 non-empty strings), caption and cta (non-empty strings),
 * caption_hint (string), hashtags (optional array of strings), variants
 * (object; each value {caption: non-empty string, cta: string, hashtags?:
 * [string], hook?: string}). Returns a new normalized object holding only
 * those fields (caller deletes), or NULL with the first problem in why.
 */
cJSON *cl_draft_validate(const char *answer, char *why, size_t whylen);

/**
 * Enforce one channel's rules on a normalized draft in place: the caption
 * (cut at a word boundary to caption.max_chars characters, "…" appended),
 * hashtags (normalized to "#tag", de-duplicated, at most hashtags.max; with
 * max 0 inline #tags are removed from the caption too), the hook (at most
 * hook.max_words words) and the script (at most script.max_beats beats, the
 * last beat kept). rules is the channel's rules object (cl_lua_channel_rules);
 * applies to `draft`'s top-level caption/hashtags/hook/script. Appends a line
 * per change to adjustments (a JSON array, may be NULL), prefixed with label.
 */
void cl_draft_apply_rules(cJSON *draft, const cJSON *rules, const char *label, cJSON *adjustments);

/**
 * Cut s to at most max_chars characters (UTF-8 code points) at a word
 * boundary, appending "…" when it cut. Returns a malloc'd string (caller
 * frees), or NULL when out of memory.
 */
char *cl_truncate_words(const char *s, int max_chars);

/**
 * The profile object the prompt scripts read (name, category, audience,
 * offer, tone, cta, language_style, price_range, location, channels,
 * default_channel) from the context loader's "project" object
 * (projects/context.h). Caller deletes. (create_routes.c)
 */
cJSON *cl_profile_for_prompts(const cJSON *project);

/** Register POST /api/create/brief (create_routes.c). */
void cl_create_register_routes(void);

/* ---- request bodies: pure, no database (fuzzed); strings point into the body ---- */

/** POST /api/create/brief {project_id, prompt, channel?}: *channel NULL when absent. 0 or -1 (e set). */
int cl_create_brief_body(const cJSON *body, int64_t *project_id, const char **prompt, const char **channel,
                         cl_body_err *e);
/** POST /api/create/generate {project_id, brief, request_id, channel?, render?}. */
typedef struct {
    int64_t project_id;
    const cJSON *brief;
    const char *request_id, *channel; /**< channel NULL when absent */
    int render;                       /**< default 1 */
} cl_generate_in;
/** 0, or -1 with e set (a field, or every problem of the brief for the channel). */
int cl_create_generate_body(const cJSON *body, cl_generate_in *out, cl_body_err *e);

#endif
