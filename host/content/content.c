/*
 * content.c — content item routes, the render request, and asset downloads.
 * See content.h for the routes; render_job.c holds the worker side.
 */
#include "content/content.h"
#include "content/soundtrack.h"
#include "auth/auth.h"
#include "core/config.h"
#include "core/log.h"
#include "create/create.h"
#include "credits/credits.h"
#include "cycles/limits.h"
#include "db/db.h"
#include "http/http.h"
#include "http/loopdb.h"
#include "jobs/jobs.h"
#include "storage/storage.h"
#include "http/db_reply.h"
#include "db/db_row.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP "content"


/* ---- JSON of an item --------------------------------------------------- */

/* The columns item_json reads, in order (content.h: CL_CONTENT_ITEM_SELECT). */
#define ITEM_SELECT CL_CONTENT_ITEM_SELECT

static const char *item_sql = ITEM_SELECT " WHERE i.id = $1 AND i.user_id = $2";

/* The columns of item_sql a content item's JSON shows, in order (the render
   job, column 10 and 18..21, is an object of its own). */
static const cl_db_json_col item_cols[] = {
    {"id", 0, CL_COL_NUM},
    {"project_id", 1, CL_COL_NUM},
    {"parent_id", 2, CL_COL_NUM_OR_NULL},
    {"source", 3, CL_COL_STR},
    {"channel", 4, CL_COL_STR},
    {"title", 5, CL_COL_STR},
    {"brief", 6, CL_COL_JSON_OR_NULL},
    {"draft", 7, CL_COL_JSON_OR_NULL},
    {"status", 8, CL_COL_STR},
    {"render_seq", 9, CL_COL_NUM},
    {"render_error", 11, CL_COL_STR_OR_NULL},
    {"publish_strategy", 12, CL_COL_STR},
    {"publish_status", 13, CL_COL_STR},
    {"manual_status", 14, CL_COL_STR_OR_NULL},
    {"tracking_slug", 15, CL_COL_STR_OR_NULL},
    {"created_at", 16, CL_COL_STR},
    {"updated_at", 17, CL_COL_STR},
};
static const cl_db_json_col render_job_cols[] = {
    {"id", 10, CL_COL_NUM},
    {"status", 18, CL_COL_STR_OR_NULL},
    {"progress_done", 19, CL_COL_NUM_OR_NULL},
    {"progress_total", 20, CL_COL_NUM_OR_NULL},
    {"attempts", 21, CL_COL_NUM_OR_NULL},
};
/* The schedule and the publishing bookkeeping (host/publishing, migration 0011). */
static const cl_db_json_col publish_cols[] = {
    {"cycle_id", 22, CL_COL_NUM_OR_NULL},        {"position", 23, CL_COL_NUM_OR_NULL},
    {"scheduled_at", 24, CL_COL_STR_OR_NULL},    {"published_at", 25, CL_COL_STR_OR_NULL},
    {"publish_error", 26, CL_COL_STR_OR_NULL},   {"publish_attempt", 27, CL_COL_NUM},
    {"publish_job_id", 28, CL_COL_NUM_OR_NULL},  {"publisher", 29, CL_COL_STR_OR_NULL},
    {"remote_media_id", 30, CL_COL_STR_OR_NULL}, {"permalink", 31, CL_COL_STR_OR_NULL},
    {"exported_at", 32, CL_COL_STR_OR_NULL},     {"posted_at", 33, CL_COL_STR_OR_NULL},
    {"posted_url", 34, CL_COL_STR_OR_NULL},
};

/* Build the item object from a row of item_sql. */
cJSON *cl_content_item_row_json(PGresult *r, int row)
{
    cJSON *o = cJSON_CreateObject();
    cl_db_row_add_json(o, r, row, item_cols, CL_DB_NCOLS(item_cols));
    cl_db_row_add_object(o, "render_job", r, row, 10, render_job_cols, CL_DB_NCOLS(render_job_cols));
    cl_db_row_add_json(o, r, row, publish_cols, CL_DB_NCOLS(publish_cols));
    /* The owner's audio choice (migration 0029, docs/audio.md). */
    cJSON *audio = cJSON_Parse(PQgetvalue(r, row, 35));
    cJSON_AddItemToObject(o, "audio", audio ? audio : cJSON_CreateObject());
    return o;
}

/* Attach the item's assets (newest render first) as "assets". 0 or -1. */
int cl_content_add_assets(PGconn *c, cJSON *item, const char *item_id)
{
    const char *p[] = {item_id};
    PGresult *r = cl_db_query(c, "SELECT " CL_CONTENT_ASSETS_JSON " FROM (SELECT $1::bigint AS id) i", 1, p);
    cJSON *arr = NULL;
    if (cl_db_ok(r) && PQntuples(r) == 1)
        arr = PQgetisnull(r, 0, 0) ? cJSON_CreateArray() : cJSON_Parse(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return -1;
    }
    cJSON_AddItemToObject(item, "assets", arr);
    return 0;
}

/* ---- routes --------------------------------------------------------------- */

static int valid_channel(const char *ch)
{
    return ch && (!strcmp(ch, "instagram") || !strcmp(ch, "tiktok") || !strcmp(ch, "whatsapp"));
}

int cl_content_item_body(const cJSON *body, cl_content_item_in *out, cl_body_err *e)
{
    const cJSON *pid = cJSON_GetObjectItem(body, "project_id");
    const char *channel = cJSON_GetStringValue(cJSON_GetObjectItem(body, "channel"));
    const cJSON *draft = cJSON_GetObjectItem(body, "draft");
    const cJSON *brief = cJSON_GetObjectItem(body, "brief");
    const cJSON *title = cJSON_GetObjectItem(body, "title");
    memset(out, 0, sizeof *out);
    out->project_id = cl_json_id(pid);
    if (!out->project_id)
        return cl_body_field(e, 422, "project_id", "project_id must be the id of one of your projects");
    if (!valid_channel(channel))
        return cl_body_field(e, 422, "channel", "channel must be instagram, tiktok or whatsapp");
    if (!cJSON_IsObject(draft))
        return cl_body_field(e, 422, "draft", "draft must be a promo draft object");
    if (brief && !cJSON_IsObject(brief) && !cJSON_IsNull(brief))
        return cl_body_field(e, 422, "brief", "brief must be an object");
    if (title && (!cJSON_IsString(title) || strlen(title->valuestring) > 200))
        return cl_body_field(e, 422, "title", "title must be text of at most 200 characters");
    /* Only the validated, normalized draft is stored: unknown keys of the
       caller's object are dropped. */
    char why[256] = "";
    char *raw = cJSON_PrintUnformatted(draft);
    cJSON *checked = raw ? cl_draft_validate(raw, why, sizeof why) : NULL;
    free(raw);
    if (!checked)
        return cl_body_field(e, 422, "draft", why[0] ? why : "draft is not a valid promo draft");
    out->draft_text = cJSON_PrintUnformatted(checked);
    cJSON_Delete(checked);
    if (!out->draft_text)
        return cl_body_fail(e, 500, "internal", "out of memory");
    out->channel = channel;
    out->brief = cJSON_IsObject(brief) ? brief : NULL;
    out->title = cJSON_IsString(title) ? title->valuestring : "";
    return 0;
}

/* POST /api/content-items — store a draft as a content item of one of the
   user's projects. Free: the draft was paid for when it was generated. */
static void create_item(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = req->json; /* CL_AUTH_JSON */
    cl_content_item_in in;
    cl_body_err be = {0};
    if (cl_content_item_body(body, &in, &be) != 0) {
        free(in.draft_text);
        cl_res_body_error(res, &be);
        return;
    }
    int64_t project_id = in.project_id;
    const char *channel = in.channel;
    char *draft_text = in.draft_text, *brief_text = NULL;
    brief_text = in.brief ? cJSON_PrintUnformatted(in.brief) : NULL;
    char uid[24], project[24];
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    snprintf(project, sizeof project, "%" PRId64, project_id);
    const char *p[] = {uid, project, channel, draft_text, brief_text, in.title};
    /* The project must be the user's: the INSERT selects it by owner, so
       another user's project id inserts nothing (404, not 403). */
    PGresult *r =
        cl_res_db_get(res, COMP, c,
                      "INSERT INTO content_items (user_id, project_id, channel, draft, brief, title)"
                      " SELECT $1, p.id, $3, $4::jsonb, $5::jsonb, $6 FROM projects p"
                      "  WHERE p.id = $2 AND p.owner_id = $1 RETURNING id",
                      6, p, "insert content item", "No project %s", project);
    if (r) {
        char id[24];
        snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        const char *q[] = {id, uid};
        r = cl_db_query(c, item_sql, 2, q);
        if (cl_db_ok(r) && PQntuples(r) == 1) {
            cJSON *item = cl_content_item_row_json(r, 0);
            cl_content_add_assets(c, item, id);
            cl_res_json(res, 201, item);
        } else {
            cl_res_db_failed(res, COMP, c, r, "read content item");
        }
    }
    PQclear(r);
    free(draft_text);
    free(brief_text);
}

/*
 * The ILIKE pattern "%text%" of a search text with its wildcards escaped
 * (ESCAPE '\\'), trimmed of surrounding blanks; "" when nothing is left.
 */
static void like_pattern(const char *q, char *out, size_t size)
{
    while (*q == ' ' || *q == '\t')
        q++;
    size_t len = strlen(q);
    while (len && (q[len - 1] == ' ' || q[len - 1] == '\t'))
        len--;
    size_t n = 0;
    if (len == 0 || size < 4) {
        out[0] = '\0';
        return;
    }
    out[n++] = '%';
    for (size_t i = 0; i < len && n + 3 < size; i++) {
        if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
            out[n++] = '\\';
        out[n++] = q[i];
    }
    out[n++] = '%';
    out[n] = '\0';
}

/*
 * GET /api/content-items?limit=N&q=text — newest first, each item as the
 * studio's lists show it (a summary: no brief, no draft, and of the assets
 * only the thumbnails of the newest render that has one; the item route
 * has everything). q matches the title, the brief's request (the prompt),
 * offer and product, and the draft's hook, caption and CTA
 * (case-insensitive substring).
 *
 * Plain columns, one row per item, written as JSON by the host: Postgres
 * building the objects cost several times the statement itself
 * (docs/scale.md). The thumbnails are stored on the item (list_thumb_*,
 * migration 0031: a trigger on content_assets keeps them in the
 * transaction that stores a render's assets), so the page is the first rows
 * of one index range (content_items_user_list) and the render job's row.
 */
#define ITEMS_LIST_SQL(filter)                                                                               \
    "SELECT i.id, i.project_id, i.parent_id, i.source, i.channel, i.title, i.status, i.render_seq,"          \
    " i.publish_strategy, i.publish_status, i.manual_status, i.tracking_slug, i.cycle_id, i.position,"       \
    " i.scheduled_at, i.published_at, i.publish_error, i.permalink, i.posted_at, i.posted_url,"             \
    " i.created_at, i.updated_at, i.render_job_id, j.status, j.progress_done, j.progress_total, j.attempts," \
    " i.list_thumb_seq, i.list_thumb_id, i.list_thumb_small_id"                                              \
    " FROM content_items i LEFT JOIN jobs j ON j.id = i.render_job_id"                                      \
    " WHERE i.user_id = $1::bigint" filter " ORDER BY i.created_at DESC, i.id DESC LIMIT $2::int"

/* Without a search ($1 user, $2 limit): what the studio's pages ask for.
   A statement of its own, since Postgres sets up every expression of a
   statement on each run, the search's seven ILIKEs included. */
const cl_db_stmt cl_content_list_stmt = {"cl_content_list", ITEMS_LIST_SQL(""), 2};

/* With a search ($3: the ILIKE pattern). */
const cl_db_stmt cl_content_search_stmt = {
    "cl_content_search",
    ITEMS_LIST_SQL(" AND (i.title ILIKE $3 ESCAPE '\\'"
                   "      OR i.brief->>'request' ILIKE $3 ESCAPE '\\'"
                   "      OR i.brief->>'offer' ILIKE $3 ESCAPE '\\'"
                   "      OR i.brief->>'product' ILIKE $3 ESCAPE '\\'"
                   "      OR i.draft->>'hook' ILIKE $3 ESCAPE '\\'"
                   "      OR i.draft->>'caption' ILIKE $3 ESCAPE '\\'"
                   "      OR i.draft->>'cta' ILIKE $3 ESCAPE '\\')"),
    3,
};

/* A timestamptz column as the API shows it (cl_buf_json_pg_time), or null. */
static int put_time(cl_buf *b, const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? cl_buf_puts(b, "null") : cl_buf_json_pg_time(b, PQgetvalue(r, row, col));
}

static int put_str(cl_buf *b, const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? cl_buf_append(b, "null", 4) : cl_buf_json_str(b, PQgetvalue(r, row, col));
}

/* An integer column (Postgres' digits are JSON as they are), or null. */
static int put_num(cl_buf *b, const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? cl_buf_append(b, "null", 4)
                                    : cl_buf_append(b, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

/* The page's rows as {"items":[...]}: one object per item, the stored
   thumbnails of its newest render as "assets". Appends only (no printf,
   no strlen of a key): this runs for every row of every list request. */
static int items_write(cl_buf *b, const PGresult *r)
{
#define F(k, col, put) {k, sizeof(k) - 1, col, put}
    static const struct {
        const char *key;
        size_t len;
        int col;
        int (*put)(cl_buf *, const PGresult *, int, int);
    } fields[] = {
        F("{\"id\":", 0, put_num), F(",\"project_id\":", 1, put_num), F(",\"parent_id\":", 2, put_num),
        F(",\"source\":", 3, put_str), F(",\"channel\":", 4, put_str), F(",\"title\":", 5, put_str),
        F(",\"status\":", 6, put_str), F(",\"render_seq\":", 7, put_num),
        F(",\"publish_strategy\":", 8, put_str), F(",\"publish_status\":", 9, put_str),
        F(",\"manual_status\":", 10, put_str), F(",\"tracking_slug\":", 11, put_str),
        F(",\"cycle_id\":", 12, put_num), F(",\"position\":", 13, put_num),
        F(",\"scheduled_at\":", 14, put_time), F(",\"published_at\":", 15, put_time),
        F(",\"publish_error\":", 16, put_str), F(",\"permalink\":", 17, put_str),
        F(",\"posted_at\":", 18, put_time), F(",\"posted_url\":", 19, put_str),
        F(",\"created_at\":", 20, put_time), F(",\"updated_at\":", 21, put_time),
    };
#undef F
    static const char *const thumb_kind[] = {"thumbnail", "thumbnail_small"};
    int rc = CL_BUF_LIT(b, "{\"items\":[");
    int n = PQntuples(r);
    for (int i = 0; i < n && rc == 0; i++) {
        rc |= i ? CL_BUF_LIT(b, ",") : 0;
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
            rc |= cl_buf_append(b, fields[f].key, fields[f].len) | fields[f].put(b, r, i, fields[f].col);
        if (PQgetisnull(r, i, 22)) {
            rc |= CL_BUF_LIT(b, ",\"render_job\":null");
        } else {
            rc |= CL_BUF_LIT(b, ",\"render_job\":{\"id\":") | put_num(b, r, i, 22);
            rc |= CL_BUF_LIT(b, ",\"status\":") | put_str(b, r, i, 23);
            rc |= CL_BUF_LIT(b, ",\"progress_done\":") | put_num(b, r, i, 24);
            rc |= CL_BUF_LIT(b, ",\"progress_total\":") | put_num(b, r, i, 25);
            rc |= CL_BUF_LIT(b, ",\"attempts\":") | put_num(b, r, i, 26) | CL_BUF_LIT(b, "}");
        }
        /* the newest render's thumbnails, in the order of their kind */
        rc |= CL_BUF_LIT(b, ",\"assets\":[");
        for (int k = 0, first = 1; k < 2 && !PQgetisnull(r, i, 27); k++) {
            if (PQgetisnull(r, i, 28 + k))
                continue;
            rc |= (first ? 0 : CL_BUF_LIT(b, ",")) | CL_BUF_LIT(b, "{\"id\":") | put_num(b, r, i, 28 + k);
            rc |= CL_BUF_LIT(b, ",\"kind\":\"") | cl_buf_puts(b, thumb_kind[k]);
            rc |= CL_BUF_LIT(b, "\",\"render_seq\":") | put_num(b, r, i, 27);
            rc |= CL_BUF_LIT(b, ",\"url\":\"/api/assets/") | put_num(b, r, i, 28 + k) | CL_BUF_LIT(b, "\"}");
            first = 0;
        }
        rc |= CL_BUF_LIT(b, "]}");
    }
    rc |= CL_BUF_LIT(b, "]}");
    return rc ? -1 : 0;
}

/* The page's query: limit and search pattern into s (p[0] is the user id).
   0, or -1 with 400 set. */
static int items_plan(cl_req *req, cl_res *res, const cl_user *u, cl_read_stmt *s)
{
    int ok_num;
    long limit = cl_req_query_long(req, "limit", 20, &ok_num);
    if (!ok_num || limit < 1 || limit > 100) {
        cl_res_error(res, 400, "invalid_limit", "limit must be between 1 and 100");
        return -1;
    }
    char q[256] = "";
    cl_req_query(req, "q", q, sizeof q);
    like_pattern(q, s->buf[2], sizeof s->buf[2]);
    snprintf(s->buf[0], sizeof s->buf[0], "%" PRId64, u->id);
    snprintf(s->buf[1], sizeof s->buf[1], "%ld", limit);
    s->st = s->buf[2][0] ? &cl_content_search_stmt : &cl_content_list_stmt;
    for (int i = 0; i < s->st->nparams; i++)
        s->params[i] = s->buf[i];
    return 0;
}

static void items_reply(cl_req *req, cl_res *res, const cl_user *u, const PGresult *r)
{
    (void)req;
    (void)u;
    if (items_write(cl_res_json_buf(res, 200, 64 + 640 * (size_t)PQntuples(r)), r) != 0)
        cl_res_error(res, 500, "internal", "out of memory");
}

static const cl_read_route items_read;

static void list_items(cl_req *req, cl_res *res)
{
    cl_read_route_blocking(req, res, &items_read, COMP, "list content items");
}

static const cl_read_route items_read = {list_items, CL_AUTH_PRODUCT, items_plan, items_reply, 1};

/* GET /api/content-items/:id */
static void get_item(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t id = cl_req_param_id(req, "id");
    char sid[24], uid[24];
    const char *p[] = {cl_db_id(sid, id), cl_db_id(uid, u->id)};
    PGresult *r = cl_res_db_get(res, COMP, c, item_sql, 2, p, "read content item", "No content item %s",
                                cl_req_param(req, "id"));
    if (r) {
        cJSON *item = cl_content_item_row_json(r, 0);
        cl_content_add_assets(c, item, sid);
        cl_res_json(res, 200, item);
    }
    PQclear(r);
}

/*
 * DELETE /api/content-items/:id — one of the user's own outputs, when nothing
 * is in flight for it: not rendering, not scheduled or publishing, not
 * published (a published post keeps its record so its tracking link keeps
 * working), not part of a week's pack (packs replace posts by regenerating).
 * The row goes in one statement (assets, click rows and rollups cascade; the
 * ledger keeps its entries, it is immutable); the rendered files go after.
 */
static void delete_item(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t id = cl_req_param_id(req, "id");
    char sid[24], uid[24], err[256];
    const char *p[] = {cl_db_id(sid, id), cl_db_id(uid, u->id)};
    PGresult *r =
        cl_res_db_get(res, COMP, c,
                      "SELECT status, publish_status, cycle_id IS NOT NULL,"
                      " coalesce((SELECT json_agg(json_build_array(storage, path)) FROM content_assets"
                      "   WHERE content_item_id = i.id), '[]')"
                      " FROM content_items i WHERE id = $1 AND user_id = $2",
                      2, p, "read content item", "No content item %s", cl_req_param(req, "id"));
    if (!r)
        return;
    const char *status = PQgetvalue(r, 0, 0), *pub = PQgetvalue(r, 0, 1);
    const char *why = strcmp(status, "rendering") == 0 ? "it is rendering; wait for the render to finish"
                      : strcmp(pub, "scheduled") == 0 ? "it is scheduled; unschedule it first"
                      : strcmp(pub, "publishing") == 0 ? "it is being published"
                      : strcmp(pub, "published") == 0 ? "it is published, and its record keeps its tracking link working"
                      : strcmp(PQgetvalue(r, 0, 2), "t") == 0 ? "it belongs to a week's pack; regenerate it instead"
                                                              : NULL;
    if (why) {
        cl_res_error(res, 409, "item_in_use", "This output cannot be deleted: %s", why);
        PQclear(r);
        return;
    }
    cJSON *paths = cJSON_Parse(PQgetvalue(r, 0, 3));
    PQclear(r);
    /* the state is checked again by the statement itself (a render may have started meanwhile) */
    r = cl_db_query(c,
                    "DELETE FROM content_items WHERE id = $1 AND user_id = $2 AND status <> 'rendering'"
                    " AND publish_status NOT IN ('scheduled', 'publishing', 'published') AND cycle_id IS NULL",
                    2, p);
    int deleted = cl_db_ok(r) && atoi(PQcmdTuples(r)) == 1;
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, err, sizeof err);
        cl_error(COMP, "delete content item %s: %s", sid, err);
        cl_res_error(res, 500, "internal", "Could not delete; nothing was changed");
    } else if (!deleted) {
        cl_res_error(res, 409, "item_in_use", "This output changed while deleting it; reload and try again");
    } else {
        /* the files, through the backend that holds each (its empty folders go too) */
        const cJSON *pair;
        cJSON_ArrayForEach(pair, paths)
        {
            const char *backend = cJSON_GetStringValue(cJSON_GetArrayItem(pair, 0));
            const char *key = cJSON_GetStringValue(cJSON_GetArrayItem(pair, 1));
            char serr[512];
            if (backend && key && cl_storage_remove(backend, key, serr, sizeof serr) != 0)
                cl_warn(COMP, "%s", serr);
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "deleted", 1);
        cJSON_AddNumberToObject(o, "id", (double)id);
        cl_res_json(res, 200, o);
    }
    cJSON_Delete(paths);
    PQclear(r);
}

/*
 * Request a render of one of u's items, in ONE transaction: lock the item,
 * bump its render sequence, charge one render credit under the key
 * "content_item:<id>:render:<seq>", enqueue the render job under the same
 * key, and mark the item rendering. While a render is running the request
 * returns that render (already = 1, nothing charged), so a double click never
 * pays twice; insufficient credits roll everything back (402).
 */
int cl_content_request_render(PGconn *c, const cl_user *u, int64_t id, const char *action, cl_render_order *out,
                              cl_res *res)
{
    return cl_content_request_render_keyed(c, u, id, action, NULL, out, res);
}

/* What a render request changes on the item with its charge: only when the
   charge goes through (a refused or failed request leaves the item as it was). */
typedef struct {
    const char *template_name; /* the draft's "template", or NULL */
    const char *audio_json;    /* content_items.audio (a checked choice), or NULL */
} render_change;

static int request_render(PGconn *c, const cl_user *u, int64_t id, const char *action, const char *charge_key,
                          const render_change *chg, cl_render_order *out, cl_res *res);

int cl_content_request_render_keyed(PGconn *c, const cl_user *u, int64_t id, const char *action,
                                    const char *charge_key, cl_render_order *out, cl_res *res)
{
    return request_render(c, u, id, action, charge_key, &(render_change){0}, out, res);
}

int cl_content_request_render_template(PGconn *c, const cl_user *u, int64_t id, const char *template_name,
                                       cl_render_order *out, cl_res *res)
{
    return request_render(c, u, id, NULL, NULL, &(render_change){.template_name = template_name}, out, res);
}

/* Write chg on item sid (inside the render's transaction). 0, or -1 with err. */
static int apply_change(PGconn *c, const char *sid, const render_change *chg, char *err, size_t errlen)
{
    if (chg->template_name && cl_db_exec(c,
                                         "UPDATE content_items SET draft = jsonb_set(draft, '{template}',"
                                         " to_jsonb($2::text)) WHERE id = $1",
                                         2, (const char *[]){sid, chg->template_name}, err, errlen) != 0)
        return -1;
    if (chg->audio_json && cl_db_exec(c, "UPDATE content_items SET audio = $2::jsonb WHERE id = $1", 2,
                                      (const char *[]){sid, chg->audio_json}, err, errlen) != 0)
        return -1;
    return 0;
}

static int request_render(PGconn *c, const cl_user *u, int64_t id, const char *action, const char *charge_key,
                          const render_change *chg, cl_render_order *out, cl_res *res)
{
    char sid[24], uid[24], err[512];
    memset(out, 0, sizeof *out);
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    /* Make sure this month's grant is there before the affordability check. */
    if (cl_credits_grant_monthly(c, u->id, u->plan, NULL, err, sizeof err) < 0)
        cl_warn(COMP, "monthly grant for user %" PRId64 " failed: %s", u->id, err);
    if (cl_db_begin(c) != 0) {
        cl_res_db_failed(res, COMP, c, NULL, "begin");
        return -1;
    }
    const char *p[] = {sid, uid};
    PGresult *r = cl_db_query(c,
                              "SELECT status, render_seq, render_job_id FROM content_items"
                              " WHERE id = $1 AND user_id = $2 FOR UPDATE",
                              2, p);
    int ok = 0;
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, COMP, c, r, "lock content item");
    } else if (PQntuples(r) == 0) {
        cl_res_error(res, 404, "not_found", "No content item %s", sid);
    } else if (strcmp(PQgetvalue(r, 0, 0), "rendering") == 0 && !PQgetisnull(r, 0, 2)) {
        out->already = 1;
        out->job_id = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        ok = 1;
    } else {
        int seq = atoi(PQgetvalue(r, 0, 1)) + 1;
        char key[CL_REFERENCE_KEY_MAX + 1], payload[512];
        if (charge_key)
            snprintf(key, sizeof key, "%s", charge_key);
        else
            snprintf(key, sizeof key, "content_item:%" PRId64 ":render:%d", id, seq);
        /* A template switch or audio choice is part of this render: it stays only if the render is paid for. */
        int rc = apply_change(c, sid, chg, err, sizeof err) != 0
                     ? CL_CREDITS_ERROR
                     : cl_credits_charge(c, u->id, action ? action : CL_ACTION_CONTENT_RENDER, key, &out->receipt,
                                         err, sizeof err);
        if (rc != CL_CREDITS_OK) {
            cl_credits_reply_error(res, rc, &out->receipt, err);
        } else {
            snprintf(payload, sizeof payload,
                     "{\"content_item_id\":%" PRId64 ",\"render_seq\":%d,\"user_id\":%" PRId64
                     ",\"charge_key\":\"%s\"}",
                     id, seq, u->id, key);
            int created = 0;
            if (cl_job_enqueue(c, "render.content_item", payload, key, 0, &out->job_id, &created, err,
                               sizeof err) != 0) {
                cl_error(COMP, "enqueue render: %s", err);
                cl_res_error(res, 500, "internal", "Could not queue the render; nothing was charged");
            } else {
                char seqs[16], jid[24];
                snprintf(seqs, sizeof seqs, "%d", seq);
                const char *q[] = {sid, seqs, cl_db_id(jid, out->job_id)};
                ok = cl_db_exec(c,
                                "UPDATE content_items SET status = 'rendering', render_seq = $2,"
                                " render_job_id = $3, render_error = NULL, updated_at = now() WHERE id = $1",
                                3, q, err, sizeof err) == 0;
                if (!ok)
                    cl_res_db_failed(res, COMP, c, NULL, "mark rendering");
            }
        }
    }
    PQclear(r);
    if (ok && cl_db_commit(c) == 0)
        return 0;
    cl_db_rollback(c);
    if (ok)
        cl_res_db_failed(res, COMP, c, NULL, "commit render request");
    return -1;
}

cJSON *cl_render_order_json(const cl_render_order *rr)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *job = cJSON_AddObjectToObject(o, "job");
    cJSON_AddNumberToObject(job, "id", (double)rr->job_id);
    cJSON_AddStringToObject(job, "kind", "render.content_item");
    cJSON_AddBoolToObject(o, "already_rendering", rr->already);
    cJSON_AddItemToObject(o, "receipt", rr->already ? cJSON_CreateNull() : cl_receipt_json(&rr->receipt));
    return o;
}

/* The body's audio choice for item id, checked ({"voiceover","music"},
   docs/audio.md): *choice is the normalized choice to keep with the render's
   charge (malloc'd), or NULL when the body has none or a render is running
   (that render answers; its choice stays). 0, or -1 with the reply set. */
static int check_audio_choice(cl_req *req, cl_res *res, PGconn *c, const cl_user *u, int64_t id, char **choice)
{
    *choice = NULL;
    cJSON *body = cl_req_json(req, res);
    if (!body)
        return -1;
    int has = cJSON_GetObjectItemCaseSensitive(body, "voiceover") || cJSON_GetObjectItemCaseSensitive(body, "music");
    char *text = has ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!has)
        return 0;
    char sid[24], uid[24], err[300];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    PGresult *r = cl_db_query(c, "SELECT project_id, status FROM content_items WHERE id = $1 AND user_id = $2", 2,
                              (const char *[]){sid, uid});
    int rc = -1;
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, COMP, c, r, "read item");
    } else if (PQntuples(r) == 0) {
        cl_res_error(res, 404, "not_found", "No content item %s", sid);
    } else if (strcmp(PQgetvalue(r, 0, 1), "rendering") == 0) {
        rc = 0;
    } else {
        int ck = cl_soundtrack_check_choice(c, strtoll(PQgetvalue(r, 0, 0), NULL, 10), text, choice, err, sizeof err);
        if (ck == -1)
            cl_res_error(res, 422, "invalid_audio", "%s", err);
        else if (ck != 0)
            cl_res_error(res, 500, "internal", "%s", err);
        else
            rc = 0;
    }
    PQclear(r);
    free(text);
    if (rc != 0) {
        free(*choice);
        *choice = NULL;
    }
    return rc;
}

/* POST /api/content-items/:id/render */
static void render_item(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cl_render_order rr;
    int64_t id = cl_req_param_id(req, "id");
    char *choice = NULL;
    /* An optional audio choice in the body is checked first (422) and kept on
       the item in the render's transaction, with the charge: a request the
       plan (429) or the credits (402) refuse leaves the item's choice as it was. */
    if (req->body_len > 0 && check_audio_choice(req, res, c, u, id, &choice) != 0)
        return;
    if (cl_limits_check(c, u, CL_ACTION_CONTENT_RENDER, 1, res) == 0 &&
        request_render(c, u, id, NULL, NULL, &(render_change){.audio_json = choice}, &rr, res) == 0)
        cl_res_json(res, 202, cl_render_order_json(&rr));
    free(choice);
}

/* GET /api/assets/:id — owner-only; another user's asset is 404. */
static void get_asset(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t id = cl_req_param_id(req, "id");
    char sid[24], uid[24];
    const char *p[] = {cl_db_id(sid, id), cl_db_id(uid, u->id)};
    PGresult *r =
        cl_res_db_get(res, COMP, c,
                      "SELECT a.path, a.mime, a.kind, a.content_item_id, a.storage FROM content_assets a"
                      " JOIN content_items i ON i.id = a.content_item_id"
                      " WHERE a.id = $1 AND i.user_id = $2",
                      2, p, "read asset", "No asset %s", cl_req_param(req, "id"));
    if (r) {
        /* The mime strings come from a fixed set; keep a static copy. */
        const char *mime = strcmp(PQgetvalue(r, 0, 1), "video/mp4") == 0 ? "video/mp4" : "image/jpeg";
        char dl[8], name[96];
        int download = cl_req_query(req, "download", dl, sizeof dl) && strcmp(dl, "1") == 0;
        if (download)
            snprintf(name, sizeof name, "cliploop-%s-%s.%s", PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 2),
                     mime[0] == 'v' ? "mp4" : "jpg");
        /* local: streamed here with Range; s3: 302 to a presigned URL (storage.h) */
        cl_storage_reply(res, PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 0), mime, download ? name : NULL);
    }
    PQclear(r);
}

void cl_content_register_routes(void)
{
    cl_route_user("POST", "/api/content-items", create_item, CL_AUTH_PRODUCT | CL_AUTH_JSON, 0);
    cl_route_read("/api/content-items", &items_read);
    cl_route_user("GET", "/api/content-items/:id", get_item, CL_AUTH_PRODUCT, 0);
    cl_route_user("DELETE", "/api/content-items/:id", delete_item, CL_AUTH_PRODUCT, 0);
    cl_content_register_caption_routes();
    cl_route_user("POST", "/api/content-items/:id/render", render_item, CL_AUTH_PRODUCT, 0);
    cl_content_register_template_routes();
    cl_soundtrack_register_routes();
    cl_route_user("GET", "/api/assets/:id", get_asset, CL_AUTH_PRODUCT, 0);
}
