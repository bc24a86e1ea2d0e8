/*
 * db_reply.h — the replies of /api handlers that read the database, written
 * once: a failed statement and a query that answers one JSON value.
 *
 * Ownership: nothing here frees r or releases c; the caller PQclears r and
 * keeps c. Messages are copied into res.
 */
#ifndef CL_HTTP_DB_REPLY_H
#define CL_HTTP_DB_REPLY_H

#include "http/http.h"

#include "core/buf.h"

#include <libpq-fe.h>

/** The message of a 500 after a failed statement (nothing was committed). */
#define CL_DB_FAILED_MESSAGE "Something went wrong on our side; nothing was changed"

/**
 * 500 internal with CL_DB_FAILED_MESSAGE, logging "what: <the database's
 * message>" under the log component comp (the message never reaches the
 * client). r may be NULL (a failed BEGIN/COMMIT: conn's message is logged).
 */
void cl_res_db_failed(cl_res *res, const char *comp, PGconn *c, const PGresult *r, const char *what);

/**
 * Reply the first column of r's first row, JSON text, with status; 404
 * not_found with the formatted message when r has no row; cl_res_db_failed
 * when r failed.
 */
void cl_res_db_row(cl_res *res, int status, const char *comp, PGconn *c, const PGresult *r, const char *what,
                   const char *not_found_fmt, ...) __attribute__((format(printf, 7, 8)));

/**
 * Run a statement that reads one JSON value and reply it as cl_res_db_row
 * does (status with the text; 404 with the formatted message when there is
 * no row; the 500 of cl_res_db_failed when it failed). The result is freed.
 */
void cl_res_db_query_row(cl_res *res, int status, const char *comp, PGconn *c, const char *sql, int nparams,
                         const char *const *params, const char *what, const char *not_found_fmt, ...)
    __attribute__((format(printf, 9, 10)));

/**
 * The check after a statement that reads the one row a route is about: 1
 * when r has a row (r stays the caller's); 0 with 404 not_found (the
 * formatted message) set and r PQcleared; -1 with the 500 of
 * cl_res_db_failed set and r PQcleared.
 */
int cl_res_db_one(cl_res *res, const char *comp, PGconn *c, PGresult *r, const char *what,
                  const char *not_found_fmt, ...) __attribute__((format(printf, 6, 7)));

/**
 * Append a timestamptz column's text as the API spells a time, a JSON
 * string in whole seconds: "2026-12-06 04:36:49.123+00" (what a
 * connection in UTC prints, cl_db's session setting) becomes
 * "2026-12-06T04:36:49Z", like cl_iso (migration 0021) without Postgres
 * formatting it. Text of another shape is written as it is, quoted.
 * 0, or -1 when out of memory.
 */
int cl_buf_json_pg_time(cl_buf *b, const char *v);

/**
 * Run a route's parameterized statement (cl_db_query): its result when it
 * succeeded (the caller PQclears it), or NULL with the 500 of
 * cl_res_db_failed set (what names the statement in the log).
 */
PGresult *cl_res_db_query(cl_res *res, const char *comp, PGconn *c, const char *what, const char *sql,
                          int nparams, const char *const *params);

/**
 * The same for the statement that reads the one row a route is about: its
 * result when it has a row (the caller PQclears it); NULL with 404 not_found
 * (the formatted message) or the 500 of cl_res_db_failed set.
 */
PGresult *cl_res_db_get(cl_res *res, const char *comp, PGconn *c, const char *sql, int nparams,
                        const char *const *params, const char *what, const char *not_found_fmt, ...)
    __attribute__((format(printf, 8, 9)));

#endif
