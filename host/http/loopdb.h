/*
 * loopdb.h — read routes answered on the event loop, with the database
 * reached through libpq's asynchronous API in pipeline mode.
 *
 * A read route (GET, no write) registered with cl_route_read runs in two
 * steps on the loop thread that received it: the session lookup
 * (cl_auth_session_stmt, or cl_auth_session_user_stmt for a route that shows
 * no balance), then at most one statement of the route; each is
 * sent on one of the loop's own connections (CLIPLOOP_DB_LOOP_CONNECTIONS
 * per loop thread) behind the statements of other requests in flight on it
 * (the statements queued in one turn of the loop go in one write, with one
 * pipeline Sync: see loopdb.c). No pool thread, no hand-off, no blocking
 * call: while the statements run the loop serves other connections.
 *
 * Whenever the loop path cannot answer the way the blocking handler would —
 * the loop has no live connection, a statement failed, the session lookup
 * says a statement that writes is owed (the month's grant) — the request
 * goes to the blocking pool and its ordinary handler answers it from the
 * start. Both paths answer the same bytes (tests/api/read_routes.test.mjs).
 *
 * Ownership: everything here belongs to the server; a route's callbacks get
 * borrowed pointers valid for the call.
 */
#ifndef CL_HTTP_LOOPDB_H
#define CL_HTTP_LOOPDB_H

#include "auth/auth.h"
#include "db/db.h"
#include "http/http.h"

#include <libpq-fe.h>

#define CL_READ_MAX_PARAMS 6
#define CL_READ_PARAM_LEN 640

/** The route's statement and its text parameters (filled by a route's plan). */
typedef struct cl_read_stmt {
    const cl_db_stmt *st; /**< NULL: the route needs no statement after the session */
    const char *params[CL_READ_MAX_PARAMS];
    char buf[CL_READ_MAX_PARAMS][CL_READ_PARAM_LEN]; /**< storage params may point into */
} cl_read_stmt;

typedef struct cl_read_route {
    /** The route's blocking handler: it answers whenever the loop path cannot. */
    cl_handler_fn handler;
    /** CL_AUTH_SESSION or CL_AUTH_PRODUCT (the checks cl_auth_open makes). */
    int level;
    /**
     * After the session: read the query and fill s (s->st NULL for no
     * statement). 0, -1 with the reply set on res (a bad query), or 1: let
     * the blocking handler answer (a write is owed).
     */
    int (*plan)(cl_req *req, cl_res *res, const cl_user *u, cl_read_stmt *s);
    /** The reply, from r (the statement's result; NULL when there was none). */
    void (*reply)(cl_req *req, cl_res *res, const cl_user *u, const PGresult *r);
    /**
     * 1: plan and reply read no credit balance, so the loop path looks the
     * session up without the credit account (cl_auth_session_user_stmt).
     */
    int no_credits;
} cl_read_route;

/** Register a GET read route: pattern answered by rr (rr is static data). */
void cl_route_read(const char *pattern, const cl_read_route *rr);
/**
 * The blocking handler's work for a read route whose plan always names its
 * statement (it never returns 1): the user at rr->level on a pooled
 * connection, rr->plan, the statement, rr->reply; a failed statement is the
 * 500 of cl_res_db_failed, logged under comp as `what`. A route's handler is
 * this one call.
 */
void cl_read_route_blocking(cl_req *req, cl_res *res, const cl_read_route *rr, const char *comp,
                            const char *what);

/** The read route whose blocking handler is fn, or NULL. */
const cl_read_route *cl_read_route_of(cl_handler_fn fn);

/* ---- the loop's connections (server.c) -------------------------------- */

typedef struct cl_ldb cl_ldb;
typedef struct cl_ldb_op cl_ldb_op;
/** A statement's end: r is its result (caller of the callback owns it, PQclear), NULL when the connection broke. */
typedef void (*cl_ldb_cb)(cl_ldb_op *op, PGresult *r);

/** One statement in flight; lives in its caller's memory until the callback. */
struct cl_ldb_op {
    cl_ldb_op *next;
    cl_ldb_cb cb;
    PGresult *res;
    int parts; /* statements whose results end it: its Parse (first use on the connection) and its Execute */
    struct cl_ldb_conn *conn;
};

struct st_h2o_evloop_t;
struct st_h2o_multithread_queue_t;
/**
 * Open n connections for the loop (on the loop's thread, before it runs;
 * queue is the loop's, for the helper threads' answers). Returns the set
 * (NULL only when out of memory); connections that could not open are
 * opened again later on a helper thread.
 */
cl_ldb *cl_ldb_open(struct st_h2o_evloop_t *loop, struct st_h2o_multithread_queue_t *queue, int n);
/**
 * Send st with params (text, NULL = SQL NULL) on the least busy live
 * connection; cb runs on the loop when it is done. 0, or -1 when no
 * connection is live (nothing sent, cb not called).
 */
int cl_ldb_send(cl_ldb *db, cl_ldb_op *op, const cl_db_stmt *st, const char *const *params, cl_ldb_cb cb);
/** Close the connections (the loop has stopped; nothing is in flight). */
void cl_ldb_close(cl_ldb *db);

#endif
