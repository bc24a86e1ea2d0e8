/*
 * db_reply.c — see db_reply.h.
 */
#include "http/db_reply.h"
#include "core/log.h"
#include "db/db.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cl_res_db_failed(cl_res *res, const char *comp, PGconn *c, const PGresult *r, const char *what)
{
    char err[256];
    cl_db_errmsg(c, r, err, sizeof err);
    cl_error(comp, "%s: %s", what, err);
    cl_res_error(res, 500, "internal", CL_DB_FAILED_MESSAGE);
}

/*
 * The one check of these replies: 1 when r has a row; 0 with 404 not_found
 * (the message formatted from fmt and ap) set; -1 with the 500 of
 * cl_res_db_failed set. r is not freed.
 */
static int check_row(cl_res *res, const char *comp, PGconn *c, const PGresult *r, const char *what,
                     const char *fmt, va_list ap)
{
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, comp, c, r, what);
        return -1;
    }
    if (PQntuples(r) > 0)
        return 1;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    cl_res_error(res, 404, "not_found", "%s", msg);
    return 0;
}

int cl_res_db_one(cl_res *res, const char *comp, PGconn *c, PGresult *r, const char *what,
                  const char *not_found_fmt, ...)
{
    va_list ap;
    va_start(ap, not_found_fmt);
    int rc = check_row(res, comp, c, r, what, not_found_fmt, ap);
    va_end(ap);
    if (rc != 1)
        PQclear(r);
    return rc;
}

void cl_res_db_row(cl_res *res, int status, const char *comp, PGconn *c, const PGresult *r, const char *what,
                   const char *not_found_fmt, ...)
{
    va_list ap;
    va_start(ap, not_found_fmt);
    if (check_row(res, comp, c, r, what, not_found_fmt, ap) == 1)
        cl_res_json_text(res, status, PQgetvalue(r, 0, 0));
    va_end(ap);
}

void cl_res_db_query_row(cl_res *res, int status, const char *comp, PGconn *c, const char *sql, int nparams,
                         const char *const *params, const char *what, const char *not_found_fmt, ...)
{
    PGresult *r = cl_db_query(c, sql, nparams, params);
    va_list ap;
    va_start(ap, not_found_fmt);
    if (check_row(res, comp, c, r, what, not_found_fmt, ap) == 1)
        cl_res_json_text(res, status, PQgetvalue(r, 0, 0));
    va_end(ap);
    PQclear(r);
}

PGresult *cl_res_db_query(cl_res *res, const char *comp, PGconn *c, const char *what, const char *sql,
                          int nparams, const char *const *params)
{
    PGresult *r = cl_db_query(c, sql, nparams, params);
    if (cl_db_ok(r))
        return r;
    cl_res_db_failed(res, comp, c, r, what);
    PQclear(r);
    return NULL;
}

PGresult *cl_res_db_get(cl_res *res, const char *comp, PGconn *c, const char *sql, int nparams,
                        const char *const *params, const char *what, const char *not_found_fmt, ...)
{
    PGresult *r = cl_db_query(c, sql, nparams, params);
    va_list ap;
    va_start(ap, not_found_fmt);
    int rc = check_row(res, comp, c, r, what, not_found_fmt, ap);
    va_end(ap);
    if (rc == 1)
        return r;
    PQclear(r);
    return NULL;
}

int cl_buf_json_pg_time(cl_buf *b, const char *v)
{
    if (strlen(v) < 19 || v[10] != ' ')
        return cl_buf_json_str(b, v);
    char iso[23];
    memcpy(iso + 1, v, 19);
    iso[0] = '"';
    iso[11] = 'T';
    memcpy(iso + 20, "Z\"", 3);
    return cl_buf_append(b, iso, 22);
}
