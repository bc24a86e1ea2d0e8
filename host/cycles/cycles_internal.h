/*
 * cycles_internal.h — what the files of host/cycles/ share (not for other
 * capabilities: they use cycles.h and states.h).
 */
#ifndef CL_CYCLES_INTERNAL_H
#define CL_CYCLES_INTERNAL_H

#include "auth/auth.h"
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

/** Log and answer 500 for a failed statement. */
void cl_cycles_db_failed(cl_res *res, PGconn *c, PGresult *r, const char *what);

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

/** Pack routes (pack.c). */
void cl_cycles_register_pack_routes(void);

#endif
