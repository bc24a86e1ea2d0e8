/*
 * cycles.h — the weekly loop: strategy cycles (one week of one project),
 * their 5-post packs, approval, scheduling, and the publish job kind.
 *
 * Routes (cycles_routes.c; every route checks the session and the owner,
 * foreign ids are 404):
 *   POST  /api/projects/:id/strategy-cycles          {week_start?|date?, brief?} (idempotent per week)
 *   GET   /api/projects/:id/strategy-cycles          the project's cycles, newest week first
 *   GET   /api/strategy-cycles/:id                   cycle + live items + limits + costs
 *   POST  /api/strategy-cycles/:id/generate-posts    {request_id, replace?, brief?} generation 5
 *   POST  /api/strategy-cycles/:id/render-all        render 1 per item not rendered/rendering
 *   POST  /api/strategy-cycles/:id/approve-all       rendered draft items -> approved
 *   POST  /api/strategy-cycles/:id/schedule          {slots:[{position?,item_id?,at}] | {days,time}}
 *   POST  /api/strategy-cycles/:id/run-due           enqueue what is due now
 *   POST  /api/content-items/:id/regenerate          {request_id, feedback?} generation 1
 *   PATCH /api/content-items/:id                     {channel?, publish_strategy?, caption?, cta?}
 *   POST  /api/content-items/:id/approve | unapprove | schedule {at} | unschedule
 *
 * The publish job "publish.content_item" (publish_job.c) and the scheduler
 * (host/jobs/scheduler.c calls cl_cycles_enqueue_due) live in the worker.
 */
#ifndef CL_CYCLES_CYCLES_H
#define CL_CYCLES_CYCLES_H

#include "http/http.h"
#include "jobs/jobs.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#define CL_JOB_PUBLISH_ITEM "publish.content_item"

/** Register the cycle routes (serve). */
void cl_cycles_register_routes(void);

/* ---- request bodies: pure, no database (fuzzed); strings point into the body ---- */

/** POST /api/projects/:id/strategy-cycles {week_start?, brief?}: NULL when absent. 0 or -1 (e set). */
int cl_cycle_create_body(const cJSON *body, const char **week_start, const char **brief, cl_body_err *e);
/** POST /api/content-items/:id/schedule {at}: a local or absolute time (*absolute). 0 or -1 (e set). */
int cl_cycle_schedule_item_body(const cJSON *body, const char **at, int *absolute, cl_body_err *e);
/** POST /api/strategy-cycles/:id/schedule: explicit slots, or days and a time. */
typedef struct {
    int by_days;
    int n; /**< slots: how many are valid before the first bad one (the handler resolves those first) */
    struct {
        int by_item;    /**< ref is an item id, else a position */
        double ref;
        const char *at; /**< "YYYY-MM-DDTHH:MM…" */
    } slots[32];
    int days[7], ndays; /**< by_days: 0 = Monday */
    const char *time;   /**< by_days: "HH:MM" */
} cl_schedule_plan;
/** 0, or -1 with e set (a bad slot after out->n good ones, time, days, or neither form). */
int cl_cycle_schedule_body(const cJSON *body, cl_schedule_plan *out, cl_body_err *e);
/** POST /api/strategy-cycles/:id/generate-posts {request_id, replace?, brief?}. 0 or -1 (e set). */
int cl_pack_generate_body(const cJSON *body, const char **request_id, int *replace, const char **brief, cl_body_err *e);
/** POST /api/content-items/:id/regenerate {request_id, feedback?}. 0 or -1 (e set). */
int cl_pack_regenerate_body(const cJSON *body, const char **request_id, const char **feedback, cl_body_err *e);
/** PATCH /api/content-items/:id {channel?, publish_strategy?, caption?, cta?}: NULL when absent. */
typedef struct {
    const char *channel, *strategy, *caption, *cta;
} cl_item_patch;
int cl_pack_patch_body(const cJSON *body, cl_item_patch *out, cl_body_err *e);
/** Register the "publish.content_item" job kind (worker). 0 or -1. */
int cl_cycles_register_jobs(void);

/**
 * Turn due scheduled items into publish jobs: every item in state scheduled
 * whose scheduled_at has passed and that has no publish job yet gets one
 * job keyed "publish:<item>:<publish_attempt>" (one statement; rows are
 * claimed FOR UPDATE SKIP LOCKED, so concurrent callers on other workers
 * take disjoint rows, and the key makes a second job for the same attempt
 * impossible). cycle_id > 0 limits it to one cycle (run-due), user_id > 0
 * to one user's items. At most `limit` items per call. Returns the number
 * of jobs created, or -1 with err set.
 */
int cl_cycles_enqueue_due(PGconn *c, int64_t cycle_id, int64_t user_id, int limit, char *err, size_t errlen);

/** The scheduler task wrapping cl_cycles_enqueue_due for every user (cl_periodic_fn). */
int cl_cycles_due_task(PGconn *c, char *err, size_t errlen);

/**
 * The job handler of "publish.content_item" (publish_job.c).
 * payload {"content_item_id","attempt"}.
 */
int cl_publish_job(const cl_job *job, cl_call *call, cl_buf *result, char *err, size_t errlen);

#endif
