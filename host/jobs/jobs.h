/*
 * jobs.h — the durable job queue in Postgres (table `jobs`, audit trail
 * `job_events`; see migrations/0001_jobs.sql and docs/jobs.md).
 *
 * Life of a job: enqueue -> pending; a worker claims it (running, attempts+1,
 * a lease); the worker heartbeats to extend the lease, then completes or
 * fails it. A failure that is retryable and below max_attempts goes back to
 * pending with an exponential backoff; a retryable failure at max_attempts is
 * dead; a permanent failure is failed. A worker that dies stops
 * heartbeating: once the lease expires another worker's claim reaps the job
 * (back to pending, or dead when it already used every attempt).
 *
 * Fencing: every write by a worker names the job id and the attempt number it
 * claimed and requires status 'running'. A worker whose lease expired and
 * whose job was claimed again cannot complete, fail, heartbeat or report
 * progress for it: those calls return CL_JOB_LOST and change nothing.
 *
 * Every function takes a caller-owned PGconn (not shared between threads
 * while a call runs) and an err buffer the caller owns; each transition and
 * its job_events row commit together (one statement).
 */
#ifndef CL_JOBS_JOBS_H
#define CL_JOBS_JOBS_H

#include "core/buf.h"
#include "plugins/call.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/** The NOTIFY channel enqueue signals; idle workers LISTEN on it. */
#define CL_JOBS_CHANNEL "cliploop_jobs"

/** Returned by the fenced calls when the attempt is no longer ours. */
#define CL_JOB_LOST 1

/** Longest retry delay, whatever the attempt number (1 hour). */
#define CL_JOB_BACKOFF_CAP_MS 3600000LL

/**
 * One claimed attempt. Filled by cl_job_claim; the strings are malloc'd and
 * owned by the struct: release them with cl_job_clear.
 */
typedef struct cl_job {
    int64_t id;
    char *kind;            /**< never NULL once claimed */
    char *payload;         /**< JSON text, never NULL once claimed */
    char *idempotency_key; /**< NULL when the job has none */
    int attempt;           /**< 1-based; the fencing token for this attempt */
    int max_attempts;
    char worker[128];      /**< the worker id that claimed it */
} cl_job;

/** Free the strings of a claimed job and zero it (safe on a zeroed job). */
void cl_job_clear(cl_job *job);

/**
 * Add a job. payload_json must be valid JSON text (NULL means {}).
 * idempotency_key may be NULL; when a job with the same key exists, nothing
 * is inserted and its id is returned with *created_out = 0. max_attempts <= 0
 * uses cl_cfg.job_max_attempts. A new job NOTIFYs CL_JOBS_CHANNEL.
 * Returns 0, or -1 with err filled (invalid JSON, database error).
 * created_out may be NULL.
 */
int cl_job_enqueue(PGconn *conn, const char *kind, const char *payload_json,
                   const char *idempotency_key, int max_attempts, int64_t *id_out,
                   int *created_out, char *err, size_t errlen);

/**
 * Set the claim priority of a job (higher first, default 0; free work uses
 * CL_JOB_PRIORITY_FREE so it never delays paid work). Use inside the
 * transaction that enqueued it. 0 or -1 (err set).
 */
#define CL_JOB_PRIORITY_FREE (-1)
int cl_job_set_priority(PGconn *conn, int64_t id, int priority, char *err, size_t errlen);

/**
 * Reap running jobs whose lease expired (their worker died or hung): each
 * gets a 'lease_expired' event and goes back to pending, or to dead (with a
 * 'dead' event) when it already used max_attempts. Called by cl_job_claim;
 * exposed for tests. Returns the number of jobs reaped, or -1 (err set).
 */
int cl_job_reap_expired(PGconn *conn, char *err, size_t errlen);

/**
 * Reap expired leases, then claim the oldest due pending job for worker_id
 * (FOR UPDATE SKIP LOCKED, so concurrent claimers never get the same job):
 * status running, attempts+1, lease_until = now + lease_ms, a 'claimed'
 * event. Returns 1 with *job filled (free with cl_job_clear), 0 when nothing
 * is due, -1 on error (err set).
 */
int cl_job_claim(PGconn *conn, const char *worker_id, int lease_ms, cl_job *job, char *err,
                 size_t errlen);

/**
 * Extend the lease of this attempt to now + lease_ms. Returns 0,
 * CL_JOB_LOST when the attempt is no longer running (the runner must cancel
 * the handler and write nothing more), or -1 on a database error.
 */
int cl_job_heartbeat(PGconn *conn, const cl_job *job, int lease_ms, char *err, size_t errlen);

/** Record progress (done of total). 0, CL_JOB_LOST or -1, as for heartbeat. */
int cl_job_progress(PGconn *conn, const cl_job *job, int64_t done, int64_t total, char *err,
                    size_t errlen);

/**
 * Complete this attempt with result_json (valid JSON text; NULL stores JSON
 * null) and write the 'completed' event. 0, CL_JOB_LOST (another attempt owns
 * the job now; nothing written) or -1.
 */
int cl_job_complete(PGconn *conn, const cl_job *job, const char *result_json, char *err,
                    size_t errlen);

/**
 * Fail this attempt with error_msg (stored as last_error). retryable and
 * attempt < max_attempts: back to pending with run_after = now + backoff
 * and a 'retry_scheduled' event; retryable at max_attempts: dead; not
 * retryable: failed. *status_out (may be NULL) receives the new status as a
 * static string. 0, CL_JOB_LOST or -1.
 */
int cl_job_fail(PGconn *conn, const cl_job *job, const char *error_msg, int retryable,
                const char **status_out, char *err, size_t errlen);

/**
 * The retry delay after failed attempt `attempt` (1-based):
 * base_ms * 2^(attempt-1), capped at CL_JOB_BACKOFF_CAP_MS.
 */
int64_t cl_job_backoff_ms(int64_t base_ms, int attempt);

/**
 * Milliseconds until the next pending job is due or the next lease expires,
 * clamped to [0, cap_ms] (cap_ms when there is neither). -1 on error.
 */
int64_t cl_job_next_due_ms(PGconn *conn, int64_t cap_ms, char *err, size_t errlen);

/* ------------------------------------------------------------------------- */
/* Job kinds                                                                 */
/* ------------------------------------------------------------------------- */

/**
 * A job handler runs one attempt on a worker thread. job and its strings are
 * borrowed for the call. It appends the result (valid JSON text; empty means
 * JSON null) to result_json, which the runner owns and frees. It polls
 * call->cancelled (set when the lease was lost or the worker shuts down)
 * and may report progress with cl_job_report_progress(call, ...).
 * Returns 0 on success, > 0 for a retryable failure, < 0 for a permanent
 * failure, with a message in err (never secrets, never the whole payload).
 */
typedef int (*cl_job_handler)(const cl_job *job, cl_call *call, cl_buf *result_json, char *err,
                              size_t errlen);

/**
 * Register the handler for kind (the string is borrowed: pass a literal).
 * Only before the runner threads start (the registry is not locked).
 * Returns 0, or -1 when the kind is already registered or the table is full.
 */
int cl_job_register(const char *kind, cl_job_handler handler);

/** The handler for kind, or NULL. */
cl_job_handler cl_job_find_handler(const char *kind);

/**
 * A dead-letter handler: called once a job of its kind ended `failed` or
 * `dead` — whether its own handler ran the last attempt or the reaper
 * declared it dead after its worker stopped heartbeating (then the
 * handler never ran). It must undo what the job charged and left without an
 * outcome (refund, move the item or chat job to a failed state the user can
 * retry from). It runs with a worker connection (idle, not in a
 * transaction; it may open its own), may run more than once for the same
 * job (a worker can die after it but before it is recorded), so it must be
 * idempotent. job->attempt is the attempts used. Returns 0 when done (the job
 * is marked dead_lettered_at), non-zero to try again on a later sweep.
 */
typedef int (*cl_job_dead_letter_fn)(PGconn *conn, const cl_job *job, const char *last_error, char *err,
                                     size_t errlen);

/** Register the dead-letter handler of kind (literal string; before the runners start). 0 or -1. */
int cl_job_register_dead_letter(const char *kind, cl_job_dead_letter_fn fn);

/**
 * Run the dead-letter handlers of up to `limit` final jobs (failed/dead,
 * dead_lettered_at NULL) of the registered kinds, each under a try-lock so
 * concurrent workers never run the same one at once; mark each done.
 * Called by the worker's runners; exposed for tests. Returns the number
 * handled, or -1 on a database error (err set).
 */
int cl_job_dead_letter_sweep(PGconn *conn, int limit, char *err, size_t errlen);

/** Forget every registration (tests). */
void cl_job_registry_reset(void);

/** Register the built-in diagnostic kinds "system.echo" and "system.sleep". */
int cl_jobs_register_builtin(void);

/** Report progress from a handler (calls the runner's sink if it set one). */
void cl_job_report_progress(cl_call *call, int64_t done, int64_t total);

#endif
