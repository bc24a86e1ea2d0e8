#include "db/db.h"
#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * The pool is a stack of idle connections plus a count of connections that
 * exist. Acquire pops an idle one, or opens a new one while the count is
 * below the size, or waits on a condition variable. Opening happens outside
 * the lock so a slow server never stalls releases.
 */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *conninfo;
    int size, open;
    PGconn **idle;
    int nidle;
    int ready;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

int cl_db_pool_init(const char *conninfo, int size)
{
    pthread_mutex_lock(&pool.mu);
    pool.conninfo = strdup(conninfo);
    pool.idle = calloc((size_t)size, sizeof *pool.idle);
    pool.size = size;
    pool.open = pool.nidle = 0;
    pool.ready = pool.conninfo && pool.idle;
    pthread_mutex_unlock(&pool.mu);
    return pool.ready ? 0 : -1;
}

void cl_db_pool_shutdown(void)
{
    pthread_mutex_lock(&pool.mu);
    for (int i = 0; i < pool.nidle; i++)
        PQfinish(pool.idle[i]);
    pool.open -= pool.nidle;
    pool.nidle = 0;
    free(pool.idle);
    free(pool.conninfo);
    pool.idle = NULL;
    pool.conninfo = NULL;
    pool.ready = 0;
    pthread_mutex_unlock(&pool.mu);
}

static void first_line(const char *msg, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", msg && *msg ? msg : "unknown error");
    char *nl = strchr(err, '\n');
    if (nl)
        *nl = '\0';
}

static __thread int lost_server;

int cl_db_lost(void) { return lost_server; }
void cl_db_lost_reset(void) { lost_server = 0; }

/* 1 when a failed result (or a NULL one) means the connection, not the
   statement, failed. */
static int is_connection_failure(PGconn *conn, const PGresult *res)
{
    if (conn && PQstatus(conn) != CONNECTION_OK)
        return 1;
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!st)
        return 0;
    return strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
           strcmp(st, "57P03") == 0;
}

/* After a (re)connect: the session settings every connection runs with. */
static void session_setup(PGconn *c)
{
    PGresult *r = PQexec(c, "SET TIME ZONE 'UTC'");
    PQclear(r);
}

/* An idle connection has nothing to read unless the server sent its goodbye
   (an admin shutdown's FATAL message, then EOF). */
static int idle_conn_alive(PGconn *c)
{
    if (PQstatus(c) != CONNECTION_OK)
        return 0;
    struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
    int n = poll(&p, 1, 0);
    return n == 0 || (n < 0 && errno == EINTR);
}

PGconn *cl_db_connect(const char *conninfo, char *err, size_t errlen)
{
    /* connect_timeout keeps /healthz and start-up from hanging on a dead server. */
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {conninfo, "3", "cliploop", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        first_line(PQerrorMessage(c), err, errlen);
        PQfinish(c);
        lost_server = 1;
        return NULL;
    }
    session_setup(c);
    return c;
}

PGconn *cl_db_acquire(int timeout_ms, char *err, size_t errlen)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        if (!pool.ready) {
            pthread_mutex_unlock(&pool.mu);
            snprintf(err, errlen, "database pool is not initialized");
            return NULL;
        }
        if (pool.nidle > 0) {
            PGconn *c = pool.idle[--pool.nidle];
            pthread_mutex_unlock(&pool.mu);
            if (idle_conn_alive(c))
                return c;
            PQreset(c);
            if (PQstatus(c) == CONNECTION_OK) {
                session_setup(c);
                return c;
            }
            first_line(PQerrorMessage(c), err, errlen);
            lost_server = 1;
            PQfinish(c);
            pthread_mutex_lock(&pool.mu);
            pool.open--;
            pthread_cond_signal(&pool.cv);
            pthread_mutex_unlock(&pool.mu);
            return NULL;
        }
        if (pool.open < pool.size) {
            pool.open++;
            char *ci = pool.conninfo;
            pthread_mutex_unlock(&pool.mu);
            PGconn *c = cl_db_connect(ci, err, errlen);
            if (!c) {
                pthread_mutex_lock(&pool.mu);
                pool.open--;
                pthread_cond_signal(&pool.cv);
                pthread_mutex_unlock(&pool.mu);
            }
            return c;
        }
        if (pthread_cond_timedwait(&pool.cv, &pool.mu, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&pool.mu);
            snprintf(err, errlen, "all %d database connections are busy", pool.size);
            return NULL;
        }
    }
}

void cl_db_release(PGconn *c)
{
    if (!c)
        return;
    int healthy = PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE;
    pthread_mutex_lock(&pool.mu);
    for (int i = 0; i < pool.nidle; i++)
        if (pool.idle[i] == c) { /* released twice: pooling it again would hand it to two threads */
            pthread_mutex_unlock(&pool.mu);
            cl_error("db", "a connection was released twice; the second release is ignored");
            return;
        }
    if (healthy && pool.ready && pool.nidle < pool.size) {
        pool.idle[pool.nidle++] = c;
    } else {
        PQfinish(c);
        pool.open--;
    }
    pthread_cond_signal(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
}

/* Note a failure of the connection itself (see cl_db_lost); returns r. */
static PGresult *track_lost(PGconn *conn, PGresult *r)
{
    if (!cl_db_ok(r) && is_connection_failure(conn, r))
        lost_server = 1;
    return r;
}

PGresult *cl_db_query(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    return track_lost(conn, PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0));
}

/* ---- prepared statements, once per connection ----------------------------
 * Pooled connections move between threads and get reset, so "is it prepared
 * here" is remembered per (connection pointer, backend pid) in a small
 * direct-mapped table of the statements prepared on it. A miss asks
 * pg_prepared_statements before PREPARE, so a stale or evicted slot never
 * makes PREPARE fail (which would abort a caller's open transaction). */

#define PREP_SLOTS 1024
#define PREP_PER_CONN 32
static struct {
    const PGconn *conn;
    int pid;
    int n;
    const cl_db_stmt *done[PREP_PER_CONN];
} prep[PREP_SLOTS];
static pthread_mutex_t prep_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t prep_slot(const PGconn *c) { return ((uintptr_t)c >> 4) % PREP_SLOTS; }

static int prep_known(const PGconn *c, int pid, const cl_db_stmt *st)
{
    size_t s = prep_slot(c);
    int known = 0;
    pthread_mutex_lock(&prep_mu);
    if (prep[s].conn == c && prep[s].pid == pid)
        for (int i = 0; i < prep[s].n && !known; i++)
            known = prep[s].done[i] == st;
    pthread_mutex_unlock(&prep_mu);
    return known;
}

static void prep_remember(const PGconn *c, int pid, const cl_db_stmt *st)
{
    size_t s = prep_slot(c);
    pthread_mutex_lock(&prep_mu);
    if (prep[s].conn != c || prep[s].pid != pid) {
        prep[s].conn = c;
        prep[s].pid = pid;
        prep[s].n = 0;
    }
    if (prep[s].n < PREP_PER_CONN)
        prep[s].done[prep[s].n++] = st;
    pthread_mutex_unlock(&prep_mu);
}

PGresult *cl_db_prepared(PGconn *c, const cl_db_stmt *st, const char *const *params)
{
    int pid = PQbackendPID(c);
    if (!prep_known(c, pid, st)) {
        const char *p[] = {st->name};
        PGresult *r = cl_db_query(c, "SELECT 1 FROM pg_prepared_statements WHERE name = $1", 1, p);
        if (!cl_db_ok(r))
            return r;
        int exists = PQntuples(r) > 0;
        PQclear(r);
        if (!exists) {
            r = track_lost(c, PQprepare(c, st->name, st->sql, st->nparams, NULL));
            if (!cl_db_ok(r))
                return r;
            PQclear(r);
        }
        prep_remember(c, pid, st);
    }
    return track_lost(c, PQexecPrepared(c, st->name, st->nparams, params, NULL, NULL, 0));
}

char *cl_db_id(char buf[CL_DB_ID_LEN], int64_t id)
{
    snprintf(buf, CL_DB_ID_LEN, "%" PRId64, id);
    return buf;
}

int cl_db_ok(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
}

int cl_db_check(PGconn *conn, PGresult *r, char *err, size_t errlen)
{
    if (cl_db_ok(r))
        return 0;
    if (err)
        cl_db_errmsg(conn, r, err, errlen);
    PQclear(r);
    return -1;
}

PGresult *cl_db_run(PGconn *conn, const char *sql, int nparams, const char *const *params, char *err,
                    size_t errlen)
{
    PGresult *r = cl_db_query(conn, sql, nparams, params);
    return cl_db_check(conn, r, err, errlen) == 0 ? r : NULL;
}

int64_t cl_db_int(PGconn *conn, const char *sql, int nparams, const char *const *params, int64_t on_error)
{
    PGresult *r = cl_db_query(conn, sql, nparams, params);
    int64_t v = cl_db_ok(r) && PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : on_error;
    PQclear(r);
    return v;
}

int cl_db_one(PGconn *conn, PGresult *r, char *err, size_t errlen)
{
    if (cl_db_check(conn, r, err, errlen) != 0)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    return 1;
}

const char *cl_db_sqlstate(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

void cl_db_errmsg(PGconn *conn, const PGresult *res, char *err, size_t errlen)
{
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!m || !*m)
        m = conn ? PQerrorMessage(conn) : NULL;
    first_line(m, err, errlen);
}

int cl_db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params, char *err,
               size_t errlen)
{
    PGresult *r = cl_db_query(conn, sql, nparams, params);
    int ok = cl_db_ok(r);
    if (!ok && err)
        cl_db_errmsg(conn, r, err, errlen);
    PQclear(r);
    return ok ? 0 : -1;
}

int cl_db_begin(PGconn *conn) { return cl_db_exec(conn, "BEGIN", 0, NULL, NULL, 0); }
int cl_db_commit(PGconn *conn) { return cl_db_exec(conn, "COMMIT", 0, NULL, NULL, 0); }
void cl_db_rollback(PGconn *conn) { cl_db_exec(conn, "ROLLBACK", 0, NULL, NULL, 0); }
