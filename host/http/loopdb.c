/*
 * loopdb.c — the read routes' registry and each event loop's own database
 * connections in libpq's pipeline mode (see loopdb.h).
 *
 * A connection keeps a FIFO of the statements sent on it: Bind/Execute
 * (PQsendQueryPrepared), after a Parse the first time the connection runs
 * that statement (PQsendPrepare). Nothing is written to the socket while
 * the loop handles its events: once they are handled, one Sync per
 * connection (PQpipelineSync, from a zero-delay timer) sends everything the
 * requests of that turn queued, in one write, and the server answers it in
 * one. The statements between two Syncs share one implicit transaction
 * (read-only statements under READ COMMITTED: each still takes its own
 * snapshot); an error aborts the rest of that batch, whose requests then go
 * to the blocking pool. Results come back in order, each statement's ending
 * with a NULL from PQgetResult: the callback gets the statement's last
 * result (the Execute's). A connection that breaks hands every statement in
 * flight back with NULL (their requests go to the blocking pool) and is
 * opened again on a helper thread, at most once a second, never on the
 * loop.
 */
#include "http/loopdb.h"
#include "core/config.h"
#include "core/log.h"
#include "http/db_reply.h"

#include <h2o.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- registry -------------------------------------------------------------- */

#define MAX_READ_ROUTES 16
static const cl_read_route *read_routes[MAX_READ_ROUTES];
static int nread_routes;

void cl_route_read(const char *pattern, const cl_read_route *rr)
{
    cl_route("GET", pattern, rr->handler, 0);
    if (nread_routes < MAX_READ_ROUTES)
        read_routes[nread_routes++] = rr;
    else
        cl_warn("http", "GET %s answers on the blocking pool only (too many read routes)", pattern);
}

void cl_read_route_blocking(cl_req *req, cl_res *res, const cl_read_route *rr, const char *comp,
                            const char *what)
{
    cl_user u;
    PGconn *c = cl_auth_open(req, res, &u, rr->level);
    if (!c)
        return;
    cl_read_stmt *s = malloc(sizeof *s); /* about 4 KB: not on a pool thread's stack */
    if (!s) {
        cl_res_error(res, 500, "internal", "out of memory");
    } else if (rr->plan(req, res, &u, s) == 0) {
        PGresult *r = cl_db_prepared(c, s->st, s->params);
        if (!cl_db_ok(r))
            cl_res_db_failed(res, comp, c, r, what);
        else
            rr->reply(req, res, &u, r);
        PQclear(r);
    }
    free(s);
    cl_db_release(c);
}

const cl_read_route *cl_read_route_of(cl_handler_fn fn)
{
    for (int i = 0; i < nread_routes; i++)
        if (read_routes[i]->handler == fn)
            return read_routes[i];
    return NULL;
}

/* ---- connections ------------------------------------------------------------ */

#define PREPARED_MAX 16
#define RETRY_MS 1000

typedef struct cl_ldb_conn {
    cl_ldb *db;
    PGconn *pg;            /* NULL while down */
    h2o_socket_t *sock;    /* watches a dup of PQsocket (h2o closes its own fd, never libpq's) */
    cl_ldb_op *head, *tail;
    int inflight;
    int unsynced;          /* statements queued since the last Sync */
    int writing;           /* waiting for the socket to take more */
    const cl_db_stmt *prepared[PREPARED_MAX];
    int nprepared;
    int connecting;        /* a helper thread is opening a connection */
    pthread_t helper;
    uint64_t retry_at;     /* loop time (ms) of the next attempt while down */
} cl_ldb_conn;

struct cl_ldb {
    h2o_evloop_t *loop;
    h2o_timeout_t sync_timeout; /* zero delay: runs after the loop's events */
    h2o_timeout_entry_t sync_entry;
    h2o_multithread_receiver_t receiver; /* helper threads' new connections */
    int n;
    cl_ldb_conn conns[];
};

typedef struct {
    h2o_multithread_message_t msg; /* must be first */
    cl_ldb_conn *c;
    PGconn *pg;
} reconnect_msg;

static void on_readable(h2o_socket_t *sock, const char *err);

/* A connection ready for the loop: nonblocking, in pipeline mode. NULL on failure (logged). */
static PGconn *open_pg(void)
{
    char err[256];
    PGconn *pg = cl_db_connect(cl_cfg.database_url, err, sizeof err);
    if (!pg) {
        cl_warn("http", "event-loop database connection: %s", err);
        return NULL;
    }
    if (PQsetnonblocking(pg, 1) != 0 || PQenterPipelineMode(pg) != 1) {
        cl_warn("http", "event-loop database connection: no pipeline mode: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

static int install(cl_ldb_conn *c, PGconn *pg)
{
    int fd = fcntl(PQsocket(pg), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        PQfinish(pg);
        return -1;
    }
    c->pg = pg;
    c->nprepared = 0;
    c->writing = 0;
    c->unsynced = 0;
    c->sock = h2o_evloop_socket_create(c->db->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    c->sock->data = c;
    h2o_socket_read_start(c->sock, on_readable);
    return 0;
}

static void *helper_main(void *arg)
{
    cl_ldb_conn *c = arg;
    PGconn *pg = open_pg();
    reconnect_msg *m = calloc(1, sizeof *m);
    if (!m) {
        if (pg)
            PQfinish(pg);
        return NULL; /* out of memory: this connection stays down */
    }
    m->c = c;
    m->pg = pg;
    h2o_multithread_send_message(&c->db->receiver, &m->msg);
    return NULL;
}

static void start_helper(cl_ldb_conn *c)
{
    if (pthread_create(&c->helper, NULL, helper_main, c) == 0)
        c->connecting = 1;
    else
        c->retry_at = h2o_now(c->db->loop) + RETRY_MS;
}

/* Loop thread: a helper thread finished. */
static void on_reconnected(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *mm = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&mm->link);
        reconnect_msg *m = (reconnect_msg *)mm;
        cl_ldb_conn *c = m->c;
        pthread_join(c->helper, NULL);
        c->connecting = 0;
        if (m->pg && install(c, m->pg) == 0)
            cl_info("http", "event-loop database connection open again");
        else
            c->retry_at = h2o_now(c->db->loop) + RETRY_MS;
        free(m);
    }
}

/* The connection is unusable: close it and hand every statement in flight
   back with NULL. */
static void broken(cl_ldb_conn *c)
{
    cl_warn("http", "event-loop database connection lost: %s", c->pg ? PQerrorMessage(c->pg) : "");
    h2o_socket_read_stop(c->sock);
    h2o_socket_close(c->sock);
    c->sock = NULL;
    PQfinish(c->pg);
    c->pg = NULL;
    c->retry_at = h2o_now(c->db->loop) + RETRY_MS;
    cl_ldb_op *op = c->head;
    c->head = c->tail = NULL;
    c->inflight = 0;
    c->unsynced = 0;
    while (op) {
        cl_ldb_op *next = op->next;
        PQclear(op->res);
        op->res = NULL;
        op->cb(op, NULL);
        op = next;
    }
}

static void on_writable(h2o_socket_t *sock, const char *err);

static void flush(cl_ldb_conn *c)
{
    int f = PQflush(c->pg);
    if (f < 0) {
        broken(c);
    } else if (f == 1 && !c->writing) {
        c->writing = 1;
        h2o_socket_notify_write(c->sock, on_writable);
    }
}

static void on_writable(h2o_socket_t *sock, const char *err)
{
    (void)err;
    cl_ldb_conn *c = sock->data;
    c->writing = 0;
    if (c->pg)
        flush(c);
}

/* Hand out every finished statement. A callback may send more (on any
   connection) or see this one break, so c->pg is checked each turn. */
static void drain(cl_ldb_conn *c)
{
    while (c->pg && c->head && !PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);
        cl_ldb_op *op = c->head;
        if (r && PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            continue;
        }
        if (r) { /* the statement's (or its Parse's) result: the last one counts */
            if (PQresultStatus(r) == PGRES_FATAL_ERROR && strcmp(cl_db_sqlstate(r), "26000") == 0)
                c->nprepared = 0; /* "prepared statement does not exist": prepare again next time */
            PQclear(op->res);
            op->res = r;
            continue;
        }
        if (--op->parts > 0) /* the end of the Parse's results; the Execute's follow */
            continue;
        c->head = op->next;
        if (!c->head)
            c->tail = NULL;
        c->inflight--;
        PGresult *res = op->res;
        op->res = NULL;
        op->cb(op, res);
    }
}

/* After the loop's events: one Sync per connection sends what they queued. */
static void on_sync(h2o_timeout_entry_t *entry)
{
    cl_ldb *db = H2O_STRUCT_FROM_MEMBER(cl_ldb, sync_entry, entry);
    for (int i = 0; i < db->n; i++) {
        cl_ldb_conn *c = &db->conns[i];
        if (!c->pg || !c->unsynced)
            continue;
        c->unsynced = 0;
        if (!PQpipelineSync(c->pg)) {
            broken(c);
            continue;
        }
        if (!c->writing && PQflush(c->pg) != 0) {
            c->writing = 1;
            h2o_socket_notify_write(c->sock, on_writable);
        }
    }
}

static void on_readable(h2o_socket_t *sock, const char *err)
{
    (void)err;
    cl_ldb_conn *c = sock->data;
    if (!c->pg)
        return;
    if (!PQconsumeInput(c->pg)) {
        broken(c);
        return;
    }
    drain(c);
    if (c->pg && !c->writing)
        flush(c);
}

cl_ldb *cl_ldb_open(h2o_evloop_t *loop, h2o_multithread_queue_t *queue, int n)
{
    cl_ldb *db = calloc(1, sizeof *db + (size_t)n * sizeof db->conns[0]);
    if (!db)
        return NULL;
    db->loop = loop;
    db->n = n;
    h2o_timeout_init(loop, &db->sync_timeout, 0);
    db->sync_entry.cb = on_sync;
    h2o_multithread_register_receiver(queue, &db->receiver, on_reconnected);
    for (int i = 0; i < n; i++) {
        cl_ldb_conn *c = &db->conns[i];
        c->db = db;
        PGconn *pg = open_pg();
        if (!pg || install(c, pg) != 0)
            c->retry_at = 0; /* the first read route asks a helper to try again */
    }
    return db;
}

static int is_prepared(const cl_ldb_conn *c, const cl_db_stmt *st)
{
    for (int i = 0; i < c->nprepared; i++)
        if (c->prepared[i] == st)
            return 1;
    return 0;
}

int cl_ldb_send(cl_ldb *db, cl_ldb_op *op, const cl_db_stmt *st, const char *const *params, cl_ldb_cb cb)
{
    if (!db)
        return -1;
    cl_ldb_conn *best = NULL;
    uint64_t now = h2o_now(db->loop);
    for (int i = 0; i < db->n; i++) {
        cl_ldb_conn *c = &db->conns[i];
        if (!c->pg) {
            if (!c->connecting && now >= c->retry_at)
                start_helper(c);
            continue;
        }
        if (!best || c->inflight < best->inflight)
            best = c;
    }
    if (!best)
        return -1;
    int parts = 1;
    if (!is_prepared(best, st)) {
        if (best->nprepared == PREPARED_MAX)
            return -1;
        if (!PQsendPrepare(best->pg, st->name, st->sql, st->nparams, NULL)) {
            broken(best);
            return -1;
        }
        best->prepared[best->nprepared++] = st;
        parts = 2;
    }
    if (!PQsendQueryPrepared(best->pg, st->name, st->nparams, params, NULL, NULL, 0)) {
        /* Part of it may be queued, which would put the next results out of
           step: the connection goes (the others in flight go to the pool). */
        broken(best);
        return -1;
    }
    op->next = NULL;
    op->cb = cb;
    op->res = NULL;
    op->parts = parts;
    op->conn = best;
    if (best->tail)
        best->tail->next = op;
    else
        best->head = op;
    best->tail = op;
    best->inflight++;
    best->unsynced++;
    if (!h2o_timeout_is_linked(&db->sync_entry))
        h2o_timeout_link(db->loop, &db->sync_timeout, &db->sync_entry);
    return 0;
}

void cl_ldb_close(cl_ldb *db)
{
    if (!db)
        return;
    if (h2o_timeout_is_linked(&db->sync_entry))
        h2o_timeout_unlink(&db->sync_entry);
    for (int i = 0; i < db->n; i++) {
        cl_ldb_conn *c = &db->conns[i];
        if (c->connecting)
            pthread_join(c->helper, NULL); /* its message stays queued; the loop no longer runs */
        if (c->pg)
            PQfinish(c->pg);
        c->pg = NULL;
        /* c->sock (a dup of the socket) stays with the stopped loop, like the
           loop's other objects (see server.c, cl_server_stop). */
    }
}
