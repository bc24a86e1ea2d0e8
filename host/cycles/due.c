/*
 * due.c — scheduled items whose time has come become publish jobs
 * (cl_cycles_enqueue_due in cycles.h), run by every worker's scheduler and
 * by POST /api/strategy-cycles/:id/run-due.
 *
 * One statement per batch:
 *   due   claims due rows FOR UPDATE SKIP LOCKED: concurrent schedulers on
 *         other workers skip rows another one holds, so they take disjoint
 *         rows instead of waiting on each other;
 *   j     inserts one job per row keyed "publish:<item>:<attempt>"
 *         (ON CONFLICT DO NOTHING: even a row seen twice gets one job);
 *   ev    writes the jobs' 'enqueued' events;
 *   upd   records the job on the item (publish_job_id), which takes it out
 *         of the due set.
 * All four commit together, then one NOTIFY wakes idle runners.
 */
#include "core/config.h"
#include "cycles/cycles.h"
#include "db/db.h"
#include "jobs/jobs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ENQUEUE_DUE_SQL[] =
    "WITH due AS ("
    " SELECT id, publish_attempt FROM content_items"
    "  WHERE publish_status = 'scheduled' AND publish_job_id IS NULL AND scheduled_at <= now()"
    "    AND ($1::bigint = 0 OR cycle_id = $1::bigint) AND ($2::bigint = 0 OR user_id = $2::bigint)"
    "  ORDER BY scheduled_at, id LIMIT $3::int FOR UPDATE SKIP LOCKED),"
    " j AS ("
    " INSERT INTO jobs (kind, payload, idempotency_key, max_attempts)"
    " SELECT '" CL_JOB_PUBLISH_ITEM "', jsonb_build_object('content_item_id', id, 'attempt', publish_attempt),"
    "        'publish:' || id || ':' || publish_attempt, $4::int FROM due"
    " ON CONFLICT (idempotency_key) DO NOTHING"
    " RETURNING id, (payload->>'content_item_id')::bigint AS item_id),"
    " ev AS (INSERT INTO job_events (job_id, attempt, event) SELECT id, 0, 'enqueued' FROM j),"
    " upd AS ("
    " UPDATE content_items i SET publish_job_id = j.id, updated_at = now() FROM j WHERE i.id = j.item_id"
    " RETURNING i.id)"
    " SELECT count(*) FROM upd";

/* The statement runs every tick on every worker: prepared once per
   connection (prepared on first use, and again after a reconnect: a
   missing prepared statement is SQLSTATE 26000). Autocommit only. */
#define DUE_STMT "cl_cycles_enqueue_due"

static PGresult *exec_due(PGconn *c, const char *const *p)
{
    PGresult *r = PQexecPrepared(c, DUE_STMT, 4, p, NULL, NULL, 0);
    if (!cl_db_ok(r) && strcmp(cl_db_sqlstate(r), "26000") == 0) {
        PQclear(r);
        PGresult *pr = PQprepare(c, DUE_STMT, ENQUEUE_DUE_SQL, 4, NULL);
        int ok = cl_db_ok(pr);
        PQclear(pr);
        r = ok ? PQexecPrepared(c, DUE_STMT, 4, p, NULL, NULL, 0) : cl_db_query(c, ENQUEUE_DUE_SQL, 4, p);
    }
    return r;
}

int cl_cycles_enqueue_due(PGconn *c, int64_t cycle_id, int64_t user_id, int limit, char *err, size_t errlen)
{
    char cid[24], uid[24], lim[16], att[16];
    snprintf(cid, sizeof cid, "%" PRId64, cycle_id);
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    snprintf(lim, sizeof lim, "%d", limit > 0 ? limit : 100);
    snprintf(att, sizeof att, "%d", cl_cfg.job_max_attempts);
    int total = 0;
    for (;;) {
        const char *p[] = {cid, uid, lim, att};
        PGresult *r = exec_due(c, p);
        if (!cl_db_ok(r)) {
            cl_db_errmsg(c, r, err, errlen);
            PQclear(r);
            return total > 0 ? total : -1;
        }
        int n = atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
        total += n;
        if (n < atoi(lim))
            break;
    }
    if (total > 0) {
        PGresult *r = cl_db_query(c, "SELECT pg_notify('" CL_JOBS_CHANNEL "', '" CL_JOB_PUBLISH_ITEM "')", 0, NULL);
        PQclear(r);
    }
    return total;
}

/* The worker scheduler's task (registered in host/jobs/worker.c). */
int cl_cycles_due_task(PGconn *c, char *err, size_t errlen) { return cl_cycles_enqueue_due(c, 0, 0, 100, err, errlen); }
