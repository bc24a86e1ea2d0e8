/*
 * test_credits.c — the credit ledger against a real Postgres: idempotent
 * charges under 50 concurrent same-key requests, exact debits when 50
 * distinct charges race for a balance of 10, monthly grants applied once
 * when a new month's first requests race, ledger immutability, refunds,
 * key conflicts, free actions and usage counters.
 *
 * Needs CLIPLOOP_PG_ADMIN_URL and CLIPLOOP_SOURCE_DIR (scripts/test sets
 * them): the test creates its own database and drops it at the end. Without
 * them the test fails loudly.
 */
#include "credits/credits.h"
#include "db/db.h"
#include "test_util.h"
#include "unit.h"
#include "unit_db.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 50

static char db_url[2048];

static int64_t scalar_i64(PGconn *c, const char *sql, int64_t uid)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, uid);
    const char *p[] = {id};
    PGresult *r = cl_db_query(c, sql, 1, p);
    int64_t v = cl_db_ok(r) && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                                                                         : INT64_MIN;
    if (!cl_db_ok(r))
        fprintf(stderr, "query failed: %s", PQerrorMessage(c));
    PQclear(r);
    return v;
}

/* SELECT <expr> FROM credit_ledger_entries WHERE user_id = uid AND <cond> (cond may be "true"). */
static int64_t ledger_i64(PGconn *c, int64_t uid, const char *expr, const char *cond)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT %s FROM credit_ledger_entries WHERE user_id = $1::bigint AND %s", expr, cond);
    return scalar_i64(c, sql, uid);
}

static int64_t new_user(PGconn *c, const char *email)
{
    const char *p[] = {email};
    PGresult *r = cl_db_query(c, "INSERT INTO users (email, beta_approved, email_verified_at) VALUES ($1, true, now()) RETURNING id", 1, p);
    int64_t id = cl_db_ok(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return id;
}

/* Give the user exactly `want` generation credits with this month's grant
   already applied (so a short charge does not top up mid-test). */
static void set_generation(PGconn *c, int64_t uid, int64_t want)
{
    char err[256];
    CHECK(cl_credits_grant_monthly(c, uid, CL_PLAN_BETA, NULL, err, sizeof err) >= 0);
    cl_balance b;
    CHECK(cl_credits_balance(c, uid, &b, err, sizeof err) == 1);
    if (b.generation != want) {
        cl_receipt r;
        char key[64];
        snprintf(key, sizeof key, "setup:%" PRId64 ":%" PRId64, uid, want);
        CHECK(cl_credits_adjust(c, uid, CL_CREDIT_GENERATION, want - b.generation, "test.setup", key, &r, err,
                                sizeof err) == CL_CREDITS_OK);
    }
    CHECK(cl_credits_balance(c, uid, &b, err, sizeof err) == 1 && b.generation == want);
}

/* The ledger agrees with the account: per kind, amounts sum to the balance. */
static void check_ledger_matches(PGconn *c, int64_t uid)
{
    CHECK(scalar_i64(c,
                     "SELECT a.generation_balance - COALESCE((SELECT sum(amount) FROM credit_ledger_entries"
                     " WHERE user_id = a.user_id AND kind = 'generation'), 0) FROM credit_accounts a"
                     " WHERE a.user_id = $1::bigint",
                     uid) == 0);
    CHECK(scalar_i64(c,
                     "SELECT a.render_balance - COALESCE((SELECT sum(amount) FROM credit_ledger_entries"
                     " WHERE user_id = a.user_id AND kind = 'render'), 0) FROM credit_accounts a"
                     " WHERE a.user_id = $1::bigint",
                     uid) == 0);
}

/* ---- concurrency harness: THREADS threads, each with its own connection -- */

typedef struct worker {
    int index;
    int64_t uid;
    const char *op; /* "charge-same", "charge-distinct", "grant", "refund" */
    const char *arg;
    int rc;
    cl_receipt receipt;
    char err[256];
} worker;

static pthread_barrier_t barrier;

static void *run_worker(void *arg)
{
    worker *w = arg;
    PGconn *c = cl_db_connect(db_url, w->err, sizeof w->err);
    pthread_barrier_wait(&barrier); /* everyone connected: start together */
    if (!c) {
        w->rc = -100;
        return NULL;
    }
    char key[64];
    if (strcmp(w->op, "charge-same") == 0) {
        w->rc = cl_credits_charge(c, w->uid, CL_ACTION_GENERATE_COPY, w->arg, &w->receipt, w->err, sizeof w->err);
    } else if (strcmp(w->op, "charge-distinct") == 0) {
        snprintf(key, sizeof key, "distinct:%d", w->index);
        w->rc = cl_credits_charge(c, w->uid, CL_ACTION_GENERATE_COPY, key, &w->receipt, w->err, sizeof w->err);
    } else if (strcmp(w->op, "grant") == 0) {
        w->rc = cl_credits_grant_monthly(c, w->uid, CL_PLAN_BETA, w->arg, w->err, sizeof w->err);
    } else if (strcmp(w->op, "refund") == 0) {
        w->rc = cl_credits_refund(c, w->uid, w->arg, &w->receipt, w->err, sizeof w->err);
    }
    PQfinish(c);
    return NULL;
}

static void run_all(worker *ws, int64_t uid, const char *op, const char *arg)
{
    pthread_t th[THREADS];
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        memset(&ws[i], 0, sizeof ws[i]);
        ws[i].index = i;
        ws[i].uid = uid;
        ws[i].op = op;
        ws[i].arg = arg;
        pthread_create(&th[i], NULL, run_worker, &ws[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    for (int i = 0; i < THREADS; i++)
        if (ws[i].rc < 0)
            fprintf(stderr, "worker %d (%s): rc %d: %s\n", i, op, ws[i].rc, ws[i].err);
}

static void test_same_key_concurrent(PGconn *c)
{
    int64_t uid = new_user(c, "same@example.com");
    set_generation(c, uid, 100);
    static worker ws[THREADS];
    run_all(ws, uid, "charge-same", "chat_job:42:copy");
    int ok = 0, fresh = 0, identical = 1;
    for (int i = 0; i < THREADS; i++) {
        ok += ws[i].rc == CL_CREDITS_OK;
        fresh += ws[i].rc == CL_CREDITS_OK && !ws[i].receipt.replayed;
        const cl_receipt *a = &ws[0].receipt, *b = &ws[i].receipt;
        identical &= a->entry_id == b->entry_id && a->amount == b->amount &&
                     a->generation_balance_after == b->generation_balance_after &&
                     a->render_balance_after == b->render_balance_after &&
                     strcmp(a->created_at, b->created_at) == 0 && strcmp(a->action, b->action) == 0 &&
                     strcmp(a->kind, b->kind) == 0 && strcmp(a->reference_key, b->reference_key) == 0;
    }
    CHECK(ok == THREADS);
    CHECK(fresh == 1);
    CHECK(identical);
    CHECK(ws[0].receipt.entry_id > 0);
    CHECK(ws[0].receipt.amount == -1);
    CHECK(ws[0].receipt.generation_balance_after == 99);
    CHECK_STR(ws[0].receipt.reference_key, "chat_job:42:copy");
    CHECK(ledger_i64(c, uid, "count(*)", "reference_key = 'chat_job:42:copy'") == 1);
    CHECK(scalar_i64(c, "SELECT generation_balance FROM credit_accounts WHERE user_id = $1::bigint", uid) == 99);
    /* Usage counted once, in both windows. */
    CHECK(scalar_i64(c, "SELECT sum(count) FROM usage_counters WHERE user_id = $1::bigint"
                        " AND metric = 'posts_generated' AND window_kind = 'week'", uid) == 1);
    CHECK(scalar_i64(c, "SELECT sum(count) FROM usage_counters WHERE user_id = $1::bigint"
                        " AND metric = 'posts_generated' AND window_kind = 'month'", uid) == 1);
    check_ledger_matches(c, uid);
}

static void test_distinct_race_for_ten(PGconn *c)
{
    int64_t uid = new_user(c, "ten@example.com");
    int64_t cost = cl_policy_action(CL_ACTION_GENERATE_COPY)->cost;
    set_generation(c, uid, 10 * cost);
    static worker ws[THREADS];
    run_all(ws, uid, "charge-distinct", NULL);
    int ok = 0, short_ = 0, right_shape = 1;
    for (int i = 0; i < THREADS; i++) {
        if (ws[i].rc == CL_CREDITS_OK) {
            ok++;
            right_shape &= !ws[i].receipt.replayed && ws[i].receipt.generation_balance_after >= 0;
        } else if (ws[i].rc == CL_CREDITS_INSUFFICIENT) {
            short_++;
            right_shape &= ws[i].receipt.needed == cost && ws[i].receipt.available < cost &&
                           strstr(ws[i].err, "left") != NULL;
        }
    }
    CHECK(ok == 10);
    CHECK(short_ == THREADS - 10);
    CHECK(right_shape);
    CHECK(scalar_i64(c, "SELECT generation_balance FROM credit_accounts WHERE user_id = $1::bigint", uid) == 0);
    CHECK(ledger_i64(c, uid, "count(*)", "reason = 'charge'") == 10);
    /* Balances after form the chain 9*cost .. 0 with no gaps or repeats. */
    CHECK(ledger_i64(c, uid, "count(DISTINCT generation_balance_after)", "reason = 'charge'") == 10);
    CHECK(ledger_i64(c, uid, "min(generation_balance_after)", "reason = 'charge'") == 0);
    check_ledger_matches(c, uid);
}

static void test_month_rollover(PGconn *c)
{
    int64_t uid = new_user(c, "rollover@example.com");
    char err[256];
    const cl_plan_limits *l = cl_policy_limits(CL_PLAN_BETA);
    CHECK(cl_credits_grant_monthly(c, uid, CL_PLAN_BETA, "2026-01-01", err, sizeof err) == 1);
    CHECK(cl_credits_grant_monthly(c, uid, CL_PLAN_BETA, "2026-01-01", err, sizeof err) == 0);
    static worker ws[THREADS];
    run_all(ws, uid, "grant", "2026-02-01");
    int granted = 0, already = 0;
    for (int i = 0; i < THREADS; i++) {
        granted += ws[i].rc == 1;
        already += ws[i].rc == 0;
    }
    CHECK(granted == 1);
    CHECK(already == THREADS - 1);
    CHECK(ledger_i64(c, uid, "count(*)", "reference_key = 'grant:2026-02:beta:generation'") == 1);
    CHECK(scalar_i64(c, "SELECT generation_balance FROM credit_accounts WHERE user_id = $1::bigint", uid) ==
          2 * l->monthly_generation_grant);
    CHECK(scalar_i64(c, "SELECT render_balance FROM credit_accounts WHERE user_id = $1::bigint", uid) ==
          2 * l->monthly_render_grant);
    CHECK(ledger_i64(c, uid, "count(*)", "reason = 'monthly_grant'") == 4);
    /* An upgrade mid-window grants the difference once; a downgrade nothing. */
    const cl_plan_limits *pro = cl_policy_limits(CL_PLAN_STARTER);
    CHECK(cl_credits_grant_monthly(c, uid, CL_PLAN_STARTER, "2026-02-01", err, sizeof err) == 1);
    CHECK(cl_credits_grant_monthly(c, uid, CL_PLAN_STARTER, "2026-02-01", err, sizeof err) == 0);
    CHECK(cl_credits_grant_monthly(c, uid, CL_PLAN_BETA, "2026-02-01", err, sizeof err) == 0);
    CHECK(cl_credits_grant_monthly(c, uid, CL_PLAN_FREE, "2026-02-01", err, sizeof err) == 0);
    CHECK(scalar_i64(c, "SELECT generation_balance FROM credit_accounts WHERE user_id = $1::bigint", uid) ==
          l->monthly_generation_grant + pro->monthly_generation_grant);
    CHECK(ledger_i64(c, uid, "amount", "reference_key = 'grant:2026-02:starter:render'") ==
          pro->monthly_render_grant - l->monthly_render_grant);
    /* A new window grants the plan's full amount again. */
    CHECK(cl_credits_grant_monthly(c, uid, CL_PLAN_STARTER, "2026-03-01", err, sizeof err) == 1);
    CHECK(scalar_i64(c, "SELECT generation_balance FROM credit_accounts WHERE user_id = $1::bigint", uid) ==
          l->monthly_generation_grant + 2 * pro->monthly_generation_grant);
    /* An earlier window never grants again once a later one was applied. */
    CHECK(cl_credits_grant_monthly(c, uid, CL_PLAN_STARTER, "2026-01-01", err, sizeof err) == 0);
    CHECK(cl_credits_grant_monthly(c, uid, CL_PLAN_BETA, "2026-13-01", err, sizeof err) == -1);
    check_ledger_matches(c, uid);
}

static void test_immutable(PGconn *c)
{
    const char *sqls[] = {
        "UPDATE credit_ledger_entries SET amount = amount - 1",
        "UPDATE credit_ledger_entries SET reference_key = reference_key || 'x' WHERE id = (SELECT min(id) FROM credit_ledger_entries)",
        "DELETE FROM credit_ledger_entries",
        "DELETE FROM credit_ledger_entries WHERE id = (SELECT max(id) FROM credit_ledger_entries)",
        "TRUNCATE credit_ledger_entries CASCADE",
    };
    int64_t before = scalar_i64(c, "SELECT count(*) + 0 * $1::bigint FROM credit_ledger_entries", 0);
    CHECK(before > 0);
    for (size_t i = 0; i < sizeof sqls / sizeof *sqls; i++) {
        PGresult *r = cl_db_query(c, sqls[i], 0, NULL);
        CHECK(!cl_db_ok(r));
        CHECK_STR(cl_db_sqlstate(r), "23001");
        PQclear(r);
    }
    CHECK(scalar_i64(c, "SELECT count(*) + 0 * $1::bigint FROM credit_ledger_entries", 0) == before);
}

static void test_refund_and_conflicts(PGconn *c)
{
    int64_t uid = new_user(c, "refund@example.com");
    set_generation(c, uid, 10);
    char err[256];
    cl_receipt r, r2;
    CHECK(cl_credits_charge(c, uid, CL_ACTION_CYCLE_POSTS, "cycle:7:posts", &r, err, sizeof err) == CL_CREDITS_OK);
    CHECK(r.amount == -5 && r.generation_balance_after == 5);
    /* The same key for another action is a conflict, not a replay. */
    CHECK(cl_credits_charge(c, uid, CL_ACTION_REGENERATE, "cycle:7:posts", &r2, err, sizeof err) ==
          CL_CREDITS_KEY_CONFLICT);
    /* 50 concurrent refunds: one compensating entry. */
    static worker ws[THREADS];
    run_all(ws, uid, "refund", "cycle:7:posts");
    int ok = 0, fresh = 0;
    for (int i = 0; i < THREADS; i++) {
        ok += ws[i].rc == CL_CREDITS_OK;
        fresh += ws[i].rc == CL_CREDITS_OK && !ws[i].receipt.replayed;
    }
    CHECK(ok == THREADS && fresh == 1);
    CHECK(ws[0].receipt.amount == 5 && ws[0].receipt.generation_balance_after == 10);
    CHECK_STR(ws[0].receipt.reason, "refund");
    CHECK_STR(ws[0].receipt.reference_key, "refund:cycle:7:posts");
    CHECK(scalar_i64(c, "SELECT generation_balance FROM credit_accounts WHERE user_id = $1::bigint", uid) == 10);
    CHECK(cl_credits_refund(c, uid, "no-such-charge", &r2, err, sizeof err) == CL_CREDITS_NOT_FOUND);
    /* Another user cannot refund (or replay) this user's charge. */
    int64_t other = new_user(c, "other@example.com");
    CHECK(cl_credits_refund(c, other, "cycle:7:posts", &r2, err, sizeof err) == CL_CREDITS_NOT_FOUND);
    /* Invalid input. */
    CHECK(cl_credits_charge(c, uid, "no.such.action", "k1", &r2, err, sizeof err) == CL_CREDITS_INVALID);
    CHECK(cl_credits_charge(c, uid, CL_ACTION_REGENERATE, "has space", &r2, err, sizeof err) == CL_CREDITS_INVALID);
    CHECK(cl_credits_charge(c, uid, CL_ACTION_REGENERATE, "", &r2, err, sizeof err) == CL_CREDITS_INVALID);
    /* Free actions succeed and write nothing. */
    int64_t rows = scalar_i64(c, "SELECT count(*) FROM credit_ledger_entries WHERE user_id = $1::bigint", uid);
    CHECK(cl_credits_charge(c, uid, CL_ACTION_EXPORT_BUNDLE, "export:1", &r2, err, sizeof err) == CL_CREDITS_OK);
    CHECK(r2.amount == 0 && r2.entry_id == 0);
    CHECK(scalar_i64(c, "SELECT count(*) FROM credit_ledger_entries WHERE user_id = $1::bigint", uid) == rows);
    /* A render charge touches only the render balance. */
    int64_t gen = scalar_i64(c, "SELECT generation_balance FROM credit_accounts WHERE user_id = $1::bigint", uid);
    int64_t ren = scalar_i64(c, "SELECT render_balance FROM credit_accounts WHERE user_id = $1::bigint", uid);
    CHECK(cl_credits_charge(c, uid, CL_ACTION_CONTENT_RENDER, "item:1:render", &r2, err, sizeof err) ==
          CL_CREDITS_OK);
    CHECK(r2.render_balance_after == ren - 1 && r2.generation_balance_after == gen);
    /* Usage for free actions is recorded separately. */
    CHECK(cl_usage_record(c, uid, CL_METRIC_PUBLISHES, 2, err, sizeof err) == 0);
    CHECK(scalar_i64(c, "SELECT count FROM usage_counters WHERE user_id = $1::bigint"
                        " AND metric = 'publishes' AND window_kind = 'month'", uid) == 2);
    check_ledger_matches(c, uid);
}

/* A charge inside the caller's transaction rolls back with it, and a charge
   for a user without an account creates it and applies the month's grant. */
static void test_transaction_and_lazy_account(PGconn *c)
{
    int64_t uid = new_user(c, "lazy@example.com");
    char err[256];
    cl_receipt r;
    CHECK(cl_credits_charge(c, uid, CL_ACTION_GENERATE_COPY, "lazy:1", &r, err, sizeof err) == CL_CREDITS_OK);
    CHECK(r.generation_balance_after == cl_policy_limits(CL_PLAN_BETA)->monthly_generation_grant - 1);
    CHECK(cl_db_begin(c) == 0);
    CHECK(cl_credits_charge(c, uid, CL_ACTION_GENERATE_COPY, "lazy:2", &r, err, sizeof err) == CL_CREDITS_OK);
    cl_db_rollback(c);
    CHECK(ledger_i64(c, uid, "count(*)", "reference_key = 'lazy:2'") == 0);
    int64_t none;
    int64_t avail;
    CHECK(cl_credits_can_afford(c, uid, CL_ACTION_CYCLE_POSTS, &none, &avail, err, sizeof err) == 1);
    CHECK(cl_credits_charge(c, 999999, CL_ACTION_GENERATE_COPY, "ghost:1", &r, err, sizeof err) ==
          CL_CREDITS_NOT_FOUND);
    check_ledger_matches(c, uid);
}

int main(void)
{
    unit_db d;
    if (unit_db_open(&d, "unit_credits") != 0)
        return 1;
    snprintf(db_url, sizeof db_url, "%s", d.url);
    CHECK(d.c != NULL && d.migrated);
    if (d.c && d.migrated) {
        test_same_key_concurrent(d.c);
        test_distinct_race_for_ten(d.c);
        test_month_rollover(d.c);
        test_refund_and_conflicts(d.c);
        test_transaction_and_lazy_account(d.c);
        test_immutable(d.c);
    }
    unit_db_close(&d);
    return unit_done("test_credits");
}
