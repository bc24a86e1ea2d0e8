/*
 * credits_bench.c — drives cl_credits_charge (the host's charge path) from N
 * threads, each with its own connection and its own account, for a fixed
 * time, and prints charges per second. Built and run by tests/bench/credits.
 *
 *   credits_bench --print-sql                      the statement every charge runs
 *   credits_bench DB_URL THREADS SECONDS FIRST_USER_ID
 */
#include "credits/credits.h"
#include "db/db.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *url;
static double seconds;
static int64_t first_user;
static long run_id; /* keeps keys fresh across runs on the same database */

typedef struct {
    int index;
    long done, failed;
    char err[256];
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static pthread_barrier_t start;
static double t0;

static void *run(void *arg)
{
    worker *w = arg;
    PGconn *c = cl_db_connect(url, w->err, sizeof w->err);
    pthread_barrier_wait(&start);
    if (!c)
        return NULL;
    char key[64];
    cl_receipt r;
    int64_t uid = first_user + w->index;
    while (now_s() - t0 < seconds) {
        snprintf(key, sizeof key, "bench:%ld:%d:%ld", run_id, w->index, w->done + w->failed);
        if (cl_credits_charge(c, uid, CL_ACTION_GENERATE_COPY, key, &r, w->err, sizeof w->err) == CL_CREDITS_OK &&
            !r.replayed)
            w->done++;
        else
            w->failed++;
    }
    PQfinish(c);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--print-sql") == 0) {
        puts(cl_credits_apply_sql());
        return 0;
    }
    if (argc != 5) {
        fprintf(stderr, "usage: %s DB_URL THREADS SECONDS FIRST_USER_ID | --print-sql\n", argv[0]);
        return 2;
    }
    url = argv[1];
    int n = atoi(argv[2]);
    seconds = atof(argv[3]);
    first_user = strtoll(argv[4], NULL, 10);
    if (n < 1 || n > 256 || seconds <= 0) {
        fprintf(stderr, "bad THREADS or SECONDS\n");
        return 2;
    }
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    run_id = (long)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
    worker *ws = calloc((size_t)n, sizeof *ws);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    if (!ws || !th)
        return 1;
    pthread_barrier_init(&start, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++) {
        ws[i].index = i;
        pthread_create(&th[i], NULL, run, &ws[i]);
    }
    t0 = now_s();
    pthread_barrier_wait(&start);
    t0 = now_s();
    long done = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        done += ws[i].done;
        failed += ws[i].failed;
        if (ws[i].failed)
            fprintf(stderr, "thread %d: %ld failed (%s)\n", i, ws[i].failed, ws[i].err);
    }
    double el = now_s() - t0;
    printf("%.1f %ld %ld\n", done / el, done, failed);
    pthread_barrier_destroy(&start);
    free(ws);
    free(th);
    return failed ? 1 : 0;
}
