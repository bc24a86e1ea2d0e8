/*
 * test_routes.c — diagnostics the HTTP-level tests drive, registered only when
 * CLIPLOOP_TEST_ROUTES=true (never in a normal deployment):
*   GET  /api/_test/sleep?ms=N        blocks a pool thread for N ms (<= 30 s)
 *   GET  /api/_test/db-sleep?ms=N     holds a pooled connection in pg_sleep for
 *                                     N ms; a failed statement answers 500 like
 *                                     any handler's error path (the server turns
 *                                     it into 503 when the database went away)
 *   ANY  /api/_test/echo/:a/:b        echoes method, params, query, body size
 *   GET  /api/_test/file              streams web/assets/favicon.svg (Range support)
 *   GET  /api/_test/missing-file      a file reply whose file is gone (JSON 404)
 */
#include "core/config.h"
#include "db/db.h"
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The ms query value (default 100, 0..30000); -1 with a 400 set otherwise. */
static long ms_param(cl_req *req, cl_res *res)
{
    int ok;
    long ms = cl_req_query_long(req, "ms", 100, &ok);
    if (!ok || ms < 0 || ms > 30000) {
        cl_res_error(res, 400, "invalid_ms", "ms must be between 0 and 30000");
        return -1;
    }
    return ms;
}

static void sleep_route(cl_req *req, cl_res *res)
{
    long ms = ms_param(req, res);
    if (ms < 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "slept_ms", (double)ms);
    cl_res_json(res, 200, o);
}

static void db_sleep_route(cl_req *req, cl_res *res)
{
    long ms = ms_param(req, res);
    if (ms < 0)
        return;
    char err[256], secs[32];
    PGconn *c = cl_db_acquire(CL_DB_WAIT_FAST_MS, err, sizeof err);
    if (!c) {
        cl_res_error(res, 503, "database_unavailable", "%s", err);
        return;
    }
    snprintf(secs, sizeof secs, "%.3f", (double)ms / 1000.0);
    const char *p[] = {secs};
    int failed = cl_db_exec(c, "SELECT pg_sleep($1::float8)", 1, p, err, sizeof err);
    cl_db_release(c);
    if (failed) {
        cl_res_error(res, 500, "internal", "Could not sleep");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "slept_ms", (double)ms);
    cl_res_json(res, 200, o);
}

static void echo_route(cl_req *req, cl_res *res)
{
    cJSON *o = cJSON_CreateObject(), *params = cJSON_AddObjectToObject(o, "params");
    for (size_t i = 0; i < req->nparams; i++)
        cJSON_AddStringToObject(params, req->params[i].name, req->params[i].value);
    cJSON_AddStringToObject(o, "method", req->method);
    cJSON_AddStringToObject(o, "path", req->path);
    cJSON_AddStringToObject(o, "query", req->query);
    cJSON_AddNumberToObject(o, "body_bytes", (double)req->body_len);
    const char *host = cl_req_header(req, "host");
    if (host)
        cJSON_AddStringToObject(o, "host", host);
    const char *ua = cl_req_header(req, "user-agent");
    if (ua)
        cJSON_AddStringToObject(o, "user_agent", ua);
    cl_res_json(res, 200, o);
}

static void file_route(cl_req *req, cl_res *res)
{
    (void)req;
    char path[1200];
    snprintf(path, sizeof path, "%s/assets/favicon.svg", cl_cfg.web_dir);
    cl_res_file(res, path, "image/svg+xml");
}

static void missing_file_route(cl_req *req, cl_res *res)
{
    (void)req;
    cl_res_file(res, "/nonexistent/cliploop-test-file", "video/mp4");
}

void cl_test_routes_register(void)
{
    if (!cl_cfg.test_routes)
        return;
    cl_route("GET", "/api/_test/sleep", sleep_route, 0);
    cl_route("GET", "/api/_test/db-sleep", db_sleep_route, 0);
    cl_route("GET", "/api/_test/echo/:a/:b", echo_route, 0);
    cl_route("POST", "/api/_test/echo/:a/:b", echo_route, 0);
    cl_route("GET", "/api/_test/files/*", echo_route, CL_ROUTE_INLINE);
    cl_route("GET", "/api/_test/file", file_route, 0);
    cl_route("GET", "/api/_test/missing-file", missing_file_route, 0);
}
