/* Router: literal, :param and wildcard matching, 405 detection, decoding. */
#include "http/http.h"
#include "unit.h"

static void h1(cl_req *q, cl_res *r) { (void)q; (void)r; }
static void h2(cl_req *q, cl_res *r) { (void)q; (void)r; }
static void h3(cl_req *q, cl_res *r) { (void)q; (void)r; }

static int match(const char *m, const char *p, cl_handler_fn *fn, cl_req *req)
{
    unsigned flags = 0;
    memset(req, 0, sizeof *req);
    return cl_router_match(m, p, fn, &flags, req);
}

int main(void)
{
    cl_route("GET", "/api/projects", h1, 0);
    cl_route("GET", "/api/projects/:id", h2, 0);
    cl_route("PATCH", "/api/projects/:id", h3, 0);
    cl_route("GET", "/api/chats/:chat/messages/:msg", h3, CL_ROUTE_INLINE);
    cl_route("GET", "/files/*", h1, 0);

    cl_handler_fn fn = NULL;
    cl_req req;
    CHECK(match("GET", "/api/projects", &fn, &req) == 1 && fn == h1);
    CHECK(match("GET", "/api/projects/", &fn, &req) == 1 && fn == h1); /* trailing slash */
    CHECK(match("GET", "/api/projects/42", &fn, &req) == 1 && fn == h2);
    CHECK_STR(cl_req_param(&req, "id"), "42");
    CHECK(cl_req_param(&req, "nope") == NULL);
    cl_req_clear(&req);

    CHECK(match("PATCH", "/api/projects/7", &fn, &req) == 1 && fn == h3);
    cl_req_clear(&req);
    /* HEAD falls back to GET routes. */
    CHECK(match("HEAD", "/api/projects/7", &fn, &req) == 1 && fn == h2);
    cl_req_clear(&req);
    /* The path exists, the method does not: -1 (405). */
    CHECK(match("DELETE", "/api/projects/7", &fn, &req) == -1);
    cl_req_clear(&req);
    /* No such path at all: 0 (404). */
    CHECK(match("GET", "/api/projects/7/extra", &fn, &req) == 0);
    CHECK(match("GET", "/api/project", &fn, &req) == 0);
    CHECK(match("GET", "/api/projectsX", &fn, &req) == 0);

    CHECK(match("GET", "/api/chats/a%20b/messages/%C3%A9", &fn, &req) == 1);
    CHECK_STR(cl_req_param(&req, "chat"), "a b");
    CHECK_STR(cl_req_param(&req, "msg"), "\xc3\xa9");
    cl_req_clear(&req);
    /* Bad escapes and encoded NUL never match. */
    CHECK(match("GET", "/api/projects/%zz", &fn, &req) == 0);
    CHECK(match("GET", "/api/projects/%00", &fn, &req) == 0);
    CHECK(match("GET", "/api/projects/%4", &fn, &req) == 0);

    CHECK(match("GET", "/files/a/b/c", &fn, &req) == 1 && fn == h1);
    CHECK(match("GET", "/files", &fn, &req) == 1);
    CHECK(match("GET", "/filesX", &fn, &req) == 0);

    /* Error replies have the documented shape and escape the message. */
    cl_res res = {0};
    cl_res_error(&res, 422, "invalid_field", "name \"%s\" is bad", "x\ny");
    CHECK(res.status == 422);
    CHECK_STR(res.body.data, "{\"error\":{\"code\":\"invalid_field\",\"message\":\"name \\\"x\\ny\\\" is bad\"}}");
    cJSON *parsed = cJSON_Parse(res.body.data);
    CHECK(parsed && cJSON_IsObject(cJSON_GetObjectItem(parsed, "error")));
    cJSON_Delete(parsed);
    cl_res_clear(&res);

    /* cl_req_json: object required. */
    cl_req jr = {0};
    jr.body = "[1,2]";
    jr.body_len = 5;
    CHECK(cl_req_json(&jr, &res) == NULL && res.status == 400);
    cl_res_clear(&res);
    jr.body = "{\"a\":1}";
    jr.body_len = 7;
    cJSON *obj = cl_req_json(&jr, &res);
    CHECK(obj && cJSON_GetObjectItem(obj, "a"));
    cJSON_Delete(obj);
    cl_res_clear(&res);

    cl_router_reset();
    return unit_done("test_router");
}
