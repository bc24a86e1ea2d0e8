/*
 * access.c — the waitlist and the mock-mode dev routes.
 *
 *   POST /api/access/request   {email, name?, business?, channels?, note?}   public; always 202, the
 *                              same body for every valid email (no way to learn another's state)
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

/* The answer is the same for every valid email — new, already waiting,
   already approved, or an existing account — so the form cannot be used to
   learn anything about someone else's email. */
static void access_request(cl_req *req, cl_res *res)
{
    if (cl_auth_check_origin(req, res) != 0)
        return;
    cJSON *j = cl_req_json(req, res);
    if (!j)
        return;
    char err[256];
    cl_access_request a;
    cl_body_err be = {0};
    if (cl_access_request_body(j, &a, &be) != 0) {
        cl_res_body_error(res, &be);
        cJSON_Delete(j);
        return;
    }
    PGconn *c = cl_auth_db(res);
    if (!c) {
        cJSON_Delete(j);
        return;
    }
    const char *p[] = {a.email, a.name, a.note, a.business, a.channels};
    /* One statement whatever the email's state: nothing is queued for an
       approved email; a repeat while pending bumps request_count. */
    PGresult *r = cl_db_query(
        c,
        "INSERT INTO access_requests AS a (email, name, note, business, channels)"
        " SELECT $1, $2, $3, $4, $5::text[]"
        " WHERE NOT EXISTS (SELECT 1 FROM access_requests WHERE email = $1 AND status = 'approved')"
        " AND NOT EXISTS (SELECT 1 FROM users WHERE email = $1 AND beta_approved)"
        " ON CONFLICT (email) WHERE status = 'pending'"
        " DO UPDATE SET request_count = a.request_count + 1, updated_at = now(),"
        " name = COALESCE(EXCLUDED.name, a.name), note = COALESCE(EXCLUDED.note, a.note),"
        " business = COALESCE(EXCLUDED.business, a.business),"
        " channels = ARRAY(SELECT DISTINCT unnest(a.channels || EXCLUDED.channels) ORDER BY 1)",
        5, p);
    cJSON_Delete(j);
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, err, sizeof err);
        PQclear(r);
        cl_db_release(c);
        cl_error("access", "access request failed: %s", err);
        cl_res_error(res, 500, "internal", "Could not store the request");
        return;
    }
    PQclear(r);
    cl_db_release(c);
    cl_res_json_text(res, 202,
                     "{\"request\":{\"status\":\"received\"},\"message\":\"Thanks \u2014 your request is in. We will "
                     "email you when a spot opens.\"}");
}

/* The dev routes need no session: only a browser on this machine may use them. */
static int loopback_only(const cl_req *req, cl_res *res)
{
    if (cl_req_from_loopback(req))
        return 0;
    cl_res_error(res, 403, "loopback_only", "This development route answers only requests from this machine");
    return -1;
}

int cl_access_check_mock_exposure(char *err, size_t errlen)
{
    if (!cl_cfg.mock_mode || cl_host_is_loopback(cl_cfg.host))
        return 0;
    if (!cl_cfg.allow_public_mock) {
        snprintf(err, errlen,
                 "MOCK_MODE=true with HOST=%s: mock mode offers a demo log-in without a password and must not be "
                 "reachable from other machines. Use HOST=127.0.0.1, turn MOCK_MODE off, or set "
                 "CLIPLOOP_ALLOW_PUBLIC_MOCK=true to accept this",
                 cl_cfg.host);
        return -1;
    }
    cl_warn("serve", "MOCK_MODE=true on HOST=%s (CLIPLOOP_ALLOW_PUBLIC_MOCK=true): other machines can reach this "
            "mock instance; the demo log-in and approve-user routes still answer loopback only",
            cl_cfg.host);
    return 0;
}

static void dev_demo_login(cl_req *req, cl_res *res)
{
    if (loopback_only(req, res) != 0 || cl_auth_check_origin(req, res) != 0)
        return;
    PGconn *c = cl_auth_db(res);
    if (!c)
        return;
    char err[256];
    const char *p[] = {CL_DEMO_EMAIL};
    PGresult *r = cl_db_query(c,
                              "INSERT INTO users (email, beta_approved, beta_approved_at, is_demo, email_verified_at)"
                              " VALUES ($1, true, now(), true, now())"
                              " ON CONFLICT (email) DO UPDATE SET beta_approved = true, is_demo = true,"
                              " beta_approved_at = COALESCE(users.beta_approved_at, now()),"
                              " email_verified_at = COALESCE(users.email_verified_at, now()), updated_at = now()"
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
    if (loopback_only(req, res) != 0 || cl_auth_check_origin(req, res) != 0)
        return;
    cJSON *j = cl_req_json(req, res);
    if (!j)
        return;
    char email[256], err[256] = "";
    cl_plan plan;
    cl_body_err be = {0};
    int bad = cl_access_approve_body(j, email, &plan, &be);
    cJSON_Delete(j);
    if (bad) {
        cl_res_body_error(res, &be);
        return;
    }
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
    const char *up[] = {cl_db_id(uid, id)};
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
    if (ok && id && plan != CL_PLAN_FREE) {
        /* This route stands in for an operator approving a known account
           by hand: the operator vouches for the person, so the approval
           applies now (a self-service sign-up must follow its link). */
        ok = cl_db_exec(c, "UPDATE users SET email_verified_at = COALESCE(email_verified_at, now()) WHERE id = $1::bigint",
                        1, up, err, sizeof err) == 0;
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

void cl_access_request_route(cl_req *req, cl_res *res) { access_request(req, res); }

void cl_access_register_routes(void)
{
    cl_route("POST", "/api/access/request", access_request, 0);
    if (cl_cfg.mock_mode) {
        cl_route("POST", "/api/dev/demo-login", dev_demo_login, 0);
        cl_route("POST", "/api/dev/approve-user", dev_approve_user, 0);
    }
}
