/*
 * projects.c — the /api/projects and /api/onboarding routes (see
 * projects.h for the list). Every route resolves the session with the
 * invite-only gate, then reads and writes only rows whose owner_id is the
 * session's user: another user's project is indistinguishable from a missing
 * one (404). Requests are validated completely before anything is written,
 * and each write is one transaction.
 */
#include "projects/projects.h"

#include "auth/auth.h"
#include "core/log.h"
#include "credits/policy.h"
#include "db/db.h"
#include "http/db_reply.h"
#include "media/media.h"
#include "http/http.h"
#include "http/loopdb.h"
#include "projects/context.h"
#include "projects/profile.h"
#include "tracking/tracking.h"
#include "core/json_out.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG "projects"
#define INGEST_MAX_ATTEMPTS 3 /* a crawl that failed for a passing reason runs again, at most this often */

/* The project as the API shows it (the table aliased p). */
#define PROJECT_JSON                                                                               \
    "json_build_object('id', p.id, 'name', p.name, 'project_type', p.project_type,"               \
    " 'status', p.status, 'business_name', p.business_name, 'category', p.category,"              \
    " 'city', p.city, 'state', p.state, 'target_audience', p.target_audience,"                    \
    " 'primary_offer', p.primary_offer, 'price_range', p.price_range, 'tone', p.tone,"            \
    " 'cta', p.cta, 'instagram_handle', p.instagram_handle, 'whatsapp_number', p.whatsapp_number," \
    " 'website_url', p.website_url, 'preferred_channels', to_json(p.preferred_channels),"         \
    " 'language_style', p.language_style, 'timezone', p.timezone,"                                 \
    " 'onboarding_step', p.onboarding_step,"                                                       \
    " 'onboarded', p.onboarded_at IS NOT NULL, 'onboarded_at', p.onboarded_at,"                   \
    " 'documents_count', p.documents_count,"                                                       \
    " 'created_at', p.created_at, 'updated_at', p.updated_at)"

/* An ingestion run (aliased r) with its job (aliased j, LEFT JOINed). A run
   whose job ended without the handler recording it (a worker died on the
   last attempt) shows as failed with the job's last error. */
#define RUN_JSON                                                                                   \
    "jsonb_build_object('id', r.id, 'start_url', r.start_url, 'job_id', r.job_id,"                \
    " 'status', CASE WHEN r.status IN ('queued', 'running') AND j.status IN ('failed', 'dead')"   \
    "   THEN 'failed' ELSE r.status END,"                                                          \
    " 'job_status', j.status, 'attempts', coalesce(j.attempts, 0),"                               \
    " 'pages_fetched', CASE WHEN r.status IN ('completed', 'failed') THEN r.pages_fetched"        \
    "   ELSE coalesce(j.progress_done, 0) END,"                                                    \
    " 'pages_total', CASE WHEN r.status IN ('completed', 'failed') THEN r.pages_fetched"          \
    "   ELSE coalesce(j.progress_total, 0) END,"                                                   \
    " 'pages_ok', r.pages_ok, 'documents', r.documents,"                                           \
    " 'error', coalesce(r.error, CASE WHEN j.status IN ('failed', 'dead') THEN j.last_error END),"\
    " 'created_at', r.created_at, 'started_at', r.started_at, 'finished_at', r.finished_at)"

/* ------------------------------------------------------------------------- */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------- */

/* A path id: 1-18 decimal digits. 0 ok, -1 not an id (callers answer 404). */
/* An id path parameter (cl_parse_id: positive, in range) as decimal text. */
static int parse_id(const char *s, char *out, size_t outlen)
{
    int64_t id = cl_parse_id(s);
    if (!id)
        return -1;
    snprintf(out, outlen, "%" PRId64, id);
    return 0;
}

/* Roll back only when a transaction is open (no "no transaction" warnings). */
static void rollback_open(PGconn *c)
{
    PGTransactionStatusType t = PQtransactionStatus(c);
    if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR)
        cl_db_rollback(c);
}

static void not_found(cl_res *res)
{
    cl_res_error(res, 404, "not_found", "No such project");
}

int cl_project_owned(PGconn *c, cl_res *res, const char *comp, int64_t project_id, int64_t user_id)
{
    static const cl_db_stmt st = {"project_owned", "SELECT 1 FROM projects WHERE id = $1 AND owner_id = $2", 2};
    char sp[CL_DB_ID_LEN], su[CL_DB_ID_LEN];
    const char *p[] = {cl_db_id(sp, project_id), cl_db_id(su, user_id)};
    PGresult *r = cl_db_prepared(c, &st, p);
    int rc = cl_db_ok(r) ? PQntuples(r) == 1 : -1;
    if (rc < 0)
        cl_res_db_failed(res, comp, c, r, "read project");
    else if (rc == 0)
        cl_res_error(res, 404, "not_found", "No project %s", sp);
    PQclear(r);
    return rc;
}

/* Does the user own an existing project? 1 yes, 0 no (404 set), -1 error (500 set). */
static int owns(cl_res *res, PGconn *c, const char *pid, const cl_user *u)
{
    return cl_project_owned(c, res, LOG, strtoll(pid, NULL, 10), u->id);
}

/* The plan's active-project limit, checked inside the caller's transaction
   after the user row was locked (so two concurrent creates cannot both pass).
   0 within the limit, 1 over it (403 set), -1 error (reply set). */
static int check_limit(cl_res *res, PGconn *c, const cl_user *u, const char *uid)
{
    const cl_plan_limits *l = cl_policy_limits(u->plan);
    if (l->active_projects < 0)
        return 0;
    const char *p[] = {uid};
    PGresult *r = cl_db_query(c, "SELECT count(*) FROM projects WHERE owner_id = $1 AND status = 'active'", 1, p);
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, LOG, c, r, "count projects");
        PQclear(r);
        return -1;
    }
    long active = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (active < l->active_projects)
        return 0;
    cl_res_error(res, 403, "project_limit_reached",
                 "Your %s plan allows %d active project%s. Archive a project or upgrade to add another.",
                 cl_plan_label(u->plan), l->active_projects, l->active_projects == 1 ? "" : "s");
    return 1;
}

static int lock_user(cl_res *res, PGconn *c, const char *uid)
{
    const char *p[] = {uid};
    PGresult *r = cl_db_query(c, "SELECT 1 FROM users WHERE id = $1 FOR UPDATE", 1, p);
    int ok = cl_db_ok(r);
    if (!ok)
        cl_res_db_failed(res, LOG, c, r, "lock user");
    PQclear(r);
    return ok ? 0 : -1;
}

/* ------------------------------------------------------------------------- */
/* Projects                                                                  */
/* ------------------------------------------------------------------------- */

/* GET /api/projects: the owner's projects as the studio's lists show them
   (a summary: the project picker, the projects page's cards, the command
   bar's index and the dashboard's active project read no more; the whole
   profile is GET /api/projects/:id). The document count is stored on the
   project (migration 0033). Plain columns the host writes as JSON
   (Postgres building the objects cost more than the rest of the statement;
   docs/scale.md). Timestamps come as timestamptz text in the connection's
   zone, UTC. tests/bench/routes runs it through pgbench too. */
const cl_db_stmt cl_projects_list_stmt = {
    "cl_projects_list",
    "SELECT p.id, p.name, p.project_type, p.status, p.business_name, p.category, p.city, p.state,"
    " p.website_url, p.onboarded_at IS NOT NULL,"
    " p.documents_count, p.updated_at"
    " FROM projects p WHERE p.owner_id = $1::bigint"
    " ORDER BY p.status = 'archived', p.updated_at DESC, p.id DESC",
    1,
};

/* A timestamptz column ("2026-12-06 04:36:49.123+00", UTC) as a JSON
   timestamptz shows it ("2026-12-06T04:36:49.123+00:00"), or null. */
static int put_jtime(cl_buf *b, const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return cl_buf_puts(b, "null");
    const char *v = PQgetvalue(r, row, col);
    size_t n = strlen(v);
    char t[64];
    if (n < 22 || n > 40 || v[10] != ' ')
        return cl_buf_json_str(b, v);
    memcpy(t, v, n + 1);
    t[10] = 'T';
    if (t[n - 3] == '+' || t[n - 3] == '-') /* "+00": JSON spells the minutes too */
        memcpy(t + n, ":00", 4);
    return cl_buf_json_str(b, t);
}

/* The list's rows as {"projects":[...],"limits":{...}}: of each project the
   statement's columns under the keys, in the order and with the values,
   of PROJECT_JSON. Appends of known length only. 0 or -1. */
static int projects_write(cl_buf *b, const PGresult *r, const cl_user *u)
{
#define K(k) {",\"" k "\":", sizeof(",\"" k "\":") - 1}
    static const struct {
        const char *key;
        size_t len;
    } text_keys[] = {K("name"), K("project_type"), K("status"), K("business_name"),
                     K("category"), K("city"), K("state"), K("website_url")};
#undef K
    int active = 0, rc = CL_BUF_LIT(b, "{\"projects\":[");
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        rc |= i ? CL_BUF_LIT(b, ",{\"id\":") : CL_BUF_LIT(b, "{\"id\":");
        rc |= cl_buf_append(b, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
        for (int k = 0; k < 8; k++) {
            rc |= cl_buf_append(b, text_keys[k].key, text_keys[k].len);
            rc |= PQgetisnull(r, i, 1 + k) ? CL_BUF_LIT(b, "null") : cl_buf_json_str(b, PQgetvalue(r, i, 1 + k));
        }
        rc |= PQgetvalue(r, i, 9)[0] == 't' ? CL_BUF_LIT(b, ",\"onboarded\":true") : CL_BUF_LIT(b, ",\"onboarded\":false");
        rc |= CL_BUF_LIT(b, ",\"documents_count\":") | cl_buf_append(b, PQgetvalue(r, i, 10), (size_t)PQgetlength(r, i, 10));
        rc |= CL_BUF_LIT(b, ",\"updated_at\":") | put_jtime(b, r, i, 11) | CL_BUF_LIT(b, "}");
        active += strcmp(PQgetvalue(r, i, 3), "active") == 0;
    }
    const cl_plan_limits *l = cl_policy_limits(u->plan);
    rc |= CL_BUF_LIT(b, "],\"limits\":{\"plan\":");
    rc |= cl_buf_json_str(b, cl_plan_id(u->plan));
    rc |= cl_buf_printf(b, ",\"active_projects\":%d,\"max_active_projects\":%d}}", active, l->active_projects);
    return rc ? -1 : 0;
}

static void projects_reply(cl_req *req, cl_res *res, const cl_user *u, const PGresult *r)
{
    (void)req;
    if (projects_write(cl_res_json_buf(res, 200, 256 + 384 * (size_t)PQntuples(r)), r, u) != 0)
        cl_res_error(res, 500, "internal", "out of memory");
}

static const cl_read_route projects_read;

static void list_projects(cl_req *req, cl_res *res)
{
    cl_read_route_blocking(req, res, &projects_read, LOG, "list projects");
}

static int projects_plan(cl_req *req, cl_res *res, const cl_user *u, cl_read_stmt *s)
{
    (void)req;
    (void)res;
    s->st = &cl_projects_list_stmt;
    snprintf(s->buf[0], sizeof s->buf[0], "%" PRId64, u->id);
    s->params[0] = s->buf[0];
    return 0;
}

static const cl_read_route projects_read = {list_projects, CL_AUTH_PRODUCT, projects_plan, projects_reply, 1};

/* Build "col1, col2" and "$k, $k+1::text[]" lists for the update's columns,
   with parameters starting at $first. */
static void column_lists(const cl_profile_update *upd, int first, cl_buf *cols, cl_buf *vals,
                         cl_buf *sets)
{
    for (size_t i = 0; i < upd->n; i++) {
        const char *cast = upd->is_array[i] ? "::text[]" : "";
        if (cols)
            cl_buf_printf(cols, ", %s", upd->names[i]);
        if (vals)
            cl_buf_printf(vals, ", $%d%s", first + (int)i, cast);
        if (sets)
            cl_buf_printf(sets, ", %s = $%d%s", upd->names[i], first + (int)i, cast);
    }
}

static int step_is_done(const cl_profile_update *upd)
{
    const char *v = NULL;
    return cl_profile_update_get(upd, "onboarding_step", &v) && v && strcmp(v, "done") == 0;
}

static void create_project(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = req->json; /* CL_AUTH_JSON */
    cJSON *errors = cJSON_CreateObject();
    cl_profile_update upd;
    int v = cl_profile_validate(body, CL_PROFILE_CREATE, &upd, errors);
    if (v == 0 && step_is_done(&upd) && cl_profile_check_complete(NULL, &upd, errors) > 0)
        v = 1;
    if (v != 0) {
        if (v > 0)
            cl_res_invalid(res, errors);
        else {
            cJSON_Delete(errors);
            cl_res_error(res, 500, "internal", "Out of memory");
        }
        cl_profile_update_free(&upd);
        return;
    }
    cJSON_Delete(errors);

    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    const char *params[CL_PROFILE_MAX_FIELDS + 1] = {uid};
    for (size_t i = 0; i < upd.n; i++)
        params[i + 1] = upd.values[i];
    cl_buf cols = CL_BUF_INIT, vals = CL_BUF_INIT, sql = CL_BUF_INIT;
    column_lists(&upd, 2, &cols, &vals, NULL);
    cl_buf_printf(&sql, "INSERT INTO projects AS p (owner_id%s%s) VALUES ($1%s%s) RETURNING " PROJECT_JSON,
                  cols.data ? cols.data : "", step_is_done(&upd) ? ", onboarded_at" : "",
                  vals.data ? vals.data : "", step_is_done(&upd) ? ", now()" : "");

    if (cl_db_begin(c) != 0) {
        cl_res_db_failed(res, LOG, c, NULL, "begin");
    } else if (lock_user(res, c, uid) == 0 && check_limit(res, c, u, uid) == 0) {
        PGresult *r = cl_db_query(c, sql.data, (int)upd.n + 1, params);
        if (cl_db_ok(r) && cl_db_commit(c) == 0) {
            cl_res_json_text(res, 201, PQgetvalue(r, 0, 0));
        } else {
            cl_res_db_failed(res, LOG, c, r, "create project");
        }
        PQclear(r);
    }
    rollback_open(c);
    cl_buf_free(&cols);
    cl_buf_free(&vals);
    cl_buf_free(&sql);
    cl_profile_update_free(&upd);
}

/* The :id of the routes below (pid) and the user's id (uid) as text; 0, or -1 with 404 set. */
static int project_param(cl_req *req, cl_res *res, const cl_user *u, char pid[24], char uid[24])
{
    snprintf(uid, 24, "%" PRId64, u->id);
    if (parse_id(cl_req_param(req, "id"), pid, 24)) {
        not_found(res);
        return -1;
    }
    return 0;
}

static void get_project(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char pid[24], uid[24];
    if (project_param(req, res, u, pid, uid) != 0)
        return;
    const char *p[] = {pid, uid};
    cl_res_db_query_row(res, 200, LOG, c,
                        "SELECT " PROJECT_JSON " FROM projects p WHERE p.id = $1 AND p.owner_id = $2", 2, p,
                        "get project", "No such project");
}

static void update_project(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char pid[24], uid[24];
    if (project_param(req, res, u, pid, uid) != 0)
        return;
    cJSON *body = cl_req_json(req, res);
    if (!body)
        return;
    cJSON *errors = cJSON_CreateObject();
    cl_profile_update upd;
    int v = cl_profile_validate(body, CL_PROFILE_UPDATE, &upd, errors);
    cJSON_Delete(body);
    if (v != 0) {
        if (v > 0)
            cl_res_invalid(res, errors);
        else {
            cJSON_Delete(errors);
            cl_res_error(res, 500, "internal", "Out of memory");
        }
        return;
    }

    const char *kp[] = {pid, uid};
    cl_buf sets = CL_BUF_INIT, sql = CL_BUF_INIT;
    cJSON *current = NULL;
    PGresult *r = NULL;
    if (cl_db_begin(c) != 0) {
        cl_res_db_failed(res, LOG, c, NULL, "begin");
        goto out;
    }
    if (lock_user(res, c, uid) != 0)
        goto out;
    r = cl_db_query(c, "SELECT " PROJECT_JSON " FROM projects p WHERE p.id = $1 AND p.owner_id = $2 FOR UPDATE", 2, kp);
    if (!cl_db_ok(r) || PQntuples(r) == 0) {
        cl_res_db_row(res, 200, LOG, c, r, "lock project", "No such project");
        goto out;
    }
    current = cJSON_Parse(PQgetvalue(r, 0, 0));
    PQclear(r);
    r = NULL;
    if (!current) {
        cl_res_error(res, 500, "internal", "Out of memory");
        goto out;
    }
    if (step_is_done(&upd) && cl_profile_check_complete(current, &upd, errors) > 0) {
        cl_res_invalid(res, errors);
        errors = NULL;
        goto out;
    }
    const char *st = NULL;
    const cJSON *cur_status = cJSON_GetObjectItemCaseSensitive(current, "status");
    if (cl_profile_update_get(&upd, "status", &st) && st && strcmp(st, "active") == 0 &&
        cJSON_IsString(cur_status) && strcmp(cur_status->valuestring, "active") != 0 &&
        check_limit(res, c, u, uid) != 0)
        goto out;

    const char *params[CL_PROFILE_MAX_FIELDS + 2] = {pid, uid};
    for (size_t i = 0; i < upd.n; i++)
        params[i + 2] = upd.values[i];
    column_lists(&upd, 3, NULL, NULL, &sets);
    cl_buf_printf(&sql, "UPDATE projects AS p SET updated_at = now()%s%s WHERE p.id = $1 AND p.owner_id = $2 RETURNING " PROJECT_JSON,
                  sets.data ? sets.data : "",
                  step_is_done(&upd) ? ", onboarded_at = coalesce(p.onboarded_at, now())" : "");
    r = cl_db_query(c, sql.data, (int)upd.n + 2, params);
    if (cl_db_ok(r) && PQntuples(r) == 1 && cl_db_commit(c) == 0) {
        /* Tracking links of this project may redirect elsewhere now; other
           hosts hear the trigger's NOTIFY. */
        cl_tracking_invalidate_project(strtoll(pid, NULL, 10));
        cl_res_json_text(res, 200, PQgetvalue(r, 0, 0));
    } else {
        cl_res_db_failed(res, LOG, c, r, "update project");
    }
out:
    rollback_open(c);
    PQclear(r);
    cJSON_Delete(current);
    cJSON_Delete(errors);
    cl_buf_free(&sets);
    cl_buf_free(&sql);
    cl_profile_update_free(&upd);
}

static void delete_project(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char pid[24], uid[24];
    if (project_param(req, res, u, pid, uid) != 0)
        return;
    const char *p[] = {pid, uid};
    /* the media library's files go once the rows are gone (docs/media.md) */
    cl_media_files *media = cl_media_project_files(c, strtoll(pid, NULL, 10));
    PGresult *r = cl_db_query(c, "DELETE FROM projects WHERE id = $1 AND owner_id = $2 RETURNING id", 2, p);
    if (!cl_db_ok(r))
        cl_res_db_failed(res, LOG, c, r, "delete project");
    else if (PQntuples(r) == 0)
        not_found(res);
    else {
        cl_media_files_remove(media);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "deleted", 1);
        cJSON_AddNumberToObject(o, "id", strtod(pid, NULL));
        cl_res_json(res, 200, o);
    }
    cl_media_files_free(media);
    PQclear(r);
}

/* ------------------------------------------------------------------------- */
/* Onboarding                                                                */
/* ------------------------------------------------------------------------- */

static void get_onboarding(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char uid[24];
    const char *p[] = {cl_db_id(uid, u->id)};
    cl_res_db_query_row(
        res, 200, LOG, c,
        "SELECT json_build_object("
        " 'state', CASE WHEN EXISTS (SELECT 1 FROM projects WHERE owner_id = $1 AND onboarded_at IS NOT NULL)"
        "   THEN 'done' WHEN pending.j IS NOT NULL THEN 'in_progress' ELSE 'none' END,"
        " 'step', coalesce(pending.step, 'basics'),"
        " 'project', pending.j)"
        " FROM (SELECT NULL) AS one LEFT JOIN LATERAL ("
        "   SELECT " PROJECT_JSON " AS j, p.onboarding_step AS step FROM projects p"
        "   WHERE p.owner_id = $1 AND p.onboarded_at IS NULL AND p.status = 'active'"
        "   ORDER BY p.created_at DESC, p.id DESC LIMIT 1) pending ON true",
        1, p, "onboarding state", "No such project");
}

/* ------------------------------------------------------------------------- */
/* Ingestion and documents                                                   */
/* ------------------------------------------------------------------------- */

/* The run (with pages when with_pages) as JSON; NULL result when none. */
static PGresult *latest_run(PGconn *c, const char *pid, const char *run_id, int with_pages)
{
    char sql[4096];
    snprintf(sql, sizeof sql,
             "SELECT " RUN_JSON "%s FROM ingestion_runs r LEFT JOIN jobs j ON j.id = r.job_id"
             " WHERE r.project_id = $1 %s ORDER BY r.id DESC LIMIT 1",
             with_pages ? " || jsonb_build_object('pages', (SELECT coalesce(jsonb_agg(jsonb_build_object("
                          "'position', g.position, 'url', g.url, 'final_url', g.final_url, 'outcome', g.outcome,"
                          " 'http_status', g.http_status, 'content_type', g.content_type, 'bytes', g.bytes,"
                          " 'title', g.title, 'message', g.message) ORDER BY g.position), '[]'::jsonb)"
                          " FROM ingestion_pages g WHERE g.run_id = r.id))"
                        : "",
             run_id ? "AND r.id = $2" : "");
    const char *p[] = {pid, run_id};
    return cl_db_query(c, sql, run_id ? 2 : 1, p);
}

int cl_projects_ingest_body(const cJSON *body, char **url, cl_body_err *e)
{
    cJSON *errors = cJSON_CreateObject();
    const cJSON *it;
    *url = NULL;
    cJSON_ArrayForEach(it, body)
    {
        if (strcmp(it->string, "url") != 0)
            cJSON_AddStringToObject(errors, it->string, "Unknown field");
    }
    const cJSON *ju = cJSON_GetObjectItemCaseSensitive(body, "url");
    const char *msg = NULL;
    if (ju && !cJSON_IsNull(ju)) {
        if (!cJSON_IsString(ju))
            cJSON_AddStringToObject(errors, "url", "Must be text");
        else if (cl_profile_normalize_url(ju->valuestring, url, &msg))
            cJSON_AddStringToObject(errors, "url", msg);
    }
    if (cJSON_GetArraySize(errors) > 0) {
        free(*url);
        *url = NULL;
        return cl_body_invalid(e, errors);
    }
    cJSON_Delete(errors);
    return 0;
}

static void start_ingest(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char pid[24], uid[24];
    if (project_param(req, res, u, pid, uid) != 0)
        return;
    char *url = NULL;
    cJSON *errors = cJSON_CreateObject();
    PGresult *r = NULL;
    /* An optional body {"url": "..."} overrides the profile's website. */
    const char *b = req->body ? req->body : "";
    while (*b && (*b == ' ' || *b == '\n' || *b == '\r' || *b == '\t'))
        b++;
    if (*b) {
        cJSON *body = cl_req_json(req, res);
        if (!body)
            goto out;
        cl_body_err be = {0};
        int bad = cl_projects_ingest_body(body, &url, &be);
        cJSON_Delete(body);
        if (bad) {
            cl_res_body_error(res, &be);
            goto out;
        }
    }
    if (cl_db_begin(c) != 0) {
        cl_res_db_failed(res, LOG, c, NULL, "begin");
        goto out;
    }
    const char *kp[] = {pid, uid};
    r = cl_db_query(c, "SELECT website_url FROM projects WHERE id = $1 AND owner_id = $2 FOR UPDATE", 2, kp);
    if (!cl_db_ok(r) || PQntuples(r) == 0) {
        if (cl_db_ok(r))
            not_found(res);
        else
            cl_res_db_failed(res, LOG, c, r, "lock project");
        goto out;
    }
    if (!url) {
        if (PQgetisnull(r, 0, 0)) {
            cJSON_AddStringToObject(errors, "website_url", "Add your website address before ingesting it");
            cl_res_invalid(res, errors);
            errors = NULL;
            goto out;
        }
        url = strdup(PQgetvalue(r, 0, 0));
        if (!url) {
            cl_res_error(res, 500, "internal", "Out of memory");
            goto out;
        }
    }
    PQclear(r);
    /* A run whose job already ended without recording it (worker died) no
       longer blocks a new one. */
    const char *pp[] = {pid};
    r = cl_db_query(c,
                    "UPDATE ingestion_runs r SET status = 'failed', finished_at = now(),"
                    " error = coalesce(j.last_error, 'the ingestion job ended unexpectedly')"
                    " FROM jobs j WHERE j.id = r.job_id AND r.project_id = $1"
                    " AND r.status IN ('queued', 'running') AND j.status IN ('completed', 'failed', 'dead')",
                    1, pp);
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, LOG, c, r, "release stale runs");
        goto out;
    }
    PQclear(r);
    r = latest_run(c, pid, NULL, 0);
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, LOG, c, r, "latest run");
        goto out;
    }
    if (PQntuples(r) > 0) {
        cJSON *run = cJSON_Parse(PQgetvalue(r, 0, 0));
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(run, "status");
        if (cJSON_IsString(st) && (strcmp(st->valuestring, "queued") == 0 || strcmp(st->valuestring, "running") == 0)) {
            /* One ingestion at a time: answer with the one in progress. */
            cJSON *o = cJSON_CreateObject();
            cJSON_AddItemToObject(o, "run", run);
            cJSON_AddBoolToObject(o, "created", 0);
            cl_db_commit(c);
            cl_res_json(res, 200, o);
            goto out;
        }
        cJSON_Delete(run);
    }
    PQclear(r);
    const char *ip[] = {pid, url};
    r = cl_db_query(c, "INSERT INTO ingestion_runs (project_id, start_url) VALUES ($1, $2) RETURNING id", 2, ip);
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, LOG, c, r, "insert run");
        goto out;
    }
    char run_id[24];
    snprintf(run_id, sizeof run_id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    r = NULL;
    cl_buf payload = CL_BUF_INIT, key = CL_BUF_INIT;
    cJSON *pj = cJSON_CreateObject();
    cJSON_AddNumberToObject(pj, "project_id", strtod(pid, NULL));
    cJSON_AddNumberToObject(pj, "run_id", strtod(run_id, NULL));
    cJSON_AddStringToObject(pj, "url", url);
    cl_buf_put_json(&payload, pj);
    cl_buf_printf(&key, "%s:run:%s", CL_JOB_INGEST_WEBSITE, run_id);
    int64_t job_id = 0;
    char err[256];
    int erc = payload.data && key.data ? cl_job_enqueue(c, CL_JOB_INGEST_WEBSITE, payload.data, key.data,
                                                       INGEST_MAX_ATTEMPTS, &job_id, NULL, err, sizeof err)
                                       : -1;
    cl_buf_free(&payload);
    cl_buf_free(&key);
    if (erc != 0) {
        cl_error(LOG, "cannot enqueue ingestion: %s", err);
        cl_res_error(res, 500, "internal", "Could not start the ingestion; try again");
        goto out;
    }
    char jid[24];
    const char *up[] = {run_id, cl_db_id(jid, job_id)};
    r = cl_db_query(c, "UPDATE ingestion_runs SET job_id = $2 WHERE id = $1", 2, up);
    if (!cl_db_ok(r) || cl_db_commit(c) != 0) {
        cl_res_db_failed(res, LOG, c, r, "link run to job");
        goto out;
    }
    PQclear(r);
    r = latest_run(c, pid, run_id, 0);
    if (cl_db_ok(r) && PQntuples(r) == 1) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddRawToObject(o, "run", PQgetvalue(r, 0, 0)); /* the statement's JSON text */
        cJSON_AddBoolToObject(o, "created", 1);
        cl_res_json(res, 202, o);
    } else
        cl_res_db_failed(res, LOG, c, r, "read run");
    cl_info(LOG, "project %s: ingestion run %s queued as job %s", pid, run_id, jid);
out:
    rollback_open(c);
    PQclear(r);
    cJSON_Delete(errors);
    free(url);
}

static void get_ingestion(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char pid[24], uid[24];
    if (project_param(req, res, u, pid, uid) != 0)
        return;
    if (owns(res, c, pid, u) == 1) {
        PGresult *r = latest_run(c, pid, NULL, 1);
        if (!cl_db_ok(r))
            cl_res_db_failed(res, LOG, c, r, "ingestion status");
        else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddRawToObject(o, "run", PQntuples(r) ? PQgetvalue(r, 0, 0) : "null");
            cl_res_json(res, 200, o);
        }
        PQclear(r);
    }
}

/* The fields of a context document's JSON (both document routes), from d. */
#define DOCUMENT_FIELDS                                                                                      \
    "'id', d.id, 'url', d.url, 'title', d.title, 'description', d.description, 'headings', d.headings,"      \
    " 'chars', char_length(d.body_text), 'position', d.position, 'charset', d.charset, 'run_id', d.run_id,"  \
    " 'created_at', d.created_at"

static void list_documents(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char pid[24], uid[24];
    if (project_param(req, res, u, pid, uid) != 0)
        return;
    if (owns(res, c, pid, u) == 1) {
        const char *p[] = {pid};
        cl_res_db_query_row(
            res, 200, LOG, c,
            "SELECT json_build_object('documents', coalesce(json_agg(json_build_object(" DOCUMENT_FIELDS
            ", 'excerpt', left(d.body_text, 280)) ORDER BY d.position, d.id), '[]'))"
            " FROM context_documents d WHERE d.project_id = $1",
            1, p, "list documents", "No such project");
    }
}

static void get_document(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char pid[24], uid[24], did[24];
    if (project_param(req, res, u, pid, uid) != 0)
        return;
    if (parse_id(cl_req_param(req, "doc"), did, sizeof did)) {
        cl_res_error(res, 404, "not_found", "No such document");
        return;
    }
    const char *p[] = {pid, uid, did};
    cl_res_db_query_row(res, 200, LOG, c,
                        "SELECT json_build_object(" DOCUMENT_FIELDS ", 'text', d.body_text)"
                        " FROM context_documents d JOIN projects p ON p.id = d.project_id"
                        " WHERE p.id = $1 AND p.owner_id = $2 AND d.id = $3",
                        3, p, "get document", "No such document");
}

static void get_context(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char pid[24], uid[24], bud[16];
    if (project_param(req, res, u, pid, uid) != 0)
        return;
    long budget = 8000;
    if (cl_req_query(req, "budget", bud, sizeof bud)) {
        char *end;
        budget = strtol(bud, &end, 10);
        if (*end || budget < CL_CONTEXT_MIN_BUDGET || budget > 200000) {
            cl_res_error(res, 400, "invalid_budget", "budget must be a number of bytes from 256 to 200000");
            return;
        }
    }
    if (owns(res, c, pid, u) == 1) {
        cl_buf out = CL_BUF_INIT;
        char err[256];
        int64_t id = strtoll(pid, NULL, 10);
        if (cl_context_load(c, id, (size_t)budget, &out, err, sizeof err) == 0)
            cl_res_json_text(res, 200, out.data);
        else {
            cl_error(LOG, "context for project %s: %s", pid, err);
            cl_res_error(res, 500, "internal", "Could not load the business context");
        }
        cl_buf_free(&out);
    }
}

static const cl_user_route signed_in_routes[] = {
    {"POST", "/api/projects", create_project, CL_AUTH_PRODUCT | CL_AUTH_JSON, 0},
    {"GET", "/api/projects/:id", get_project, CL_AUTH_PRODUCT, 0},
    {"PATCH", "/api/projects/:id", update_project, CL_AUTH_PRODUCT, 0},
    {"DELETE", "/api/projects/:id", delete_project, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/projects/:id/ingest", start_ingest, CL_AUTH_PRODUCT, 0},
    {"GET", "/api/projects/:id/ingestion", get_ingestion, CL_AUTH_PRODUCT, 0},
    {"GET", "/api/projects/:id/documents", list_documents, CL_AUTH_PRODUCT, 0},
    {"GET", "/api/projects/:id/documents/:doc", get_document, CL_AUTH_PRODUCT, 0},
    {"GET", "/api/projects/:id/context", get_context, CL_AUTH_PRODUCT, 0},
    {"GET", "/api/onboarding", get_onboarding, CL_AUTH_PRODUCT, 0},
};

void cl_projects_register_routes(void)
{
    cl_route_read("/api/projects", &projects_read);
    CL_ROUTE_USER_TABLE(signed_in_routes);
}
