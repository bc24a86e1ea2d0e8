/*
 * plans.h — the effective plan, derived in one place from beta approval and
 * the synced subscription. Pure: no database, no clock (the caller passes
 * `now`), no configuration (the caller passes invite_only), so every case is
 * table-tested in tests/unit/test_plans.c.
 *
 * Plans: free (chat + a small monthly credit grant), beta (invited), and Pro,
 * whose internal id is "starter" (the billing provider's variant name); the
 * UI calls it Pro.
 */
#ifndef CL_PLANS_PLANS_H
#define CL_PLANS_PLANS_H

#include <stdint.h>

typedef enum cl_plan {
    CL_PLAN_FREE = 0,
    CL_PLAN_BETA = 1,
    CL_PLAN_STARTER = 2, /**< "Pro" in the UI */
} cl_plan;

#define CL_PLAN_COUNT 3

/** Subscription status as synced from the billing provider. */
typedef enum cl_sub_status {
    CL_SUB_NONE = 0,  /**< no subscription row */
    CL_SUB_ON_TRIAL,
    CL_SUB_ACTIVE,
    CL_SUB_PAST_DUE,  /**< a renewal payment failed and is being retried */
    CL_SUB_CANCELLED, /**< cancelled: paid up until current_period_end */
    CL_SUB_EXPIRED,
    CL_SUB_PAUSED,
    CL_SUB_UNPAID,
} cl_sub_status;

/** What the derivation looks at. period_end is Unix seconds, 0 when unknown. */
typedef struct cl_plan_input {
    int beta_approved;
    cl_sub_status status;
    int cancel_at_period_end;
    int64_t period_end;
} cl_plan_input;

/** The derivation's result. reason is a static string (never freed). */
typedef struct cl_plan_result {
    cl_plan plan;
    int product_access; /**< 1 when product workflows are open to this user */
    const char *reason; /**< e.g. "subscription_active", "beta_approved", "waitlisted" */
} cl_plan_result;

/**
 * The effective plan at `now` (Unix seconds):
 *  - Pro when the subscription is active or on trial (unless it was set to
 *    cancel at period end and that end has passed), cancelled but still
 *    inside its paid period, or past due and still inside its period
 *    (grace while the provider retries payment);
 *  - otherwise beta when beta-approved, otherwise free.
 * product_access: always 1 when invite_only is 0; otherwise 1 for beta and
 * Pro, 0 for free ("waitlisted").
 */
cl_plan_result cl_effective_plan(const cl_plan_input *in, int invite_only, int64_t now);

/** Internal id: "free", "beta", "starter". Static string. */
const char *cl_plan_id(cl_plan p);
/** UI label: "Free", "Beta", "Pro". Static string. */
const char *cl_plan_label(cl_plan p);
/** Parse an internal id ("free", "beta", "starter"; "pro" is accepted for starter). 0 or -1. */
int cl_plan_parse(const char *s, cl_plan *out);

/** Parse a provider status ("active", "cancelled", ...); NULL or "" is CL_SUB_NONE. 0 or -1 if unknown. */
int cl_sub_status_parse(const char *s, cl_sub_status *out);
/** The status's name ("none", "active", ...). Static string. */
const char *cl_sub_status_name(cl_sub_status s);

#endif
