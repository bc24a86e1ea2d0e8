/*
 * metrics.h — weekly performance: rollups per item per day and per cycle,
 * the score and class of every item (score.h), views, and the performance
 * routes. docs/performance.md.
 *
 * Routes (performance_routes.c; session + owner, foreign ids are 404):
 *   POST /api/strategy-cycles/:id/rollup          roll the cycle up now (idempotent)
 *   GET  /api/strategy-cycles/:id/performance     items with metrics, score, class; daily series
 *   GET  /api/projects/:id/performance?from=&to=  per week, per item, daily series
 *   PUT  /api/content-items/:id/views             {views, reach?} manual items only
 *   PUT  /api/projects/:id/currency               {currency} the scored currency
 */
#ifndef CL_METRICS_METRICS_H
#define CL_METRICS_METRICS_H

#include "http/http.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Roll up one cycle in its own transaction (c must be idle): the cycle row
 * is locked (FOR UPDATE; with nowait, SKIP LOCKED — another roll-up of the
 * same cycle is running and this one does nothing), its rows in
 * item_daily_rollups and item_cycle_rollups are replaced by what the
 * clicks, events and views say now, every item is scored and classified,
 * and rolled_up_at / rollup_runs are updated. With nightly, the cycle is
 * only rolled up when its rolled_up_day is before today in the project's
 * zone (checked under the lock), and rolled_up_day becomes today.
 * Returns 1 rolled up, 0 skipped (locked elsewhere, or already done
 * today), -1 with err set (rolled back).
 */
int cl_rollup_cycle(PGconn *c, int64_t cycle_id, int nowait, int nightly, char *err, size_t errlen);

/** The scheduler task (cl_periodic_fn): the nightly roll-up of recent cycles. */
int cl_rollup_nightly_task(PGconn *c, char *err, size_t errlen);

/**
 * The scheduler task "insights.refresh" (insights.c): views and reach of
 * directly published posts from their publisher's optional insights call
 * (ABI 1.3), stored as content_item_views with source 'insights'.
 */
int cl_insights_task(PGconn *c, char *err, size_t errlen);

/** Register the routes above (serve). */
void cl_metrics_register_routes(void);

/* ---- request bodies: pure, no database (fuzzed) ------------------------------ */

/** PUT /api/content-items/:id/views {views, reach?}: whole numbers 0..1e12 as text; reach "" when absent. 0 or -1. */
int cl_metrics_views_body(const cJSON *body, char views[24], char reach[24], cl_body_err *e);
/** PUT /api/projects/:id/currency {currency: "NGN" | null}: upper-cased, "" for null. 0 or -1 (e set). */
int cl_metrics_currency_body(const cJSON *body, char code[4], cl_body_err *e);

#endif
