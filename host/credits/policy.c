/*
 * policy.c — costs, grants and limits (see policy.h). Change a number here and
 * in docs/credits.md; nowhere else.
 */
#include "credits/policy.h"

#include <string.h>

static const cl_action_cost actions[] = {
    {CL_ACTION_GENERATE_COPY, "Generate copy", CL_CREDIT_GENERATION, 1, CL_METRIC_POSTS_GENERATED, 1},
    {CL_ACTION_GENERATE_VIDEO_COPY, "Generate video: script and caption", CL_CREDIT_GENERATION, 1,
     CL_METRIC_POSTS_GENERATED, 1},
    {CL_ACTION_GENERATE_VIDEO_RENDER, "Generate video: render", CL_CREDIT_RENDER, 1, CL_METRIC_RENDERS, 1},
    {CL_ACTION_CYCLE_POSTS, "Strategy cycle: post generation", CL_CREDIT_GENERATION, 5,
     CL_METRIC_POSTS_GENERATED, 5},
    {CL_ACTION_REGENERATE, "Regenerate", CL_CREDIT_GENERATION, 1, CL_METRIC_REGENERATIONS, 1},
    {CL_ACTION_NEXT_PACK, "Iteration: next pack", CL_CREDIT_GENERATION, 5, CL_METRIC_POSTS_GENERATED, 5},
    {CL_ACTION_CONTENT_RENDER, "Render content item", CL_CREDIT_RENDER, 1, CL_METRIC_RENDERS, 1},
    {CL_ACTION_CHAT_MESSAGE, "Chat message", CL_CREDIT_NONE, 0, NULL, 0},
    {CL_ACTION_EXPORT_BUNDLE, "Export bundle", CL_CREDIT_NONE, 0, NULL, 0},
    {CL_ACTION_PUBLISH_INSTAGRAM, "Publish to Instagram", CL_CREDIT_NONE, 0, NULL, 0},
    {CL_ACTION_MANUAL_QUEUE, "Manual queue action", CL_CREDIT_NONE, 0, NULL, 0},
};

/* Indexed by cl_plan. Seed limits are the same for every plan; Pro raises
   the grants and the number of active projects. */
static const cl_plan_limits limits[CL_PLAN_COUNT] = {
    [CL_PLAN_FREE] = {.active_projects = 1, .posts_per_week = 5, .posts_per_month = 20,
                      .regenerations_per_week = 3, .renders_per_month = 20, .publishes_per_month = 20,
                      .connected_channels = 1, .media_bytes = 200LL << 20, .media_files = 100,
                      .monthly_generation_grant = 10, .monthly_render_grant = 3},
    [CL_PLAN_BETA] = {.active_projects = 1, .posts_per_week = 5, .posts_per_month = 20,
                      .regenerations_per_week = 3, .renders_per_month = 20, .publishes_per_month = 20,
                      .connected_channels = 1, .media_bytes = 1LL << 30, .media_files = 500,
                      .monthly_generation_grant = 40, .monthly_render_grant = 20},
    [CL_PLAN_STARTER] = {.active_projects = 5, .posts_per_week = 5, .posts_per_month = 20,
                         .regenerations_per_week = 3, .renders_per_month = 20, .publishes_per_month = 20,
                         .connected_channels = 1, .media_bytes = 5LL << 30, .media_files = 2000,
                         .monthly_generation_grant = 150, .monthly_render_grant = 60},
};

static const cl_usage_window windows[] = {
    {CL_METRIC_POSTS_GENERATED, "week"}, {CL_METRIC_POSTS_GENERATED, "month"},
    {CL_METRIC_REGENERATIONS, "week"},   {CL_METRIC_RENDERS, "month"},
    {CL_METRIC_PUBLISHES, "month"},
};

const cl_action_cost *cl_policy_action(const char *action)
{
    if (!action)
        return NULL;
    for (size_t i = 0; i < sizeof actions / sizeof *actions; i++)
        if (strcmp(actions[i].action, action) == 0)
            return &actions[i];
    return NULL;
}

size_t cl_policy_action_count(void) { return sizeof actions / sizeof *actions; }

const cl_action_cost *cl_policy_action_at(size_t i)
{
    return i < sizeof actions / sizeof *actions ? &actions[i] : NULL;
}

const cl_plan_limits *cl_policy_limits(cl_plan plan)
{
    return (unsigned)plan < CL_PLAN_COUNT ? &limits[plan] : &limits[CL_PLAN_FREE];
}

size_t cl_policy_usage_window_count(void) { return sizeof windows / sizeof *windows; }

const cl_usage_window *cl_policy_usage_window_at(size_t i)
{
    return i < sizeof windows / sizeof *windows ? &windows[i] : NULL;
}

int cl_policy_usage_limit(cl_plan plan, const char *metric, const char *window)
{
    const cl_plan_limits *l = cl_policy_limits(plan);
    int week = strcmp(window, "week") == 0, month = strcmp(window, "month") == 0;
    if (strcmp(metric, CL_METRIC_POSTS_GENERATED) == 0)
        return week ? l->posts_per_week : month ? l->posts_per_month : -1;
    if (strcmp(metric, CL_METRIC_REGENERATIONS) == 0 && week)
        return l->regenerations_per_week;
    if (strcmp(metric, CL_METRIC_RENDERS) == 0 && month)
        return l->renders_per_month;
    if (strcmp(metric, CL_METRIC_PUBLISHES) == 0 && month)
        return l->publishes_per_month;
    return -1;
}

const char *cl_credit_kind_name(cl_credit_kind k)
{
    return k == CL_CREDIT_GENERATION ? "generation" : k == CL_CREDIT_RENDER ? "render" : "none";
}

int cl_credit_kind_parse(const char *s, cl_credit_kind *out)
{
    if (s && strcmp(s, "generation") == 0)
        return *out = CL_CREDIT_GENERATION, 0;
    if (s && strcmp(s, "render") == 0)
        return *out = CL_CREDIT_RENDER, 0;
    return -1;
}
