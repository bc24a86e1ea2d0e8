/*
 * limits.h — the plan limits of the weekly loop (numbers from
 * credits/policy.h), enforced on API calls before anything is charged.
 *
 * Usage is derived from the ledger: the usage units of the charges made in
 * the current week / month window (UTC, date_trunc) for actions that count
 * toward the metric, minus charges that were refunded. A retried request
 * replays its charge (one ledger row per reference key) and a refunded
 * piece of work gives its units back, so nothing is counted twice and
 * failed work costs no quota. Publishes (free actions) come from
 * usage_counters (cl_usage_record).
 */
#ifndef CL_CYCLES_LIMITS_H
#define CL_CYCLES_LIMITS_H

#include "auth/auth.h"
#include "http/http.h"

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdint.h>

/** Units of metric used by user in the current "week" or "month" window. 0, or -1 (err set). */
int cl_usage_used(PGconn *c, int64_t user_id, const char *metric, const char *window, int64_t *used, char *err,
                  size_t errlen);

/**
 * May user u spend `units` more of the metric `action` counts toward
 * (policy)? Checks the week and month limits of the plan. 0 yes, 1 no (429
 * `plan_limit_reached` with metric, window, limit, used set on res), -1
 * error (500 set). Call inside the transaction that charges, after locking
 * the user's credit account row, so concurrent requests cannot both pass.
 */
int cl_limits_check(PGconn *c, const cl_user *u, const char *action, int units, cl_res *res);

/**
 * Inside an open transaction: lock user's credit account row (FOR UPDATE),
 * the lock cl_limits_check needs. 0, or -1 (500 set on res; the caller rolls
 * back).
 */
int cl_limits_lock_account(PGconn *c, int64_t user_id, cl_res *res);

/**
 * {"posts_per_week":{used,limit,remaining}, "posts_per_month", "regenerations_per_week",
 *  "renders_per_month", "publishes_per_month"} for u (caller deletes), NULL on error.
 */
cJSON *cl_limits_json(PGconn *c, const cl_user *u);

#endif
