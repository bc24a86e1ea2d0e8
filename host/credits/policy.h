/*
 * policy.h — THE place for every number the product charges or limits:
 * action costs (which credit kind, how many), monthly credit grants, and
 * plan limits. Nothing else in the host hard-codes a cost or a limit; other
 * capabilities ask here. docs/credits.md mirrors these tables.
 *
 * All returned pointers are to static, read-only tables (never freed).
 */
#ifndef CL_CREDITS_POLICY_H
#define CL_CREDITS_POLICY_H

#include "plans/plans.h"

#include <stddef.h>
#include <stdint.h>

/** Pro's list price in US cents per month, shown on /pricing. The billing
    provider's Starter variant must charge the same (docs/billing.md). */
#define CL_POLICY_PRO_MONTHLY_PRICE_CENTS 500

/** The two credit balances an account holds. */
typedef enum cl_credit_kind {
    CL_CREDIT_NONE = 0, /**< free action: nothing is debited */
    CL_CREDIT_GENERATION = 1,
    CL_CREDIT_RENDER = 2,
} cl_credit_kind;

/* Action ids callers pass to cl_credits_charge. A chat "generate video"
   request is two steps, each charged under its own reference key (e.g.
   "chat_job:<id>:copy" and "chat_job:<id>:render"). */
#define CL_ACTION_GENERATE_COPY "generate_copy"                 /**< chat: write a post's copy */
#define CL_ACTION_GENERATE_VIDEO_COPY "generate_video.copy"     /**< chat video, step 1 */
#define CL_ACTION_GENERATE_VIDEO_RENDER "generate_video.render" /**< chat video, step 2 */
#define CL_ACTION_CYCLE_POSTS "strategy_cycle.posts"            /**< a strategy cycle's post pack */
#define CL_ACTION_REGENERATE "regenerate"                       /**< manual regeneration of one item */
#define CL_ACTION_NEXT_PACK "iteration.next_pack"               /**< next week's pack from analysis */
#define CL_ACTION_CONTENT_RENDER "content_item.render"          /**< render one content item */
/* Free actions (cost 0; charging them records nothing). */
#define CL_ACTION_CHAT_MESSAGE "chat.message"
#define CL_ACTION_EXPORT_BUNDLE "export.bundle"
#define CL_ACTION_PUBLISH_INSTAGRAM "publish.instagram"
#define CL_ACTION_MANUAL_QUEUE "manual_queue"

/* Usage metrics (reporting only; see usage_counters). */
#define CL_METRIC_POSTS_GENERATED "posts_generated"
#define CL_METRIC_REGENERATIONS "regenerations"
#define CL_METRIC_RENDERS "renders"
#define CL_METRIC_PUBLISHES "publishes"

/** One billable (or free) action. */
typedef struct cl_action_cost {
    const char *action;       /**< id, e.g. "generate_copy" */
    const char *label;        /**< for receipts in the UI */
    cl_credit_kind kind;      /**< CL_CREDIT_NONE for free actions */
    int64_t cost;             /**< credits debited (0 for free actions) */
    const char *usage_metric; /**< counter bumped by a successful charge, or NULL */
    int usage_units;          /**< how much the counter moves per charge */
} cl_action_cost;

/** Limits and grants of one plan. -1 means unlimited. */
typedef struct cl_plan_limits {
    int active_projects;
    int posts_per_week;
    int posts_per_month;
    int regenerations_per_week;
    int renders_per_month;
    int publishes_per_month;
    int connected_channels;
    int64_t media_bytes; /**< kept media of all the user's projects, bytes of the originals */
    int media_files;     /**< kept media files of all the user's projects */
    int64_t monthly_generation_grant; /**< generation credits granted per month window */
    int64_t monthly_render_grant;     /**< render credits granted per month window */
} cl_plan_limits;

/** One (metric, window) pair usage reports show, with its limit field. */
typedef struct cl_usage_window {
    const char *metric;
    const char *window; /**< "week" or "month" */
} cl_usage_window;

/** The action's cost entry, or NULL for an unknown action id. */
const cl_action_cost *cl_policy_action(const char *action);
/** Number of actions / the i-th action (for listing in /api/me/plan). */
size_t cl_policy_action_count(void);
const cl_action_cost *cl_policy_action_at(size_t i);

/** The plan's limits and grants (never NULL; unknown plans get free's). */
const cl_plan_limits *cl_policy_limits(cl_plan plan);

/** The usage windows reported by /api/me/usage. */
size_t cl_policy_usage_window_count(void);
const cl_usage_window *cl_policy_usage_window_at(size_t i);
/** The plan's limit for metric in window ("week"/"month"); -1 when none. */
int cl_policy_usage_limit(cl_plan plan, const char *metric, const char *window);

/** "generation" / "render" / "none". Static string. */
const char *cl_credit_kind_name(cl_credit_kind k);
/** Parse "generation" / "render". 0 or -1. */
int cl_credit_kind_parse(const char *s, cl_credit_kind *out);

#endif
