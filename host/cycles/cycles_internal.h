/*
 * cycles_internal.h — what the files of host/cycles/ share (not for other
 * capabilities: they use cycles.h and states.h).
 */
#ifndef CL_CYCLES_INTERNAL_H
#define CL_CYCLES_INTERNAL_H

#include "auth/auth.h"
#include "cliploop_plugin.h"
#include "credits/credits.h"
#include "cycles/states.h"
#include "http/http.h"

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdint.h>

#define CL_CYCLE_PACK_SIZE 5
#define CL_CYCLE_BRIEF_MAX 1000

/** A cycle row with its project's time zone. */
typedef struct cl_cycle {
    int64_t id, project_id, user_id;
    char week_start[11]; /**< YYYY-MM-DD (Monday) */
    char timezone[65];
    char status[16];
    char pack_status[16];
    char pack_request_id[128]; /**< "" when none */
    int packs_generated;
    char *brief;               /**< malloc'd; free with cl_cycle_clear */
} cl_cycle;

void cl_cycle_clear(cl_cycle *cy);

/** Load cycle id of user (FOR UPDATE when lock). 1 found, 0 not (404 set), -1 (500 set). */
int cl_cycle_load(PGconn *c, int64_t id, int64_t user_id, int lock, cl_cycle *out, cl_res *res);

/** Roll back when a transaction is open. */
void cl_cycles_rollback_open(PGconn *c);

/**
 * The item objects (CL_CONTENT_ITEM_SELECT + assets) of `where` (SQL on
 * alias i, parameters p), each with "scheduled_local" in tz. NULL on error.
 */
cJSON *cl_cycles_items_json(PGconn *c, const char *where, int n, const char *const *p, const char *tz);

/** Reply one item (status) with scheduled_local in tz; 500 on error. */
void cl_cycles_reply_item(cl_res *res, PGconn *c, int status, int64_t item_id, int64_t user_id);

/** The cycle's live items ($1 cycle, $2 user), by position (for cl_cycles_items_json). */
#define LIVE_ITEMS                                                                                 \
    "WHERE i.cycle_id = $1 AND i.user_id = $2 AND i.publish_status <> 'skipped' ORDER BY i.position, i.id"

/**
 * Reply the week: {cycle, items, limits, costs, balances} plus the members
 * of extra (consumed; may be NULL), with status.
 */
void cl_cycles_reply_week(cl_res *res, PGconn *c, const cl_user *u, const cl_cycle *cy, int status, cJSON *extra);

/** One generated post of a pack (pack.c): JSON texts malloc'd, freed by cl_cycles_free_pack. */
typedef struct cl_pack_post {
    char channel[16];
    char title[201];
    char *draft; /* JSON text, malloc'd */
    char *brief; /* JSON text, malloc'd */
} cl_pack_post;

/**
 * The pack generation of generate-posts, for the learning loop's next week
 * (host/iteration): CL_CYCLE_PACK_SIZE posts from one model call (posts.lua
 * gets `analysis`, which may carry per-post "plans"), each finished with
 * its channel's rules. channels: per post (NULL: the project's preferred
 * channels in turn). CL_OK with posts filled (free with
 * cl_cycles_free_pack, also on failure), or a cl_status with e set.
 */
int cl_cycles_generate_pack(PGconn *c, int64_t project_id, const char *week_start, const char *week_brief,
                            const cJSON *analysis, const char *const *channels, cl_pack_post posts[CL_CYCLE_PACK_SIZE],
                            cl_error *e);
void cl_cycles_free_pack(cl_pack_post posts[CL_CYCLE_PACK_SIZE]);

/**
 * generate-posts' money step: the plan limit check and the charge of `key`
 * in one transaction (skip_limit: the charge exists already). 0 charged,
 * -1 with the reply set and nothing charged.
 */
int cl_cycles_limit_and_charge(PGconn *c, const cl_user *u, const char *action, int units, const char *key,
                               int skip_limit, cl_receipt *receipt, cl_res *res);

/** Pack routes (pack.c). */
void cl_cycles_register_pack_routes(void);

#endif
