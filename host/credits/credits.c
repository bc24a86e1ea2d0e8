/*
 * credits.c — charges, refunds, adjustments and monthly grants (credits.h).
 *
 * Every balance change is ONE statement (APPLY_SQL below), so it is atomic
 * without an explicit transaction and costs one round trip on the hot path:
 *
 *   acct     locks the account row (FOR UPDATE) only if the balance of the
 *            kind stays >= 0 after the change. Under READ COMMITTED a waiting
 *            locker re-reads the newest committed row and re-checks the
 *            guard, so concurrent charges serialize on the row and the
 *            balance can never be overdrawn (a CHECK backs this up).
 *   ins      writes the ledger row, computing the balances after from the
 *            locked row; ON CONFLICT (user_id, reference_key) DO NOTHING
 *            makes a repeated key write nothing.
 *   upd      sets the balances to the ledger row's "after" values, only when
 *            the ledger row was written. So either both change or neither.
 *   counted  bumps the reporting counters for the week and month windows.
 *
 * No row back means: the key already exists (a replay: LOOKUP_SQL returns
 * the original entry), or the balance is short, or there is no account.
 *
 * Parameters of APPLY_SQL: $1 user id, $2 kind ('generation'|'render'),
 * $3 signed delta, $4 reason, $5 action, $6 reference key, $7 usage metric
 * (NULL: none), $8 usage units, $9 refunded entry id (NULL: none).
 */
#include "credits/credits.h"
#include "auth/auth.h"
#include "core/log.h"
#include "db/db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Timestamps leave SQL as UTC "YYYY-MM-DD HH:MM:SS[.ffffff]" (no colons in
   the statement text, so pgbench can run it verbatim) and become ISO 8601
   in iso_time(). */
#define ISO_TS(col) "(" col " AT TIME ZONE 'UTC')::text"

static const char APPLY_SQL[] =
    "WITH acct AS ("
    " SELECT user_id, generation_balance, render_balance FROM credit_accounts"
    " WHERE user_id = $1::bigint"
    " AND (CASE WHEN $2::text = 'generation' THEN generation_balance ELSE render_balance END)"
    " + $3::bigint >= 0"
    " FOR UPDATE),"
    " ins AS ("
    " INSERT INTO credit_ledger_entries (user_id, kind, amount, reason, action, reference_key,"
    " generation_balance_after, render_balance_after, refunds_entry_id)"
    " SELECT user_id, $2::text, $3::bigint, $4::text, $5::text, $6::text,"
    " generation_balance + CASE WHEN $2::text = 'generation' THEN $3::bigint ELSE 0 END,"
    " render_balance + CASE WHEN $2::text = 'render' THEN $3::bigint ELSE 0 END,"
    " $9::bigint FROM acct"
    " ON CONFLICT (user_id, reference_key) DO NOTHING"
    " RETURNING id, generation_balance_after, render_balance_after, created_at),"
    " upd AS ("
    " UPDATE credit_accounts a SET generation_balance = ins.generation_balance_after,"
    " render_balance = ins.render_balance_after, updated_at = now()"
    " FROM ins WHERE a.user_id = $1::bigint RETURNING a.user_id),"
    " counted AS ("
    " INSERT INTO usage_counters AS u (user_id, metric, window_kind, window_start, count)"
    " SELECT $1::bigint, $7::text, w.kind, w.start, $8::bigint FROM ins,"
    " (VALUES ('week', date_trunc('week', now())::date), ('month', date_trunc('month', now())::date))"
    " AS w(kind, start)"
    " WHERE $7::text IS NOT NULL"
    " ON CONFLICT (user_id, metric, window_kind, window_start)"
    " DO UPDATE SET count = u.count + EXCLUDED.count, updated_at = now())"
    " SELECT ins.id, ins.generation_balance_after, ins.render_balance_after, " ISO_TS("ins.created_at")
    ", (SELECT count(*) FROM upd) FROM ins";

/* The account's balances and, if it exists, the entry under the key. */
static const char LOOKUP_SQL[] =
    "SELECT a.generation_balance, a.render_balance, l.id, l.kind, l.amount, l.reason, l.action,"
    " l.generation_balance_after, l.render_balance_after, " ISO_TS("l.created_at")
    " FROM credit_accounts a LEFT JOIN credit_ledger_entries l"
    " ON l.user_id = a.user_id AND l.reference_key = $2::text"
    " WHERE a.user_id = $1::bigint";

/* The month grant tops the window's grants up to the plan's amounts, so it
   is applied once per account per window, and an upgrade mid-month adds
   only the difference (once per plan and window: the ledger key names both).
   acct locks the row; a racing granter re-reads it after the first commits,
   finds the window already granted (deltas 0) and writes nothing. Windows
   earlier than the last granted one never grant. */
static const char GRANT_SQL[] =
    "WITH acct AS ("
    " SELECT user_id, generation_balance, render_balance,"
    " GREATEST($3::bigint - CASE WHEN granted_month = $2::date THEN granted_generation ELSE 0 END, 0) AS dg,"
    " GREATEST($4::bigint - CASE WHEN granted_month = $2::date THEN granted_render ELSE 0 END, 0) AS dr,"
    " granted_month IS DISTINCT FROM $2::date AS new_window"
    " FROM credit_accounts WHERE user_id = $1::bigint"
    " AND (granted_month IS NULL OR granted_month <= $2::date) FOR UPDATE),"
    " upd AS ("
    " UPDATE credit_accounts a SET"
    " generation_balance = acct.generation_balance + acct.dg,"
    " render_balance = acct.render_balance + acct.dr,"
    " granted_generation = CASE WHEN acct.new_window THEN acct.dg ELSE a.granted_generation + acct.dg END,"
    " granted_render = CASE WHEN acct.new_window THEN acct.dr ELSE a.granted_render + acct.dr END,"
    " granted_month = $2::date, updated_at = now()"
    " FROM acct WHERE a.user_id = acct.user_id AND (acct.dg > 0 OR acct.dr > 0 OR acct.new_window)"
    " RETURNING a.user_id, a.generation_balance, a.render_balance),"
    " ins AS ("
    " INSERT INTO credit_ledger_entries (user_id, kind, amount, reason, action, reference_key,"
    " generation_balance_after, render_balance_after)"
    " SELECT u.user_id, k.kind, k.amount, 'monthly_grant', 'monthly_grant.' || $5::text,"
    " 'grant:' || to_char($2::date, 'YYYY-MM') || ':' || $5::text || ':' || k.kind,"
    " u.generation_balance, u.render_balance"
    " FROM upd u CROSS JOIN acct CROSS JOIN LATERAL"
    " (VALUES ('generation', acct.dg), ('render', acct.dr)) AS k(kind, amount)"
    " WHERE k.amount > 0 RETURNING id)"
    " SELECT (SELECT count(*) FROM ins)";

const char *cl_credits_apply_sql(void) { return APPLY_SQL; }

/* ---- prepared statements, once per connection (db.h) ------------------- */

static const cl_db_stmt ST_APPLY = {"cl_credits_apply", APPLY_SQL, 9};
static const cl_db_stmt ST_LOOKUP = {"cl_credits_lookup", LOOKUP_SQL, 2};

/* Run a prepared statement; NULL (err set) when it could not be prepared. */
static PGresult *exec_st(PGconn *c, const cl_db_stmt *st, const char *const *params, char *err, size_t errlen)
{
    PGresult *r = cl_db_prepared(c, st, params);
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, err, errlen);
        PQclear(r);
        return NULL;
    }
    return r;
}

/* ---- helpers ------------------------------------------------------------ */

static int64_t get_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void copy_str(char *dst, size_t n, const char *src) { snprintf(dst, n, "%s", src ? src : ""); }

/* "2026-11-25 08:16:24.003456" -> "2026-11-25T08:16:24.003Z". */
static void iso_time(char *dst, size_t n, const char *pg)
{
    char date[11] = "", clock[9] = "", frac[4] = "000";
    if (!pg || strlen(pg) < 19) {
        copy_str(dst, n, pg);
        return;
    }
    memcpy(date, pg, 10);
    memcpy(clock, pg + 11, 8);
    if (pg[19] == '.')
        for (int i = 0; i < 3 && pg[20 + i] >= '0' && pg[20 + i] <= '9'; i++)
            frac[i] = pg[20 + i];
    snprintf(dst, n, "%sT%s.%sZ", date, clock, frac);
}

static int valid_key(const char *key)
{
    if (!key || !*key || strlen(key) > CL_REFERENCE_KEY_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return 0;
    return 1;
}

static void month_now(char out[11])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%04d-%02d-01", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100);
    memcpy(out, tmp, 10);
    out[10] = '\0';
}

static int valid_month(const char *m)
{
    if (strlen(m) != 10 || m[4] != '-' || m[7] != '-' || m[8] != '0' || m[9] != '1')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (m[i] < '0' || m[i] > '9'))
            return 0;
    int month = (m[5] - '0') * 10 + (m[6] - '0');
    return month >= 1 && month <= 12;
}

/*
 * One balance change through APPLY_SQL, resolving the no-row outcomes.
 * Returns OK (out filled, replayed when the key existed), INSUFFICIENT
 * (needed/available filled), NOT_FOUND (no account), KEY_CONFLICT or ERROR.
 */
static int apply(PGconn *c, int64_t uid, cl_credit_kind kind, int64_t delta, const char *reason,
                 const char *action, const char *key, const char *metric, int units, int64_t refunds,
                 cl_receipt *out, char *err, size_t errlen)
{
    char uid_s[24], delta_s[24], units_s[24], refunds_s[24];
    snprintf(uid_s, sizeof uid_s, "%" PRId64, uid);
    snprintf(delta_s, sizeof delta_s, "%" PRId64, delta);
    snprintf(units_s, sizeof units_s, "%d", units);
    snprintf(refunds_s, sizeof refunds_s, "%" PRId64, refunds);
    const char *kind_s = cl_credit_kind_name(kind);

    memset(out, 0, sizeof *out);
    out->user_id = uid;
    copy_str(out->action, sizeof out->action, action);
    copy_str(out->kind, sizeof out->kind, kind_s);
    copy_str(out->reason, sizeof out->reason, reason);
    copy_str(out->reference_key, sizeof out->reference_key, key);
    out->amount = delta;

    const char *p[9] = {uid_s, kind_s, delta_s, reason, action, key, metric, units_s,
                        refunds > 0 ? refunds_s : NULL};
    PGresult *r = exec_st(c, &ST_APPLY, p, err, errlen);
    if (!r)
        return CL_CREDITS_ERROR;
    if (PQntuples(r) == 1) {
        out->entry_id = get_i64(r, 0, 0);
        out->generation_balance_after = get_i64(r, 0, 1);
        out->render_balance_after = get_i64(r, 0, 2);
        iso_time(out->created_at, sizeof out->created_at, PQgetvalue(r, 0, 3));
        int updated = get_i64(r, 0, 4) == 1;
        PQclear(r);
        if (!updated) { /* cannot happen: the account row was locked by acct */
            snprintf(err, errlen, "ledger written without a balance update");
            return CL_CREDITS_ERROR;
        }
        return CL_CREDITS_OK;
    }
    PQclear(r);

    const char *lp[2] = {uid_s, key};
    r = exec_st(c, &ST_LOOKUP, lp, err, errlen);
    if (!r)
        return CL_CREDITS_ERROR;
    if (PQntuples(r) == 0) {
        PQclear(r);
        snprintf(err, errlen, "user %" PRId64 " has no credit account", uid);
        return CL_CREDITS_NOT_FOUND;
    }
    int64_t gen = get_i64(r, 0, 0), ren = get_i64(r, 0, 1);
    if (!PQgetisnull(r, 0, 2)) {
        /* The key exists: a replay, unless it named something else. */
        if (strcmp(PQgetvalue(r, 0, 6), action) != 0 || strcmp(PQgetvalue(r, 0, 3), kind_s) != 0 ||
            strcmp(PQgetvalue(r, 0, 5), reason) != 0 || get_i64(r, 0, 4) != delta) {
            snprintf(err, errlen, "reference key %s was already used for %s (%s %s)", key,
                     PQgetvalue(r, 0, 6), PQgetvalue(r, 0, 5), PQgetvalue(r, 0, 3));
            PQclear(r);
            return CL_CREDITS_KEY_CONFLICT;
        }
        out->entry_id = get_i64(r, 0, 2);
        out->generation_balance_after = get_i64(r, 0, 7);
        out->render_balance_after = get_i64(r, 0, 8);
        iso_time(out->created_at, sizeof out->created_at, PQgetvalue(r, 0, 9));
        out->replayed = 1;
        PQclear(r);
        return CL_CREDITS_OK;
    }
    PQclear(r);
    if (delta >= 0) {
        snprintf(err, errlen, "credit of %" PRId64 " was not applied", delta);
        return CL_CREDITS_ERROR;
    }
    out->needed = -delta;
    out->available = kind == CL_CREDIT_GENERATION ? gen : ren;
    out->generation_balance_after = gen;
    out->render_balance_after = ren;
    out->amount = 0;
    snprintf(err, errlen, "%s needs %" PRId64 " %s credit(s); %" PRId64 " left", action, out->needed,
             kind_s, out->available);
    return CL_CREDITS_INSUFFICIENT;
}

/* ---- public API ----------------------------------------------------------- */

int cl_credits_ensure_account(PGconn *c, int64_t user_id, char *err, size_t errlen)
{
    char uid_s[24];
    const char *p[] = {cl_db_id(uid_s, user_id)};
    return cl_db_exec(c, "INSERT INTO credit_accounts (user_id) VALUES ($1::bigint) ON CONFLICT DO NOTHING", 1,
                      p, err, errlen);
}

int cl_credits_grant_monthly(PGconn *c, int64_t user_id, cl_plan plan, const char *month_start, char *err,
                             size_t errlen)
{
    char month[11];
    if (month_start) {
        if (!valid_month(month_start)) {
            snprintf(err, errlen, "month_start must be YYYY-MM-01");
            return -1;
        }
        copy_str(month, sizeof month, month_start);
    } else {
        month_now(month);
    }
    const cl_plan_limits *l = cl_policy_limits(plan);
    char uid_s[24], gen_s[24], ren_s[24];
    snprintf(uid_s, sizeof uid_s, "%" PRId64, user_id);
    snprintf(gen_s, sizeof gen_s, "%" PRId64, l->monthly_generation_grant);
    snprintf(ren_s, sizeof ren_s, "%" PRId64, l->monthly_render_grant);
    const char *p[] = {uid_s, month, gen_s, ren_s, cl_plan_id(plan)};
    /* Nothing owed (this month's grant for this plan is already in): a plain
       read, no row lock, no write — GET routes call this on every request. */
    PGresult *r = cl_db_query(c,
                              "SELECT 1 FROM credit_accounts WHERE user_id = $1::bigint AND granted_month = $2::date"
                              " AND granted_generation >= $3::bigint AND granted_render >= $4::bigint",
                              4, p);
    int owed = !cl_db_ok(r) || PQntuples(r) == 0;
    PQclear(r);
    if (!owed)
        return 0;
    if (cl_credits_ensure_account(c, user_id, err, errlen) != 0)
        return -1;
    r = cl_db_query(c, GRANT_SQL, 5, p);
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        cl_db_errmsg(c, r, err, errlen);
        PQclear(r);
        return -1;
    }
    int granted = get_i64(r, 0, 0) > 0; /* ledger rows written */
    PQclear(r);
    if (granted)
        cl_info("credits", "monthly grant %s applied for user %" PRId64 " (plan %s)", month, user_id,
                cl_plan_id(plan));
    return granted;
}

int cl_credits_grant_owed(const cl_user *u)
{
    if (!u->credits.loaded)
        return 1;
    char month[11];
    month_now(month);
    const cl_plan_limits *l = cl_policy_limits(u->plan);
    return !(u->credits.has_account && strcmp(u->credits.granted_month, month) == 0 &&
             u->credits.granted_generation >= l->monthly_generation_grant &&
             u->credits.granted_render >= l->monthly_render_grant);
}

int cl_credits_grant_if_owed(PGconn *c, cl_user *u, char *err, size_t errlen)
{
    if (!cl_credits_grant_owed(u))
        return 0; /* the common case: decided from the row already read, no statement */
    int g = cl_credits_grant_monthly(c, u->id, u->plan, NULL, err, errlen);
    if (g < 0 || !u->credits.loaded)
        return g;
    cl_balance b;
    if (cl_credits_balance(c, u->id, &b, err, errlen) < 0)
        return -1;
    u->credits.has_account = 1;
    u->credits.generation = b.generation;
    u->credits.render = b.render;
    copy_str(u->credits.granted_month, sizeof u->credits.granted_month, b.granted_month);
    return g;
}

int cl_credits_charge(PGconn *c, int64_t user_id, const char *action, const char *reference_key,
                      cl_receipt *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const cl_action_cost *pol = cl_policy_action(action);
    if (!pol) {
        snprintf(err, errlen, "unknown action '%s'", action ? action : "");
        return CL_CREDITS_INVALID;
    }
    if (!valid_key(reference_key)) {
        snprintf(err, errlen, "reference key must be 1-%d printable ASCII characters without spaces",
                 CL_REFERENCE_KEY_MAX);
        return CL_CREDITS_INVALID;
    }
    if (pol->kind == CL_CREDIT_NONE || pol->cost == 0) {
        out->user_id = user_id;
        copy_str(out->action, sizeof out->action, action);
        copy_str(out->kind, sizeof out->kind, "none");
        copy_str(out->reason, sizeof out->reason, "charge");
        copy_str(out->reference_key, sizeof out->reference_key, reference_key);
        return CL_CREDITS_OK;
    }
    for (int attempt = 0;; attempt++) {
        int rc = apply(c, user_id, pol->kind, -pol->cost, "charge", action, reference_key, pol->usage_metric,
                       pol->usage_units, 0, out, err, errlen);
        if ((rc != CL_CREDITS_INSUFFICIENT && rc != CL_CREDITS_NOT_FOUND) || attempt > 0)
            return rc;
        /* Short or no account: apply this month's grant if it is still owed,
           then try once more. */
        cl_user u;
        char e2[256];
        int found = cl_user_load(c, user_id, &u, e2, sizeof e2);
        if (found <= 0) {
            if (found < 0) {
                snprintf(err, errlen, "%s", e2);
                return CL_CREDITS_ERROR;
            }
            snprintf(err, errlen, "no user %" PRId64, user_id);
            return CL_CREDITS_NOT_FOUND;
        }
        int g = cl_credits_grant_monthly(c, user_id, u.plan, NULL, e2, sizeof e2);
        if (g < 0) {
            snprintf(err, errlen, "%s", e2);
            return CL_CREDITS_ERROR;
        }
        if (g == 0 && rc == CL_CREDITS_INSUFFICIENT)
            return rc;
    }
}

int cl_credits_refund(PGconn *c, int64_t user_id, const char *charge_reference_key, cl_receipt *out,
                      char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char key[CL_REFERENCE_KEY_MAX + 16];
    if (!valid_key(charge_reference_key) ||
        snprintf(key, sizeof key, "refund:%s", charge_reference_key) > CL_REFERENCE_KEY_MAX) {
        snprintf(err, errlen, "reference key must be 1-%d printable characters (including the refund: prefix)",
                 CL_REFERENCE_KEY_MAX - 7);
        return CL_CREDITS_INVALID;
    }
    char uid_s[24];
    const char *p[] = {cl_db_id(uid_s, user_id), charge_reference_key};
    PGresult *r = cl_db_query(c,
                              "SELECT id, kind, amount, action FROM credit_ledger_entries"
                              " WHERE user_id = $1::bigint AND reference_key = $2 AND reason = 'charge'",
                              2, p);
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, err, errlen);
        PQclear(r);
        return CL_CREDITS_ERROR;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        snprintf(err, errlen, "no charge with reference key %s", charge_reference_key);
        return CL_CREDITS_NOT_FOUND;
    }
    int64_t entry = get_i64(r, 0, 0), amount = get_i64(r, 0, 2);
    cl_credit_kind kind = CL_CREDIT_NONE;
    cl_credit_kind_parse(PQgetvalue(r, 0, 1), &kind);
    char action[64];
    copy_str(action, sizeof action, PQgetvalue(r, 0, 3));
    PQclear(r);
    return apply(c, user_id, kind, -amount, "refund", action, key, NULL, 0, entry, out, err, errlen);
}

int cl_credits_adjust(PGconn *c, int64_t user_id, cl_credit_kind kind, int64_t amount, const char *action,
                      const char *reference_key, cl_receipt *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (kind == CL_CREDIT_NONE || amount == 0 || !action || !*action || strlen(action) >= 64) {
        snprintf(err, errlen, "an adjustment needs a kind, a non-zero amount and an action label");
        return CL_CREDITS_INVALID;
    }
    if (!valid_key(reference_key)) {
        snprintf(err, errlen, "reference key must be 1-%d printable ASCII characters without spaces",
                 CL_REFERENCE_KEY_MAX);
        return CL_CREDITS_INVALID;
    }
    return apply(c, user_id, kind, amount, "adjustment", action, reference_key, NULL, 0, 0, out, err, errlen);
}

int cl_credits_balance(PGconn *c, int64_t user_id, cl_balance *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char uid_s[24];
    const char *p[] = {cl_db_id(uid_s, user_id)};
    PGresult *r = cl_db_query(c,
                              "SELECT generation_balance, render_balance, COALESCE(granted_month::text, '')"
                              " FROM credit_accounts WHERE user_id = $1::bigint",
                              1, p);
    if (cl_db_check(c, r, err, errlen) != 0)
        return -1;
    int found = PQntuples(r) == 1;
    if (found) {
        out->generation = get_i64(r, 0, 0);
        out->render = get_i64(r, 0, 1);
        copy_str(out->granted_month, sizeof out->granted_month, PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return found;
}

int cl_credits_can_afford(PGconn *c, int64_t user_id, const char *action, int64_t *needed,
                          int64_t *available, char *err, size_t errlen)
{
    const cl_action_cost *pol = cl_policy_action(action);
    if (!pol) {
        snprintf(err, errlen, "unknown action '%s'", action ? action : "");
        return CL_CREDITS_INVALID;
    }
    *needed = pol->cost;
    *available = 0;
    if (pol->kind == CL_CREDIT_NONE || pol->cost == 0)
        return 1;
    cl_balance b;
    int found = cl_credits_balance(c, user_id, &b, err, errlen);
    if (found < 0)
        return CL_CREDITS_ERROR;
    *available = pol->kind == CL_CREDIT_GENERATION ? b.generation : b.render;
    return *available >= pol->cost;
}

int cl_usage_record(PGconn *c, int64_t user_id, const char *metric, int64_t units, char *err, size_t errlen)
{
    if (!metric || !*metric || units <= 0) {
        snprintf(err, errlen, "usage needs a metric and positive units");
        return -1;
    }
    char uid_s[24], units_s[24];
    const char *p[] = {cl_db_id(uid_s, user_id), metric, cl_db_id(units_s, units)};
    return cl_db_exec(c,
                      "INSERT INTO usage_counters AS u (user_id, metric, window_kind, window_start, count)"
                      " SELECT $1::bigint, $2::text, w.kind, w.start, $3::bigint FROM"
                      " (VALUES ('week', date_trunc('week', now())::date),"
                      " ('month', date_trunc('month', now())::date)) AS w(kind, start)"
                      " ON CONFLICT (user_id, metric, window_kind, window_start)"
                      " DO UPDATE SET count = u.count + EXCLUDED.count, updated_at = now()",
                      3, p, err, errlen);
}

cJSON *cl_receipt_json(const cl_receipt *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "id", (double)r->entry_id);
    cJSON_AddStringToObject(o, "action", r->action);
    const cl_action_cost *pol = cl_policy_action(r->action);
    char label[128];
    if (strcmp(r->reason, "monthly_grant") == 0)
        snprintf(label, sizeof label, "Monthly credit grant");
    else if (strcmp(r->reason, "refund") == 0)
        snprintf(label, sizeof label, "Refund: %s", pol ? pol->label : r->action);
    else
        snprintf(label, sizeof label, "%s", pol ? pol->label : r->action);
    cJSON_AddStringToObject(o, "label", label);
    cJSON_AddStringToObject(o, "kind", r->kind);
    cJSON_AddStringToObject(o, "reason", r->reason);
    cJSON_AddNumberToObject(o, "amount", (double)r->amount);
    cJSON *after = cJSON_AddObjectToObject(o, "balances_after");
    if (after) {
        cJSON_AddNumberToObject(after, "generation", (double)r->generation_balance_after);
        cJSON_AddNumberToObject(after, "render", (double)r->render_balance_after);
    }
    cJSON_AddStringToObject(o, "reference_key", r->reference_key);
    cJSON_AddStringToObject(o, "created_at", r->created_at);
    cJSON_AddBoolToObject(o, "replayed", r->replayed);
    return o;
}
