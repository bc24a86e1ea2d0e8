/*
 * cycles_routes.c — strategy cycles, approval and scheduling (cycles.h).
 * The pack (generate-posts, regenerate, PATCH, render-all) is in pack.c.
 *
 * Times: a client sends "YYYY-MM-DDTHH:MM[:SS]" meaning wall-clock time in
 * the project's zone (or an ISO 8601 time with Z/offset, taken as is);
 * Postgres converts with the zone database (AT TIME ZONE). Items carry
 * scheduled_at (UTC) and scheduled_local (the project's zone).
 */
#include "content/content.h"
#include "core/log.h"
#include "credits/policy.h"
#include "cycles/cycles.h"
#include "cycles/cycles_internal.h"
#include "cycles/limits.h"
#include "db/db.h"
#include "http/db_reply.h"
#include "db/db_row.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COMP "cycles"

/* ---- shared helpers ------------------------------------------------------ */

void cl_cycle_clear(cl_cycle *cy)
{
    free(cy->brief);
    memset(cy, 0, sizeof *cy);
}


void cl_cycles_rollback_open(PGconn *c)
{
    PGTransactionStatusType t = PQtransactionStatus(c);
    if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR)
        cl_db_rollback(c);
}

#define CYCLE_COLS                                                                                 \
    "y.id, y.project_id, y.user_id, y.week_start::text, p.timezone, y.status, y.pack_status,"      \
    " coalesce(y.pack_request_id, ''), y.packs_generated, y.brief"

int cl_cycle_load(PGconn *c, int64_t id, int64_t user_id, int lock, cl_cycle *out, cl_res *res)
{
    memset(out, 0, sizeof *out);
    char sid[24], uid[24];
    const char *p[] = {cl_db_id(sid, id), cl_db_id(uid, user_id)};
    PGresult *r = cl_db_query(c,
                              lock ? "SELECT " CYCLE_COLS " FROM strategy_cycles y JOIN projects p ON p.id = y.project_id"
                                     " WHERE y.id = $1 AND y.user_id = $2 AND p.owner_id = $2 FOR UPDATE OF y"
                                   : "SELECT " CYCLE_COLS " FROM strategy_cycles y JOIN projects p ON p.id = y.project_id"
                                     " WHERE y.id = $1 AND y.user_id = $2 AND p.owner_id = $2",
                              2, p);
    int one = cl_res_db_one(res, COMP, c, r, "load cycle", "No strategy cycle %s", sid);
    if (one != 1)
        return one;
    /* The columns of CYCLE_COLS, in order. */
    static const cl_db_row_field fields[] = {
        CL_ROW_I64(cl_cycle, id, 0),
        CL_ROW_I64(cl_cycle, project_id, 1),
        CL_ROW_I64(cl_cycle, user_id, 2),
        CL_ROW_CHARS(cl_cycle, week_start, 3),
        CL_ROW_CHARS(cl_cycle, timezone, 4),
        CL_ROW_CHARS(cl_cycle, status, 5),
        CL_ROW_CHARS(cl_cycle, pack_status, 6),
        CL_ROW_CHARS(cl_cycle, pack_request_id, 7),
        CL_ROW_INT(cl_cycle, packs_generated, 8),
        CL_ROW_STRDUP(cl_cycle, brief, 9),
    };
    cl_db_row_read(r, 0, out, fields, CL_DB_NCOLS(fields));
    PQclear(r);
    return 1;
}

cJSON *cl_cycles_items_json(PGconn *c, const char *where, int n, const char *const *p, const char *tz)
{
    char sql[4096];
    snprintf(sql, sizeof sql, "%s %s", CL_CONTENT_ITEM_SELECT, where);
    PGresult *r = cl_db_query(c, sql, n, p);
    if (!cl_db_ok(r)) {
        char err[256];
        cl_db_errmsg(c, r, err, sizeof err);
        cl_error(COMP, "list items: %s", err);
        PQclear(r);
        return NULL;
    }
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *item = cl_content_item_row_json(r, i);
        const char *id = PQgetvalue(r, i, 0);
        cl_content_add_assets(c, item, id);
        /* the schedule in the project's zone */
        const char *q[] = {id, tz};
        PGresult *l = cl_db_query(c,
                                  "SELECT to_char(scheduled_at AT TIME ZONE $2, 'YYYY-MM-DD\"T\"HH24:MI'),"
                                  " to_char(published_at AT TIME ZONE $2, 'YYYY-MM-DD\"T\"HH24:MI')"
                                  " FROM content_items WHERE id = $1",
                                  2, q);
        if (cl_db_ok(l) && PQntuples(l) == 1) {
            for (int k = 0; k < 2; k++) {
                const char *key = k ? "published_local" : "scheduled_local";
                if (PQgetisnull(l, 0, k))
                    cJSON_AddNullToObject(item, key);
                else
                    cJSON_AddStringToObject(item, key, PQgetvalue(l, 0, k));
            }
        }
        PQclear(l);
        cJSON_AddItemToArray(arr, item);
    }
    PQclear(r);
    return arr;
}

void cl_cycles_reply_item(cl_res *res, PGconn *c, int status, int64_t item_id, int64_t user_id)
{
    char sid[24], uid[24];
    const char *p[] = {cl_db_id(sid, item_id), cl_db_id(uid, user_id)};
    PGresult *r = cl_db_query(c, "SELECT p.timezone FROM content_items i JOIN projects p ON p.id = i.project_id"
                                 " WHERE i.id = $1 AND i.user_id = $2",
                              2, p);
    char tz[65] = "UTC";
    if (cl_db_ok(r) && PQntuples(r) == 1)
        snprintf(tz, sizeof tz, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    cJSON *arr = cl_cycles_items_json(c, "WHERE i.id = $1 AND i.user_id = $2", 2, p, tz);
    if (!arr || cJSON_GetArraySize(arr) != 1) {
        cJSON_Delete(arr);
        cl_res_error(res, arr ? 404 : 500, arr ? "not_found" : "internal",
                     arr ? "No content item" : "Could not read the item");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "item", cJSON_DetachItemFromArray(arr, 0));
    cJSON_Delete(arr);
    cl_res_json(res, status, o);
}

/* Refused transition or not found or error → reply. 0 when ok. */
static int transition_reply(cl_res *res, int rc, int64_t id, cl_pub_state cur, cl_pub_state to, const char *err)
{
    switch (rc) {
    case CL_TRANSITION_OK:
        return 0;
    case CL_TRANSITION_REFUSED:
        cl_transition_refused_reply(res, id, cur, to);
        return 1;
    case CL_TRANSITION_NOT_FOUND:
        cl_res_error(res, 404, "not_found", "No content item %" PRId64, id);
        return 1;
    default:
        cl_error(COMP, "transition of item %" PRId64 ": %s", id, err);
        cl_res_error(res, 500, "internal", "Something went wrong on our side; nothing was changed");
        return -1;
    }
}

/* ---- cycles -------------------------------------------------------------- */

/* Valid calendar date "YYYY-MM-DD" between 2000 and 2100? */
static int valid_date(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return 0;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 2000 || y > 2100 || m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

static cJSON *cycle_json(PGconn *c, const cl_cycle *cy)
{
    cJSON *o = cJSON_CreateObject();
    char sid[24];
    const char *p[] = {cl_db_id(sid, cy->id)};
    PGresult *r = cl_db_query(c,
                              "SELECT y.source, y.parent_cycle_id, (y.week_start + 6)::text,"
                              " to_char(y.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                              " to_char(y.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                              " (now() AT TIME ZONE p.timezone)::date::text, y.analysis::text"
                              " FROM strategy_cycles y JOIN projects p ON p.id = y.project_id WHERE y.id = $1",
                              1, p);
    int ok = cl_db_ok(r) && PQntuples(r) == 1;
    cJSON_AddNumberToObject(o, "id", (double)cy->id);
    cJSON_AddNumberToObject(o, "project_id", (double)cy->project_id);
    cJSON_AddStringToObject(o, "week_start", cy->week_start);
    cJSON_AddStringToObject(o, "week_end", ok ? PQgetvalue(r, 0, 2) : "");
    cJSON_AddStringToObject(o, "timezone", cy->timezone);
    cJSON_AddStringToObject(o, "today", ok ? PQgetvalue(r, 0, 5) : "");
    cJSON_AddStringToObject(o, "source", ok ? PQgetvalue(r, 0, 0) : "manual");
    if (ok && !PQgetisnull(r, 0, 1))
        cJSON_AddNumberToObject(o, "parent_cycle_id", strtod(PQgetvalue(r, 0, 1), NULL));
    else
        cJSON_AddNullToObject(o, "parent_cycle_id");
    cJSON_AddStringToObject(o, "status", cy->status);
    cJSON_AddStringToObject(o, "brief", cy->brief ? cy->brief : "");
    cJSON_AddStringToObject(o, "pack_status", cy->pack_status);
    cJSON_AddNumberToObject(o, "packs_generated", cy->packs_generated);
    cJSON *an = ok && !PQgetisnull(r, 0, 6) ? cJSON_Parse(PQgetvalue(r, 0, 6)) : NULL;
    cJSON_AddItemToObject(o, "analysis", an ? an : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "created_at", ok ? PQgetvalue(r, 0, 3) : "");
    cJSON_AddStringToObject(o, "updated_at", ok ? PQgetvalue(r, 0, 4) : "");
    PQclear(r);
    return o;
}

/* The paid actions of the week page with their prices (shown before charging). */
static cJSON *costs_json(void)
{
    static const struct {
        const char *key, *action;
    } rows[] = {{"generate_posts", CL_ACTION_CYCLE_POSTS},
                {"regenerate", CL_ACTION_REGENERATE},
                {"render", CL_ACTION_CONTENT_RENDER}};
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const cl_action_cost *a = cl_policy_action(rows[i].action);
        if (!a)
            continue;
        cJSON *e = cJSON_AddObjectToObject(o, rows[i].key);
        cJSON_AddStringToObject(e, "action", a->action);
        cJSON_AddStringToObject(e, "label", a->label);
        cJSON_AddStringToObject(e, "kind", cl_credit_kind_name(a->kind));
        cJSON_AddNumberToObject(e, "cost", (double)a->cost);
    }
    return o;
}

/* The full week: cycle, live items by position, limits, costs, balances. */
void cl_cycles_reply_week(cl_res *res, PGconn *c, const cl_user *u, const cl_cycle *cy, int status, cJSON *extra)
{
    char sid[24], uid[24];
    const char *p[] = {cl_db_id(sid, cy->id), cl_db_id(uid, u->id)};
    cJSON *items = cl_cycles_items_json(
        c, LIVE_ITEMS, 2,
        p, cy->timezone);
    cJSON *limits = items ? cl_limits_json(c, u) : NULL;
    if (!items || !limits) {
        cJSON_Delete(items);
        cJSON_Delete(limits);
        cJSON_Delete(extra);
        cl_res_error(res, 500, "internal", "Could not read the week");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "cycle", cycle_json(c, cy));
    cJSON_AddItemToObject(o, "items", items);
    cJSON_AddItemToObject(o, "limits", limits);
    cJSON_AddItemToObject(o, "costs", costs_json());
    cl_balance bal;
    char err[256];
    if (cl_credits_balance(c, u->id, &bal, err, sizeof err) >= 0) {
        cJSON *b = cJSON_AddObjectToObject(o, "balances");
        cJSON_AddNumberToObject(b, "generation", (double)bal.generation);
        cJSON_AddNumberToObject(b, "render", (double)bal.render);
    }
    while (extra && extra->child) {
        cJSON *x = cJSON_DetachItemViaPointer(extra, extra->child);
        cJSON_AddItemToObject(o, x->string, x);
    }
    cJSON_Delete(extra);
    cl_res_json(res, status, o);
}

/* POST /api/projects/:id/strategy-cycles {week_start?, brief?} */
static void create_cycle(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = req->body_len ? cl_req_json(req, res) : cJSON_CreateObject();
    if (!body)
        return;
    int64_t pid = cl_req_param_id(req, "id");
    const char *date, *brief;
    cl_body_err be = {0};
    if (cl_cycle_create_body(body, &date, &brief, &be) != 0) {
        cl_res_body_error(res, &be);
    } else {
        char spid[24], uid[24];
        snprintf(spid, sizeof spid, "%" PRId64, pid);
        snprintf(uid, sizeof uid, "%" PRId64, u->id);
        const char *b = brief ? brief : "";
        const char *p[] = {spid, uid, date, b};
        /* The week's Monday, in the project's zone when no date is given. */
        PGresult *r = cl_res_db_query(
            res, COMP, c, "create cycle",
            "WITH pr AS (SELECT id, timezone FROM projects WHERE id = $1 AND owner_id = $2),"
            " ins AS (INSERT INTO strategy_cycles (user_id, project_id, week_start, brief)"
            "  SELECT $2, pr.id, date_trunc('week', coalesce($3::date, (now() AT TIME ZONE "
            "pr.timezone)::date))::date, $4"
            "  FROM pr ON CONFLICT (project_id, week_start) DO NOTHING RETURNING id)"
            " SELECT id, true FROM ins"
            " UNION ALL SELECT y.id, false FROM strategy_cycles y, pr WHERE y.project_id = pr.id"
            "  AND y.week_start = date_trunc('week', coalesce($3::date, (now() AT TIME ZONE "
            "pr.timezone)::date))::date"
            "  AND NOT EXISTS (SELECT 1 FROM ins)",
            4, p);
        if (r && PQntuples(r) == 0) {
            /* no project, or a concurrent insert of the same week not yet visible */
            PGresult *o = cl_db_query(c, "SELECT 1 FROM projects WHERE id = $1 AND owner_id = $2", 2, p);
            int owned = cl_db_ok(o) && PQntuples(o) == 1;
            PQclear(o);
            if (!owned)
                cl_res_error(res, 404, "not_found", "No project %s", spid);
            else
                cl_res_error(res, 409, "conflict", "The week is being created by another request; try again");
        } else if (r) {
            int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            int created = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
            cl_cycle cy;
            if (cl_cycle_load(c, id, u->id, 0, &cy, res) == 1)
                cl_cycles_reply_week(res, c, u, &cy, created ? 201 : 200, NULL);
            cl_cycle_clear(&cy);
        }
        PQclear(r);
    }
    cJSON_Delete(body);
}

/* GET /api/projects/:id/strategy-cycles */
static void list_cycles(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char spid[24], uid[24];
    const char *p[] = {cl_db_id(spid, cl_req_param_id(req, "id")), cl_db_id(uid, u->id)};
    cl_res_db_query_row(
        res, 200, COMP, c,
        "SELECT json_build_object('timezone', p.timezone,"
        " 'current_week_start', date_trunc('week', (now() AT TIME ZONE p.timezone)::date)::date,"
        " 'cycles', coalesce((SELECT json_agg(json_build_object('id', y.id, 'week_start', y.week_start,"
        "   'week_end', y.week_start + 6, 'status', y.status, 'source', y.source, 'pack_status', "
        "y.pack_status,"
        "   'brief', y.brief,"
        "   'items', (SELECT count(*) FROM content_items i WHERE i.cycle_id = y.id AND i.publish_status <> "
        "'skipped'),"
        "   'scheduled', (SELECT count(*) FROM content_items i WHERE i.cycle_id = y.id"
        "                  AND i.publish_status IN ('scheduled', 'publishing', 'published')))"
        "   ORDER BY y.week_start DESC) FROM strategy_cycles y WHERE y.project_id = p.id), '[]'::json))"
        " FROM projects p WHERE p.id = $1 AND p.owner_id = $2",
        2, p, "list cycles", "No project %s", spid);
}

/* GET /api/strategy-cycles/:id */
static void get_cycle(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cl_cycle cy;
    if (cl_cycle_load(c, cl_req_param_id(req, "id"), u->id, 0, &cy, res) == 1)
        cl_cycles_reply_week(res, c, u, &cy, 200, NULL);
    cl_cycle_clear(&cy);
}

/* ---- approval -------------------------------------------------------------- */

/* What approving writes besides the state: manual exports enter the manual queue. */
#define APPROVE_SET                                                                                \
    "manual_status = CASE WHEN i.publish_strategy = 'manual_export' THEN 'ready_for_export' ELSE NULL END,"  \
    " publish_error = NULL, scheduled_at = NULL, publish_job_id = NULL"

/* POST /api/content-items/:id/approve — a rendered item; manual_export items
   enter the manual queue as ready_for_export. */
static void approve(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t id = cl_req_param_id(req, "id");
    char sid[24], uid[24], err[256] = "";
    const char *p[] = {cl_db_id(sid, id), cl_db_id(uid, u->id)};
    PGresult *r = cl_db_query(c, "SELECT status, publish_status FROM content_items WHERE id = $1 AND user_id = $2",
                              2, p);
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, COMP, c, r, "read item");
    } else if (PQntuples(r) == 0) {
        cl_res_error(res, 404, "not_found", "No content item %s", sid);
    } else if (strcmp(PQgetvalue(r, 0, 0), "rendered") != 0 && strcmp(PQgetvalue(r, 0, 1), "draft") == 0) {
        cl_res_error(res, 409, "not_rendered", "Render item %s before approving it (it is %s)", sid,
                     PQgetvalue(r, 0, 0));
    } else {
        cl_pub_state cur;
        int rc = cl_item_transition(
            c, id, u->id, CL_PUB_APPROVED,
            APPROVE_SET,
            0, NULL, &cur, err, sizeof err);
        if (transition_reply(res, rc, id, cur, CL_PUB_APPROVED, err) == 0)
            cl_cycles_reply_item(res, c, 200, id, u->id);
    }
    PQclear(r);
}

/* A transition that needs nothing but the item: answer the item or the 409. */
static void simple_transition(cl_req *req, cl_res *res, PGconn *c, const cl_user *u, cl_pub_state to,
                              const char *set_sql)
{
    int64_t id = cl_req_param_id(req, "id");
    char err[256] = "";
    cl_pub_state cur;
    int rc = cl_item_transition(c, id, u->id, to, set_sql, 0, NULL, &cur, err, sizeof err);
    if (transition_reply(res, rc, id, cur, to, err) == 0)
        cl_cycles_reply_item(res, c, 200, id, u->id);
}

/* POST /api/content-items/:id/unapprove */
static void unapprove(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    simple_transition(req, res, c, u, CL_PUB_DRAFT,
                      "manual_status = CASE WHEN i.manual_status = 'ready_for_export' THEN NULL"
                      " ELSE i.manual_status END");
}

/* POST /api/strategy-cycles/:id/approve-all — every rendered draft item. */
static void approve_all(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cl_cycle cy;
    if (cl_cycle_load(c, cl_req_param_id(req, "id"), u->id, 0, &cy, res) != 1) {
        cl_cycle_clear(&cy);
        return;
    }
    char sid[24], uid[24];
    const char *p[] = {cl_db_id(sid, cy.id), cl_db_id(uid, u->id)};
    PGresult *r = cl_db_query(c,
                              "SELECT id, status, publish_status FROM content_items WHERE cycle_id = $1 AND user_id = $2"
                              " AND publish_status <> 'skipped' ORDER BY position, id",
                              2, p);
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, COMP, c, r, "read items");
        PQclear(r);
        cl_cycle_clear(&cy);
        return;
    }
    cJSON *o = cJSON_CreateObject(), *done = cJSON_AddArrayToObject(o, "approved"),
          *left = cJSON_AddArrayToObject(o, "not_approved");
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        const char *why = NULL;
        if (strcmp(PQgetvalue(r, i, 2), "draft") != 0)
            why = PQgetvalue(r, i, 2); /* already approved or further along */
        else if (strcmp(PQgetvalue(r, i, 1), "rendered") != 0)
            why = "not_rendered";
        else {
            cl_pub_state cur;
            char err[256] = "";
            int rc = cl_item_transition(c, id, u->id, CL_PUB_APPROVED,
                                        APPROVE_SET,
                                        0, NULL, &cur, err, sizeof err);
            if (rc == CL_TRANSITION_OK) {
                cJSON_AddItemToArray(done, cJSON_CreateNumber((double)id));
                continue;
            }
            why = rc == CL_TRANSITION_REFUSED ? cl_pub_state_name(cur) : "error";
        }
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "id", (double)id);
        cJSON_AddStringToObject(x, "reason", why);
        cJSON_AddItemToArray(left, x);
    }
    PQclear(r);
    cJSON *items = cl_cycles_items_json(
        c, LIVE_ITEMS, 2,
        p, cy.timezone);
    cJSON_AddItemToObject(o, "items", items ? items : cJSON_CreateArray());
    cl_res_json(res, 200, o);
    cl_cycle_clear(&cy);
}

/* ---- scheduling ---------------------------------------------------------------- */

/*
 * "YYYY-MM-DDTHH:MM[:SS]" (local wall-clock time) → 0 with *absolute = 0;
 * the same followed by "Z" or "+HH:MM"/"-HH:MM" → 0 with *absolute = 1;
 * anything else -1.
 */
static int parse_at(const char *s, int *absolute)
{
    *absolute = 0;
    size_t n = s ? strlen(s) : 0;
    if (n < 16 || n > 25 || !valid_date((char[11]){s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], 0}))
        return -1;
    if ((s[10] != 'T' && s[10] != ' ') || !isdigit((unsigned char)s[11]) || !isdigit((unsigned char)s[12]) ||
        s[13] != ':' || !isdigit((unsigned char)s[14]) || !isdigit((unsigned char)s[15]))
        return -1;
    if (atoi(s + 11) > 23 || atoi(s + 14) > 59)
        return -1;
    const char *rest = s + 16;
    if (rest[0] == ':') {
        if (!isdigit((unsigned char)rest[1]) || !isdigit((unsigned char)rest[2]) || atoi(rest + 1) > 59)
            return -1;
        rest += 3;
    }
    if (!*rest)
        return 0;
    *absolute = 1;
    if (strcmp(rest, "Z") == 0)
        return 0;
    if ((rest[0] == '+' || rest[0] == '-') && strlen(rest) == 6 && isdigit((unsigned char)rest[1]) &&
        isdigit((unsigned char)rest[2]) && rest[3] == ':' && isdigit((unsigned char)rest[4]) &&
        isdigit((unsigned char)rest[5]))
        return 0;
    return -1;
}

int cl_cycle_create_body(const cJSON *body, const char **week_start, const char **brief, cl_body_err *e)
{
    const cJSON *ws = cJSON_GetObjectItem(body, "week_start");
    const cJSON *b = cJSON_GetObjectItem(body, "brief");
    *week_start = cJSON_IsString(ws) ? ws->valuestring : NULL;
    *brief = cJSON_IsString(b) ? b->valuestring : NULL;
    if (ws && !cJSON_IsNull(ws) && !(cJSON_IsString(ws) && valid_date(ws->valuestring)))
        return cl_body_field(e, 422, "week_start", "week_start must be a date YYYY-MM-DD (any day of the week)");
    if (b && !cJSON_IsNull(b) && !(cJSON_IsString(b) && strlen(b->valuestring) <= CL_CYCLE_BRIEF_MAX))
        return cl_body_field(e, 422, "brief", "brief must be text of at most 1000 characters");
    return 0;
}

int cl_cycle_schedule_item_body(const cJSON *body, const char **at, int *absolute, cl_body_err *e)
{
    *at = cJSON_GetStringValue(cJSON_GetObjectItem(body, "at"));
    if (parse_at(*at, absolute) != 0)
        return cl_body_field(e, 422, "at",
                             "at must be a date and time like 2026-12-07T18:00 (in the project's time zone)");
    return 0;
}

static int day_index(const char *d)
{
    static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    for (int i = 0; d && i < 7; i++)
        if (strcasecmp(d, days[i]) == 0)
            return i;
    return -1;
}

int cl_cycle_schedule_body(const cJSON *body, cl_schedule_plan *out, cl_body_err *e)
{
    const cJSON *slots = cJSON_GetObjectItem(body, "slots"), *days = cJSON_GetObjectItem(body, "days");
    const char *time = cJSON_GetStringValue(cJSON_GetObjectItem(body, "time"));
    memset(out, 0, sizeof *out);
    if (cJSON_IsArray(slots) && cJSON_GetArraySize(slots) >= 1 && cJSON_GetArraySize(slots) <= 32) {
        const cJSON *s;
        cJSON_ArrayForEach(s, slots)
        {
            const cJSON *iid = cJSON_GetObjectItem(s, "item_id"), *pos = cJSON_GetObjectItem(s, "position");
            const char *at = cJSON_GetStringValue(cJSON_GetObjectItem(s, "at"));
            int abs_;
            if (!at || parse_at(at, &abs_) != 0 || (!cJSON_IsNumber(iid) && !cJSON_IsNumber(pos))) {
                char field[32];
                snprintf(field, sizeof field, "slots[%d]", out->n);
                return cl_body_field(e, 422, field, "each slot needs item_id or position, and at like 2026-12-07T18:00");
            }
            out->slots[out->n].by_item = cJSON_IsNumber(iid);
            out->slots[out->n].ref = cJSON_IsNumber(iid) ? iid->valuedouble : pos->valuedouble;
            out->slots[out->n].at = at;
            out->n++;
        }
        return 0;
    }
    if (!cJSON_IsArray(days) || !time)
        return cl_body_field(e, 422, "slots",
                             "Send slots [{item_id or position, at}] or days [\"mon\",…] with time \"HH:MM\"");
    out->by_days = 1;
    out->time = time;
    int hh = -1, mm = -1;
    if (strlen(time) != 5 || sscanf(time, "%2d:%2d", &hh, &mm) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59)
        return cl_body_field(e, 422, "time", "time must be HH:MM (24 h, the project's time zone)");
    const cJSON *d;
    cJSON_ArrayForEach(d, days)
    {
        int di = day_index(cJSON_GetStringValue(d));
        if (di < 0 || out->ndays == 7) {
            out->ndays = 0;
            break;
        }
        out->days[out->ndays++] = di;
    }
    if (out->ndays == 0)
        return cl_body_field(e, 422, "days", "days must list mon, tue, wed, thu, fri, sat or sun");
    return 0;
}

/* Resolve `at` in tz into UTC text (for a timestamptz parameter). 0 ok,
   1 in the past (*local filled), -1 error. */
static int resolve_at(PGconn *c, const char *at, int absolute, const char *tz, char utc[40], char local[20])
{
    const char *p[] = {at, absolute ? "t" : "f", tz};
    PGresult *r = cl_db_query(c,
                              "WITH t AS (SELECT CASE WHEN $2::bool THEN $1::timestamptz"
                              " ELSE ($1::timestamp AT TIME ZONE $3) END AS at)"
                              " SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                              " to_char(at AT TIME ZONE $3, 'YYYY-MM-DD\"T\"HH24:MI'), at <= now() FROM t",
                              3, p);
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        PQclear(r);
        return -1;
    }
    snprintf(utc, 40, "%s", PQgetvalue(r, 0, 0));
    snprintf(local, 20, "%s", PQgetvalue(r, 0, 1));
    int past = strcmp(PQgetvalue(r, 0, 2), "t") == 0;
    PQclear(r);
    return past;
}

/* The item's strategy and zone. 1 found, 0 not, -1 error. */
static int item_info(PGconn *c, int64_t id, int64_t user_id, char strategy[24], char tz[65], int64_t *cycle_id)
{
    char sid[24], uid[24];
    const char *p[] = {cl_db_id(sid, id), cl_db_id(uid, user_id)};
    PGresult *r = cl_db_query(c,
                              "SELECT i.publish_strategy, p.timezone, coalesce(i.cycle_id, 0)"
                              " FROM content_items i JOIN projects p ON p.id = i.project_id"
                              " WHERE i.id = $1 AND i.user_id = $2",
                              2, p);
    if (cl_db_check(c, r, NULL, 0) != 0)
        return -1;
    int found = PQntuples(r) == 1;
    if (found) {
        snprintf(strategy, 24, "%s", PQgetvalue(r, 0, 0));
        snprintf(tz, 65, "%s", PQgetvalue(r, 0, 1));
        if (cycle_id)
            *cycle_id = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    }
    PQclear(r);
    return found;
}

static void manual_refusal(cl_res *res, int64_t id)
{
    cl_res_error(res, 409, "manual_export_not_schedulable",
                 "Item %" PRId64 " is a manual export: it goes to the manual queue instead of being published"
                 " directly. Switch its publish strategy to direct_instagram (Instagram only) to schedule it.",
                 id);
}

/* Schedule one item at a resolved time. Returns the transition code; the
   reply is set when it is not OK. */
static int schedule_one(PGconn *c, cl_res *res, int64_t id, int64_t user_id, const char *utc)
{
    const char *extra[] = {utc};
    cl_pub_state cur;
    char err[256] = "";
    int rc = cl_item_transition(c, id, user_id, CL_PUB_SCHEDULED,
                                "scheduled_at = $4::timestamptz, publish_attempt = i.publish_attempt + 1,"
                                " publish_job_id = NULL, publish_error = NULL",
                                1, extra, &cur, err, sizeof err);
    transition_reply(res, rc, id, cur, CL_PUB_SCHEDULED, err);
    return rc;
}

/* POST /api/content-items/:id/schedule {at} */
static void schedule_item(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = req->json; /* CL_AUTH_JSON */
    int64_t id = cl_req_param_id(req, "id");
    const char *at;
    char strategy[24], tz[65], utc[40], local[20];
    int absolute = 0;
    cl_body_err be = {0};
    int bad = cl_cycle_schedule_item_body(body, &at, &absolute, &be);
    int found = item_info(c, id, u->id, strategy, tz, NULL);
    if (found < 0) {
        cl_res_error(res, 500, "internal", "Could not read the item");
    } else if (!found) {
        cl_res_error(res, 404, "not_found", "No content item %" PRId64, id);
    } else if (bad) {
        cl_res_body_error(res, &be);
    } else if (strcmp(strategy, "direct_instagram") != 0) {
        manual_refusal(res, id);
    } else {
        int past = resolve_at(c, at, absolute, tz, utc, local);
        if (past < 0)
            cl_auth_field_error(res, 422, "at", "at is not a valid time");
        else if (past)
            cl_auth_field_error(res, 422, "at", "That time has already passed; choose a time in the future");
        else if (schedule_one(c, res, id, u->id, utc) == CL_TRANSITION_OK)
            cl_cycles_reply_item(res, c, 200, id, u->id);
    }
    cl_body_err_free(&be);
}

/* POST /api/content-items/:id/unschedule — a publish job already enqueued
   for this attempt finds the item no longer scheduled and completes as stale. */
static void unschedule_item(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    simple_transition(req, res, c, u, CL_PUB_APPROVED, "scheduled_at = NULL, publish_job_id = NULL");
}

/*
 * POST /api/strategy-cycles/:id/schedule
 *   {"slots":[{"item_id"|"position", "at"}…]}   explicit times, all or nothing
 *   {"days":["mon",…], "time":"18:00"}          the cycle's approved direct items,
 *                                              by position, one per listed day
 * Times in the project's zone; a past slot is a 422 naming it; nothing is
 * scheduled unless every slot is valid (one transaction).
 */
/* The items a schedule request resolves to, their local "at", then the same
   times in UTC once validated. */
typedef struct schedule_targets {
    int n;
    int64_t ids[32];
    char ats[32][32];
    char utc[32][40];
} schedule_targets;

/* Slots: the item each names (p: cycle id, user id), in order; the first
   naming no item of the week answers 404. 0, or -1 with the reply set. */
static int slot_targets(PGconn *c, cl_res *res, const char *const p[2], const cl_schedule_plan *plan,
                        schedule_targets *t)
{
    for (int k = 0; k < plan->n; k++) {
        int64_t item = 0;
        char q1[24];
        snprintf(q1, sizeof q1, "%.0f", plan->slots[k].ref);
        const char *qp[] = {p[0], p[1], q1};
        PGresult *r = cl_db_query(c,
                                  plan->slots[k].by_item
                                      ? "SELECT id FROM content_items WHERE cycle_id = $1 AND user_id = $2 AND id = $3"
                                        " AND publish_status <> 'skipped'"
                                      : "SELECT id FROM content_items WHERE cycle_id = $1 AND user_id = $2"
                                        " AND position = $3 AND publish_status <> 'skipped'",
                                  3, qp);
        if (cl_db_ok(r) && PQntuples(r) == 1)
            item = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        if (!item) {
            cl_res_error(res, 404, "not_found", "slots[%d] names no item of this week", k);
            return -1;
        }
        t->ids[t->n] = item;
        snprintf(t->ats[t->n], sizeof t->ats[t->n], "%s", plan->slots[k].at);
        t->n++;
    }
    return 0;
}

/* Keep, in place, the days of the cycle's week whose time is still ahead in
   the project's zone; returns how many. */
static int future_days(PGconn *c, const cl_cycle *cy, const char *time, int *dayidx, int nd)
{
    int kept = 0;
    for (int i = 0; i < nd; i++) {
        char di[16];
        snprintf(di, sizeof di, "%d", dayidx[i]);
        const char *fq[] = {cy->week_start, di, time, cy->timezone};
        PGresult *fr = cl_db_query(c, "SELECT ((($1::date + $2::int) + $3::time) AT TIME ZONE $4) > now()", 4, fq);
        if (cl_db_ok(fr) && PQntuples(fr) == 1 && strcmp(PQgetvalue(fr, 0, 0), "t") == 0)
            dayidx[kept++] = dayidx[i];
        PQclear(fr);
    }
    return kept;
}

/* Days and a time: the week's approved direct items get the listed days
   still ahead, in order; the others go to not_scheduled with the reason.
   Errors are set on res. */
static void day_targets(PGconn *c, cl_res *res, const cl_cycle *cy, const char *const p[2],
                        cl_schedule_plan *plan, schedule_targets *t, cJSON *not_scheduled)
{
    const char *time = plan->time;
    int *dayidx = plan->days, nd = future_days(c, cy, time, plan->days, plan->ndays);
    if (nd == 0) {
        cl_auth_field_error(res, 422, "days",
                            "Every listed day of this week has already passed; schedule these posts one by one"
                            " or plan next week");
        return;
    }
    PGresult *r = cl_db_query(c,
                              "SELECT id, publish_status, publish_strategy FROM content_items"
                              " WHERE cycle_id = $1 AND user_id = $2 AND publish_status <> 'skipped'"
                              " ORDER BY position, id",
                              2, p);
    int next = 0;
    for (int i = 0; cl_db_ok(r) && i < PQntuples(r); i++) {
        int64_t item = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        const char *why = strcmp(PQgetvalue(r, i, 2), "direct_instagram") != 0 ? "manual_export"
                          : strcmp(PQgetvalue(r, i, 1), "approved") != 0   ? PQgetvalue(r, i, 1)
                          : next >= nd                                      ? "no_day_left"
                                                                            : NULL;
        if (why) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddNumberToObject(x, "id", (double)item);
            cJSON_AddStringToObject(x, "reason", why);
            cJSON_AddItemToArray(not_scheduled, x);
            continue;
        }
        /* the day of the cycle's week, in the project's zone */
        const char *dq[] = {cy->week_start, (char[4]){(char)('0' + dayidx[next]), 0}};
        PGresult *dr = cl_db_query(c, "SELECT ($1::date + $2::int)::text", 2, dq);
        if (cl_db_ok(dr) && PQntuples(dr) == 1) {
            t->ids[t->n] = item;
            snprintf(t->ats[t->n], sizeof t->ats[t->n], "%sT%s", PQgetvalue(dr, 0, 0), time);
            t->n++;
        }
        PQclear(dr);
        next++;
    }
    if (!cl_db_ok(r))
        cl_res_db_failed(res, COMP, c, r, "read items");
    PQclear(r);
}

/* Every target is a direct item of the user at a future time: fills
   t->utc. Errors are set on res. */
static void validate_targets(PGconn *c, cl_res *res, const cl_user *u, const cl_cycle *cy, schedule_targets *t)
{
    for (int i = 0; !res->status && i < t->n; i++) {
        char strategy[24], tz[65], local[20];
        int abs_ = 0;
        parse_at(t->ats[i], &abs_);
        if (item_info(c, t->ids[i], u->id, strategy, tz, NULL) != 1) {
            cl_res_error(res, 404, "not_found", "No content item %" PRId64, t->ids[i]);
        } else if (strcmp(strategy, "direct_instagram") != 0) {
            manual_refusal(res, t->ids[i]);
        } else {
            int past = resolve_at(c, t->ats[i], abs_, cy->timezone, t->utc[i], local);
            if (past != 0) {
                char field[48];
                snprintf(field, sizeof field, "item %" PRId64, t->ids[i]);
                cl_auth_field_error(res, 422, field,
                                    past < 0 ? "not a valid time" : "That time has already passed; choose a time in the future");
            }
        }
    }
}

/* Schedule every target in one transaction (all or none). */
static void save_targets(PGconn *c, cl_res *res, const cl_user *u, const schedule_targets *t)
{
    if (cl_db_begin(c) != 0) {
        cl_res_error(res, 500, "internal", "Could not start a transaction");
        return;
    }
    for (int i = 0; !res->status && i < t->n; i++)
        schedule_one(c, res, t->ids[i], u->id, t->utc[i]);
    if (res->status || cl_db_commit(c) != 0) {
        cl_cycles_rollback_open(c);
        if (!res->status)
            cl_res_error(res, 500, "internal", "Could not save the schedule; nothing was scheduled");
    }
}

static void schedule_cycle(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = cl_req_json(req, res);
    cl_cycle cy;
    memset(&cy, 0, sizeof cy);
    if (!body || cl_cycle_load(c, cl_req_param_id(req, "id"), u->id, 0, &cy, res) != 1) {
        cJSON_Delete(body);
        cl_cycle_clear(&cy);
        return;
    }
    cl_schedule_plan plan;
    cl_body_err be = {0};
    int bad = cl_cycle_schedule_body(body, &plan, &be);
    char sid[24], uid[24];
    const char *p[] = {cl_db_id(sid, cy.id), cl_db_id(uid, u->id)};
    schedule_targets t = {0};
    cJSON *not_scheduled = cJSON_CreateArray();
    if (!plan.by_days) {
        /* The slots before a bad one are looked up first: one naming no
           item answers 404 before a later slot's 422. */
        if (slot_targets(c, res, p, &plan, &t) == 0 && bad)
            cl_res_body_error(res, &be);
    } else if (bad) {
        cl_res_body_error(res, &be);
    } else {
        day_targets(c, res, &cy, p, &plan, &t, not_scheduled);
    }
    cl_body_err_free(&be);
    /* Validate every slot, then schedule all in one transaction. */
    if (!res->status)
        validate_targets(c, res, u, &cy, &t);
    if (!res->status)
        save_targets(c, res, u, &t);
    if (!res->status) {
        cJSON *o = cJSON_CreateObject();
        cJSON *done = cJSON_AddArrayToObject(o, "scheduled");
        for (int i = 0; i < t.n; i++)
            cJSON_AddItemToArray(done, cJSON_CreateNumber((double)t.ids[i]));
        cJSON_AddItemToObject(o, "not_scheduled", not_scheduled);
        not_scheduled = NULL;
        cJSON *items = cl_cycles_items_json(c, LIVE_ITEMS, 2, p, cy.timezone);
        cJSON_AddItemToObject(o, "items", items ? items : cJSON_CreateArray());
        cl_res_json(res, 200, o);
    }
    cJSON_Delete(not_scheduled);
    cJSON_Delete(body);
    cl_cycle_clear(&cy);
}

/* POST /api/strategy-cycles/:id/run-due — enqueue this week's due items now. */
static void run_due(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cl_cycle cy;
    if (cl_cycle_load(c, cl_req_param_id(req, "id"), u->id, 0, &cy, res) == 1) {
        char err[256] = "";
        int n = cl_cycles_enqueue_due(c, cy.id, u->id, 100, err, sizeof err);
        if (n < 0) {
            cl_error(COMP, "run-due of cycle %" PRId64 ": %s", cy.id, err);
            cl_res_error(res, 500, "internal", "Could not enqueue the due items");
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "enqueued", n);
            cl_res_json(res, 200, o);
        }
    }
    cl_cycle_clear(&cy);
}

static const cl_user_route signed_in_routes[] = {
    {"POST", "/api/projects/:id/strategy-cycles", create_cycle, CL_AUTH_PRODUCT, 0},
    {"GET", "/api/projects/:id/strategy-cycles", list_cycles, CL_AUTH_PRODUCT, 0},
    {"GET", "/api/strategy-cycles/:id", get_cycle, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/strategy-cycles/:id/approve-all", approve_all, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/strategy-cycles/:id/schedule", schedule_cycle, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/strategy-cycles/:id/run-due", run_due, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/content-items/:id/approve", approve, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/content-items/:id/unapprove", unapprove, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/content-items/:id/schedule", schedule_item, CL_AUTH_PRODUCT | CL_AUTH_JSON, 0},
    {"POST", "/api/content-items/:id/unschedule", unschedule_item, CL_AUTH_PRODUCT, 0},
};

void cl_cycles_register_routes(void)
{
    CL_ROUTE_USER_TABLE(signed_in_routes);
    cl_cycles_register_pack_routes();
}
