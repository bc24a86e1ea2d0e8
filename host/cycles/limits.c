/*
 * limits.c — plan limits from the ledger (limits.h).
 */
#include "cycles/limits.h"
#include "core/log.h"
#include "credits/credits.h"
#include "credits/policy.h"
#include "db/db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Charges per action in the window that were not refunded. */
static const char USED_SQL[] =
    "SELECT l.action, count(*) FROM credit_ledger_entries l"
    " WHERE l.user_id = $1::bigint AND l.reason = 'charge'"
    "   AND l.created_at >= date_trunc($2::text, now())"
    "   AND NOT EXISTS (SELECT 1 FROM credit_ledger_entries r WHERE r.refunds_entry_id = l.id)"
    " GROUP BY l.action";

int cl_usage_used(PGconn *c, int64_t user_id, const char *metric, const char *window, int64_t *used, char *err,
                  size_t errlen)
{
    *used = 0;
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    if (strcmp(metric, CL_METRIC_PUBLISHES) == 0) {
        const char *p[] = {uid, metric, window};
        PGresult *r =
            cl_db_run(c,
                      "SELECT coalesce(sum(count), 0) FROM usage_counters WHERE user_id = $1::bigint"
                      " AND metric = $2 AND window_kind = $3"
                      " AND window_start = date_trunc($3::text, now())::date",
                      3, p, err, errlen);
        if (!r)
            return -1;
        *used = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        return 0;
    }
    const char *p[] = {uid, window};
    PGresult *r = cl_db_run(c, USED_SQL, 2, p, err, errlen);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        const cl_action_cost *a = cl_policy_action(PQgetvalue(r, i, 0));
        if (a && a->usage_metric && strcmp(a->usage_metric, metric) == 0)
            *used += strtoll(PQgetvalue(r, i, 1), NULL, 10) * a->usage_units;
    }
    PQclear(r);
    return 0;
}

static const char *limit_name(const char *metric, const char *window)
{
    if (strcmp(metric, CL_METRIC_POSTS_GENERATED) == 0)
        return strcmp(window, "week") == 0 ? "posts_per_week" : "posts_per_month";
    if (strcmp(metric, CL_METRIC_REGENERATIONS) == 0)
        return "regenerations_per_week";
    if (strcmp(metric, CL_METRIC_RENDERS) == 0)
        return "renders_per_month";
    return "publishes_per_month";
}

static const char *metric_words(const char *metric)
{
    if (strcmp(metric, CL_METRIC_POSTS_GENERATED) == 0)
        return "posts generated";
    if (strcmp(metric, CL_METRIC_REGENERATIONS) == 0)
        return "regenerations";
    if (strcmp(metric, CL_METRIC_RENDERS) == 0)
        return "renders";
    return "publishes";
}

int cl_limits_lock_account(PGconn *c, int64_t user_id, cl_res *res)
{
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    PGresult *r = cl_db_query(c, "SELECT 1 FROM credit_accounts WHERE user_id = $1 FOR UPDATE", 1, (const char *[]){uid});
    int ok = cl_db_ok(r);
    PQclear(r);
    if (!ok)
        cl_res_error(res, 500, "internal", "Could not charge your credits; nothing was charged");
    return ok ? 0 : -1;
}

int cl_limits_check(PGconn *c, const cl_user *u, const char *action, int units, cl_res *res)
{
    const cl_action_cost *a = cl_policy_action(action);
    if (!a || !a->usage_metric)
        return 0;
    static const char *const windows[] = {"week", "month"};
    for (int w = 0; w < 2; w++) {
        int limit = cl_policy_usage_limit(u->plan, a->usage_metric, windows[w]);
        if (limit < 0)
            continue;
        int64_t used = 0;
        char err[256];
        if (cl_usage_used(c, u->id, a->usage_metric, windows[w], &used, err, sizeof err) != 0) {
            cl_error("limits", "usage of %s: %s", a->usage_metric, err);
            cl_res_error(res, 500, "internal", "Could not check your plan's limits; nothing was charged");
            return -1;
        }
        if (used + units <= limit)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "code", "plan_limit_reached");
        char msg[300];
        snprintf(msg, sizeof msg,
                 "Your %s plan allows %d %s per %s; %" PRId64 " used, this needs %d. Nothing was charged.",
                 cl_plan_label(u->plan), limit, metric_words(a->usage_metric), windows[w], used, units);
        cJSON_AddStringToObject(e, "message", msg);
        cJSON_AddStringToObject(e, "limit_name", limit_name(a->usage_metric, windows[w]));
        cJSON_AddStringToObject(e, "metric", a->usage_metric);
        cJSON_AddStringToObject(e, "window", windows[w]);
        cJSON_AddNumberToObject(e, "limit", limit);
        cJSON_AddNumberToObject(e, "used", (double)used);
        cJSON_AddNumberToObject(e, "needed", units);
        cl_res_json(res, 429, o);
        return 1;
    }
    return 0;
}

cJSON *cl_limits_json(PGconn *c, const cl_user *u)
{
    static const struct {
        const char *metric, *window;
    } rows[] = {{CL_METRIC_POSTS_GENERATED, "week"},
                {CL_METRIC_POSTS_GENERATED, "month"},
                {CL_METRIC_REGENERATIONS, "week"},
                {CL_METRIC_RENDERS, "month"},
                {CL_METRIC_PUBLISHES, "month"}};
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        int64_t used = 0;
        char err[256];
        if (cl_usage_used(c, u->id, rows[i].metric, rows[i].window, &used, err, sizeof err) != 0) {
            cl_error("limits", "usage of %s: %s", rows[i].metric, err);
            cJSON_Delete(o);
            return NULL;
        }
        int limit = cl_policy_usage_limit(u->plan, rows[i].metric, rows[i].window);
        cJSON *l = cJSON_AddObjectToObject(o, limit_name(rows[i].metric, rows[i].window));
        cJSON_AddNumberToObject(l, "used", (double)used);
        if (limit < 0) {
            cJSON_AddNullToObject(l, "limit");
            cJSON_AddNullToObject(l, "remaining");
        } else {
            cJSON_AddNumberToObject(l, "limit", limit);
            cJSON_AddNumberToObject(l, "remaining", (double)(used >= limit ? 0 : limit - used));
        }
    }
    return o;
}
