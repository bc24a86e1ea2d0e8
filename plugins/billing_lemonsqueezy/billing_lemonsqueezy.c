/*
 * billing_lemonsqueezy.c — the billing_provider "lemonsqueezy": hosted
 * checkouts, subscription reads and webhook verification for Lemon Squeezy
 * (JSON:API over REST). It never touches the database; the host stores
 * events and derives plans (docs/billing.md).
 *
 * Configuration (section LEMON_SQUEEZY, read on every call):
 *   LEMON_SQUEEZY_API_KEY             Bearer token (never logged)
 *   LEMON_SQUEEZY_STORE_ID            the store that sells Pro
 *   LEMON_SQUEEZY_STARTER_VARIANT_ID  the variant that is the Starter ("Pro") plan
 *   LEMON_SQUEEZY_WEBHOOK_SECRET      the webhook's signing secret
 *   LEMON_SQUEEZY_API_BASE_URL        default https://api.lemonsqueezy.com (tests: a fake)
 *   LEMON_SQUEEZY_TIMEOUT_MS          per-attempt deadline, default 15000
 *
 * Calls:
 *   POST <base>/v1/checkouts           -> data.attributes.url
 *   GET  <base>/v1/subscriptions/<id>  -> the subscription, normalized
 * Errors: 401/403 -> CL_EAUTH, 404/422/400 -> CL_EINVAL (with the first JSON:API
 * error's detail), 429 -> CL_ERATELIMIT, 5xx or an unusable body -> CL_EUPSTREAM.
 * Transport failures keep http_do's code (CL_ETIMEOUT, CL_EBLOCKED, ...).
 *
 * Webhooks: X-Signature is the hex HMAC-SHA256 of the raw body keyed with the
 * signing secret; it is compared in constant time (CRYPTO_memcmp) before the
 * body is parsed.
 */
#include "cliploop_plugin.h"
#include "pl_json.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LS_DEFAULT_BASE "https://api.lemonsqueezy.com"
#define LS_MAX_RESPONSE ((size_t)1 << 20)
/* Deadline of one API request unless LEMON_SQUEEZY_TIMEOUT_MS (100..120000) says otherwise. */
#define LS_TIMEOUT_MS 15000

#define fail(err, code, http_status, ...) cl_error_set_http((err), (code), (http_status), 0, __VA_ARGS__)

static const char *cfg(const char *key)
{
    const char *v = clp_config(key);
    return v && *v ? v : NULL;
}

static int configured(void *self, char *missing, size_t len)
{
    (void)self;
    static const char *const keys[] = {"API_KEY", "STORE_ID", "STARTER_VARIANT_ID", "WEBHOOK_SECRET"};
    size_t used = 0;
    if (len)
        missing[0] = '\0';
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        if (cfg(keys[i]))
            continue;
        int n = snprintf(missing + used, len > used ? len - used : 0, "%sLEMON_SQUEEZY_%s", used ? ", " : "",
                         keys[i]);
        if (n > 0 && used + (size_t)n < len)
            used += (size_t)n;
    }
    return used == 0;
}

static int require_config(cl_error *err)
{
    char missing[200];
    if (configured(NULL, missing, sizeof missing))
        return CL_OK;
    return fail(err, CL_EUNSUPPORTED, 0, "Lemon Squeezy is not configured (missing %s)", missing);
}

/* ---- JSON helpers --------------------------------------------------------- */

static cJSON *path(const cJSON *o, const char *a, const char *b, const char *c)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (x && b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    if (x && c)
        x = cJSON_GetObjectItemCaseSensitive(x, c);
    return (cJSON *)x;
}

/* Add key as a string: a string stays, a number becomes its decimal text,
   anything else null. */
static void add_id(cJSON *o, const char *key, const cJSON *v)
{
    char num[32];
    if (cJSON_IsString(v) && v->valuestring[0]) {
        cJSON_AddStringToObject(o, key, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        snprintf(num, sizeof num, "%.0f", v->valuedouble);
        cJSON_AddStringToObject(o, key, num);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

static void add_str(cJSON *o, const char *key, const cJSON *v)
{
    if (cJSON_IsString(v) && v->valuestring[0])
        cJSON_AddStringToObject(o, key, v->valuestring);
    else
        cJSON_AddNullToObject(o, key);
}

/* The Starter plan is the configured variant; anything else is "". */
static const char *plan_of(const cJSON *variant)
{
    const char *want = cfg("STARTER_VARIANT_ID");
    char num[32] = "";
    if (cJSON_IsNumber(variant))
        snprintf(num, sizeof num, "%.0f", variant->valuedouble);
    else if (cJSON_IsString(variant))
        snprintf(num, sizeof num, "%s", variant->valuestring);
    return want && num[0] && strcmp(want, num) == 0 ? "starter" : "";
}

/* A JSON:API subscriptions resource (`data`) in the host's shape, or NULL. */
static cJSON *normalize_subscription(const cJSON *data)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, "id");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(data, "attributes");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(a, "status");
    if (!cJSON_IsObject(a) || !cJSON_IsString(status) || (!cJSON_IsString(id) && !cJSON_IsNumber(id)))
        return NULL;
    cJSON *o = cJSON_CreateObject();
    add_id(o, "id", id);
    cJSON_AddStringToObject(o, "status", status->valuestring);
    cJSON_AddStringToObject(o, "plan", plan_of(cJSON_GetObjectItemCaseSensitive(a, "variant_id")));
    add_id(o, "variant_id", cJSON_GetObjectItemCaseSensitive(a, "variant_id"));
    add_id(o, "customer_id", cJSON_GetObjectItemCaseSensitive(a, "customer_id"));
    add_id(o, "order_id", cJSON_GetObjectItemCaseSensitive(a, "order_id"));
    add_str(o, "user_email", cJSON_GetObjectItemCaseSensitive(a, "user_email"));
    cJSON_AddBoolToObject(o, "cancelled", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "cancelled")));
    add_str(o, "renews_at", cJSON_GetObjectItemCaseSensitive(a, "renews_at"));
    add_str(o, "ends_at", cJSON_GetObjectItemCaseSensitive(a, "ends_at"));
    add_str(o, "trial_ends_at", cJSON_GetObjectItemCaseSensitive(a, "trial_ends_at"));
    add_str(o, "updated_at", cJSON_GetObjectItemCaseSensitive(a, "updated_at"));
    add_str(o, "portal_url", path(a, "urls", "customer_portal", NULL));
    add_str(o, "update_payment_url", path(a, "urls", "update_payment_method", NULL));
    add_str(o, "card_brand", cJSON_GetObjectItemCaseSensitive(a, "card_brand"));
    add_str(o, "card_last_four", cJSON_GetObjectItemCaseSensitive(a, "card_last_four"));
    return o;
}

/* ---- HTTP ----------------------------------------------------------------- */

/* The first JSON:API error's detail (or title), else the start of the body. */
static void api_error(const char *body, char *out, size_t outlen)
{
    cJSON *j = cJSON_Parse(body ? body : "");
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "errors"), 0);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "detail");
    if (!cJSON_IsString(d))
        d = cJSON_GetObjectItemCaseSensitive(e, "title");
    snprintf(out, outlen, "%.200s", cJSON_IsString(d) ? d->valuestring : (body ? body : ""));
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    cJSON_Delete(j);
}

/* One JSON:API call. On CL_OK *doc is the parsed body (caller deletes). */
static int ls_call(cl_call *call, const char *method, const char *rel, const char *body,
                   cJSON **doc, cl_error *err)
{
    *doc = NULL;
    const char *base = cfg("API_BASE_URL");
    if (!base)
        base = LS_DEFAULT_BASE;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    char url[1024];
    snprintf(url, sizeof url, "%.*s%s", (int)bl, base, rel);
    char auth[600];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg("API_KEY"));
    const char *headers[] = {"Accept: application/vnd.api+json", "Content-Type: application/vnd.api+json", auth,
                             NULL};
    int64_t timeout = clp_config_int("TIMEOUT_MS", LS_TIMEOUT_MS);
    if (timeout < 100 || timeout > 120000)
        timeout = LS_TIMEOUT_MS;
    cl_http_request req = {.size = sizeof req,
                           .method = method,
                           .url = url,
                           .headers = headers,
                           .body = body,
                           .body_len = body ? strlen(body) : 0,
                           .timeout_ms = (int)timeout,
                           /* GETs are safe to retry; a checkout POST is not (the host
                              makes it idempotent per user instead). */
                           .max_retries = strcmp(method, "GET") == 0 ? 2 : 0,
                           .max_response_bytes = LS_MAX_RESPONSE};
    cl_http_response res = {.size = sizeof res};
    int rc = clp_http_do(call, &req, &res, err);
    OPENSSL_cleanse(auth, sizeof auth);
    if (rc != CL_OK) {
        clp_http_response_free(&res);
        return rc;
    }
    char detail[256];
    if (res.status < 200 || res.status >= 300) {
        api_error(res.body, detail, sizeof detail);
        int st = res.status;
        int code = st == 401 || st == 403 ? CL_EAUTH
                   : st == 429            ? CL_ERATELIMIT
                   : st >= 500            ? CL_EUPSTREAM
                                          : CL_EINVAL;
        err->retry_after_ms = res.retry_after_ms;
        clp_http_response_free(&res);
        return fail(err, code, st, "Lemon Squeezy answered %d: %s", st, detail);
    }
    *doc = cJSON_ParseWithLength(res.body ? res.body : "", res.body_len);
    clp_http_response_free(&res);
    if (!cJSON_IsObject(*doc)) {
        cJSON_Delete(*doc);
        *doc = NULL;
        return fail(err, CL_EUPSTREAM, 200, "Lemon Squeezy answered with a body that is not a JSON:API document");
    }
    return CL_OK;
}

/* ---- capability ------------------------------------------------------------ */

static int create_checkout(void *self, cl_call *call, const char *request_json, cl_output *out, cl_error *err)
{
    (void)self;
    int rc = require_config(err);
    if (rc != CL_OK)
        return rc;
    cJSON *in = cJSON_Parse(request_json ? request_json : "");
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(in, "user_id");
    const cJSON *email = cJSON_GetObjectItemCaseSensitive(in, "email");
    const cJSON *redirect = cJSON_GetObjectItemCaseSensitive(in, "redirect_url");
    const cJSON *plan = cJSON_GetObjectItemCaseSensitive(in, "plan");
    if (!cJSON_IsString(user) || !cJSON_IsString(redirect) ||
        (plan && (!cJSON_IsString(plan) || strcmp(plan->valuestring, "starter") != 0))) {
        cJSON_Delete(in);
        return fail(err, CL_EINVAL, 0, "checkout request needs user_id and redirect_url, and plan starter");
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *data = cJSON_AddObjectToObject(root, "data");
    cJSON_AddStringToObject(data, "type", "checkouts");
    cJSON *attrs = cJSON_AddObjectToObject(data, "attributes");
    cJSON *cd = cJSON_AddObjectToObject(attrs, "checkout_data");
    if (cJSON_IsString(email) && email->valuestring[0])
        cJSON_AddStringToObject(cd, "email", email->valuestring);
    cJSON *custom = cJSON_AddObjectToObject(cd, "custom");
    cJSON_AddStringToObject(custom, "user_id", user->valuestring);
    cJSON *po = cJSON_AddObjectToObject(attrs, "product_options");
    cJSON_AddStringToObject(po, "redirect_url", redirect->valuestring);
    cJSON *rel = cJSON_AddObjectToObject(data, "relationships");
    cJSON *st = cJSON_AddObjectToObject(cJSON_AddObjectToObject(rel, "store"), "data");
    cJSON_AddStringToObject(st, "type", "stores");
    cJSON_AddStringToObject(st, "id", cfg("STORE_ID"));
    cJSON *va = cJSON_AddObjectToObject(cJSON_AddObjectToObject(rel, "variant"), "data");
    cJSON_AddStringToObject(va, "type", "variants");
    cJSON_AddStringToObject(va, "id", cfg("STARTER_VARIANT_ID"));
    cJSON_Delete(in);
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!body)
        return fail(err, CL_ENOMEM, 0, "out of memory");
    cJSON *doc = NULL;
    rc = ls_call(call, "POST", "/v1/checkouts", body, &doc, err);
    free(body);
    if (rc != CL_OK)
        return rc;
    const cJSON *url = path(doc, "data", "attributes", "url");
    if (!cJSON_IsString(url) || strncmp(url->valuestring, "http", 4) != 0) {
        cJSON_Delete(doc);
        return fail(err, CL_EUPSTREAM, 201, "Lemon Squeezy's checkout has no url");
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "url", url->valuestring);
    add_id(o, "checkout_id", path(doc, "data", "id", NULL));
    cJSON_Delete(doc);
    return pl_out_json(out, err, o);
}

static int get_subscription(void *self, cl_call *call, const char *id, cl_output *out, cl_error *err)
{
    (void)self;
    int rc = require_config(err);
    if (rc != CL_OK)
        return rc;
    if (!id || !*id || strspn(id, "0123456789") != strlen(id) || strlen(id) > 20)
        return fail(err, CL_EINVAL, 0, "subscription id must be digits");
    char rel[64];
    snprintf(rel, sizeof rel, "/v1/subscriptions/%s", id);
    cJSON *doc = NULL;
    rc = ls_call(call, "GET", rel, NULL, &doc, err);
    if (rc != CL_OK)
        return rc;
    cJSON *o = normalize_subscription(cJSON_GetObjectItemCaseSensitive(doc, "data"));
    cJSON_Delete(doc);
    if (!o)
        return fail(err, CL_EUPSTREAM, 200, "Lemon Squeezy's subscription document is missing its status");
    return pl_out_json(out, err, o);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int verify_webhook(void *self, const char *signature, const void *body, size_t body_len, cl_error *err)
{
    (void)self;
    const char *secret = cfg("WEBHOOK_SECRET");
    if (!secret)
        return fail(err, CL_EUNSUPPORTED, 0, "Lemon Squeezy is not configured (missing LEMON_SQUEEZY_WEBHOOK_SECRET)");
    if (!signature || !*signature)
        return fail(err, CL_EAUTH, 401, "missing X-Signature");
    unsigned char given[32];
    size_t n = strlen(signature);
    if (n != 64)
        return fail(err, CL_EAUTH, 401, "X-Signature is not a hex SHA-256 digest");
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval((unsigned char)signature[2 * i]), lo = hexval((unsigned char)signature[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return fail(err, CL_EAUTH, 401, "X-Signature is not a hex SHA-256 digest");
        given[i] = (unsigned char)(hi << 4 | lo);
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), body, body_len, mac, &maclen) || maclen != 32)
        return fail(err, CL_EIO, 0, "HMAC-SHA256 failed");
    int ok = CRYPTO_memcmp(mac, given, 32) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    return ok ? CL_OK : fail(err, CL_EAUTH, 401, "X-Signature does not match the body");
}

static int parse_webhook(void *self, const void *body, size_t body_len, cl_output *out, cl_error *err)
{
    (void)self;
    cJSON *doc = cJSON_ParseWithLength(body, body_len);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "meta");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "event_name");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(data, "type");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, "id");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(data, "attributes");
    if (!cJSON_IsObject(doc) || !cJSON_IsString(name) || !name->valuestring[0] || !cJSON_IsString(type) ||
        (!cJSON_IsString(id) && !cJSON_IsNumber(id)) || !cJSON_IsObject(a)) {
        cJSON_Delete(doc);
        return fail(err, CL_EINVAL, 0, "not a Lemon Squeezy webhook (needs meta.event_name and data.type/id/attributes)");
    }
    cJSON *o = cJSON_CreateObject();
    char idtext[48], key[256];
    if (cJSON_IsNumber(id))
        snprintf(idtext, sizeof idtext, "%.0f", id->valuedouble);
    else
        snprintf(idtext, sizeof idtext, "%s", id->valuestring);
    const cJSON *upd = cJSON_GetObjectItemCaseSensitive(a, "updated_at");
    /* Lemon Squeezy sends no delivery id: an event is its name, the resource
       and the resource's updated_at (a re-delivery repeats all three). */
    snprintf(key, sizeof key, "%.60s:%.40s:%s:%.40s", name->valuestring, type->valuestring, idtext,
             cJSON_IsString(upd) ? upd->valuestring : "");
    cJSON_AddStringToObject(o, "event_key", key);
    cJSON_AddStringToObject(o, "event_name", name->valuestring);
    cJSON_AddBoolToObject(o, "test_mode", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(meta, "test_mode")));
    add_id(o, "user_id", path(meta, "custom_data", "user_id", NULL));
    if (strcmp(type->valuestring, "subscriptions") == 0) {
        cJSON *sub = normalize_subscription(data);
        if (!sub) {
            cJSON_Delete(o);
            cJSON_Delete(doc);
            return fail(err, CL_EINVAL, 0, "subscription event without a status");
        }
        cJSON_AddStringToObject(o, "kind", "subscription");
        cJSON_AddItemToObject(o, "subscription", sub);
    } else if (strcmp(type->valuestring, "subscription-invoices") == 0) {
        cJSON_AddStringToObject(o, "kind", "payment");
        cJSON *p = cJSON_AddObjectToObject(o, "payment");
        add_id(p, "id", id);
        add_id(p, "subscription_id", cJSON_GetObjectItemCaseSensitive(a, "subscription_id"));
        add_str(p, "status", cJSON_GetObjectItemCaseSensitive(a, "status"));
        add_str(p, "billing_reason", cJSON_GetObjectItemCaseSensitive(a, "billing_reason"));
        const cJSON *total = cJSON_GetObjectItemCaseSensitive(a, "total");
        if (cJSON_IsNumber(total))
            cJSON_AddNumberToObject(p, "amount_cents", total->valuedouble);
        else
            cJSON_AddNullToObject(p, "amount_cents");
        add_str(p, "currency", cJSON_GetObjectItemCaseSensitive(a, "currency"));
        add_str(p, "created_at", cJSON_GetObjectItemCaseSensitive(a, "created_at"));
        add_str(p, "invoice_url", path(a, "urls", "invoice_url", NULL));
    } else {
        cJSON_AddStringToObject(o, "kind", "other");
    }
    cJSON_Delete(doc);
    return pl_out_json(out, err, o);
}

static int ls_setup(cl_error *err)
{
    cl_billing_provider b = {
        .base = {.kind = CL_CAP_BILLING_PROVIDER,
                 .id = "lemonsqueezy",
                 .description = "Lemon Squeezy checkouts, subscriptions and signed webhooks"},
        .create_checkout = create_checkout,
        .verify_webhook = verify_webhook,
        .parse_webhook = parse_webhook,
        .signature_header = "X-Signature",
        .get_subscription = get_subscription,
        .configured = configured,
    };
    int rc = clp_register(&b);
    return rc ? cl_error_set(err, rc, "registering billing_provider 'lemonsqueezy' failed") : CL_OK;
}

CL_PLUGIN("billing_lemonsqueezy", "1.0.0", "LEMON_SQUEEZY", ls_setup)
