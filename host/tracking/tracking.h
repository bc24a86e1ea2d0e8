/*
 * tracking.h — tracking links, clicks, conversions and revenue.
 *
 * Links (redirect.c):
 *   GET /r/<slug>   302 to the item's destination (its cta_url, else the
 *                   project's website) with utm_* / clp_post / clp_click
 *                   appended; a small 404 page for unknown slugs or items
 *                   without a destination. Answered on the event loop from a
 *                   bounded slug cache; a miss is looked up on the pool. The
 *                   click goes to a bounded per-thread queue that one writer
 *                   thread stores in batches (multi-row INSERT, one
 *                   transaction per batch). HEAD is answered without counting.
 *
 * Events (events.c): GET /api/tracking/script.js, POST /api/track/conversion,
 * POST /api/track/revenue, and the owner's routes for keys, origins,
 * destinations, stats and the last events. See docs/tracking.md.
 *
 * Threads: cl_tracking_start runs before the HTTP server starts (it starts
 * the writer and the LISTEN thread); cl_tracking_stop runs after the server
 * stopped (no more clicks can arrive) and writes every queued click before
 * it returns.
 */
#ifndef CL_TRACKING_TRACKING_H
#define CL_TRACKING_TRACKING_H

#include "core/buf.h"
#include "http/http.h"

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Read the CLIPLOOP_TRACKING_* settings and PUBLIC_BASE_URL. Returns 0, or -1
 * with a message naming the variable in err (serve exits 2). Also usable by
 * the worker (cl_tracking_public_url needs PUBLIC_BASE_URL).
 */
int cl_tracking_configure(char *err, size_t errlen);

/** Start the click writer and the cache-invalidation listener (serve). 0 or -1. */
int cl_tracking_start(void);

/**
 * Stop: write every queued click (retrying a failing database for up to
 * CLIPLOOP_TRACKING_STOP_TIMEOUT_MS; what still cannot be written is logged
 * as lost), then join the threads. Call after cl_server_stop.
 */
void cl_tracking_stop(void);

/** Register /r/:slug and the /api tracking routes (serve). */
void cl_tracking_register_routes(void);

/* ---- request bodies: pure, no database (fuzzed); strings point into the body ---- */

/** The fields of a conversion or revenue event body. */
typedef struct {
    const char *event_type, *event_id, *click_id, *external_user_id, *source;
    int64_t content_item_id, project_id, amount;
    char currency[4];
} cl_track_event_in;
/** POST /api/track/conversion {eventType, clickId?, contentItemId?, projectId?, eventId?, externalUserId?}. 0 or -1 (e set, 400). */
int cl_track_conversion_body(const cJSON *body, cl_track_event_in *out, cl_body_err *e);
/** POST /api/track/revenue {amount, currency, eventName, source, clickId?, contentItemId?, projectId?, eventId?}. */
int cl_track_revenue_body(const cJSON *body, cl_track_event_in *out, cl_body_err *e);
/**
 * PATCH /api/projects/:id/tracking {allowed_origins: [origin…] | null}: *clear
 * for null, else the normalized origins as a Postgres text[] literal appended
 * to lit (the caller frees it). 0 or -1 (e set).
 */
int cl_track_origins_body(const cJSON *body, int *clear, cl_buf *lit, cl_body_err *e);
/** PUT /api/content-items/:id/destination {cta_url: link | null | ""}: *url NULL to clear. 0 or -1 (e set). */
int cl_track_destination_body(const cJSON *body, const char **url, cl_body_err *e);

/**
 * The public link of a slug: PUBLIC_BASE_URL + "/r/" + slug, into out.
 * Returns 0, or -1 when it does not fit.
 */
int cl_tracking_public_url(const char *slug, char *out, size_t outlen);

/**
 * The public tracking link of content item `item_id` (for captions and
 * CTAs; publishers call this). c is the caller's idle connection. Returns 1
 * with out filled, 0 when there is no such item, -1 on a database error.
 * Whether a caption may carry the link is the channel rules' decision
 * (`tracking_link` in scripts/channels/<channel>.lua).
 */
int cl_tracking_item_url(PGconn *c, int64_t item_id, char *out, size_t outlen);

/** Forget a cached slug / every cached slug of a project (this host; other hosts hear NOTIFY). */
void cl_tracking_invalidate_slug(const char *slug);
void cl_tracking_invalidate_project(int64_t project_id);

/**
 * Ask the writer to store what is queued now and wait until it did (or
 * timeout_ms passed). Returns 0 when written, -1 on timeout. Pool threads
 * only (it blocks).
 */
int cl_tracking_flush(int timeout_ms);

/** Counters for /healthz: {queued, accepted, written, dropped, lost, write_errors, cache_entries, writer,
 * last_error}. Caller frees. */
cJSON *cl_tracking_health_json(void);

/* ---- shared with events.c and the tests -------------------------------- */

/** 1 when s is a well-formed slug (8..32 characters of [0-9A-Za-z]). */
int cl_tracking_valid_slug(const char *s);

/**
 * The Location for destination dest: the fragment kept at the end, the
 * query kept, utm_source/utm_medium/utm_campaign added unless dest already
 * has them, then clp_post=<item_id>&clp_click=<click_id>. Control
 * characters and spaces in dest are percent-encoded. Returns a malloc'd
 * string (caller frees) or NULL out of memory.
 */
char *cl_tracking_location(const char *dest, const char *slug, int64_t item_id, const char *click_id);

#endif
