/*
 * access.c — the waitlist and the mock-mode dev routes.
 *
 *   POST /api/access/request   {email, name?, note?}   public; 201 new, 200 duplicate
 *   POST /api/dev/demo-login                           MOCK_MODE only: sign in as the demo user
 *   POST /api/dev/approve-user {email, plan}           MOCK_MODE only: approve / set a plan
 *
 * Outside MOCK_MODE the /api/dev routes are never registered, so they answer
 * the router's JSON 404 like any unknown path.
 */
#include "auth/auth.h"
#include "auth/auth_internal.h"
#include "core/config.h"
#include "core/log.h"
#include "credits/credits.h"
#include "db/db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An optional string field: 0 ok (*out NULL when absent), -1 reply set. */
static int opt_string(const cJSON *j, const char *name, size_t max, const char **out, cl_res *res)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || strlen(v->valuestring) > max) {
        char msg[96];
        snprintf(msg, sizeof msg, "Must be text of at most %zu characters", max);
        cl_auth_field_error(res, 422, name, msg);
        return -1;
    }
    *out = v->valuestring[0] ? v->valuestring : NULL;
    return 0;
}

static void access_request(cl_req *req, cl_res *res)
{
    if (cl_auth_check_origin(req, res) != 0)
        return;
    cJSON *j = cl_req_json(req, res);
    if (!j)
        return;
    char email[256], err[256];
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "email");
    const char *name, *note;
    if (!cJSON_IsString(e) || cl_email_normalize(e->valuestring, email, sizeof email) != 0) {
        cl_auth_field_error(res, 422, "email", "Enter a valid email address");
        cJSON_Delete(j);
        return;
    }
    if (opt_string(j, "name", 200, &name, res) || opt_string(j, "note", 2000, &note, res)) {
        cJSON_Delete(j);
        return;
    }
    PGconn *c = cl_auth_db(res);
    if (!c) {
        cJSON_Delete(j);
        return;
    }
    const char *p[] = {email, name, note};
    /* Already approved (an approved request or an approved account)? */
    PGresult *r = cl_db_query(c,
                              "SELECT EXISTS (SELECT 1 FROM access_requests WHERE email = $1 AND status = 'approved')"
                              " OR EXISTS (SELECT 1 FROM users WHERE email = $1 AND beta_approved)",
                              1, p);
    int approved = cl_db_ok(r) && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (approved) {
        cl_db_release(c);
        cJSON_Delete(j);
        cl_res_json_text(res, 200, "{\"request\":{\"status\":\"approved\"},\"duplicate\":false}");
        return;
    }
    /* One pending request per email: a repeat bumps request_count. */
    r = cl_db_query(c,
                    "INSERT INTO access_requests AS a (email, name, note) VALUES ($1, $2, $3)"
                    " ON CONFLICT (email) WHERE status = 'pending'"
                    " DO UPDATE SET request_count = a.request_count + 1, updated_at = now(),"
                    " name = COALESCE(EXCLUDED.name, a.name), note = COALESCE(EXCLUDED.note, a.note)"
                    " RETURNING id, (xmax = 0), request_count,"
                    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
                    3, p);
    cJSON_Delete(j);
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        cl_db_errmsg(c, r, err, sizeof err);
        PQclear(r);
        cl_db_release(c);
        cl_error("access", "access request failed: %s", err);
        cl_res_error(res, 500, "internal", "Could not store the request");
        return;
    }
    int created = PQgetvalue(r, 0, 1)[0] == 't';
    cJSON *o = cJSON_CreateObject();
    cJSON *rq = cJSON_AddObjectToObject(o, "request");
    cJSON_AddNumberToObject(rq, "id", (double)strtoll(PQgetvalue(r, 0, 0), NULL, 10));
    cJSON_AddStringToObject(rq, "email", email);
    cJSON_AddStringToObject(rq, "status", "pending");
    cJSON_AddNumberToObject(rq, "request_count", (double)strtol(PQgetvalue(r, 0, 2), NULL, 10));
    cJSON_AddStringToObject(rq, "created_at", PQgetvalue(r, 0, 3));
    cJSON_AddBoolToObject(o, "duplicate", !created);
    PQclear(r);
    cl_db_release(c);
    cl_res_json(res, created ? 201 : 200, o);
}

static void dev_demo_login(cl_req *req, cl_res *res)
{
    if (cl_auth_check_origin(req, res) != 0)
        return;
    PGconn *c = cl_auth_db(res);
    if (!c)
        return;
    char err[256];
    const char *p[] = {CL_DEMO_EMAIL};
    PGresult *r = cl_db_query(c,
                              "INSERT INTO users (email, beta_approved, beta_approved_at, is_demo)"
                              " VALUES ($1, true, now(), true)"
                              " ON CONFLICT (email) DO UPDATE SET beta_approved = true, is_demo = true,"
                              " beta_approved_at = COALESCE(users.beta_approved_at, now()), updated_at = now()"
                              " RETURNING id",
                              1, p);
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        cl_db_errmsg(c, r, err, sizeof err);
        PQclear(r);
        cl_db_release(c);
        cl_error("access", "demo user: %s", err);
        cl_res_error(res, 500, "internal", "Could not create the demo user");
        return;
    }
    int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    cl_auth_sign_in(c, req, res, id, 200);
    cl_db_release(c);
}

static void dev_approve_user(cl_req *req, cl_res *res)
{
    if (cl_auth_check_origin(req, res) != 0)
        return;
    cJSON *j = cl_req_json(req, res);
    if (!j)
        return;
    char email[256], err[256] = "";
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "email");
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(j, "plan");
    cl_plan plan = CL_PLAN_BETA;
    if (!cJSON_IsString(e) || cl_email_normalize(e->valuestring, email, sizeof email) != 0) {
        cl_auth_field_error(res, 422, "email", "Enter a valid email address");
        cJSON_Delete(j);
        return;
    }
    if (pl && !cJSON_IsNull(pl) && (!cJSON_IsString(pl) || cl_plan_parse(pl->valuestring, &plan) != 0)) {
        cl_auth_field_error(res, 422, "plan", "Plan must be free, beta or starter (Pro)");
        cJSON_Delete(j);
        return;
    }
    cJSON_Delete(j);
    PGconn *c = cl_auth_db(res);
    if (!c)
        return;
    const char *p[] = {email};
    int ok = cl_db_begin(c) == 0;
    PGresult *r = ok ? cl_db_query(c, "SELECT id FROM users WHERE email = $1 FOR UPDATE", 1, p) : NULL;
    ok = ok && cl_db_ok(r);
    int64_t id = ok && PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, id);
    const char *up[] = {uid};
    if (ok && !id && plan != CL_PLAN_BETA) {
        cl_db_rollback(c);
        cl_db_release(c);
        cl_res_error(res, 404, "user_not_found", "No account for %s; only beta approval can wait for sign-up",
                     email);
        return;
    }
    if (ok && plan != CL_PLAN_FREE) {
        /* Approve any pending request, or record an approved one so a later
           sign-up with this email is approved. */
        ok = cl_db_exec(c,
                        "WITH upd AS (UPDATE access_requests SET status = 'approved', decided_at = now(),"
                        " updated_at = now() WHERE email = $1 AND status = 'pending' RETURNING id)"
                        " INSERT INTO access_requests (email, status, decided_at)"
                        " SELECT $1, 'approved', now() WHERE NOT EXISTS (SELECT 1 FROM upd)"
                        " AND NOT EXISTS (SELECT 1 FROM access_requests WHERE email = $1 AND status = 'approved')",
                        1, p, err, sizeof err) == 0;
    }
    if (ok && id) {
        switch (plan) {
        case CL_PLAN_BETA:
            ok = cl_db_exec(c,
                            "UPDATE users SET beta_approved = true, beta_approved_at = COALESCE(beta_approved_at, now()),"
                            " updated_at = now() WHERE id = $1::bigint",
                            1, up, err, sizeof err) == 0 &&
                 cl_db_exec(c, "DELETE FROM subscriptions WHERE user_id = $1::bigint", 1, up, err, sizeof err) == 0;
            break;
        case CL_PLAN_STARTER:
            ok = cl_db_exec(c,
                            "INSERT INTO subscriptions (user_id, provider, plan, status, cancel_at_period_end,"
                            " current_period_end) VALUES ($1::bigint, 'mock', 'starter', 'active', false,"
                            " now() + interval '30 days')"
                            " ON CONFLICT (user_id) DO UPDATE SET provider = 'mock', status = 'active',"
                            " cancel_at_period_end = false, current_period_end = now() + interval '30 days',"
                            " updated_at = now()",
                            1, up, err, sizeof err) == 0;
            break;
        case CL_PLAN_FREE:
            ok = cl_db_exec(c,
                            "UPDATE users SET beta_approved = false, beta_approved_at = NULL, updated_at = now()"
                            " WHERE id = $1::bigint",
                            1, up, err, sizeof err) == 0 &&
                 cl_db_exec(c, "DELETE FROM subscriptions WHERE user_id = $1::bigint", 1, up, err, sizeof err) == 0;
            break;
        }
    }
    if (!ok || cl_db_commit(c) != 0) {
        cl_db_rollback(c);
        cl_db_release(c);
        cl_error("access", "approve-user failed: %s", err);
        cl_res_error(res, 500, "internal", "Could not update the user");
        return;
    }
    cl_db_release(c);
    cl_info("access", "dev approve-user: %s -> %s", email, cl_plan_id(plan));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "email", email);
    cJSON_AddStringToObject(o, "plan", cl_plan_id(plan));
    cJSON_AddBoolToObject(o, "user_exists", id != 0);
    cl_res_json(res, 200, o);
}

void cl_access_register_routes(void)
{
    cl_route("POST", "/api/access/request", access_request, 0);
    if (cl_cfg.mock_mode) {
        cl_route("POST", "/api/dev/demo-login", dev_demo_login, 0);
        cl_route("POST", "/api/dev/approve-user", dev_approve_user, 0);
    }
}
