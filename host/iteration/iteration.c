/*
 * iteration.c — analyze, generate-next and lineage (iteration.h).
 *
 * Analyze rolls the cycle up, hands the scored items to the Lua `iteration`
 * prompt, validates the answer against the items it was given (every id one
 * of the week's, every winner and neutral post an improved hook, every
 * loser a new angle), derives the next week's five plans (one per post,
 * best first, parent = the post it continues) and stores both, in one
 * transaction, as the cycle's analysis (strategy_cycles.analysis) and a row
 * of cycle_analyses.
 *
 * Generate-next follows the money pattern of the create flow and the pack:
 * one caller per cycle at a time (a session advisory lock; a concurrent
 * retry waits, then replays), the charge before any work, the five posts
 * stored with the new cycle in ONE transaction or not at all (refund).
 */
#include "iteration/iteration.h"
#include "auth/auth.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "create/create.h"
#include "create/generate.h"
#include "credits/credits.h"
#include "credits/policy.h"
#include "cycles/cycles_internal.h"
#include "db/db.h"
#include "metrics/metrics.h"
#include "metrics/score.h"
#include "projects/context.h"
#include "http/db_reply.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "iteration"
#define CONTEXT_BUDGET 12000
#define ANALYZE_MAX_CALLS 3
#define LOCK_ANALYZE "16019" /* per project: analyses counted exactly for the rate limit */
#define LOCK_NEXT "16020"    /* per cycle: one generate-next at a time */
#define HOOK_MAX 200
#define LABEL_MAX 300

/* ---- helpers ---------------------------------------------------------------- */

/* Session advisory lock (blocking) or unlock of (cls, id). 0 or -1. */
static int session_lock(PGconn *c, const char *cls, int64_t id, int lock)
{
    char sid[24], sql[96];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(sql, sizeof sql, "SELECT %s(%s, $1::int)", lock ? "pg_advisory_lock" : "pg_advisory_unlock", cls);
    PGresult *r = cl_db_query(c, sql, 1, (const char *[]){sid});
    int ok = cl_db_ok(r);
    PQclear(r);
    return ok ? 0 : -1;
}

/* Copy at most max UTF-8 characters of s into a new string, "…" when cut. */
static char *clip(const char *s, int max)
{
    return cl_truncate_words(s ? s : "", max);
}

/* ---- the scored items ---------------------------------------------------------- */

/* The cycle's rolled-up items, best first, as the prompt's items
   ($1 cycle). Revenue in major units is computed in C. */
static const char *const SQL_SCORED =
    "SELECT i.id, i.position, i.title, i.channel, coalesce(i.draft->>'hook', ''),"
    " coalesce(nullif(i.draft->>'angle', ''), i.brief->>'angle', ''), coalesce(i.draft->>'caption', ''),"
    " coalesce(i.draft->>'cta', ''), r.clicks, r.unique_clicks, r.signups, r.conversions, r.revenue_scored_minor,"
    " r.views, r.ctr, r.score, r.class, r.rank, r.currency, i.publish_strategy"
    " FROM item_cycle_rollups r JOIN content_items i ON i.id = r.content_item_id"
    " WHERE r.cycle_id = $1 ORDER BY r.rank, i.position NULLS LAST, i.id";

/* ctx.items (and totals, currency) for the prompt; NULL on error. *n = items. */
static cJSON *scored_items(PGconn *c, int64_t cycle_id, cJSON *ctx, int *n)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, cycle_id);
    PGresult *r = cl_db_query(c, SQL_SCORED, 1, (const char *[]){sid});
    if (!cl_db_ok(r)) {
        char err[256];
        cl_db_errmsg(c, r, err, sizeof err);
        cl_error(COMP, "scored items of cycle %s: %s", sid, err);
        PQclear(r);
        return NULL;
    }
    cJSON *items = cJSON_AddArrayToObject(ctx, "items");
    double tc = 0, ts = 0, tv = 0, tr = 0;
    const char *cur = PQntuples(r) && !PQgetisnull(r, 0, 18) ? PQgetvalue(r, 0, 18) : NULL;
    double div = pow(10, cl_currency_exponent(cur));
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *it = cJSON_CreateObject();
        cJSON_AddNumberToObject(it, "id", strtod(PQgetvalue(r, i, 0), NULL));
        cJSON_AddNumberToObject(it, "position", strtod(PQgetvalue(r, i, 1), NULL));
        static const char *const text[] = {"title", "channel", "hook", "angle", "caption", "cta"};
        for (int k = 0; k < 6; k++)
            cJSON_AddStringToObject(it, text[k], PQgetvalue(r, i, 2 + k));
        static const char *const nums[] = {"clicks", "unique_clicks", "signups", "conversions"};
        for (int k = 0; k < 4; k++)
            cJSON_AddNumberToObject(it, nums[k], strtod(PQgetvalue(r, i, 8 + k), NULL));
        double rev = strtod(PQgetvalue(r, i, 12), NULL) / div;
        cJSON_AddNumberToObject(it, "revenue", rev);
        if (!PQgetisnull(r, i, 13))
            cJSON_AddNumberToObject(it, "views", strtod(PQgetvalue(r, i, 13), NULL));
        if (!PQgetisnull(r, i, 14))
            cJSON_AddNumberToObject(it, "ctr", strtod(PQgetvalue(r, i, 14), NULL));
        cJSON_AddNumberToObject(it, "score", round(strtod(PQgetvalue(r, i, 15), NULL) * 100) / 100);
        cJSON_AddStringToObject(it, "class", PQgetvalue(r, i, 16));
        cJSON_AddNumberToObject(it, "rank", strtod(PQgetvalue(r, i, 17), NULL));
        cJSON_AddStringToObject(it, "publish_strategy", PQgetvalue(r, i, 19));
        tc += strtod(PQgetvalue(r, i, 8), NULL);
        ts += strtod(PQgetvalue(r, i, 10), NULL);
        tv += strtod(PQgetvalue(r, i, 11), NULL);
        tr += rev;
        cJSON_AddItemToArray(items, it);
    }
    cJSON *t = cJSON_AddObjectToObject(ctx, "totals");
    cJSON_AddNumberToObject(t, "clicks", tc);
    cJSON_AddNumberToObject(t, "signups", ts);
    cJSON_AddNumberToObject(t, "conversions", tv);
    cJSON_AddNumberToObject(t, "revenue", tr);
    if (cur)
        cJSON_AddStringToObject(ctx, "currency", cur);
    *n = PQntuples(r);
    PQclear(r);
    return items;
}

/* ---- validation of the analysis --------------------------------------------------- */

/* The items the answer must be about (set by analyze around cl_llm_json). */
static __thread const cJSON *tl_items;

static const cJSON *item_by_id(const cJSON *items, double id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        if (cJSON_GetNumberValue(cJSON_GetObjectItem(it, "id")) == id)
            return it;
    }
    return NULL;
}

static int text_ok(const cJSON *v, size_t max)
{
    return cJSON_IsString(v) && v->valuestring[0] && strlen(v->valuestring) <= max;
}

/*
 * {summary, hooks:[{item_id, from, hook, why}], angles:[{item_id, from,
 * angle, hook}], recommendations:[…]} checked against tl_items; "from" is
 * replaced by the item's real hook or angle (the model's copy is not
 * trusted). Returns the normalized object or NULL with why.
 */
static cJSON *validate_analysis(const char *answer, char *why, size_t whylen)
{
    cJSON *in = answer ? cJSON_Parse(answer) : NULL;
    const cJSON *summary = cJSON_GetObjectItem(in, "summary"), *hooks = cJSON_GetObjectItem(in, "hooks"),
                *angles = cJSON_GetObjectItem(in, "angles"), *recs = cJSON_GetObjectItem(in, "recommendations");
    cJSON *out = NULL;
    if (!cJSON_IsObject(in)) {
        snprintf(why, whylen, "the answer must be one JSON object");
    } else if (!text_ok(summary, 2000)) {
        snprintf(why, whylen, "summary must be a non-empty paragraph of at most 2000 characters");
    } else if (!cJSON_IsArray(hooks) || !cJSON_IsArray(angles)) {
        snprintf(why, whylen, "hooks and angles must be arrays");
    } else {
        out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "summary", summary->valuestring);
        cJSON *oh = cJSON_AddArrayToObject(out, "hooks"), *oa = cJSON_AddArrayToObject(out, "angles");
        for (int pass = 0; pass < 2 && out; pass++) {
            const cJSON *e;
            int k = 0;
            cJSON_ArrayForEach(e, (pass ? angles : hooks))
            {
                const cJSON *id = cJSON_GetObjectItem(e, "item_id");
                const cJSON *it = cJSON_IsNumber(id) ? item_by_id(tl_items, id->valuedouble) : NULL;
                const char *cls = cJSON_GetStringValue(cJSON_GetObjectItem(it, "class"));
                const cJSON *hook = cJSON_GetObjectItem(e, "hook"), *angle = cJSON_GetObjectItem(e, "angle");
                const char *bad = !it                                   ? "item_id is not one of the week's posts"
                                  : !pass && !strcmp(cls, "loser")      ? "losers get a new angle, not a hook"
                                  : pass && strcmp(cls, "loser")        ? "only losers get a new angle"
                                  : !text_ok(hook, 400)                 ? "hook must be a non-empty text"
                                  : pass && !text_ok(angle, 400)        ? "angle must be a non-empty text"
                                                                        : NULL;
                if (bad) {
                    snprintf(why, whylen, "%s[%d]: %s", pass ? "angles" : "hooks", k, bad);
                    cJSON_Delete(out);
                    out = NULL;
                    break;
                }
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "item_id", id->valuedouble);
                cJSON_AddStringToObject(o, "from",
                                        cJSON_GetStringValue(cJSON_GetObjectItem(it, pass ? "angle" : "hook")));
                char *h = clip(hook->valuestring, HOOK_MAX);
                cJSON_AddStringToObject(o, "hook", h ? h : "");
                free(h);
                if (pass) {
                    char *a = clip(angle->valuestring, HOOK_MAX);
                    cJSON_AddStringToObject(o, "angle", a ? a : "");
                    free(a);
                } else {
                    const char *w = cJSON_GetStringValue(cJSON_GetObjectItem(e, "why"));
                    cJSON_AddStringToObject(o, "why", w ? w : "");
                }
                cJSON_AddItemToArray(pass ? oa : oh, o);
                k++;
            }
        }
        /* every post is covered: winners and neutral by a hook, losers by an angle */
        const cJSON *it;
        cJSON_ArrayForEach(it, (out ? tl_items : NULL))
        {
            double id = cJSON_GetNumberValue(cJSON_GetObjectItem(it, "id"));
            int loser = !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "class")), "loser");
            const cJSON *e;
            int found = 0;
            cJSON_ArrayForEach(e, cJSON_GetObjectItem(out, loser ? "angles" : "hooks"))
            {
                found |= cJSON_GetNumberValue(cJSON_GetObjectItem(e, "item_id")) == id;
            }
            if (!found) {
                snprintf(why, whylen, "item %.0f (%s) has no %s", id, loser ? "loser" : "winner or neutral",
                         loser ? "new angle" : "improved hook");
                cJSON_Delete(out);
                out = NULL;
                break;
            }
        }
        if (out) {
            cJSON *r = cJSON_AddArrayToObject(out, "recommendations");
            const cJSON *e;
            cJSON_ArrayForEach(e, (cJSON_IsArray(recs) ? recs : NULL))
            {
                if (text_ok(e, 400) && cJSON_GetArraySize(r) < 5)
                    cJSON_AddItemToArray(r, cJSON_CreateString(e->valuestring));
            }
        }
    }
    cJSON_Delete(in);
    return out;
}

/*
 * The next week's plans: one per post, best first (its first hook or
 * angle), then further winner hooks, then the list again, until
 * CL_CYCLE_PACK_SIZE. Each {parent_id, parent_class, channel,
 * publish_strategy, hook, angle, label}.
 */
static cJSON *derive_plans(const cJSON *analysis, const cJSON *items)
{
    cJSON *entries = cJSON_CreateArray(), *extra = cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        double id = cJSON_GetNumberValue(cJSON_GetObjectItem(it, "id"));
        int loser = !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "class")), "loser");
        const cJSON *e;
        int first = 1;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(analysis, loser ? "angles" : "hooks"))
        {
            if (cJSON_GetNumberValue(cJSON_GetObjectItem(e, "item_id")) != id)
                continue;
            cJSON *p = cJSON_CreateObject();
            cJSON_AddNumberToObject(p, "parent_id", id);
            cJSON_AddStringToObject(p, "parent_class", cJSON_GetStringValue(cJSON_GetObjectItem(it, "class")));
            cJSON_AddStringToObject(p, "channel", cJSON_GetStringValue(cJSON_GetObjectItem(it, "channel")));
            cJSON_AddStringToObject(p, "publish_strategy",
                                    cJSON_GetStringValue(cJSON_GetObjectItem(it, "publish_strategy")));
            cJSON_AddStringToObject(p, "hook", cJSON_GetStringValue(cJSON_GetObjectItem(e, "hook")));
            const char *angle = loser ? cJSON_GetStringValue(cJSON_GetObjectItem(e, "angle"))
                                      : cJSON_GetStringValue(cJSON_GetObjectItem(it, "angle"));
            cJSON_AddStringToObject(p, "angle", angle ? angle : "");
            char label[LABEL_MAX + 1], *from = clip(cJSON_GetStringValue(cJSON_GetObjectItem(e, "from")), 120);
            if (loser) {
                char *a = clip(angle, 200);
                snprintf(label, sizeof label, "new angle: %s", a ? a : "");
                free(a);
            } else {
                snprintf(label, sizeof label, "%s from \u201c%s\u201d", first ? "hook improved" : "another hook",
                         from ? from : "");
            }
            free(from);
            cJSON_AddStringToObject(p, "label", label);
            cJSON_AddItemToArray(first ? entries : extra, p);
            first = 0;
        }
    }
    cJSON *plans = cJSON_CreateArray();
    int ne = cJSON_GetArraySize(entries), nx = cJSON_GetArraySize(extra);
    for (int i = 0; ne && cJSON_GetArraySize(plans) < CL_CYCLE_PACK_SIZE; i++) {
        const cJSON *src = i < ne ? cJSON_GetArrayItem(entries, i)
                           : i < ne + nx ? cJSON_GetArrayItem(extra, i - ne)
                                         : cJSON_GetArrayItem(entries, (i - ne - nx) % ne);
        cJSON_AddItemToArray(plans, cJSON_Duplicate(src, 1));
    }
    cJSON_Delete(entries);
    cJSON_Delete(extra);
    return plans;
}

/* ---- analyze ---------------------------------------------------------------------- */

/* 429 when the project had analyze_per_hour analyses in the last hour. 0 ok, -1 reply set. */
static int rate_limited(PGconn *c, cl_res *res, int64_t project_id)
{
    char pid[24], lim[16];
    snprintf(pid, sizeof pid, "%" PRId64, project_id);
    snprintf(lim, sizeof lim, "%d", cl_cfg.analyze_per_hour);
    PGresult *r = cl_db_query(c,
                              "SELECT count(*) >= $2::int, greatest(1, ceil(extract(epoch FROM"
                              " (SELECT created_at FROM cycle_analyses WHERE project_id = $1"
                              "  AND created_at > now() - interval '1 hour' ORDER BY created_at DESC OFFSET $2::int - 1"
                              "  LIMIT 1) + interval '1 hour' - now())))::int"
                              " FROM cycle_analyses WHERE project_id = $1 AND created_at > now() - interval '1 hour'",
                              2, (const char *[]){pid, lim});
    int limited = cl_db_ok(r) && !strcmp(PQgetvalue(r, 0, 0), "t");
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, COMP, c, r, "rate limit");
        PQclear(r);
        return -1;
    }
    if (limited) {
        const char *ra = PQgetisnull(r, 0, 1) ? "60" : PQgetvalue(r, 0, 1);
        cl_res_header(res, "Retry-After", ra);
        cl_res_error(res, 429, "rate_limited",
                     "This project had %d analyses in the last hour; try again in %s seconds", cl_cfg.analyze_per_hour,
                     ra);
    }
    PQclear(r);
    return limited ? -1 : 0;
}

/* The business profile for prompts (caller deletes), or NULL. */
static cJSON *profile_of(PGconn *c, int64_t project_id)
{
    cl_buf ctxt = CL_BUF_INIT;
    char err[256];
    cJSON *profile = NULL;
    if (cl_context_load(c, project_id, CONTEXT_BUDGET, &ctxt, err, sizeof err) == 0) {
        cJSON *doc = cJSON_Parse(ctxt.data ? ctxt.data : "");
        profile = cl_profile_for_prompts(cJSON_GetObjectItem(doc, "project"));
        cJSON_Delete(doc);
    } else {
        cl_error(COMP, "context of project %" PRId64 ": %s", project_id, err);
    }
    cl_buf_free(&ctxt);
    return profile;
}

static void analyze_locked(PGconn *c, cl_res *res, const cl_cycle *cy)
{
    char err[256] = "", sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, cy->id);
    if (rate_limited(c, res, cy->project_id) != 0)
        return;
    if (cl_rollup_cycle(c, cy->id, 0, 0, err, sizeof err) < 0) {
        cl_error(COMP, "roll-up before analysis of cycle %s: %s", sid, err);
        cl_res_error(res, 500, "internal", "Could not roll up the week; nothing was analysed");
        return;
    }
    cJSON *ctx = cJSON_CreateObject();
    int n = 0;
    cJSON *items = scored_items(c, cy->id, ctx, &n);
    cJSON *profile = items ? profile_of(c, cy->project_id) : NULL;
    if (!items || !profile) {
        cJSON_Delete(ctx);
        cJSON_Delete(profile);
        cl_res_error(res, 500, "internal", "Could not read the week; nothing was analysed");
        return;
    }
    if (n == 0) {
        cJSON_Delete(ctx);
        cJSON_Delete(profile);
        cl_res_error(res, 409, "nothing_to_analyze", "This week has no posts yet; generate the pack first");
        return;
    }
    cJSON_AddItemToObject(ctx, "profile", profile);
    cJSON_AddStringToObject(ctx, "week_start", cy->week_start);
    cJSON_AddNumberToObject(ctx, "min_entries", CL_CYCLE_PACK_SIZE);

    cJSON *answer = NULL, *meta = cJSON_CreateObject();
    cl_error e;
    memset(&e, 0, sizeof e);
    tl_items = items;
    int rc = cl_llm_json(NULL, "iteration", ctx, validate_analysis, ANALYZE_MAX_CALLS, &answer, meta, &e);
    tl_items = NULL;
    if (rc != CL_OK) {
        cl_warn(COMP, "analysis of cycle %s failed (%d): %s", sid, e.code, e.message);
        cl_generation_error_reply(res, &e);
        cJSON_Delete(meta);
        cJSON_Delete(ctx);
        return;
    }
    /* What is stored: the answer, the scored items it was about, the plans. */
    cJSON_AddItemToObject(answer, "plans", derive_plans(answer, items));
    cJSON_AddItemToObject(answer, "items", cJSON_Duplicate(items, 1));
    cJSON_AddItemToObject(answer, "totals", cJSON_Duplicate(cJSON_GetObjectItem(ctx, "totals"), 1));
    const cJSON *cur = cJSON_GetObjectItem(ctx, "currency");
    cJSON_AddItemToObject(answer, "currency", cur ? cJSON_Duplicate(cur, 0) : cJSON_CreateNull());
    cJSON_AddItemToObject(answer, "meta", meta);
    cJSON_Delete(ctx);
    char *text = cJSON_PrintUnformatted(answer);
    char pid[24], uid[24];
    const char *q[] = {sid, cl_db_id(pid, cy->project_id), cl_db_id(uid, cy->user_id), text};
    int ok = text && cl_db_begin(c) == 0;
    PGresult *r = ok ? cl_db_query(c,
                                   "WITH a AS (INSERT INTO cycle_analyses (cycle_id, project_id, user_id, analysis)"
                                   " VALUES ($1, $2, $3, $4::jsonb) RETURNING id, created_at)"
                                   " UPDATE strategy_cycles y SET analysis = $4::jsonb || jsonb_build_object("
                                   "  'analysis_id', a.id, 'created_at', a.created_at), updated_at = now()"
                                   " FROM a WHERE y.id = $1 RETURNING y.analysis::text",
                                   4, q)
                     : NULL;
    if (ok && cl_db_ok(r) && PQntuples(r) == 1 && cl_db_commit(c) == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "analysis", cJSON_Parse(PQgetvalue(r, 0, 0)));
        cl_res_json(res, 201, o);
    } else {
        if (r)
            cl_res_db_failed(res, COMP, c, r, "store analysis");
        else
            cl_res_error(res, 500, "internal", "Could not store the analysis");
        cl_cycles_rollback_open(c);
    }
    PQclear(r);
    free(text);
    cJSON_Delete(answer);
}

/* POST /api/strategy-cycles/:id/analyze — free; rate-limited per project. */
static void analyze(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cl_cycle cy;
    if (cl_cycle_load(c, cl_req_param_id(req, "id"), u->id, 0, &cy, res) == 1) {
        if (session_lock(c, LOCK_ANALYZE, cy.project_id, 1) != 0) {
            cl_res_error(res, 500, "internal", "Could not start the analysis");
        } else {
            analyze_locked(c, res, &cy);
            session_lock(c, LOCK_ANALYZE, cy.project_id, 0);
        }
    }
    cl_cycle_clear(&cy);
}

/* ---- generate-next ------------------------------------------------------------------ */

/* The next week's reply: {cycle, items, receipts} ($1 next cycle). */
static void reply_next(cl_res *res, PGconn *c, int64_t next_id, int status, const cl_receipt *receipt)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, next_id);
    PGresult *r = cl_db_query(
        c,
        "SELECT json_build_object('cycle', json_build_object('id', y.id, 'project_id', y.project_id,"
        " 'week_start', y.week_start, 'week_end', y.week_start + 6, 'source', y.source,"
        " 'parent_cycle_id', y.parent_cycle_id, 'status', y.status, 'pack_status', y.pack_status),"
        " 'items', coalesce((SELECT json_agg(json_build_object('id', i.id, 'position', i.position,"
        "   'parent_id', i.parent_id, 'derived_label', i.derived_label, 'channel', i.channel, 'title', i.title,"
        "   'hook', i.draft->>'hook', 'angle', i.draft->>'angle', 'publish_strategy', i.publish_strategy)"
        "   ORDER BY i.position) FROM content_items i WHERE i.cycle_id = y.id AND i.publish_status <> 'skipped'),"
        "  '[]'))::text FROM strategy_cycles y WHERE y.id = $1",
        1, (const char *[]){sid});
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        cl_res_db_failed(res, COMP, c, r, "read next week");
    } else {
        cJSON *o = cJSON_Parse(PQgetvalue(r, 0, 0));
        cJSON *rs = cJSON_AddArrayToObject(o, "receipts");
        if (receipt)
            cJSON_AddItemToArray(rs, cl_receipt_json(receipt));
        cl_res_json(res, status, o);
    }
    PQclear(r);
}

/* Turn the generated post i into plan i's post: the plan's hook opens it
   (the channel's rules re-applied), its angle, parent and label recorded. */
static char *apply_plan(const char *draft_text, const cJSON *plan, const cJSON *all_rules)
{
    cJSON *d = cJSON_Parse(draft_text);
    if (!d)
        return NULL;
    const char *hook = cJSON_GetStringValue(cJSON_GetObjectItem(plan, "hook"));
    const char *old = cJSON_GetStringValue(cJSON_GetObjectItem(d, "hook"));
    cJSON *script = cJSON_GetObjectItem(d, "script");
    cJSON *s0 = cJSON_GetArrayItem(script, 0);
    if (hook && *hook) {
        if (s0 && old && cJSON_IsString(s0) && !strcmp(s0->valuestring, old))
            cJSON_SetValuestring(s0, hook);
        cJSON_ReplaceItemInObject(d, "hook", cJSON_CreateString(hook));
    }
    const char *angle = cJSON_GetStringValue(cJSON_GetObjectItem(plan, "angle"));
    if (angle && *angle) {
        cJSON_DeleteItemFromObject(d, "angle");
        cJSON_AddStringToObject(d, "angle", angle);
    }
    const char *ch = cJSON_GetStringValue(cJSON_GetObjectItem(d, "channel"));
    const cJSON *rules = ch ? cJSON_GetObjectItem(all_rules, ch) : NULL;
    cJSON *adj = cJSON_GetObjectItem(d, "adjustments");
    if (rules)
        cl_draft_apply_rules(d, rules, "next week", cJSON_IsArray(adj) ? adj : NULL);
    cJSON_DeleteItemFromObject(d, "parent_id");
    cJSON_AddNumberToObject(d, "parent_id", cJSON_GetNumberValue(cJSON_GetObjectItem(plan, "parent_id")));
    cJSON_DeleteItemFromObject(d, "derived_label");
    cJSON_AddStringToObject(d, "derived_label", cJSON_GetStringValue(cJSON_GetObjectItem(plan, "label")));
    char *out = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    return out;
}

/* Store the next week in one transaction. Returns the next cycle id, 0 when
   the next week already has posts (nothing stored), -1 on error. */
static int64_t store_next(PGconn *c, const cl_cycle *cy, const char *request_id, const char *ref,
                          const cJSON *plans, cl_pack_post posts[CL_CYCLE_PACK_SIZE], char *err, size_t errlen)
{
    char sid[CL_DB_ID_LEN], uid[CL_DB_ID_LEN], pid[CL_DB_ID_LEN];
    cl_db_id(sid, cy->id), cl_db_id(uid, cy->user_id), cl_db_id(pid, cy->project_id);
    if (cl_db_begin(c) != 0) {
        snprintf(err, errlen, "begin failed");
        return -1;
    }
    const char *q[] = {uid, pid, cy->week_start, sid, request_id, cy->brief ? cy->brief : ""};
    PGresult *r = cl_db_query(
        c,
        "INSERT INTO strategy_cycles (user_id, project_id, week_start, source, parent_cycle_id, status, brief,"
        " pack_status, pack_request_id, packs_generated)"
        " VALUES ($1, $2, $3::date + 7, 'iteration', $4, 'active', $6, 'ready', $5, 1)"
        " ON CONFLICT (project_id, week_start) DO UPDATE SET source = 'iteration', parent_cycle_id = $4,"
        "  status = 'active', pack_status = 'ready', pack_request_id = $5,"
        "  packs_generated = strategy_cycles.packs_generated + 1, updated_at = now()"
        " WHERE NOT EXISTS (SELECT 1 FROM content_items i WHERE i.cycle_id = strategy_cycles.id"
        "  AND i.publish_status <> 'skipped')"
        " RETURNING id",
        6, q);
    int64_t next = 0;
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, err, errlen);
        next = -1;
    } else if (PQntuples(r) == 1) {
        next = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    }
    PQclear(r);
    char nid[24];
    snprintf(nid, sizeof nid, "%" PRId64, next);
    for (int i = 0; next > 0 && i < CL_CYCLE_PACK_SIZE; i++) {
        const cJSON *plan = cJSON_GetArrayItem(plans, i);
        char pos[16], key[220], parent[24];
        snprintf(pos, sizeof pos, "%d", i + 1);
        snprintf(key, sizeof key, "%s:%d", ref, i + 1);
        snprintf(parent, sizeof parent, "%.0f", cJSON_GetNumberValue(cJSON_GetObjectItem(plan, "parent_id")));
        const char *strategy = cJSON_GetStringValue(cJSON_GetObjectItem(plan, "publish_strategy"));
        const char *pch = cJSON_GetStringValue(cJSON_GetObjectItem(plan, "channel"));
        /* the parent's publish strategy goes with its channel; a reassigned
           channel goes to the manual queue */
        if (!strategy || !pch || strcmp(pch, posts[i].channel) != 0)
            strategy = "manual_export";
        const char *p[] = {uid, pid, nid, pos, posts[i].channel, posts[i].draft, posts[i].brief, posts[i].title,
                           key, strategy, parent, cJSON_GetStringValue(cJSON_GetObjectItem(plan, "label"))};
        if (cl_db_exec(c,
                       "INSERT INTO content_items (user_id, project_id, cycle_id, position, source, channel, draft,"
                       " brief, title, request_key, publish_strategy, parent_id, derived_label)"
                       " VALUES ($1, $2, $3, $4, 'iteration', $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12)",
                       12, p, err, errlen) != 0)
            next = -1;
    }
    if (next > 0) {
        const char *p[] = {sid, nid, request_id};
        if (cl_db_exec(c,
                       "UPDATE strategy_cycles SET next_cycle_id = $2, next_request_id = $3, updated_at = now()"
                       " WHERE id = $1",
                       3, p, err, errlen) != 0)
            next = -1;
    }
    if (next > 0 && cl_db_commit(c) == 0)
        return next;
    cl_db_rollback(c);
    return next == 0 ? 0 : -1;
}

static void refund_ref(PGconn *c, int64_t user_id, const char *ref)
{
    char err[256];
    cl_receipt r;
    cl_cycles_rollback_open(c);
    int rc = cl_credits_refund(c, user_id, ref, &r, err, sizeof err);
    if (rc != CL_CREDITS_OK && rc != CL_CREDITS_NOT_FOUND)
        cl_error(COMP, "refund of %s failed: %s", ref, err);
}

static void generate_next_locked(PGconn *c, cl_res *res, const cl_user *u, int64_t cycle_id, const char *request_id)
{
    cl_cycle cy;
    if (cl_cycle_load(c, cycle_id, u->id, 0, &cy, res) != 1) {
        cl_cycle_clear(&cy);
        return;
    }
    char sid[24], ref[180];
    snprintf(sid, sizeof sid, "%" PRId64, cy.id);
    snprintf(ref, sizeof ref, "cycle:%" PRId64 ":next:%s", cy.id, request_id);
    PGresult *r = cl_db_query(c,
                              "SELECT coalesce(y.next_cycle_id, 0), coalesce(y.next_request_id, ''),"
                              " y.analysis::text, EXISTS (SELECT 1 FROM strategy_cycles n WHERE n.project_id = y.project_id"
                              "  AND n.week_start = y.week_start + 7 AND EXISTS (SELECT 1 FROM content_items i"
                              "  WHERE i.cycle_id = n.id AND i.publish_status <> 'skipped'))"
                              " FROM strategy_cycles y WHERE y.id = $1",
                              1, (const char *[]){sid});
    int state = cl_db_ok(r) ? cl_generate_charge_state(c, u->id, ref) : -1;
    cl_receipt receipt;
    memset(&receipt, 0, sizeof receipt);
    cJSON *analysis = NULL;
    if (state < 0 || PQntuples(r) != 1) {
        cl_res_db_failed(res, COMP, c, r, "read cycle");
        goto out;
    }
    int64_t next = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    if (next > 0) {
        if (strcmp(PQgetvalue(r, 0, 1), request_id) != 0) {
            cl_res_error(res, 409, "next_week_exists",
                         "Next week was already generated from this week (cycle %" PRId64 "); open it instead", next);
            goto out;
        }
        char err[256];
        int rc = cl_credits_charge(c, u->id, CL_ACTION_NEXT_PACK, ref, &receipt, err, sizeof err);
        if (rc != CL_CREDITS_OK)
            cl_credits_reply_error(res, rc, &receipt, err);
        else
            reply_next(res, c, next, 200, &receipt);
        goto out;
    }
    if (state == CL_CHARGE_REFUNDED) {
        cl_res_error(res, 409, "request_already_failed",
                     "This request failed earlier and was refunded; generate again with a new request");
        goto out;
    }
    analysis = PQgetisnull(r, 0, 2) ? NULL : cJSON_Parse(PQgetvalue(r, 0, 2));
    const cJSON *plans = cJSON_GetObjectItem(analysis, "plans");
    if (cJSON_GetArraySize(plans) != CL_CYCLE_PACK_SIZE) {
        cl_res_error(res, 409, "analysis_required", "Analyse this week first: next week is derived from its analysis");
        goto out;
    }
    if (!strcmp(PQgetvalue(r, 0, 3), "t")) {
        cl_res_error(res, 409, "next_week_has_pack",
                     "The following week already has posts; nothing was charged");
        goto out;
    }
    if (cl_cycles_limit_and_charge(c, u, CL_ACTION_NEXT_PACK, CL_CYCLE_PACK_SIZE, ref, state == CL_CHARGE_KEPT,
                                   &receipt, res) != 0)
        goto out;

    /* The posts: the pack generation, one per plan on the plan's channel
       (kept when its rules still load, else the project's own channels). */
    cJSON *names = NULL, *all = NULL;
    cl_error e;
    memset(&e, 0, sizeof e);
    int rc = cl_channel_rules_all(&names, &all, &e);
    const char *channels[CL_CYCLE_PACK_SIZE];
    for (int i = 0; i < CL_CYCLE_PACK_SIZE; i++) {
        const char *ch = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(plans, i), "channel"));
        channels[i] = ch && cJSON_GetObjectItem(all, ch) ? ch : NULL;
    }
    char next_week[16];
    {
        PGresult *w = cl_db_query(c, "SELECT ($1::date + 7)::text", 1, (const char *[]){cy.week_start});
        snprintf(next_week, sizeof next_week, "%s", cl_db_ok(w) ? PQgetvalue(w, 0, 0) : cy.week_start);
        PQclear(w);
    }
    cl_pack_post posts[CL_CYCLE_PACK_SIZE];
    memset(posts, 0, sizeof posts);
    if (rc == CL_OK)
        rc = cl_cycles_generate_pack(c, cy.project_id, next_week, cy.brief, analysis, channels, posts, &e);
    for (int i = 0; rc == CL_OK && i < CL_CYCLE_PACK_SIZE; i++) {
        char *d = apply_plan(posts[i].draft, cJSON_GetArrayItem(plans, i), all);
        if (!d) {
            rc = e.code = CL_ENOMEM;
            snprintf(e.message, sizeof e.message, "out of memory");
            break;
        }
        free(posts[i].draft);
        posts[i].draft = d;
    }
    char err[512] = "";
    int64_t stored = rc == CL_OK ? store_next(c, &cy, request_id, ref, plans, posts, err, sizeof err) : -1;
    if (stored > 0) {
        cl_info(COMP, "cycle %s: next week %" PRId64 " with %d derived posts (request %s)", sid, stored,
                CL_CYCLE_PACK_SIZE, request_id);
        reply_next(res, c, stored, 201, &receipt);
    } else {
        /* No partial pack: nothing was stored; the charge goes back. */
        refund_ref(c, u->id, ref);
        if (stored == 0 && rc == CL_OK)
            cl_res_error(res, 409, "next_week_has_pack",
                         "The following week got posts meanwhile; your credits were refunded");
        else if (rc == CL_OK) {
            cl_error(COMP, "store next week of cycle %s: %s", sid, err);
            cl_res_error(res, 500, "internal", "Could not store next week; your credits were refunded");
        } else if (e.code == CL_EIO) {
            cl_res_error(res, 500, "internal", "%s; your credits were refunded", e.message);
        } else {
            cl_generation_error_reply(res, &e);
        }
    }
    cl_cycles_free_pack(posts);
    cJSON_Delete(names);
    cJSON_Delete(all);
out:
    cJSON_Delete(analysis);
    PQclear(r);
    cl_cycle_clear(&cy);
}

int cl_iteration_next_body(const cJSON *body, const char **request_id, cl_body_err *e)
{
    *request_id = cJSON_GetStringValue(cJSON_GetObjectItem(body, "request_id"));
    if (!cl_generate_valid_ref(*request_id))
        return cl_body_field(e, 422, "request_id",
                             "request_id must be 8-100 characters of letters, digits, : _ - (one per click)");
    return 0;
}

/* POST /api/strategy-cycles/:id/generate-next {request_id} */
static void generate_next(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = cl_req_json(req, res);
    const char *request_id = NULL;
    int64_t id = cl_req_param_id(req, "id");
    cl_body_err be = {0};
    if (!body) {
        /* reply set */
    } else if (cl_iteration_next_body(body, &request_id, &be) != 0) {
        cl_res_body_error(res, &be);
    } else if (id <= 0) {
        cl_res_error(res, 404, "not_found", "No strategy cycle");
    } else if (session_lock(c, LOCK_NEXT, id, 1) != 0) {
        cl_res_error(res, 500, "internal", "Could not start the generation; nothing was charged");
    } else {
        generate_next_locked(c, res, u, id, request_id);
        session_lock(c, LOCK_NEXT, id, 0);
    }
    cJSON_Delete(body);
}

/* ---- lineage -------------------------------------------------------------------------- */

#define NODE_JSON                                                                                  \
    "json_build_object('id', i.id, 'parent_id', i.parent_id, 'title', i.title, 'channel', i.channel,"  \
    " 'hook', i.draft->>'hook', 'derived_label', i.derived_label, 'source', i.source,"                 \
    " 'cycle_id', i.cycle_id, 'week_start', y.week_start, 'publish_status', i.publish_status,"         \
    " 'score', r.score, 'class', r.class, 'rank', r.rank, 'clicks', r.clicks, 'signups', r.signups,"   \
    " 'revenue_scored_minor', r.revenue_scored_minor, 'depth', n.depth)"

/* GET /api/content-items/:id/lineage */
static void lineage(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char sid[24], uid[24];
    snprintf(sid, sizeof sid, "%" PRId64, cl_req_param_id(req, "id"));
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    cl_res_db_query_row(
        res, 200, COMP, c,
        "WITH RECURSIVE me AS (SELECT id, parent_id FROM content_items WHERE id = $1 AND user_id = $2),"
        " anc AS (SELECT me.parent_id AS id, 1 AS depth FROM me WHERE me.parent_id IS NOT NULL"
        "  UNION ALL SELECT i.parent_id, a.depth + 1 FROM anc a JOIN content_items i ON i.id = a.id"
        "  WHERE i.parent_id IS NOT NULL AND a.depth < 52),"
        " des AS (SELECT i.id, 1 AS depth FROM content_items i JOIN me ON i.parent_id = me.id"
        "  UNION ALL SELECT i.id, d.depth + 1 FROM des d JOIN content_items i ON i.parent_id = d.id WHERE "
        "d.depth < 52),"
        " nodes AS (SELECT id, 0 AS depth, 'self' AS side FROM me UNION ALL SELECT id, depth, 'ancestor' "
        "FROM anc"
        "  UNION ALL SELECT id, depth, 'descendant' FROM des)"
        " SELECT json_build_object('item', (SELECT " NODE_JSON
        " FROM nodes n JOIN content_items i ON i.id = n.id"
        "   LEFT JOIN strategy_cycles y ON y.id = i.cycle_id"
        "   LEFT JOIN item_cycle_rollups r ON r.content_item_id = i.id AND r.cycle_id = i.cycle_id"
        "   WHERE n.side = 'self'),"
        "  'ancestors', coalesce((SELECT json_agg(" NODE_JSON " ORDER BY n.depth DESC) FROM nodes n"
        "   JOIN content_items i ON i.id = n.id AND i.user_id = $2 LEFT JOIN strategy_cycles y ON y.id = "
        "i.cycle_id"
        "   LEFT JOIN item_cycle_rollups r ON r.content_item_id = i.id AND r.cycle_id = i.cycle_id"
        "   WHERE n.side = 'ancestor'), '[]'),"
        "  'descendants', coalesce((SELECT json_agg(" NODE_JSON " ORDER BY n.depth, i.id) FROM nodes n"
        "   JOIN content_items i ON i.id = n.id AND i.user_id = $2 LEFT JOIN strategy_cycles y ON y.id = "
        "i.cycle_id"
        "   LEFT JOIN item_cycle_rollups r ON r.content_item_id = i.id AND r.cycle_id = i.cycle_id"
        "   WHERE n.side = 'descendant'), '[]'))"
        " FROM me",
        2, (const char *[]){sid, uid}, "lineage", "No content item %s", sid);
}

static const cl_user_route signed_in_routes[] = {
    {"POST", "/api/strategy-cycles/:id/analyze", analyze, CL_AUTH_PROVIDER, CL_ROUTE_PROVIDER},
    {"POST", "/api/strategy-cycles/:id/generate-next", generate_next, CL_AUTH_PROVIDER, CL_ROUTE_PROVIDER},
    {"GET", "/api/content-items/:id/lineage", lineage, CL_AUTH_PRODUCT, 0},
};

void cl_iteration_register_routes(void)
{
    CL_ROUTE_USER_TABLE(signed_in_routes);
}
