/*
 * health.c — /healthz (database reachability, for load balancers and
 * scripts/run) and /api/version (a tiny inline route, also the benchmark's
 * JSON route). /api/version also says which LLM provider the server runs and
 * whether MOCK_MODE is on, so the studio can show a "Mock LLM" badge.
 */
#include "health/health.h"
#include "core/config.h"
#include "core/log.h"
#include "core/version.h"
#include "db/db.h"
#include "http/http.h"
#include "tracking/tracking.h"

#include <cjson/cJSON.h>
#include <stdio.h>

/* Pool thread: one round trip to Postgres. 200 when it answers, 503 otherwise. */
static void healthz(cl_req *req, cl_res *res)
{
    (void)req;
    char err[512];
    PGconn *c = cl_db_acquire(CL_DB_WAIT_FAST_MS, err, sizeof err);
    if (c) {
        PGresult *r = cl_db_query(c, "SELECT 1", 0, NULL);
        if (!cl_db_ok(r))
            cl_db_errmsg(c, r, err, sizeof err);
        int ok = cl_db_ok(r);
        PQclear(r);
        cl_db_release(c);
        if (ok) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "status", "ok");
            cJSON_AddStringToObject(o, "database", "ok");
            cJSON_AddItemToObject(o, "tracking", cl_tracking_health_json());
            cl_res_json(res, 200, o);
            return;
        }
    }
    cl_warn("health", "database check failed: %s", err);
    /* The error shape, plus the click writer's counters (clicks dropped while
       the database is away show here). */
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", "database_unavailable");
    cJSON_AddStringToObject(e, "message", "The database is not reachable");
    cJSON_AddItemToObject(o, "tracking", cl_tracking_health_json());
    cl_res_json(res, 503, o);
}

/*
 * The /api/version body, built once when the routes are registered (the
 * configuration is read-only by then), so the inline route stays a single
 * copy on the event loop. The provider id is kept to [A-Za-z0-9_.-] so it
 * never needs JSON escaping.
 */
static char version_json[512];

static void build_version_json(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", "cliploop");
    cJSON_AddStringToObject(o, "version", CLIPLOOP_VERSION);
    cJSON_AddStringToObject(o, "abi", CL_STR(CL_ABI_MAJOR) "." CL_STR(CL_ABI_MINOR));
    cJSON_AddStringToObject(o, "llm_provider", cl_cfg.llm_provider);
    cJSON_AddBoolToObject(o, "mock_mode", cl_cfg.mock_mode);
    if (!cJSON_PrintPreallocated(o, version_json, sizeof version_json, 0))
        snprintf(version_json, sizeof version_json, "{\"name\":\"cliploop\"}");
    cJSON_Delete(o);
}

static void version(cl_req *req, cl_res *res)
{
    (void)req;
    cl_res_json_text(res, 200, version_json);
}

void cl_health_register_routes(void)
{
    build_version_json();
    cl_route("GET", "/healthz", healthz, 0);
    cl_route("GET", "/api/version", version, CL_ROUTE_INLINE);
}
