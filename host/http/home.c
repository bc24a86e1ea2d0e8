/*
 * home.c — GET /api/home: everything the studio's first screen (the
 * dashboard) needs in one answer, so a phone on a slow network waits for
 * one round trip instead of ten.
 *
 * The answer is made of the existing read routes, run in this thread as the
 * same user (same cookies), their bodies spliced in unchanged:
 *   {"onboarding": GET /api/onboarding,
 *    "projects": GET /api/projects, "credits": GET /api/me/credits,
 *    "plan": GET /api/me/plan, "usage": GET /api/me/usage,
 *    "items": GET /api/content-items?limit=8,
 *    "transactions": GET /api/me/transactions?limit=6,
 *    "tracking": GET /api/tracking/items?ids=<the items'>,
 *    "cycles": GET /api/projects/<active>/strategy-cycles | null,
 *    "ingestion": GET /api/projects/<active>/ingestion | null}
 * so each part has exactly the shape (and the checks) of its own route; a
 * part that failed holds that route's {"error":…} body. The active project
 * is the first with status "active", else the first; "ingestion" is only
 * asked when it has a website. When onboarding is not finished the answer
 * is {"onboarding": …} alone (the page goes to onboarding). Signed out: the
 * onboarding route's 401, as it is.
 */
#include "http/home.h"
#include "auth/auth.h"
#include "core/buf.h"
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * GET path?query as outer's user in this thread. Returns the body (caller
 * frees; NULL when the route answered nothing or out of memory) and the
 * status in *status.
 */
static char *sub_get(const cl_req *outer, const char *path, const char *query, int *status)
{
    cl_req sub;
    memset(&sub, 0, sizeof sub);
    sub.method = (char *)"GET";
    sub.path = (char *)path;
    sub.query = (char *)query;
    sub.body = (char *)"";
    sub.headers = outer->headers; /* borrowed: the outer request owns them */
    sub.nheaders = outer->nheaders;
    memcpy(sub.remote_addr, outer->remote_addr, sizeof sub.remote_addr);
    cl_handler_fn fn = NULL;
    unsigned flags = 0;
    cl_res res;
    memset(&res, 0, sizeof res);
    *status = 404;
    char *body = NULL;
    if (cl_router_match("GET", path, &fn, &flags, &sub) == 1) {
        fn(&sub, &res);
        if (res.defer) { /* an inline handler that finishes on the pool: we are on it */
            cl_handler_fn later = res.defer;
            cl_res_clear(&res);
            later(&sub, &res);
        }
        *status = res.status ? res.status : 200;
        if (!res.file_path && res.body.len)
            body = cl_buf_steal(&res.body);
    }
    for (size_t i = 0; i < sub.nparams; i++)
        free(sub.params[i].value); /* names point into the route table */
    cl_res_clear(&res);
    return body;
}

/* Append ,"key":<body or null> to out. */
static void put(cl_buf *out, const char *key, const char *body)
{
    cl_buf_printf(out, "%s\"%s\":%s", out->len > 1 ? "," : "", key, body ? body : "null");
}

/* The active project of a GET /api/projects body: (id, has a website) or id 0. */
static long long active_project(const char *projects_body, int *has_website)
{
    *has_website = 0;
    cJSON *doc = projects_body ? cJSON_Parse(projects_body) : NULL;
    cJSON *list = cJSON_GetObjectItem(doc, "projects"), *pick = NULL, *p;
    cJSON_ArrayForEach(p, list)
    {
        if (!pick)
            pick = p;
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(p, "status"));
        if (st && strcmp(st, "active") == 0) {
            pick = p;
            break;
        }
    }
    long long id = 0;
    if (pick) {
        id = (long long)cl_json_id(cJSON_GetObjectItem(pick, "id"));
        const char *w = cJSON_GetStringValue(cJSON_GetObjectItem(pick, "website_url"));
        *has_website = w && *w;
    }
    cJSON_Delete(doc);
    return id;
}

/* "ids=1,2,3" for the items of a GET /api/content-items body into q ("" when none). */
static void item_ids(const char *items_body, char *q, size_t qlen)
{
    q[0] = '\0';
    cJSON *doc = items_body ? cJSON_Parse(items_body) : NULL, *it;
    size_t n = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(doc, "items"))
    {
        int64_t id = cl_json_id(cJSON_GetObjectItem(it, "id"));
        if (!id)
            continue;
        int w = snprintf(q + n, qlen - n, "%s%lld", n ? "," : "ids=", (long long)id);
        if (w < 0 || (size_t)w >= qlen - n) {
            q[n] = '\0';
            break;
        }
        n += (size_t)w;
    }
    cJSON_Delete(doc);
}

static void home_parts(cl_req *req, cl_res *res);

/* One session lookup for all the parts (cl_auth_memo_begin). */
static void home(cl_req *req, cl_res *res)
{
    cl_auth_memo_begin();
    home_parts(req, res);
    cl_auth_memo_end();
}

static void home_parts(cl_req *req, cl_res *res)
{
    int st = 0;
    char *onboarding = sub_get(req, "/api/onboarding", "", &st);
    if (st != 200) { /* signed out, waitlisted, or the database is down: that answer as it is */
        cl_res_json_text(res, st, onboarding ? onboarding : "{}");
        free(onboarding);
        return;
    }
    cl_buf out = CL_BUF_INIT;
    cl_buf_puts(&out, "{");
    put(&out, "onboarding", onboarding);
    cJSON *o = cJSON_Parse(onboarding);
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(o, "state"));
    int done = state && strcmp(state, "done") == 0;
    cJSON_Delete(o);
    free(onboarding);
    if (done) {
        static const struct {
            const char *key, *path, *query;
        } parts[] = {
            {"credits", "/api/me/credits", ""},
            {"plan", "/api/me/plan", ""},
            {"usage", "/api/me/usage", ""},
            {"transactions", "/api/me/transactions", "limit=6"},
        };
        char *projects = sub_get(req, "/api/projects", "", &st);
        put(&out, "projects", projects);
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
            char *b = sub_get(req, parts[i].path, parts[i].query, &st);
            put(&out, parts[i].key, b);
            free(b);
        }
        char *items = sub_get(req, "/api/content-items", "limit=8", &st);
        put(&out, "items", items);
        char q[256];
        item_ids(st == 200 ? items : NULL, q, sizeof q);
        free(items);
        char *tracking = q[0] ? sub_get(req, "/api/tracking/items", q, &st) : NULL;
        put(&out, "tracking", tracking ? tracking : "{\"items\":[]}");
        free(tracking);
        int has_website = 0;
        long long pid = active_project(projects, &has_website);
        free(projects);
        char path[96];
        char *cycles = NULL, *ingestion = NULL;
        if (pid) {
            snprintf(path, sizeof path, "/api/projects/%lld/strategy-cycles", pid);
            cycles = sub_get(req, path, "", &st);
            if (has_website) {
                snprintf(path, sizeof path, "/api/projects/%lld/ingestion", pid);
                ingestion = sub_get(req, path, "", &st);
            }
        }
        put(&out, "cycles", cycles);
        put(&out, "ingestion", ingestion);
        free(cycles);
        free(ingestion);
    }
    if (cl_buf_puts(&out, "}") != 0 || !out.data) {
        cl_buf_free(&out);
        cl_res_error(res, 500, "internal", "out of memory");
        return;
    }
    cl_res_json_text(res, 200, out.data);
    cl_buf_free(&out);
}

void cl_home_register_routes(void) { cl_route("GET", "/api/home", home, 0); }
