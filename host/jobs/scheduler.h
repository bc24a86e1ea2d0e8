/*
 * scheduler.h — periodic tasks inside every worker process (no cron, no
 * extra daemon). One thread per worker calls each registered task every
 * `interval_ms` (at least CLIPLOOP_SCHEDULER_TICK_MS apart) with its own
 * database connection.
 *
 * Several workers (on this machine or others sharing the database) run the
 * same tasks at the same time: a task must be safe under that — claim rows
 * with FOR UPDATE SKIP LOCKED, key what it creates (job idempotency keys),
 * or take an advisory lock (pg_try_advisory_xact_lock) for work that must
 * not overlap. The scheduler itself guarantees nothing across workers.
 *
 * To add a periodic task (token refresh, nightly rollups, …): write a
 * cl_periodic_fn and call cl_scheduler_add from the worker's
 * register_kinds() (host/jobs/worker.c), before the worker starts.
 */
#ifndef CL_JOBS_SCHEDULER_H
#define CL_JOBS_SCHEDULER_H

#include <libpq-fe.h>
#include <stddef.h>

/**
 * One run of a task. c is the scheduler's connection (idle; do not keep
 * it). Returns how many things it did (logged when > 0), or -1 with err
 * set (logged; the task runs again at its next time).
 */
typedef int (*cl_periodic_fn)(PGconn *c, char *err, size_t errlen);

/** Register a task (name is borrowed: pass a literal). 0, or -1 when the table is full. */
int cl_scheduler_add(const char *name, int interval_ms, cl_periodic_fn fn);
/** Forget every task (tests). */
void cl_scheduler_reset(void);

/** Start the scheduler thread (worker). 0 or -1. */
int cl_scheduler_start(const char *conninfo);
/** Stop and join it (worker shutdown). Safe when not started. */
void cl_scheduler_stop(void);

#endif
