/*
 * scheduler.c — the worker's periodic task loop (scheduler.h).
 */
#include "jobs/scheduler.h"
#include "core/config.h"
#include "core/log.h"
#include "db/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define LOG "scheduler"
#define MAX_TASKS 16

typedef struct task {
    const char *name;
    int interval_ms;
    cl_periodic_fn fn;
    int64_t next_ms; /* monotonic time of the next run */
} task;

static struct {
    task tasks[MAX_TASKS];
    int ntasks;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    int started;
    pthread_t thread;
    PGconn *conn;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cl_scheduler_add(const char *name, int interval_ms, cl_periodic_fn fn)
{
    if (S.ntasks == MAX_TASKS || !fn)
        return -1;
    S.tasks[S.ntasks++] = (task){name, interval_ms > 0 ? interval_ms : 1, fn, 0};
    return 0;
}

void cl_scheduler_reset(void) { S.ntasks = 0; }

static void ensure_connected(PGconn *c)
{
    if (PQstatus(c) == CONNECTION_OK)
        return;
    PQreset(c);
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, "SET TIME ZONE 'UTC'");
        PQclear(r);
        cl_info(LOG, "reconnected to the database");
    }
}

static void *scheduler_main(void *arg)
{
    (void)arg;
    int64_t last_error_log = 0;
    for (;;) {
        pthread_mutex_lock(&S.mu);
        int stop = S.stop;
        pthread_mutex_unlock(&S.mu);
        if (stop)
            break;
        int64_t now = mono_ms(), next = now + cl_cfg.scheduler_tick_ms;
        for (int i = 0; i < S.ntasks; i++) {
            task *t = &S.tasks[i];
            if (t->next_ms <= now) {
                char err[512] = "";
                ensure_connected(S.conn);
                int n = t->fn(S.conn, err, sizeof err);
                if (n < 0 && mono_ms() - last_error_log > 10000) {
                    cl_error(LOG, "task %s failed: %s", t->name, err);
                    last_error_log = mono_ms();
                } else if (n > 0) {
                    cl_info(LOG, "task %s: %d done", t->name, n);
                }
                t->next_ms = now + t->interval_ms;
            }
            if (t->next_ms < next)
                next = t->next_ms;
        }
        int64_t wait = next - mono_ms();
        if (wait < 1)
            continue;
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += wait / 1000;
        dl.tv_nsec += (long)(wait % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&S.mu);
        while (!S.stop && pthread_cond_timedwait(&S.cv, &S.mu, &dl) != ETIMEDOUT) {
        }
        pthread_mutex_unlock(&S.mu);
    }
    return NULL;
}

int cl_scheduler_start(const char *conninfo)
{
    if (S.ntasks == 0)
        return 0;
    char err[512];
    S.conn = cl_db_connect(conninfo, err, sizeof err);
    if (!S.conn) {
        cl_error(LOG, "cannot connect to the database: %s", err);
        return -1;
    }
    S.stop = 0;
    if (pthread_create(&S.thread, NULL, scheduler_main, NULL) != 0) {
        PQfinish(S.conn);
        S.conn = NULL;
        return -1;
    }
    S.started = 1;
    cl_info(LOG, "scheduler running %d task(s), tick %d ms", S.ntasks, cl_cfg.scheduler_tick_ms);
    return 0;
}

void cl_scheduler_stop(void)
{
    if (!S.started)
        return;
    pthread_mutex_lock(&S.mu);
    S.stop = 1;
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
    pthread_join(S.thread, NULL);
    PQfinish(S.conn);
    S.conn = NULL;
    S.started = 0;
}
