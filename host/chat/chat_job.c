/*
 * chat_job.c — the durable job "chat.reply": one assistant turn.
 *
 * Payload {"chat_job_id": N}. The handler opens its own connection, reads
 * the chat job and runs its mode:
 *
 *   chat            business context + history -> scripts/prompts/chat.lua ->
 *                   the configured LLM provider. Free: no credit check, no
 *                   ledger row.
 *   generate_copy   credits (affordability gate before any work; the gap is
 *   generate_video  explained in the thread) -> brief (channel inferred by the
 *                   Lua channel rules, else the project's preferred channel)
 *                   -> cl_generate_promo (charge, draft, content item keyed
 *                   by "chat_job:<id>[:r<seq>]", render request for video).
 *                   A video job ends in status "rendering"; the render job
 *                   renders, and chat_store.c's sync completes the chat job
 *                   when the item is rendered.
 *
 * Failures the user can act on are recorded on the chat job and its
 * assistant message (cl_chat_job_fail) and end the durable job as a
 * permanent failure; the user retries through POST /api/chat-jobs/:id/retry,
 * which re-runs this handler on the same chat job. Running it again is safe:
 * a completed job is left alone, a stored brief is reused, and
 * cl_generate_promo replays a charge and an item that already exist.
 */
#include "auth/auth.h"
#include "chat/chat.h"
#include "chat/chat_internal.h"
#include "content/content.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "create/create.h"
#include "create/generate.h"
#include "credits/credits.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "lua/lua_runtime.h"
#include "plugins/llm.h"
#include "projects/context.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "chat"
#define CONTEXT_BUDGET 12000
#define CHAT_CONTEXT_BUDGET 6000
#define HISTORY_TURNS 12

typedef struct chat_run {
    PGconn *c;
    cl_call *call;
    int64_t id;
    int64_t project_id;
    int64_t conversation_id;
    int64_t item_id;
    cl_user user;
    char sid[24];
    char mode[24];
    char status[16];
    char *prompt;
    char *brief;   /* stored brief JSON or NULL */
    char channel[16];
    int ref_seq;
} chat_run;

/* The error reply cl_generation_error_reply / cl_generate_promo put on a
   cl_res, as code + message. */
static void res_error(const cl_res *res, char *code, size_t codelen, char *msg, size_t msglen)
{
    cJSON *o = res->body.data ? cJSON_Parse(res->body.data) : NULL;
    cJSON *e = cJSON_GetObjectItem(o, "error");
    const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(e, "code"));
    const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(e, "message"));
    snprintf(code, codelen, "%s", c ? c : "internal");
    snprintf(msg, msglen, "%s", m ? m : "Something went wrong on our side.");
    cJSON_Delete(o);
}

/* The durable job's result: {"chat_job_id", "status"?, "content_item_id"?, "replayed"?}
   (status when not NULL, the item when > 0, replayed when >= 0). 0, or 1 when
   out of memory (the job is retried). */
static int job_result(cl_buf *result, int64_t id, const char *status, int64_t item, int replayed)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "chat_job_id", (double)id);
    if (status)
        cJSON_AddStringToObject(o, "status", status);
    if (item > 0)
        cJSON_AddNumberToObject(o, "content_item_id", (double)item);
    if (replayed >= 0)
        cJSON_AddBoolToObject(o, "replayed", replayed);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int rc = text && cl_buf_puts(result, text) == 0 ? 0 : 1;
    free(text);
    return rc;
}

static void llm_error(const cl_error *e, char *code, size_t codelen, char *msg, size_t msglen)
{
    cl_res tmp;
    memset(&tmp, 0, sizeof tmp);
    cl_generation_error_reply(&tmp, e);
    res_error(&tmp, code, codelen, msg, msglen);
    cl_res_clear(&tmp);
    if (!strcmp(code, "llm_failed")) {
        char *copy = strdup(msg);
        if (copy)
            snprintf(msg, msglen, "The AI provider failed: %s", copy);
        free(copy);
    }
}

/* Fail the chat job for the user and end the durable job for good. */
static int fail(chat_run *run, const char *step, const char *code, const char *msg, char *err, size_t errlen)
{
    cl_chat_job_fail(run->c, run->id, step, code, msg);
    snprintf(err, errlen, "chat job %" PRId64 ": %s", run->id, code);
    return -1;
}

static int load_run(chat_run *run, char *err, size_t errlen)
{
    PGresult *r = cl_db_query(run->c,
                              "SELECT user_id, project_id, conversation_id, mode, status, prompt, brief, channel,"
                              "       ref_seq, content_item_id FROM chat_jobs WHERE id = $1",
                              1, (const char *[]){run->sid});
    if (!cl_db_ok(r)) {
        cl_db_errmsg(run->c, r, err, errlen);
        PQclear(r);
        return 1;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        snprintf(err, errlen, "no chat job %s", run->sid);
        return -1;
    }
    int64_t user_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    run->project_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    run->conversation_id = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    snprintf(run->mode, sizeof run->mode, "%s", PQgetvalue(r, 0, 3));
    snprintf(run->status, sizeof run->status, "%s", PQgetvalue(r, 0, 4));
    run->prompt = strdup(PQgetvalue(r, 0, 5));
    run->brief = PQgetisnull(r, 0, 6) ? NULL : strdup(PQgetvalue(r, 0, 6));
    snprintf(run->channel, sizeof run->channel, "%s", PQgetvalue(r, 0, 7));
    run->ref_seq = atoi(PQgetvalue(r, 0, 8));
    run->item_id = PQgetisnull(r, 0, 9) ? 0 : strtoll(PQgetvalue(r, 0, 9), NULL, 10);
    PQclear(r);
    if (!run->prompt) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    int found = cl_user_load(run->c, user_id, &run->user, err, errlen);
    if (found < 0)
        return 1;
    if (found == 0) {
        snprintf(err, errlen, "the chat job's user is gone");
        return -1;
    }
    return 0;
}

/* Earlier turns of the conversation, oldest first, as [{role, content}]. */
static cJSON *history_json(chat_run *run)
{
    char conv[24], limit[8];
    snprintf(conv, sizeof conv, "%" PRId64, run->conversation_id);
    snprintf(limit, sizeof limit, "%d", HISTORY_TURNS);
    PGresult *r = cl_db_query(run->c,
                              "SELECT role, content FROM ("
                              "  SELECT id, role, content FROM messages"
                              "   WHERE conversation_id = $1 AND status = 'done' AND content <> ''"
                              "     AND id < (SELECT min(id) FROM messages WHERE chat_job_id = $2)"
                              "   ORDER BY id DESC LIMIT $3) t ORDER BY id",
                              3, (const char *[]){conv, run->sid, limit});
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; cl_db_ok(r) && i < PQntuples(r); i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", PQgetvalue(r, i, 0));
        cJSON_AddStringToObject(m, "content", PQgetvalue(r, i, 1));
        cJSON_AddItemToArray(arr, m);
    }
    PQclear(r);
    return arr;
}

/* ---- free chat ---------------------------------------------------------------- */

static int run_chat(chat_run *run, cl_buf *result, char *err, size_t errlen)
{
    cl_chat_step_set(run->c, run->id, "reply", "running", NULL);
    cl_buf context = CL_BUF_INIT;
    char lerr[512];
    if (cl_context_load(run->c, run->project_id, CHAT_CONTEXT_BUDGET, &context, lerr, sizeof lerr) != 0) {
        cl_buf_free(&context);
        cl_error(COMP, "context for chat job %" PRId64 ": %s", run->id, lerr);
        return fail(run, "reply", "internal", "Could not load your business context. Retry in a moment.", err,
                    errlen);
    }
    cJSON *ctx_obj = cJSON_Parse(context.data);
    cJSON *ctx = cJSON_CreateObject();
    cJSON_AddStringToObject(ctx, "message", run->prompt);
    cJSON_AddItemToObject(ctx, "profile", cl_profile_for_prompts(cJSON_GetObjectItem(ctx_obj, "project")));
    cJSON_AddStringToObject(ctx, "context", context.data ? context.data : "");
    cJSON *history = history_json(run);
    cJSON_AddItemToObject(ctx, "history", cJSON_Duplicate(history, 1));
    char *ctx_json = cJSON_PrintUnformatted(ctx);
    char *history_text = cJSON_PrintUnformatted(history);
    cJSON_Delete(ctx);
    cJSON_Delete(ctx_obj);
    cJSON_Delete(history);
    cl_buf_free(&context);

    char *system = NULL, *prompt = NULL;
    int rc = ctx_json ? cl_lua_prompt("chat", ctx_json, &system, &prompt, lerr, sizeof lerr) : CL_ENOMEM;
    free(ctx_json);
    char *reply = NULL;
    cl_error e = CL_ERROR_INIT;
    if (rc != CL_OK) {
        cl_error(COMP, "chat prompt script: %s", rc == CL_ENOMEM ? "out of memory" : lerr);
        e.code = CL_EIO;
    } else {
        cl_llm_request req = {.size = sizeof req, .purpose = "chat", .system = system, .prompt = prompt,
                              .messages_json = history_text, .json_output = 0};
        cl_llm_complete(run->call, NULL, &req, &reply, NULL, NULL, &e);
    }
    free(system);
    free(prompt);
    free(history_text);
    if (e.code) {
        char code[64], msg[700];
        if (e.code == CL_EIO) {
            snprintf(code, sizeof code, "internal");
            snprintf(msg, sizeof msg, "The chat prompt could not be prepared. Retry in a moment.");
        } else {
            llm_error(&e, code, sizeof code, msg, sizeof msg);
        }
        cl_warn(COMP, "chat job %" PRId64 " failed: %s", run->id, code);
        return fail(run, "reply", code, msg, err, errlen);
    }
    /* Reply, step, job and conversation in one transaction. */
    const char *p[] = {run->sid, reply};
    int ok = cl_db_begin(run->c) == 0 &&
             cl_db_exec(run->c,
                        "UPDATE messages SET content = $2, status = 'done', updated_at = now()"
                        " WHERE chat_job_id = $1 AND role = 'assistant'",
                        2, p, err, errlen) == 0 &&
             cl_db_exec(run->c,
                        "UPDATE chat_job_steps SET status = 'done', finished_at = now()"
                        " WHERE chat_job_id = $1",
                        1, p, err, errlen) == 0 &&
             cl_db_exec(run->c,
                        "UPDATE chat_jobs SET status = 'completed', error_code = NULL, error_message = NULL,"
                        " finished_at = now(), updated_at = now() WHERE id = $1",
                        1, p, err, errlen) == 0 &&
             cl_db_exec(run->c,
                        "UPDATE conversations SET updated_at = now()"
                        " WHERE id = (SELECT conversation_id FROM chat_jobs WHERE id = $1)",
                        1, p, err, errlen) == 0 &&
             cl_db_commit(run->c) == 0;
    free(reply);
    if (!ok) {
        cl_db_rollback(run->c);
        return 1; /* a database hiccup: the durable job retries */
    }
    return job_result(result, run->id, "completed", 0, -1);
}

/* ---- paid generation ------------------------------------------------------------ */

static const char *kind_word(const char *action)
{
    const cl_action_cost *a = cl_policy_action(action);
    return a && a->kind == CL_CREDIT_RENDER ? "render" : "generation";
}

/* Before any work: can the user pay for every step? Explains the gap. 0 ok,
   1 not affordable (failure recorded), -1 database error. */
static int credits_gate(chat_run *run, int with_render, const char *ref)
{
    char err[256];
    if (cl_credits_grant_monthly(run->c, run->user.id, run->user.plan, NULL, err, sizeof err) < 0)
        cl_warn(COMP, "monthly grant for user %" PRId64 " failed: %s", run->user.id, err);
    /* A retry whose item already exists pays nothing more for the copy. */
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, run->user.id);
    PGresult *r = cl_db_query(run->c, "SELECT status FROM content_items WHERE user_id = $1 AND request_key = $2", 2,
                              (const char *[]){uid, ref});
    if (!cl_db_ok(r)) {
        PQclear(r);
        return -1;
    }
    int have_item = PQntuples(r) == 1;
    int needs_render = with_render && (!have_item || !strcmp(PQgetvalue(r, 0, 0), "render_failed") ||
                                       !strcmp(PQgetvalue(r, 0, 0), "draft"));
    PQclear(r);
    const char *actions[2] = {have_item ? NULL : with_render ? CL_ACTION_GENERATE_VIDEO_COPY : CL_ACTION_GENERATE_COPY,
                              needs_render ? CL_ACTION_GENERATE_VIDEO_RENDER : NULL};
    char gap[400] = "";
    for (int i = 0; i < 2; i++) {
        if (!actions[i])
            continue;
        int64_t needed = 0, available = 0;
        int ok = cl_credits_can_afford(run->c, run->user.id, actions[i], &needed, &available, err, sizeof err);
        if (ok < 0)
            return -1;
        if (ok == 0) {
            size_t n = strlen(gap);
            snprintf(gap + n, sizeof gap - n, "%s%" PRId64 " %s credit%s (you have %" PRId64 ")", n ? " and " : "",
                     needed, kind_word(actions[i]), needed == 1 ? "" : "s", available);
        }
    }
    if (gap[0]) {
        /* A retry whose copy was paid and kept (the draft exists) must not
           read "Nothing was charged". */
        char copy_key[96], render_key[96];
        cl_generate_keys(ref, copy_key, render_key, sizeof copy_key);
        int kept = cl_generate_charge_state(run->c, run->user.id, copy_key) == CL_CHARGE_KEPT;
        char msg[700];
        snprintf(msg, sizeof msg, "Not enough credits: this %s needs %s. %s Add credits or switch to %s, then retry.",
                 with_render ? "video" : "copy", gap,
                 kept ? "Nothing more was charged; the copy already paid for is kept." : "Nothing was charged.",
                 with_render ? "copy only or free chat" : "free chat");
        cl_chat_job_fail(run->c, run->id, "credits", "insufficient_credits", msg);
        return 1;
    }
    cl_chat_step_set(run->c, run->id, "credits", "done",
                     with_render ? "1 generation + 1 render credit" : "1 generation credit");
    return 0;
}

static const char *preferred_channel(const char *context_json, char *out, size_t len)
{
    cJSON *o = cJSON_Parse(context_json);
    const cJSON *chs = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "project"), "preferred_channels");
    const char *first = cJSON_GetStringValue(cJSON_GetArrayItem(chs, 0));
    snprintf(out, len, "%s", first ? first : "");
    cJSON_Delete(o);
    return out;
}

static int run_brief(chat_run *run, char *err, size_t errlen)
{
    if (run->brief) {
        cl_chat_step_set(run->c, run->id, "brief", "done", NULL);
        return 0;
    }
    cl_chat_step_set(run->c, run->id, "brief", "running", NULL);
    cl_buf context = CL_BUF_INIT;
    char lerr[512];
    if (cl_context_load(run->c, run->project_id, CONTEXT_BUDGET, &context, lerr, sizeof lerr) != 0) {
        cl_buf_free(&context);
        cl_error(COMP, "context for chat job %" PRId64 ": %s", run->id, lerr);
        return fail(run, "brief", "internal", "Could not load your business context. Nothing was charged; retry.",
                    err, errlen);
    }
    /* Channel: what the request implies by the channel rules, else the
       project's preferred channel, else Instagram. */
    char channel[16] = "";
    if (cl_lua_infer_channel(run->prompt, channel, sizeof channel, lerr, sizeof lerr) != 0)
        channel[0] = '\0';
    if (!channel[0])
        preferred_channel(context.data, channel, sizeof channel);
    if (strcmp(channel, "instagram") && strcmp(channel, "tiktok") && strcmp(channel, "whatsapp"))
        snprintf(channel, sizeof channel, "instagram");
    cJSON *ctx_obj = cJSON_Parse(context.data);
    cJSON *profile = cl_profile_for_prompts(cJSON_GetObjectItem(ctx_obj, "project"));
    char *profile_text = cJSON_PrintUnformatted(profile);
    cJSON_Delete(profile);
    cJSON_Delete(ctx_obj);
    size_t n = strlen(run->prompt) + 32;
    char *request = malloc(n);
    if (request)
        snprintf(request, n, "%s (for %s)", run->prompt, channel);
    char *brief = NULL;
    cl_error e;
    memset(&e, 0, sizeof e);
    int rc = request && profile_text ? cl_brief_generate(run->call, profile_text, context.data, request, &brief, &e)
                                     : CL_ENOMEM;
    if (rc == CL_ENOMEM && !e.code)
        e.code = CL_ENOMEM;
    free(request);
    free(profile_text);
    cl_buf_free(&context);
    if (rc != CL_OK) {
        char code[64], msg[700], full[800];
        llm_error(&e, code, sizeof code, msg, sizeof msg);
        snprintf(full, sizeof full, "%s. Nothing was charged.", msg);
        cl_warn(COMP, "brief for chat job %" PRId64 " failed: %s", run->id, code);
        return fail(run, "brief", code, full, err, errlen);
    }
    cJSON *b = cJSON_Parse(brief);
    free(brief);
    if (b)
        cJSON_ReplaceItemInObject(b, "channel", cJSON_CreateString(channel));
    char *text = b ? cJSON_PrintUnformatted(b) : NULL;
    double secs = cJSON_GetNumberValue(cJSON_GetObjectItem(b, "duration_seconds"));
    cJSON_Delete(b);
    if (!text)
        return fail(run, "brief", "internal", "Could not read the plan. Nothing was charged; retry.", err, errlen);
    const char *p[] = {run->sid, text, channel};
    if (cl_db_exec(run->c, "UPDATE chat_jobs SET brief = $2::jsonb, channel = $3, updated_at = now() WHERE id = $1", 3,
                   p, err, errlen) != 0) {
        free(text);
        return 1;
    }
    run->brief = text;
    snprintf(run->channel, sizeof run->channel, "%s", channel);
    char detail[64];
    if (secs > 0)
        snprintf(detail, sizeof detail, "%s, %d seconds", channel, (int)secs);
    else
        snprintf(detail, sizeof detail, "%s", channel);
    cl_chat_step_set(run->c, run->id, "brief", "done", detail);
    return 0;
}

static int run_generate(chat_run *run, cl_buf *result, char *err, size_t errlen)
{
    int with_render = !strcmp(run->mode, "generate_video");
    char ref[64];
    cl_chat_ref(run->id, run->ref_seq, ref, sizeof ref);

    cl_chat_step_set(run->c, run->id, "credits", "running", NULL);
    int g = credits_gate(run, with_render, ref);
    if (g < 0) {
        snprintf(err, errlen, "credit check failed");
        return 1;
    }
    if (g > 0) {
        snprintf(err, errlen, "chat job %" PRId64 ": insufficient_credits", run->id);
        return -1;
    }
    int rc = run_brief(run, err, errlen);
    if (rc != 0)
        return rc;

    cl_chat_step_set(run->c, run->id, "draft", "running", NULL);
    cl_res res;
    memset(&res, 0, sizeof res);
    cl_generate_params gp = {run->project_id, run->brief, run->channel[0] ? run->channel : NULL, ref, "chat",
                             with_render, run->call};
    cl_generate_result out;
    if (cl_generate_promo(run->c, &run->user, &gp, &out, &res) != 0) {
        char code[64], msg[700], full[800];
        res_error(&res, code, sizeof code, msg, sizeof msg);
        cl_res_clear(&res);
        /* Say what happened to the credits: refunded, never charged, or
           kept (then say nothing about them rather than something wrong). */
        char copy_key[96], render_key[96];
        cl_generate_keys(ref, copy_key, render_key, sizeof copy_key);
        int cs = cl_generate_charge_state(run->c, run->user.id, copy_key);
        int rs = with_render ? cl_generate_charge_state(run->c, run->user.id, render_key) : CL_CHARGE_NONE;
        int kept = cs == CL_CHARGE_KEPT || rs == CL_CHARGE_KEPT || cs < 0 || rs < 0;
        int refunded = cs == CL_CHARGE_REFUNDED || rs == CL_CHARGE_REFUNDED;
        const char *prefix = !strcmp(code, "llm_failed") ? "The AI provider failed: " : "";
        if (kept || strstr(msg, "refunded"))
            snprintf(full, sizeof full, "%s%s", prefix, msg);
        else if (refunded)
            snprintf(full, sizeof full, "%s%s. Your credits were refunded; retry when ready.", prefix, msg);
        else
            snprintf(full, sizeof full, "%s%s. Nothing was charged.", prefix, msg);
        cl_warn(COMP, "generation for chat job %" PRId64 " failed: %s", run->id, code);
        return fail(run, !strcmp(code, "insufficient_credits") ? "credits" : "draft", code, full, err, errlen);
    }
    cl_res_clear(&res);
    char item[24];
    const char *p[] = {run->sid, cl_db_id(item, out.content_item_id), with_render ? "rendering" : "running"};
    if (cl_db_exec(run->c,
                   "UPDATE chat_jobs SET content_item_id = $2, status = $3, updated_at = now() WHERE id = $1", 3, p,
                   err, errlen) != 0)
        return 1;
    cl_chat_step_set(run->c, run->id, "draft", "done", NULL);

    if (with_render) {
        /* A retry after a failed render: the item exists and its render was
           refunded; ask for a new one (charged once more under a new render
           sequence — the failed one was refunded). */
        PGresult *r = cl_db_query(run->c, "SELECT status FROM content_items WHERE id = $1", 1,
                                  (const char *[]){item});
        int again = cl_db_ok(r) && PQntuples(r) == 1 && (!strcmp(PQgetvalue(r, 0, 0), "render_failed") ||
                                                         !strcmp(PQgetvalue(r, 0, 0), "draft"));
        PQclear(r);
        if (again) {
            cl_render_order rr;
            memset(&res, 0, sizeof res);
            if (cl_content_request_render(run->c, &run->user, out.content_item_id, CL_ACTION_GENERATE_VIDEO_RENDER,
                                          &rr, &res) != 0) {
                char code[64], msg[700];
                res_error(&res, code, sizeof code, msg, sizeof msg);
                cl_res_clear(&res);
                return fail(run, "render", code, msg, err, errlen);
            }
            cl_res_clear(&res);
        }
        cl_chat_step_set(run->c, run->id, "render", "running", NULL);
        cl_chat_sync(run->c, run->id); /* an item rendered long ago completes now */
    } else {
        /* Copy only: the card is complete now. */
        cJSON *card = cl_chat_card_json(run->c, out.content_item_id, run->user.id);
        char *card_text = card ? cJSON_PrintUnformatted(card) : NULL;
        const char *ch = cJSON_GetStringValue(cJSON_GetObjectItem(card, "channel_label"));
        char text[160];
        snprintf(text, sizeof text, "Here is your %s promo copy.", ch ? ch : "");
        const char *c2[] = {run->sid, card_text, text};
        int ok = cl_db_begin(run->c) == 0 &&
                 cl_db_exec(run->c,
                            "UPDATE messages SET status = 'done', card = $2::jsonb, content = $3, updated_at = now()"
                            " WHERE chat_job_id = $1 AND role = 'assistant'",
                            3, c2, err, errlen) == 0 &&
                 cl_db_exec(run->c,
                            "UPDATE chat_jobs SET status = 'completed', error_code = NULL, error_message = NULL,"
                            " finished_at = now(), updated_at = now() WHERE id = $1",
                            1, c2, err, errlen) == 0 &&
                 cl_db_exec(run->c,
                            "UPDATE conversations SET updated_at = now()"
                            " WHERE id = (SELECT conversation_id FROM chat_jobs WHERE id = $1)",
                            1, c2, err, errlen) == 0 &&
                 cl_db_commit(run->c) == 0;
        free(card_text);
        cJSON_Delete(card);
        if (!ok) {
            cl_db_rollback(run->c);
            return 1;
        }
    }
    return job_result(result, run->id, NULL, out.content_item_id, out.replayed);
}

static int chat_reply_job(const cl_job *job, cl_call *call, cl_buf *result, char *err, size_t errlen)
{
    cJSON *payload = cJSON_Parse(job->payload);
    const cJSON *idj = cJSON_GetObjectItem(payload, "chat_job_id");
    int64_t id = cl_json_id(idj);
    cJSON_Delete(payload);
    if (id <= 0) {
        snprintf(err, errlen, "chat.reply payload needs chat_job_id");
        return -1;
    }
    chat_run run;
    memset(&run, 0, sizeof run);
    run.id = id;
    run.call = call;
    snprintf(run.sid, sizeof run.sid, "%" PRId64, id);
    run.c = cl_db_connect(cl_cfg.database_url, err, errlen);
    if (!run.c)
        return 1;
    int rc = load_run(&run, err, errlen);
    if (rc == 0) {
        if (strcmp(run.status, "queued") && strcmp(run.status, "running")) {
            /* Already done (a re-run after the worker died past the work). */
            job_result(result, id, run.status, 0, -1);
        } else {
            const char *p[] = {run.sid};
            cl_db_exec(run.c, "UPDATE chat_jobs SET status = 'running', updated_at = now() WHERE id = $1", 1, p, err,
                       errlen);
            rc = !strcmp(run.mode, "chat") ? run_chat(&run, result, err, errlen)
                                           : run_generate(&run, result, err, errlen);
        }
    }
    free(run.prompt);
    free(run.brief);
    PQfinish(run.c);
    return rc;
}

/* A render finished in this worker: complete the chat jobs waiting on it now,
   instead of when somebody next reads the thread. */
static void render_finished(PGconn *c, int64_t item_id)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, item_id);
    PGresult *r = cl_db_query(c, "SELECT id FROM chat_jobs WHERE content_item_id = $1 AND status = 'rendering'", 1,
                              (const char *[]){sid});
    for (int i = 0; cl_db_ok(r) && i < PQntuples(r); i++)
        cl_chat_sync(c, strtoll(PQgetvalue(r, i, 0), NULL, 10));
    PQclear(r);
}

/*
 * Dead letter: the chat.reply job ended failed or dead while its chat job
 * may have left paid work without an outcome (its last attempt died by
 * lease expiry, so the handler never recorded anything). Refund what this
 * chat job charged and got nothing for (cl_generate_refund_unfinished: a
 * no-op when every charge has its item/render), and fail a chat job still
 * queued or running so the user can retry it. A chat job already retried
 * (it points at a newer durable job) is left alone.
 */
static int chat_dead_letter(PGconn *c, const cl_job *job, const char *last_error, char *err, size_t errlen)
{
    (void)last_error;
    cJSON *payload = cJSON_Parse(job->payload);
    const cJSON *idj = cJSON_GetObjectItem(payload, "chat_job_id");
    int64_t id = cl_json_id(idj);
    cJSON_Delete(payload);
    if (id <= 0)
        return 0;
    char sid[24], jid[24];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(jid, sizeof jid, "%" PRId64, job->id);
    PGresult *r = cl_db_query(c,
                              "SELECT user_id, ref_seq, mode, status IN ('queued', 'running') FROM chat_jobs"
                              " WHERE id = $1 AND job_id = $2",
                              2, (const char *[]){sid, jid});
    int one = cl_db_one(c, r, err, errlen);
    if (one != 1)
        return one;
    int64_t user_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    int ref_seq = atoi(PQgetvalue(r, 0, 1));
    int paid = strcmp(PQgetvalue(r, 0, 2), "chat") != 0;
    int open = !strcmp(PQgetvalue(r, 0, 3), "t");
    PQclear(r);
    const char *note = "";
    if (paid) {
        char ref[64], copy_key[96], render_key[96];
        cl_chat_ref(id, ref_seq, ref, sizeof ref);
        if (cl_generate_refund_unfinished(c, user_id, ref) != 0) {
            snprintf(err, errlen, "refund for chat job %" PRId64 " failed", id);
            return -1;
        }
        cl_generate_keys(ref, copy_key, render_key, sizeof copy_key);
        int cs = cl_generate_charge_state(c, user_id, copy_key), rs = cl_generate_charge_state(c, user_id, render_key);
        if (cs == CL_CHARGE_REFUNDED || rs == CL_CHARGE_REFUNDED)
            note = " Your credits for it were refunded.";
        else if (cs == CL_CHARGE_NONE && rs == CL_CHARGE_NONE)
            note = " Nothing was charged.";
    }
    if (!open)
        return 0; /* already failed (by its handler, or by a read that saw the dead job) or finished */
    char msg[300];
    snprintf(msg, sizeof msg, "This request stopped before it finished (our worker was interrupted).%s Retry when ready.",
             note);
    if (cl_chat_job_fail(c, id, NULL, "worker_lost", msg) != 0) {
        snprintf(err, errlen, "could not record the failure of chat job %" PRId64, id);
        return -1;
    }
    cl_info(COMP, "chat job %" PRId64 ": its durable job %" PRId64 " ended without an outcome; failed for retry", id,
            job->id);
    return 0;
}

int cl_chat_register_jobs(void)
{
    cl_content_on_render_finished(render_finished);
    if (cl_job_register(CL_JOB_CHAT_REPLY, chat_reply_job) != 0)
        return -1;
    return cl_job_register_dead_letter(CL_JOB_CHAT_REPLY, chat_dead_letter);
}
