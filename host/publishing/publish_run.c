/*
 * publish_run.c — the publishing side of the "publish.content_item" job
 * (host/cycles/publish_job.c owns the payload, the stale check and the
 * scheduled -> publishing transition; it calls the two functions below).
 *
 * Exactly once. Every step's result is written to the item before the next
 * step runs, and every run starts by reading what was written:
 *
 *   remote_media_id set        -> only the permalink and the final state are left
 *   publish_container_id unset -> plan limit, platform quota, create the container,
 *                                 store its id at once (its own statement)
 *   container id set           -> poll its status (backoff, bounded):
 *        PUBLISHED   a previous run published it and died before storing the
 *                    result: do NOT publish again, finish
 *        FINISHED    media_publish, store the media id at once
 *        ERROR       failed with the platform's reason
 *        EXPIRED     forget the container; the retry creates a new one
 *        IN_PROGRESS still processing after the poll budget: retry the job later
 *   then the permalink (best effort) and publishing -> published, with the
 *   month's publish counted in the same transaction.
 *
 * A worker killed anywhere leaves the job's lease to expire; the job is
 * claimed again and resumes here. Errors: CL_EAUTH marks the channel invalid
 * and fails the item; rate limits, 5xx, timeouts are retried (the job's
 * backoff) and fail the item with the last message on the last attempt;
 * everything else fails the item with the platform's message. An item is
 * never left in `publishing`: when the job itself dies (worker lost at its
 * last attempt), cl_publishing_stuck_task hands the item to one recovery job,
 * and fails it if that one dies too.
 */
#include "publishing/publishing.h"
#include "publishing/post_text.h"
#include "auth/auth.h"
#include "core/config.h"
#include "core/log.h"
#include "credits/credits.h"
#include "credits/policy.h"
#include "cycles/limits.h"
#include "cycles/states.h"
#include "db/db.h"
#include "tracking/tracking.h"
#include "plugins/call.h"
#include "storage/storage.h"
#include "core/json_out.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define COMP "publish"

int cl_publishing_choose(PGconn *c, int64_t item_id, char *publisher, size_t plen, char *reason, size_t rlen)
{
    char sid[24];
    const char *p[] = {cl_db_id(sid, item_id)};
    PGresult *r = cl_db_query(c,
                              "SELECT i.publisher, i.publish_container_id IS NOT NULL, i.channel,"
                              " (SELECT status FROM channel_connections cc WHERE cc.project_id = i.project_id"
                              "   AND cc.channel = 'instagram')"
                              " FROM content_items i WHERE i.id = $1",
                              1, p);
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        cl_db_errmsg(c, r, reason, rlen);
        PQclear(r);
        return -1;
    }
    int rc;
    /* A run that already created a container keeps its publisher. */
    if (!PQgetisnull(r, 0, 0) && strcmp(PQgetvalue(r, 0, 1), "t") == 0 && cl_publisher_get(PQgetvalue(r, 0, 0))) {
        snprintf(publisher, plen, "%s", PQgetvalue(r, 0, 0));
        rc = 1;
    } else if (strcmp(PQgetvalue(r, 0, 2), "instagram") != 0) {
        snprintf(reason, rlen, "channel_not_supported");
        rc = 0;
    } else if (!PQgetisnull(r, 0, 3) && strcmp(PQgetvalue(r, 0, 3), "active") == 0 && cl_publisher_get("instagram")) {
        snprintf(publisher, plen, "instagram");
        rc = 1;
    } else if (cl_cfg.mock_mode && cl_publisher_get("mock")) {
        snprintf(publisher, plen, "mock");
        rc = 1;
    } else {
        snprintf(reason, rlen, "channel_not_connected");
        rc = 0;
    }
    PQclear(r);
    return rc;
}

/* ---- small helpers -------------------------------------------------------------------- */

typedef struct run_ctx {
    PGconn *c;
    int64_t item_id;
    int attempt;
    char sid[24], satt[16];
    const cl_publisher *pub;
    char publisher[32];
    cl_call *call;
    cl_publish_request req;
    cl_channel ch;
    int64_t user_id, project_id, video_asset, thumb_asset;
    char channel[16];
    char *caption, *cta;
    char video_path[2048], video_url[2048], thumb_url[2048], key[96];
    int video_temp; /* video_path is a download to unlink when done */
    char video_backend[64], thumb_backend[64], video_key[CL_STORAGE_KEY_MAX + 1], thumb_key[CL_STORAGE_KEY_MAX + 1];
} run_ctx;

static int is_transient(int code)
{
    return code == CL_ERATELIMIT || code == CL_EUPSTREAM || code == CL_ETIMEOUT || code == CL_EIO ||
           code == CL_ENOMEM || code == CL_ECANCELLED;
}

/* UPDATE one bookkeeping column set of this item's attempt (own statement, committed). 0 or -1. */
static int item_set(run_ctx *x, const char *set_sql, const char *v, char *err, size_t errlen)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE content_items SET %s, updated_at = now() WHERE id = $1 AND publish_attempt = $2"
             " AND publish_status = 'publishing'",
             set_sql);
    const char *p[] = {x->sid, x->satt, v};
    return cl_db_exec(x->c, sql, v ? 3 : 2, p, err, errlen);
}

/* publishing -> failed with the reason the item shows. 0 or -1. */
static int fail_item(run_ctx *x, const char *reason)
{
    char err[256];
    const char *extra[] = {reason};
    cl_pub_state cur;
    int rc = cl_item_transition(x->c, x->item_id, 0, CL_PUB_FAILED, "publish_error = $4", 1, extra, &cur, err,
                                sizeof err);
    if (rc == CL_TRANSITION_ERROR) {
        cl_error(COMP, "item %" PRId64 ": recording the failure failed: %s", x->item_id, err);
        return -1;
    }
    cl_info(COMP, "item %" PRId64 " publish attempt %d failed: %s", x->item_id, x->attempt, reason);
    return 0;
}

/* Call a step and parse its JSON answer into *ans. Returns the cl_status. */
typedef int (*step_fn)(run_ctx *x, cl_output *out, cl_error *e, const char *arg);

static int run_step(run_ctx *x, step_fn fn, const char *arg, cJSON **ans, cl_error *e)
{
    *ans = NULL;
    cl_output out = {CL_BUF_INIT, 1 << 20};
    int rc = fn(x, &out, e, arg);
    if (rc == CL_OK) {
        *ans = cJSON_Parse(out.buf.data ? out.buf.data : "");
        if (!cJSON_IsObject(*ans)) {
            cJSON_Delete(*ans);
            *ans = NULL;
            rc = CL_EUPSTREAM;
            snprintf(e->message, sizeof e->message, "publisher '%s' answered something that is not JSON", x->publisher);
        }
    }
    e->code = rc;
    cl_buf_free(&out.buf);
    return rc;
}

static int do_quota(run_ctx *x, cl_output *o, cl_error *e, const char *a)
{
    (void)a;
    return CL_CAP_CALL(x->pub, e, quota, x->call, &x->req, o, e);
}
static int do_create(run_ctx *x, cl_output *o, cl_error *e, const char *a)
{
    (void)a;
    return CL_CAP_CALL(x->pub, e, create_container, x->call, &x->req, o, e);
}
static int do_status(run_ctx *x, cl_output *o, cl_error *e, const char *a)
{
    return CL_CAP_CALL(x->pub, e, container_status, x->call, &x->req, a, o, e);
}
static int do_publish(run_ctx *x, cl_output *o, cl_error *e, const char *a)
{
    return CL_CAP_CALL(x->pub, e, publish_container, x->call, &x->req, a, o, e);
}
static int do_permalink(run_ctx *x, cl_output *o, cl_error *e, const char *a)
{
    return CL_CAP_CALL(x->pub, e, permalink, x->call, &x->req, a, o, e);
}

/* Sleep ms in slices; 1 when the call was cancelled. */
static int nap(cl_call *call, int64_t ms)
{
    while (ms > 0) {
        if (atomic_load(&call->cancelled))
            return 1;
        int64_t s = ms < 50 ? ms : 50;
        usleep((useconds_t)(s * 1000));
        ms -= s;
    }
    return atomic_load(&call->cancelled);
}

/*
 * What an error from a step means for the job: the token is bad (channel
 * invalid, item failed), transient (retry; fail the item on the last
 * attempt), or permanent (item failed with the message).
 */
static int step_error(run_ctx *x, const cl_job *job, const cl_error *e, const char *what, char *err, size_t errlen)
{
    char reason[700];
    if (e->code == CL_EAUTH) {
        char dberr[256];
        if (x->ch.id)
            cl_channel_set_status(x->c, x->ch.id, "invalid", e->message, dberr, sizeof dberr);
        snprintf(reason, sizeof reason, "channel_invalid: %s", e->message);
        snprintf(err, errlen, "%s", reason);
        return fail_item(x, reason) == 0 ? -1 : 1;
    }
    if (is_transient(e->code)) {
        snprintf(err, errlen, "%s: %s", what, e->message);
        /* A platform that said how long to wait: wait (up to 30 s here; the
           job's backoff comes on top), so the retry does not come too early. */
        if (e->code == CL_ERATELIMIT && e->retry_after_ms > 0 && job->attempt < job->max_attempts)
            nap(x->call, e->retry_after_ms < 30000 ? e->retry_after_ms : 30000);
        if (job->attempt >= job->max_attempts && e->code == CL_ETIMEOUT) {
            /* The transfer's details (host, deadline) are for the log; the
               post says which platform and which step, and what to do. */
            cl_warn(COMP, "item %" PRId64 ": %s timed out: %s", x->item_id, what, e->message);
            snprintf(reason, sizeof reason,
                     "publish_timeout: %s did not answer in time while %s (%d attempt%s). %s Schedule the post again "
                     "to retry.",
                     strcmp(x->publisher, "instagram") == 0 ? "Instagram" : "The publishing service", what,
                     job->attempt, job->attempt == 1 ? "" : "s",
                     strcmp(what, "publishing the container") == 0
                         ? "It may still appear on the account; a retry checks first and never posts it twice."
                         : "Nothing was published.");
            if (fail_item(x, reason) != 0)
                return 1;
        } else if (job->attempt >= job->max_attempts) {
            snprintf(reason, sizeof reason, "gave up after %d attempts: %s", job->attempt, e->message);
            if (fail_item(x, reason) != 0)
                return 1;
        }
        return 1;
    }
    snprintf(reason, sizeof reason, "%s", e->message);
    snprintf(err, errlen, "%s: %s", what, e->message);
    return fail_item(x, reason) == 0 ? -1 : 1;
}

/* Load the item and prepare the request. 0, or -1 with err (retryable) / -2 (permanent, reason in err). */
static int load(run_ctx *x, char *err, size_t errlen)
{
    const char *p[] = {x->sid, x->satt};
    PGresult *r = cl_db_query(
        x->c,
        "SELECT i.user_id, i.project_id, i.channel, i.draft::text, '',"
        "  (SELECT id FROM content_assets WHERE content_item_id = i.id AND kind = 'video'"
        "    ORDER BY render_seq DESC LIMIT 1),"
        "  (SELECT path FROM content_assets WHERE content_item_id = i.id AND kind = 'video'"
        "    ORDER BY render_seq DESC LIMIT 1),"
        "  (SELECT id FROM content_assets WHERE content_item_id = i.id AND kind = 'thumbnail'"
        "    ORDER BY render_seq DESC LIMIT 1),"
        "  i.tracking_slug,"
        "  (SELECT storage FROM content_assets WHERE content_item_id = i.id AND kind = 'video'"
        "    ORDER BY render_seq DESC LIMIT 1),"
        "  (SELECT storage FROM content_assets WHERE content_item_id = i.id AND kind = 'thumbnail'"
        "    ORDER BY render_seq DESC LIMIT 1),"
        "  (SELECT path FROM content_assets WHERE content_item_id = i.id AND kind = 'thumbnail'"
        "    ORDER BY render_seq DESC LIMIT 1)"
        " FROM content_items i WHERE i.id = $1 AND i.publish_attempt = $2",
        2, p);
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        cl_db_errmsg(x->c, r, err, errlen);
        if (cl_db_ok(r))
            snprintf(err, errlen, "item %s is gone", x->sid);
        PQclear(r);
        return -1;
    }
    x->user_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    x->project_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    snprintf(x->channel, sizeof x->channel, "%s", PQgetvalue(r, 0, 2));
    if (PQgetisnull(r, 0, 5)) {
        snprintf(err, errlen, "not_rendered: the item has no rendered video to publish");
        PQclear(r);
        return -2;
    }
    x->video_asset = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
    /* the video as a local file, through the backend that holds it (a download for s3) */
    snprintf(x->video_backend, sizeof x->video_backend, "%s", PQgetvalue(r, 0, 9));
    snprintf(x->video_key, sizeof x->video_key, "%s", PQgetvalue(r, 0, 6));
    if (cl_storage_local_copy(x->video_backend, x->video_key, x->video_path, sizeof x->video_path, &x->video_temp,
                              err, errlen) != 0) {
        PQclear(r);
        return -1;
    }
    x->thumb_asset = PQgetisnull(r, 0, 7) ? 0 : strtoll(PQgetvalue(r, 0, 7), NULL, 10);
    if (x->thumb_asset) {
        snprintf(x->thumb_backend, sizeof x->thumb_backend, "%s", PQgetvalue(r, 0, 10));
        snprintf(x->thumb_key, sizeof x->thumb_key, "%s", PQgetvalue(r, 0, 11));
    }
    char link[600] = "";
    if (!PQgetisnull(r, 0, 8) && cl_tracking_item_url(x->c, x->item_id, link, sizeof link) != 1)
        link[0] = '\0';
    if (cl_post_text(PQgetvalue(r, 0, 3), x->channel, link[0] ? link : NULL, &x->caption, &x->cta) != 0) {
        snprintf(err, errlen, "the item's draft is not readable");
        PQclear(r);
        return -2;
    }
    PQclear(r);

    snprintf(x->key, sizeof x->key, "item:%" PRId64 ":publish:%d", x->item_id, x->attempt);
    x->req = (cl_publish_request){.size = sizeof x->req,
                                  .channel = x->channel,
                                  .video_path = x->video_path,
                                  .caption = x->caption,
                                  .share_to_feed = 1,
                                  .idempotency_key = x->key};
    if (strcmp(x->publisher, "mock") != 0) {
        int f = cl_channel_load(x->c, x->project_id, "instagram", 1, &x->ch, err, errlen);
        if (f < 0)
            return -2;
        if (f == 0 || !x->ch.token || strcmp(x->ch.status, "active") != 0) {
            snprintf(err, errlen, "channel_not_connected: the Instagram account is %s; reconnect it on the project page",
                     f == 0 ? "not connected" : x->ch.status);
            return -2;
        }
        x->req.access_token = x->ch.token;
        x->req.account_id = x->ch.account_id;
        /* The platform pulls the files: a presigned URL of the backend that
           holds them (s3), else the host's own signed media route (local). */
        int ttl = cl_cfg.public_media_ttl_seconds;
        int u = cl_storage_public_url(x->video_backend, x->video_key, ttl, "video/mp4", x->video_url,
                                      sizeof x->video_url, err, errlen);
        if (u < 0 || (u == 0 && cl_public_media_url(x->video_asset, x->video_url, sizeof x->video_url, err, errlen) != 0))
            return -2;
        x->req.video_url = x->video_url;
        char terr[256];
        if (x->thumb_asset) {
            u = cl_storage_public_url(x->thumb_backend, x->thumb_key, ttl, "image/jpeg", x->thumb_url,
                                      sizeof x->thumb_url, terr, sizeof terr);
            if (u == 1 || (u == 0 && cl_public_media_url(x->thumb_asset, x->thumb_url, sizeof x->thumb_url, terr,
                                                         sizeof terr) == 0))
                x->req.thumbnail_url = x->thumb_url;
        }
    }
    return 0;
}

/* Publishes this month vs the plan's limit: 1 over (reason set), 0 fine, -1 error. */
static int over_plan(run_ctx *x, char *reason, size_t rlen)
{
    cl_user u;
    char err[256];
    if (cl_user_load(x->c, x->user_id, &u, err, sizeof err) != 1)
        return -1;
    int limit = cl_policy_usage_limit(u.plan, CL_METRIC_PUBLISHES, "month");
    int64_t used = 0;
    if (limit < 0)
        return 0;
    if (cl_usage_used(x->c, x->user_id, CL_METRIC_PUBLISHES, "month", &used, err, sizeof err) != 0)
        return -1;
    if (used < limit)
        return 0;
    snprintf(reason, rlen, "plan_limit_reached: your %s plan allows %d publishes per month and %" PRId64 " were used",
             cl_plan_label(u.plan), limit, used);
    return 1;
}

/* publishing -> published with the ids, and the month's publish counted, in one transaction. */
static int finish(run_ctx *x, const char *media_id, const char *permalink, cl_buf *result, char *err, size_t errlen)
{
    char dberr[256];
    if (cl_db_begin(x->c) != 0) {
        snprintf(err, errlen, "database error: cannot begin");
        return 1;
    }
    const char *extra[] = {media_id, permalink};
    cl_pub_state cur;
    int rc = cl_item_transition(x->c, x->item_id, 0, CL_PUB_PUBLISHED,
                                "published_at = now(), publish_error = NULL, remote_media_id = coalesce($4, remote_media_id),"
                                " permalink = coalesce($5, permalink)",
                                2, extra, &cur, dberr, sizeof dberr);
    if (rc == CL_TRANSITION_OK &&
        cl_usage_record(x->c, x->user_id, CL_METRIC_PUBLISHES, 1, dberr, sizeof dberr) == 0 && cl_db_commit(x->c) == 0) {
        cl_info(COMP, "item %" PRId64 " published by %s (media %s)", x->item_id, x->publisher,
                media_id ? media_id : "unknown");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "content_item_id", (double)x->item_id);
        cJSON_AddStringToObject(o, "publisher", x->publisher);
        cJSON_AddStringToObject(o, "media_id", media_id ? media_id : "");
        cJSON_AddStringToObject(o, "permalink", permalink ? permalink : "");
        cl_buf_put_json(result, o);
        return 0;
    }
    cl_db_rollback(x->c);
    snprintf(err, errlen, "recording the published item failed: %s",
             rc == CL_TRANSITION_REFUSED ? cl_pub_state_name(cur) : dberr);
    return 1;
}

/*
 * A new media container for the attempt (the plan's publish limit and the
 * platform's quota checked first), its id stored at once so that a run that
 * dies after this resumes from it. 0 with container filled (CONTAINER_LEN
 * bytes), or what cl_publishing_run returns (err set). *ans is the caller's
 * to free.
 */
#define CONTAINER_LEN 80
static int new_container(run_ctx *x, const cl_job *job, char container[CONTAINER_LEN], cJSON **ans, char *err,
                         size_t errlen)
{
    char reason[700], dberr[256];
    cl_error e;
    int over = over_plan(x, reason, sizeof reason);
    if (over != 0) {
        snprintf(err, errlen, "%s", over > 0 ? reason : "could not check the plan's publish limit");
        return over > 0 ? (fail_item(x, reason) == 0 ? -1 : 1) : 1;
    }
    if (x->pub->quota) {
        if (run_step(x, do_quota, NULL, ans, &e) != CL_OK)
            return step_error(x, job, &e, "checking the publishing quota", err, errlen);
        const cJSON *used = cJSON_GetObjectItem(*ans, "used"), *limit = cJSON_GetObjectItem(*ans, "limit");
        if (cJSON_IsNumber(used) && cJSON_IsNumber(limit) && used->valuedouble >= limit->valuedouble) {
            snprintf(reason, sizeof reason,
                     "quota_exceeded: the account has used its publishing limit (%d of %d posts in 24 hours); "
                     "schedule it again later",
                     used->valueint, limit->valueint);
            snprintf(err, errlen, "%s", reason);
            return fail_item(x, reason) == 0 ? -1 : 1;
        }
        cJSON_Delete(*ans);
        *ans = NULL;
    }
    if (run_step(x, do_create, NULL, ans, &e) != CL_OK)
        return step_error(x, job, &e, "creating the media container", err, errlen);
    const char *cid = cJSON_GetStringValue(cJSON_GetObjectItem(*ans, "container_id"));
    if (!cid || !*cid || strlen(cid) >= CONTAINER_LEN) {
        snprintf(err, errlen, "publisher '%s' created a container without an id", x->publisher);
        return 1;
    }
    snprintf(container, CONTAINER_LEN, "%s", cid);
    cJSON_Delete(*ans);
    *ans = NULL;
    if (item_set(x, "publish_container_id = $3, publish_container_at = now()", container, dberr, sizeof dberr) != 0) {
        snprintf(err, errlen, "storing the container id failed: %s", dberr);
        return 1;
    }
    cl_info(COMP, "item %" PRId64 " attempt %d: container %s created", x->item_id, x->attempt, container);
    return 0;
}

/* What a step of cl_publishing_run returns to let the run go on (anything else is the run's result). */
#define RUN_ON 2
#define MEDIA_LEN 80

/* Where a previous run of this attempt got to: its container and media ids ("" when none). RUN_ON or 1. */
static int read_progress(run_ctx *x, char container[CONTAINER_LEN], char media[MEDIA_LEN], char *err,
                         size_t errlen)
{
    char dberr[256];
    const char *p[] = {x->sid};
    PGresult *r =
        cl_db_run(x->c, "SELECT publish_container_id, remote_media_id FROM content_items WHERE id = $1", 1, p,
                  dberr, sizeof dberr);
    if (!r || PQntuples(r) != 1) {
        snprintf(err, errlen, "database error: %s", r ? "the item is gone" : dberr);
        PQclear(r);
        return 1;
    }
    if (!PQgetisnull(r, 0, 0))
        snprintf(container, CONTAINER_LEN, "%s", PQgetvalue(r, 0, 0));
    if (!PQgetisnull(r, 0, 1))
        snprintf(media, MEDIA_LEN, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    return RUN_ON;
}

/* Poll the container until the platform is done with it: backoff from
   CLIPLOOP_PUBLISH_POLL_MS, bounded by the budget. RUN_ON with *ans the
   last answer, or the run's result (err set). */
static int await_container(run_ctx *x, const cl_job *job, const char *container, cJSON **ans, char *err,
                           size_t errlen)
{
    int64_t delay = cl_cfg.publish_poll_ms, spent = 0;
    cl_error e;
    for (;;) {
        if (run_step(x, do_status, container, ans, &e) != CL_OK)
            return step_error(x, job, &e, "checking the container", err, errlen);
        const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(*ans, "status"));
        if (!status || strcmp(status, CL_CONTAINER_IN_PROGRESS) != 0)
            return RUN_ON;
        if (spent >= cl_cfg.publish_poll_budget_ms) {
            snprintf(err, errlen, "the platform is still processing the video (container %s); retrying later",
                     container);
            e.code = CL_EUPSTREAM;
            snprintf(e.message, sizeof e.message, "the platform was still processing the video");
            return step_error(x, job, &e, "waiting for the video to be processed", err, errlen);
        }
        cJSON_Delete(*ans);
        *ans = NULL;
        if (nap(x->call, delay)) {
            snprintf(err, errlen, "cancelled while waiting for container %s", container);
            return 1;
        }
        spent += delay;
        delay = delay * 2 > 30000 ? 30000 : delay * 2;
    }
}

/* After polling (*ans): publish a finished container and store its media id
   in media (RUN_ON). A container already published, expired or failed ends
   the run here (its result). */
static int publish_container(run_ctx *x, const cl_job *job, const char *container, char media[MEDIA_LEN],
                             cJSON **ans, cl_buf *result, char *err, size_t errlen)
{
    char dberr[256], reason[700];
    cl_error e;
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(*ans, "status"));
    if (status && strcmp(status, CL_CONTAINER_PUBLISHED) == 0) {
        /* A previous run published it and died before storing the media id. */
        cl_warn(COMP, "item %" PRId64 ": container %s is already published; not publishing again", x->item_id,
                container);
        return finish(x, NULL, NULL, result, err, errlen);
    }
    if (!status || strcmp(status, CL_CONTAINER_FINISHED) != 0) {
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(*ans, "message"));
        if (status && strcmp(status, CL_CONTAINER_EXPIRED) == 0) {
            /* Never published: forget it; the retry makes a new one. */
            item_set(x, "publish_container_id = NULL, publish_container_at = NULL", NULL, dberr,
                     sizeof dberr);
            snprintf(e.message, sizeof e.message, "%s", msg ? msg : "the container expired");
            e.code = CL_EUPSTREAM;
            return step_error(x, job, &e, "container expired", err, errlen);
        }
        snprintf(reason, sizeof reason, "%s", msg ? msg : "the platform could not process the video");
        snprintf(err, errlen, "container %s ended %s: %s", container, status ? status : "?", reason);
        return fail_item(x, reason) == 0 ? -1 : 1;
    }
    cJSON_Delete(*ans);
    *ans = NULL;
    item_set(x, "publish_requested_at = now()", NULL, dberr, sizeof dberr);
    if (run_step(x, do_publish, container, ans, &e) != CL_OK)
        return step_error(x, job, &e, "publishing the container", err, errlen);
    const char *mid = cJSON_GetStringValue(cJSON_GetObjectItem(*ans, "media_id"));
    if (!mid || !*mid || strlen(mid) >= MEDIA_LEN) {
        /* Published without an id: finish without one rather than publish twice. */
        return finish(x, NULL, NULL, result, err, errlen);
    }
    snprintf(media, MEDIA_LEN, "%s", mid);
    if (item_set(x, "remote_media_id = $3", media, dberr, sizeof dberr) != 0)
        cl_warn(COMP, "item %" PRId64 ": storing media id %s failed: %s", x->item_id, media, dberr);
    return RUN_ON;
}

/* The post's permalink into out ("" when the publisher has none or it
   cannot be read: a nicety that never fails a published item). */
static void read_permalink(run_ctx *x, const char *media, char *out, size_t len)
{
    cJSON *ans = NULL;
    cl_error e;
    out[0] = '\0';
    if (!x->pub->permalink)
        return;
    if (run_step(x, do_permalink, media, &ans, &e) == CL_OK) {
        const char *pl = cJSON_GetStringValue(cJSON_GetObjectItem(ans, "permalink"));
        if (pl && strlen(pl) < len)
            snprintf(out, len, "%s", pl);
    } else {
        cl_warn(COMP, "item %" PRId64 ": permalink not read: %s", x->item_id, e.message);
    }
    cJSON_Delete(ans);
}

/* Check the publisher, load the item and fix the publisher for this attempt
   before anything reaches a platform. RUN_ON or the run's result. */
static int prepare(run_ctx *x, char *err, size_t errlen)
{
    char dberr[256], reason[700];
    if (!x->pub || !x->pub->create_container || !x->pub->container_status || !x->pub->publish_container) {
        snprintf(reason, sizeof reason,
                 "publisher '%s' cannot publish step by step (it needs publisher ABI 1.2)", x->publisher);
        snprintf(err, errlen, "%s", reason);
        return fail_item(x, reason) == 0 ? -1 : 1;
    }
    int lr = load(x, reason, sizeof reason);
    if (lr != 0) {
        snprintf(err, errlen, "%s", reason);
        return lr == -2 ? (fail_item(x, reason) == 0 ? -1 : 1) : 1;
    }
    if (item_set(x, "publisher = $3", x->publisher, dberr, sizeof dberr) != 0) {
        snprintf(err, errlen, "database error: %s", dberr);
        return 1;
    }
    return RUN_ON;
}

int cl_publishing_run(PGconn *c, const cl_job *job, int64_t item_id, int attempt, const char *publisher,
                      cl_call *call, cl_buf *result, char *err, size_t errlen)
{
    run_ctx x;
    memset(&x, 0, sizeof x);
    x.c = c;
    x.item_id = item_id;
    x.attempt = attempt;
    x.call = call;
    snprintf(x.sid, sizeof x.sid, "%" PRId64, item_id);
    snprintf(x.satt, sizeof x.satt, "%d", attempt);
    snprintf(x.publisher, sizeof x.publisher, "%s", publisher);
    x.pub = cl_publisher_get(publisher);
    cJSON *ans = NULL;
    char container[CONTAINER_LEN] = "", media[MEDIA_LEN] = "", permalink[600];
    int rc = prepare(&x, err, errlen);
    if (rc == RUN_ON)
        rc = read_progress(&x, container, media, err, errlen);
    if (rc == RUN_ON && !media[0]) {
        if (!container[0] && (rc = new_container(&x, job, container, &ans, err, errlen)) == 0)
            rc = RUN_ON;
        if (rc == RUN_ON)
            rc = await_container(&x, job, container, &ans, err, errlen);
        if (rc == RUN_ON)
            rc = publish_container(&x, job, container, media, &ans, result, err, errlen);
    }
    if (rc == RUN_ON) {
        read_permalink(&x, media, permalink, sizeof permalink);
        rc = finish(&x, media, permalink[0] ? permalink : NULL, result, err, errlen);
    }
    cJSON_Delete(ans);
    if (x.video_temp)
        unlink(x.video_path);
    cl_channel_clear(&x.ch);
    free(x.caption);
    free(x.cta);
    return rc;
}

/* ---- scheduler tasks ------------------------------------------------------------------------ */

int cl_publishing_stuck_task(PGconn *c, char *err, size_t errlen)
{
    /* Items still publishing whose job ended without finishing them (the
       worker died on its last attempt): one recovery job per attempt, which
       resumes from the stored container; if that one ends too, failed. */
    PGresult *r = cl_db_query(
        c,
        "WITH stuck AS ("
        " SELECT i.id, i.publish_attempt, j.idempotency_key LIKE '%:recover' AS recovered"
        "   FROM content_items i JOIN jobs j ON j.id = i.publish_job_id"
        "  WHERE i.publish_status = 'publishing' AND j.status IN ('dead', 'failed')"
        "  FOR UPDATE OF i SKIP LOCKED),"
        " nj AS ("
        " INSERT INTO jobs (kind, payload, idempotency_key, max_attempts)"
        " SELECT 'publish.content_item', jsonb_build_object('content_item_id', id, 'attempt', publish_attempt),"
        "        'publish:' || id || ':' || publish_attempt || ':recover', 3 FROM stuck WHERE NOT recovered"
        " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, (payload->>'content_item_id')::bigint AS item_id),"
        " ev AS (INSERT INTO job_events (job_id, attempt, event) SELECT id, 0, 'enqueued' FROM nj),"
        " upd AS (UPDATE content_items i SET publish_job_id = nj.id, updated_at = now() FROM nj"
        "   WHERE i.id = nj.item_id RETURNING i.id),"
        " gave_up AS (UPDATE content_items i SET publish_status = 'failed', updated_at = now(),"
        "   publish_error = 'The publish could not be confirmed: the worker running it was lost twice. "
        "Check the account before scheduling it again.'"
        "   FROM stuck s WHERE i.id = s.id AND s.recovered RETURNING i.id)"
        " SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM gave_up)",
        0, NULL);
    if (cl_db_check(c, r, err, errlen) != 0)
        return -1;
    int n = atoi(PQgetvalue(r, 0, 0)) + atoi(PQgetvalue(r, 0, 1));
    if (atoi(PQgetvalue(r, 0, 0)) > 0)
        PQclear(PQexec(c, "NOTIFY " CL_JOBS_CHANNEL));
    PQclear(r);
    return n;
}

int cl_publishing_refresh_task(PGconn *c, char *err, size_t errlen)
{
    /* One worker at a time refreshes (the others skip this round). */
    PGresult *r = cl_db_query(c, "SELECT pg_try_advisory_lock(hashtext('cliploop.refresh_tokens'))", 0, NULL);
    int got = cl_db_ok(r) && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!got)
        return 0;
    int ok = 0, bad = 0;
    int rc = cl_publishing_refresh_tokens(c, &ok, &bad, err, errlen);
    PQclear(PQexec(c, "SELECT pg_advisory_unlock(hashtext('cliploop.refresh_tokens'))"));
    return rc < 0 ? -1 : ok + bad;
}
