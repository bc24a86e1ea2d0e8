/*
 * credits.h — the ledger-backed credit system.
 *
 * credit_accounts holds each user's generation and render balances (the
 * source of truth); credit_ledger_entries records every movement and is
 * immutable. Every function here changes a balance and writes its ledger row
 * in ONE statement (so one transaction), idempotent by a reference key that
 * is unique per user:
 *
 *  - cl_credits_charge debits the policy's cost for an action. A retry with
 *    the same key returns the original receipt (replayed = 1) and never
 *    debits twice. A charge the balance cannot afford debits nothing and
 *    returns CL_CREDITS_INSUFFICIENT with needed/available filled.
 *  - cl_credits_refund writes the compensating entry for a failed piece of
 *    work, under its own key ("refund:" + the charge's key), at most once.
 *  - cl_credits_grant_monthly applies a plan's monthly grant once per
 *    account per month window, even when the first requests of a month race.
 *
 * Connections: every function takes the caller's PGconn and may run inside
 * or outside the caller's transaction. Statements are prepared once per
 * connection. Nothing here allocates memory the caller must free, except
 * cl_receipt_json's result.
 *
 * HTTP mapping (docs/credits.md): CL_CREDITS_INSUFFICIENT is 402
 * `insufficient_credits` with {needed, available, kind, action}.
 */
#ifndef CL_CREDITS_CREDITS_H
#define CL_CREDITS_CREDITS_H

#include "auth/auth.h"
#include "credits/policy.h"
#include "http/http.h"
#include "plans/plans.h"

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/** Return codes of the credit functions. */
enum {
    CL_CREDITS_OK = 0,            /**< done (new or replayed) */
    CL_CREDITS_INSUFFICIENT = 1,  /**< balance too low; nothing debited */
    CL_CREDITS_ERROR = -1,        /**< database or other failure (err set) */
    CL_CREDITS_INVALID = -2,      /**< unknown action, bad reference key or amount (err set) */
    CL_CREDITS_KEY_CONFLICT = -3, /**< key already used for a different action/kind (err set) */
    CL_CREDITS_NOT_FOUND = -4,    /**< no such user/account, or refund of an unknown charge */
};

#define CL_REFERENCE_KEY_MAX 200 /**< bytes, printable ASCII */

/** One ledger movement as returned to callers and in /api/me/transactions. */
typedef struct cl_receipt {
    int64_t entry_id;        /**< ledger row id; 0 for a free action (nothing written) */
    int64_t user_id;
    char action[64];
    char kind[16];           /**< "generation", "render", or "none" for a free action */
    char reason[16];         /**< "charge", "refund", "monthly_grant", "adjustment" */
    int64_t amount;          /**< signed: negative for a debit */
    int64_t generation_balance_after;
    int64_t render_balance_after;
    char reference_key[CL_REFERENCE_KEY_MAX + 1];
    char created_at[32];     /**< ISO 8601 UTC */
    int replayed;            /**< 1: an earlier call with this key produced this receipt */
    int64_t needed;          /**< CL_CREDITS_INSUFFICIENT: credits the action needs */
    int64_t available;       /**< CL_CREDITS_INSUFFICIENT: credits of that kind left */
} cl_receipt;

/** Current balances of an account. */
typedef struct cl_balance {
    int64_t generation;
    int64_t render;
    char granted_month[11]; /**< "YYYY-MM-DD" of the last applied grant window, "" if none */
} cl_balance;

/**
 * Debit the policy's cost for `action` (policy.h) under reference_key.
 * Returns CL_CREDITS_OK (out filled; out->replayed tells a retry),
 * CL_CREDITS_INSUFFICIENT (out->needed/available/kind filled, nothing
 * debited), or a negative code with err set. A free action returns OK with
 * amount 0 and writes nothing. When the balance is short, the month's grant
 * is applied first if it is still owed, then the charge is retried once.
 */
int cl_credits_charge(PGconn *c, int64_t user_id, const char *action, const char *reference_key,
                      cl_receipt *out, char *err, size_t errlen);

/**
 * Compensate a charge whose work failed: credits back the charge's amount
 * under the key "refund:<charge_reference_key>". Idempotent (a repeat returns
 * the first refund's receipt, replayed = 1). CL_CREDITS_NOT_FOUND when the
 * user has no charge with that key.
 */
int cl_credits_refund(PGconn *c, int64_t user_id, const char *charge_reference_key, cl_receipt *out,
                      char *err, size_t errlen);

/**
 * A manual or billing-driven movement of `amount` (signed, non-zero) credits
 * of `kind`, idempotent by reference_key, recorded with reason "adjustment"
 * and the given action label. A debit the balance cannot cover returns
 * CL_CREDITS_INSUFFICIENT.
 */
int cl_credits_adjust(PGconn *c, int64_t user_id, cl_credit_kind kind, int64_t amount, const char *action,
                      const char *reference_key, cl_receipt *out, char *err, size_t errlen);

/** Create the user's (empty) credit account if it does not exist. 0 or -1. */
int cl_credits_ensure_account(PGconn *c, int64_t user_id, char *err, size_t errlen);

/**
 * Apply `plan`'s monthly grant for the month window starting month_start
 * ("YYYY-MM-01"; NULL = the current UTC month): tops the credits granted in
 * that window up to the plan's amounts (so a second call grants nothing and
 * an upgrade mid-month grants the difference). Never grants for a window
 * earlier than the last one granted. Creates the account if needed.
 * Returns 1 credits granted now, 0 nothing owed, -1 error.
 */
int cl_credits_grant_monthly(PGconn *c, int64_t user_id, cl_plan plan, const char *month_start, char *err,
                             size_t errlen);

/**
 * The read routes' monthly grant. When u came from the session lookup
 * (u->credits.loaded) and its account row shows this month's grant for u's
 * plan is in, returns 0 without running any statement. Otherwise applies it
 * (cl_credits_grant_monthly) and refreshes u->credits' balances. Returns 1
 * granted now, 0 nothing owed, -1 error (err set).
 */
int cl_credits_grant_if_owed(PGconn *c, cl_user *u, char *err, size_t errlen);
/**
 * The blocking handler's start of a signed-in read that shows balances
 * (GET /api/me, GET /api/me/credits): the user at CL_AUTH_SESSION on a
 * pooled connection (released before returning) with the month's grant
 * applied when owed (a failed grant is logged; the route still answers with
 * the balances it has). 0 with *u filled, or -1 with the reply set by
 * cl_auth_open.
 */
int cl_credits_user_granted(cl_req *req, cl_res *res, cl_user *u);
/** 1 when cl_credits_grant_if_owed would run a statement for u (no account row read, or the month's grant is not in), else 0. */
int cl_credits_grant_owed(const cl_user *u);

/** Read balances. 1 found, 0 no account, -1 error. */
int cl_credits_balance(PGconn *c, int64_t user_id, cl_balance *out, char *err, size_t errlen);

/**
 * Advisory affordability check (the charge itself is authoritative).
 * Returns 1 affordable, 0 not (needed/available filled), or a negative code.
 */
int cl_credits_can_afford(PGconn *c, int64_t user_id, const char *action, int64_t *needed,
                          int64_t *available, char *err, size_t errlen);

/**
 * The body of the test routes POST /api/_test/credits/charge and /refund
 * {action (charge only), reference_key} (pure; fuzzed): both into body.
 * 0 or -1 (e set).
 */
int cl_credits_test_body(const cJSON *body, int refund, const char **action, const char **key, cl_body_err *e);

/**
 * Add units to a usage counter (reporting only) in both the week and month
 * windows containing now. For free actions such as publishes; charges
 * record their own usage. 0 or -1.
 */
int cl_usage_record(PGconn *c, int64_t user_id, const char *metric, int64_t units, char *err, size_t errlen);

/** The receipt as JSON (caller frees with cJSON_Delete). NULL when out of memory. */
cJSON *cl_receipt_json(const cl_receipt *r);

/**
 * The SQL text of the one statement every charge, refund and adjustment runs
 * (parameters documented in credits.c). Exposed for the benchmark, which
 * runs the same statement through pgbench.
 */
const char *cl_credits_apply_sql(void);

/**
 * Reply with the HTTP error for a failed credit call: 402
 * `insufficient_credits` {needed, available, kind, action} for
 * CL_CREDITS_INSUFFICIENT, 422 `invalid_charge`, 409 `reference_key_conflict`,
 * 404 `not_found`, 500 otherwise. r may be NULL except for INSUFFICIENT.
 */
void cl_credits_reply_error(cl_res *res, int rc, const cl_receipt *r, const char *err);

/** Register GET /api/me/plan, /api/me/usage, /api/me/credits, /api/me/transactions. */
void cl_credits_register_routes(void);

#endif
