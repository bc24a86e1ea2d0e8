/*
 * test_plans.c — the effective-plan derivation, table-driven over every
 * subscription status, cancel flag, period-end position, beta approval and
 * invite-only setting that changes the answer; plus the policy tables'
 * invariants.
 */
#include "credits/policy.h"
#include "plans/plans.h"
#include "unit.h"

#include <stdint.h>

#define NOW INT64_C(1800000000)
#define FUTURE (NOW + 3600)
#define PAST (NOW - 3600)
#define UNKNOWN 0

typedef struct {
    int beta;
    cl_sub_status status;
    int cancel;
    int64_t end;
    int invite_only;
    cl_plan want;
    int want_access;
    const char *want_reason;
} row;

static const row rows[] = {
    /* No subscription: beta approval decides; invite-only gates free. */
    {0, CL_SUB_NONE, 0, UNKNOWN, 1, CL_PLAN_FREE, 0, "waitlisted"},
    {0, CL_SUB_NONE, 0, UNKNOWN, 0, CL_PLAN_FREE, 1, "open_access"},
    {1, CL_SUB_NONE, 0, UNKNOWN, 1, CL_PLAN_BETA, 1, "beta_approved"},
    {1, CL_SUB_NONE, 0, UNKNOWN, 0, CL_PLAN_BETA, 1, "beta_approved"},
    /* Active Pro grants access even in invite-only mode, approved or not. */
    {0, CL_SUB_ACTIVE, 0, FUTURE, 1, CL_PLAN_STARTER, 1, "subscription_active"},
    {1, CL_SUB_ACTIVE, 0, FUTURE, 1, CL_PLAN_STARTER, 1, "subscription_active"},
    {0, CL_SUB_ACTIVE, 0, UNKNOWN, 1, CL_PLAN_STARTER, 1, "subscription_active"},
    /* Active and not cancelling: a renewal the webhook has not reported yet
       does not drop Pro. */
    {0, CL_SUB_ACTIVE, 0, PAST, 1, CL_PLAN_STARTER, 1, "subscription_active"},
    {0, CL_SUB_ACTIVE, 0, FUTURE, 0, CL_PLAN_STARTER, 1, "subscription_active"},
    {0, CL_SUB_ON_TRIAL, 0, FUTURE, 1, CL_PLAN_STARTER, 1, "subscription_trial"},
    /* Cancel at period end: Pro until the end, then the fallback. */
    {0, CL_SUB_ACTIVE, 1, FUTURE, 1, CL_PLAN_STARTER, 1, "cancel_at_period_end"},
    {0, CL_SUB_ACTIVE, 1, UNKNOWN, 1, CL_PLAN_STARTER, 1, "cancel_at_period_end"},
    {0, CL_SUB_ACTIVE, 1, PAST, 1, CL_PLAN_FREE, 0, "waitlisted"},
    {1, CL_SUB_ACTIVE, 1, PAST, 1, CL_PLAN_BETA, 1, "beta_approved"},
    {0, CL_SUB_ACTIVE, 1, PAST, 0, CL_PLAN_FREE, 1, "open_access"},
    {0, CL_SUB_ACTIVE, 1, NOW, 1, CL_PLAN_FREE, 0, "waitlisted"}, /* the end itself is past */
    {0, CL_SUB_ON_TRIAL, 1, FUTURE, 1, CL_PLAN_STARTER, 1, "cancel_at_period_end"},
    {0, CL_SUB_ON_TRIAL, 1, PAST, 1, CL_PLAN_FREE, 0, "waitlisted"},
    /* Provider status "cancelled": paid up until the end. */
    {0, CL_SUB_CANCELLED, 0, FUTURE, 1, CL_PLAN_STARTER, 1, "cancel_at_period_end"},
    {0, CL_SUB_CANCELLED, 1, FUTURE, 1, CL_PLAN_STARTER, 1, "cancel_at_period_end"},
    {0, CL_SUB_CANCELLED, 0, PAST, 1, CL_PLAN_FREE, 0, "waitlisted"},
    {1, CL_SUB_CANCELLED, 0, PAST, 1, CL_PLAN_BETA, 1, "beta_approved"},
    {0, CL_SUB_CANCELLED, 0, UNKNOWN, 1, CL_PLAN_FREE, 0, "waitlisted"},
    {0, CL_SUB_CANCELLED, 0, NOW, 1, CL_PLAN_FREE, 0, "waitlisted"},
    /* Past due: grace until the period end. */
    {0, CL_SUB_PAST_DUE, 0, FUTURE, 1, CL_PLAN_STARTER, 1, "payment_grace"},
    {0, CL_SUB_PAST_DUE, 0, UNKNOWN, 1, CL_PLAN_STARTER, 1, "payment_grace"},
    {0, CL_SUB_PAST_DUE, 0, PAST, 1, CL_PLAN_FREE, 0, "waitlisted"},
    {1, CL_SUB_PAST_DUE, 0, PAST, 1, CL_PLAN_BETA, 1, "beta_approved"},
    /* Fully expired Pro: beta when approved, otherwise gated free. */
    {0, CL_SUB_EXPIRED, 0, PAST, 1, CL_PLAN_FREE, 0, "waitlisted"},
    {0, CL_SUB_EXPIRED, 0, FUTURE, 1, CL_PLAN_FREE, 0, "waitlisted"},
    {1, CL_SUB_EXPIRED, 0, PAST, 1, CL_PLAN_BETA, 1, "beta_approved"},
    {0, CL_SUB_EXPIRED, 0, PAST, 0, CL_PLAN_FREE, 1, "open_access"},
    {0, CL_SUB_EXPIRED, 1, FUTURE, 1, CL_PLAN_FREE, 0, "waitlisted"},
    /* Paused and unpaid carry no Pro. */
    {0, CL_SUB_PAUSED, 0, FUTURE, 1, CL_PLAN_FREE, 0, "waitlisted"},
    {1, CL_SUB_PAUSED, 0, FUTURE, 1, CL_PLAN_BETA, 1, "beta_approved"},
    {0, CL_SUB_UNPAID, 0, FUTURE, 1, CL_PLAN_FREE, 0, "waitlisted"},
    {1, CL_SUB_UNPAID, 0, FUTURE, 1, CL_PLAN_BETA, 1, "beta_approved"},
};

static void test_table(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const row *t = &rows[i];
        cl_plan_input in = {t->beta, t->status, t->cancel, t->end};
        cl_plan_result r = cl_effective_plan(&in, t->invite_only, NOW);
        int ok = r.plan == t->want && r.product_access == t->want_access && strcmp(r.reason, t->want_reason) == 0;
        if (!ok)
            fprintf(stderr, "row %zu: beta=%d status=%s cancel=%d end=%lld invite=%d -> %s/%d/%s, want %s/%d/%s\n",
                    i, t->beta, cl_sub_status_name(t->status), t->cancel, (long long)(t->end ? t->end - NOW : 0),
                    t->invite_only, cl_plan_id(r.plan), r.product_access, r.reason, cl_plan_id(t->want),
                    t->want_access, t->want_reason);
        CHECK(ok);
    }
}

/* Every status appears in the table at least once. */
static void test_table_covers_statuses(void)
{
    for (int s = CL_SUB_NONE; s <= CL_SUB_UNPAID; s++) {
        int seen = 0;
        for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
            seen |= rows[i].status == (cl_sub_status)s;
        CHECK(seen);
    }
}

static void test_names(void)
{
    CHECK_STR(cl_plan_id(CL_PLAN_STARTER), "starter");
    CHECK_STR(cl_plan_label(CL_PLAN_STARTER), "Pro");
    CHECK_STR(cl_plan_id(CL_PLAN_FREE), "free");
    cl_plan p;
    CHECK(cl_plan_parse("beta", &p) == 0 && p == CL_PLAN_BETA);
    CHECK(cl_plan_parse("pro", &p) == 0 && p == CL_PLAN_STARTER);
    CHECK(cl_plan_parse("gold", &p) == -1);
    cl_sub_status s;
    CHECK(cl_sub_status_parse("cancelled", &s) == 0 && s == CL_SUB_CANCELLED);
    CHECK(cl_sub_status_parse("", &s) == 0 && s == CL_SUB_NONE);
    CHECK(cl_sub_status_parse(NULL, &s) == 0 && s == CL_SUB_NONE);
    CHECK(cl_sub_status_parse("bogus", &s) == -1);
    for (int i = CL_SUB_NONE; i <= CL_SUB_UNPAID; i++) {
        CHECK(cl_sub_status_parse(cl_sub_status_name((cl_sub_status)i), &s) == 0 && s == (cl_sub_status)i);
    }
}

/* The policy: issue-mandated costs, seed limits, and Pro's larger grants. */
static void test_policy(void)
{
    struct {
        const char *action;
        cl_credit_kind kind;
        int64_t cost;
    } want[] = {
        {CL_ACTION_GENERATE_COPY, CL_CREDIT_GENERATION, 1}, {CL_ACTION_GENERATE_VIDEO_COPY, CL_CREDIT_GENERATION, 1},
        {CL_ACTION_GENERATE_VIDEO_RENDER, CL_CREDIT_RENDER, 1}, {CL_ACTION_CYCLE_POSTS, CL_CREDIT_GENERATION, 5},
        {CL_ACTION_REGENERATE, CL_CREDIT_GENERATION, 1}, {CL_ACTION_NEXT_PACK, CL_CREDIT_GENERATION, 5},
        {CL_ACTION_CONTENT_RENDER, CL_CREDIT_RENDER, 1}, {CL_ACTION_CHAT_MESSAGE, CL_CREDIT_NONE, 0},
        {CL_ACTION_EXPORT_BUNDLE, CL_CREDIT_NONE, 0}, {CL_ACTION_PUBLISH_INSTAGRAM, CL_CREDIT_NONE, 0},
        {CL_ACTION_MANUAL_QUEUE, CL_CREDIT_NONE, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const cl_action_cost *a = cl_policy_action(want[i].action);
        CHECK(a != NULL);
        if (a)
            CHECK(a->kind == want[i].kind && a->cost == want[i].cost);
    }
    CHECK(cl_policy_action("nope") == NULL);
    CHECK(cl_policy_action_count() == sizeof want / sizeof *want);
    for (int p = 0; p < CL_PLAN_COUNT; p++) {
        const cl_plan_limits *l = cl_policy_limits((cl_plan)p);
        CHECK(l->posts_per_week == 5 && l->posts_per_month == 20 && l->regenerations_per_week == 3);
        CHECK(l->renders_per_month == 20 && l->publishes_per_month == 20 && l->connected_channels == 1);
        CHECK(cl_policy_usage_limit((cl_plan)p, CL_METRIC_POSTS_GENERATED, "week") == 5);
        CHECK(cl_policy_usage_limit((cl_plan)p, CL_METRIC_REGENERATIONS, "month") == -1);
    }
    const cl_plan_limits *free_l = cl_policy_limits(CL_PLAN_FREE), *beta = cl_policy_limits(CL_PLAN_BETA),
                         *pro = cl_policy_limits(CL_PLAN_STARTER);
    CHECK(free_l->active_projects == 1 && beta->active_projects == 1 && pro->active_projects > 1);
    CHECK(pro->monthly_generation_grant > beta->monthly_generation_grant);
    CHECK(pro->monthly_render_grant > beta->monthly_render_grant);
    CHECK(beta->monthly_generation_grant >= free_l->monthly_generation_grant);
}

int main(void)
{
    test_table();
    test_table_covers_statuses();
    test_names();
    test_policy();
    return unit_done("test_plans");
}
