/*
 * chat_routes.c — the chat API (routes listed in chat.h; docs/chat.md).
 *
 * Every route is owner-only: a conversation or chat job of another user is
 * a 404, exactly like one that does not exist. Sending a message stores the
 * user's message, a pending assistant message, the chat job with its steps
 * and the durable "chat.reply" job in one transaction, idempotent by the
 * client's request_id; the reply is produced by the worker (chat_job.c).
 */
#include "auth/auth.h"
#include "chat/chat.h"
#include "chat/chat_internal.h"
#include "core/log.h"
#include "create/create.h"
#include "db/db.h"
#include "http/http.h"
#include "http/loopdb.h"
#include "core/config.h"
#include "jobs/jobs.h"
#include "http/db_reply.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "chat"
/* cl_iso (migration 0021): no ':' in the statement text, so pgbench can run it (tests/bench/routes). */
#define ISO(col) "cl_iso(" col ")"
/* The list's preview: at most this many characters, cut on a word boundary.
   The conversation row stores PREVIEW_CHARS + 1 (migration 0030). */
#define PREVIEW_CHARS 120
#define MAX_CONTENT 4000
#define MAX_TITLE 120
#define TITLE_FROM_MESSAGE 60
#define THREAD_LIMIT 200

/* ---- helpers --------------------------------------------------------------- */


static int valid_request_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 8 || n > 64)
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == ':' || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* Trimmed copy of s (caller frees), or NULL. */
static char *trimmed(const char *s)
{
    if (!s)
        return NULL;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* ---- request bodies ------------------------------------------------------------ */

int cl_chat_create_body(const cJSON *body, int64_t *project_id, char **title, cl_body_err *e)
{
    const cJSON *pid = cJSON_GetObjectItem(body, "project_id");
    const cJSON *t = cJSON_GetObjectItem(body, "title");
    *title = cJSON_IsString(t) ? trimmed(t->valuestring) : NULL;
    *project_id = cl_json_id(pid);
    if (!*project_id)
        return cl_body_field(e, 422, "project_id", "Choose one of your projects");
    if (t && !cJSON_IsNull(t) && (!*title || utf8_len(*title) > MAX_TITLE))
        return cl_body_field(e, 422, "title", "title must be text of at most 120 characters");
    return 0;
}

int cl_chat_rename_body(const cJSON *body, char **title, cl_body_err *e)
{
    const cJSON *t = cJSON_GetObjectItem(body, "title");
    *title = cJSON_IsString(t) ? trimmed(t->valuestring) : NULL;
    if (!*title || !**title || utf8_len(*title) > MAX_TITLE)
        return cl_body_field(e, 422, "title", "Give the conversation a title of 1 to 120 characters");
    return 0;
}

int cl_chat_message_body(const cJSON *body, cl_chat_message_in *out, cl_body_err *e)
{
    out->mode = cJSON_GetStringValue(cJSON_GetObjectItem(body, "mode"));
    out->request_id = cJSON_GetStringValue(cJSON_GetObjectItem(body, "request_id"));
    out->content = trimmed(cJSON_GetStringValue(cJSON_GetObjectItem(body, "content")));
    if (!out->mode)
        out->mode = "chat";
    if (!cl_chat_valid_mode(out->mode))
        return cl_body_field(e, 422, "mode", "mode must be chat, generate_copy or generate_video");
    if (!out->content || !*out->content || utf8_len(out->content) > MAX_CONTENT)
        return cl_body_field(e, 422, "content", "Write a message of 1 to 4000 characters");
    if (!valid_request_id(out->request_id))
        return cl_body_field(e, 422, "request_id",
                             "request_id must be 8-64 characters of letters, digits, : _ - (one per message)");
    return 0;
}

/* ---- conversation JSON ------------------------------------------------------- */

/* The conversation as the API shows it: plain columns, the times formatted by
   the host. The message count and the preview are stored on the row
   (migration 0030: a trigger on messages keeps them, in the message's own
   transaction), and so is the project's name (migration 0033: set with the
   project, kept on a rename), so a list is one scan of conversations. */
#define CONV_SQL                                                                                             \
    "SELECT c.id, c.project_id, c.project_name, c.title, c.title_edited, c.created_at, c.updated_at,"       \
    "       c.preview, c.message_count"                                                                      \
    "  FROM conversations c"

/* Column col of row i as it is (Postgres' digits of an integer). */
static int put_raw(cl_buf *b, const PGresult *r, int i, int col)
{
    return cl_buf_append(b, PQgetvalue(r, i, col), (size_t)PQgetlength(r, i, col));
}

/* Row i of CONV_SQL as the API's conversation object, appended to b. 0 or
   -1 (out of memory). Appends only: this runs for every row of a list. */
static int conv_write(cl_buf *b, const PGresult *r, int i)
{
    int rc = CL_BUF_LIT(b, "{\"id\":") | put_raw(b, r, i, 0);
    rc |= CL_BUF_LIT(b, ",\"project_id\":") | put_raw(b, r, i, 1);
    rc |= CL_BUF_LIT(b, ",\"project_name\":") | cl_buf_json_str(b, PQgetvalue(r, i, 2));
    rc |= CL_BUF_LIT(b, ",\"title\":") | cl_buf_json_str(b, PQgetvalue(r, i, 3));
    rc |= PQgetvalue(r, i, 4)[0] == 't' ? CL_BUF_LIT(b, ",\"title_edited\":true") : CL_BUF_LIT(b, ",\"title_edited\":false");
    rc |= CL_BUF_LIT(b, ",\"created_at\":") | cl_buf_json_pg_time(b, PQgetvalue(r, i, 5));
    rc |= CL_BUF_LIT(b, ",\"updated_at\":") | cl_buf_json_pg_time(b, PQgetvalue(r, i, 6));
    rc |= CL_BUF_LIT(b, ",\"last_activity_at\":") | cl_buf_json_pg_time(b, PQgetvalue(r, i, 6));
    rc |= CL_BUF_LIT(b, ",\"preview\":");
    if (PQgetisnull(r, i, 7)) {
        rc |= CL_BUF_LIT(b, "null");
    } else if (PQgetlength(r, i, 7) <= PREVIEW_CHARS) {
        rc |= cl_buf_json_str(b, PQgetvalue(r, i, 7)); /* short enough in bytes, so in characters */
    } else {
        /* the stored PREVIEW_CHARS + 1 characters cut as the whole text would be */
        char *p = cl_truncate_words(PQgetvalue(r, i, 7), PREVIEW_CHARS);
        rc |= cl_buf_json_str(b, p ? p : "");
        free(p);
    }
    rc |= CL_BUF_LIT(b, ",\"message_count\":") | put_raw(b, r, i, 8) | CL_BUF_LIT(b, "}");
    return rc ? -1 : 0;
}

static cJSON *conv_json(PGresult *r, int i)
{
    cl_buf b = CL_BUF_INIT;
    cJSON *o = conv_write(&b, r, i) == 0 && b.data ? cJSON_Parse(b.data) : NULL;
    cl_buf_free(&b);
    return o ? o : cJSON_CreateObject();
}

/* One conversation of its owner ($1 conversation, $2 user): GET /api/chats/:id
   and the routes that answer with the conversation. */
static const cl_db_stmt conv_one_stmt = {
    "cl_chat_one",
    CONV_SQL " WHERE c.id = $1::bigint AND c.user_id = $2::bigint",
    2,
};

/* The conversation of user u as JSON; NULL when not found (404 set) or on error (500 set). */
static cJSON *load_conv(PGconn *c, const cl_user *u, int64_t id, cl_res *res)
{
    char sid[24], uid[24];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    PGresult *r = cl_db_prepared(c, &conv_one_stmt, (const char *[]){sid, uid});
    cJSON *o = NULL;
    if (!cl_db_ok(r))
        cl_res_db_failed(res, COMP, c, r, "read conversation");
    else if (PQntuples(r) == 0)
        cl_res_error(res, 404, "not_found", "No conversation %s", sid);
    else
        o = conv_json(r, 0);
    PQclear(r);
    return o;
}

/* ---- /api/chats ---------------------------------------------------------------- */

/* GET /api/chats?q=&project_id=&limit= — newest activity first. The plain
   list has a statement of its own: Postgres sets up every expression of a
   statement on each run, the search's subquery included. */
const cl_db_stmt cl_chat_list_stmt = {
    "cl_chat_list",
    CONV_SQL " WHERE c.user_id = $1::bigint ORDER BY c.updated_at DESC, c.id DESC LIMIT $2::int",
    2,
};

const cl_db_stmt cl_chat_search_stmt = {
    "cl_chat_search",
    CONV_SQL " WHERE c.user_id = $1::bigint"
    "   AND ($2::text = '' OR c.title ILIKE $3 ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m"
    "        WHERE m.conversation_id = c.id AND m.content ILIKE $3 ESCAPE '\\'))"
    "   AND (NULLIF($4::text, '')::bigint IS NULL OR c.project_id = NULLIF($4::text, '')::bigint)"
    " ORDER BY c.updated_at DESC, c.id DESC LIMIT $5::int",
    5,
};

/* The list's query into s (cl_chat_list_stmt, or cl_chat_search_stmt with
   a search or a project). 0, or -1 with 400 set. */
static int chats_plan(cl_req *req, cl_res *res, const cl_user *u, cl_read_stmt *s)
{
    char q[256];
    cl_req_query(req, "q", q, sizeof q);
    int64_t project_id = 0;
    int limit_ok = 1;
    int has_project = cl_req_query_id(req, "project_id", &project_id);
    long limit = cl_req_query_long(req, "limit", 50, &limit_ok);
    if (has_project < 0) {
        cl_res_error(res, 400, "invalid_project_id", "project_id must be a project id");
        return -1;
    }
    if (!limit_ok || limit < 1 || limit > 200) {
        cl_res_error(res, 400, "invalid_limit", "limit must be between 1 and 200");
        return -1;
    }
    char *qt = trimmed(q);
    if (!qt) {
        cl_res_error(res, 500, "internal", "out of memory");
        return -1;
    }
    snprintf(s->buf[0], sizeof s->buf[0], "%" PRId64, u->id);
    snprintf(s->buf[1], sizeof s->buf[1], "%s", qt);
    /* ILIKE pattern: the search text with its wildcards escaped. */
    char *pattern = s->buf[2];
    size_t n = 0;
    pattern[n++] = '%';
    for (const char *c = qt; *c && n + 3 < sizeof s->buf[2]; c++) {
        if (*c == '%' || *c == '_' || *c == '\\')
            pattern[n++] = '\\';
        pattern[n++] = *c;
    }
    pattern[n++] = '%';
    pattern[n] = '\0';
    free(qt);
    s->buf[3][0] = '\0';
    if (has_project > 0)
        snprintf(s->buf[3], sizeof s->buf[3], "%" PRId64, project_id);
    snprintf(s->buf[4], sizeof s->buf[4], "%ld", limit);
    s->st = &cl_chat_search_stmt;
    if (!s->buf[1][0] && !s->buf[3][0]) {
        s->st = &cl_chat_list_stmt;
        snprintf(s->buf[1], sizeof s->buf[1], "%ld", limit);
    }
    for (int i = 0; i < s->st->nparams; i++)
        s->params[i] = s->buf[i];
    return 0;
}

/* Written straight into one buffer: no object tree per row. */
static void chats_reply(cl_req *req, cl_res *res, const cl_user *u, const PGresult *r)
{
    (void)u;
    char q[256];
    cl_req_query(req, "q", q, sizeof q);
    char *qt = trimmed(q);
    cl_buf *b = cl_res_json_buf(res, 200, 64 + 384 * (size_t)PQntuples(r));
    int rc = cl_buf_puts(b, "{\"chats\":[");
    for (int i = 0; i < PQntuples(r) && rc == 0; i++)
        rc = (i ? cl_buf_puts(b, ",") : 0) | conv_write(b, r, i);
    rc |= cl_buf_puts(b, "],\"q\":");
    rc |= cl_buf_json_str(b, qt ? qt : "");
    rc |= cl_buf_puts(b, "}");
    if (rc != 0 || !qt)
        cl_res_error(res, 500, "internal", "out of memory");
    free(qt);
}

static const cl_read_route chats_read;

static void list_chats(cl_req *req, cl_res *res)
{
    cl_read_route_blocking(req, res, &chats_read, COMP, "list conversations");
}

static const cl_read_route chats_read = {list_chats, CL_AUTH_PRODUCT, chats_plan, chats_reply, 1};

/* POST /api/chats {project_id, title?} */
static void create_chat(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = req->json; /* CL_AUTH_JSON */
    char *t;
    int64_t project_id;
    cl_body_err be = {0};
    if (cl_chat_create_body(body, &project_id, &t, &be) != 0) {
        cl_res_body_error(res, &be);
    } else {
        char uid[24], project[24];
        snprintf(uid, sizeof uid, "%" PRId64, u->id);
        snprintf(project, sizeof project, "%" PRId64, project_id);
        const char *edited = t && *t ? "true" : "false";
        PGresult *r = cl_res_db_get(
            res, COMP, c,
            "INSERT INTO conversations (user_id, project_id, title, title_edited)"
            " SELECT $1, p.id, $3, $4::boolean FROM projects p WHERE p.id = $2 AND p.owner_id = $1"
            " RETURNING id",
            4, (const char *[]){uid, project, t ? t : "", edited}, "create conversation", "No project %s",
            project);
        if (r) {
            int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            cJSON *o = load_conv(c, u, id, res);
            if (o)
                cl_res_json(res, 201, o);
        }
        PQclear(r);
    }
    free(t);
}

/* GET /api/chats/:id */
static void get_chat(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *o = load_conv(c, u, cl_req_param_id(req, "id"), res);
    if (o)
        cl_res_json(res, 200, o);
}

/* PATCH /api/chats/:id {title} */
static void rename_chat(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = req->json; /* CL_AUTH_JSON */
    char *t;
    cl_body_err be = {0};
    if (cl_chat_rename_body(body, &t, &be) != 0) {
        cl_res_body_error(res, &be);
    } else {
        char sid[24], uid[24];
        snprintf(sid, sizeof sid, "%" PRId64, cl_req_param_id(req, "id"));
        snprintf(uid, sizeof uid, "%" PRId64, u->id);
        PGresult *r =
            cl_res_db_get(res, COMP, c,
                          "UPDATE conversations SET title = $3, title_edited = true"
                          " WHERE id = $1 AND user_id = $2 RETURNING id",
                          3, (const char *[]){sid, uid, t}, "rename conversation", "No conversation %s", sid);
        if (r) {
            cJSON *o = load_conv(c, u, cl_req_param_id(req, "id"), res);
            if (o)
                cl_res_json(res, 200, o);
        }
        PQclear(r);
    }
    free(t);
}

/* DELETE /api/chats/:id — the conversation, its messages and chat jobs.
   Content items it produced stay in the user's library. */
static void delete_chat(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char sid[24], uid[24];
    snprintf(sid, sizeof sid, "%" PRId64, cl_req_param_id(req, "id"));
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    PGresult *r =
        cl_res_db_get(res, COMP, c, "DELETE FROM conversations WHERE id = $1 AND user_id = $2 RETURNING id",
                      2, (const char *[]){sid, uid}, "delete conversation", "No conversation %s", sid);
    if (r)
        cl_res_json_text(res, 200, "{\"deleted\":true}");
    PQclear(r);
}

/* ---- messages ------------------------------------------------------------------ */

static const char *msg_sql =
    "SELECT m.id, m.conversation_id, m.role, m.mode, m.content, m.status, m.card, m.chat_job_id,"
    "       " ISO("m.created_at") ", " ISO("m.updated_at") " FROM messages m";

static cJSON *message_json(PGconn *c, PGresult *r, int i, int64_t user_id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", strtod(PQgetvalue(r, i, 0), NULL));
    cJSON_AddNumberToObject(o, "conversation_id", strtod(PQgetvalue(r, i, 1), NULL));
    const char *role = PQgetvalue(r, i, 2), *mode = PQgetvalue(r, i, 3);
    cJSON_AddStringToObject(o, "role", role);
    cJSON_AddStringToObject(o, "mode", mode);
    cJSON_AddStringToObject(o, "content", PQgetvalue(r, i, 4));
    cJSON_AddStringToObject(o, "status", PQgetvalue(r, i, 5));
    cJSON_AddStringToObject(o, "created_at", PQgetvalue(r, i, 8));
    cJSON_AddStringToObject(o, "updated_at", PQgetvalue(r, i, 9));
    cJSON_AddItemToObject(o, "cost", cl_chat_mode_cost_json(mode));
    int64_t job_id = PQgetisnull(r, i, 7) ? 0 : strtoll(PQgetvalue(r, i, 7), NULL, 10);
    if (job_id)
        cJSON_AddNumberToObject(o, "chat_job_id", (double)job_id);
    else
        cJSON_AddNullToObject(o, "chat_job_id");
    cJSON *job = NULL;
    if (job_id && !strcmp(role, "assistant")) {
        int dberr = 0;
        job = cl_chat_job_json(c, job_id, user_id, &dberr);
    }
    /* The live card while the job runs; the stored one otherwise. */
    cJSON *card = job ? cJSON_GetObjectItem(job, "card") : NULL;
    if (cJSON_IsObject(card))
        cJSON_AddItemToObject(o, "card", cJSON_Duplicate(card, 1));
    else if (!PQgetisnull(r, i, 6)) {
        cJSON *stored = cJSON_Parse(PQgetvalue(r, i, 6));
        cJSON_AddItemToObject(o, "card", stored ? stored : cJSON_CreateNull());
    } else
        cJSON_AddNullToObject(o, "card");
    cJSON_AddItemToObject(o, "chat_job", job ? job : cJSON_CreateNull());
    return o;
}

/* Bring every unfinished chat job of a conversation up to date. */
static void sync_conversation(PGconn *c, const char *conv)
{
    PGresult *r = cl_db_query(c,
                              "SELECT id FROM chat_jobs WHERE conversation_id = $1"
                              " AND status IN ('queued', 'running', 'rendering')",
                              1, (const char *[]){conv});
    for (int i = 0; cl_db_ok(r) && i < PQntuples(r); i++)
        cl_chat_sync(c, strtoll(PQgetvalue(r, i, 0), NULL, 10));
    PQclear(r);
}

/* GET /api/chats/:id/messages — the thread, oldest first, each assistant
   message with its chat job (steps, progress, card, receipts). */
static void list_messages(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t id = cl_req_param_id(req, "id");
    cJSON *conv = load_conv(c, u, id, res);
    if (!conv)
        return;
    char sid[24], lim[16], sql[1024];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(lim, sizeof lim, "%d", THREAD_LIMIT);
    sync_conversation(c, sid);
    snprintf(sql, sizeof sql,
             "SELECT * FROM (%s WHERE m.conversation_id = $1 ORDER BY m.id DESC LIMIT $2) t ORDER BY id", msg_sql);
    PGresult *r = cl_db_query(c, sql, 2, (const char *[]){sid, lim});
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, COMP, c, r, "list messages");
        cJSON_Delete(conv);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "chat", conv);
        cJSON *arr = cJSON_AddArrayToObject(o, "messages");
        for (int i = 0; i < PQntuples(r); i++)
            cJSON_AddItemToArray(arr, message_json(c, r, i, u->id));
        cl_res_json(res, 200, o);
    }
    PQclear(r);
}

/* {user_message, assistant_message, chat_job} of chat job id. */
static cJSON *send_result(PGconn *c, int64_t job_id, int64_t user_id, int replayed)
{
    char sid[24], sql[1024];
    snprintf(sid, sizeof sid, "%" PRId64, job_id);
    snprintf(sql, sizeof sql, "%s WHERE m.chat_job_id = $1 ORDER BY m.id", msg_sql);
    PGresult *r = cl_db_query(c, sql, 1, (const char *[]){sid});
    if (!cl_db_ok(r)) {
        PQclear(r);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *m = message_json(c, r, i, user_id);
        if (!strcmp(PQgetvalue(r, i, 2), "assistant")) {
            cJSON *job = cJSON_DetachItemFromObject(m, "chat_job");
            cJSON_AddItemToObject(m, "chat_job", cJSON_CreateNull());
            cJSON_AddItemToObject(o, "assistant_message", m);
            cJSON_AddItemToObject(o, "chat_job", job);
        } else {
            cJSON_AddItemToObject(o, "user_message", m);
        }
    }
    PQclear(r);
    cJSON_AddBoolToObject(o, "replayed", replayed);
    return o;
}

/* A short title from the first message: one line, cut at a word boundary. */
static char *derive_title(const char *content)
{
    char *flat = strdup(content);
    if (!flat)
        return NULL;
    for (char *p = flat; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    char *t = cl_truncate_words(flat, TITLE_FROM_MESSAGE);
    free(flat);
    return t;
}

/* Free chat limits for user uid, checked inside send_message's transaction
   (under its per-user lock) after the new chat job `job_id` was inserted:
   at most CLIPLOOP_CHAT_FREE_PER_MINUTE free messages in the last minute and
   CLIPLOOP_CHAT_FREE_MAX_QUEUED unanswered ones. 1 with a 429 (Retry-After)
   or 500 set on res, 0 when the message may go. */
static int free_chat_limited(PGconn *c, const char *uid, int64_t job_id, cl_res *res)
{
    char jid[24], per_min[16], max_q[16];
    snprintf(jid, sizeof jid, "%" PRId64, job_id);
    snprintf(per_min, sizeof per_min, "%d", cl_cfg.chat_free_per_minute);
    snprintf(max_q, sizeof max_q, "%d", cl_cfg.chat_free_max_queued);
    PGresult *r = cl_db_query(
        c,
        "SELECT (SELECT ceil(extract(epoch FROM created_at + interval '60 seconds' - now()))::bigint"
        "          FROM chat_jobs WHERE user_id = $1 AND mode = 'chat' AND id <> $2"
        "           AND created_at > now() - interval '60 seconds'"
        "         ORDER BY created_at DESC OFFSET $3::int - 1 LIMIT 1),"
        "       (SELECT count(*) FROM chat_jobs WHERE user_id = $1 AND mode = 'chat' AND id <> $2"
        "           AND status IN ('queued', 'running')) >= $4::int",
        4, (const char *[]){uid, jid, per_min, max_q});
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        cl_res_db_failed(res, COMP, c, r, "free chat limits");
        PQclear(r);
        return 1;
    }
    long wait = PQgetisnull(r, 0, 0) ? 0 : strtol(PQgetvalue(r, 0, 0), NULL, 10);
    int queued = !strcmp(PQgetvalue(r, 0, 1), "t");
    PQclear(r);
    if (wait <= 0 && !queued)
        return 0;
    char ra[24];
    snprintf(ra, sizeof ra, "%ld", wait > 0 ? wait : 5);
    cl_res_header(res, "Retry-After", ra);
    if (wait > 0)
        cl_res_error(res, 429, "rate_limited",
                     "Free chat is limited to %d messages a minute; try again in %ld seconds (generations are not "
                     "limited this way)",
                     cl_cfg.chat_free_per_minute, wait);
    else
        cl_res_error(res, 429, "rate_limited",
                     "%d free messages are still waiting for a reply; send more when they are answered",
                     cl_cfg.chat_free_max_queued);
    return 1;
}

/* The chat.reply job's payload {"chat_job_id": id}, written into out (size
   bytes; "" when out of memory, which the enqueue then refuses). */
static void reply_payload(int64_t id, char *out, int size)
{
    cJSON *o = cJSON_CreateObject();
    if (!cJSON_AddNumberToObject(o, "chat_job_id", (double)id) || !cJSON_PrintPreallocated(o, out, size, 0))
        out[0] = '\0';
    cJSON_Delete(o);
}

/* POST /api/chats/:id/messages {mode, content, request_id} — 202 with the
   user message, the pending assistant message and the chat job; the same
   request_id again answers 200 with what the first request created. */
static void send_message(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = req->json; /* CL_AUTH_JSON */
    cl_chat_message_in in;
    cl_body_err be = {0};
    int bad = cl_chat_message_body(body, &in, &be);
    const char *mode = in.mode, *request_id = in.request_id;
    char *content = in.content;
    char *title = NULL;
    int64_t conv_id = cl_req_param_id(req, "id");
    cJSON *conv = NULL;
    int in_tx = 0;
    if (bad) {
        cl_res_body_error(res, &be);
        goto out;
    }
    if (!(conv = load_conv(c, u, conv_id, res)))
        goto out;

    char uid[24], cid[24], project[24], err[512];
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    snprintf(cid, sizeof cid, "%" PRId64, conv_id);
    snprintf(project, sizeof project, "%.0f", cJSON_GetNumberValue(cJSON_GetObjectItem(conv, "project_id")));
    if (cl_db_begin(c) != 0) {
        cl_res_db_failed(res, COMP, c, NULL, "begin");
        goto out;
    }
    in_tx = 1;
    int free_chat = !strcmp(mode, "chat");
    /* Free chat: one sender per user at a time, so concurrent sends count
       each other (the limits below are checked after the idempotent insert,
       so a resent request_id is answered, never limited). */
    if (free_chat && cl_db_exec(c, "SELECT pg_advisory_xact_lock(16019, hashtext($1))", 1, (const char *[]){uid}, err,
                                sizeof err) != 0) {
        cl_res_db_failed(res, COMP, c, NULL, "lock");
        goto out;
    }
    PGresult *r = cl_db_query(c,
                              "INSERT INTO chat_jobs (conversation_id, user_id, project_id, mode, request_id, prompt)"
                              " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, request_id) DO NOTHING RETURNING id",
                              6, (const char *[]){cid, uid, project, mode, request_id, content});
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, COMP, c, r, "insert chat job");
        PQclear(r);
        goto out;
    }
    if (PQntuples(r) == 0) {
        /* A retried request: answer with what the first one created. */
        PQclear(r);
        cl_db_rollback(c);
        in_tx = 0;
        r = cl_db_query(c, "SELECT id, conversation_id FROM chat_jobs WHERE user_id = $1 AND request_id = $2", 2,
                        (const char *[]){uid, request_id});
        if (!cl_db_ok(r) || PQntuples(r) != 1) {
            cl_res_db_failed(res, COMP, c, r, "read chat job");
        } else if (strtoll(PQgetvalue(r, 0, 1), NULL, 10) != conv_id) {
            cl_res_error(res, 409, "request_id_conflict", "This request_id was already used in another conversation");
        } else {
            cJSON *o = send_result(c, strtoll(PQgetvalue(r, 0, 0), NULL, 10), u->id, 1);
            if (o)
                cl_res_json(res, 200, o);
            else
                cl_res_db_failed(res, COMP, c, NULL, "read chat job");
        }
        PQclear(r);
        goto out;
    }
    int64_t job_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (free_chat && free_chat_limited(c, uid, job_id, res))
        goto out;
    char jid[24], payload[64], key[64];
    snprintf(jid, sizeof jid, "%" PRId64, job_id);
    reply_payload(job_id, payload, sizeof payload);
    snprintf(key, sizeof key, "chat.reply:%" PRId64 ":0", job_id);
    title = derive_title(content);
    int64_t durable = 0;
    const char *pm[] = {cid, uid, mode, content, jid};
    if (cl_db_exec(c,
                   "INSERT INTO messages (conversation_id, user_id, role, mode, content, status, chat_job_id)"
                   " VALUES ($1, $2, 'user', $3, $4, 'done', $5)",
                   5, pm, err, sizeof err) != 0 ||
        cl_db_exec(c,
                   "INSERT INTO messages (conversation_id, user_id, role, mode, content, status, chat_job_id)"
                   " VALUES ($1, $2, 'assistant', $3, '', 'pending', $4)",
                   4, (const char *[]){cid, uid, mode, jid}, err, sizeof err) != 0 ||
        cl_chat_steps_create(c, job_id, mode, err, sizeof err) != 0 ||
        cl_db_exec(c,
                   "UPDATE conversations SET updated_at = now(),"
                   " title = CASE WHEN title = '' AND NOT title_edited THEN $2 ELSE title END WHERE id = $1",
                   2, (const char *[]){cid, title ? title : ""}, err, sizeof err) != 0 ||
        cl_job_enqueue(c, CL_JOB_CHAT_REPLY, payload, key, 0, &durable, NULL, err, sizeof err) != 0) {
        cl_error(COMP, "send message: %s", err);
        cl_res_error(res, 500, "internal", "Could not send your message; nothing was charged");
        goto out;
    }
    char did[24];
    snprintf(did, sizeof did, "%" PRId64, durable);
    if (cl_db_exec(c, "UPDATE chat_jobs SET job_id = $2 WHERE id = $1", 2, (const char *[]){jid, did}, err,
                   sizeof err) != 0 ||
        (free_chat && cl_job_set_priority(c, durable, CL_JOB_PRIORITY_FREE, err, sizeof err) != 0) ||
        cl_db_commit(c) != 0) {
        cl_error(COMP, "send message: %s", err);
        cl_res_error(res, 500, "internal", "Could not send your message; nothing was charged");
        goto out;
    }
    in_tx = 0;
    cJSON *o = send_result(c, job_id, u->id, 0);
    if (o)
        cl_res_json(res, 202, o);
    else
        cl_res_db_failed(res, COMP, c, NULL, "read chat job");
out:
    if (in_tx)
        cl_db_rollback(c);
    free(content);
    free(title);
    cJSON_Delete(conv);
}

/* ---- chat jobs --------------------------------------------------------------- */

static int owns_chat_job(PGconn *c, int64_t id, int64_t user_id, cl_res *res)
{
    char sid[24], uid[24];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    PGresult *r = cl_db_query(c, "SELECT 1 FROM chat_jobs WHERE id = $1 AND user_id = $2", 2,
                              (const char *[]){sid, uid});
    int ok = cl_db_ok(r) && PQntuples(r) == 1;
    if (!cl_db_ok(r))
        cl_res_db_failed(res, COMP, c, r, "read chat job");
    else if (!ok)
        cl_res_error(res, 404, "not_found", "No chat job %s", sid);
    PQclear(r);
    return ok;
}

static void reply_job(PGconn *c, cl_res *res, int64_t id, int64_t user_id, int status, int retried)
{
    int dberr = 0;
    cJSON *job = cl_chat_job_json(c, id, user_id, &dberr);
    if (!job) {
        cl_res_db_failed(res, COMP, c, NULL, "read chat job");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "chat_job", job);
    if (retried >= 0)
        cJSON_AddBoolToObject(o, "retried", retried);
    cl_res_json(res, status, o);
}

/* GET /api/chat-jobs/:id */
static void get_chat_job(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t id = cl_req_param_id(req, "id");
    if (owns_chat_job(c, id, u->id, res)) {
        cl_chat_sync(c, id);
        reply_job(c, res, id, u->id, 200, -1);
    }
}

/* POST /api/chat-jobs/:id/retry — a failed chat job runs again as the same
   chat job. A failure whose generation charge was refunded moves the ledger
   reference on (":r<n>"), so the retry pays once and the refunded attempt
   stays refunded; anything charged and kept is replayed, never charged
   again. A job that is not failed is returned as it is (retried: false). */
static void retry_chat_job(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t id = cl_req_param_id(req, "id");
    if (!owns_chat_job(c, id, u->id, res))
        return;
    cl_chat_sync(c, id); /* a render that failed meanwhile makes the job retryable */
    char sid[24], uid[24], err[512];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    if (cl_db_begin(c) != 0) {
        cl_res_db_failed(res, COMP, c, NULL, "begin");
        return;
    }
    PGresult *r = cl_db_query(c, "SELECT status, ref_seq, retries FROM chat_jobs WHERE id = $1 FOR UPDATE", 1,
                              (const char *[]){sid});
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        cl_res_db_failed(res, COMP, c, r, "lock chat job");
        PQclear(r);
        cl_db_rollback(c);
        return;
    }
    int failed = !strcmp(PQgetvalue(r, 0, 0), "failed");
    int ref_seq = atoi(PQgetvalue(r, 0, 1));
    int retries = atoi(PQgetvalue(r, 0, 2)) + 1;
    PQclear(r);
    if (!failed) {
        cl_db_rollback(c);
        reply_job(c, res, id, u->id, 200, 0);
        return;
    }
    char ref[64], refund_key[96];
    cl_chat_ref(id, ref_seq, ref, sizeof ref);
    snprintf(refund_key, sizeof refund_key, "refund:%s:copy", ref);
    r = cl_db_query(c, "SELECT 1 FROM credit_ledger_entries WHERE user_id = $1 AND reference_key = $2", 2,
                    (const char *[]){uid, refund_key});
    int refunded = cl_db_ok(r) && PQntuples(r) == 1;
    PQclear(r);
    if (refunded)
        ref_seq++;
    char seq_s[16], payload[64], key[64], tries[16];
    snprintf(seq_s, sizeof seq_s, "%d", ref_seq);
    snprintf(tries, sizeof tries, "%d", retries);
    reply_payload(id, payload, sizeof payload);
    snprintf(key, sizeof key, "chat.reply:%" PRId64 ":%d", id, retries);
    int64_t durable = 0;
    int ok = cl_db_exec(c,
                        "UPDATE chat_jobs SET status = 'queued', error_code = NULL, error_message = NULL,"
                        " finished_at = NULL, retries = $2, ref_seq = $3, updated_at = now() WHERE id = $1",
                        3, (const char *[]){sid, tries, seq_s}, err, sizeof err) == 0 &&
             cl_db_exec(c,
                        "UPDATE chat_job_steps SET status = 'pending', detail = NULL, started_at = NULL,"
                        " finished_at = NULL WHERE chat_job_id = $1 AND status IN ('failed', 'running')",
                        1, (const char *[]){sid}, err, sizeof err) == 0 &&
             cl_db_exec(c,
                        "UPDATE messages SET status = 'pending', content = '', updated_at = now()"
                        " WHERE chat_job_id = $1 AND role = 'assistant'",
                        1, (const char *[]){sid}, err, sizeof err) == 0 &&
             cl_job_enqueue(c, CL_JOB_CHAT_REPLY, payload, key, 0, &durable, NULL, err, sizeof err) == 0;
    if (ok) {
        char did[24];
        snprintf(did, sizeof did, "%" PRId64, durable);
        /* A free chat reply queues behind paid work, as when it was sent. */
        ok = cl_db_exec(c,
                        "UPDATE jobs SET priority = $3 WHERE id = $2"
                        "   AND EXISTS (SELECT 1 FROM chat_jobs WHERE id = $1 AND mode = 'chat')",
                        3, (const char *[]){sid, did, "-1"}, err, sizeof err) == 0;
        ok = ok &&
             cl_db_exec(c, "UPDATE chat_jobs SET job_id = $2 WHERE id = $1", 2, (const char *[]){sid, did}, err,
                        sizeof err) == 0 &&
             cl_db_commit(c) == 0;
    }
    if (!ok) {
        cl_error(COMP, "retry chat job %" PRId64 ": %s", id, err);
        cl_db_rollback(c);
        cl_res_error(res, 500, "internal", "Could not retry; nothing was charged");
    } else {
        reply_job(c, res, id, u->id, 202, 1);
    }
}

static const cl_user_route signed_in_routes[] = {
    {"POST", "/api/chats", create_chat, CL_AUTH_PRODUCT | CL_AUTH_JSON, 0},
    {"GET", "/api/chats/:id", get_chat, CL_AUTH_PRODUCT, 0},
    {"PATCH", "/api/chats/:id", rename_chat, CL_AUTH_PRODUCT | CL_AUTH_JSON, 0},
    {"DELETE", "/api/chats/:id", delete_chat, CL_AUTH_PRODUCT, 0},
    {"GET", "/api/chats/:id/messages", list_messages, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/chats/:id/messages", send_message, CL_AUTH_PRODUCT | CL_AUTH_JSON, 0},
    {"GET", "/api/chat-jobs/:id", get_chat_job, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/chat-jobs/:id/retry", retry_chat_job, CL_AUTH_PRODUCT, 0},
};

void cl_chat_register_routes(void)
{
    cl_route_read("/api/chats", &chats_read);
    CL_ROUTE_USER_TABLE(signed_in_routes);
}
