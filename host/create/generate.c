/*
 * generate.c — the paid promo pipeline (see generate.h) and its routes:
 *
 *   GET  /api/create/cost?render=1     what a generation will cost, the balances, affordable?
 *   POST /api/create/generate          {project_id, brief, channel?, request_id, render?}
 */
#include "create/generate.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "create/create.h"
#include "media/media.h"
#include "cycles/limits.h"
#include "db/db.h"
#include "projects/context.h"
#include "projects/projects.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "generate"
#define CONTEXT_BUDGET 12000

void cl_generation_error_reply(cl_res *res, const cl_error *e)
{
    const char *msg = e->message[0] ? e->message : "generation failed";
    switch (e->code) {
    case CL_ERATELIMIT:
        if (e->retry_after_ms > 0) {
            char ra[16];
            snprintf(ra, sizeof ra, "%d", (e->retry_after_ms + 999) / 1000);
            cl_res_header(res, "Retry-After", ra);
        }
        cl_res_error(res, 429, "llm_rate_limited", "The AI provider is busy: %s", msg);
        break;
    case CL_ETIMEOUT:
        /* The transfer's details (provider host, deadline) are for the log. */
        cl_warn(COMP, "AI provider timeout: %s", msg);
        cl_res_error(res, 504, "llm_timeout",
                     "The AI provider did not answer in time. Try again in a moment.");
        break;
    case CL_EAUTH:
        cl_res_error(res, 502, "llm_auth_failed", "The AI provider refused our credentials: %s", msg);
        break;
    case CL_EUNSUPPORTED:
        cl_res_error(res, 503, "llm_unavailable", "%s", msg);
        break;
    case CL_EINVAL:
        cl_res_error(res, 422, "generation_rejected", "%s", msg);
        break;
    case CL_ECANCELLED:
        cl_res_error(res, 409, "cancelled", "%s", msg);
        break;
    case CL_EMALFORMED:
        cl_res_error(res, 502, "llm_malformed_output", "The AI provider's answers could not be used: %s", msg);
        break;
    default:
        cl_res_error(res, 502, "llm_failed", "%s", msg);
    }
}

int cl_generate_valid_ref(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 8 || n > 100)
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == ':' || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static const char *copy_action(int with_render)
{
    return with_render ? CL_ACTION_GENERATE_VIDEO_COPY : CL_ACTION_GENERATE_COPY;
}

/* The content item already stored for this ref, or 0. -1 on error. */
static int64_t find_item(PGconn *c, const cl_user *u, const char *ref)
{
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    PGresult *r = cl_db_query(c, "SELECT id FROM content_items WHERE user_id = $1 AND request_key = $2", 2,
                              (const char *[]){uid, ref});
    int64_t id = !cl_db_ok(r) ? -1 : PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return id;
}

int cl_generate_charge_state(PGconn *c, int64_t user_id, const char *charge_key)
{
    char uid[24], refund[CL_REFERENCE_KEY_MAX + 16];
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    snprintf(refund, sizeof refund, "refund:%s", charge_key);
    PGresult *r = cl_db_query(c,
                              "SELECT reason FROM credit_ledger_entries"
                              " WHERE user_id = $1 AND reference_key IN ($2, $3)",
                              3, (const char *[]){uid, charge_key, refund});
    int state = cl_db_ok(r) ? CL_CHARGE_NONE : -1;
    for (int i = 0; cl_db_ok(r) && i < PQntuples(r); i++) {
        if (!strcmp(PQgetvalue(r, i, 0), "refund"))
            state = CL_CHARGE_REFUNDED;
        else if (state == CL_CHARGE_NONE)
            state = CL_CHARGE_KEPT;
    }
    PQclear(r);
    return state;
}

void cl_generate_keys(const char *ref, char *copy_key, char *render_key, size_t len)
{
    snprintf(copy_key, len, "%s:copy", ref);
    snprintf(render_key, len, "%s:render", ref);
}

/*
 * One request key is worked on by one caller at a time: a session-level
 * advisory lock on the caller's connection, taken before anything is read
 * and released before returning. A concurrent duplicate (double click,
 * client retry) waits here, then finds the stored item (a replay) or the
 * refund (409): exactly one of them calls the LLM. A connection that breaks
 * while holding the lock releases it when the pool closes it.
 */
#define REQUEST_LOCK_CLASS "16016"

static int lock_request(PGconn *c, const cl_user *u, const char *ref, int lock)
{
    char key[160];
    snprintf(key, sizeof key, "%" PRId64 ":%s", u->id, ref);
    PGresult *r = cl_db_query(c,
                              lock ? "SELECT pg_advisory_lock(" REQUEST_LOCK_CLASS ", hashtext($1))"
                                   : "SELECT pg_advisory_unlock(" REQUEST_LOCK_CLASS ", hashtext($1))",
                              1, (const char *[]){key});
    int ok = cl_db_ok(r);
    if (!ok) {
        char err[256];
        cl_db_errmsg(c, r, err, sizeof err);
        cl_error(COMP, "%s request key: %s", lock ? "lock" : "unlock", err);
    }
    PQclear(r);
    return ok ? 0 : -1;
}

/* Both paid steps of the action in ONE transaction: both debits or neither.
   A replay of keys charged earlier debits nothing. With check_limits (a new
   request, nothing charged for it yet) the plan's limits of both steps are
   checked first, under the lock of the user's credit account, so the rule
   the dashboard shows is the rule that is enforced (429 plan_limit_reached). */
static int charge_steps(PGconn *c, const cl_user *u, int with_render, const char *copy_key,
                        const char *render_key, int check_limits, cl_generate_result *out, cl_res *res)
{
    char err[512];
    if (cl_db_begin(c) != 0) {
        cl_res_error(res, 500, "internal", "Could not charge your credits; nothing was charged");
        return -1;
    }
    if (check_limits &&
        (cl_limits_lock_account(c, u->id, res) != 0 ||
         cl_limits_check(c, u, copy_action(with_render), 1, res) != 0 ||
         (with_render && cl_limits_check(c, u, CL_ACTION_GENERATE_VIDEO_RENDER, 1, res) != 0))) {
        cl_db_rollback(c);
        return -1;
    }
    cl_receipt *last = &out->generation;
    int rc = cl_credits_charge(c, u->id, copy_action(with_render), copy_key, last, err, sizeof err);
    if (rc == CL_CREDITS_OK && with_render) {
        last = &out->render.receipt;
        rc = cl_credits_charge(c, u->id, CL_ACTION_GENERATE_VIDEO_RENDER, render_key, last, err, sizeof err);
    }
    if (rc == CL_CREDITS_OK && cl_db_commit(c) == 0)
        return 0;
    cl_db_rollback(c);
    if (rc == CL_CREDITS_OK) {
        cl_error(COMP, "commit of the charges for %s failed", copy_key);
        cl_res_error(res, 500, "internal", "Could not charge your credits; nothing was charged");
    } else {
        cl_credits_reply_error(res, rc, last, err);
    }
    memset(&out->generation, 0, sizeof out->generation);
    memset(&out->render.receipt, 0, sizeof out->render.receipt);
    return -1;
}

/* Refund the given charges (NULL keys skipped) in one transaction. 0 or -1. */
static int refund_keys(PGconn *c, int64_t user_id, const char *a, const char *b)
{
    char err[256];
    const char *keys[2] = {a, b};
    if (cl_db_begin(c) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (!keys[i])
            continue;
        cl_receipt r;
        int rc = cl_credits_refund(c, user_id, keys[i], &r, err, sizeof err);
        if (rc != CL_CREDITS_OK && rc != CL_CREDITS_NOT_FOUND) {
            cl_error(COMP, "refund of %s failed: %s", keys[i], err);
            cl_db_rollback(c);
            return -1;
        }
    }
    if (cl_db_commit(c) != 0) {
        cl_db_rollback(c);
        return -1;
    }
    return 0;
}

int cl_generate_refund_unfinished(PGconn *c, int64_t user_id, const char *ref)
{
    char copy_key[160], render_key[160], uid[24];
    cl_generate_keys(ref, copy_key, render_key, sizeof copy_key);
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    /* The copy's result is the stored item; the render's is a render job
       started under the prepaid key. */
    PGresult *r = cl_db_query(c,
                              "SELECT EXISTS (SELECT 1 FROM content_items WHERE user_id = $1 AND request_key = $2),"
                              "       EXISTS (SELECT 1 FROM jobs WHERE idempotency_key = $3)",
                              3, (const char *[]){uid, ref, render_key});
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        PQclear(r);
        return -1;
    }
    int have_item = !strcmp(PQgetvalue(r, 0, 0), "t"), have_render = !strcmp(PQgetvalue(r, 0, 1), "t");
    PQclear(r);
    return refund_keys(c, user_id, have_item ? NULL : copy_key, have_render ? NULL : render_key);
}

static int generate_locked(PGconn *c, const cl_user *u, const cl_generate_params *p, cl_generate_result *out,
                           cl_res *res)
{
    char err[512], sid[24], uid[24], copy_key[160], render_key[160];
    snprintf(sid, sizeof sid, "%" PRId64, p->project_id);
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    cl_generate_keys(p->ref, copy_key, render_key, sizeof copy_key);

    if (cl_project_owned(c, res, COMP, p->project_id, u->id) != 1)
        return -1;
    PGresult *r;
    if (cl_credits_grant_monthly(c, u->id, u->plan, NULL, err, sizeof err) < 0)
        cl_warn(COMP, "monthly grant for user %" PRId64 " failed: %s", u->id, err);

    /* A retry of a request that already produced its item: replay. */
    int64_t existing = find_item(c, u, p->ref);
    int copy_state = existing < 0 ? -1 : cl_generate_charge_state(c, u->id, copy_key);
    if (existing < 0 || copy_state < 0) {
        cl_res_error(res, 500, "internal", "Could not read your content; nothing was charged");
        return -1;
    }
    if (copy_state == CL_CHARGE_REFUNDED) {
        cl_res_error(res, 409, "request_already_failed",
                     "This request failed earlier and was refunded; start a new generation");
        return -1;
    }

    if (existing > 0) {
        int rc = cl_credits_charge(c, u->id, copy_action(p->with_render), copy_key, &out->generation, err,
                                   sizeof err);
        if (rc != CL_CREDITS_OK) {
            cl_credits_reply_error(res, rc, &out->generation, err);
            return -1;
        }
        out->content_item_id = existing;
        out->replayed = 1;
    } else {
        /* Every paid step is charged before any work, together. */
        if (charge_steps(c, u, p->with_render, copy_key, render_key, copy_state == CL_CHARGE_NONE, out, res) != 0)
            return -1;
        /* The LLM work: context, draft with channel rules. */
        cl_buf context = CL_BUF_INIT;
        char *draft = NULL;
        cl_error e;
        memset(&e, 0, sizeof e);
        if (cl_context_load(c, p->project_id, CONTEXT_BUDGET, &context, err, sizeof err) != 0) {
            e.code = CL_EIO;
            snprintf(e.message, sizeof e.message, "could not load the business context");
        } else {
            /* The model picks the video template; showcase needs the owner's images. */
            cl_media_item *kept = NULL;
            size_t nkept = 0;
            char merr[128];
            if (cl_media_list_kept(c, p->project_id, "image", &kept, &nkept, merr, sizeof merr) == 0)
                cl_buf_printf(&context, "\nImages the owner kept for videos: %zu\n", nkept);
            free(kept);
            cl_draft_generate(p->call, p->brief_json, context.data, p->channel, &draft, &e);
        }
        cl_buf_free(&context);
        if (!draft) {
            if (refund_keys(c, u->id, copy_key, p->with_render ? render_key : NULL) != 0)
                cl_error(COMP, "refund of %s failed", copy_key);
            cl_warn(COMP, "generation for user %" PRId64 " failed (%d): %s; charges refunded", u->id, e.code,
                    e.message);
            if (e.code == CL_EIO)
                cl_res_error(res, 500, "internal", "%s; your credits were refunded", e.message);
            else
                cl_generation_error_reply(res, &e);
            return -1;
        }
        cJSON *d = cJSON_Parse(draft);
        const char *channel = cJSON_GetStringValue(cJSON_GetObjectItem(d, "channel"));
        cJSON *b = cJSON_Parse(p->brief_json);
        const char *title = cJSON_GetStringValue(cJSON_GetObjectItem(b, "title"));
        char ch[16];
        snprintf(ch, sizeof ch, "%s", p->channel && *p->channel ? p->channel : channel ? channel : "instagram");
        char ttl[201];
        snprintf(ttl, sizeof ttl, "%s", title ? title : "");
        const char *q[] = {uid, sid, p->source ? p->source : "create", ch, draft, p->brief_json, ttl, p->ref};
        r = cl_db_query(c,
                        "INSERT INTO content_items (user_id, project_id, source, channel, draft, brief, title, request_key)"
                        " VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8)"
                        " ON CONFLICT (user_id, request_key) WHERE request_key IS NOT NULL DO NOTHING RETURNING id",
                        8, q);
        cJSON_Delete(d);
        cJSON_Delete(b);
        free(draft);
        if (!cl_db_ok(r)) {
            cl_db_errmsg(c, r, err, sizeof err);
            PQclear(r);
            cl_error(COMP, "store content item: %s", err);
            refund_keys(c, u->id, copy_key, p->with_render ? render_key : NULL);
            cl_res_error(res, 500, "internal", "Could not store the promo; your credits were refunded");
            return -1;
        }
        /* The request lock makes a concurrent insert impossible; a row that
           exists anyway (stored by an older release) is used as it is. */
        out->content_item_id = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : find_item(c, u, p->ref);
        out->replayed = PQntuples(r) == 0;
        PQclear(r);
    }

    if (p->with_render) {
        out->rendered = 1;
        /* A replayed request reports the render it already asked for; only
           an item that was never rendered gets a render now. */
        char iid[24];
        snprintf(iid, sizeof iid, "%" PRId64, out->content_item_id);
        r = cl_db_query(c, "SELECT render_seq, render_job_id FROM content_items WHERE id = $1", 1,
                        (const char *[]){iid});
        int seq = cl_db_ok(r) && PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
        if (seq > 0 && !PQgetisnull(r, 0, 1)) {
            out->render.already = 1;
            out->render.job_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        }
        PQclear(r);
        if (!out->render.already) {
            /* The render step was paid with the copy (new requests): the
               render request replays that charge. Without a kept prepaid
               charge (an item stored before this rule, or a render refund),
               the render is charged now; if that fails the whole request
               is refunded, so a retry never keeps a credit without a result. */
            int prepaid = cl_generate_charge_state(c, u->id, render_key) == CL_CHARGE_KEPT;
            cl_receipt paid = out->render.receipt;
            if (cl_content_request_render_keyed(c, u, out->content_item_id, CL_ACTION_GENERATE_VIDEO_RENDER,
                                                prepaid ? render_key : NULL, &out->render, res) != 0) {
                int refunded = refund_keys(c, u->id, copy_key, prepaid ? render_key : NULL) == 0;
                if (refunded && res->status == 402) {
                    cJSON *o = res->body.data ? cJSON_Parse(res->body.data) : NULL;
                    cJSON *eo = cJSON_GetObjectItem(o, "error");
                    const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(eo, "message"));
                    if (m) {
                        char msg[600];
                        snprintf(msg, sizeof msg, "%s; your generation credit was refunded", m);
                        cJSON_ReplaceItemInObject(eo, "message", cJSON_CreateString(msg));
                        cJSON_AddBoolToObject(eo, "refunded", 1);
                        cl_res_clear(res);
                        cl_res_json(res, 402, o);
                        o = NULL;
                    }
                    cJSON_Delete(o);
                }
                return -1;
            }
            if (!out->replayed && prepaid)
                out->render.receipt = paid; /* the charge of this request, not its replay */
        }
    }
    return 0;
}

int cl_generate_promo(PGconn *c, const cl_user *u, const cl_generate_params *p, cl_generate_result *out,
                      cl_res *res)
{
    memset(out, 0, sizeof *out);
    if (!cl_generate_valid_ref(p->ref)) {
        cl_auth_field_error(res, 422, "request_id", "request_id must be 8-100 characters of letters, digits, : _ -");
        return -1;
    }
    if (lock_request(c, u, p->ref, 1) != 0) {
        cl_res_error(res, 500, "internal", "Could not start the generation; nothing was charged");
        return -1;
    }
    int rc = generate_locked(c, u, p, out, res);
    lock_request(c, u, p->ref, 0);
    return rc;
}

cJSON *cl_generate_result_json(const cl_generate_result *g)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "content_item_id", (double)g->content_item_id);
    cJSON_AddBoolToObject(o, "replayed", g->replayed);
    cJSON *receipts = cJSON_AddArrayToObject(o, "receipts");
    cJSON_AddItemToArray(receipts, cl_receipt_json(&g->generation));
    if (g->rendered && !g->render.already)
        cJSON_AddItemToArray(receipts, cl_receipt_json(&g->render.receipt));
    cJSON_AddItemToObject(o, "render", g->rendered ? cl_render_order_json(&g->render) : cJSON_CreateNull());
    return o;
}

/* ---- routes ----------------------------------------------------------------- */

/* GET /api/create/cost?render=0|1 — the price before anything is charged. */
static void cost(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char rq[8];
    int with_render = !(cl_req_query(req, "render", rq, sizeof rq) && strcmp(rq, "0") == 0);
    char err[256];
    cl_credits_grant_monthly(c, u->id, u->plan, NULL, err, sizeof err);
    cl_balance bal;
    memset(&bal, 0, sizeof bal);
    if (cl_credits_balance(c, u->id, &bal, err, sizeof err) < 0) {
        cl_res_error(res, 500, "internal", "Could not read your credits");
        return;
    }
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
    int64_t need_gen = 0, need_render = 0;
    const char *actions[2] = {copy_action(with_render), with_render ? CL_ACTION_GENERATE_VIDEO_RENDER : NULL};
    for (int i = 0; i < 2 && actions[i]; i++) {
        const cl_action_cost *a = cl_policy_action(actions[i]);
        if (!a)
            continue;
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "action", a->action);
        cJSON_AddStringToObject(it, "label", a->label);
        cJSON_AddStringToObject(it, "kind", cl_credit_kind_name(a->kind));
        cJSON_AddNumberToObject(it, "cost", (double)a->cost);
        cJSON_AddItemToArray(items, it);
        if (a->kind == CL_CREDIT_GENERATION)
            need_gen += a->cost;
        else if (a->kind == CL_CREDIT_RENDER)
            need_render += a->cost;
    }
    cJSON *b = cJSON_AddObjectToObject(o, "balances");
    cJSON_AddNumberToObject(b, "generation", (double)bal.generation);
    cJSON_AddNumberToObject(b, "render", (double)bal.render);
    cJSON *t = cJSON_AddObjectToObject(o, "total");
    cJSON_AddNumberToObject(t, "generation", (double)need_gen);
    cJSON_AddNumberToObject(t, "render", (double)need_render);
    cJSON_AddBoolToObject(o, "affordable", bal.generation >= need_gen && bal.render >= need_render);
    cl_res_json(res, 200, o);
}

int cl_create_generate_body(const cJSON *body, cl_generate_in *out, cl_body_err *e)
{
    const cJSON *render = cJSON_GetObjectItem(body, "render");
    out->project_id = cl_json_id(cJSON_GetObjectItem(body, "project_id"));
    out->brief = cJSON_GetObjectItem(body, "brief");
    out->request_id = cJSON_GetStringValue(cJSON_GetObjectItem(body, "request_id"));
    out->channel = cJSON_GetStringValue(cJSON_GetObjectItem(body, "channel"));
    out->render = render ? cJSON_IsTrue(render) : 1;
    if (!out->project_id)
        return cl_body_field(e, 422, "project_id", "Choose one of your projects");
    if (!cJSON_IsObject(out->brief))
        return cl_body_field(e, 422, "brief", "brief must be the brief object from /api/create/brief");
    if (out->channel && strcmp(out->channel, "instagram") && strcmp(out->channel, "tiktok") &&
        strcmp(out->channel, "whatsapp"))
        return cl_body_field(e, 422, "channel", "channel must be instagram, tiktok or whatsapp");
    if (!cl_generate_valid_ref(out->request_id))
        return cl_body_field(e, 422, "request_id",
                             "request_id must be 8-100 characters of letters, digits, : _ - (one per generate click)");
    if (render && !cJSON_IsBool(render))
        return cl_body_field(e, 422, "render", "render must be true or false");
    cJSON *problems = cJSON_CreateObject();
    /* nothing is charged for a brief the channel cannot make */
    if (cl_brief_check(out->brief, out->channel, problems) > 0)
        return cl_body_invalid(e, problems);
    cJSON_Delete(problems);
    return 0;
}

/* POST /api/create/generate */
static void generate(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = req->json; /* CL_AUTH_JSON */
    char *brief_text = NULL;
    cl_generate_in in;
    cl_body_err be = {0};
    if (cl_create_generate_body(body, &in, &be) != 0) {
        cl_res_body_error(res, &be);
    } else {
        const char *ref = in.request_id, *channel = in.channel;
        int64_t project_id = in.project_id;
        brief_text = cJSON_PrintUnformatted(in.brief);
        char ref_full[128];
        snprintf(ref_full, sizeof ref_full, "create:%s", ref ? ref : "");
        cl_generate_params p = {project_id, brief_text, channel, ref_full, "create",
                                in.render, req->call};
        cl_generate_result g;
        if (cl_generate_promo(c, u, &p, &g, res) == 0)
            cl_res_json(res, g.replayed ? 200 : 201, cl_generate_result_json(&g));
    }
    free(brief_text);
}

void cl_generate_register_routes(void)
{
    cl_route_user("GET", "/api/create/cost", cost, CL_AUTH_PRODUCT, 0);
    cl_route_user("POST", "/api/create/generate", generate, CL_AUTH_PROVIDER | CL_AUTH_JSON, CL_ROUTE_PROVIDER);
}
