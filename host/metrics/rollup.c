/*
 * rollup.c — per-item rollups of a cycle, scores and classes (metrics.h).
 *
 * What is counted (docs/performance.md): clicks of people (tracking_clicks
 * without is_bot), unique clicks (distinct visitor hashes), bot clicks,
 * conversions by type (signup = sign-ups), revenue per currency in minor
 * units, views where known (content_item_views). Days are the project's
 * zone. Items: the cycle's live items (not skipped).
 */
#include "core/log.h"
#include "db/db.h"
#include "metrics/metrics.h"
#include "metrics/score.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "rollup"
#define MAX_ITEMS 64

/* The cycle's live items ($1 = cycle). */
#define CYCLE_ITEMS "SELECT i.id FROM content_items i WHERE i.cycle_id = $1 AND i.publish_status <> 'skipped'"

static const char *const SQL_DAILY =
    "WITH y AS (SELECT y.id, y.project_id, p.timezone AS tz FROM strategy_cycles y"
    "           JOIN projects p ON p.id = y.project_id WHERE y.id = $1),"
    " items AS (" CYCLE_ITEMS "),"
    " ck AS (SELECT c.content_item_id AS item, (c.clicked_at AT TIME ZONE y.tz)::date AS day,"
    "         count(*) FILTER (WHERE NOT c.is_bot) AS clicks,"
    "         count(DISTINCT c.visitor_hash) FILTER (WHERE NOT c.is_bot) AS uniq,"
    "         count(*) FILTER (WHERE c.is_bot) AS bots"
    "        FROM tracking_clicks c, y WHERE c.content_item_id IN (SELECT id FROM items) GROUP BY 1, 2),"
    " ev AS (SELECT e.attributed_item_id AS item, (e.occurred_at AT TIME ZONE y.tz)::date AS day, e.kind,"
    "         e.event_type, e.currency, count(*) AS n, coalesce(sum(e.amount_minor), 0) AS amount"
    "        FROM tracking_events e, y WHERE e.attributed_item_id IN (SELECT id FROM items)"
    "        GROUP BY 1, 2, 3, 4, 5),"
    " evd AS (SELECT item, day,"
    "         coalesce(sum(n) FILTER (WHERE kind = 'conversion' AND event_type = 'signup'), 0) AS signups,"
    "         coalesce(sum(n) FILTER (WHERE kind = 'conversion'), 0) AS conversions,"
    "         coalesce(jsonb_object_agg(event_type, n) FILTER (WHERE kind = 'conversion'), '{}') AS by_type"
    "        FROM (SELECT item, day, kind, event_type, sum(n) AS n FROM ev GROUP BY 1, 2, 3, 4) s GROUP BY 1, 2),"
    " rev AS (SELECT item, day, jsonb_object_agg(currency, amount) AS revenue"
    "         FROM (SELECT item, day, currency, sum(amount) AS amount FROM ev WHERE kind = 'revenue'"
    "               GROUP BY 1, 2, 3) s GROUP BY 1, 2),"
    " k AS (SELECT item, day FROM ck UNION SELECT item, day FROM ev)"
    " INSERT INTO item_daily_rollups (content_item_id, cycle_id, project_id, day, clicks, unique_clicks, bot_clicks,"
    "  signups, conversions, conversions_by_type, revenue)"
    " SELECT k.item, y.id, y.project_id, k.day, coalesce(ck.clicks, 0), coalesce(ck.uniq, 0), coalesce(ck.bots, 0),"
    "  coalesce(evd.signups, 0), coalesce(evd.conversions, 0), coalesce(evd.by_type, '{}'), coalesce(rev.revenue, '{}')"
    " FROM k CROSS JOIN y LEFT JOIN ck USING (item, day) LEFT JOIN evd USING (item, day) LEFT JOIN rev USING (item, day)";

/* Per item totals: id, clicks, unique, bots, signups, conversions, by_type,
   revenue (all currencies), scored currency, revenue in it, views, source. */
static const char *const SQL_TOTALS =
    "WITH y AS (SELECT y.id, y.project_id, coalesce(p.currency, (SELECT e.currency FROM tracking_events e"
    "            WHERE e.project_id = p.id AND e.kind = 'revenue' ORDER BY e.occurred_at, e.id LIMIT 1)) AS cur"
    "           FROM strategy_cycles y JOIN projects p ON p.id = y.project_id WHERE y.id = $1)"
    " SELECT i.id,"
    "  (SELECT count(*) FROM tracking_clicks c WHERE c.content_item_id = i.id AND NOT c.is_bot),"
    "  (SELECT count(DISTINCT c.visitor_hash) FROM tracking_clicks c WHERE c.content_item_id = i.id AND NOT c.is_bot),"
    "  (SELECT count(*) FROM tracking_clicks c WHERE c.content_item_id = i.id AND c.is_bot),"
    "  (SELECT count(*) FROM tracking_events e WHERE e.attributed_item_id = i.id AND e.kind = 'conversion'"
    "    AND e.event_type = 'signup'),"
    "  (SELECT count(*) FROM tracking_events e WHERE e.attributed_item_id = i.id AND e.kind = 'conversion'),"
    "  (SELECT coalesce(jsonb_object_agg(t, n), '{}') FROM (SELECT e.event_type AS t, count(*) AS n"
    "    FROM tracking_events e WHERE e.attributed_item_id = i.id AND e.kind = 'conversion' GROUP BY 1) s)::text,"
    "  (SELECT coalesce(jsonb_object_agg(cur, n), '{}') FROM (SELECT e.currency AS cur, sum(e.amount_minor) AS n"
    "    FROM tracking_events e WHERE e.attributed_item_id = i.id AND e.kind = 'revenue' GROUP BY 1) s)::text,"
    "  y.cur,"
    "  (SELECT coalesce(sum(e.amount_minor), 0) FROM tracking_events e WHERE e.attributed_item_id = i.id"
    "    AND e.kind = 'revenue' AND e.currency = y.cur),"
    "  v.views, v.source"
    " FROM content_items i CROSS JOIN y LEFT JOIN content_item_views v ON v.content_item_id = i.id"
    " WHERE i.cycle_id = $1 AND i.publish_status <> 'skipped' ORDER BY i.position NULLS LAST, i.id";

static int fail(PGconn *c, PGresult *r, const char *what, char *err, size_t errlen)
{
    char m[256];
    cl_db_errmsg(c, r, m, sizeof m);
    snprintf(err, errlen, "%s: %s", what, m);
    PQclear(r);
    cl_db_rollback(c);
    return -1;
}

static int64_t num(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int cl_rollup_cycle(PGconn *c, int64_t cycle_id, int nowait, int nightly, char *err, size_t errlen)
{
    char sid[24];
    const char *p[] = {cl_db_id(sid, cycle_id)};
    if (cl_db_begin(c) != 0) {
        snprintf(err, errlen, "begin failed");
        return -1;
    }
    PGresult *r = cl_db_query(c,
                              nowait ? "SELECT coalesce(y.rolled_up_day < (now() AT TIME ZONE p.timezone)::date, true),"
                                       " (now() AT TIME ZONE p.timezone)::date::text"
                                       " FROM strategy_cycles y JOIN projects p ON p.id = y.project_id"
                                       " WHERE y.id = $1 FOR UPDATE OF y SKIP LOCKED"
                                     : "SELECT coalesce(y.rolled_up_day < (now() AT TIME ZONE p.timezone)::date, true),"
                                       " (now() AT TIME ZONE p.timezone)::date::text"
                                       " FROM strategy_cycles y JOIN projects p ON p.id = y.project_id"
                                       " WHERE y.id = $1 FOR UPDATE OF y",
                              1, p);
    if (!cl_db_ok(r))
        return fail(c, r, "lock cycle", err, errlen);
    if (PQntuples(r) == 0 || (nightly && strcmp(PQgetvalue(r, 0, 0), "t") != 0)) {
        PQclear(r);
        cl_db_rollback(c);
        return 0;
    }
    char today[16];
    snprintf(today, sizeof today, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);

    if (cl_db_exec(c, "DELETE FROM item_daily_rollups WHERE cycle_id = $1", 1, p, err, errlen) != 0 ||
        cl_db_exec(c, SQL_DAILY, 1, p, err, errlen) != 0 ||
        cl_db_exec(c, "DELETE FROM item_cycle_rollups WHERE cycle_id = $1", 1, p, err, errlen) != 0) {
        cl_db_rollback(c);
        return -1;
    }
    r = cl_db_query(c, SQL_TOTALS, 1, p);
    if (!cl_db_ok(r))
        return fail(c, r, "totals", err, errlen);
    int n = PQntuples(r);
    if (n > MAX_ITEMS)
        n = MAX_ITEMS;
    double scores[MAX_ITEMS], ctrs[MAX_ITEMS];
    cl_item_class classes[MAX_ITEMS];
    const char *cur = n && !PQgetisnull(r, 0, 8) ? PQgetvalue(r, 0, 8) : NULL;
    for (int i = 0; i < n; i++) {
        cl_score_input in = {num(r, i, 1), num(r, i, 4), num(r, i, 9), cl_currency_exponent(cur),
                             PQgetisnull(r, i, 10) ? -1 : num(r, i, 10)};
        scores[i] = cl_score(&in, &ctrs[i]);
    }
    cl_classify(scores, (size_t)n, classes);
    for (int i = 0; i < n; i++) {
        int rank = 1;
        for (int j = 0; j < n; j++)
            rank += scores[j] > scores[i];
        char score[40], ctr[40], rk[16];
        snprintf(score, sizeof score, "%.6f", scores[i]);
        snprintf(ctr, sizeof ctr, "%.9f", ctrs[i]);
        snprintf(rk, sizeof rk, "%d", rank);
        const char *q[] = {sid,
                           PQgetvalue(r, i, 0),
                           PQgetvalue(r, i, 1),
                           PQgetvalue(r, i, 2),
                           PQgetvalue(r, i, 3),
                           PQgetvalue(r, i, 4),
                           PQgetvalue(r, i, 5),
                           PQgetvalue(r, i, 6),
                           PQgetvalue(r, i, 7),
                           cur,
                           PQgetvalue(r, i, 9),
                           PQgetisnull(r, i, 10) ? NULL : PQgetvalue(r, i, 10),
                           PQgetisnull(r, i, 11) ? NULL : PQgetvalue(r, i, 11),
                           ctrs[i] >= 0 ? ctr : NULL,
                           score,
                           cl_item_class_name(classes[i]),
                           rk};
        if (cl_db_exec(c,
                       "INSERT INTO item_cycle_rollups (cycle_id, content_item_id, project_id, clicks, unique_clicks,"
                       " bot_clicks, signups, conversions, conversions_by_type, revenue, currency, revenue_scored_minor,"
                       " views, views_source, ctr, score, class, rank)"
                       " SELECT $1, $2, y.project_id, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11, $12, $13,"
                       " $14, $15, $16, $17 FROM strategy_cycles y WHERE y.id = $1",
                       17, q, err, errlen) != 0) {
            PQclear(r);
            cl_db_rollback(c);
            return -1;
        }
    }
    PQclear(r);
    const char *u[] = {sid, nightly ? today : NULL};
    if (cl_db_exec(c,
                   "UPDATE strategy_cycles SET rolled_up_at = now(), rollup_runs = rollup_runs + 1,"
                   " rolled_up_day = coalesce($2::date, rolled_up_day) WHERE id = $1",
                   2, u, err, errlen) != 0 ||
        cl_db_commit(c) != 0) {
        if (!err[0])
            snprintf(err, errlen, "commit failed");
        cl_db_rollback(c);
        return -1;
    }
    return 1;
}

/*
 * The nightly task: every cycle of the last five weeks with items whose
 * last nightly roll-up was before today (project zone). Each is rolled up
 * under its row lock with SKIP LOCKED and re-checked under it, so several
 * workers share the work and no cycle is rolled up twice the same day.
 */
int cl_rollup_nightly_task(PGconn *c, char *err, size_t errlen)
{
    PGresult *r = cl_db_query(c,
                              "SELECT y.id FROM strategy_cycles y JOIN projects p ON p.id = y.project_id"
                              " WHERE (y.rolled_up_day IS NULL OR y.rolled_up_day < (now() AT TIME ZONE p.timezone)::date)"
                              " AND y.week_start > (now() AT TIME ZONE p.timezone)::date - 35"
                              " AND y.week_start <= (now() AT TIME ZONE p.timezone)::date"
                              " AND EXISTS (SELECT 1 FROM content_items i WHERE i.cycle_id = y.id)"
                              " ORDER BY y.id LIMIT 200",
                              0, NULL);
    if (cl_db_check(c, r, err, errlen) != 0)
        return -1;
    int done = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        char e[256] = "";
        int rc = cl_rollup_cycle(c, id, 1, 1, e, sizeof e);
        if (rc < 0)
            cl_warn(COMP, "nightly roll-up of cycle %" PRId64 ": %s", id, e);
        else
            done += rc;
    }
    PQclear(r);
    return done;
}
