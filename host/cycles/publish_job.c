/*
 * publish_job.c — the durable job "publish.content_item".
 *
 * payload: {"content_item_id": N, "attempt": A} — A is the item's
 * publish_attempt when the scheduler enqueued it (the job's idempotency key
 * is "publish:<N>:<A>", so one schedule gives one job).
 *
 * One run:
 *   1. the item must still be scheduled (or publishing: a retried attempt)
 *      for the same publish_attempt; otherwise it was unscheduled,
 *      rescheduled or skipped meanwhile and the job completes as "stale"
 *      without touching it;
 *   2. publisher_for_item() picks the publisher (none: failed with the reason,
 *      e.g. "channel_not_connected");
 *   3. scheduled -> publishing (cl_item_transition), committed;
 *   4. publish_item() publishes it and records the outcome.
 *
 * publisher_for_item() and publish_item() are the boundary the publisher
 * capability plugs into (host/publishing/publish_run.c). Without a
 * publisher the item becomes failed with the reason (scheduled -> failed,
 * in the transaction that checked it) and the job fails permanently.
 */
#include "core/config.h"
#include "core/log.h"
#include "cycles/cycles.h"
#include "cycles/cycles_internal.h"
#include "cycles/states.h"
#include "db/db.h"
#include "publishing/publishing.h"
#include "core/json_out.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "publish-job"

typedef struct publish_payload {
    int64_t item_id;
    int attempt;
} publish_payload;

static int parse_payload(const char *json, publish_payload *p, char *err, size_t errlen)
{
    cJSON *o = cJSON_Parse(json);
    const cJSON *id = cJSON_GetObjectItem(o, "content_item_id"), *a = cJSON_GetObjectItem(o, "attempt");
    int ok = cJSON_IsNumber(id) && id->valuedouble >= 1 && id->valuedouble <= 9e15 && cJSON_IsNumber(a) &&
             a->valuedouble >= 0 && a->valuedouble <= 1e6;
    if (ok) {
        p->item_id = (int64_t)id->valuedouble;
        p->attempt = a->valueint;
    } else {
        snprintf(err, errlen, "publish payload must have content_item_id and attempt");
    }
    cJSON_Delete(o);
    return ok ? 0 : -1;
}

/* -> failed with a reason the item shows (from scheduled or publishing). 0 or -1. */
static int mark_failed(PGconn *c, const publish_payload *p, const char *reason, char *err, size_t errlen)
{
    const char *extra[] = {reason};
    cl_pub_state cur;
    int rc = cl_item_transition(c, p->item_id, 0, CL_PUB_FAILED, "publish_error = $4", 1, extra, &cur, err,
                                errlen);
    if (rc == CL_TRANSITION_ERROR)
        return -1;
    if (rc != CL_TRANSITION_OK)
        cl_warn(COMP, "item %" PRId64 " could not be marked failed (it is %s)", p->item_id, cl_pub_state_name(cur));
    return 0;
}

/* ---- THE PUBLISHER BOUNDARY ----------------------------------------------------
 * publisher_for_item: which publisher publishes item p (host/publishing
 *   decides: the connected channel, the mock in MOCK_MODE, or a reason such
 *   as "channel_not_connected" that the item shows). 1 chosen, 0 with a
 *   reason code, -1 on error.
 *
 * publish_item: publish item p (already in state publishing, committed)
 *   exactly once and record the outcome (host/publishing/publish_run.c):
 *   0 published; > 0 the job retries (the item stays publishing); < 0 the
 *   item failed with the platform's reason.
 * ------------------------------------------------------------------------------ */
static int publisher_for_item(PGconn *c, const publish_payload *p, char *publisher, size_t plen, char *reason,
                              size_t reasonlen)
{
    return cl_publishing_choose(c, p->item_id, publisher, plen, reason, reasonlen);
}

static int publish_item(PGconn *c, const cl_job *job, const publish_payload *p, const char *publisher,
                        cl_call *call, cl_buf *result, char *err, size_t errlen)
{
    return cl_publishing_run(c, job, p->item_id, p->attempt, publisher, call, result, err, errlen);
}

/* One connection per runner thread, kept between jobs (a burst of due
   items should not pay a connection set-up each) and closed at thread exit. */
static pthread_key_t conn_key;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;

static void conn_free(void *c) { PQfinish(c); }
static void conn_key_init(void) { pthread_key_create(&conn_key, conn_free); }

static PGconn *thread_conn(char *err, size_t errlen)
{
    pthread_once(&conn_once, conn_key_init);
    PGconn *c = pthread_getspecific(conn_key);
    if (c && PQstatus(c) != CONNECTION_OK) {
        PQreset(c);
        if (PQstatus(c) != CONNECTION_OK) {
            PQfinish(c);
            c = NULL;
        } else {
            PGresult *r = PQexec(c, "SET TIME ZONE 'UTC'");
            PQclear(r);
        }
    }
    if (!c) {
        c = cl_db_connect(cl_cfg.database_url, err, errlen);
        pthread_setspecific(conn_key, c);
    }
    return c;
}

int cl_publish_job(const cl_job *job, cl_call *call, cl_buf *result, char *err, size_t errlen)
{
    publish_payload p;
    if (parse_payload(job->payload, &p, err, errlen) != 0)
        return -1;
    char dberr[256] = "";
    PGconn *c = thread_conn(dberr, sizeof dberr);
    if (!c) {
        snprintf(err, errlen, "database unavailable: %s", dberr);
        return 1;
    }
    char sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, p.item_id);
    int rc;
    /* Lock the item, check it still belongs to this attempt, and start
       publishing: one transaction, so an unschedule racing this job either
       wins (the job finds it stale) or waits until it is publishing. */
    if (cl_db_begin(c) != 0) {
        snprintf(err, errlen, "database error: cannot begin");
        rc = 1;
        goto out;
    }
    PGresult *r = cl_db_query(c, "SELECT publish_attempt, publish_status FROM content_items WHERE id = $1 FOR UPDATE",
                              1, (const char *[]){sid});
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, dberr, sizeof dberr);
        PQclear(r);
        cl_db_rollback(c);
        snprintf(err, errlen, "database error: %s", dberr);
        rc = 1;
        goto out;
    }
    int found = PQntuples(r) == 1, attempt = found ? atoi(PQgetvalue(r, 0, 0)) : -1;
    cl_pub_state cur = CL_PUB_DRAFT;
    if (found)
        cl_pub_state_parse(PQgetvalue(r, 0, 1), &cur);
    PQclear(r);
    if (!found || attempt != p.attempt || (cur != CL_PUB_SCHEDULED && cur != CL_PUB_PUBLISHING)) {
        cl_db_rollback(c);
        cl_info(COMP, "item %" PRId64 " attempt %d is stale (item is %s, attempt %d); nothing to publish",
                p.item_id, p.attempt, found ? cl_pub_state_name(cur) : "gone", attempt);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "stale", 1);
        cJSON_AddStringToObject(o, "state", found ? cl_pub_state_name(cur) : "gone");
        rc = cl_buf_put_json(result, o) ? 1 : 0;
        goto out;
    }
    /* No publisher for this item: fail it now, in the same transaction,
       with the reason it shows — never pretend to publish. */
    char reason[256] = "", publisher[32] = "";
    int pub = publisher_for_item(c, &p, publisher, sizeof publisher, reason, sizeof reason);
    if (pub <= 0) {
        if (pub == 0 && mark_failed(c, &p, reason, dberr, sizeof dberr) == 0 && cl_db_commit(c) == 0) {
            snprintf(err, errlen, "%s: no publisher is available for this item", reason);
            rc = -1;
        } else {
            cl_cycles_rollback_open(c);
            snprintf(err, errlen, "could not choose a publisher: %s", dberr);
            rc = 1;
        }
        goto out;
    }
    if (cur == CL_PUB_SCHEDULED &&
        /* A new attempt starts from nothing: the bookkeeping of an earlier
           (failed) attempt must not be resumed. */
        cl_item_transition(c, p.item_id, 0, CL_PUB_PUBLISHING,
                           "publish_error = NULL, publisher = NULL, publish_container_id = NULL,"
                           " publish_container_at = NULL, publish_requested_at = NULL, remote_media_id = NULL,"
                           " permalink = NULL",
                           0, NULL, &cur, dberr, sizeof dberr) != CL_TRANSITION_OK) {
        cl_db_rollback(c);
        snprintf(err, errlen, "could not start publishing: %s", dberr);
        rc = 1;
        goto out;
    }
    if (cl_db_commit(c) != 0) {
        snprintf(err, errlen, "database error: commit failed");
        rc = 1;
        goto out;
    }
    rc = publish_item(c, job, &p, publisher, call, result, err, errlen);
out:
    cl_cycles_rollback_open(c);
    return rc;
}

int cl_cycles_register_jobs(void) { return cl_job_register(CL_JOB_PUBLISH_ITEM, cl_publish_job); }
