/*
 * pack.c — a cycle's pack of posts and the edits of its items:
 *
 *   POST  /api/strategy-cycles/:id/generate-posts {request_id, replace?, brief?}
 *   POST  /api/strategy-cycles/:id/render-all
 *   POST  /api/content-items/:id/regenerate       {request_id, feedback?}
 *   PATCH /api/content-items/:id                  {channel?, publish_strategy?, caption?, cta?}
 *
 * Money follows the create flow (host/create/generate.c): the plan limit
 * and the charge are checked and made in one transaction before any work
 * (402 / 429 with nothing charged), the work runs, and a failure refunds
 * the charge with a compensating ledger entry. A pack is all or nothing:
 * the 5 posts are stored in one transaction, or none is and the charge is
 * refunded. Concurrent requests for the same cycle (or item) are
 * serialized by a session advisory lock on the pooled connection, so a
 * crashed server never leaves a lock behind.
 */
#include "content/content.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "create/create.h"
#include "create/generate.h"
#include "credits/credits.h"
#include "cycles/cycles.h"
#include "cycles/cycles_internal.h"
#include "cycles/limits.h"
#include "db/db.h"
#include "projects/context.h"
#include "http/db_reply.h"
#include "db/db_row.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "cycles"
#define CONTEXT_BUDGET 12000
#define PACK_MAX_CALLS 2 /* a pack is one model call, retried once at most */
#define LOCK_CYCLE "16017"
#define LOCK_ITEM "16018"

/* ---- helpers --------------------------------------------------------------- */

/* Copy s into out (len bytes), never cutting a UTF-8 sequence. */
static void utf8_copy(char *out, size_t len, const char *s)
{
    size_t n = strlen(s);
    if (n >= len) {
        n = len - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Session advisory lock (class, id): 1 taken, 0 busy, -1 error. */
static int try_lock(PGconn *c, const char *cls, int64_t id, int lock)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s(%s, $1::int)", lock ? "pg_try_advisory_lock" : "pg_advisory_unlock", cls);
    PGresult *r = cl_db_query(c, sql, 1, (const char *[]){sid});
    int rc = cl_db_ok(r) && PQntuples(r) == 1 ? strcmp(PQgetvalue(r, 0, 0), "t") == 0 : -1;
    PQclear(r);
    return rc;
}

/*
 * Take the lock (class, id) before generating: 1 taken; else 0 with the
 * reply set: 409 busy_code/busy_message while another request holds it,
 * 500 "Could not start <what>; nothing was charged" when the statement failed.
 */
static int lock_or_reply(PGconn *c, const char *cls, int64_t id, cl_res *res, const char *what,
                         const char *busy_code, const char *busy_message)
{
    int lk = try_lock(c, cls, id, 1);
    if (lk < 0)
        cl_res_error(res, 500, "internal", "Could not start %s; nothing was charged", what);
    else if (lk == 0)
        cl_res_error(res, 409, busy_code, "%s", busy_message);
    return lk > 0;
}

/* Refund charge_key in its own transaction. 0 or -1 (logged). */
static int refund(PGconn *c, int64_t user_id, const char *charge_key)
{
    char err[256];
    cl_receipt r;
    cl_cycles_rollback_open(c);
    int rc = cl_credits_refund(c, user_id, charge_key, &r, err, sizeof err);
    if (rc != CL_CREDITS_OK && rc != CL_CREDITS_NOT_FOUND) {
        cl_error(COMP, "refund of %s failed: %s", charge_key, err);
        return -1;
    }
    return 0;
}

/*
 * The limit check and the charge in one transaction (the credit account row
 * locked first, so two concurrent requests cannot both pass the limit).
 * skip_limit: the charge exists already (a retry continuing its own work).
 * 0 charged (receipt filled), -1 reply set, nothing charged.
 */
static int limit_and_charge(PGconn *c, const cl_user *u, const char *action, int units, const char *key,
                            int skip_limit, cl_receipt *receipt, cl_res *res)
{
    char err[512];
    if (cl_credits_grant_monthly(c, u->id, u->plan, NULL, err, sizeof err) < 0)
        cl_warn(COMP, "monthly grant for user %" PRId64 " failed: %s", u->id, err);
    if (cl_db_begin(c) != 0) {
        cl_res_error(res, 500, "internal", "Could not charge your credits; nothing was charged");
        return -1;
    }
    if (cl_limits_lock_account(c, u->id, res) != 0) {
        cl_db_rollback(c);
        return -1;
    }
    if (!skip_limit && cl_limits_check(c, u, action, units, res) != 0) {
        cl_db_rollback(c);
        return -1;
    }
    int rc = cl_credits_charge(c, u->id, action, key, receipt, err, sizeof err);
    if (rc == CL_CREDITS_OK && cl_db_commit(c) == 0)
        return 0;
    cl_db_rollback(c);
    if (rc == CL_CREDITS_OK)
        cl_res_error(res, 500, "internal", "Could not charge your credits; nothing was charged");
    else
        cl_credits_reply_error(res, rc, receipt, err);
    return -1;
}

/* Project profile (for prompts), context text and preferred channels (all
   caller-owned, also on failure). 0, or -1 with e set (CL_EIO). */
static int load_grounding(PGconn *c, int64_t project_id, cJSON **profile, cl_buf *context, cJSON **channels,
                          cl_error *e)
{
    char err[256];
    *profile = NULL;
    *channels = NULL;
    memset(e, 0, sizeof *e);
    if (cl_context_load(c, project_id, CONTEXT_BUDGET, context, err, sizeof err) != 0) {
        cl_error(COMP, "context of project %" PRId64 ": %s", project_id, err);
        e->code = CL_EIO;
        snprintf(e->message, sizeof e->message, "could not load the business context");
        return -1;
    }
    cJSON *ctx = cJSON_Parse(context->data ? context->data : "");
    const cJSON *project = cJSON_GetObjectItem(ctx, "project");
    *profile = cl_profile_for_prompts(project);
    *channels = cJSON_Duplicate(cJSON_GetObjectItem(project, "preferred_channels"), 1);
    cJSON_Delete(ctx);
    if (!cJSON_IsArray(*channels) || cJSON_GetArraySize(*channels) == 0) {
        cJSON_Delete(*channels);
        *channels = cJSON_CreateArray();
        cJSON_AddItemToArray(*channels, cJSON_CreateString("instagram"));
    }
    return *profile ? 0 : -1;
}

/*
 * The publish strategy an item of `channel` gets by default: direct
 * Instagram publishing when the project can publish there — in this
 * version, Instagram items in MOCK_MODE (the mock publisher) — otherwise
 * the manual queue. The publishing capability refines "can publish" with
 * the project's connected channel.
 */
/* direct_instagram for an Instagram post when the project can publish there
   (an active Instagram connection, or MOCK_MODE, where the mock publisher
   stands in), otherwise manual_export. */
static const char *default_strategy(PGconn *c, int64_t project_id, const char *channel)
{
    if (strcmp(channel, "instagram") != 0)
        return "manual_export";
    if (cl_cfg.mock_mode)
        return "direct_instagram";
    char pid[24];
    snprintf(pid, sizeof pid, "%" PRId64, project_id);
    PGresult *r = cl_db_query(c,
                              "SELECT 1 FROM channel_connections WHERE project_id = $1::bigint"
                              " AND channel = 'instagram' AND status = 'active'",
                              1, (const char *[]){pid});
    int active = cl_db_ok(r) && PQntuples(r) > 0;
    PQclear(r);
    return active ? "direct_instagram" : "manual_export";
}

static int known_channel(const char *ch)
{
    return ch && (!strcmp(ch, "instagram") || !strcmp(ch, "tiktok") || !strcmp(ch, "whatsapp"));
}

/* ---- request bodies ------------------------------------------------------------ */

int cl_pack_generate_body(const cJSON *body, const char **request_id, int *replace, const char **brief, cl_body_err *e)
{
    const cJSON *rp = cJSON_GetObjectItem(body, "replace"), *b = cJSON_GetObjectItem(body, "brief");
    *request_id = cJSON_GetStringValue(cJSON_GetObjectItem(body, "request_id"));
    *replace = cJSON_IsTrue(rp);
    *brief = cJSON_IsString(b) ? b->valuestring : NULL;
    if (!cl_generate_valid_ref(*request_id))
        return cl_body_field(e, 422, "request_id",
                             "request_id must be 8-100 characters of letters, digits, : _ - (one per click)");
    if (rp && !cJSON_IsBool(rp))
        return cl_body_field(e, 422, "replace", "replace must be true or false");
    if (b && !cJSON_IsNull(b) && !(cJSON_IsString(b) && strlen(b->valuestring) <= CL_CYCLE_BRIEF_MAX))
        return cl_body_field(e, 422, "brief", "brief must be text of at most 1000 characters");
    return 0;
}

int cl_pack_regenerate_body(const cJSON *body, const char **request_id, const char **feedback, cl_body_err *e)
{
    const cJSON *f = cJSON_GetObjectItem(body, "feedback");
    *request_id = cJSON_GetStringValue(cJSON_GetObjectItem(body, "request_id"));
    *feedback = cJSON_GetStringValue(f);
    if (!cl_generate_valid_ref(*request_id))
        return cl_body_field(e, 422, "request_id",
                             "request_id must be 8-100 characters of letters, digits, : _ - (one per click)");
    if (f && !cJSON_IsNull(f) && !(cJSON_IsString(f) && strlen(f->valuestring) <= 500))
        return cl_body_field(e, 422, "feedback", "feedback must be text of at most 500 characters");
    return 0;
}

int cl_pack_patch_body(const cJSON *body, cl_item_patch *out, cl_body_err *e)
{
    const cJSON *caption = cJSON_GetObjectItem(body, "caption"), *cta = cJSON_GetObjectItem(body, "cta");
    out->channel = cJSON_GetStringValue(cJSON_GetObjectItem(body, "channel"));
    out->strategy = cJSON_GetStringValue(cJSON_GetObjectItem(body, "publish_strategy"));
    out->caption = out->cta = NULL;
    const cJSON *k;
    cJSON_ArrayForEach(k, body)
    {
        if (strcmp(k->string, "channel") && strcmp(k->string, "publish_strategy") && strcmp(k->string, "caption") &&
            strcmp(k->string, "cta"))
            return cl_body_field(e, 422, k->string, "Unknown field: send channel, publish_strategy, caption or cta");
    }
    if (cJSON_GetObjectItem(body, "channel") && !known_channel(out->channel))
        return cl_body_field(e, 422, "channel", "channel must be instagram, tiktok or whatsapp");
    if (cJSON_GetObjectItem(body, "publish_strategy") &&
        (!out->strategy || (strcmp(out->strategy, "direct_instagram") && strcmp(out->strategy, "manual_export"))))
        return cl_body_field(e, 422, "publish_strategy", "publish_strategy must be direct_instagram or manual_export");
    if ((caption && !cJSON_IsString(caption)) || (cta && !cJSON_IsString(cta)))
        return cl_body_field(e, 422, caption && !cJSON_IsString(caption) ? "caption" : "cta", "Must be text");
    out->caption = cJSON_GetStringValue(caption);
    out->cta = cJSON_GetStringValue(cta);
    return 0;
}

/* ---- the pack ------------------------------------------------------------------ */

/* The pack answer: exactly CL_CYCLE_PACK_SIZE posts, each a valid draft
   with a title. Returns {"posts":[{title, angle, draft…}…]} or NULL. */
static cJSON *validate_pack(const char *answer, char *why, size_t whylen)
{
    cJSON *in = answer ? cJSON_Parse(answer) : NULL;
    const cJSON *posts = cJSON_GetObjectItem(in, "posts");
    if (!cJSON_IsArray(posts)) {
        snprintf(why, whylen, "the answer must be an object with a \"posts\" array");
        cJSON_Delete(in);
        return NULL;
    }
    if (cJSON_GetArraySize(posts) != CL_CYCLE_PACK_SIZE) {
        snprintf(why, whylen, "exactly %d posts are needed, the answer has %d", CL_CYCLE_PACK_SIZE,
                 cJSON_GetArraySize(posts));
        cJSON_Delete(in);
        return NULL;
    }
    cJSON *out = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(out, "posts");
    int i = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, posts)
    {
        i++;
        const char *title = cJSON_GetStringValue(cJSON_GetObjectItem(p, "title"));
        const char *angle = cJSON_GetStringValue(cJSON_GetObjectItem(p, "angle"));
        char *text = cJSON_PrintUnformatted(p);
        char w[400] = "";
        cJSON *d = text ? cl_draft_validate(text, w, sizeof w) : NULL;
        free(text);
        if (!d || !title || !*title) {
            snprintf(why, whylen, "post %d: %s", i, d ? "title is missing" : w);
            cJSON_Delete(d);
            cJSON_Delete(out);
            cJSON_Delete(in);
            return NULL;
        }
        cJSON_AddStringToObject(d, "title", title);
        cJSON_AddStringToObject(d, "angle", angle && *angle ? angle : "");
        cJSON_AddItemToArray(arr, d);
    }
    cJSON_Delete(in);
    return out;
}

typedef cl_pack_post pack_post;

/*
 * Generate the pack's posts (one model call, one retry at most) for the
 * given per-post channels; every post finished with its channel's rules.
 * CL_OK with posts filled, or a cl_status with e filled.
 */
static int generate_pack(PGconn *c, int64_t project_id, const char *week_start, const char *week_brief,
                         const cJSON *analysis, const char *const *channels_of, pack_post posts[CL_CYCLE_PACK_SIZE],
                         cl_error *e)
{
    cJSON *profile = NULL, *channels = NULL, *names = NULL, *all = NULL;
    cl_buf context = CL_BUF_INIT;
    if (load_grounding(c, project_id, &profile, &context, &channels, e) != 0) {
        cJSON_Delete(profile);
        cJSON_Delete(channels);
        cl_buf_free(&context);
        return CL_EIO;
    }
    int rc = cl_channel_rules_all(&names, &all, e);
    cJSON *ctx = cJSON_CreateObject(), *per = cJSON_AddArrayToObject(ctx, "channels");
    int nch = cJSON_GetArraySize(channels);
    for (int i = 0; i < CL_CYCLE_PACK_SIZE; i++) {
        const char *ch = channels_of && channels_of[i] ? channels_of[i]
                                                       : cJSON_GetStringValue(cJSON_GetArrayItem(channels, i % nch));
        snprintf(posts[i].channel, sizeof posts[i].channel, "%s", ch && all && cJSON_GetObjectItem(all, ch) ? ch : "instagram");
        cJSON_AddItemToArray(per, cJSON_CreateString(posts[i].channel));
    }
    cJSON_AddNumberToObject(ctx, "count", CL_CYCLE_PACK_SIZE);
    cJSON_AddItemToObject(ctx, "profile", profile);
    cJSON_AddStringToObject(ctx, "context", context.data ? context.data : "");
    cJSON_AddStringToObject(ctx, "brief", week_brief ? week_brief : "");
    cJSON_AddStringToObject(ctx, "week_start", week_start);
    if (all)
        cJSON_AddItemToObject(ctx, "all_rules", cJSON_Duplicate(all, 1));
    if (analysis)
        cJSON_AddItemToObject(ctx, "analysis", cJSON_Duplicate(analysis, 1));
    const char *lang = cJSON_GetStringValue(cJSON_GetObjectItem(profile, "language_style"));
    char lang_s[16];
    snprintf(lang_s, sizeof lang_s, "%s", lang ? lang : "english");
    cl_buf_free(&context);
    cJSON_Delete(channels);

    cJSON *answer = NULL, *meta = cJSON_CreateObject();
    if (rc == CL_OK)
        rc = cl_llm_json(NULL, "posts", ctx, validate_pack, PACK_MAX_CALLS, &answer, meta, e);
    cJSON_Delete(ctx);
    if (rc == CL_OK) {
        cJSON *arr = cJSON_GetObjectItem(answer, "posts");
        for (int i = 0; i < CL_CYCLE_PACK_SIZE; i++) {
            cJSON *d = cJSON_DetachItemFromArray(arr, 0);
            const char *title = cJSON_GetStringValue(cJSON_GetObjectItem(d, "title"));
            const char *angle_p = cJSON_GetStringValue(cJSON_GetObjectItem(d, "angle"));
            char angle[64];
            snprintf(angle, sizeof angle, "%s", angle_p ? angle_p : "");
            utf8_copy(posts[i].title, sizeof posts[i].title, title ? title : "");
            cJSON *brief = cJSON_CreateObject();
            cJSON_AddStringToObject(brief, "title", posts[i].title);
            cJSON_AddStringToObject(brief, "angle", angle);
            cJSON_AddStringToObject(brief, "channel", posts[i].channel);
            cJSON_AddStringToObject(brief, "week_brief", week_brief ? week_brief : "");
            cJSON_AddStringToObject(brief, "language_style", lang_s);
            cJSON_AddStringToObject(brief, "source", "strategy_cycle");
            cJSON *m = cJSON_Duplicate(meta, 1);
            cJSON_AddNumberToObject(m, "pack_position", i + 1);
            cJSON *draft = cl_draft_finish(d, posts[i].channel, all, brief, m);
            cJSON_AddStringToObject(draft, "title", posts[i].title);
            cJSON_AddStringToObject(draft, "angle", angle);
            posts[i].draft = cJSON_PrintUnformatted(draft);
            posts[i].brief = cJSON_PrintUnformatted(brief);
            cJSON_Delete(draft);
            cJSON_Delete(brief);
            if (!posts[i].draft || !posts[i].brief) {
                rc = e->code = CL_ENOMEM;
                snprintf(e->message, sizeof e->message, "out of memory");
            }
        }
    }
    cJSON_Delete(meta);
    cJSON_Delete(answer);
    cJSON_Delete(names);
    cJSON_Delete(all);
    return rc;
}

static void free_posts(pack_post posts[CL_CYCLE_PACK_SIZE])
{
    for (int i = 0; i < CL_CYCLE_PACK_SIZE; i++) {
        free(posts[i].draft);
        free(posts[i].brief);
        posts[i].draft = posts[i].brief = NULL;
    }
}

int cl_cycles_generate_pack(PGconn *c, int64_t project_id, const char *week_start, const char *week_brief,
                            const cJSON *analysis, const char *const *channels, cl_pack_post posts[CL_CYCLE_PACK_SIZE],
                            cl_error *e)
{
    return generate_pack(c, project_id, week_start, week_brief, analysis, channels, posts, e);
}

void cl_cycles_free_pack(cl_pack_post posts[CL_CYCLE_PACK_SIZE]) { free_posts(posts); }

int cl_cycles_limit_and_charge(PGconn *c, const cl_user *u, const char *action, int units, const char *key,
                               int skip_limit, cl_receipt *receipt, cl_res *res)
{
    return limit_and_charge(c, u, action, units, key, skip_limit, receipt, res);
}

/* Store the pack in one transaction: replace (skip) the live items, insert
   the posts, mark the cycle. 0 or -1. */
static int store_pack(PGconn *c, const cl_user *u, const cl_cycle *cy, const char *request_id, const char *ref,
                      const char *week_brief, pack_post posts[CL_CYCLE_PACK_SIZE], char *err, size_t errlen)
{
    char cid[CL_DB_ID_LEN], uid[CL_DB_ID_LEN], pid[CL_DB_ID_LEN];
    cl_db_id(cid, cy->id), cl_db_id(uid, u->id), cl_db_id(pid, cy->project_id);
    if (cl_db_begin(c) != 0) {
        snprintf(err, errlen, "begin failed");
        return -1;
    }
    PGresult *r = cl_db_query(c,
                              "SELECT id FROM content_items WHERE cycle_id = $1 AND publish_status <> 'skipped'"
                              " ORDER BY position FOR UPDATE",
                              1, (const char *[]){cid});
    int ok = cl_db_ok(r);
    for (int i = 0; ok && i < PQntuples(r); i++) {
        cl_pub_state cur;
        int t = cl_item_transition(c, strtoll(PQgetvalue(r, i, 0), NULL, 10), u->id, CL_PUB_SKIPPED, NULL, 0, NULL,
                                   &cur, err, errlen);
        if (t != CL_TRANSITION_OK) {
            if (t == CL_TRANSITION_REFUSED)
                snprintf(err, errlen, "item %s is %s", PQgetvalue(r, i, 0), cl_pub_state_name(cur));
            ok = 0;
        }
    }
    if (!ok && !err[0])
        cl_db_errmsg(c, r, err, errlen);
    PQclear(r);
    for (int i = 0; ok && i < CL_CYCLE_PACK_SIZE; i++) {
        char pos[16], key[200];
        snprintf(pos, sizeof pos, "%d", i + 1);
        snprintf(key, sizeof key, "%s:%d", ref, i + 1);
        const char *q[] = {uid, pid, cid, pos, posts[i].channel, posts[i].draft, posts[i].brief, posts[i].title,
                           key, default_strategy(c, strtoll(pid, NULL, 10), posts[i].channel)};
        ok = cl_db_exec(c,
                        "INSERT INTO content_items (user_id, project_id, cycle_id, position, source, channel, draft,"
                        " brief, title, request_key, publish_strategy)"
                        " VALUES ($1, $2, $3, $4, 'cycle', $5, $6::jsonb, $7::jsonb, $8, $9, $10)",
                        10, q, err, errlen) == 0;
    }
    if (ok) {
        const char *q[] = {cid, request_id, week_brief};
        ok = cl_db_exec(c,
                        "UPDATE strategy_cycles SET pack_status = 'ready', pack_request_id = $2,"
                        " packs_generated = packs_generated + 1,"
                        " status = CASE WHEN status = 'planned' THEN 'active' ELSE status END,"
                        " brief = $3, updated_at = now() WHERE id = $1",
                        3, q, err, errlen) == 0;
    }
    if (ok && cl_db_commit(c) == 0)
        return 0;
    cl_db_rollback(c);
    return -1;
}

/* Put the cycle's pack_status back (generation failed). */
static void restore_pack_status(PGconn *c, const cl_cycle *cy)
{
    char cid[24], err[256];
    const char *q[] = {cl_db_id(cid, cy->id), strcmp(cy->pack_status, "ready") == 0 ? "ready" : "none"};
    if (cl_db_exec(c, "UPDATE strategy_cycles SET pack_status = $2, updated_at = now() WHERE id = $1", 2, q, err,
                   sizeof err) != 0)
        cl_error(COMP, "restore pack status of cycle %s: %s", cid, err);
}

/* The week with the charge's receipt added. */
static void reply_week(cl_res *res, PGconn *c, const cl_user *u, int64_t cycle_id, int status,
                       const cl_receipt *receipt)
{
    cl_cycle cy;
    if (cl_cycle_load(c, cycle_id, u->id, 0, &cy, res) == 1) {
        cJSON *extra = cJSON_CreateObject();
        cJSON *rs = cJSON_AddArrayToObject(extra, "receipts");
        if (receipt)
            cJSON_AddItemToArray(rs, cl_receipt_json(receipt));
        cl_cycles_reply_week(res, c, u, &cy, status, extra);
    }
    cl_cycle_clear(&cy);
}

/* POST /api/strategy-cycles/:id/generate-posts {request_id, replace?, brief?} */
static void generate_posts(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = cl_req_json(req, res);
    cl_cycle cy;
    memset(&cy, 0, sizeof cy);
    int locked = 0;
    if (!body)
        goto out;
    const char *request_id, *brief;
    int replace;
    cl_body_err be = {0};
    if (cl_pack_generate_body(body, &request_id, &replace, &brief, &be) != 0) {
        cl_res_body_error(res, &be);
        goto out;
    }
    if (cl_cycle_load(c, cl_req_param_id(req, "id"), u->id, 0, &cy, res) != 1)
        goto out;
    if (!lock_or_reply(c, LOCK_CYCLE, cy.id, res, "the generation", "pack_in_progress",
                       "This week's pack is being generated right now; wait for it"))
        goto out;
    locked = 1;
    cl_cycle_clear(&cy); /* re-read under the lock */
    if (cl_cycle_load(c, cl_req_param_id(req, "id"), u->id, 0, &cy, res) != 1)
        goto out;

    char ref[160];
    snprintf(ref, sizeof ref, "cycle:%" PRId64 ":pack:%s", cy.id, request_id);
    int state = cl_generate_charge_state(c, u->id, ref);
    if (state < 0) {
        cl_res_error(res, 500, "internal", "Could not read your credits; nothing was charged");
        goto out;
    }
    cl_receipt receipt;
    memset(&receipt, 0, sizeof receipt);
    /* The same request again: its pack (replayed), or its refund (409). */
    if (strcmp(cy.pack_request_id, request_id) == 0 && strcmp(cy.pack_status, "ready") == 0) {
        char err[256];
        int rc = cl_credits_charge(c, u->id, CL_ACTION_CYCLE_POSTS, ref, &receipt, err, sizeof err);
        if (rc != CL_CREDITS_OK)
            cl_credits_reply_error(res, rc, &receipt, err);
        else
            reply_week(res, c, u, cy.id, 200, &receipt);
        goto out;
    }
    if (state == CL_CHARGE_REFUNDED) {
        cl_res_error(res, 409, "request_already_failed",
                     "This request failed earlier and was refunded; generate again with a new request");
        goto out;
    }
    if (strcmp(cy.pack_status, "ready") == 0 && !replace) {
        cl_res_error(res, 409, "pack_exists",
                     "This week already has its pack. Send replace:true to generate a new one (charged again).");
        goto out;
    }
    if (strcmp(cy.pack_status, "ready") == 0) {
        char cid[24];
        snprintf(cid, sizeof cid, "%" PRId64, cy.id);
        PGresult *r = cl_db_query(c,
                                  "SELECT count(*) FROM content_items WHERE cycle_id = $1"
                                  " AND publish_status IN ('scheduled', 'publishing', 'published')",
                                  1, (const char *[]){cid});
        long busy = cl_db_ok(r) ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;
        PQclear(r);
        if (busy != 0) {
            if (busy < 0)
                cl_res_error(res, 500, "internal", "Could not read the week; nothing was charged");
            else
                cl_res_error(res, 409, "pack_in_use",
                             "%ld post%s of this week %s scheduled or published; unschedule them before replacing"
                             " the pack",
                             busy, busy == 1 ? "" : "s", busy == 1 ? "is" : "are");
            goto out;
        }
    }
    /* Limit + charge (a retry of a request whose charge is kept continues it). */
    if (limit_and_charge(c, u, CL_ACTION_CYCLE_POSTS, CL_CYCLE_PACK_SIZE, ref, state == CL_CHARGE_KEPT, &receipt,
                         res) != 0)
        goto out;
    {
        char cid[24], err[256];
        snprintf(cid, sizeof cid, "%" PRId64, cy.id);
        if (cl_db_exec(c, "UPDATE strategy_cycles SET pack_status = 'generating', updated_at = now() WHERE id = $1", 1,
                       (const char *[]){cid}, err, sizeof err) != 0)
            cl_warn(COMP, "mark cycle %s generating: %s", cid, err);
    }

    const char *week_brief = brief ? brief : cy.brief;
    pack_post posts[CL_CYCLE_PACK_SIZE];
    memset(posts, 0, sizeof posts);
    cl_error e;
    int rc = generate_pack(c, cy.project_id, cy.week_start, week_brief, NULL, NULL, posts, &e);
    char err[512] = "";
    if (rc == CL_OK && store_pack(c, u, &cy, request_id, ref, week_brief, posts, err, sizeof err) == 0) {
        cl_info(COMP, "cycle %" PRId64 ": pack of %d posts stored (request %s)", cy.id, CL_CYCLE_PACK_SIZE, request_id);
        reply_week(res, c, u, cy.id, 201, &receipt);
    } else {
        /* No partial pack: nothing was stored; give the credits back. */
        int refunded = refund(c, u->id, ref) == 0;
        restore_pack_status(c, &cy);
        if (rc == CL_OK) {
            cl_error(COMP, "store pack of cycle %" PRId64 ": %s", cy.id, err);
            cl_res_error(res, 500, "internal", "Could not store the pack; %s",
                         refunded ? "your credits were refunded" : "the refund failed and was logged");
        } else {
            cl_warn(COMP, "pack for cycle %" PRId64 " failed (%d): %s; charge refunded", cy.id, e.code, e.message);
            if (e.code == CL_EIO)
                cl_res_error(res, 500, "internal", "%s; your credits were refunded", e.message);
            else
                cl_generation_error_reply(res, &e);
        }
    }
    free_posts(posts);
out:
    if (locked)
        try_lock(c, LOCK_CYCLE, cy.id, 0);
    cl_cycle_clear(&cy);
    cJSON_Delete(body);
}

/* ---- regenerate one item ------------------------------------------------------------ */

typedef struct item_row {
    int64_t id, project_id, cycle_id;
    int position;
    char channel[16], strategy[24], state[16], title[201];
    char *draft, *brief;
} item_row;

static void item_row_clear(item_row *it)
{
    free(it->draft);
    free(it->brief);
    memset(it, 0, sizeof *it);
}

/* 1 found, 0 not (404 set), -1 (500 set). */
static int load_item(PGconn *c, int64_t id, int64_t user_id, item_row *it, cl_res *res)
{
    memset(it, 0, sizeof *it);
    char sid[CL_DB_ID_LEN], uid[CL_DB_ID_LEN];
    cl_db_id(sid, id);
    PGresult *r = cl_db_query(
        c,
        "SELECT id, project_id, coalesce(cycle_id, 0), coalesce(position, 0), channel,"
        " publish_strategy, publish_status, title, draft::text, coalesce(brief, '{}'::jsonb)::text"
        " FROM content_items WHERE id = $1 AND user_id = $2",
        2, (const char *[]){sid, cl_db_id(uid, user_id)});
    int one = cl_res_db_one(res, COMP, c, r, "read item", "No content item %s", sid);
    if (one != 1)
        return one;
    static const cl_db_row_field fields[] = {
        CL_ROW_I64(item_row, id, 0),        CL_ROW_I64(item_row, project_id, 1),
        CL_ROW_I64(item_row, cycle_id, 2),  CL_ROW_INT(item_row, position, 3),
        CL_ROW_CHARS(item_row, channel, 4), CL_ROW_CHARS(item_row, strategy, 5),
        CL_ROW_CHARS(item_row, state, 6),   CL_ROW_CHARS(item_row, title, 7),
        CL_ROW_STRDUP(item_row, draft, 8),  CL_ROW_STRDUP(item_row, brief, 9),
    };
    cl_db_row_read(r, 0, it, fields, CL_DB_NCOLS(fields));
    PQclear(r);
    return 1;
}

/* One new version of an item's draft (regenerate.lua + the channel rules). */
static int regenerate_draft(PGconn *c, const item_row *it, const char *feedback, char **draft_out, cl_error *e)
{
    *draft_out = NULL;
    cJSON *profile = NULL, *channels = NULL, *names = NULL, *all = NULL;
    cl_buf context = CL_BUF_INIT;
    if (load_grounding(c, it->project_id, &profile, &context, &channels, e) != 0) {
        cJSON_Delete(profile);
        cJSON_Delete(channels);
        cl_buf_free(&context);
        return CL_EIO;
    }
    cJSON_Delete(channels);
    int rc = cl_channel_rules_all(&names, &all, e);
    cJSON *brief = cJSON_Parse(it->brief), *previous = cJSON_Parse(it->draft);
    if (!cJSON_IsObject(brief)) {
        cJSON_Delete(brief);
        brief = cJSON_CreateObject();
    }
    cJSON *ctx = cJSON_CreateObject();
    cJSON_AddItemToObject(ctx, "brief", cJSON_Duplicate(brief, 1));
    cJSON_AddItemToObject(ctx, "profile", profile);
    cJSON_AddStringToObject(ctx, "context", context.data ? context.data : "");
    cJSON_AddStringToObject(ctx, "channel", it->channel);
    if (all) {
        cJSON_AddItemToObject(ctx, "rules", cJSON_Duplicate(cJSON_GetObjectItem(all, it->channel), 1));
        cJSON_AddItemToObject(ctx, "all_rules", cJSON_Duplicate(all, 1));
    }
    cJSON_AddItemToObject(ctx, "previous", previous ? previous : cJSON_CreateObject());
    cJSON_AddStringToObject(ctx, "feedback", feedback ? feedback : "");
    cl_buf_free(&context);
    cJSON *answer = NULL, *meta = cJSON_CreateObject();
    if (rc == CL_OK)
        rc = cl_llm_json(NULL, "regenerate", ctx, cl_draft_validate, CL_CREATE_MAX_ATTEMPTS, &answer, meta, e);
    cJSON_Delete(ctx);
    if (rc == CL_OK) {
        cJSON *prev = cJSON_Parse(it->draft);
        cJSON *draft = cl_draft_finish(answer, it->channel, all, brief, meta);
        meta = NULL;
        const char *angle = cJSON_GetStringValue(cJSON_GetObjectItem(prev, "angle"));
        cJSON_AddStringToObject(draft, "title", it->title);
        cJSON_AddStringToObject(draft, "angle", angle ? angle : "");
        *draft_out = cJSON_PrintUnformatted(draft);
        cJSON_Delete(draft);
        cJSON_Delete(prev);
    }
    cJSON_Delete(meta);
    cJSON_Delete(brief);
    cJSON_Delete(names);
    cJSON_Delete(all);
    return rc;
}

/* POST /api/content-items/:id/regenerate {request_id, feedback?} — generation 1,
   3 per week; the old item is kept as skipped, the new one takes its place. */
static void regenerate(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = cl_req_json(req, res);
    item_row it;
    memset(&it, 0, sizeof it);
    int locked = 0;
    int64_t id = cl_req_param_id(req, "id");
    if (!body)
        goto out;
    const char *request_id, *feedback;
    cl_body_err be = {0};
    if (cl_pack_regenerate_body(body, &request_id, &feedback, &be) != 0) {
        cl_res_body_error(res, &be);
        goto out;
    }
    if (load_item(c, id, u->id, &it, res) != 1)
        goto out;
    if (!lock_or_reply(c, LOCK_ITEM, id, res, "the regeneration", "regeneration_in_progress",
                       "This post is being regenerated right now"))
        goto out;
    locked = 1;
    char ref[160], uid[24];
    snprintf(ref, sizeof ref, "regen:%" PRId64 ":%s", id, request_id);
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    /* A retry of a request that already produced its item: replay. */
    PGresult *r = cl_db_query(c, "SELECT id FROM content_items WHERE user_id = $1 AND request_key = $2", 2,
                              (const char *[]){uid, ref});
    int64_t existing = cl_db_ok(r) && PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    int state = cl_generate_charge_state(c, u->id, ref);
    cl_receipt receipt;
    memset(&receipt, 0, sizeof receipt);
    if (existing) {
        char err[256];
        int rc = cl_credits_charge(c, u->id, CL_ACTION_REGENERATE, ref, &receipt, err, sizeof err);
        if (rc != CL_CREDITS_OK) {
            cl_credits_reply_error(res, rc, &receipt, err);
        } else {
            cl_cycles_reply_item(res, c, 200, existing, u->id);
        }
        goto out;
    }
    if (state == CL_CHARGE_REFUNDED) {
        cl_res_error(res, 409, "request_already_failed",
                     "This request failed earlier and was refunded; regenerate again with a new request");
        goto out;
    }
    /* The old item must be replaceable (it becomes skipped). */
    cl_pub_state cur = CL_PUB_DRAFT;
    cl_pub_state_parse(it.state, &cur);
    if (!cl_pub_transition_allowed(cur, CL_PUB_SKIPPED)) {
        cl_transition_refused_reply(res, id, cur, CL_PUB_SKIPPED);
        goto out;
    }
    if (limit_and_charge(c, u, CL_ACTION_REGENERATE, 1, ref, state == CL_CHARGE_KEPT, &receipt, res) != 0)
        goto out;
    char *draft = NULL;
    cl_error e;
    int rc = regenerate_draft(c, &it, feedback, &draft, &e);
    char err[512] = "";
    int64_t new_id = 0;
    if (rc == CL_OK && cl_db_begin(c) == 0) {
        int t = cl_item_transition(c, id, u->id, CL_PUB_SKIPPED, NULL, 0, NULL, &cur, err, sizeof err);
        if (t == CL_TRANSITION_OK) {
            char sid[24], pid[24], cid[24], pos[16];
            snprintf(sid, sizeof sid, "%" PRId64, id);
            snprintf(pid, sizeof pid, "%" PRId64, it.project_id);
            snprintf(cid, sizeof cid, "%" PRId64, it.cycle_id);
            snprintf(pos, sizeof pos, "%d", it.position);
            const char *q[] = {uid, pid, it.cycle_id ? cid : NULL, it.position ? pos : NULL, it.channel, draft,
                               it.brief, it.title, ref, it.strategy, sid};
            PGresult *ins = cl_db_query(c,
                                        "INSERT INTO content_items (user_id, project_id, cycle_id, position, source,"
                                        " channel, draft, brief, title, request_key, publish_strategy, parent_id)"
                                        " VALUES ($1, $2, $3, $4, 'regenerate', $5, $6::jsonb, $7::jsonb, $8, $9, $10,"
                                        " $11) RETURNING id",
                                        11, q);
            if (cl_db_ok(ins) && PQntuples(ins) == 1)
                new_id = strtoll(PQgetvalue(ins, 0, 0), NULL, 10);
            else
                cl_db_errmsg(c, ins, err, sizeof err);
            PQclear(ins);
        } else if (t == CL_TRANSITION_REFUSED) {
            snprintf(err, sizeof err, "the item became %s meanwhile", cl_pub_state_name(cur));
        }
        if (!new_id || cl_db_commit(c) != 0) {
            cl_db_rollback(c);
            new_id = 0;
        }
    }
    free(draft);
    if (new_id) {
        cl_info(COMP, "item %" PRId64 " regenerated as %" PRId64, id, new_id);
        char sid[24], nid[24];
        snprintf(sid, sizeof sid, "%" PRId64, id);
        snprintf(nid, sizeof nid, "%" PRId64, new_id);
        cJSON *arr = cl_cycles_items_json(c, "WHERE i.id = $1 AND i.user_id = $2", 2, (const char *[]){nid, uid}, "UTC");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "item", arr ? cJSON_DetachItemFromArray(arr, 0) : cJSON_CreateNull());
        cJSON_Delete(arr);
        cJSON_AddNumberToObject(o, "replaced_id", (double)id);
        cJSON *rs = cJSON_AddArrayToObject(o, "receipts");
        cJSON_AddItemToArray(rs, cl_receipt_json(&receipt));
        cl_res_json(res, 201, o);
    } else {
        int refunded = refund(c, u->id, ref) == 0;
        if (rc != CL_OK) {
            cl_warn(COMP, "regeneration of item %" PRId64 " failed (%d): %s; charge refunded", id, e.code, e.message);
            if (e.code == CL_EIO)
                cl_res_error(res, 500, "internal", "%s; your credit was refunded", e.message);
            else
                cl_generation_error_reply(res, &e);
        } else if (err[0] && strstr(err, "meanwhile")) {
            cl_res_error(res, 409, "invalid_transition", "Item %" PRId64 ": %s; your credit was refunded", id, err);
        } else {
            cl_error(COMP, "store regeneration of item %" PRId64 ": %s", id, err);
            cl_res_error(res, 500, "internal", "Could not store the new version; %s",
                         refunded ? "your credit was refunded" : "the refund failed and was logged");
        }
    }
out:
    if (locked)
        try_lock(c, LOCK_ITEM, id, 0);
    item_row_clear(&it);
    cJSON_Delete(body);
}

/* ---- render all ---------------------------------------------------------------------- */

/* POST /api/strategy-cycles/:id/render-all — render 1 per live item that is
   not rendered or rendering; all affordable (and within the plan) or none. */
static void render_all(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cl_cycle cy;
    if (cl_cycle_load(c, cl_req_param_id(req, "id"), u->id, 0, &cy, res) != 1) {
        cl_cycle_clear(&cy);
        return;
    }
    if (!lock_or_reply(c, LOCK_CYCLE, cy.id, res, "the new week", "pack_in_progress",
                       "The pack is being generated; wait for it")) {
        cl_cycle_clear(&cy);
        return;
    }
    char cid[24], uid[24], err[256];
    snprintf(cid, sizeof cid, "%" PRId64, cy.id);
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    PGresult *r = cl_db_query(c,
                              "SELECT id, status FROM content_items WHERE cycle_id = $1 AND user_id = $2"
                              " AND publish_status <> 'skipped' ORDER BY position, id",
                              2, (const char *[]){cid, uid});
    int64_t todo[32];
    int n = 0;
    cJSON *o = cJSON_CreateObject(), *skipped = cJSON_AddArrayToObject(o, "not_rendered");
    for (int i = 0; cl_db_ok(r) && i < PQntuples(r) && n < 32; i++) {
        const char *st = PQgetvalue(r, i, 1);
        if (!strcmp(st, "draft") || !strcmp(st, "render_failed")) {
            todo[n++] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        } else {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddNumberToObject(x, "id", strtod(PQgetvalue(r, i, 0), NULL));
            cJSON_AddStringToObject(x, "reason", st);
            cJSON_AddItemToArray(skipped, x);
        }
    }
    int ok = cl_db_ok(r);
    PQclear(r);
    if (!ok) {
        cl_res_error(res, 500, "internal", "Could not read the week; nothing was charged");
        goto done;
    }
    /* All or nothing up front: the plan's renders and the render balance. */
    if (n > 0) {
        if (cl_credits_grant_monthly(c, u->id, u->plan, NULL, err, sizeof err) < 0)
            cl_warn(COMP, "monthly grant: %s", err);
        if (cl_limits_check(c, u, CL_ACTION_CONTENT_RENDER, n, res) != 0)
            goto done;
        cl_balance bal;
        memset(&bal, 0, sizeof bal);
        const cl_action_cost *a = cl_policy_action(CL_ACTION_CONTENT_RENDER);
        int64_t need = (int64_t)n * (a ? a->cost : 1);
        if (cl_credits_balance(c, u->id, &bal, err, sizeof err) < 0) {
            cl_res_error(res, 500, "internal", "Could not read your credits; nothing was charged");
            goto done;
        }
        if (bal.render < need) {
            cl_receipt rc;
            memset(&rc, 0, sizeof rc);
            snprintf(rc.action, sizeof rc.action, "%s", CL_ACTION_CONTENT_RENDER);
            snprintf(rc.kind, sizeof rc.kind, "render");
            rc.needed = need;
            rc.available = bal.render;
            cl_credits_reply_error(res, CL_CREDITS_INSUFFICIENT, &rc, NULL);
            goto done;
        }
    }
    cJSON *rs = cJSON_AddArrayToObject(o, "receipts"), *jobs = cJSON_AddArrayToObject(o, "renders");
    int64_t charged = 0;
    for (int i = 0; i < n; i++) {
        cl_render_order ord;
        cl_res one;
        memset(&one, 0, sizeof one);
        if (cl_content_request_render(c, u, todo[i], CL_ACTION_CONTENT_RENDER, &ord, &one) != 0) {
            /* this item could not be charged (e.g. credits spent meanwhile): say so, keep the others */
            cJSON *x = cJSON_CreateObject();
            cJSON_AddNumberToObject(x, "id", (double)todo[i]);
            cJSON_AddStringToObject(x, "reason", one.status == 402 ? "insufficient_credits" : "error");
            cJSON_AddItemToArray(skipped, x);
            cl_res_clear(&one);
            continue;
        }
        cl_res_clear(&one);
        cJSON *x = cl_render_order_json(&ord);
        cJSON_AddNumberToObject(x, "content_item_id", (double)todo[i]);
        cJSON_AddItemToArray(jobs, x);
        if (!ord.already) {
            cJSON_AddItemToArray(rs, cl_receipt_json(&ord.receipt));
            charged += -ord.receipt.amount;
        }
    }
    cJSON_AddNumberToObject(o, "charged", (double)charged);
    cJSON *items = cl_cycles_items_json(
        c, LIVE_ITEMS, 2, (const char *[]){cid, uid}, cy.timezone);
    cJSON_AddItemToObject(o, "items", items ? items : cJSON_CreateArray());
    cl_res_json(res, n > 0 ? 202 : 200, o);
    o = NULL;
done:
    cJSON_Delete(o);
    try_lock(c, LOCK_CYCLE, cy.id, 0);
    cl_cycle_clear(&cy);
}

/* ---- PATCH an item ------------------------------------------------------------------------ */

/* Code points of s that are emoji (pictographs, dingbats, symbols), per line:
   the largest count on one line into *per_line, the total returned. */
static int count_emoji(const char *s, int *per_line)
{
    int total = 0, line = 0;
    *per_line = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp;
        int len;
        if (*p < 0x80) {
            cp = *p;
            len = 1;
        } else if ((*p & 0xE0) == 0xC0) {
            cp = *p & 0x1F;
            len = 2;
        } else if ((*p & 0xF0) == 0xE0) {
            cp = *p & 0x0F;
            len = 3;
        } else {
            cp = *p & 0x07;
            len = 4;
        }
        for (int i = 1; i < len && p[i]; i++)
            cp = (cp << 6) | (p[i] & 0x3F);
        if (cp == '\n')
            line = 0;
        int emoji = (cp >= 0x1F000 && cp <= 0x1FAFF && !(cp >= 0x1F3FB && cp <= 0x1F3FF)) ||
                    (cp >= 0x2600 && cp <= 0x27BF) || (cp >= 0x2B00 && cp <= 0x2BFF);
        if (emoji) {
            total++;
            if (++line > *per_line)
                *per_line = line;
        }
        for (int i = 0; i < len && *p; i++)
            p++;
    }
    return total;
}

static int inline_tags(const char *s)
{
    int n = 0;
    for (const char *p = s; *p; p++)
        if (*p == '#' && (p == s || isspace((unsigned char)p[-1])) && (isalnum((unsigned char)p[1]) || (unsigned char)p[1] >= 0x80))
            n++;
    return n;
}

static double rule_num(const cJSON *rules, const char *a, const char *b, double def)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(rules, a), b);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* 422 naming the rule: {"error":{"code":"channel_rule","rule","field","message"}}. */
static void rule_violation(cl_res *res, const char *field, const char *channel, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void rule_violation(cl_res *res, const char *field, const char *channel, const char *rule, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", "channel_rule_violated");
    cJSON_AddStringToObject(e, "message", msg);
    char full[96];
    snprintf(full, sizeof full, "%s.%s", channel, rule);
    cJSON_AddStringToObject(e, "rule", full);
    cJSON_AddStringToObject(e, "field", field);
    cJSON *fields = cJSON_AddObjectToObject(e, "fields");
    cJSON_AddStringToObject(fields, field, msg);
    cl_res_json(res, 422, o);
}

/* Hand-edited text against the channel's rules. 0 ok, 1 reply set. */
static int check_text(cl_res *res, const char *field, const char *text, const char *channel, const cJSON *rules,
                      int tags_in_list)
{
    size_t n = cl_utf8_chars(text);
    if (!*text || strspn(text, " \t\r\n") == strlen(text)) {
        rule_violation(res, field, channel, "required", "The %s cannot be empty", field);
        return 1;
    }
    if (!strcmp(field, "cta")) {
        int max = (int)rule_num(rules, "cta", "max_chars", 100);
        if (strchr(text, '\n')) {
            rule_violation(res, field, channel, "cta.single_line", "The CTA must be a single line on %s", channel);
            return 1;
        }
        if ((int)n > max) {
            rule_violation(res, field, channel, "cta.max_chars", "The CTA is %zu characters; %s allows %d", n, channel, max);
            return 1;
        }
    } else {
        int max = (int)rule_num(rules, "caption", "max_chars", 2200);
        if ((int)n > max) {
            rule_violation(res, field, channel, "caption.max_chars", "The caption is %zu characters; %s allows %d", n,
                           channel, max);
            return 1;
        }
    }
    int max_tags = (int)rule_num(rules, "hashtags", "max", -1);
    int tags = inline_tags(text) + (strcmp(field, "caption") == 0 ? tags_in_list : 0);
    if (max_tags >= 0 && tags > max_tags) {
        if (max_tags == 0)
            rule_violation(res, field, channel, "hashtags.max", "%s posts take no hashtags; remove the %d in the %s",
                           channel, tags, field);
        else
            rule_violation(res, field, channel, "hashtags.max", "%s allows %d hashtags; the %s has %d", channel,
                           max_tags, field, tags);
        return 1;
    }
    int per_line_max = (int)rule_num(rules, "emoji", "max_per_line", -1);
    int total_max = (int)rule_num(rules, "emoji", "max_total", -1);
    int per_line = 0, total = count_emoji(text, &per_line);
    if (per_line_max >= 0 && per_line > per_line_max) {
        rule_violation(res, field, channel, "emoji.max_per_line", "%s allows %d emoji per line; one line has %d",
                       channel, per_line_max, per_line);
        return 1;
    }
    if (total_max >= 0 && total > total_max) {
        rule_violation(res, field, channel, "emoji.max_total", "%s allows %d emoji in the %s; it has %d", channel,
                       total_max, field, total);
        return 1;
    }
    return 0;
}

/* PATCH /api/content-items/:id {channel?, publish_strategy?, caption?, cta?} */
static void patch_item(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = cl_req_json(req, res), *draft = NULL, *names = NULL, *all = NULL, *adj = NULL;
    item_row it;
    memset(&it, 0, sizeof it);
    int64_t id = cl_req_param_id(req, "id");
    if (!body || load_item(c, id, u->id, &it, res) != 1)
        goto out;
    cl_item_patch in;
    cl_body_err be = {0};
    if (cl_pack_patch_body(body, &in, &be) != 0) {
        cl_res_body_error(res, &be);
        goto out;
    }
    const char *channel = in.channel, *strategy = in.strategy, *caption = in.caption, *cta = in.cta;
    /* Editing is for items not yet on their way out. */
    cl_pub_state cur = CL_PUB_DRAFT;
    cl_pub_state_parse(it.state, &cur);
    if (cur != CL_PUB_DRAFT && cur != CL_PUB_APPROVED && cur != CL_PUB_FAILED) {
        cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "code", "item_locked");
        char msg[200];
        snprintf(msg, sizeof msg, "Item %" PRId64 " is %s; %s", id, it.state,
                 cur == CL_PUB_SCHEDULED ? "unschedule it before editing" : "it can no longer be edited");
        cJSON_AddStringToObject(e, "message", msg);
        cJSON_AddStringToObject(e, "current_state", it.state);
        cl_res_json(res, 409, o);
        goto out;
    }
    cl_error e;
    memset(&e, 0, sizeof e);
    if (cl_channel_rules_all(&names, &all, &e) != CL_OK) {
        cl_res_error(res, 503, "rules_unavailable", "The channel rules could not be loaded: %s", e.message);
        goto out;
    }
    draft = cJSON_Parse(it.draft);
    if (!cJSON_IsObject(draft)) {
        cl_res_error(res, 409, "invalid_draft", "Item %" PRId64 " has no editable draft", id);
        goto out;
    }
    const char *target = channel ? channel : it.channel;
    const cJSON *rules = cJSON_GetObjectItem(all, target);
    adj = cJSON_CreateArray();
    /* Switch channel: that channel's variant (already generated, no model
       call) with its rules re-applied; without a variant, the current copy
       under the new channel's rules. */
    if (channel && strcmp(channel, it.channel) != 0) {
        cJSON *variants = cJSON_GetObjectItem(draft, "variants");
        if (!cJSON_IsObject(variants)) {
            cJSON_DeleteItemFromObject(draft, "variants");
            variants = cJSON_AddObjectToObject(draft, "variants");
        }
        if (!cJSON_GetObjectItem(variants, channel)) {
            cJSON *v = cJSON_CreateObject();
            static const char *const keys[] = {"caption", "cta", "hook"};
            for (size_t i = 0; i < 3; i++) {
                const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(draft, keys[i]));
                cJSON_AddStringToObject(v, keys[i], s ? s : "");
            }
            cJSON_AddItemToObject(v, "hashtags", cJSON_Duplicate(cJSON_GetObjectItem(draft, "hashtags"), 1));
            cJSON_AddItemToObject(variants, channel, v);
        }
        char label[64];
        snprintf(label, sizeof label, "variants.%s", channel);
        cl_draft_apply_rules(cJSON_GetObjectItem(variants, channel), rules, label, adj);
        cl_draft_select_channel(draft, channel);
        cl_draft_apply_rules(draft, rules, NULL, adj);
    }
    /* Hand edits: validated against the (new) channel's rules, never cut. */
    const cJSON *tags = cJSON_GetObjectItem(draft, "hashtags");
    int ntags = cJSON_IsArray(tags) ? cJSON_GetArraySize(tags) : 0;
    if (caption && check_text(res, "caption", caption, target, rules, ntags))
        goto out;
    if (cta && check_text(res, "cta", cta, target, rules, 0))
        goto out;
    cJSON *variants = cJSON_GetObjectItem(draft, "variants");
    cJSON *v = cJSON_GetObjectItem(variants, target);
    if (caption) {
        cJSON_ReplaceItemInObject(draft, "caption", cJSON_CreateString(caption));
        if (v)
            cJSON_ReplaceItemInObject(v, "caption", cJSON_CreateString(caption));
    }
    if (cta) {
        cJSON_ReplaceItemInObject(draft, "cta", cJSON_CreateString(cta));
        if (v)
            cJSON_ReplaceItemInObject(v, "cta", cJSON_CreateString(cta));
    }
    /* The strategy: direct publishing is Instagram only in this version. */
    const char *new_strategy = strategy ? strategy : channel && strcmp(channel, it.channel) ? default_strategy(c, it.project_id, target) : it.strategy;
    if (strcmp(new_strategy, "direct_instagram") == 0 && strcmp(target, "instagram") != 0) {
        cl_auth_field_error(res, 422, "publish_strategy",
                            "direct_instagram is for Instagram posts only; TikTok and WhatsApp posts are exported");
        goto out;
    }
    char *text = cJSON_PrintUnformatted(draft);
    char sid[24], uid[24], err[256] = "";
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    /* Changed copy or channel after approval: back to draft for a new look. */
    int content_changed = caption || cta || (channel && strcmp(channel, it.channel));
    if (cl_db_begin(c) != 0) {
        free(text);
        cl_res_error(res, 500, "internal", "Could not save; nothing was changed");
        goto out;
    }
    const char *q[] = {sid, uid, target, text, new_strategy};
    int ok = cl_db_exec(c,
                        "UPDATE content_items SET channel = $3, draft = $4::jsonb, publish_strategy = $5,"
                        " manual_status = CASE WHEN $5 = 'manual_export' AND publish_status = 'approved'"
                        "   THEN coalesce(manual_status, 'ready_for_export')"
                        "   WHEN $5 = 'direct_instagram' THEN NULL ELSE manual_status END,"
                        " updated_at = now() WHERE id = $1 AND user_id = $2",
                        5, q, err, sizeof err) == 0;
    free(text);
    if (ok && content_changed && cur == CL_PUB_APPROVED) {
        cl_pub_state was;
        ok = cl_item_transition(c, id, u->id, CL_PUB_DRAFT, "manual_status = NULL", 0, NULL, &was, err, sizeof err) ==
             CL_TRANSITION_OK;
    }
    if (!ok || cl_db_commit(c) != 0) {
        cl_db_rollback(c);
        cl_error(COMP, "patch item %" PRId64 ": %s", id, err);
        cl_res_error(res, 500, "internal", "Could not save; nothing was changed");
        goto out;
    }
    cl_cycles_reply_item(res, c, 200, id, u->id);
out:
    cJSON_Delete(adj);
    cJSON_Delete(draft);
    cJSON_Delete(names);
    cJSON_Delete(all);
    item_row_clear(&it);
    cJSON_Delete(body);
}

static const cl_user_route signed_in_routes[] = {
    {"POST", "/api/strategy-cycles/:id/generate-posts", generate_posts, CL_AUTH_PROVIDER, CL_ROUTE_PROVIDER},
    {"POST", "/api/strategy-cycles/:id/render-all", render_all, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/content-items/:id/regenerate", regenerate, CL_AUTH_PROVIDER, CL_ROUTE_PROVIDER},
    {"PATCH", "/api/content-items/:id", patch_item, CL_AUTH_PRODUCT, 0},
};

void cl_cycles_register_pack_routes(void)
{
    CL_ROUTE_USER_TABLE(signed_in_routes);
}
