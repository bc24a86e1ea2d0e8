/*
 * fuzz_request.c — libFuzzer target: one HTTP request as handlers see it.
 * Input: "<path>[?<query>]\n<x-forwarded-for>\n<body>". Runs the router
 * (real route patterns), the boundary checks (cl_req_validate), the id and
 * query parsers, the client-address parser, and JSON body parsing with its
 * UTF-8 check, then the draft and brief validators on the body (every
 * route's own body validator runs in fuzz_bodies.c).
 */
#include "core/config.h"
#include "create/create.h"
#include "http/http.h"

#include "fuzz_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void h(cl_req *r, cl_res *s)
{
    (void)r;
    (void)s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *const patterns[] = {"/api/projects/:id",          "/api/projects/:id/documents/:doc",
                                           "/api/chats/:id/messages",    "/api/content-items/:id/render",
                                           "/api/assets/:id",            "/api/chat-jobs/:id/retry",
                                           "/api/_test/echo/:a/:b",      "/api/_test/files/*",
                                           "/r/:slug",                   "/api/me/transactions",
                                           NULL};
    for (int i = 0; patterns[i]; i++) {
        cl_route("POST", patterns[i], h, 0);
        cl_route("GET", patterns[i], h, 0);
    }
    snprintf(cl_cfg.trusted_proxies, sizeof cl_cfg.trusted_proxies, "127.0.0.1, 10.0.0.0/8, fd00::/8");
    return 0;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char *target = fuzz_line(&p, end);
    char *xff = fuzz_line(&p, end);
    cl_req req;
    memset(&req, 0, sizeof req);
    char *q = strchr(target, '?');
    req.query = strdup(q ? q + 1 : "");
    if (q)
        *q = '\0';
    req.method = strdup("POST");
    req.path = target;
    req.body_len = (size_t)(end - p);
    req.body = malloc(req.body_len + 1);
    memcpy(req.body, p, req.body_len);
    req.body[req.body_len] = '\0';
    req.headers = calloc(1, sizeof *req.headers);
    req.headers[0].name = strdup("x-forwarded-for");
    req.headers[0].value = xff;
    req.nheaders = 1;
    snprintf(req.remote_addr, sizeof req.remote_addr, "127.0.0.1");

    cl_res res;
    memset(&res, 0, sizeof res);
    cl_handler_fn fn;
    unsigned flags;
    if (cl_router_match("POST", req.path, &fn, &flags, &req) == 1 && cl_req_validate(&req, &res) == 0) {
        (void)cl_req_param_id(&req, "id");
        (void)cl_req_param(&req, "slug");
    }
    cl_res_clear(&res);
    char small[7], big[300], addr[64];
    int ok;
    int64_t id;
    cl_req_query(&req, "q", small, sizeof small);
    cl_req_query(&req, "q", big, sizeof big);
    (void)cl_req_query_long(&req, "limit", 20, &ok);
    (void)cl_req_query_id(&req, "before", &id);
    cl_req_client_addr(&req, addr, sizeof addr);
    (void)cl_req_from_loopback(&req);

    memset(&res, 0, sizeof res);
    cJSON *body = cl_req_json(&req, &res);
    if (body) {
        (void)cl_json_id(cJSON_GetObjectItem(body, "project_id"));
        char *text = cJSON_PrintUnformatted(body);
        char why[256];
        cJSON *d = text ? cl_draft_validate(text, why, sizeof why) : NULL;
        cJSON_Delete(d);
        cJSON *fields = cJSON_CreateObject();
        (void)cl_brief_check(body, "tiktok", fields);
        cJSON_Delete(fields);
        free(text);
        cJSON_Delete(body);
    }
    cl_res_clear(&res);
    cl_req_clear(&req);
    return 0;
}
