/*
 * billing.c — checkout, portal, billing status and the provider's webhooks
 * (see billing.h and docs/billing.md).
 *
 * Webhook order of checks: billing configured (else 503), body size (else
 * 413), signature over the raw body in constant time by the plugin (else
 * 401) — nothing is stored before all three pass. Then, in one transaction:
 * the event row (deduplicated by the provider's event key; a replay of a
 * processed event changes nothing but its delivery count), the subscription
 * upsert guarded by the provider's updated_at, and the month's Pro grant.
 */
#include "billing/billing.h"

#include "auth/auth.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "credits/credits.h"
#include "db/db.h"
#include "http/http.h"
#include "plans/plans.h"
#include "plugins/call.h"
#include "plugins/registry.h"

#include <ctype.h>
#include <openssl/sha.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG "billing"
#define MAX_PROVIDER_OUTPUT ((size_t)1 << 20)

const cl_billing_provider *cl_billing_provider_ready(char *why, size_t whylen)
{
    const char *id = cl_cfg.billing_provider;
    if (!id[0] || strcmp(id, "none") == 0) {
        if (why)
            snprintf(why, whylen, "BILLING_PROVIDER is not set");
        return NULL;
    }
    const cl_billing_provider *b = (const cl_billing_provider *)cl_plugins_find(CL_CAP_BILLING_PROVIDER, id);
    if (!b) {
        if (why)
            snprintf(why, whylen, "no billing_provider '%s' is loaded", id);
        return NULL;
    }
    char missing[256] = "";
    if (b->configured && !CL_CAP_CALL(b, NULL, configured, missing, sizeof missing)) {
        if (why)
            snprintf(why, whylen, "%s is missing %s", id, missing);
        return NULL;
    }
    return b;
}

int cl_billing_available(void) { return cl_billing_provider_ready(NULL, 0) != NULL; }

void cl_billing_log_status(void)
{
    char why[400];
    const cl_billing_provider *b = cl_billing_provider_ready(why, sizeof why);
    if (b)
        cl_info(LOG, "billing provider: %s", b->base.id);
    else if (strcmp(cl_cfg.billing_provider, "none") == 0)
        cl_info(LOG, "billing is off (BILLING_PROVIDER=none): billing routes answer 503 billing_not_configured");
    else
        cl_warn(LOG, "billing is not configured (%s): billing routes answer 503 billing_not_configured", why);
}

static const cl_billing_provider *require_provider(cl_res *res)
{
    char why[400];
    const cl_billing_provider *b = cl_billing_provider_ready(why, sizeof why);
    if (!b)
        cl_res_error(res, 503, "billing_not_configured",
                     "Payments are not set up on this server yet, so Pro cannot be bought here.");
    return b;
}

/* Map a failed plugin call to a reply the user can act on. */
static void provider_error(cl_res *res, int rc, const cl_error *e, const char *what)
{
    cl_warn(LOG, "%s failed (%s): %s", what, cl_plugins_status_name(rc), e->message);
    if (rc == CL_EUNSUPPORTED)
        cl_res_error(res, 503, "billing_not_configured",
                     "Payments are not set up on this server yet, so Pro cannot be bought here.");
    else if (rc == CL_ETIMEOUT)
        cl_res_error(res, 504, "billing_timeout", "The payment provider did not answer in time. Try again.");
    else
        cl_res_error(res, 502, "billing_provider_error",
                     "The payment provider could not %s right now. Try again in a minute.", what);
}

/* ---- helpers ---------------------------------------------------------------- */

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static int all_digits(const char *s)
{
    if (!s || !*s || strlen(s) > 18)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* The site's public origin: PUBLIC_BASE_URL, else the request's Host. */
void cl_public_origin(const cl_req *req, char *out, size_t len)
{
    if (cl_cfg.public_base_url[0]) {
        snprintf(out, len, "%s", cl_cfg.public_base_url);
        return;
    }
    const char *host = cl_req_header(req, "host");
    const char *proto = cl_req_header(req, "x-forwarded-proto");
    int ok = host && *host && strlen(host) < 256;
    for (const char *p = host; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || strchr(".-:[]", *p);
    snprintf(out, len, "%s://%s", proto && strcmp(proto, "https") == 0 ? "https" : "http",
             ok ? host : "127.0.0.1");
}

static int64_t resolve_user(PGconn *c, const char *provider, const char *custom_user, const char *sub_id)
{
    PGresult *r = NULL;
    int64_t uid = 0;
    if (all_digits(custom_user)) {
        const char *p[] = {custom_user};
        r = cl_db_query(c, "SELECT id FROM users WHERE id = $1::bigint", 1, p);
        if (cl_db_ok(r) && PQntuples(r) == 1)
            uid = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    if (!uid && sub_id) {
        const char *p[] = {provider, sub_id};
        r = cl_db_query(c, "SELECT user_id FROM subscriptions WHERE provider = $1 AND provider_subscription_id = $2",
                        2, p);
        if (cl_db_ok(r) && PQntuples(r) == 1)
            uid = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    return uid;
}

/*
 * Store a normalized subscription for uid unless the stored state is newer
 * (provider updated_at). Returns 1 applied, 0 stale (nothing written), -1
 * invalid (msg set, nothing written), -2 database error (msg set).
 */
static int store_subscription(PGconn *c, int64_t uid, const char *provider, const cJSON *sub, char *msg,
                              size_t msglen)
{
    const char *status = jstr(sub, "status");
    cl_sub_status st;
    if (!status || cl_sub_status_parse(status, &st) != 0 || st == CL_SUB_NONE) {
        snprintf(msg, msglen, "unknown subscription status '%.40s'", status ? status : "");
        return -1;
    }
    const char *plan = jstr(sub, "plan");
    if (!plan || strcmp(plan, "starter") != 0) {
        snprintf(msg, msglen, "variant %.40s is not the configured Starter (Pro) variant",
                 jstr(sub, "variant_id") ? jstr(sub, "variant_id") : "?");
        return -1;
    }
    const char *renews = jstr(sub, "renews_at"), *ends = jstr(sub, "ends_at");
    const char *period_end = (st == CL_SUB_CANCELLED || st == CL_SUB_EXPIRED) ? (ends ? ends : renews)
                                                                              : (renews ? renews : ends);
    int cancelled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sub, "cancelled")) || st == CL_SUB_CANCELLED;
    char uidtext[24];
    snprintf(uidtext, sizeof uidtext, "%" PRId64, uid);
    const char *p[] = {uidtext,
                       provider,
                       jstr(sub, "id"),
                       status,
                       cancelled ? "true" : "false",
                       period_end,
                       jstr(sub, "customer_id"),
                       jstr(sub, "order_id"),
                       jstr(sub, "variant_id"),
                       jstr(sub, "portal_url"),
                       jstr(sub, "update_payment_url"),
                       renews,
                       ends,
                       jstr(sub, "trial_ends_at"),
                       jstr(sub, "updated_at"),
                       jstr(sub, "card_brand"),
                       jstr(sub, "card_last_four")};
    PGresult *r = cl_db_query(
        c,
        "INSERT INTO subscriptions AS s (user_id, provider, provider_subscription_id, plan, status,"
        " cancel_at_period_end, current_period_end, provider_customer_id, provider_order_id, provider_variant_id,"
        " provider_status, portal_url, update_payment_url, renews_at, ends_at, trial_ends_at, provider_updated_at,"
        " card_brand, card_last_four, updated_at)"
        " VALUES ($1::bigint, $2, $3, 'starter', $4, $5::boolean, $6::timestamptz, $7, $8, $9, $4, $10, $11,"
        " $12::timestamptz, $13::timestamptz, $14::timestamptz, $15::timestamptz, $16, $17, now())"
        " ON CONFLICT (user_id) DO UPDATE SET provider = EXCLUDED.provider,"
        " provider_subscription_id = EXCLUDED.provider_subscription_id, plan = 'starter', status = EXCLUDED.status,"
        " cancel_at_period_end = EXCLUDED.cancel_at_period_end, current_period_end = EXCLUDED.current_period_end,"
        " provider_customer_id = COALESCE(EXCLUDED.provider_customer_id, s.provider_customer_id),"
        " provider_order_id = COALESCE(EXCLUDED.provider_order_id, s.provider_order_id),"
        " provider_variant_id = EXCLUDED.provider_variant_id, provider_status = EXCLUDED.provider_status,"
        " portal_url = COALESCE(EXCLUDED.portal_url, s.portal_url),"
        " update_payment_url = COALESCE(EXCLUDED.update_payment_url, s.update_payment_url),"
        " renews_at = EXCLUDED.renews_at, ends_at = EXCLUDED.ends_at, trial_ends_at = EXCLUDED.trial_ends_at,"
        " provider_updated_at = EXCLUDED.provider_updated_at,"
        " card_brand = COALESCE(EXCLUDED.card_brand, s.card_brand),"
        " card_last_four = COALESCE(EXCLUDED.card_last_four, s.card_last_four), updated_at = now()"
        " WHERE s.provider_updated_at IS NULL OR EXCLUDED.provider_updated_at IS NULL"
        " OR s.provider_updated_at <= EXCLUDED.provider_updated_at"
        " RETURNING 1",
        17, p);
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, msg, msglen);
        PQclear(r);
        return -2;
    }
    int applied = PQntuples(r) == 1;
    PQclear(r);
    return applied;
}

/* After a state change: the month's Pro grant when the plan is now Pro
   (cl_credits_grant_monthly tops the window up once; a repeat grants nothing). */
static int after_change(PGconn *c, int64_t uid, char *msg, size_t msglen)
{
    cl_user u;
    int found = cl_user_load(c, uid, &u, msg, msglen);
    if (found <= 0) {
        if (found == 0)
            snprintf(msg, msglen, "user %" PRId64 " vanished", uid);
        return -2;
    }
    if (u.plan == CL_PLAN_STARTER && cl_credits_grant_monthly(c, uid, u.plan, NULL, msg, msglen) < 0)
        return -2;
    cl_info(LOG, "user %" PRId64 ": plan %s (%s)", uid, cl_plan_id(u.plan), u.plan_reason);
    return 0;
}

/* ---- POST /api/webhooks/lemonsqueezy ---------------------------------------------- */

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

typedef struct applied {
    const char *outcome; /* applied, stale, ignored, recorded */
    int64_t user_id;
    const char *sub_id;
    const char *provider_status;
    char amount[32];
    const char *currency;
    const char *payment_status;
    char error[512];
} applied;

/* Apply one parsed event. 0 done (a->outcome set; a->error may explain an
   event that could not be used), -1 database error (a->error set). */
static int apply_event(PGconn *c, const char *provider, const cJSON *ev, applied *a)
{
    const char *kind = jstr(ev, "kind");
    const char *custom_user = jstr(ev, "user_id");
    if (kind && strcmp(kind, "subscription") == 0) {
        const cJSON *sub = cJSON_GetObjectItemCaseSensitive(ev, "subscription");
        a->sub_id = jstr(sub, "id");
        a->provider_status = jstr(sub, "status");
        a->user_id = resolve_user(c, provider, custom_user, a->sub_id);
        if (!a->user_id) {
            a->outcome = "unmatched";
            snprintf(a->error, sizeof a->error,
                     "no user for subscription %.40s (custom_data.user_id %.40s)", a->sub_id ? a->sub_id : "?",
                     custom_user ? custom_user : "missing");
            return 0;
        }
        int s = store_subscription(c, a->user_id, provider, sub, a->error, sizeof a->error);
        if (s == -2)
            return -1;
        if (s == -1) {
            a->outcome = "ignored";
            return 0;
        }
        if (s == 0) {
            a->outcome = "stale";
            return 0;
        }
        a->outcome = "applied";
        return after_change(c, a->user_id, a->error, sizeof a->error) == 0 ? 0 : -1;
    }
    if (kind && strcmp(kind, "payment") == 0) {
        const cJSON *pay = cJSON_GetObjectItemCaseSensitive(ev, "payment");
        a->sub_id = jstr(pay, "subscription_id");
        a->user_id = resolve_user(c, provider, custom_user, a->sub_id);
        const cJSON *amt = cJSON_GetObjectItemCaseSensitive(pay, "amount_cents");
        if (cJSON_IsNumber(amt))
            snprintf(a->amount, sizeof a->amount, "%.0f", amt->valuedouble);
        a->currency = jstr(pay, "currency");
        a->payment_status = jstr(pay, "status");
        a->outcome = "recorded";
        if (!a->user_id)
            snprintf(a->error, sizeof a->error, "no user for subscription %.40s", a->sub_id ? a->sub_id : "?");
        return 0;
    }
    a->outcome = "ignored";
    return 0;
}

/* The provider whose webhook this is, with the body's size and signature
   checked (constant-time, in the plugin). NULL with the reply set. */
static const cl_billing_provider *verified_provider(cl_req *req, cl_res *res)
{
    const cl_billing_provider *b = require_provider(res);
    if (!b)
        return NULL;
    /* The route names the provider; another selected provider has no webhook here. */
    if (strcmp(b->base.id, "lemonsqueezy") != 0) {
        cl_res_error(res, 404, "not_found", "No webhook for this billing provider");
        return NULL;
    }
    if (req->body_len > CL_BILLING_WEBHOOK_MAX_BYTES) {
        cl_res_error(res, 413, "payload_too_large", "Webhook bodies are limited to %zu bytes",
                     CL_BILLING_WEBHOOK_MAX_BYTES);
        return NULL;
    }
    const char *hname = b->signature_header ? b->signature_header : "X-Signature";
    const char *sig = cl_req_header(req, hname);
    cl_error e;
    int rc = CL_CAP_CALL(b, &e, verify_webhook, sig ? sig : "", req->body, req->body_len, &e);
    if (rc == CL_EUNSUPPORTED) {
        cl_res_error(res, 503, "billing_not_configured", "Webhooks are not set up on this server");
        return NULL;
    }
    if (rc != CL_OK) {
        cl_warn(LOG, "webhook refused from %s: %s", req->remote_addr, e.message);
        cl_res_error(res, 401, "invalid_signature", "The webhook signature is missing or does not match");
        return NULL;
    }
    return b;
}

/* One verified delivery as the provider's parser read it. */
typedef struct delivery {
    char sha[65];      /* SHA-256 of the body, hex */
    cJSON *ev;         /* the parsed event (owned; deleted by webhook) */
    int unreadable;    /* no event object with event_key and event_name */
    char why[400];     /* why it is unreadable */
    char key[300];     /* the event key, "unreadable:<sha>" when unreadable */
    const char *name;  /* the event name (points into ev), "unreadable" when unreadable */
    char event_id[24]; /* the webhook_events row, once stored */
} delivery;

static void read_delivery(const cl_billing_provider *b, const cl_req *req, delivery *d)
{
    sha256_hex(req->body, req->body_len, d->sha);
    cl_error e;
    cl_output out = {CL_BUF_INIT, MAX_PROVIDER_OUTPUT};
    int rc = CL_CAP_CALL(b, &e, parse_webhook, req->body, req->body_len, &out, &e);
    d->ev = rc == CL_OK ? cJSON_ParseWithLength(out.buf.data ? out.buf.data : "", out.buf.len) : NULL;
    cl_buf_free(&out.buf);
    d->unreadable = !cJSON_IsObject(d->ev) || !jstr(d->ev, "event_key") || !jstr(d->ev, "event_name");
    if (d->unreadable) {
        snprintf(d->why, sizeof d->why, "%.399s", rc != CL_OK ? e.message : "bad provider output");
        snprintf(d->key, sizeof d->key, "unreadable:%s", d->sha);
        d->name = "unreadable";
    } else {
        snprintf(d->key, sizeof d->key, "%s", jstr(d->ev, "event_key"));
        d->name = jstr(d->ev, "event_name");
    }
}

/* Begin the transaction and store the delivery (a redelivery counts one
   more). 1 a new event (d->event_id set), 0 one processed before, -1 error
   (err set, rolled back). The raw body is bytea: passed as binary so any
   byte survives. */
static int store_delivery(PGconn *c, const char *provider, const cl_req *req, delivery *d, char *err,
                          size_t errlen)
{
    const char *p[] = {provider, d->key, d->name, req->body, d->sha};
    int lens[] = {0, 0, 0, (int)req->body_len, 0};
    int fmts[] = {0, 0, 0, 1, 0};
    int ok = cl_db_begin(c) == 0;
    PGresult *r = ok ? PQexecParams(c,
                                    "INSERT INTO webhook_events AS w (provider, event_key, event_name, raw_body,"
                                    " body_sha256, signature_ok) VALUES ($1, $2, $3, $4::bytea, $5, true)"
                                    " ON CONFLICT (provider, event_key) DO UPDATE SET deliveries = w.deliveries + 1"
                                    " RETURNING id, processed_at IS NOT NULL",
                                    5, NULL, p, lens, fmts, 0)
                     : NULL;
    ok = ok && cl_db_ok(r) && PQntuples(r) == 1;
    int rc = -1;
    if (ok) {
        snprintf(d->event_id, sizeof d->event_id, "%s", PQgetvalue(r, 0, 0));
        rc = PQgetvalue(r, 0, 1)[0] == 't' ? 0 : 1;
    } else {
        cl_db_errmsg(c, r, err, errlen);
        cl_db_rollback(c);
    }
    PQclear(r);
    return rc;
}

/* Apply the event under a savepoint: a failure rolls back to it and leaves
   a->outcome NULL, with a->error saying why. */
static void apply_delivery(PGconn *c, const char *provider, const delivery *d, applied *a)
{
    char err[512];
    if (d->unreadable) {
        a->outcome = NULL;
        snprintf(a->error, sizeof a->error, "unreadable event: %.400s", d->why);
    } else if (cl_db_exec(c, "SAVEPOINT apply_event", 0, NULL, err, sizeof err) != 0) {
        a->outcome = NULL;
        snprintf(a->error, sizeof a->error, "%.400s", err);
    } else if (apply_event(c, provider, d->ev, a) != 0) {
        cl_error(LOG, "webhook %s (%s) could not be applied: %s", d->event_id, d->name, a->error);
        cl_db_exec(c, "ROLLBACK TO SAVEPOINT apply_event", 0, NULL, err, sizeof err);
        a->outcome = NULL;
    }
}

/* The outcome on the stored event, and the transaction committed. processed_at
   is set unless the event failed for a reason a redelivery can fix. 0, or -1
   (err set, rolled back). */
static int record_outcome(PGconn *c, const delivery *d, const applied *a, char *err, size_t errlen)
{
    char uid[24] = "";
    if (a->user_id)
        cl_db_id(uid, a->user_id);
    int processed = a->outcome && strcmp(a->outcome, "unmatched") != 0;
    const char *up[] = {d->event_id,
                        uid[0] ? uid : NULL,
                        a->sub_id,
                        a->outcome,
                        a->amount[0] ? a->amount : NULL,
                        a->currency,
                        a->payment_status,
                        a->provider_status,
                        processed ? "true" : "false",
                        a->error[0] ? a->error : NULL};
    if (cl_db_exec(
            c,
            "UPDATE webhook_events SET user_id = $2::bigint, provider_subscription_id = $3, outcome = $4,"
            " amount_cents = $5::bigint, currency = $6, payment_status = $7, provider_status = $8,"
            " processed_at = CASE WHEN $9::boolean THEN now() END, error = $10 WHERE id = $1::bigint",
            10, up, err, errlen) == 0 &&
        cl_db_commit(c) == 0)
        return 0;
    cl_db_rollback(c);
    return -1;
}

/* 200 {"received": true, "duplicate", "event"[, "outcome"]} (outcome_key: whether it has one). */
static void reply_received(cl_res *res, const char *name, int duplicate, int outcome_key, const char *outcome)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "received", 1);
    cJSON_AddBoolToObject(o, "duplicate", duplicate);
    cJSON_AddStringToObject(o, "event", name);
    if (outcome_key && outcome)
        cJSON_AddStringToObject(o, "outcome", outcome);
    else if (outcome_key)
        cJSON_AddNullToObject(o, "outcome");
    cl_res_json(res, 200, o);
}

static void webhook(cl_req *req, cl_res *res)
{
    const cl_billing_provider *b = verified_provider(req, res);
    if (!b)
        return;
    delivery d = {.ev = NULL};
    read_delivery(b, req, &d);
    char err[512];
    PGconn *c = cl_db_acquire(CL_DB_WAIT_MS, err, sizeof err);
    int stored = c ? store_delivery(c, b->base.id, req, &d, err, sizeof err) : -1;
    applied a = {.outcome = "ignored"};
    if (!c) {
        cl_res_error(res, 503, "database_unavailable", "The database is not reachable; deliver again later");
    } else if (stored < 0) {
        cl_error(LOG, "cannot store webhook: %s", err);
        cl_res_error(res, 500, "internal", "Could not store the webhook; deliver it again");
    } else if (stored == 0) {
        if (cl_db_commit(c) == 0)
            reply_received(res, d.name, 1, 0, NULL);
        else
            cl_res_error(res, 500, "internal", "Could not store the webhook; deliver it again");
    } else {
        apply_delivery(c, b->base.id, &d, &a);
        if (record_outcome(c, &d, &a, err, sizeof err) != 0) {
            cl_error(LOG, "cannot record webhook %s: %s", d.event_id, err);
            cl_res_error(res, 500, "internal", "Could not store the webhook; deliver it again");
        } else {
            cl_info(LOG, "webhook %s %s: %s%s%s", d.event_id, d.name, a.outcome ? a.outcome : "failed",
                    a.error[0] ? " — " : "", a.error);
            if (d.unreadable)
                cl_res_error(res, 400, "invalid_payload",
                             "The webhook body is not an event this server understands");
            else
                reply_received(res, d.name, 0, 1, a.outcome);
        }
    }
    if (c)
        cl_db_release(c);
    cJSON_Delete(d.ev);
}

/* ---- POST /api/billing/checkout --------------------------------------------------- */

/* The start of checkout and portal: a configured provider, a signed-in user
   and one of the user's provider slots. Both wait on the provider (up to its
   timeout), so they run on the provider pool (CL_ROUTE_PROVIDER) and a slow
   provider holds neither the blocking pool's threads nor more than
   CLIPLOOP_LLM_PER_USER of them per user (429 beyond). NULL with the reply
   set otherwise. */
static PGconn *open_billing(cl_req *req, cl_res *res, cl_user *u, const cl_billing_provider **b)
{
    *b = require_provider(res);
    PGconn *c = *b ? cl_auth_open(req, res, u, CL_AUTH_SESSION) : NULL;
    if (c && cl_req_provider_slot(req, res, u->id) != 0) {
        cl_db_release(c);
        /* the 429 and its Retry-After stand; the words are about billing */
        cl_res_error(res, 429, "too_many_requests",
                     "Your other requests to the billing provider or the AI are still running; try again in a few seconds");
        return NULL;
    }
    return c;
}

static void checkout(cl_req *req, cl_res *res)
{
    const cl_billing_provider *b;
    cl_user u;
    PGconn *c = open_billing(req, res, &u, &b);
    if (!c)
        return;
    if (!u.email_verified) {
        /* A plan would not apply to an unproven address: take no money for it. */
        cl_db_release(c);
        cl_res_error(res, 403, "email_unverified",
                     "Confirm your e-mail address first: open the link we sent to %s, then upgrade.", u.email);
        return;
    }
    if (u.plan == CL_PLAN_STARTER) {
        cl_db_release(c);
        cl_res_error(res, 409, "already_subscribed",
                     "You already have Pro. Manage it from Settings (Manage billing).");
        return;
    }
    char err[512], uid[24];
    const char *p[] = {cl_db_id(uid, u.id), b->base.id};
    /* One checkout per user at a time: concurrent clicks wait here, then
       find the first one's URL. */
    int ok = cl_db_begin(c) == 0 &&
             cl_db_exec(c, "SELECT pg_advisory_xact_lock(15, ($1::bigint % 2147483647)::int)", 1, p, err,
                        sizeof err) == 0;
    PGresult *r = ok ? cl_db_query(c,
                                   "SELECT url FROM billing_checkouts WHERE user_id = $1::bigint AND provider = $2"
                                   " AND created_at > now() - make_interval(secs => " CL_STR(
                                       CL_BILLING_CHECKOUT_REUSE_SECONDS) ") ORDER BY id DESC LIMIT 1",
                                   2, p)
                     : NULL;
    ok = ok && cl_db_ok(r);
    if (ok && PQntuples(r) == 1) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "url", PQgetvalue(r, 0, 0));
        cJSON_AddBoolToObject(o, "reused", 1);
        PQclear(r);
        cl_db_rollback(c);
        cl_db_release(c);
        cl_res_json(res, 200, o);
        return;
    }
    PQclear(r);
    if (!ok) {
        cl_db_rollback(c);
        cl_db_release(c);
        cl_res_error(res, 500, "internal", "Could not start the checkout");
        return;
    }
    char origin[600], redirect[700];
    cl_public_origin(req, origin, sizeof origin);
    snprintf(redirect, sizeof redirect, "%s/billing/success", origin);
    cJSON *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "plan", "starter");
    cJSON_AddStringToObject(in, "user_id", uid);
    cJSON_AddStringToObject(in, "email", u.email);
    cJSON_AddStringToObject(in, "redirect_url", redirect);
    char *in_text = cJSON_PrintUnformatted(in);
    cJSON_Delete(in);
    cl_output out = {CL_BUF_INIT, MAX_PROVIDER_OUTPUT};
    cl_error e = CL_ERROR_INIT;
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    int rc = in_text ? CL_CAP_CALL(b, &e, create_checkout, &call, in_text, &out, &e) : CL_ENOMEM;
    free(in_text);
    cJSON *got = rc == CL_OK ? cJSON_ParseWithLength(out.buf.data ? out.buf.data : "", out.buf.len) : NULL;
    cl_buf_free(&out.buf);
    const char *url = jstr(got, "url");
    if (rc != CL_OK || !url) {
        cl_db_rollback(c);
        cl_db_release(c);
        cJSON_Delete(got);
        if (rc == CL_OK)
            e.code = rc = CL_EUPSTREAM;
        provider_error(res, rc, &e, "start a checkout");
        return;
    }
    const char *ip[] = {uid, b->base.id, url};
    ok = cl_db_exec(c, "INSERT INTO billing_checkouts (user_id, provider, plan, url) VALUES ($1::bigint, $2, 'starter', $3)",
                    3, ip, err, sizeof err) == 0 &&
         cl_db_commit(c) == 0;
    if (!ok) {
        cl_db_rollback(c);
        cl_warn(LOG, "checkout for user %s not cached: %s", uid, err);
    }
    cl_db_release(c);
    cl_info(LOG, "checkout created for user %s", uid);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "url", url);
    cJSON_AddBoolToObject(o, "reused", 0);
    cJSON_Delete(got);
    cl_res_json(res, 201, o);
}

/* ---- POST /api/billing/portal ----------------------------------------------------- */

static void portal(cl_req *req, cl_res *res)
{
    const cl_billing_provider *b;
    cl_user u;
    PGconn *c = open_billing(req, res, &u, &b);
    if (!c)
        return;
    char uid[24], sub_id[64] = "", err[512];
    const char *p[] = {cl_db_id(uid, u.id), b->base.id};
    PGresult *r = cl_db_query(c,
                              "SELECT provider_subscription_id FROM subscriptions WHERE user_id = $1::bigint"
                              " AND provider = $2 AND provider_subscription_id IS NOT NULL",
                              2, p);
    if (!cl_db_ok(r)) {
        PQclear(r);
        cl_db_release(c);
        cl_res_error(res, 500, "internal", "Could not read your subscription");
        return;
    }
    if (PQntuples(r) == 1)
        snprintf(sub_id, sizeof sub_id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!sub_id[0] || !b->get_subscription) {
        cl_db_release(c);
        cl_res_error(res, 404, "no_subscription",
                     "You have no Pro subscription to manage yet. See /pricing to start one.");
        return;
    }
    /* The portal URL is signed and short-lived: read it fresh every time. */
    cl_output out = {CL_BUF_INIT, MAX_PROVIDER_OUTPUT};
    cl_error e;
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    int rc = CL_CAP_CALL(b, &e, get_subscription, &call, sub_id, &out, &e);
    cJSON *sub = rc == CL_OK ? cJSON_ParseWithLength(out.buf.data ? out.buf.data : "", out.buf.len) : NULL;
    cl_buf_free(&out.buf);
    const char *url = jstr(sub, "portal_url");
    if (rc != CL_OK || !url) {
        cl_db_release(c);
        cJSON_Delete(sub);
        if (rc == CL_EINVAL && e.http_status == 404) {
            cl_res_error(res, 404, "no_subscription", "The payment provider no longer knows this subscription.");
            return;
        }
        if (rc == CL_OK)
            rc = CL_EUPSTREAM;
        provider_error(res, rc, &e, "open the billing portal");
        return;
    }
    /* Sync what the provider reported (same updated_at rule as webhooks). */
    char msg[512] = "";
    int ok = cl_db_begin(c) == 0;
    int s = ok ? store_subscription(c, u.id, b->base.id, sub, msg, sizeof msg) : -2;
    const char *up[] = {uid, url, jstr(sub, "update_payment_url")};
    ok = ok && s != -2 && (s != 1 || after_change(c, u.id, msg, sizeof msg) == 0) &&
         cl_db_exec(c,
                    "UPDATE subscriptions SET portal_url = $2, update_payment_url = COALESCE($3, update_payment_url)"
                    " WHERE user_id = $1::bigint",
                    3, up, err, sizeof err) == 0 &&
         cl_db_commit(c) == 0;
    if (!ok) {
        cl_db_rollback(c);
        cl_warn(LOG, "portal: could not sync subscription of user %s: %s%s", uid, msg, err);
    }
    cl_db_release(c);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "url", url);
    const char *upd = jstr(sub, "update_payment_url");
    if (upd)
        cJSON_AddStringToObject(o, "update_payment_url", upd);
    cJSON_Delete(sub);
    cl_res_json(res, 200, o);
}

/* ---- GET /api/billing -------------------------------------------------------------- */

static void add_text_or_null(cJSON *o, const char *key, PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddStringToObject(o, key, PQgetvalue(r, row, col));
}

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static void status_route(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char uid[24];
    const char *p[] = {cl_db_id(uid, u->id)};
    PGresult *s = cl_db_query(c,
                              "SELECT provider, status, cancel_at_period_end, " ISO("renews_at") ", " ISO(
                                  "ends_at") ", " ISO("trial_ends_at") ", card_brand, card_last_four,"
                                             " provider_subscription_id IS NOT NULL, " ISO("current_period_end")
                              " FROM subscriptions WHERE user_id = $1::bigint",
                              1, p);
    PGresult *h = cl_db_query(c,
                              "SELECT id, event_name, " ISO("received_at") ", outcome, provider_status,"
                              " amount_cents, currency, payment_status"
                              " FROM webhook_events WHERE user_id = $1::bigint"
                              " ORDER BY received_at DESC, id DESC LIMIT 50",
                              1, p);
    if (!cl_db_ok(s) || !cl_db_ok(h)) {
        PQclear(s);
        PQclear(h);
        cl_res_error(res, 500, "internal", "Could not read your billing");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "configured", cl_billing_available());
    cJSON *plan = cJSON_AddObjectToObject(o, "plan");
    cJSON_AddStringToObject(plan, "id", cl_plan_id(u->plan));
    cJSON_AddStringToObject(plan, "label", cl_plan_label(u->plan));
    cJSON_AddStringToObject(plan, "reason", u->plan_reason);
    if (PQntuples(s) == 1) {
        cJSON *sub = cJSON_AddObjectToObject(o, "subscription");
        cJSON_AddStringToObject(sub, "provider", PQgetvalue(s, 0, 0));
        cJSON_AddStringToObject(sub, "status", PQgetvalue(s, 0, 1));
        cJSON_AddBoolToObject(sub, "cancel_at_period_end", PQgetvalue(s, 0, 2)[0] == 't');
        add_text_or_null(sub, "renews_at", s, 0, 3);
        add_text_or_null(sub, "ends_at", s, 0, 4);
        add_text_or_null(sub, "trial_ends_at", s, 0, 5);
        add_text_or_null(sub, "card_brand", s, 0, 6);
        add_text_or_null(sub, "card_last_four", s, 0, 7);
        cJSON_AddBoolToObject(sub, "manageable", PQgetvalue(s, 0, 8)[0] == 't');
        add_text_or_null(sub, "current_period_end", s, 0, 9);
    } else {
        cJSON_AddNullToObject(o, "subscription");
    }
    cJSON *hist = cJSON_AddArrayToObject(o, "history");
    for (int i = 0; i < PQntuples(h); i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "id", (double)strtoll(PQgetvalue(h, i, 0), NULL, 10));
        cJSON_AddStringToObject(x, "event", PQgetvalue(h, i, 1));
        cJSON_AddStringToObject(x, "at", PQgetvalue(h, i, 2));
        add_text_or_null(x, "outcome", h, i, 3);
        add_text_or_null(x, "status", h, i, 4);
        if (PQgetisnull(h, i, 5))
            cJSON_AddNullToObject(x, "amount_cents");
        else
            cJSON_AddNumberToObject(x, "amount_cents", (double)strtoll(PQgetvalue(h, i, 5), NULL, 10));
        add_text_or_null(x, "currency", h, i, 6);
        add_text_or_null(x, "payment_status", h, i, 7);
        cJSON_AddItemToArray(hist, x);
    }
    PQclear(s);
    PQclear(h);
    cl_res_json(res, 200, o);
}

void cl_billing_register_routes(void)
{
    cl_route_user("GET", "/api/billing", status_route, CL_AUTH_SESSION, 0);
    cl_route("POST", "/api/billing/checkout", checkout, CL_ROUTE_PROVIDER);
    cl_route("POST", "/api/billing/portal", portal, CL_ROUTE_PROVIDER);
    cl_route("POST", "/api/webhooks/lemonsqueezy", webhook, 0);
}
