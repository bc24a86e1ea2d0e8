/*
 * states.h — the publish state machine of a content item. ONE table owns
 * every transition (states.c); routes, the scheduler and the publish job
 * all move an item through cl_item_transition, which checks the table and
 * writes the new state in one conditional UPDATE, so two racing requests
 * can never both move the same item.
 *
 *   draft ──approve──▶ approved ──schedule──▶ scheduled ──job──▶ publishing ──▶ published
 *     ▲                  │  ▲                   │                   │
 *     └────unapprove─────┘  └────unschedule─────┘                   └──▶ failed ──retry──▶ scheduled
 *   any of draft/approved/scheduled/failed ──▶ skipped (replaced by a regeneration or a new pack)
 *
 * docs/cycles.md has the full table. Pure part (names, the table) is
 * table-tested in tests/unit/test_cycles.c.
 */
#ifndef CL_CYCLES_STATES_H
#define CL_CYCLES_STATES_H

#include "http/http.h"

#include <libpq-fe.h>
#include <stdint.h>

typedef enum cl_pub_state {
    CL_PUB_DRAFT = 0,
    CL_PUB_APPROVED,
    CL_PUB_SCHEDULED,
    CL_PUB_PUBLISHING,
    CL_PUB_PUBLISHED,
    CL_PUB_FAILED,
    CL_PUB_SKIPPED,
} cl_pub_state;

#define CL_PUB_STATE_COUNT 7

/** "draft", "approved", … (static string); "?" for an out-of-range value. */
const char *cl_pub_state_name(cl_pub_state s);
/** Parse a state name. 0, or -1 when unknown. */
int cl_pub_state_parse(const char *s, cl_pub_state *out);
/** 1 when the table allows from -> to, else 0 (also 0 for from == to). */
int cl_pub_transition_allowed(cl_pub_state from, cl_pub_state to);
/**
 * The SQL array literal of the states that may move to `to`
 * ("{draft,approved}") into buf. Returns buf.
 */
const char *cl_pub_sources_literal(cl_pub_state to, char *buf, size_t len);

/** Outcome of cl_item_transition. */
enum {
    CL_TRANSITION_OK = 0,
    CL_TRANSITION_REFUSED = 1,   /**< the table refuses current -> to; *current filled */
    CL_TRANSITION_NOT_FOUND = 2, /**< no such item for this user */
    CL_TRANSITION_ERROR = -1,
};

/**
 * Move content item `id` of user `user_id` (0: any user — worker side) to
 * `to`, when its current state may move there. `set_sql` (may be NULL) is
 * extra assignments for the same UPDATE, e.g. "scheduled_at = $4::timestamptz",
 * with `extra` its parameters numbered from $4 (n_extra of them).
 * Runs inside or outside the caller's transaction. *current receives the
 * state before the call (OK, REFUSED).
 */
int cl_item_transition(PGconn *c, int64_t id, int64_t user_id, cl_pub_state to, const char *set_sql,
                       int n_extra, const char *const *extra, cl_pub_state *current, char *err,
                       size_t errlen);

/**
 * Reply for a refused transition: 409 {"error":{"code":"invalid_transition",
 * "message","current_state","requested_state"}}.
 */
void cl_transition_refused_reply(cl_res *res, int64_t id, cl_pub_state current, cl_pub_state to);

#endif
