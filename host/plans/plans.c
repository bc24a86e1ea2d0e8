/*
 * plans.c — the effective-plan derivation (see plans.h). Everything that asks
 * "which plan is this user on" or "may this user use the product" goes
 * through cl_effective_plan; nothing else re-derives it.
 */
#include "plans/plans.h"

#include <string.h>

static const char *const plan_ids[CL_PLAN_COUNT] = {"free", "beta", "starter"};
static const char *const plan_labels[CL_PLAN_COUNT] = {"Free", "Beta", "Pro"};
static const char *const status_names[] = {"none",      "on_trial", "active", "past_due",
                                           "cancelled", "expired",  "paused", "unpaid"};

/* Does the subscription still carry Pro at `now`? Sets *why to a reason. */
static int pro_holds(const cl_plan_input *in, int64_t now, const char **why)
{
    int before_end = in->period_end > 0 && now < in->period_end;
    switch (in->status) {
    case CL_SUB_ACTIVE:
    case CL_SUB_ON_TRIAL:
        if (in->cancel_at_period_end) {
            /* Cancelled for the end of the period: Pro until then. An unknown
               end keeps Pro (the provider still reports it active). */
            if (in->period_end == 0 || before_end) {
                *why = "cancel_at_period_end";
                return 1;
            }
            return 0;
        }
        *why = in->status == CL_SUB_ON_TRIAL ? "subscription_trial" : "subscription_active";
        return 1;
    case CL_SUB_CANCELLED:
        if (before_end) {
            *why = "cancel_at_period_end";
            return 1;
        }
        return 0;
    case CL_SUB_PAST_DUE:
        if (in->period_end == 0 || before_end) {
            *why = "payment_grace";
            return 1;
        }
        return 0;
    case CL_SUB_NONE:
    case CL_SUB_EXPIRED:
    case CL_SUB_PAUSED:
    case CL_SUB_UNPAID:
        return 0;
    }
    return 0;
}

cl_plan_result cl_effective_plan(const cl_plan_input *in, int invite_only, int64_t now)
{
    cl_plan_result r = {CL_PLAN_FREE, 0, "waitlisted"};
    const char *why = NULL;
    if (pro_holds(in, now, &why)) {
        r.plan = CL_PLAN_STARTER;
        r.reason = why;
    } else if (in->beta_approved) {
        r.plan = CL_PLAN_BETA;
        r.reason = "beta_approved";
    } else {
        r.plan = CL_PLAN_FREE;
        r.reason = invite_only ? "waitlisted" : "open_access";
    }
    r.product_access = !invite_only || r.plan != CL_PLAN_FREE;
    return r;
}

const char *cl_plan_id(cl_plan p)
{
    return (unsigned)p < CL_PLAN_COUNT ? plan_ids[p] : "free";
}

const char *cl_plan_label(cl_plan p)
{
    return (unsigned)p < CL_PLAN_COUNT ? plan_labels[p] : "Free";
}

int cl_plan_parse(const char *s, cl_plan *out)
{
    if (!s)
        return -1;
    for (int i = 0; i < CL_PLAN_COUNT; i++)
        if (strcmp(s, plan_ids[i]) == 0) {
            *out = (cl_plan)i;
            return 0;
        }
    if (strcmp(s, "pro") == 0) {
        *out = CL_PLAN_STARTER;
        return 0;
    }
    return -1;
}

int cl_sub_status_parse(const char *s, cl_sub_status *out)
{
    if (!s || !*s) {
        *out = CL_SUB_NONE;
        return 0;
    }
    for (size_t i = 0; i < sizeof status_names / sizeof *status_names; i++)
        if (strcmp(s, status_names[i]) == 0) {
            *out = (cl_sub_status)i;
            return 0;
        }
    return -1;
}

const char *cl_sub_status_name(cl_sub_status s)
{
    return (unsigned)s < sizeof status_names / sizeof *status_names ? status_names[s] : "none";
}
