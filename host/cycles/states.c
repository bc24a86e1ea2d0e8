/*
 * states.c — the publish state machine (states.h): the transition table and
 * the one conditional UPDATE that applies it.
 */
#include "cycles/states.h"
#include "db/db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[CL_PUB_STATE_COUNT] = {
    [CL_PUB_DRAFT] = "draft",         [CL_PUB_APPROVED] = "approved", [CL_PUB_SCHEDULED] = "scheduled",
    [CL_PUB_PUBLISHING] = "publishing", [CL_PUB_PUBLISHED] = "published", [CL_PUB_FAILED] = "failed",
    [CL_PUB_SKIPPED] = "skipped",
};

/* allowed[from][to]. Every pair not listed is refused. */
#define A(from, to) [from][to] = 1
static const unsigned char allowed[CL_PUB_STATE_COUNT][CL_PUB_STATE_COUNT] = {
    A(CL_PUB_DRAFT, CL_PUB_APPROVED),        /* approve */
    A(CL_PUB_DRAFT, CL_PUB_SKIPPED),         /* replaced by a regeneration or a new pack */
    A(CL_PUB_APPROVED, CL_PUB_DRAFT),        /* unapprove (also: edited or re-rendered) */
    A(CL_PUB_APPROVED, CL_PUB_SCHEDULED),    /* schedule */
    A(CL_PUB_APPROVED, CL_PUB_SKIPPED),
    A(CL_PUB_SCHEDULED, CL_PUB_APPROVED),    /* unschedule */
    A(CL_PUB_SCHEDULED, CL_PUB_PUBLISHING),  /* the publish job starts */
    A(CL_PUB_SCHEDULED, CL_PUB_FAILED),      /* the publish job gave up before publishing */
    A(CL_PUB_SCHEDULED, CL_PUB_SKIPPED),
    A(CL_PUB_PUBLISHING, CL_PUB_PUBLISHED),  /* the platform accepted it */
    A(CL_PUB_PUBLISHING, CL_PUB_FAILED),     /* permanent error, or out of attempts */
    A(CL_PUB_FAILED, CL_PUB_SCHEDULED),      /* retry at a new time */
    A(CL_PUB_FAILED, CL_PUB_APPROVED),       /* back to the approved list */
    A(CL_PUB_FAILED, CL_PUB_DRAFT),          /* edit before trying again */
    A(CL_PUB_FAILED, CL_PUB_SKIPPED),
    /* published and skipped are final. */
};
#undef A

const char *cl_pub_state_name(cl_pub_state s)
{
    return (unsigned)s < CL_PUB_STATE_COUNT ? names[s] : "?";
}

int cl_pub_state_parse(const char *s, cl_pub_state *out)
{
    for (int i = 0; s && i < CL_PUB_STATE_COUNT; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (cl_pub_state)i;
            return 0;
        }
    return -1;
}

int cl_pub_transition_allowed(cl_pub_state from, cl_pub_state to)
{
    if ((unsigned)from >= CL_PUB_STATE_COUNT || (unsigned)to >= CL_PUB_STATE_COUNT)
        return 0;
    return allowed[from][to];
}

const char *cl_pub_sources_literal(cl_pub_state to, char *buf, size_t len)
{
    size_t n = 0;
    int first = 1;
    if (len == 0)
        return buf;
    n += (size_t)snprintf(buf + n, len - n, "{");
    for (int f = 0; f < CL_PUB_STATE_COUNT && n < len; f++)
        if (cl_pub_transition_allowed((cl_pub_state)f, to)) {
            n += (size_t)snprintf(buf + n, len - n, "%s%s", first ? "" : ",", names[f]);
            first = 0;
        }
    if (n < len)
        snprintf(buf + n, len - n, "}");
    return buf;
}

int cl_item_transition(PGconn *c, int64_t id, int64_t user_id, cl_pub_state to, const char *set_sql,
                       int n_extra, const char *const *extra, cl_pub_state *current, char *err,
                       size_t errlen)
{
    char sid[24], uid[24], sources[128], sql[1024];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    cl_pub_sources_literal(to, sources, sizeof sources);
    /* The old state comes from the row locked by the sub-select, so the
       caller learns what it moved from. */
    snprintf(sql, sizeof sql,
             "UPDATE content_items i SET publish_status = '%s', updated_at = now()%s%s"
             "  FROM (SELECT id, publish_status FROM content_items WHERE id = $1::bigint"
             "         AND ($2::bigint = 0 OR user_id = $2::bigint) FOR UPDATE) old"
             " WHERE i.id = old.id AND old.publish_status = ANY ($3::text[])"
             " RETURNING old.publish_status",
             names[to], set_sql ? ", " : "", set_sql ? set_sql : "");
    const char *p[3 + 8];
    if (n_extra > 8) {
        snprintf(err, errlen, "too many parameters");
        return CL_TRANSITION_ERROR;
    }
    p[0] = sid;
    p[1] = uid;
    p[2] = sources;
    for (int i = 0; i < n_extra; i++)
        p[3 + i] = extra[i];
    PGresult *r = cl_db_query(c, sql, 3 + n_extra, p);
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, err, errlen);
        PQclear(r);
        return CL_TRANSITION_ERROR;
    }
    if (PQntuples(r) == 1) {
        if (current)
            cl_pub_state_parse(PQgetvalue(r, 0, 0), current);
        PQclear(r);
        return CL_TRANSITION_OK;
    }
    PQclear(r);
    const char *q[] = {sid, uid};
    r = cl_db_query(c, "SELECT publish_status FROM content_items WHERE id = $1::bigint"
                       " AND ($2::bigint = 0 OR user_id = $2::bigint)",
                    2, q);
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, err, errlen);
        PQclear(r);
        return CL_TRANSITION_ERROR;
    }
    int found = PQntuples(r) == 1;
    if (found && current)
        cl_pub_state_parse(PQgetvalue(r, 0, 0), current);
    PQclear(r);
    return found ? CL_TRANSITION_REFUSED : CL_TRANSITION_NOT_FOUND;
}

void cl_transition_refused_reply(cl_res *res, int64_t id, cl_pub_state current, cl_pub_state to)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", "invalid_transition");
    char msg[256];
    snprintf(msg, sizeof msg, "Item %" PRId64 " is %s; it cannot become %s", id, cl_pub_state_name(current),
             cl_pub_state_name(to));
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "current_state", cl_pub_state_name(current));
    cJSON_AddStringToObject(e, "requested_state", cl_pub_state_name(to));
    cl_res_json(res, 409, o);
}
