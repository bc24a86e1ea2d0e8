/*
 * test_routes.c — diagnostics the HTTP-level tests drive, registered only when
 * CLIPLOOP_TEST_ROUTES=true (never in a normal deployment):
*   GET  /api/_test/sleep?ms=N        blocks a pool thread for N ms (<= 30 s)
 *   ANY  /api/_test/echo/:a/:b        echoes method, params, query, body size
 *   GET  /api/_test/file              streams web/assets/favicon.svg (Range support)
 *   GET  /api/_test/missing-file      a file reply whose file is gone (JSON 404)
 */
#include "core/config.h"
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sleep_route(cl_req *req, cl_res *res)
{
    int ok;
    long ms = cl_req_query_long(req, "ms", 100, &ok);
    if (!ok || ms < 0 || ms > 30000) {
        cl_res_error(res, 400, "invalid_ms", "ms must be between 0 and 30000");
        return;
    }
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
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
    cl_route("GET", "/api/_test/echo/:a/:b", echo_route, 0);
    cl_route("POST", "/api/_test/echo/:a/:b", echo_route, 0);
    cl_route("GET", "/api/_test/files/*", echo_route, CL_ROUTE_INLINE);
    cl_route("GET", "/api/_test/file", file_route, 0);
    cl_route("GET", "/api/_test/missing-file", missing_file_route, 0);
}
