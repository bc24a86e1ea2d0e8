/*
 * credits_routes.c — the signed-in user's plan, usage, credits and ledger:
 *
 *   GET /api/me/plan                       effective plan, limits, costs, subscription
 *   GET /api/me/usage                      counters of the current week and month windows
 *   GET /api/me/credits                    balances and monthly grants
 *   GET /api/me/transactions?limit&before&content_item_id  ledger receipts, newest first (keyset
 *       paging), each with the output it paid for (subject), optionally only one output's
 *
 * With CLIPLOOP_TEST_ROUTES=true (never in a deployment) also
 *   POST /api/_test/credits/charge {action, reference_key}   charge as the session's user
 *   POST /api/_test/credits/refund {reference_key}           refund one of its charges
 * so the HTTP-level tests can drive the ledger the way product routes will.
 *
 * Every route reads only the session's user id; nothing in the request can
 * name another user.
 */
#include "auth/auth.h"
#include "core/json_out.h"
#include "core/config.h"
#include "core/log.h"
#include "credits/credits.h"
#include "cycles/limits.h"
#include "db/db.h"
#include "http/loopdb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The month's grant, applied before the read routes below answer (a failure
   is logged; the route still answers with the balances it has). */
static void grant_owed(PGconn *c, cl_user *u)
{
    char err[256];
    if (cl_credits_grant_if_owed(c, u, err, sizeof err) < 0)
        cl_warn("credits", "monthly grant for user %" PRId64 " failed: %s", u->id, err);
}

static cJSON *limits_json(cl_plan plan)
{
    static const cl_json_field fields[] = {
        CL_JSON_INT(cl_plan_limits, active_projects),    CL_JSON_INT(cl_plan_limits, posts_per_week),
        CL_JSON_INT(cl_plan_limits, posts_per_month),    CL_JSON_INT(cl_plan_limits, regenerations_per_week),
        CL_JSON_INT(cl_plan_limits, renders_per_month),  CL_JSON_INT(cl_plan_limits, publishes_per_month),
        CL_JSON_INT(cl_plan_limits, connected_channels), CL_JSON_I64(cl_plan_limits, media_bytes),
        CL_JSON_INT(cl_plan_limits, media_files),
    };
    cJSON *o = cJSON_CreateObject();
    cl_json_add_fields(o, cl_policy_limits(plan), fields, CL_JSON_NFIELDS(fields));
    return o;
}

static void me_plan(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    grant_owed(c, u);
    cJSON *o = cJSON_CreateObject();
    cJSON *plan = cJSON_AddObjectToObject(o, "plan");
    cJSON_AddStringToObject(plan, "id", cl_plan_id(u->plan));
    cJSON_AddStringToObject(plan, "label", cl_plan_label(u->plan));
    cJSON_AddStringToObject(plan, "reason", u->plan_reason);
    cJSON_AddBoolToObject(o, "beta_approved", u->beta_approved);
    if (u->sub.status == CL_SUB_NONE) {
        cJSON_AddNullToObject(o, "subscription");
    } else {
        cJSON *s = cJSON_AddObjectToObject(o, "subscription");
        cJSON_AddStringToObject(s, "plan", "starter");
        cJSON_AddStringToObject(s, "status", cl_sub_status_name(u->sub.status));
        cJSON_AddBoolToObject(s, "cancel_at_period_end", u->sub.cancel_at_period_end);
        if (u->sub.period_end)
            cJSON_AddNumberToObject(s, "current_period_end", (double)u->sub.period_end);
        else
            cJSON_AddNullToObject(s, "current_period_end");
    }
    cJSON *access = cJSON_AddObjectToObject(o, "access");
    cJSON_AddBoolToObject(access, "product", u->product_access);
    cJSON_AddBoolToObject(access, "invite_only", cl_cfg.invite_only_mode);
    cJSON_AddItemToObject(o, "limits", limits_json(u->plan));
    const cl_plan_limits *l = cl_policy_limits(u->plan);
    cJSON *grants = cJSON_AddObjectToObject(o, "monthly_grants");
    cJSON_AddNumberToObject(grants, "generation", (double)l->monthly_generation_grant);
    cJSON_AddNumberToObject(grants, "render", (double)l->monthly_render_grant);
    cJSON *costs = cJSON_AddArrayToObject(o, "costs");
    for (size_t i = 0; i < cl_policy_action_count(); i++) {
        const cl_action_cost *a = cl_policy_action_at(i);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "action", a->action);
        cJSON_AddStringToObject(x, "label", a->label);
        cJSON_AddStringToObject(x, "kind", cl_credit_kind_name(a->kind));
        cJSON_AddNumberToObject(x, "cost", (double)a->cost);
        cJSON_AddItemToArray(costs, x);
    }
    cl_res_json(res, 200, o);
}

static void me_usage(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    grant_owed(c, u);
    char uid[24], err[256];
    const char *p[] = {cl_db_id(uid, u->id)};
    PGresult *r = cl_db_run(c,
                            "SELECT w.kind, w.start::text, u.metric, u.count"
                            " FROM (VALUES ('week', date_trunc('week', now())::date),"
                            " ('month', date_trunc('month', now())::date)) AS w(kind, start)"
                            " LEFT JOIN usage_counters u ON u.user_id = $1::bigint"
                            " AND u.window_kind = w.kind AND u.window_start = w.start",
                            1, p, err, sizeof err);
    if (!r) {
        cl_error("credits", "usage query failed: %s", err);
        cl_res_error(res, 503, "database_unavailable", "Could not read usage");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *week = cJSON_AddObjectToObject(o, "week");
    cJSON *month = cJSON_AddObjectToObject(o, "month");
    cJSON *wm = cJSON_AddObjectToObject(week, "metrics");
    cJSON *mm = cJSON_AddObjectToObject(month, "metrics");
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *win = strcmp(PQgetvalue(r, i, 0), "week") == 0 ? week : month;
        if (!cJSON_GetObjectItemCaseSensitive(win, "start"))
            cJSON_AddStringToObject(win, "start", PQgetvalue(r, i, 1));
    }
    /* Every reported (metric, window), with 0 when nothing was counted. */
    for (size_t k = 0; k < cl_policy_usage_window_count(); k++) {
        const cl_usage_window *w = cl_policy_usage_window_at(k);
        /* The same count the limits are enforced on (cycles/limits.h: charges
           kept in the window, publishes from the counters). */
        int64_t used = 0;
        if (cl_usage_used(c, u->id, w->metric, w->window, &used, err, sizeof err) != 0) {
            cl_error("credits", "usage count failed: %s", err);
            PQclear(r);
            cJSON_Delete(o);
            cl_res_error(res, 503, "database_unavailable", "Could not read usage");
            return;
        }
        int limit = cl_policy_usage_limit(u->plan, w->metric, w->window);
        cJSON *m = cJSON_AddObjectToObject(strcmp(w->window, "week") == 0 ? wm : mm, w->metric);
        cJSON_AddNumberToObject(m, "used", (double)used);
        if (limit >= 0) {
            cJSON_AddNumberToObject(m, "limit", limit);
            cJSON_AddNumberToObject(m, "remaining", used >= limit ? 0 : (double)(limit - used));
        } else {
            cJSON_AddNullToObject(m, "limit");
            cJSON_AddNullToObject(m, "remaining");
        }
    }
    PQclear(r);
    cJSON_AddStringToObject(o, "note",
                            "Plan limits cap how much each action can run in a week or month; credits pay for the "
                            "work. Chat, exports and the manual queue are free.");
    cl_res_json(res, 200, o);
}

/* The balances came with the session (and were re-read if a grant was
   applied just now): no further statement. */
static void credits_reply(cl_req *req, cl_res *res, const cl_user *u, const PGresult *r)
{
    (void)req;
    (void)r;
    const cl_plan_limits *l = cl_policy_limits(u->plan);
    cl_buf *b = cl_res_json_buf(res, 200, 256);
    int rc = cl_buf_printf(b,
                           "{\"generation\":{\"balance\":%" PRId64 ",\"monthly_grant\":%lld},"
                           "\"render\":{\"balance\":%" PRId64 ",\"monthly_grant\":%lld},\"granted_month\":",
                           u->credits.generation, (long long)l->monthly_generation_grant, u->credits.render,
                           (long long)l->monthly_render_grant);
    rc |= u->credits.granted_month[0] ? cl_buf_json_str(b, u->credits.granted_month) : cl_buf_puts(b, "null");
    rc |= cl_buf_puts(b, ",\"plan\":");
    rc |= cl_buf_json_str(b, cl_plan_id(u->plan));
    rc |= cl_buf_puts(b, "}");
    if (rc != 0)
        cl_res_error(res, 500, "internal", "out of memory");
}

int cl_credits_user_granted(cl_req *req, cl_res *res, cl_user *u)
{
    PGconn *c = cl_auth_open(req, res, u, CL_AUTH_SESSION);
    if (!c)
        return -1;
    grant_owed(c, u);
    cl_db_release(c);
    return 0;
}

/* The blocking handler of the read route below (its own signature). */
static void me_credits(cl_req *req, cl_res *res)
{
    cl_user u;
    if (cl_credits_user_granted(req, res, &u) == 0)
        credits_reply(req, res, &u, NULL);
}

/* On the event loop: the session lookup carries the balances. */
static int credits_plan(cl_req *req, cl_res *res, const cl_user *u, cl_read_stmt *s)
{
    (void)req;
    (void)res;
    s->st = NULL;
    return cl_credits_grant_owed(u); /* a grant to apply: the blocking handler writes it */
}

static const cl_read_route credits_read = {me_credits, CL_AUTH_SESSION, credits_plan, credits_reply, 0};

static void me_transactions(cl_req *req, cl_res *res)
{
    int limit_ok = 1;
    long long limit = cl_req_query_long(req, "limit", 20, &limit_ok);
    int64_t before = 0;
    if (!limit_ok || limit < 1 || limit > 100) {
        cl_auth_field_error(res, 422, "limit", "limit must be a whole number from 1 to 100");
        return;
    }
    if (cl_req_query_id(req, "before", &before) < 0) {
        cl_auth_field_error(res, 422, "before", "before must be a transaction id");
        return;
    }
    int64_t item = 0;
    if (cl_req_query_id(req, "content_item_id", &item) < 0) {
        cl_auth_field_error(res, 422, "content_item_id", "content_item_id must be one of your outputs");
        return;
    }
    cl_user u;
    PGconn *c = cl_auth_open(req, res, &u, CL_AUTH_SESSION);
    if (!c)
        return;
    char uid[24], lim[24], bef[24], iid[24];
    snprintf(uid, sizeof uid, "%" PRId64, u.id);
    snprintf(lim, sizeof lim, "%lld", limit + 1); /* one extra row tells whether there is a next page */
    snprintf(bef, sizeof bef, "%" PRId64, before);
    snprintf(iid, sizeof iid, "%" PRId64, item);
    const char *p[] = {uid, lim, before ? bef : NULL, item ? iid : NULL};
    /* Each entry names what it paid for: the content item its reference key
       belongs to ("content_item:<id>:…" for renders, the item's request key
       plus ":copy"/":render" for generations; "refund:" + either for refunds). */
    PGresult *r = cl_db_query(c,
                              "SELECT e.id, e.action, e.kind, e.reason, e.amount, e.generation_balance_after,"
                              " e.render_balance_after, e.reference_key,"
                              " to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
                              " ci.id, ci.title"
                              " FROM credit_ledger_entries e"
                              " LEFT JOIN LATERAL ("
                              "   SELECT i.id, i.title FROM content_items i WHERE i.user_id = e.user_id AND ("
                              "     i.id = substring(e.reference_key FROM '^(?:refund:)?content_item:([0-9]{1,18}):')::bigint"
                              "     OR i.request_key = regexp_replace(regexp_replace(e.reference_key, '^refund:', ''),"
                              "                                      ':(copy|render)$', ''))"
                              "   LIMIT 1) ci ON true"
                              " WHERE e.user_id = $1::bigint"
                              " AND ($3::bigint IS NULL OR e.id < $3::bigint)"
                              " AND ($4::bigint IS NULL OR ci.id = $4::bigint)"
                              " ORDER BY e.id DESC LIMIT $2::int",
                              4, p);
    cl_db_release(c);
    if (!cl_db_ok(r)) {
        PQclear(r);
        cl_res_error(res, 503, "database_unavailable", "Could not read transactions");
        return;
    }
    int n = PQntuples(r);
    int shown = n > limit ? (int)limit : n;
    cJSON *o = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(o, "items");
    for (int i = 0; i < shown; i++) {
        cl_receipt rc;
        memset(&rc, 0, sizeof rc);
        rc.entry_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        rc.user_id = u.id;
        snprintf(rc.action, sizeof rc.action, "%s", PQgetvalue(r, i, 1));
        snprintf(rc.kind, sizeof rc.kind, "%s", PQgetvalue(r, i, 2));
        snprintf(rc.reason, sizeof rc.reason, "%s", PQgetvalue(r, i, 3));
        rc.amount = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        rc.generation_balance_after = strtoll(PQgetvalue(r, i, 5), NULL, 10);
        rc.render_balance_after = strtoll(PQgetvalue(r, i, 6), NULL, 10);
        snprintf(rc.reference_key, sizeof rc.reference_key, "%s", PQgetvalue(r, i, 7));
        snprintf(rc.created_at, sizeof rc.created_at, "%s", PQgetvalue(r, i, 8));
        cJSON *entry = cl_receipt_json(&rc);
        cJSON_DeleteItemFromObject(entry, "replayed");
        if (!PQgetisnull(r, i, 9)) {
            cJSON *subject = cJSON_AddObjectToObject(entry, "subject");
            cJSON_AddNumberToObject(subject, "content_item_id", (double)strtoll(PQgetvalue(r, i, 9), NULL, 10));
            cJSON_AddStringToObject(subject, "title", PQgetvalue(r, i, 10));
        } else {
            cJSON_AddNullToObject(entry, "subject");
        }
        cJSON_AddItemToArray(items, entry);
    }
    if (n > limit && shown > 0)
        cJSON_AddNumberToObject(o, "next_before", (double)strtoll(PQgetvalue(r, shown - 1, 0), NULL, 10));
    else
        cJSON_AddNullToObject(o, "next_before");
    PQclear(r);
    cl_res_json(res, 200, o);
}

void cl_credits_reply_error(cl_res *res, int rc, const cl_receipt *r, const char *err)
{
    if (rc == CL_CREDITS_INSUFFICIENT && r) {
        cJSON *o = cJSON_CreateObject();
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "code", "insufficient_credits");
        char msg[256];
        snprintf(msg, sizeof msg, "Not enough %s credits: this needs %lld and %lld %s left", r->kind,
                 (long long)r->needed, (long long)r->available, r->available == 1 ? "is" : "are");
        cJSON_AddStringToObject(e, "message", msg);
        cJSON_AddStringToObject(e, "action", r->action);
        cJSON_AddStringToObject(e, "kind", r->kind);
        cJSON_AddNumberToObject(e, "needed", (double)r->needed);
        cJSON_AddNumberToObject(e, "available", (double)r->available);
        cl_res_json(res, 402, o);
        return;
    }
    switch (rc) {
    case CL_CREDITS_INVALID:
        cl_res_error(res, 422, "invalid_charge", "%s", err);
        break;
    case CL_CREDITS_KEY_CONFLICT:
        cl_res_error(res, 409, "reference_key_conflict", "%s", err);
        break;
    case CL_CREDITS_NOT_FOUND:
        cl_res_error(res, 404, "not_found", "%s", err);
        break;
    default:
        cl_error("credits", "credit operation failed: %s", err);
        cl_res_error(res, 500, "internal", "The credit operation failed; nothing was charged twice");
    }
}

int cl_credits_test_body(const cJSON *body, int refund, const char **action, const char **key, cl_body_err *e)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(body, "action");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(body, "reference_key");
    *action = cJSON_GetStringValue(a);
    *key = cJSON_GetStringValue(k);
    if (!refund && !cJSON_IsString(a))
        return cl_body_field(e, 422, "action", "action is required");
    if (!cJSON_IsString(k))
        return cl_body_field(e, 422, "reference_key", "reference_key is required");
    return 0;
}

/* Test-only: charge or refund as the session's user, behind the product gate. */
static void test_credit_op(cl_req *req, cl_res *res, int refund)
{
    cJSON *j = cl_req_json(req, res);
    if (!j)
        return;
    const char *action, *key;
    cl_body_err be = {0};
    if (cl_credits_test_body(j, refund, &action, &key, &be) != 0) {
        cl_res_body_error(res, &be);
        cJSON_Delete(j);
        return;
    }
    char err[256];
    PGconn *c = cl_db_acquire(CL_DB_WAIT_MS, err, sizeof err);
    if (!c) {
        cJSON_Delete(j);
        cl_res_error(res, 503, "database_unavailable", "The database is not reachable");
        return;
    }
    cl_user u;
    if (cl_auth_require_product_access(req, res, c, &u) != 0) {
        cl_db_release(c);
        cJSON_Delete(j);
        return;
    }
    cl_receipt r;
    int rc = refund ? cl_credits_refund(c, u.id, key, &r, err, sizeof err)
                    : cl_credits_charge(c, u.id, action, key, &r, err, sizeof err);
    cl_db_release(c);
    cJSON_Delete(j);
    if (rc != CL_CREDITS_OK) {
        cl_credits_reply_error(res, rc, &r, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "receipt", cl_receipt_json(&r));
    cl_res_json(res, r.replayed ? 200 : 201, o);
}

static void test_charge(cl_req *req, cl_res *res) { test_credit_op(req, res, 0); }
static void test_refund(cl_req *req, cl_res *res) { test_credit_op(req, res, 1); }

void cl_credits_register_routes(void)
{
    if (cl_cfg.test_routes) {
        cl_route("POST", "/api/_test/credits/charge", test_charge, 0);
        cl_route("POST", "/api/_test/credits/refund", test_refund, 0);
    }
    cl_route_user("GET", "/api/me/plan", me_plan, CL_AUTH_SESSION, 0);
    cl_route_user("GET", "/api/me/usage", me_usage, CL_AUTH_SESSION, 0);
    cl_route_read("/api/me/credits", &credits_read);
    cl_route("GET", "/api/me/transactions", me_transactions, 0);
}
