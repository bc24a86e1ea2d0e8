/*
 * worker.c — `cliploop worker`: claims jobs from Postgres and runs them.
 *
 * Threads, each with its own database connection:
 *   runners (CLIPLOOP_WORKER_CONCURRENCY)  claim -> run handler -> complete/fail
 *   heartbeat                               every lease/3 extends the lease of
 *                                           each running attempt; when the
 *                                           fence says the attempt was lost,
 *                                           cancels its handler
 *   listener                                LISTEN cliploop_jobs; wakes idle
 *                                           runners on NOTIFY
 *
 * An idle runner sleeps until woken, until the next retry or lease expiry
 * is due (asked from the database), or at most CLIPLOOP_JOB_POLL_MS.
 *   main                                    waits for SIGTERM/SIGINT
 *
 * Shutdown: on the first SIGTERM/SIGINT runners stop claiming; running jobs
 * get CLIPLOOP_SHUTDOWN_TIMEOUT_MS to finish, after which (or on a second
 * signal) their handlers are cancelled and the attempts failed retryably.
 * Exit status 0.
 *
 * Logs name the job id, kind and attempt, never the payload.
 */
#include "chat/chat.h"
#include "commands.h"
#include "core/config.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "db/db.h"
#include "content/content.h"
#include "cycles/cycles.h"
#include "jobs/jobs.h"
#include "jobs/scheduler.h"
#include "plugins/registry.h"
#include "projects/projects.h"
#include "publishing/publishing.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG "worker"
#define PROGRESS_INTERVAL_MS 250
#define IDLE_MIN_WAIT_MS 10

typedef struct runner {
    int index;
    pthread_t thread;
    int started;
    PGconn *conn;
    char worker_id[128];
    cl_job job; /* the attempt being run; only the runner writes it */
    cl_call call;
    /* Guarded by W.mu: what the heartbeat thread sees. */
    int active;
    int64_t active_id;
    int active_attempt;
    int lost;            /* the fence refused a heartbeat or progress write */
    int shutdown_cancel; /* cancelled because the worker is stopping */
    /* Progress rate limiting (runner thread only). */
    int64_t progress_at_ms;
} runner;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake;    /* idle runners wait here */
    pthread_cond_t hb_cv;   /* heartbeat thread sleeps here */
    uint64_t gen;           /* bumped on every wake-up, so no wake-up is lost */
    int stopping;           /* stop claiming */
    int hb_stop;            /* runners are gone: stop heartbeating */
    int nalive;             /* runner threads still running */
    runner *runners;
    int nrunners;
    int stop_pipe[2];       /* written once to wake the listener */
} W = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
       .hb_cv = PTHREAD_COND_INITIALIZER, .stop_pipe = {-1, -1}};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An absolute CLOCK_REALTIME deadline ms from now (pthread_cond_timedwait's clock). */
static struct timespec deadline_in(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void wake_runners(void)
{
    pthread_mutex_lock(&W.mu);
    W.gen++;
    pthread_cond_broadcast(&W.wake);
    pthread_mutex_unlock(&W.mu);
}

/* Reconnect a broken connection; a no-op while it is healthy. */
static void ensure_connected(PGconn *conn, const char *who)
{
    if (PQstatus(conn) == CONNECTION_OK)
        return;
    PQreset(conn);
    if (PQstatus(conn) == CONNECTION_OK) {
        PGresult *r = PQexec(conn, "SET TIME ZONE 'UTC'");
        PQclear(r);
        cl_info(LOG, "%s reconnected to the database", who);
    }
}

/* ------------------------------------------------------------------------- */
/* Running one attempt                                                       */
/* ------------------------------------------------------------------------- */

/* cl_call progress sink: runs on the runner thread inside the handler. */
static void on_progress(void *arg, int64_t done, int64_t total)
{
    runner *r = arg;
    int64_t now = mono_ms();
    if (now - r->progress_at_ms < PROGRESS_INTERVAL_MS && !(total > 0 && done >= total))
        return;
    r->progress_at_ms = now;
    char err[256];
    int rc = cl_job_progress(r->conn, &r->job, done, total, err, sizeof err);
    if (rc == CL_JOB_LOST) {
        pthread_mutex_lock(&W.mu);
        r->lost = 1;
        pthread_mutex_unlock(&W.mu);
        cl_call_cancel(&r->call);
    } else if (rc < 0) {
        cl_warn(LOG, "job %" PRId64 ": progress not recorded: %s", r->job.id, err);
    }
}

/* Write the outcome. While the database is unreachable (restarting), keep
   reconnecting and retrying with a growing pause for up to one lease: the
   outcome is kept instead of dropped, and a job whose handler finished is
   not run a second time once its lease expires. Past the lease the attempt
   belongs to the reaper anyway (the fence refuses a late write). */
static int write_outcome(runner *r, int ok, const char *result, const char *error_msg, int retryable,
                         const char **status, char *err, size_t errlen)
{
    int rc = -1;
    int64_t give_up = mono_ms() + cl_cfg.job_lease_ms;
    int64_t pause = 50;
    for (int tries = 0;; tries++) {
        if (tries)
            ensure_connected(r->conn, r->worker_id);
        cl_db_lost_reset();
        rc = ok ? cl_job_complete(r->conn, &r->job, result, err, errlen)
                : cl_job_fail(r->conn, &r->job, error_msg, retryable, status, err, errlen);
        if (rc >= 0 || (PQstatus(r->conn) == CONNECTION_OK && !cl_db_lost()) || mono_ms() >= give_up)
            break;
        if (tries == 0)
            cl_warn(LOG, "job %" PRId64 ": database unreachable (%s); retrying the outcome for up to %d ms",
                    r->job.id, err, cl_cfg.job_lease_ms);
        struct timespec ts = {.tv_sec = pause / 1000, .tv_nsec = (pause % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        pause = pause * 2 > 1000 ? 1000 : pause * 2;
    }
    return rc;
}

/* Log an outcome (what: "completion" or "failure") that write_outcome's w
   did not record: refused because the lease was lost, or an error (err). */
static void outcome_not_recorded(const cl_job *job, int w, const char *what, const char *err)
{
    if (w == CL_JOB_LOST)
        cl_warn(LOG, "job %" PRId64 " kind=%s attempt=%d: %s refused, the lease was lost", job->id, job->kind,
                job->attempt, what);
    else
        cl_error(LOG, "job %" PRId64 " kind=%s attempt=%d: cannot record %s: %s", job->id, job->kind,
                 job->attempt, what, err);
}

static void run_job(runner *r)
{
    const cl_job *job = &r->job;
    cl_call_init(&r->call, on_progress, r);
    r->progress_at_ms = 0;
    pthread_mutex_lock(&W.mu);
    r->active = 1;
    r->active_id = job->id;
    r->active_attempt = job->attempt;
    r->lost = r->shutdown_cancel = 0;
    pthread_mutex_unlock(&W.mu);

    cl_info(LOG, "claimed job %" PRId64 " kind=%s attempt=%d/%d", job->id, job->kind, job->attempt,
            job->max_attempts);
    int64_t t0 = mono_ms();
    cl_buf result = CL_BUF_INIT;
    char msg[1024] = "";
    int rc;
    cl_db_lost_reset();
    cl_job_handler fn = cl_job_find_handler(job->kind);
    if (!fn) {
        snprintf(msg, sizeof msg, "unknown job kind '%s': no handler is registered in this worker",
                 job->kind);
        rc = -1;
    } else {
        rc = fn(job, &r->call, &result, msg, sizeof msg);
        if (rc != 0 && !msg[0])
            snprintf(msg, sizeof msg, "handler failed (code %d)", rc);
    }
    if (rc == 0 && result.len > 0) {
        cJSON *check = cJSON_Parse(result.data);
        if (!check) {
            snprintf(msg, sizeof msg, "handler for '%s' returned a result that is not valid JSON",
                     job->kind);
            rc = -1;
        }
        cJSON_Delete(check);
    }

    pthread_mutex_lock(&W.mu);
    r->active = 0;
    int lost = r->lost, shutdown = r->shutdown_cancel;
    pthread_mutex_unlock(&W.mu);

    int64_t took = mono_ms() - t0;
    char err[512];
    if (lost) {
        cl_warn(LOG, "job %" PRId64 " kind=%s attempt=%d lost its lease; outcome discarded", job->id,
                job->kind, job->attempt);
    } else if (rc == 0) {
        int w = write_outcome(r, 1, result.data, NULL, 0, NULL, err, sizeof err);
        if (w == 0)
            cl_info(LOG, "completed job %" PRId64 " kind=%s attempt=%d in %" PRId64 " ms", job->id, job->kind,
                    job->attempt, took);
        else
            outcome_not_recorded(job, w, "completion", err);
    } else {
        /* A handler that failed because the database went away did not fail
           for its own reasons: another attempt runs once it is back. */
        int db_lost = rc < 0 && cl_db_lost();
        int retryable = rc > 0 || shutdown || db_lost;
        if (db_lost)
            cl_warn(LOG, "job %" PRId64 " kind=%s attempt=%d: the database went away during the attempt; "
                    "retrying", job->id, job->kind, job->attempt);
        if (shutdown)
            snprintf(msg, sizeof msg, "cancelled: the worker shut down before the job finished");
        const char *status = "?";
        int w = write_outcome(r, 0, NULL, msg, retryable, &status, err, sizeof err);
        if (w == 0)
            cl_info(LOG, "failed job %" PRId64 " kind=%s attempt=%d/%d -> %s: %s", job->id, job->kind,
                    job->attempt, job->max_attempts, status, msg);
        else
            outcome_not_recorded(job, w, "failure", err);
    }
    cl_buf_free(&result);
}

/* Dead-letter handlers of final jobs (see cl_job_dead_letter_sweep). */
static void sweep_dead_letters(runner *r)
{
    char err[512];
    int n = cl_job_dead_letter_sweep(r->conn, 10, err, sizeof err);
    if (n < 0)
        cl_warn(LOG, "%s: dead-letter sweep failed: %s", r->worker_id, err);
    else if (n > 0)
        cl_info(LOG, "%s: ran the dead-letter handlers of %d job(s)", r->worker_id, n);
}

/* Whether the worker is stopping; *gen (when gen is not NULL) gets the
   wake-up generation, read under the same lock. */
static int stopping(uint64_t *gen)
{
    pthread_mutex_lock(&W.mu);
    if (gen)
        *gen = W.gen;
    int stop = W.stopping;
    pthread_mutex_unlock(&W.mu);
    return stop;
}

static void *runner_main(void *arg)
{
    runner *r = arg;
    int64_t last_error_log = 0;
    for (;;) {
        uint64_t gen;
        if (stopping(&gen))
            break;

        char err[512];
        int rc = cl_job_claim(r->conn, r->worker_id, cl_cfg.job_lease_ms, &r->job, err, sizeof err);
        if (rc == 1) {
            run_job(r);
            cl_job_clear(&r->job);
            sweep_dead_letters(r);
            continue;
        }
        if (rc == 0)
            sweep_dead_letters(r); /* the claim may have reaped a job to dead */
        if (rc < 0) {
            if (mono_ms() - last_error_log > 10000) {
                cl_error(LOG, "%s: cannot claim: %s", r->worker_id, err);
                last_error_log = mono_ms();
            }
            ensure_connected(r->conn, r->worker_id);
        }
        /* Nothing claimable: sleep until a NOTIFY wakes us, the next retry
           or lease expiry is due, or the poll interval passes. */
        int64_t wait = cl_cfg.job_poll_ms;
        if (rc == 0) {
            int64_t due = cl_job_next_due_ms(r->conn, wait, err, sizeof err);
            if (due >= 0)
                wait = due < IDLE_MIN_WAIT_MS ? IDLE_MIN_WAIT_MS : due;
        }
        pthread_mutex_lock(&W.mu);
        if (!W.stopping && W.gen == gen) {
            struct timespec dl = deadline_in(wait);
            while (!W.stopping && W.gen == gen &&
                   pthread_cond_timedwait(&W.wake, &W.mu, &dl) != ETIMEDOUT) {
            }
        }
        pthread_mutex_unlock(&W.mu);
    }
    pthread_mutex_lock(&W.mu);
    W.nalive--;
    pthread_cond_broadcast(&W.hb_cv);
    pthread_mutex_unlock(&W.mu);
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* Heartbeat and listener                                                    */
/* ------------------------------------------------------------------------- */

static void *heartbeat_main(void *arg)
{
    PGconn *conn = arg;
    int interval = cl_cfg.job_lease_ms / 3;
    pthread_mutex_lock(&W.mu);
    while (!W.hb_stop) {
        struct timespec dl = deadline_in(interval);
        while (!W.hb_stop && pthread_cond_timedwait(&W.hb_cv, &W.mu, &dl) != ETIMEDOUT) {
        }
        if (W.hb_stop)
            break;
        for (int i = 0; i < W.nrunners; i++) {
            runner *r = &W.runners[i];
            if (!r->active || r->lost)
                continue;
            cl_job j = {.id = r->active_id, .attempt = r->active_attempt};
            pthread_mutex_unlock(&W.mu);
            char err[256];
            ensure_connected(conn, "heartbeat");
            int rc = cl_job_heartbeat(conn, &j, cl_cfg.job_lease_ms, err, sizeof err);
            pthread_mutex_lock(&W.mu);
            if (rc == CL_JOB_LOST && r->active && r->active_id == j.id &&
                r->active_attempt == j.attempt) {
                r->lost = 1;
                cl_call_cancel(&r->call);
                cl_warn(LOG, "job %" PRId64 " attempt=%d: lease lost, cancelling", j.id, j.attempt);
            } else if (rc < 0) {
                cl_warn(LOG, "job %" PRId64 ": heartbeat failed: %s", j.id, err);
            }
        }
    }
    pthread_mutex_unlock(&W.mu);
    return NULL;
}

static void *listener_main(void *arg)
{
    PGconn *conn = arg;
    int listening = 0;
    while (!stopping(NULL)) {
        if (!listening) {
            char err[256];
            ensure_connected(conn, "listener");
            listening = cl_db_exec(conn, "LISTEN " CL_JOBS_CHANNEL, 0, NULL, err, sizeof err) == 0;
        }
        /* Runners time their own sleeps (poll interval, next retry); this
           thread only turns a NOTIFY into an immediate wake-up. */
        struct pollfd fds[2] = {{.fd = W.stop_pipe[0], .events = POLLIN},
                                {.fd = listening ? PQsocket(conn) : -1, .events = POLLIN}};
        int n = poll(fds, 2, cl_cfg.job_poll_ms);
        if (n < 0 && errno != EINTR)
            break;
        if (fds[0].revents)
            break;
        if (!listening || !fds[1].revents)
            continue;
        if (!PQconsumeInput(conn)) {
            listening = 0; /* reconnect on the next round; runners poll meanwhile */
            continue;
        }
        int notified = 0;
        PGnotify *nt;
        while ((nt = PQnotifies(conn))) {
            notified = 1;
            PQfreemem(nt);
        }
        if (notified)
            wake_runners();
    }
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* The command                                                               */
/* ------------------------------------------------------------------------- */

/* Cancel every running handler because the worker is stopping. */
static void cancel_all(void)
{
    pthread_mutex_lock(&W.mu);
    for (int i = 0; i < W.nrunners; i++)
        if (W.runners[i].active) {
            W.runners[i].shutdown_cancel = 1;
            cl_call_cancel(&W.runners[i].call);
        }
    pthread_mutex_unlock(&W.mu);
}

static int alive_runners(void)
{
    pthread_mutex_lock(&W.mu);
    int n = W.nalive;
    pthread_mutex_unlock(&W.mu);
    return n;
}

static void register_kinds(void)
{
    /* Capabilities add their job kinds here (see docs/jobs.md). */
    cl_jobs_register_builtin();
    cl_content_register_jobs();
    cl_job_register(CL_JOB_INGEST_WEBSITE, cl_projects_ingest_job);
    cl_chat_register_jobs();
    cl_cycles_register_jobs();
    cl_publishing_register_jobs();

    /* Periodic tasks of the scheduler thread (see jobs/scheduler.h). */
    cl_scheduler_reset();
    cl_scheduler_add("publish.due", cl_cfg.scheduler_tick_ms, cl_cycles_due_task);
    cl_scheduler_add("publish.stuck", cl_cfg.scheduler_tick_ms * 4, cl_publishing_stuck_task);
    cl_scheduler_add("publishing.refresh_tokens", 3600000, cl_publishing_refresh_task);
    cl_scheduler_add("rollup.nightly", cl_cfg.rollup_interval_ms, cl_rollup_nightly_task);
    cl_scheduler_add("insights.refresh", cl_cfg.rollup_interval_ms, cl_insights_task);
}

/* The start-up checks: configuration, a migrated database, the plugins, the
   job kinds. 0, or the exit status (1 environment, 2 configuration). */
static int worker_prepare(void)
{
    char err[1024];
    if (!cl_cfg.database_url[0]) {
        cl_error(LOG, "DATABASE_URL is not set");
        return 2;
    }
    if (cl_db_check_ready(cl_cfg.database_url, cl_cfg.migrations_dir, err, sizeof err) != 0) {
        cl_error(LOG, "%s", err);
        return 1;
    }
    if (cl_plugins_load_configured(LOG, err, sizeof err) != 0) {
        cl_error(LOG, "%s", err);
        return 2;
    }
    cl_job_registry_reset();
    register_kinds();
    return 0;
}

/* The threads' own connections, one per runner plus the heartbeat's and
   the listener's. 0, or -1 (logged); what was opened is closed by
   worker_close. */
static int worker_connect(const char *host, PGconn **hb_conn, PGconn **listen_conn)
{
    char err[1024];
    int n = cl_cfg.worker_concurrency;
    W.runners = calloc((size_t)n, sizeof *W.runners);
    W.nrunners = n;
    if (!W.runners || pipe(W.stop_pipe) != 0) {
        cl_error(LOG, "out of resources");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        runner *r = &W.runners[i];
        r->index = i;
        snprintf(r->worker_id, sizeof r->worker_id, "%s:%d:%d", host, (int)getpid(), i);
        r->conn = cl_db_connect(cl_cfg.database_url, err, sizeof err);
        if (!r->conn) {
            cl_error(LOG, "cannot connect to the database: %s", err);
            return -1;
        }
    }
    if (!(*hb_conn = cl_db_connect(cl_cfg.database_url, err, sizeof err)) ||
        !(*listen_conn = cl_db_connect(cl_cfg.database_url, err, sizeof err))) {
        cl_error(LOG, "cannot connect to the database: %s", err);
        return -1;
    }
    return 0;
}

/* The threads a running worker has; started says which to join. */
typedef struct worker_threads {
    pthread_t hb, listen;
    int hb_started, listen_started;
} worker_threads;

/* Start the runners, the heartbeat, the listener and the scheduler. 0, or
   -1 (logged) with whatever did start recorded for worker_stop. */
static int worker_start(PGconn *hb_conn, PGconn *listen_conn, worker_threads *t)
{
    int n = W.nrunners, rc = 0;
    W.nalive = n;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&W.runners[i].thread, NULL, runner_main, &W.runners[i]) != 0) {
            W.nalive -= n - i;
            cl_error(LOG, "cannot start runner threads");
            rc = -1;
            break;
        }
        W.runners[i].started = 1;
    }
    t->hb_started = rc == 0 && pthread_create(&t->hb, NULL, heartbeat_main, hb_conn) == 0;
    t->listen_started = rc == 0 && pthread_create(&t->listen, NULL, listener_main, listen_conn) == 0;
    if (rc == 0 && cl_scheduler_start(cl_cfg.database_url) != 0) {
        cl_error(LOG, "cannot start the scheduler");
        rc = -1;
    }
    if (rc == 0 && (!t->hb_started || !t->listen_started)) {
        cl_error(LOG, "cannot start worker threads");
        rc = -1;
    }
    return rc;
}

/* Stop claiming, give running jobs the grace period (a second signal cuts
   it short), cancel what is left, and join every thread that started. */
static void worker_stop(const sigset_t *sigs, worker_threads *t)
{
    pthread_mutex_lock(&W.mu);
    W.stopping = 1;
    W.gen++;
    pthread_cond_broadcast(&W.wake);
    pthread_mutex_unlock(&W.mu);
    if (W.stop_pipe[1] >= 0 && write(W.stop_pipe[1], "x", 1) < 0)
        cl_warn(LOG, "cannot wake the listener: %s", strerror(errno));

    /* Signals in the first second are duplicates, not a second request: when
       serve dies, the kernel may deliver the parent-death SIGTERM once per
       exiting thread. */
    int64_t first = mono_ms(), end = first + cl_cfg.shutdown_timeout_ms;
    while (alive_runners() > 0 && mono_ms() < end) {
        struct timespec ts = {0, 100 * 1000000L};
        if (sigtimedwait(sigs, NULL, &ts) > 0 && mono_ms() - first >= 1000) {
            cl_info(LOG, "second signal: cancelling running jobs");
            break;
        }
    }
    if (alive_runners() > 0) {
        cl_warn(LOG, "cancelling running jobs; they will be retried");
        cancel_all();
    }
    cl_scheduler_stop();
    for (int i = 0; i < W.nrunners; i++)
        if (W.runners[i].started)
            pthread_join(W.runners[i].thread, NULL);
    pthread_mutex_lock(&W.mu);
    W.hb_stop = 1;
    pthread_cond_broadcast(&W.hb_cv);
    pthread_mutex_unlock(&W.mu);
    if (t->hb_started)
        pthread_join(t->hb, NULL);
    if (t->listen_started)
        pthread_join(t->listen, NULL);
}

/* Close the connections and the wake-up pipe, free the runners. */
static void worker_close(PGconn *hb_conn, PGconn *listen_conn)
{
    for (int i = 0; W.runners && i < W.nrunners; i++)
        if (W.runners[i].conn)
            PQfinish(W.runners[i].conn);
    if (hb_conn)
        PQfinish(hb_conn);
    if (listen_conn)
        PQfinish(listen_conn);
    free(W.runners);
    W.runners = NULL;
    W.nrunners = 0;
    for (int i = 0; i < 2; i++)
        if (W.stop_pipe[i] >= 0) {
            close(W.stop_pipe[i]);
            W.stop_pipe[i] = -1;
        }
}

int cl_cmd_worker(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: cliploop worker\n");
        return 2;
    }
    int rc = worker_prepare();
    if (rc != 0)
        return rc;

    /* SIGTERM/SIGINT are taken synchronously by main; every thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';

    PGconn *hb_conn = NULL, *listen_conn = NULL;
    worker_threads t = {0};
    if (worker_connect(host, &hb_conn, &listen_conn) != 0) {
        worker_close(hb_conn, listen_conn);
        return 1;
    }
    rc = worker_start(hb_conn, listen_conn, &t) != 0;
    if (rc == 0) {
        cl_info(LOG, "worker %s:%d ready: %d runner(s), lease %d ms, poll %d ms", host, (int)getpid(),
                W.nrunners, cl_cfg.job_lease_ms, cl_cfg.job_poll_ms);
        int sig = 0;
        while (sigwait(&sigs, &sig) != 0) {
        }
        cl_info(LOG, "received %s: no new claims; waiting up to %d ms for running jobs",
                sig == SIGTERM ? "SIGTERM" : "SIGINT", cl_cfg.shutdown_timeout_ms);
    }
    worker_stop(&sigs, &t);
    if (rc == 0)
        cl_info(LOG, "worker stopped");
    worker_close(hb_conn, listen_conn);
    return rc;
}
