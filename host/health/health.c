/*
 * health.c — /healthz (database reachability, for load balancers and
 * scripts/run) and /api/version (a tiny inline route, also the benchmark's
 * JSON route).
 */
#include "health/health.h"
#include "core/log.h"
#include "core/version.h"
#include "db/db.h"
#include "http/http.h"

#include <stdio.h>

/* Pool thread: one round trip to Postgres. 200 when it answers, 503 otherwise. */
static void healthz(cl_req *req, cl_res *res)
{
    (void)req;
    char err[512];
    PGconn *c = cl_db_acquire(2000, err, sizeof err);
    if (c) {
        PGresult *r = cl_db_query(c, "SELECT 1", 0, NULL);
        if (!cl_db_ok(r))
            cl_db_errmsg(c, r, err, sizeof err);
        int ok = cl_db_ok(r);
        PQclear(r);
        cl_db_release(c);
        if (ok) {
            cl_res_json_text(res, 200, "{\"status\":\"ok\",\"database\":\"ok\"}");
            return;
        }
    }
    cl_warn("health", "database check failed: %s", err);
    cl_res_error(res, 503, "database_unavailable", "The database is not reachable");
}

static void version(cl_req *req, cl_res *res)
{
    (void)req;
    cl_res_json_text(res, 200,
                     "{\"name\":\"cliploop\",\"version\":\"" CLIPLOOP_VERSION "\",\"abi\":\"" CL_STR(
                         CL_ABI_MAJOR) "." CL_STR(CL_ABI_MINOR) "\"}");
}

void cl_health_register_routes(void)
{
    cl_route("GET", "/healthz", healthz, 0);
    cl_route("GET", "/api/version", version, CL_ROUTE_INLINE);
}
