/*
 * chat_store.c — chat job steps, failures, render sync and JSON (see
 * chat_internal.h).
 */
#include "chat/chat_internal.h"
#include "core/log.h"
#include "credits/credits.h"
#include "credits/policy.h"
#include "db/db.h"
#include "db/db_row.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "chat"
#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

typedef struct step_def {
    const char *name, *label;
} step_def;

static const step_def chat_steps[] = {{"reply", "Writing a reply"}, {NULL, NULL}};
static const step_def copy_steps[] = {{"credits", "Checking credits"},
                                      {"brief", "Planning the promo"},
                                      {"draft", "Drafting the copy"},
                                      {NULL, NULL}};
static const step_def video_steps[] = {{"credits", "Checking credits"},
                                       {"brief", "Planning the promo"},
                                       {"draft", "Drafting the copy"},
                                       {"render", "Rendering the video"},
                                       {NULL, NULL}};

int cl_chat_valid_mode(const char *mode)
{
    return mode && (!strcmp(mode, "chat") || !strcmp(mode, "generate_copy") || !strcmp(mode, "generate_video"));
}

void cl_chat_ref(int64_t id, int ref_seq, char *out, size_t len)
{
    if (ref_seq > 0)
        snprintf(out, len, "chat_job:%" PRId64 ":r%d", id, ref_seq);
    else
        snprintf(out, len, "chat_job:%" PRId64, id);
}

int cl_chat_steps_create(PGconn *c, int64_t id, const char *mode, char *err, size_t errlen)
{
    const step_def *defs = !strcmp(mode, "chat") ? chat_steps : !strcmp(mode, "generate_copy") ? copy_steps : video_steps;
    char sid[24], pos[16];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    for (int i = 0; defs[i].name; i++) {
        snprintf(pos, sizeof pos, "%d", i);
        const char *p[] = {sid, pos, defs[i].name, defs[i].label};
        if (cl_db_exec(c,
                       "INSERT INTO chat_job_steps (chat_job_id, position, name, label) VALUES ($1, $2, $3, $4)"
                       " ON CONFLICT DO NOTHING",
                       4, p, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int cl_chat_step_set(PGconn *c, int64_t id, const char *name, const char *status, const char *detail)
{
    char sid[24], err[256];
    const char *p[] = {cl_db_id(sid, id), name, status, detail};
    int rc = cl_db_exec(c,
                        "UPDATE chat_job_steps SET status = $3, detail = COALESCE($4, detail),"
                        " started_at = CASE WHEN $3 = 'running' THEN now() ELSE COALESCE(started_at, now()) END,"
                        " finished_at = CASE WHEN $3 IN ('done', 'failed', 'skipped') THEN now() ELSE NULL END"
                        " WHERE chat_job_id = $1 AND name = $2",
                        4, p, err, sizeof err);
    if (rc != 0)
        cl_error(COMP, "step %s of chat job %" PRId64 ": %s", name, id, err);
    return rc;
}

int cl_chat_job_fail(PGconn *c, int64_t id, const char *step, const char *code, const char *message)
{
    char sid[24], err[256];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    if (cl_db_begin(c) != 0)
        return -1;
    const char *p[] = {sid, code, message};
    int ok = cl_db_exec(c,
                        "UPDATE chat_jobs SET status = 'failed', error_code = $2, error_message = $3,"
                        " finished_at = now(), updated_at = now() WHERE id = $1 AND status <> 'completed'",
                        3, p, err, sizeof err) == 0 &&
             cl_db_exec(c,
                        "UPDATE messages SET status = 'failed', content = $2, updated_at = now()"
                        " WHERE chat_job_id = $1 AND role = 'assistant'",
                        2, (const char *[]){sid, message}, err, sizeof err) == 0 &&
             cl_db_exec(c,
                        "UPDATE conversations SET updated_at = now()"
                        " WHERE id = (SELECT conversation_id FROM chat_jobs WHERE id = $1)",
                        1, p, err, sizeof err) == 0;
    /* Steps still running stop here; the failing one carries the reason. */
    if (ok)
        ok = cl_db_exec(c,
                        "UPDATE chat_job_steps SET status = 'failed', finished_at = now()"
                        " WHERE chat_job_id = $1 AND status = 'running'",
                        1, p, err, sizeof err) == 0;
    if (ok && step) {
        const char *q[] = {sid, step, message};
        ok = cl_db_exec(c,
                        "UPDATE chat_job_steps SET status = 'failed', detail = $3, finished_at = now()"
                        " WHERE chat_job_id = $1 AND name = $2",
                        3, q, err, sizeof err) == 0;
    }
    if (ok && cl_db_commit(c) == 0)
        return 0;
    cl_error(COMP, "record failure of chat job %" PRId64 ": %s", id, err);
    cl_db_rollback(c);
    return -1;
}

static const char *channel_label(const char *ch)
{
    if (!ch)
        return "";
    if (!strcmp(ch, "instagram"))
        return "Instagram";
    if (!strcmp(ch, "tiktok"))
        return "TikTok";
    if (!strcmp(ch, "whatsapp"))
        return "WhatsApp";
    return ch;
}

/* Complete a chat job whose promo is ready: card on the assistant message. */
static void complete_with_card(PGconn *c, int64_t id, int64_t user_id, int64_t item_id, const char *from_status)
{
    cJSON *card = cl_chat_card_json(c, item_id, user_id);
    char *card_text = card ? cJSON_PrintUnformatted(card) : NULL;
    const char *ch = card ? cJSON_GetStringValue(cJSON_GetObjectItem(card, "channel")) : NULL;
    int video = card && cJSON_IsString(cJSON_GetObjectItem(card, "video_url"));
    char text[160], sid[24], err[256];
    snprintf(text, sizeof text, "Here is your %s promo %s.", channel_label(ch), video ? "video" : "copy");
    const char *p[] = {cl_db_id(sid, id), from_status, card_text, text};
    if (cl_db_begin(c) == 0) {
        PGresult *r = cl_db_query(c,
                                  "UPDATE chat_jobs SET status = 'completed', error_code = NULL, error_message = NULL,"
                                  " finished_at = now(), updated_at = now() WHERE id = $1 AND status = $2 RETURNING id",
                                  2, p);
        int changed = cl_db_ok(r) && PQntuples(r) == 1;
        int ok = cl_db_ok(r);
        PQclear(r);
        if (changed)
            ok = cl_db_exec(c,
                            "UPDATE messages SET status = 'done', card = $2::jsonb, content = $3, updated_at = now()"
                            " WHERE chat_job_id = $1 AND role = 'assistant'",
                            3, (const char *[]){sid, card_text, text}, err, sizeof err) == 0 &&
                 cl_db_exec(c,
                            "UPDATE chat_job_steps SET status = 'done', finished_at = now()"
                            " WHERE chat_job_id = $1 AND status IN ('pending', 'running')",
                            1, p, err, sizeof err) == 0 &&
                 cl_db_exec(c,
                            "UPDATE conversations SET updated_at = now()"
                            " WHERE id = (SELECT conversation_id FROM chat_jobs WHERE id = $1)",
                            1, p, err, sizeof err) == 0;
        if (!(ok && cl_db_commit(c) == 0)) {
            cl_error(COMP, "complete chat job %" PRId64 ": %s", id, err);
            cl_db_rollback(c);
        }
    }
    free(card_text);
    cJSON_Delete(card);
}

void cl_chat_sync(PGconn *c, int64_t id)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    PGresult *r = cl_db_query(c,
                              "SELECT cj.status, cj.user_id, cj.content_item_id, i.status, i.render_error,"
                              "       j.status, j.last_error"
                              "  FROM chat_jobs cj"
                              "  LEFT JOIN content_items i ON i.id = cj.content_item_id"
                              "  LEFT JOIN jobs j ON j.id = cj.job_id"
                              " WHERE cj.id = $1",
                              1, (const char *[]){sid});
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        PQclear(r);
        return;
    }
    char status[16], item_status[16] = "", job_status[16] = "", why[512] = "";
    snprintf(status, sizeof status, "%s", PQgetvalue(r, 0, 0));
    int64_t user_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    int64_t item_id = PQgetisnull(r, 0, 2) ? 0 : strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    snprintf(item_status, sizeof item_status, "%s", PQgetvalue(r, 0, 3));
    snprintf(why, sizeof why, "%s", PQgetvalue(r, 0, 4));
    snprintf(job_status, sizeof job_status, "%s", PQgetvalue(r, 0, 5));
    char last_error[300];
    snprintf(last_error, sizeof last_error, "%s", PQgetvalue(r, 0, 6));
    PQclear(r);

    if (!strcmp(status, "rendering") && item_id > 0) {
        if (!strcmp(item_status, "rendered")) {
            complete_with_card(c, id, user_id, item_id, "rendering");
        } else if (!strcmp(item_status, "render_failed")) {
            char msg[700];
            snprintf(msg, sizeof msg, "The video could not be rendered (%s). Your render credit was refunded; "
                     "retry to render it again.", why[0] ? why : "renderer error");
            cl_chat_job_fail(c, id, "render", "render_failed", msg);
        }
    } else if ((!strcmp(status, "queued") || !strcmp(status, "running")) &&
               (!strcmp(job_status, "failed") || !strcmp(job_status, "dead"))) {
        /* The worker gave up without recording anything the user can read. */
        char msg[512];
        snprintf(msg, sizeof msg, "Something went wrong on our side (%.300s). Retry in a moment.",
                 last_error[0] ? last_error : "the job stopped");
        cl_chat_job_fail(c, id, NULL, "internal", msg);
    }
}

/* ---- JSON ------------------------------------------------------------------ */

cJSON *cl_chat_mode_cost_json(const char *mode)
{
    const char *actions[2] = {NULL, NULL};
    if (mode && !strcmp(mode, "generate_copy"))
        actions[0] = CL_ACTION_GENERATE_COPY;
    else if (mode && !strcmp(mode, "generate_video")) {
        actions[0] = CL_ACTION_GENERATE_VIDEO_COPY;
        actions[1] = CL_ACTION_GENERATE_VIDEO_RENDER;
    }
    int64_t gen = 0, render = 0;
    for (int i = 0; i < 2 && actions[i]; i++) {
        const cl_action_cost *a = cl_policy_action(actions[i]);
        if (a && a->kind == CL_CREDIT_GENERATION)
            gen += a->cost;
        else if (a && a->kind == CL_CREDIT_RENDER)
            render += a->cost;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "generation", (double)gen);
    cJSON_AddNumberToObject(o, "render", (double)render);
    return o;
}

cJSON *cl_chat_card_json(PGconn *c, int64_t item_id, int64_t user_id)
{
    char sid[CL_DB_ID_LEN], uid[CL_DB_ID_LEN];
    const char *p[] = {cl_db_id(sid, item_id), cl_db_id(uid, user_id)};
    PGresult *r = cl_db_query(
        c,
        "SELECT i.id, i.title, i.channel, i.draft, i.status, i.render_error,"
        "       j.status, j.progress_done, j.progress_total,"
        "       (SELECT a.id FROM content_assets a WHERE a.content_item_id = i.id"
        "         AND a.kind = 'video' ORDER BY a.render_seq DESC LIMIT 1),"
        "       COALESCE(i.list_thumb_small_id, i.list_thumb_id)" /* the poster (migration 0031) */
        "  FROM content_items i LEFT JOIN jobs j ON j.id = i.render_job_id"
        " WHERE i.id = $1 AND i.user_id = $2",
        2, p);
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        PQclear(r);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "content_item_id", (double)item_id);
    cJSON_AddStringToObject(o, "title", PQgetvalue(r, 0, 1));
    cJSON_AddStringToObject(o, "channel", PQgetvalue(r, 0, 2));
    cJSON_AddStringToObject(o, "channel_label", channel_label(PQgetvalue(r, 0, 2)));
    cJSON *draft = cJSON_Parse(PQgetvalue(r, 0, 3));
    static const char *const fields[] = {"hook", "caption", "cta"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(draft, fields[i]));
        cJSON_AddStringToObject(o, fields[i], v ? v : "");
    }
    cJSON *tags = cJSON_GetObjectItem(draft, "hashtags");
    cJSON_AddItemToObject(o, "hashtags", cJSON_IsArray(tags) ? cJSON_Duplicate(tags, 1) : cJSON_CreateArray());
    cJSON *script = cJSON_GetObjectItem(draft, "script");
    cJSON_AddItemToObject(o, "script", cJSON_IsArray(script) ? cJSON_Duplicate(script, 1) : cJSON_CreateArray());
    cJSON_Delete(draft);
    static const cl_db_json_col status_cols[] = {
        {"status", 4, CL_COL_STR},
        {"render_error", 5, CL_COL_STR_OR_NULL},
    };
    cl_db_row_add_json(o, r, 0, status_cols, CL_DB_NCOLS(status_cols));
    const char *st = PQgetvalue(r, 0, 4);
    if (!strcmp(st, "rendering")) {
        double done = PQgetisnull(r, 0, 7) ? 0 : strtod(PQgetvalue(r, 0, 7), NULL);
        double total = PQgetisnull(r, 0, 8) ? 0 : strtod(PQgetvalue(r, 0, 8), NULL);
        cJSON *p = cJSON_AddObjectToObject(o, "render");
        cJSON_AddStringToObject(p, "job_status", PQgetvalue(r, 0, 6));
        cJSON_AddNumberToObject(p, "done", done);
        cJSON_AddNumberToObject(p, "total", total);
        cJSON_AddNumberToObject(p, "percent", total > 0 ? (double)(int)(done * 100.0 / total) : 0);
    } else {
        cJSON_AddNullToObject(o, "render");
    }
    char url[96];
    if (!PQgetisnull(r, 0, 9)) {
        snprintf(url, sizeof url, "/api/assets/%s", PQgetvalue(r, 0, 9));
        cJSON_AddStringToObject(o, "video_url", url);
        snprintf(url, sizeof url, "/api/assets/%s?download=1", PQgetvalue(r, 0, 9));
        cJSON_AddStringToObject(o, "download_url", url);
    } else {
        cJSON_AddNullToObject(o, "video_url");
        cJSON_AddNullToObject(o, "download_url");
    }
    if (!PQgetisnull(r, 0, 10)) {
        snprintf(url, sizeof url, "/api/assets/%s", PQgetvalue(r, 0, 10));
        cJSON_AddStringToObject(o, "thumbnail_url", url);
    } else {
        cJSON_AddNullToObject(o, "thumbnail_url");
    }
    snprintf(url, sizeof url, "/api/content-items/%" PRId64, item_id);
    cJSON_AddStringToObject(o, "item_url", url);
    PQclear(r);
    return o;
}

/* Every ledger movement of this chat job: its generation charges (every
   ref_seq) and the renders of its content item, refunds included. */
static cJSON *receipts_json(PGconn *c, int64_t id, int64_t user_id, int64_t item_id, cJSON *charged)
{
    char uid[24], chat_prefix[64], item_prefix[64] = "";
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    snprintf(chat_prefix, sizeof chat_prefix, "chat_job:%" PRId64 ":", id);
    if (item_id > 0)
        snprintf(item_prefix, sizeof item_prefix, "content_item:%" PRId64 ":render:", item_id);
    PGresult *r = cl_db_query(c,
                              "SELECT id, action, kind, reason, amount, reference_key, generation_balance_after,"
                              "       render_balance_after, " ISO("created_at")
                              "  FROM credit_ledger_entries WHERE user_id = $1"
                              "   AND (starts_with(reference_key, $2) OR starts_with(reference_key, 'refund:' || $2)"
                              "        OR ($3 <> '' AND (starts_with(reference_key, $3)"
                              "                          OR starts_with(reference_key, 'refund:' || $3))))"
                              " ORDER BY id",
                              3, (const char *[]){uid, chat_prefix, item_prefix});
    cJSON *arr = cJSON_CreateArray();
    int64_t gen = 0, render = 0;
    for (int i = 0; cl_db_ok(r) && i < PQntuples(r); i++) {
        cl_receipt rc;
        memset(&rc, 0, sizeof rc);
        rc.entry_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        rc.user_id = user_id;
        snprintf(rc.action, sizeof rc.action, "%s", PQgetvalue(r, i, 1));
        snprintf(rc.kind, sizeof rc.kind, "%s", PQgetvalue(r, i, 2));
        snprintf(rc.reason, sizeof rc.reason, "%s", PQgetvalue(r, i, 3));
        rc.amount = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        snprintf(rc.reference_key, sizeof rc.reference_key, "%s", PQgetvalue(r, i, 5));
        rc.generation_balance_after = strtoll(PQgetvalue(r, i, 6), NULL, 10);
        rc.render_balance_after = strtoll(PQgetvalue(r, i, 7), NULL, 10);
        snprintf(rc.created_at, sizeof rc.created_at, "%s", PQgetvalue(r, i, 8));
        if (!strcmp(rc.kind, "generation"))
            gen -= rc.amount;
        else if (!strcmp(rc.kind, "render"))
            render -= rc.amount;
        cJSON_AddItemToArray(arr, cl_receipt_json(&rc));
    }
    if (!cl_db_ok(r)) {
        char err[256];
        cl_db_errmsg(c, r, err, sizeof err);
        cl_error(COMP, "receipts of chat job %" PRId64 ": %s", id, err);
    }
    PQclear(r);
    cJSON_AddNumberToObject(charged, "generation", (double)gen);
    cJSON_AddNumberToObject(charged, "render", (double)render);
    return arr;
}

cJSON *cl_chat_job_json(PGconn *c, int64_t id, int64_t user_id, int *db_error)
{
    char sid[CL_DB_ID_LEN], uid[CL_DB_ID_LEN];
    const char *p[] = {cl_db_id(sid, id), cl_db_id(uid, user_id)};
    *db_error = 0;
    PGresult *r = cl_db_query(
        c,
        "SELECT cj.id, cj.conversation_id, cj.mode, cj.status, cj.prompt, cj.channel,"
        "       cj.error_code, cj.error_message, cj.retries, cj.content_item_id,"
        "       cj.job_id, j.status, j.attempts, cj.request_id,"
        "       (SELECT m.id FROM messages m WHERE m.chat_job_id = cj.id AND m.role = 'assistant'),"
        "       " ISO("cj.created_at") ", " ISO("cj.updated_at") ", " ISO(
            "cj.finished_at") "  FROM chat_jobs cj LEFT JOIN jobs j ON j.id = cj.job_id"
                              " WHERE cj.id = $1 AND cj.user_id = $2",
        2, p);
    if (!cl_db_ok(r)) {
        *db_error = 1;
        PQclear(r);
        return NULL;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        return NULL;
    }
    static const cl_db_json_col head_cols[] = {
        {"id", 0, CL_COL_NUM},     {"conversation_id", 1, CL_COL_NUM}, {"mode", 2, CL_COL_STR},
        {"status", 3, CL_COL_STR}, {"prompt", 4, CL_COL_STR},          {"channel", 5, CL_COL_STR_OR_NULL},
    };
    static const cl_db_json_col tail_cols[] = {
        {"request_id", 13, CL_COL_STR},          {"assistant_message_id", 14, CL_COL_NUM_OR_NULL},
        {"created_at", 15, CL_COL_STR},          {"updated_at", 16, CL_COL_STR},
        {"finished_at", 17, CL_COL_STR_OR_NULL},
    };
    cJSON *o = cJSON_CreateObject();
    cl_db_row_add_json(o, r, 0, head_cols, CL_DB_NCOLS(head_cols));
    char mode[24], status[16];
    snprintf(mode, sizeof mode, "%s", PQgetvalue(r, 0, 2));
    snprintf(status, sizeof status, "%s", PQgetvalue(r, 0, 3));
    static const cl_db_json_col error_cols[] = {
        {"code", 6, CL_COL_STR},
        {"message", 7, CL_COL_STR},
    };
    cl_db_row_add_object(o, "error", r, 0, 6, error_cols, CL_DB_NCOLS(error_cols));
    cJSON_AddBoolToObject(o, "can_retry", !strcmp(status, "failed"));
    cJSON_AddNumberToObject(o, "retries", strtod(PQgetvalue(r, 0, 8), NULL));
    int64_t item_id = PQgetisnull(r, 0, 9) ? 0 : strtoll(PQgetvalue(r, 0, 9), NULL, 10);
    if (item_id)
        cJSON_AddNumberToObject(o, "content_item_id", (double)item_id);
    else
        cJSON_AddNullToObject(o, "content_item_id");
    static const cl_db_json_col job_cols[] = {
        {"id", 10, CL_COL_NUM},
        {"status", 11, CL_COL_STR},
        {"attempts", 12, CL_COL_NUM},
    };
    cJSON *j = cl_db_row_add_object(o, "job", r, 0, 10, job_cols, CL_DB_NCOLS(job_cols));
    if (j)
        cJSON_AddStringToObject(j, "kind", "chat.reply");
    cl_db_row_add_json(o, r, 0, tail_cols, CL_DB_NCOLS(tail_cols));
    PQclear(r);

    cJSON *card = item_id ? cl_chat_card_json(c, item_id, user_id) : NULL;
    cJSON *render = card ? cJSON_GetObjectItem(card, "render") : NULL;

    r = cl_db_query(c,
                    "SELECT name, label, status, detail FROM chat_job_steps WHERE chat_job_id = $1 ORDER BY position", 1,
                    (const char *[]){sid});
    cJSON *steps = cJSON_AddArrayToObject(o, "steps");
    for (int i = 0; cl_db_ok(r) && i < PQntuples(r); i++) {
        cJSON *s = cJSON_CreateObject();
        const char *name = PQgetvalue(r, i, 0), *st = PQgetvalue(r, i, 2);
        cJSON_AddStringToObject(s, "name", name);
        cJSON_AddStringToObject(s, "label", PQgetvalue(r, i, 1));
        cJSON_AddStringToObject(s, "status", st);
        if (PQgetisnull(r, i, 3))
            cJSON_AddNullToObject(s, "detail");
        else
            cJSON_AddStringToObject(s, "detail", PQgetvalue(r, i, 3));
        if (!strcmp(name, "render") && !strcmp(st, "running") && cJSON_IsObject(render)) {
            cJSON *p = cJSON_AddObjectToObject(s, "progress");
            cJSON_AddNumberToObject(p, "done", cJSON_GetNumberValue(cJSON_GetObjectItem(render, "done")));
            cJSON_AddNumberToObject(p, "total", cJSON_GetNumberValue(cJSON_GetObjectItem(render, "total")));
            cJSON_AddNumberToObject(p, "percent", cJSON_GetNumberValue(cJSON_GetObjectItem(render, "percent")));
        } else {
            cJSON_AddNullToObject(s, "progress");
        }
        cJSON_AddItemToArray(steps, s);
    }
    if (!cl_db_ok(r))
        *db_error = 1;
    PQclear(r);
    cJSON_AddItemToObject(o, "card", card ? card : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "cost", cl_chat_mode_cost_json(mode));
    cJSON *charged = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "receipts", receipts_json(c, id, user_id, item_id, charged));
    cJSON_AddItemToObject(o, "charged", charged);
    if (*db_error) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
