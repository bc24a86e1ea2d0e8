/*
 * publishing.h — publishing content items to social platforms through
 * publisher plugins, connected channel accounts, public media URLs, and
 * manual export bundles. See docs/publishing.md.
 *
 * Routes (serve):
 *   GET  /api/integrations/instagram/connect?project_id=   302 to the platform's authorization page
 *   GET  /api/integrations/instagram/callback?code=&state=  finishes the connection, 302 to the project
 *   GET  /api/projects/:id/channels                          the project's channel connections (no tokens)
 *   POST /api/projects/:id/channels/:channel/disconnect
 *   GET  /api/public/media/:token                            signed, expiring, read-only media (no session)
 *   GET  /api/content-items/:id/export                       ZIP bundle (libarchive), marks it exported
 *   POST /api/content-items/export                           {ids:[…]} one ZIP, one folder per item
 *   GET  /api/manual-queue?channel=&status=&sort=            manual_export items
 *   POST /api/content-items/:id/mark-posted                  {posted_url?}
 *
 * Job kinds (worker): "publishing.refresh_tokens" (daily long-lived token refresh)
 * and the body of "publish.content_item" (publish_job.c).
 */
#ifndef CL_PUBLISHING_PUBLISHING_H
#define CL_PUBLISHING_PUBLISHING_H

#include "cliploop_plugin.h"
#include "core/buf.h"
#include "http/http.h"
#include "jobs/jobs.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/** The additional authenticated data tokens are sealed with. */
#define CL_CHANNEL_TOKEN_AAD "channel_token:v1"

/** A channel connection as the publishing code sees it. token is a wiped-on-clear secret. */
/** POST /api/content-items/:id/mark-posted {posted_url?} (pure; fuzzed): *url into body, NULL when absent or "". 0 or -1. */
int cl_publishing_posted_body(const cJSON *body, const char **url, cl_body_err *e);

typedef struct cl_channel {
    int64_t id, project_id, user_id;
    char channel[16];
    char status[16];          /**< active | expired | invalid | disconnected */
    char account_id[64];
    char username[128];
    int64_t expires_at;       /**< Unix seconds; 0 unknown */
    char *token;              /**< decrypted access token or NULL (cl_channel_clear wipes and frees) */
    size_t token_len;
} cl_channel;

/**
 * Load the project's connection for channel (no token unless with_token;
 * with_token decrypts it). Returns 1 found, 0 none, -1 error (err set; a
 * token that does not decrypt is an error naming ENCRYPTION_SECRET).
 */
int cl_channel_load(PGconn *c, int64_t project_id, const char *channel, int with_token, cl_channel *out,
                    char *err, size_t errlen);
/** Wipe and free the token. */
void cl_channel_clear(cl_channel *ch);

/**
 * Seal token and store it on connection id with its expiry (now + expires_in
 * seconds), status active, refreshed now. 0 or -1 (err set).
 */
int cl_channel_store_token(PGconn *c, int64_t id, const char *token, int64_t expires_in, char *err,
                           size_t errlen);

/** Set a connection's status and reason (NULL clears it). 0 or -1. */
int cl_channel_set_status(PGconn *c, int64_t id, const char *status, const char *reason, char *err,
                          size_t errlen);

/** The loaded publisher capability with this id, or NULL. */
const cl_publisher *cl_publisher_get(const char *id);

/**
 * The public URL of an asset: PUBLIC_BASE_URL + /api/public/media/<signed
 * token> valid for CLIPLOOP_PUBLIC_MEDIA_TTL_SECONDS. 0, or -1 with err set
 * (PUBLIC_BASE_URL or ENCRYPTION_SECRET not configured).
 */
int cl_public_media_url(int64_t asset_id, char *out, size_t outlen, char *err, size_t errlen);
/** The path part only ("/api/public/media/…") with a given lifetime; for tests. 0 or -1. */
int cl_public_media_path(int64_t asset_id, int64_t ttl_seconds, char *out, size_t outlen);

/**
 * Which publisher publishes content item item_id (the publish job's first
 * question): the publisher a previous run of this attempt created a
 * container with; else the project's active Instagram channel ->
 * "instagram"; else MOCK_MODE -> "mock"; else none. Returns 1 with the id in
 * publisher, 0 with a reason code in reason ("channel_not_connected",
 * "channel_not_supported"), -1 on a database error (reason set).
 */
int cl_publishing_choose(PGconn *c, int64_t item_id, char *publisher, size_t plen, char *reason, size_t rlen);

/**
 * Publish item item_id (state publishing, committed, attempt `attempt`)
 * with `publisher`, exactly once (publish_run.c). 0 published; > 0 retry the
 * job later (the item stays publishing unless this was the job's last
 * attempt, which fails it); < 0 the item failed with the reason it shows.
 * err gets the job's last_error.
 */
int cl_publishing_run(PGconn *c, const cl_job *job, int64_t item_id, int attempt, const char *publisher,
                      cl_call *call, cl_buf *result, char *err, size_t errlen);

/** Scheduler task: items left publishing by a job that died get one recovery job, then fail. */
int cl_publishing_stuck_task(PGconn *c, char *err, size_t errlen);
/** Scheduler task: the token refresh (one worker at a time, advisory lock). */
int cl_publishing_refresh_task(PGconn *c, char *err, size_t errlen);

/** Refresh long-lived tokens due for it (older than 24 h, expiring within 10 days). */
int cl_publishing_refresh_tokens(PGconn *c, int *refreshed, int *failed, char *err, size_t errlen);

/** Register the routes (serve). */
void cl_publishing_register_routes(void);
/** Register the job kinds (worker). */
int cl_publishing_register_jobs(void);

/* Internal: routes of export.c and channels.c. */
struct cl_res;
void cl_publishing_register_export_routes(void);
void cl_publishing_register_channel_routes(void);

#endif
