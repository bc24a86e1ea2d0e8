/*
 * jobs.c — the queue's SQL. Each transition is one statement: the UPDATE of
 * the job row and the INSERT of its job_events row are data-modifying CTEs of
 * the same statement, so they commit together or not at all.
 *
 * Times come from the database clock (now()), never from the worker's, so
 * leases compare correctly across machines.
 */
#include "jobs/jobs.h"
#include "core/config.h"
#include "core/log.h"
#include "db/db.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_job_clear(cl_job *job)
{
    free(job->kind);
    free(job->payload);
    free(job->idempotency_key);
    memset(job, 0, sizeof *job);
}

int64_t cl_job_backoff_ms(int64_t base_ms, int attempt)
{
    if (base_ms <= 0)
        return 0;
    if (attempt < 1)
        attempt = 1;
    int64_t d = base_ms;
    for (int i = 1; i < attempt && d < CL_JOB_BACKOFF_CAP_MS; i++)
        d *= 2;
    return d < CL_JOB_BACKOFF_CAP_MS ? d : CL_JOB_BACKOFF_CAP_MS;
}

/* Run a query expecting tuples or a command; on failure fill err and return NULL. */
static PGresult *run(PGconn *conn, const char *sql, int n, const char *const *p, char *err,
                     size_t errlen)
{
    PGresult *r = cl_db_query(conn, sql, n, p);
    if (cl_db_ok(r))
        return r;
    cl_db_errmsg(conn, r, err, errlen);
    PQclear(r);
    return NULL;
}

/*
 * Insert unless the key exists. ON CONFLICT DO NOTHING waits for a
 * concurrent insert of the same key to commit, but this statement's
 * snapshot predates that commit, so the fallback SELECT can come back empty:
 * then we simply run the statement again (it will see the row).
 */
static const char *enqueue_sql =
    "WITH ins AS ("
    "  INSERT INTO jobs (kind, payload, idempotency_key, max_attempts)"
    "  VALUES ($1, $2::jsonb, $3, $4::int)"
    "  ON CONFLICT (idempotency_key) DO NOTHING"
    "  RETURNING id),"
    " ev AS ("
    "  INSERT INTO job_events (job_id, attempt, event) SELECT id, 0, 'enqueued' FROM ins)"
    " SELECT id, true FROM ins"
    " UNION ALL"
    " SELECT id, false FROM jobs WHERE $3::text IS NOT NULL AND idempotency_key = $3"
    "   AND NOT EXISTS (SELECT 1 FROM ins)";

int cl_job_enqueue(PGconn *conn, const char *kind, const char *payload_json,
                   const char *idempotency_key, int max_attempts, int64_t *id_out,
                   int *created_out, char *err, size_t errlen)
{
    if (!kind || !*kind) {
        snprintf(err, errlen, "job kind is empty");
        return -1;
    }
    if (!payload_json)
        payload_json = "{}";
    cJSON *parsed = cJSON_Parse(payload_json);
    if (!parsed) {
        snprintf(err, errlen, "payload is not valid JSON");
        return -1;
    }
    cJSON_Delete(parsed);
    if (idempotency_key && !*idempotency_key)
        idempotency_key = NULL;
    char maxbuf[16];
    snprintf(maxbuf, sizeof maxbuf, "%d", max_attempts > 0 ? max_attempts : cl_cfg.job_max_attempts);
    const char *p[] = {kind, payload_json, idempotency_key, maxbuf};
    for (int tries = 0; tries < 5; tries++) {
        PGresult *r = run(conn, enqueue_sql, 4, p, err, errlen);
        if (!r)
            return -1;
        if (PQntuples(r) == 0) {
            PQclear(r); /* lost a race with a concurrent insert of the same key */
            continue;
        }
        int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        int created = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
        PQclear(r);
        if (created) {
            const char *np[] = {kind};
            PGresult *n = run(conn, "SELECT pg_notify('" CL_JOBS_CHANNEL "', $1)", 1, np, err, errlen);
            if (!n)
                return -1;
            PQclear(n);
        }
        *id_out = id;
        if (created_out)
            *created_out = created;
        return 0;
    }
    snprintf(err, errlen, "could not insert or find the job with this idempotency key");
    return -1;
}

int cl_job_set_priority(PGconn *conn, int64_t id, int priority, char *err, size_t errlen)
{
    char sid[24], pr[16];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(pr, sizeof pr, "%d", priority);
    PGresult *r = run(conn, "UPDATE jobs SET priority = $2::smallint WHERE id = $1::bigint", 2,
                      (const char *[]){sid, pr}, err, errlen);
    int ok = r != NULL;
    PQclear(r);
    return ok ? 0 : -1;
}

/*
 * Expired leases: the worker died or stopped heartbeating. The job goes back
 * to pending (its attempt is used up) or, at max_attempts, to dead.
 */
static const char *reap_sql =
    "WITH exp AS ("
    "  SELECT id, locked_by AS old_worker FROM jobs"
    "  WHERE status = 'running' AND lease_until < now()"
    "  ORDER BY lease_until LIMIT 100 FOR UPDATE SKIP LOCKED),"
    " upd AS ("
    "  UPDATE jobs j SET"
    "    status = CASE WHEN j.attempts >= j.max_attempts THEN 'dead' ELSE 'pending' END,"
    "    run_after = now(), lease_until = NULL, locked_by = NULL,"
    "    last_error = 'lease expired on attempt ' || j.attempts || ' (worker '"
    "                 || coalesce(exp.old_worker, '?') || ' stopped heartbeating)',"
    "    finished_at = CASE WHEN j.attempts >= j.max_attempts THEN now() END,"
    "    updated_at = now()"
    "  FROM exp WHERE j.id = exp.id"
    "  RETURNING j.id, j.attempts, j.status, exp.old_worker, j.last_error),"
    " ev AS ("
    "  INSERT INTO job_events (job_id, attempt, event, worker, detail)"
    "  SELECT id, attempts, e.event, old_worker, last_error"
    "  FROM upd CROSS JOIN LATERAL (VALUES (1, 'lease_expired'), (2, 'dead')) AS e(ord, event)"
    "  WHERE e.ord = 1 OR upd.status = 'dead'"
    "  ORDER BY id, e.ord)"
    " SELECT count(*) FROM upd";

int cl_job_reap_expired(PGconn *conn, char *err, size_t errlen)
{
    PGresult *r = run(conn, reap_sql, 0, NULL, err, errlen);
    if (!r)
        return -1;
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

static const char *claim_sql =
    "WITH c AS ("
    "  SELECT id FROM jobs WHERE status = 'pending' AND run_after <= now()"
    "  ORDER BY priority DESC, run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED),"
    " upd AS ("
    "  UPDATE jobs j SET status = 'running', attempts = j.attempts + 1,"
    "    lease_until = now() + $2::bigint * interval '1 millisecond', locked_by = $1,"
    "    started_at = now(), updated_at = now()"
    "  FROM c WHERE j.id = c.id"
    "  RETURNING j.id, j.kind, j.payload::text, j.idempotency_key, j.attempts, j.max_attempts),"
    " ev AS ("
    "  INSERT INTO job_events (job_id, attempt, event, worker) SELECT id, attempts, 'claimed', $1 FROM upd)"
    " SELECT * FROM upd";

static char *dup_value(const PGresult *r, int col)
{
    return PQgetisnull(r, 0, col) ? NULL : strdup(PQgetvalue(r, 0, col));
}

int cl_job_claim(PGconn *conn, const char *worker_id, int lease_ms, cl_job *job, char *err,
                 size_t errlen)
{
    memset(job, 0, sizeof *job);
    if (cl_job_reap_expired(conn, err, errlen) < 0)
        return -1;
    char lease[24];
    snprintf(lease, sizeof lease, "%d", lease_ms);
    const char *p[] = {worker_id, lease};
    PGresult *r = run(conn, claim_sql, 2, p, err, errlen);
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    job->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    job->kind = dup_value(r, 1);
    job->payload = dup_value(r, 2);
    job->idempotency_key = dup_value(r, 3);
    job->attempt = atoi(PQgetvalue(r, 0, 4));
    job->max_attempts = atoi(PQgetvalue(r, 0, 5));
    snprintf(job->worker, sizeof job->worker, "%s", worker_id);
    PQclear(r);
    if (!job->kind || !job->payload) {
        /* Out of memory after the claim committed: the lease will expire and
           another claim will reap the attempt. */
        cl_job_clear(job);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 1;
}

/* Run a fenced statement whose $1 is the id and $2 the attempt; 0, CL_JOB_LOST or -1. */
static int fenced(PGconn *conn, const char *sql, int n, const char *const *p, char *err,
                  size_t errlen, PGresult **keep)
{
    PGresult *r = run(conn, sql, n, p, err, errlen);
    if (!r)
        return -1;
    int rc = PQntuples(r) > 0 ? 0 : CL_JOB_LOST;
    if (rc == CL_JOB_LOST)
        snprintf(err, errlen, "attempt is no longer running (lease lost)");
    if (keep && rc == 0)
        *keep = r;
    else
        PQclear(r);
    return rc;
}

int cl_job_heartbeat(PGconn *conn, const cl_job *job, int lease_ms, char *err, size_t errlen)
{
    char id[24], att[16], lease[24];
    snprintf(id, sizeof id, "%" PRId64, job->id);
    snprintf(att, sizeof att, "%d", job->attempt);
    snprintf(lease, sizeof lease, "%d", lease_ms);
    const char *p[] = {id, att, lease};
    return fenced(conn,
                  "UPDATE jobs SET lease_until = now() + $3::bigint * interval '1 millisecond',"
                  " updated_at = now()"
                  " WHERE id = $1 AND attempts = $2 AND status = 'running' RETURNING id",
                  3, p, err, errlen, NULL);
}

int cl_job_progress(PGconn *conn, const cl_job *job, int64_t done, int64_t total, char *err,
                    size_t errlen)
{
    char id[24], att[16], d[24], t[24];
    snprintf(id, sizeof id, "%" PRId64, job->id);
    snprintf(att, sizeof att, "%d", job->attempt);
    const char *p[] = {id, att, cl_db_id(d, done), cl_db_id(t, total)};
    return fenced(conn,
                  "UPDATE jobs SET progress_done = $3, progress_total = $4, updated_at = now()"
                  " WHERE id = $1 AND attempts = $2 AND status = 'running' RETURNING id",
                  4, p, err, errlen, NULL);
}

int cl_job_complete(PGconn *conn, const cl_job *job, const char *result_json, char *err,
                    size_t errlen)
{
    char id[24], att[16];
    snprintf(id, sizeof id, "%" PRId64, job->id);
    snprintf(att, sizeof att, "%d", job->attempt);
    const char *p[] = {id, att, result_json && *result_json ? result_json : "null"};
    return fenced(conn,
                  "WITH upd AS ("
                  "  UPDATE jobs SET status = 'completed', result = $3::jsonb, lease_until = NULL,"
                  "    finished_at = now(), updated_at = now()"
                  "  WHERE id = $1 AND attempts = $2 AND status = 'running'"
                  "  RETURNING id, attempts, locked_by)"
                  " INSERT INTO job_events (job_id, attempt, event, worker)"
                  " SELECT id, attempts, 'completed', locked_by FROM upd RETURNING job_id",
                  3, p, err, errlen, NULL);
}

int cl_job_fail(PGconn *conn, const cl_job *job, const char *error_msg, int retryable,
                const char **status_out, char *err, size_t errlen)
{
    char id[24], att[16], backoff[24];
    snprintf(id, sizeof id, "%" PRId64, job->id);
    snprintf(att, sizeof att, "%d", job->attempt);
    snprintf(backoff, sizeof backoff, "%" PRId64,
             cl_job_backoff_ms(cl_cfg.job_backoff_ms, job->attempt));
    const char *p[] = {id, att, error_msg && *error_msg ? error_msg : "failed",
                       retryable ? "t" : "f", backoff};
    PGresult *r = NULL;
    int rc = fenced(conn,
                    "WITH upd AS ("
                    "  UPDATE jobs SET"
                    "    status = CASE WHEN NOT $4::bool THEN 'failed'"
                    "                  WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END,"
                    "    run_after = CASE WHEN $4::bool AND attempts < max_attempts"
                    "                 THEN now() + $5::bigint * interval '1 millisecond' ELSE run_after END,"
                    "    finished_at = CASE WHEN $4::bool AND attempts < max_attempts THEN NULL"
                    "                  ELSE now() END,"
                    "    last_error = $3, lease_until = NULL, updated_at = now()"
                    "  WHERE id = $1 AND attempts = $2 AND status = 'running'"
                    "  RETURNING id, attempts, status, run_after, locked_by)"
                    " INSERT INTO job_events (job_id, attempt, event, worker, detail, run_after)"
                    " SELECT id, attempts, CASE status WHEN 'pending' THEN 'retry_scheduled' ELSE status END,"
                    "   locked_by, $3, CASE WHEN status = 'pending' THEN run_after END FROM upd"
                    " RETURNING event",
                    5, p, err, errlen, &r);
    if (rc == 0) {
        const char *ev = PQgetvalue(r, 0, 0);
        if (status_out)
            *status_out = strcmp(ev, "retry_scheduled") == 0 ? "pending"
                          : strcmp(ev, "dead") == 0          ? "dead"
                                                             : "failed";
        PQclear(r);
    }
    return rc;
}

int64_t cl_job_next_due_ms(PGconn *conn, int64_t cap_ms, char *err, size_t errlen)
{
    PGresult *r = run(conn,
                      "SELECT ceil(extract(epoch FROM least("
                      "  (SELECT min(run_after) FROM jobs WHERE status = 'pending'),"
                      "  (SELECT min(lease_until) FROM jobs WHERE status = 'running')) - clock_timestamp())"
                      " * 1000)::bigint",
                      0, NULL, err, errlen);
    if (!r)
        return -1;
    int64_t ms = PQgetisnull(r, 0, 0) ? cap_ms : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (ms < 0)
        ms = 0;
    return ms < cap_ms ? ms : cap_ms;
}

/* ------------------------------------------------------------------------- */
/* Registry of kinds                                                         */
/* ------------------------------------------------------------------------- */

#define MAX_KINDS 64

static struct {
    const char *kind;
    cl_job_handler fn;
} kinds[MAX_KINDS];
static int nkinds;

int cl_job_register(const char *kind, cl_job_handler handler)
{
    if (!kind || !*kind || !handler || nkinds == MAX_KINDS || cl_job_find_handler(kind))
        return -1;
    kinds[nkinds].kind = kind;
    kinds[nkinds].fn = handler;
    nkinds++;
    return 0;
}

cl_job_handler cl_job_find_handler(const char *kind)
{
    for (int i = 0; i < nkinds; i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return kinds[i].fn;
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* Dead letters                                                              */
/* ------------------------------------------------------------------------- */

static struct {
    const char *kind;
    cl_job_dead_letter_fn fn;
} dead_kinds[MAX_KINDS];
static int ndead;

int cl_job_register_dead_letter(const char *kind, cl_job_dead_letter_fn fn)
{
    if (!kind || !*kind || !fn || ndead == MAX_KINDS)
        return -1;
    for (int i = 0; i < ndead; i++)
        if (strcmp(dead_kinds[i].kind, kind) == 0)
            return -1;
    dead_kinds[ndead].kind = kind;
    dead_kinds[ndead].fn = fn;
    ndead++;
    return 0;
}

/* The advisory lock class of a dead-letter run (second key: the job id). */
#define DEAD_LETTER_LOCK_CLASS "16017"

int cl_job_dead_letter_sweep(PGconn *conn, int limit, char *err, size_t errlen)
{
    if (ndead == 0)
        return 0;
    /* {kind1,kind2,...}: kinds are literals of letters, digits, '.' and '_'. */
    char kinds[1024] = "{";
    for (int i = 0; i < ndead; i++) {
        size_t n = strlen(kinds);
        snprintf(kinds + n, sizeof kinds - n, "%s\"%s\"", i ? "," : "", dead_kinds[i].kind);
    }
    size_t n = strlen(kinds);
    snprintf(kinds + n, sizeof kinds - n, "}");
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit > 0 ? limit : 1);
    PGresult *r = run(conn,
                      "SELECT id, kind, payload::text, attempts, max_attempts, coalesce(last_error, '') FROM jobs"
                      " WHERE status IN ('failed', 'dead') AND dead_lettered_at IS NULL AND kind = ANY($1::text[])"
                      " ORDER BY id LIMIT $2::int",
                      2, (const char *[]){kinds, lim}, err, errlen);
    if (!r)
        return -1;
    int handled = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *id = PQgetvalue(r, i, 0);
        PGresult *l = run(conn,
                          "SELECT pg_try_advisory_lock(" DEAD_LETTER_LOCK_CLASS ", ($1::bigint % 2147483647)::int),"
                          "       (SELECT dead_lettered_at IS NULL FROM jobs WHERE id = $1::bigint)",
                          1, (const char *[]){id}, err, errlen);
        if (!l)
            break;
        int locked = !strcmp(PQgetvalue(l, 0, 0), "t");
        /* The job may have been handled between the list and the lock. */
        int mine = locked && !strcmp(PQgetvalue(l, 0, 1), "t");
        PQclear(l);
        if (mine) {
            cl_job job = {.id = strtoll(id, NULL, 10),
                          .kind = PQgetvalue(r, i, 1),
                          .payload = PQgetvalue(r, i, 2),
                          .attempt = atoi(PQgetvalue(r, i, 3)),
                          .max_attempts = atoi(PQgetvalue(r, i, 4))};
            cl_job_dead_letter_fn fn = NULL;
            for (int k = 0; k < ndead && !fn; k++)
                if (strcmp(dead_kinds[k].kind, job.kind) == 0)
                    fn = dead_kinds[k].fn;
            char herr[512] = "";
            if (fn && fn(conn, &job, PQgetvalue(r, i, 5), herr, sizeof herr) == 0) {
                PGresult *u = run(conn, "UPDATE jobs SET dead_lettered_at = now() WHERE id = $1::bigint", 1,
                                  (const char *[]){id}, err, errlen);
                if (u)
                    handled++;
                PQclear(u);
            } else if (fn) {
                cl_warn("jobs", "dead-letter handler of job %s kind=%s failed (will retry): %s", id, job.kind,
                        herr[0] ? herr : "no reason given");
            }
        }
        if (locked) {
            char uerr[256];
            PGresult *u = run(conn,
                              "SELECT pg_advisory_unlock(" DEAD_LETTER_LOCK_CLASS ", ($1::bigint % 2147483647)::int)",
                              1, (const char *[]){id}, uerr, sizeof uerr);
            PQclear(u);
        }
    }
    PQclear(r);
    return handled;
}

void cl_job_registry_reset(void)
{
    nkinds = 0;
    ndead = 0;
}

void cl_job_report_progress(cl_call *call, int64_t done, int64_t total)
{
    if (call && call->on_progress)
        call->on_progress(call->progress_arg, done, total);
}
