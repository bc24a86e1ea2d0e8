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

/* 404 not_found with a message formatted from fmt and ap. */
static void not_found(cl_res *res, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    cl_res_error(res, 404, "not_found", "%s", msg);
}

int cl_res_db_one(cl_res *res, const char *comp, PGconn *c, PGresult *r, const char *what,
                  const char *not_found_fmt, ...)
{
    int rc = cl_db_ok(r) ? PQntuples(r) > 0 : -1;
    if (rc < 0) {
        cl_res_db_failed(res, comp, c, r, what);
    } else if (rc == 0) {
        va_list ap;
        va_start(ap, not_found_fmt);
        not_found(res, not_found_fmt, ap);
        va_end(ap);
    }
    if (rc != 1)
        PQclear(r);
    return rc;
}

void cl_res_db_row(cl_res *res, int status, const char *comp, PGconn *c, const PGresult *r, const char *what,
                   const char *not_found_fmt, ...)
{
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, comp, c, r, what);
    } else if (PQntuples(r) == 0) {
        va_list ap;
        va_start(ap, not_found_fmt);
        not_found(res, not_found_fmt, ap);
        va_end(ap);
    } else {
        cl_res_json_text(res, status, PQgetvalue(r, 0, 0));
    }
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
