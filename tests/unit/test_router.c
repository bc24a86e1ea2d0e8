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

    /* Routes starting with a capture are tried in registration order with
       the literal ones: an earlier capture route wins over a later literal,
       a later one only matches what no literal took. */
    cl_router_reset();
    cl_route("GET", "/first/:x", h1, 0);
    cl_route("GET", "/:slug", h2, 0);
    cl_route("GET", "/about", h3, 0);
    cl_route("GET", "/:a/:b", h3, 0);
    cl_route("POST", "/first/literal", h3, 0);
    CHECK(match("GET", "/about", &fn, &req) == 1 && fn == h2); /* "/:slug" came first */
    cl_req_clear(&req);
    CHECK(match("GET", "/zzz", &fn, &req) == 1 && fn == h2);
    CHECK_STR(cl_req_param(&req, "slug"), "zzz");
    cl_req_clear(&req);
    CHECK(match("GET", "/first/literal", &fn, &req) == 1 && fn == h1);
    cl_req_clear(&req);
    CHECK(match("GET", "/other/thing", &fn, &req) == 1 && fn == h3);
    cl_req_clear(&req);
    CHECK(match("DELETE", "/first/literal", &fn, &req) == -1);
    CHECK(match("GET", "/", &fn, &req) == 0);
    /* More distinct first segments than the index holds: still matched. */
    cl_router_reset();
    static char pats[80][24];
    for (int i = 0; i < 80; i++) {
        snprintf(pats[i], sizeof pats[i], "/p%d/:id", i);
        cl_route("GET", pats[i], i % 2 ? h1 : h2, 0);
    }
    CHECK(match("GET", "/p79/5", &fn, &req) == 1 && fn == h1);
    cl_req_clear(&req);
    CHECK(match("GET", "/p0/5", &fn, &req) == 1 && fn == h2);
    cl_req_clear(&req);
    CHECK(match("GET", "/p80/5", &fn, &req) == 0);
    cl_router_reset();

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

    /* Query strings and id parameters: one parser for every handler. */
    cl_req q = {0};
    char v[32];
    q.query = "limit=20&q=caf%C3%A9+au+lait&flag&empty=&download=1&bad=%zz%4&nul=a%00b";
    CHECK(cl_req_query(&q, "limit", v, sizeof v) == 1);
    CHECK_STR(v, "20");
    CHECK(cl_req_query(&q, "q", v, sizeof v) == 1);
    CHECK_STR(v, "caf\xc3\xa9 au lait");
    CHECK(cl_req_query(&q, "flag", v, sizeof v) == 1);
    CHECK_STR(v, "");
    CHECK(cl_req_query(&q, "empty", v, sizeof v) == 1);
    CHECK_STR(v, "");
    CHECK(cl_req_query(&q, "nul", v, sizeof v) == 1);
    CHECK_STR(v, "ab"); /* an encoded NUL never reaches a C string */
    CHECK(cl_req_query(&q, "bad", v, sizeof v) == 1);
    CHECK_STR(v, "%zz%4"); /* bad escapes stay literal */
    CHECK(cl_req_query(&q, "missing", v, sizeof v) == 0);
    CHECK_STR(v, "");
    CHECK(cl_req_query(&q, "load", v, sizeof v) == 0); /* "download" is not "load" */
    char tiny[4];
    CHECK(cl_req_query(&q, "q", tiny, sizeof tiny) == 1);
    CHECK_STR(tiny, "caf"); /* truncated, still terminated */
    int ok = 0;
    CHECK(cl_req_query_long(&q, "limit", 5, &ok) == 20 && ok);
    CHECK(cl_req_query_long(&q, "missing", 5, &ok) == 5 && ok);
    CHECK(cl_req_query_long(&q, "q", 5, &ok) == 0 && !ok);
    CHECK(cl_req_query_long(&q, "empty", 5, &ok) == 0 && !ok);

    cl_req ids = {0};
    char a[] = "42", b[] = "0", c2[] = "-3", d[] = "12x", e[] = "9223372036854775808", f[] = "1e3",
         g[] = "9223372036854775807";
    cl_kv params[] = {{"a", a}, {"b", b}, {"c", c2}, {"d", d}, {"e", e}, {"f", f}, {"g", g}};
    for (size_t i = 0; i < 7; i++)
        ids.params[i] = params[i];
    ids.nparams = 7;
    CHECK(cl_req_param_id(&ids, "a") == 42);
    CHECK(cl_req_param_id(&ids, "b") == 0);
    CHECK(cl_req_param_id(&ids, "c") == 0);
    CHECK(cl_req_param_id(&ids, "d") == 0);
    CHECK(cl_req_param_id(&ids, "e") == 0); /* INT64_MAX + 1: out of range */
    CHECK(cl_req_param_id(&ids, "f") == 0);
    CHECK(cl_req_param_id(&ids, "g") == INT64_MAX);
    CHECK(cl_req_param_id(&ids, "nope") == 0);
    CHECK(cl_parse_id("18446744073709551616") == 0);
    CHECK(cl_parse_id(" 1") == 0 && cl_parse_id("+1") == 0 && cl_parse_id("") == 0 && cl_parse_id(NULL) == 0);

    /* Body ids: whole JSON numbers 1..2^53-1; the range is checked before any cast. */
    const char *bad[] = {"1e19", "1e999", "-1e999", "18446744073709551616", "9007199254740992", "1.5", "0",
                         "-3", "\"12\"", "true", "null"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *j = cJSON_Parse(bad[i]);
        CHECK(cl_json_id(j) == 0);
        cJSON_Delete(j);
    }
    cJSON *j = cJSON_Parse("9007199254740991");
    CHECK(cl_json_id(j) == 9007199254740991LL);
    cJSON_Delete(j);
    j = cJSON_Parse("42.0");
    CHECK(cl_json_id(j) == 42);
    cJSON_Delete(j);
    CHECK(cl_json_id(NULL) == 0);

    cl_router_reset();
    return unit_done("test_router");
}
