/*
 * content.h — content items (one promo for one channel), their renders and
 * rendered assets.
 *
 *   POST /api/content-items                {project_id, channel, draft, brief?, title?}
 *   GET  /api/content-items?limit=N        the user's items, newest first
 *   GET  /api/content-items/:id            item + assets + render progress
 *   POST /api/content-items/:id/render     charge 1 render credit, enqueue the render job (202)
 *   POST /api/content-items/:id/template   {template}: switch the video template and render again
 *   GET  /api/templates?channel=C          the video templates, allowed or not on channel C
 *   GET  /api/assets/:id[?download=1]      the file, owner-only, with Range support
 *
 * Rendering runs in the worker process as the durable job
 * "render.content_item": build the composition from the draft, the project
 * profile and the channel's Lua rules, render it with the configured
 * RENDERER into a temporary directory, put rendered.mp4 and thumbnail.jpg
 * into the configured storage (STORAGE, host/storage) under
 * generated/content-items/<id>/<timestamp>-r<seq>/, and record them (key,
 * backend, size, SHA-256) in content_assets. Downloads go through the
 * asset's backend (docs/storage.md). Credits: charged when the render is requested (in the same
 * transaction that enqueues the job, idempotent per render); a render that
 * finally fails is refunded by a compensating ledger entry.
 */
#ifndef CL_CONTENT_CONTENT_H
#define CL_CONTENT_CONTENT_H

#include "auth/auth.h"
#include "credits/credits.h"
#include "http/http.h"

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdint.h>

/** What a render request did. Plain data. */
typedef struct cl_render_order {
    int64_t job_id;     /**< the render job (new, or the one already running) */
    int already;        /**< 1: a render was already running; nothing charged */
    cl_receipt receipt; /**< the render charge when already == 0 */
} cl_render_order;

/**
 * Request a render of u's content item `id` (charge + enqueue + mark
 * rendering, one transaction; see content.c). action is the policy action
 * charged (NULL: content_item.render; the generate pipeline passes
 * generate_video.render so receipts say what the user asked for; both cost
 * one render credit). c is the caller's idle
 * connection (not inside a transaction; not released). Returns 0 with *out
 * filled, or -1 with the error reply set on res (404, 402
 * insufficient_credits, 500).
 */
int cl_content_request_render(PGconn *c, const cl_user *u, int64_t id, const char *action, cl_render_order *out,
                              cl_res *res);

/**
 * As cl_content_request_render, charging under charge_key (NULL: the
 * default "content_item:<id>:render:<seq>"). The generate pipeline charges
 * its render step together with the copy step before any work, under
 * "<ref>:render", and passes that key here: the charge is then a replay (no
 * second debit) and the render job refunds that key if the render fails.
 * charge_key must be a valid reference key shorter than 128 bytes.
 */
int cl_content_request_render_keyed(PGconn *c, const cl_user *u, int64_t id, const char *action,
                                    const char *charge_key, cl_render_order *out, cl_res *res);

/**
 * As cl_content_request_render, and set the draft's "template" to
 * template_name in the same transaction as the charge (a declined charge
 * leaves the template as it was; a render already running is returned and
 * the template is not changed). The caller checks the name.
 */
int cl_content_request_render_template(PGconn *c, const cl_user *u, int64_t id, const char *template_name,
                                       cl_render_order *out, cl_res *res);

/** GET /api/templates and POST /api/content-items/:id/template (template_routes.c). */
void cl_content_register_template_routes(void);

/** {"job":{id,kind},"already_rendering","receipt"} (caller deletes). */
cJSON *cl_render_order_json(const cl_render_order *rr);

/**
 * Called in the worker after a content item's render finished for good
 * (rendered, or failed and refunded), with the worker's connection (idle,
 * not released by the observer). Lets other capabilities react without
 * polling — e.g. chat completes the chat job waiting on the render.
 */
typedef void (*cl_render_observer)(PGconn *c, int64_t content_item_id);

/** Add an observer; only before the worker's runner threads start. 0 or -1 (table full). */
int cl_content_on_render_finished(cl_render_observer fn);

/**
 * SELECT … FROM content_items i LEFT JOIN jobs j (the render job): the
 * columns cl_content_item_row_json reads. Append " WHERE …" (use alias i).
 * The text has no ':' outside casts (timestamps through cl_iso, migration
 * 0021), so pgbench can run statements built from it (tests/bench/routes).
 */
#define CL_CONTENT_ITEM_COLUMNS                                                                    \
    "i.id, i.project_id, i.parent_id, i.source, i.channel, i.title, i.brief, i.draft,"             \
    " i.status, i.render_seq, i.render_job_id, i.render_error, i.publish_strategy,"                \
    " i.publish_status, i.manual_status, i.tracking_slug, cl_iso(i.created_at), cl_iso(i.updated_at)," \
    " j.status, j.progress_done, j.progress_total, j.attempts, i.cycle_id, i.position,"            \
    " cl_iso(i.scheduled_at), cl_iso(i.published_at), i.publish_error, i.publish_attempt,"         \
    " i.publish_job_id, i.publisher, i.remote_media_id, i.permalink, cl_iso(i.exported_at),"       \
    " cl_iso(i.posted_at), i.posted_url, i.audio::text"
#define CL_CONTENT_ITEM_FROM " FROM content_items i LEFT JOIN jobs j ON j.id = i.render_job_id"
#define CL_CONTENT_ITEM_SELECT "SELECT " CL_CONTENT_ITEM_COLUMNS CL_CONTENT_ITEM_FROM

/**
 * The item's assets (alias i) as the API shows them, newest render first,
 * as a JSON array (NULL when there are none): the one definition of an
 * asset's object (cl_content_add_assets runs it too), so a list reads items
 * and assets in one statement instead of one more per item.
 */
#define CL_CONTENT_ASSETS_JSON                                                                     \
    "(SELECT json_agg(json_build_object('id', a.id, 'kind', a.kind, 'mime', a.mime, 'bytes', a.bytes," \
    " 'renderer', a.renderer, 'render_seq', a.render_seq, 'created_at', cl_iso(a.created_at),"     \
    " 'storage', a.storage, 'sha256', a.sha256, 'url', '/api/assets/' || a.id, 'download_url', '/api/assets/' || a.id || '?download=1')"     \
    " ORDER BY a.render_seq DESC, a.kind) FROM content_assets a WHERE a.content_item_id = i.id)"

/**
 * GET /api/content-items' statements: $1 user id, $2 limit, and for the
 * search $3 the ILIKE pattern; one row per item of the page with its stored
 * list thumbnails (plain columns, written as the list's JSON by the host),
 * newest first. Exposed for tests/bench/routes.
 */
extern const cl_db_stmt cl_content_list_stmt, cl_content_search_stmt;

/** One row of CL_CONTENT_ITEM_SELECT as the API's item object (caller deletes). */
cJSON *cl_content_item_row_json(PGresult *r, int row);
/** POST /api/content-items {project_id, channel, draft, brief?, title?}. */
typedef struct {
    int64_t project_id;
    const char *channel; /**< into the body */
    char *draft_text;    /**< the validated, normalized draft as JSON text (unknown keys dropped); caller frees */
    const cJSON *brief;  /**< into the body: an object, or NULL */
    const char *title;   /**< into the body, "" when absent */
} cl_content_item_in;
/** Check the body (pure, no database; fuzzed). 0, or -1 with e set (422, or 500 out of memory). */
int cl_content_item_body(const cJSON *body, cl_content_item_in *out, cl_body_err *e);

/** Attach the item's assets as "assets" (newest render first). 0 or -1. */
int cl_content_add_assets(PGconn *c, cJSON *item, const char *item_id);

/**
 * The WebVTT captions of an item's video: the cues it burns in, as the
 * render job kept them on the draft ("captions_track"); without a kept track
 * the spoken lines timed across the template's duration, or no cue when the
 * item will have no captions (captions.c, render/caption_track.h). Appends to
 * out (caller frees); 0, or -1 with err (an unreadable draft, a template
 * that fails, out of memory).
 */
int cl_content_captions_vtt(const char *draft_json, const char *profile_json, const char *channel,
                            const char *rules_json, cl_buf *out, char *err, size_t errlen);

/** Register GET /api/content-items/:id/captions.vtt (captions.c). */
void cl_content_register_caption_routes(void);

/** Register the content routes (serve). */
void cl_content_register_routes(void);
/** Register the "render.content_item" job kind (worker). */
int cl_content_register_jobs(void);

#endif
