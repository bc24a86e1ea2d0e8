/*
 * performance_routes.c — the performance routes (metrics.h). Read routes
 * only read: a cycle never rolled up answers its items with null metrics
 * and "rolled_up_at": null.
 */
#include "auth/auth.h"
#include "core/log.h"
#include "db/db.h"
#include "http/http.h"
#include "metrics/metrics.h"
#include "http/db_reply.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "performance"


/* The scored revenue of a daily row d: its revenue in the cycle's currency ($cur). */
#define ITEM_JSON                                                                                  \
    "json_build_object('id', i.id, 'position', i.position, 'title', i.title, 'channel', i.channel,"  \
    " 'hook', i.draft->>'hook', 'angle', coalesce(i.draft->>'angle', i.brief->>'angle', ''),"       \
    " 'caption', i.draft->>'caption', 'publish_status', i.publish_status,"                          \
    " 'publish_strategy', i.publish_strategy, 'published_at', i.published_at,"                      \
    " 'parent_id', i.parent_id, 'derived_label', i.derived_label, 'cycle_id', i.cycle_id,"          \
    " 'tracking_slug', i.tracking_slug,"                                                            \
    " 'clicks', r.clicks, 'unique_clicks', r.unique_clicks, 'bot_clicks', r.bot_clicks,"            \
    " 'signups', r.signups, 'conversions', r.conversions, 'conversions_by_type', r.conversions_by_type," \
    " 'revenue', r.revenue, 'revenue_scored_minor', r.revenue_scored_minor, 'views', r.views,"      \
    " 'views_source', r.views_source, 'ctr', r.ctr, 'score', r.score, 'class', r.class, 'rank', r.rank)"

/* The cycle's performance document ($1 cycle, $2 user). */
static const char *const SQL_CYCLE =
    "WITH y AS (SELECT y.*, p.timezone, coalesce(p.currency, (SELECT e.currency FROM tracking_events e"
    "            WHERE e.project_id = p.id AND e.kind = 'revenue' ORDER BY e.occurred_at, e.id LIMIT 1)) AS cur"
    "           FROM strategy_cycles y JOIN projects p ON p.id = y.project_id"
    "           WHERE y.id = $1 AND y.user_id = $2 AND p.owner_id = $2),"
    " days AS (SELECT (y.week_start + g)::date AS day FROM y, generate_series(0, 6) g)"
    " SELECT json_build_object("
    "  'cycle', json_build_object('id', y.id, 'project_id', y.project_id, 'week_start', y.week_start,"
    "    'week_end', y.week_start + 6, 'source', y.source, 'parent_cycle_id', y.parent_cycle_id,"
    "    'next_cycle_id', y.next_cycle_id, 'status', y.status, 'timezone', y.timezone,"
    "    'rolled_up_at', y.rolled_up_at, 'rollup_runs', y.rollup_runs),"
    "  'currency', y.cur,"
    "  'items', coalesce((SELECT json_agg(" ITEM_JSON " ORDER BY i.position NULLS LAST, i.id)"
    "    FROM content_items i LEFT JOIN item_cycle_rollups r ON r.cycle_id = y.id AND r.content_item_id = i.id"
    "    WHERE i.cycle_id = y.id AND i.publish_status <> 'skipped'), '[]'),"
    "  'totals', (SELECT json_build_object('clicks', coalesce(sum(r.clicks), 0),"
    "    'unique_clicks', coalesce(sum(r.unique_clicks), 0), 'signups', coalesce(sum(r.signups), 0),"
    "    'conversions', coalesce(sum(r.conversions), 0),"
    "    'revenue_scored_minor', coalesce(sum(r.revenue_scored_minor), 0),"
    "    'views', sum(r.views), 'winners', count(*) FILTER (WHERE r.class = 'winner'),"
    "    'losers', count(*) FILTER (WHERE r.class = 'loser'))"
    "    FROM item_cycle_rollups r WHERE r.cycle_id = y.id),"
    "  'revenue', (SELECT coalesce(json_object_agg(cur, n), '{}') FROM (SELECT kv.key AS cur,"
    "    sum(kv.value::bigint) AS n FROM item_cycle_rollups r, jsonb_each_text(r.revenue) kv"
    "    WHERE r.cycle_id = y.id GROUP BY 1) s),"
    "  'days', (SELECT json_agg(json_build_object('day', x.day, 'clicks', x.clicks, 'signups', x.signups,"
    "    'conversions', x.conversions, 'revenue_scored_minor', x.rev) ORDER BY x.day)"
    "    FROM (SELECT d.day, coalesce(sum(dr.clicks), 0) AS clicks, coalesce(sum(dr.signups), 0) AS signups,"
    "      coalesce(sum(dr.conversions), 0) AS conversions, coalesce(sum((dr.revenue->>y.cur)::bigint), 0) AS rev"
    "      FROM days d LEFT JOIN item_daily_rollups dr ON dr.cycle_id = y.id AND dr.day = d.day GROUP BY d.day) x),"
    "  'item_days', coalesce((SELECT json_agg(json_build_object('content_item_id', dr.content_item_id,"
    "    'day', dr.day, 'clicks', dr.clicks, 'signups', dr.signups,"
    "    'revenue_scored_minor', coalesce((dr.revenue->>y.cur)::bigint, 0)) ORDER BY dr.day, dr.content_item_id)"
    "    FROM item_daily_rollups dr WHERE dr.cycle_id = y.id), '[]')"
    " ) FROM y";

static int reply_cycle_performance(cl_res *res, PGconn *c, const char *sid, const char *uid, int status)
{
    const char *p[] = {sid, uid};
    PGresult *r = cl_db_query(c, SQL_CYCLE, 2, p);
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, COMP, c, r, "cycle performance");
        PQclear(r);
        return -1;
    }
    if (PQntuples(r) == 0)
        cl_res_error(res, 404, "not_found", "No strategy cycle %s", sid);
    else
        cl_res_json_text(res, status, PQgetvalue(r, 0, 0));
    int found = PQntuples(r);
    PQclear(r);
    return found ? 0 : -1;
}

/* GET /api/strategy-cycles/:id/performance */
static void cycle_performance(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char sid[24], uid[24];
    snprintf(sid, sizeof sid, "%" PRId64, cl_req_param_id(req, "id"));
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    reply_cycle_performance(res, c, sid, uid, 200);
}

/* POST /api/strategy-cycles/:id/rollup — roll up now; the performance document. */
static void rollup_now(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t id = cl_req_param_id(req, "id");
    char sid[24], uid[24];
    const char *p[] = {cl_db_id(sid, id), cl_db_id(uid, u->id)};
    PGresult *r = cl_res_db_get(res, COMP, c,
                                "SELECT 1 FROM strategy_cycles y JOIN projects p ON p.id = y.project_id"
                                " WHERE y.id = $1 AND y.user_id = $2 AND p.owner_id = $2",
                                2, p, "read cycle", "No strategy cycle %s", sid);
    if (r) {
        char err[256] = "";
        if (cl_rollup_cycle(c, id, 0, 0, err, sizeof err) < 0) {
            cl_error(COMP, "roll-up of cycle %s: %s", sid, err);
            cl_res_error(res, 500, "internal", "Could not roll up the week; nothing was changed");
        } else {
            reply_cycle_performance(res, c, sid, uid, 200);
        }
    }
    PQclear(r);
}

/* "YYYY-MM-DD" with plausible digits (Postgres checks the calendar). */
static int date_shape(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* The project's performance ($1 project, $2 user, $3 from, $4 to). */
static const char *const SQL_PROJECT =
    "WITH p AS (SELECT p.id, p.timezone, coalesce(p.currency, (SELECT e.currency FROM tracking_events e"
    "            WHERE e.project_id = p.id AND e.kind = 'revenue' ORDER BY e.occurred_at, e.id LIMIT 1)) AS cur"
    "           FROM projects p WHERE p.id = $1 AND p.owner_id = $2),"
    " ys AS (SELECT y.* FROM strategy_cycles y, p WHERE y.project_id = p.id"
    "        AND y.week_start + 6 >= $3::date AND y.week_start <= $4::date),"
    " days AS (SELECT d::date AS day FROM generate_series($3::date, $4::date, interval '1 day') d)"
    " SELECT json_build_object('project_id', p.id, 'timezone', p.timezone, 'currency', p.cur,"
    "  'from', $3::date, 'to', $4::date,"
    "  'weeks', coalesce((SELECT json_agg(json_build_object('cycle_id', y.id, 'week_start', y.week_start,"
    "    'week_end', y.week_start + 6, 'source', y.source, 'parent_cycle_id', y.parent_cycle_id,"
    "    'rolled_up_at', y.rolled_up_at,"
    "    'items', (SELECT count(*) FROM content_items i WHERE i.cycle_id = y.id AND i.publish_status <> 'skipped'),"
    "    'clicks', coalesce(t.clicks, 0), 'signups', coalesce(t.signups, 0),"
    "    'conversions', coalesce(t.conversions, 0), 'revenue_scored_minor', coalesce(t.rev, 0),"
    "    'winners', coalesce(t.winners, 0), 'top_score', t.top)"
    "    ORDER BY y.week_start)"
    "    FROM ys y LEFT JOIN LATERAL (SELECT sum(r.clicks) AS clicks, sum(r.signups) AS signups,"
    "      sum(r.conversions) AS conversions, sum(r.revenue_scored_minor) AS rev,"
    "      count(*) FILTER (WHERE r.class = 'winner') AS winners, max(r.score) AS top"
    "      FROM item_cycle_rollups r WHERE r.cycle_id = y.id) t ON true), '[]'),"
    "  'items', coalesce((SELECT json_agg(json_build_object('id', i.id, 'cycle_id', y.id, 'week_start', y.week_start,"
    "    'title', i.title, 'channel', i.channel, 'hook', i.draft->>'hook', 'parent_id', i.parent_id,"
    "    'derived_label', i.derived_label, 'clicks', r.clicks, 'signups', r.signups,"
    "    'revenue_scored_minor', r.revenue_scored_minor, 'views', r.views, 'ctr', r.ctr,"
    "    'score', r.score, 'class', r.class, 'rank', r.rank) ORDER BY y.week_start, i.position NULLS LAST, i.id)"
    "    FROM ys y JOIN content_items i ON i.cycle_id = y.id AND i.publish_status <> 'skipped'"
    "    LEFT JOIN item_cycle_rollups r ON r.cycle_id = y.id AND r.content_item_id = i.id), '[]'),"
    "  'days', (SELECT json_agg(json_build_object('day', d.day, 'clicks', coalesce(x.clicks, 0),"
    "    'signups', coalesce(x.signups, 0), 'conversions', coalesce(x.conversions, 0),"
    "    'revenue_scored_minor', coalesce(x.rev, 0)) ORDER BY d.day)"
    "    FROM days d LEFT JOIN (SELECT dr.day, sum(dr.clicks) AS clicks, sum(dr.signups) AS signups,"
    "      sum(dr.conversions) AS conversions, sum((dr.revenue->>p.cur)::bigint) AS rev"
    "      FROM item_daily_rollups dr WHERE dr.project_id = p.id AND dr.day BETWEEN $3::date AND $4::date"
    "      GROUP BY dr.day) x ON x.day = d.day)"
    " ) FROM p";

/* GET /api/projects/:id/performance?from=YYYY-MM-DD&to=YYYY-MM-DD (default: the last 8 weeks) */
static void project_performance(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char spid[24], uid[24], from[16] = "", to[16] = "";
    snprintf(spid, sizeof spid, "%" PRId64, cl_req_param_id(req, "id"));
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    int has_from = cl_req_query(req, "from", from, sizeof from);
    int has_to = cl_req_query(req, "to", to, sizeof to);
    if ((has_from && !date_shape(from)) || (has_to && !date_shape(to))) {
        cl_auth_field_error(res, 422, has_from && !date_shape(from) ? "from" : "to",
                            "from and to must be dates YYYY-MM-DD");
        return;
    }
    /* Defaults in the project's zone; the range checked by Postgres. */
    const char *p[] = {spid, uid, has_from ? from : NULL, has_to ? to : NULL};
    PGresult *r = cl_db_query(c,
                              "WITH t AS (SELECT coalesce($4::date, (now() AT TIME ZONE p.timezone)::date) AS t"
                              " FROM projects p WHERE p.id = $1 AND p.owner_id = $2)"
                              " SELECT coalesce($3::date, date_trunc('week', t.t)::date - 49)::text, t.t::text,"
                              " t.t - coalesce($3::date, date_trunc('week', t.t)::date - 49) FROM t",
                              4, p);
    if (!cl_db_ok(r)) {
        /* 22008/22007: not a calendar date */
        const char *st = cl_db_sqlstate(r);
        if (st && !strncmp(st, "22", 2))
            cl_auth_field_error(res, 422, "from", "from and to must be calendar dates YYYY-MM-DD");
        else
            cl_res_db_failed(res, COMP, c, r, "performance range");
    } else if (PQntuples(r) == 0) {
        cl_res_error(res, 404, "not_found", "No project %s", spid);
    } else {
        long span = strtol(PQgetvalue(r, 0, 2), NULL, 10);
        if (span < 0) {
            cl_auth_field_error(res, 422, "from", "from must not be after to");
        } else if (span > 366) {
            cl_auth_field_error(res, 422, "to", "The range may cover at most 366 days");
        } else {
            char f[16], t[16];
            snprintf(f, sizeof f, "%s", PQgetvalue(r, 0, 0));
            snprintf(t, sizeof t, "%s", PQgetvalue(r, 0, 1));
            const char *q[] = {spid, uid, f, t};
            cl_res_db_query_row(res, 200, COMP, c, SQL_PROJECT, 4, q, "project performance", "No project %s",
                                spid);
        }
    }
    PQclear(r);
}

static int whole(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1e12 &&
           v->valuedouble == (double)(int64_t)v->valuedouble;
}

int cl_metrics_views_body(const cJSON *body, char views[24], char reach[24], cl_body_err *e)
{
    const cJSON *v = cJSON_GetObjectItem(body, "views"), *r = cJSON_GetObjectItem(body, "reach");
    views[0] = reach[0] = '\0';
    if (!whole(v))
        return cl_body_field(e, 422, "views", "views must be a whole number of at least 0");
    if (r && !cJSON_IsNull(r) && !whole(r))
        return cl_body_field(e, 422, "reach", "reach must be a whole number of at least 0");
    snprintf(views, 24, "%.0f", v->valuedouble);
    if (cJSON_IsNumber(r))
        snprintf(reach, 24, "%.0f", r->valuedouble);
    return 0;
}

int cl_metrics_currency_body(const cJSON *body, char code[4], cl_body_err *e)
{
    const cJSON *cur = cJSON_GetObjectItem(body, "currency");
    int ok = cJSON_IsNull(cur);
    memset(code, 0, 4);
    if (cJSON_IsString(cur) && strlen(cur->valuestring) == 3) {
        ok = 1;
        for (int i = 0; i < 3; i++) {
            ok &= isalpha((unsigned char)cur->valuestring[i]) != 0;
            code[i] = (char)toupper((unsigned char)cur->valuestring[i]);
        }
    }
    if (!ok)
        return cl_body_field(e, 422, "currency", "currency must be an ISO 4217 code such as NGN or USD, or null");
    return 0;
}

/* PUT /api/content-items/:id/views {views, reach?} — manual items only. */
static void put_views(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = req->json; /* CL_AUTH_JSON */
    char sid[24], uid[24], v[24], rch[24];
    snprintf(sid, sizeof sid, "%" PRId64, cl_req_param_id(req, "id"));
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    cl_body_err be = {0};
    if (cl_metrics_views_body(body, v, rch, &be) != 0) {
        cl_res_body_error(res, &be);
    } else {
        const char *p[] = {sid, uid};
        PGresult *r = cl_db_query(c, "SELECT publish_strategy FROM content_items WHERE id = $1 AND user_id = $2", 2, p);
        if (!cl_db_ok(r)) {
            cl_res_db_failed(res, COMP, c, r, "read item");
        } else if (PQntuples(r) == 0) {
            cl_res_error(res, 404, "not_found", "No content item %s", sid);
        } else if (strcmp(PQgetvalue(r, 0, 0), "manual_export") != 0) {
            cl_res_error(res, 409, "views_from_insights",
                         "Item %s is published directly; its views come from the channel's insights", sid);
        } else {
            const char *q[] = {sid, v, rch[0] ? rch : NULL};
            cl_res_db_query_row(
                res, 200, COMP, c,
                "INSERT INTO content_item_views (content_item_id, views, reach, source)"
                " VALUES ($1, $2, $3, 'manual') ON CONFLICT (content_item_id) DO UPDATE"
                " SET views = EXCLUDED.views, reach = EXCLUDED.reach, source = 'manual',"
                " updated_at = now()"
                " RETURNING json_build_object('content_item_id', content_item_id, 'views', views,"
                " 'reach', reach, 'source', source, 'updated_at', updated_at)",
                3, q, "store views", "No content item %s", sid);
        }
        PQclear(r);
    }
}

/* PUT /api/projects/:id/currency {currency: "NGN" | null} */
static void put_currency(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = req->json; /* CL_AUTH_JSON */
    char code[4];
    cl_body_err be = {0};
    if (cl_metrics_currency_body(body, code, &be) != 0) {
        cl_res_body_error(res, &be);
    } else {
        char spid[24], uid[24];
        snprintf(spid, sizeof spid, "%" PRId64, cl_req_param_id(req, "id"));
        snprintf(uid, sizeof uid, "%" PRId64, u->id);
        const char *p[] = {spid, uid, code[0] ? code : NULL};
        cl_res_db_query_row(res, 200, COMP, c,
                            "UPDATE projects SET currency = $3 WHERE id = $1 AND owner_id = $2"
                            " RETURNING json_build_object('project_id', id, 'currency', currency)",
                            3, p, "store currency", "No project %s", spid);
    }
}

static const cl_user_route signed_in_routes[] = {
    {"POST", "/api/strategy-cycles/:id/rollup", rollup_now, CL_AUTH_PRODUCT, 0},
    {"GET", "/api/strategy-cycles/:id/performance", cycle_performance, CL_AUTH_PRODUCT, 0},
    {"GET", "/api/projects/:id/performance", project_performance, CL_AUTH_PRODUCT, 0},
    {"PUT", "/api/content-items/:id/views", put_views, CL_AUTH_PRODUCT | CL_AUTH_JSON, 0},
    {"PUT", "/api/projects/:id/currency", put_currency, CL_AUTH_PRODUCT | CL_AUTH_JSON, 0},
};

void cl_metrics_register_routes(void)
{
    CL_ROUTE_USER_TABLE(signed_in_routes);
}
