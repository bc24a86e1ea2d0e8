/*
 * test_jobs.c — the job queue's SQL against a real Postgres: idempotent
 * enqueue, claiming, fencing of a worker that lost its lease, retry/backoff/
 * dead, lease reaping, and exclusive claims under concurrency.
 *
 * Needs CLIPLOOP_PG_ADMIN_URL (scripts/test sets it): the test creates its
 * own database through it and drops it at the end. Without it the test fails.
 */
#include "core/config.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "test_util.h"
#include "unit.h"
#include "unit_db.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char db_url[2048];

static PGconn *connect_or_die(const char *url)
{
    char err[512];
    PGconn *c = cl_db_connect(url, err, sizeof err);
    if (!c)
        fprintf(stderr, "cannot connect: %s\n", err);
    return c;
}

/* First column of the first row as a malloc'd string ("" if none). */
static char *scalar(PGconn *c, const char *sql, const char *arg)
{
    const char *p[] = {arg};
    PGresult *r = cl_db_query(c, sql, arg ? 1 : 0, arg ? p : NULL);
    char *v = strdup(cl_db_ok(r) && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
    if (!cl_db_ok(r))
        fprintf(stderr, "query failed: %s", PQerrorMessage(c));
    PQclear(r);
    return v;
}

#define CHECK_SCALAR(c, sql, arg, want)                                                            \
    do {                                                                                           \
        char *v_ = scalar(c, sql, arg);                                                            \
        CHECK_STR(v_, want);                                                                       \
        free(v_);                                                                                  \
    } while (0)

static void test_backoff(void)
{
    CHECK(cl_job_backoff_ms(200, 1) == 200);
    CHECK(cl_job_backoff_ms(200, 2) == 400);
    CHECK(cl_job_backoff_ms(200, 3) == 800);
    CHECK(cl_job_backoff_ms(2000, 40) == CL_JOB_BACKOFF_CAP_MS);
    CHECK(cl_job_backoff_ms(0, 3) == 0);
}

static int noop_handler(const cl_job *j, cl_call *c, cl_buf *r, char *e, size_t n) { return 0; }

static void test_registry(void)
{
    cl_job_registry_reset();
    CHECK(cl_jobs_register_builtin() == 0);
    CHECK(cl_job_find_handler("system.echo") != NULL);
    CHECK(cl_job_find_handler("system.sleep") != NULL);
    CHECK(cl_job_find_handler("nope") == NULL);
    CHECK(cl_job_register("system.echo", noop_handler) == -1); /* duplicate */
    CHECK(cl_job_register("test.noop", noop_handler) == 0);
    CHECK(cl_job_find_handler("test.noop") == noop_handler);
    cl_job_registry_reset();
    CHECK(cl_job_find_handler("system.echo") == NULL);
}

static void test_enqueue(PGconn *c)
{
    char err[512];
    int64_t id = 0, id2 = 0;
    int created = -1;
    CHECK(cl_job_enqueue(c, "system.echo", "{bad", NULL, 0, &id, &created, err, sizeof err) == -1);
    CHECK(strstr(err, "JSON") != NULL);
    CHECK(cl_job_enqueue(c, "", "{}", NULL, 0, &id, &created, err, sizeof err) == -1);
    CHECK(cl_job_enqueue(c, "t.idem", "{\"n\":1}", "key-1", 0, &id, &created, err, sizeof err) == 0);
    CHECK(created == 1 && id > 0);
    CHECK(cl_job_enqueue(c, "t.idem", "{\"n\":2}", "key-1", 0, &id2, &created, err, sizeof err) == 0);
    CHECK(created == 0 && id2 == id);
    CHECK_SCALAR(c, "SELECT count(*) FROM jobs WHERE idempotency_key = $1", "key-1", "1");
    CHECK_SCALAR(c, "SELECT payload->>'n' FROM jobs WHERE idempotency_key = $1", "key-1", "1");
    /* 0 max_attempts takes the configured default */
    CHECK_SCALAR(c, "SELECT max_attempts FROM jobs WHERE idempotency_key = $1", "key-1", "5");
    CHECK_SCALAR(c, "DELETE FROM jobs RETURNING 'x'", NULL, "x");
}

/* The heart of it: a worker that lost its lease can write nothing. */
static void test_fencing(PGconn *c)
{
    char err[512], idbuf[24];
    int64_t id;
    CHECK(cl_job_enqueue(c, "t.fence", "{}", NULL, 3, &id, NULL, err, sizeof err) == 0);
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);

    cl_job a, b, none;
    CHECK(cl_job_claim(c, "worker-a", 60000, &a, err, sizeof err) == 1);
    CHECK(a.id == id && a.attempt == 1 && a.max_attempts == 3);
    CHECK_STR(a.kind, "t.fence");
    CHECK_STR(a.payload, "{}");
    CHECK(a.idempotency_key == NULL);
    CHECK(cl_job_claim(c, "worker-b", 60000, &none, err, sizeof err) == 0); /* leased: not claimable */
    CHECK(cl_job_heartbeat(c, &a, 60000, err, sizeof err) == 0);
    CHECK(cl_job_progress(c, &a, 3, 10, err, sizeof err) == 0);
    CHECK_SCALAR(c, "SELECT progress_done || '/' || progress_total FROM jobs WHERE id = $1", idbuf, "3/10");

    /* worker-a stalls past its lease; worker-b reaps and claims attempt 2 */
    CHECK_SCALAR(c, "UPDATE jobs SET lease_until = now() - interval '1 second' WHERE id = $1 RETURNING 'x'",
                 idbuf, "x");
    CHECK(cl_job_claim(c, "worker-b", 60000, &b, err, sizeof err) == 1);
    CHECK(b.id == id && b.attempt == 2);
    CHECK_SCALAR(c, "SELECT worker FROM job_events WHERE job_id = $1 AND event = 'lease_expired'", idbuf,
                 "worker-a");

    /* every write by worker-a is refused and changes nothing */
    CHECK(cl_job_complete(c, &a, "{\"by\":\"a\"}", err, sizeof err) == CL_JOB_LOST);
    CHECK(cl_job_fail(c, &a, "late failure", 1, NULL, err, sizeof err) == CL_JOB_LOST);
    CHECK(cl_job_heartbeat(c, &a, 60000, err, sizeof err) == CL_JOB_LOST);
    CHECK(cl_job_progress(c, &a, 9, 10, err, sizeof err) == CL_JOB_LOST);
    CHECK_SCALAR(c, "SELECT status || ' ' || attempts || ' ' || locked_by FROM jobs WHERE id = $1", idbuf,
                 "running 2 worker-b");

    CHECK(cl_job_complete(c, &b, "{\"by\":\"b\"}", err, sizeof err) == 0);
    CHECK(cl_job_complete(c, &b, "{\"by\":\"b\"}", err, sizeof err) == CL_JOB_LOST); /* only once */
    CHECK_SCALAR(c, "SELECT status || ' ' || (result->>'by') FROM jobs WHERE id = $1", idbuf, "completed b");
    CHECK_SCALAR(c, "SELECT count(*) FROM job_events WHERE job_id = $1 AND event = 'completed'", idbuf, "1");
    CHECK_SCALAR(c, "SELECT string_agg(event || ':' || attempt, ',' ORDER BY id) FROM job_events WHERE job_id = $1",
                 idbuf, "enqueued:0,claimed:1,lease_expired:1,claimed:2,completed:2");
    cl_job_clear(&a);
    cl_job_clear(&b);
}

static void test_retry_dead_failed(PGconn *c)
{
    char err[512], idbuf[24];
    int64_t id;
    const char *status = NULL;
    cl_job j;

    /* retryable below max -> pending after the backoff; at max -> dead */
    cl_cfg.job_backoff_ms = 60000;
    CHECK(cl_job_enqueue(c, "t.retry", "{}", NULL, 2, &id, NULL, err, sizeof err) == 0);
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
    CHECK(cl_job_claim(c, "w", 60000, &j, err, sizeof err) == 1);
    CHECK(cl_job_fail(c, &j, "boom 1", 1, &status, err, sizeof err) == 0);
    CHECK_STR(status, "pending");
    cl_job_clear(&j);
    CHECK_SCALAR(c,
                 "SELECT status || ' ' || (run_after > now() + interval '59 seconds') || ' ' || last_error"
                 " FROM jobs WHERE id = $1",
                 idbuf, "pending true boom 1");
    CHECK(cl_job_claim(c, "w", 60000, &j, err, sizeof err) == 0); /* not due yet */
    CHECK_SCALAR(c, "UPDATE jobs SET run_after = now() WHERE id = $1 RETURNING 'x'", idbuf, "x");
    CHECK(cl_job_claim(c, "w", 60000, &j, err, sizeof err) == 1);
    CHECK(j.attempt == 2);
    CHECK(cl_job_fail(c, &j, "boom 2", 1, &status, err, sizeof err) == 0);
    CHECK_STR(status, "dead");
    cl_job_clear(&j);
    CHECK_SCALAR(c, "SELECT status || ' ' || (finished_at IS NOT NULL) FROM jobs WHERE id = $1", idbuf,
                 "dead true");
    CHECK_SCALAR(c, "SELECT string_agg(event, ',' ORDER BY id) FROM job_events WHERE job_id = $1", idbuf,
                 "enqueued,claimed,retry_scheduled,claimed,dead");

    /* permanent failure -> failed on the first attempt */
    CHECK(cl_job_enqueue(c, "t.perm", "{}", NULL, 5, &id, NULL, err, sizeof err) == 0);
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
    CHECK(cl_job_claim(c, "w", 60000, &j, err, sizeof err) == 1);
    CHECK(cl_job_fail(c, &j, "bad input", 0, &status, err, sizeof err) == 0);
    CHECK_STR(status, "failed");
    cl_job_clear(&j);
    CHECK_SCALAR(c, "SELECT status || ' ' || attempts FROM jobs WHERE id = $1", idbuf, "failed 1");

    /* a lease that expires on the last attempt makes the job dead, not claimable */
    CHECK(cl_job_enqueue(c, "t.lastlease", "{}", NULL, 1, &id, NULL, err, sizeof err) == 0);
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
    CHECK(cl_job_claim(c, "w-dies", 60000, &j, err, sizeof err) == 1);
    cl_job_clear(&j);
    CHECK_SCALAR(c, "UPDATE jobs SET lease_until = now() - interval '1 second' WHERE id = $1 RETURNING 'x'",
                 idbuf, "x");
    CHECK(cl_job_claim(c, "w2", 60000, &j, err, sizeof err) == 0);
    CHECK_SCALAR(c, "SELECT status FROM jobs WHERE id = $1", idbuf, "dead");
    CHECK_SCALAR(c, "SELECT string_agg(event, ',' ORDER BY id) FROM job_events WHERE job_id = $1", idbuf,
                 "enqueued,claimed,lease_expired,dead");
    cl_cfg.job_backoff_ms = 200;
}

/* Several claimers at once: every job is claimed and completed exactly once. */
#define RACE_JOBS 60
#define RACE_THREADS 4

static void *race_worker(void *arg)
{
    int *claimed = arg;
    PGconn *c = connect_or_die(db_url);
    if (!c)
        return NULL;
    char name[32], err[512];
    snprintf(name, sizeof name, "racer-%p", arg);
    cl_job j;
    int rc;
    while ((rc = cl_job_claim(c, name, 60000, &j, err, sizeof err)) == 1) {
        if (cl_job_complete(c, &j, "true", err, sizeof err) == 0)
            (*claimed)++;
        cl_job_clear(&j);
    }
    if (rc < 0)
        fprintf(stderr, "claim failed: %s\n", err);
    PQfinish(c);
    return NULL;
}

/* Every thread enqueues with the same idempotency key: all get the one id. */
static void *same_key_enqueuer(void *arg)
{
    int64_t *id = arg;
    PGconn *c = connect_or_die(db_url);
    if (!c)
        return NULL;
    char err[512];
    if (cl_job_enqueue(c, "t.samekey", "{}", "same-key", 0, id, NULL, err, sizeof err))
        fprintf(stderr, "enqueue: %s\n", err);
    PQfinish(c);
    return NULL;
}

static void test_concurrent_claims(PGconn *c)
{
    char err[512];
    CHECK(cl_db_exec(c, "DELETE FROM jobs", 0, NULL, err, sizeof err) == 0);
    for (int i = 0; i < RACE_JOBS; i++) {
        int64_t id;
        if (cl_job_enqueue(c, "t.race", "{}", NULL, 0, &id, NULL, err, sizeof err))
            fprintf(stderr, "enqueue: %s\n", err);
    }
    pthread_t t[RACE_THREADS];
    int claimed[RACE_THREADS] = {0};
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_create(&t[i], NULL, race_worker, &claimed[i]);
    int total = 0;
    for (int i = 0; i < RACE_THREADS; i++) {
        pthread_join(t[i], NULL);
        total += claimed[i];
    }
    if (total != RACE_JOBS)
        fprintf(stderr, "completed by the racers: %d\n", total);
    CHECK(total == RACE_JOBS);
    CHECK_SCALAR(c, "SELECT count(*) FROM jobs WHERE kind = 't.race' AND status = 'completed' AND attempts = 1",
                 NULL, "60");
    CHECK_SCALAR(c,
                 "SELECT count(*) FROM job_events e JOIN jobs j ON j.id = e.job_id"
                 " WHERE j.kind = 't.race' AND e.event = 'claimed'",
                 NULL, "60");

    int64_t ids[RACE_THREADS] = {0};
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_create(&t[i], NULL, same_key_enqueuer, &ids[i]);
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 1; i < RACE_THREADS; i++)
        CHECK(ids[i] > 0 && ids[i] == ids[0]);
    CHECK_SCALAR(c, "SELECT count(*) FROM jobs WHERE idempotency_key = 'same-key'", NULL, "1");
}

int main(void)
{
    test_backoff();
    test_registry();

    cl_cfg.job_max_attempts = 5;
    cl_cfg.job_backoff_ms = 200;
    unit_db d;
    if (unit_db_open(&d, "unit_jobs") != 0)
        return 1;
    snprintf(db_url, sizeof db_url, "%s", d.url);
    CHECK(d.c != NULL && d.migrated);
    if (d.c) {
        test_enqueue(d.c);
        test_fencing(d.c);
        test_retry_dead_failed(d.c);
        test_concurrent_claims(d.c);
    }
    unit_db_close(&d);
    return unit_done("test_jobs");
}
