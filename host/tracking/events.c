/*
 * events.c — the site script, conversions and revenue, and the owner's
 * tracking routes.
 *
 * Public:
 *   GET  /api/tracking/script.js        the site script (ETag, cacheable)
 *   POST /api/track/conversion[?key=]   publishable key (query, X-ClipLoop-Key or body "key") or
 *   OPTIONS /api/track/conversion       the secret key (Bearer); CORS for the project's origins
 *   POST /api/track/revenue             secret key (Bearer) or the signed-in owner; never the browser key
 * Owner (session + product access; another owner's ids answer 404):
 *   GET   /api/projects/:id/tracking                 keys, origins, snippet
 *   PATCH /api/projects/:id/tracking                 {allowed_origins: [..] | null}
 *   POST  /api/projects/:id/tracking/secret-key      create/rotate; the key is in this reply only
 *   POST  /api/projects/:id/tracking/publishable-key rotate
 *   GET   /api/projects/:id/tracking/events?limit=N  last clicks and events
 *   GET   /api/content-items/:id/tracking            link, destination, counts
 *   PUT   /api/content-items/:id/destination         {cta_url: "https://..." | null}
 *   GET   /api/tracking/items?ids=1,2,3              link + counts for several items
 *
 * Attribution (resolved on arrival, stored on the event): clickId → the
 * click's item; else contentItemId; else the project. An unknown clickId
 * falls back to the next field; a click, item or project of another project
 * is refused with 404. Each event is one INSERT (nothing half-written);
 * idempotency by eventId (and, for conversions without one, by
 * clickId + eventType + externalUserId) through a unique index.
 */
#include "tracking/tracking.h"
#include "tracking/tracking_internal.h"
#include "auth/auth.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "http/http.h"
#include "http/db_reply.h"
#include "projects/projects.h"
#include "db/db_row.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define COMP "tracking"
#define TRACK_BODY_MAX (16 * 1024)


static void field_error(cl_res *res, const char *field, const char *msg)
{
    cl_auth_field_error(res, 400, field, msg);
}

/* ---- settings ------------------------------------------------------------------ */

static int rate_per_ip = 120, rate_per_key = 6000; /* per minute */

/* ---- rate limits: fixed one-minute windows per key and per address ------------- */

#define RL_SLOTS 4096

typedef struct {
    char id[96];
    long window;
    int count;
} rl_slot;

static rl_slot rl_table[RL_SLOTS];
static pthread_mutex_t rl_mu = PTHREAD_MUTEX_INITIALIZER;

/* Count one request for id; 1 when it is over limit in this minute. The
   table is a fixed hash; a colliding id from an older window takes the slot. */
static int rate_hit(const char *kind, const char *id, int limit)
{
    char k[96];
    snprintf(k, sizeof k, "%s:%s", kind, id);
    uint32_t h = 2166136261u;
    for (const char *p = k; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    long window = (long)(time(NULL) / 60);
    int over = 0;
    pthread_mutex_lock(&rl_mu);
    for (int probe = 0; probe < 8; probe++) {
        rl_slot *s = &rl_table[(h + (uint32_t)probe) % RL_SLOTS];
        if (strcmp(s->id, k) == 0 || s->window != window || !s->id[0]) {
            if (strcmp(s->id, k) != 0 || s->window != window) {
                snprintf(s->id, sizeof s->id, "%s", k);
                s->window = window;
                s->count = 0;
            }
            over = ++s->count > limit;
            break;
        }
    }
    pthread_mutex_unlock(&rl_mu);
    return over;
}

static int seconds_to_next_minute(void)
{
    return (int)(60 - time(NULL) % 60);
}

/* ---- small validators ------------------------------------------------------------ */

static int token_ok(const char *s, size_t min, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(extra, *p))
            return 0;
    return 1;
}

/* Optional string field: 1 present (valid), 0 absent/null, -1 invalid (e set). */
static int opt_string(const cJSON *body, const char *name, size_t max, const char *extra, const char **out,
                      cl_body_err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    char msg[160];
    if (!cJSON_IsString(v)) {
        snprintf(msg, sizeof msg, "%s must be a string", name);
        return cl_body_field(e, 400, name, msg);
    }
    if (extra ? !token_ok(v->valuestring, 1, max, extra)
              : (!v->valuestring[0] || strlen(v->valuestring) > max)) {
        snprintf(msg, sizeof msg,
                 extra ? "%s must be 1-%zu characters of letters, digits and %s"
                       : "%s must be 1-%zu characters%s",
                 name, max, extra ? extra : "");
        return cl_body_field(e, 400, name, msg);
    }
    *out = v->valuestring;
    return 1;
}

/* Optional positive id (JSON integer or decimal string). 1/0/-1 like opt_string. */
static int opt_id(const cJSON *body, const char *name, int64_t *out, cl_body_err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    *out = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    char msg[120];
    if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 9e15 &&
        floor(v->valuedouble) == v->valuedouble) {
        *out = (int64_t)v->valuedouble;
        return 1;
    }
    if (cJSON_IsString(v) && token_ok(v->valuestring, 1, 18, "") &&
        strspn(v->valuestring, "0123456789") == strlen(v->valuestring)) {
        *out = strtoll(v->valuestring, NULL, 10);
        if (*out > 0)
            return 1;
    }
    snprintf(msg, sizeof msg, "%s must be a positive whole number", name);
    return cl_body_field(e, 400, name, msg);
}

/* ISO 4217 active codes. */
static const char *const currencies =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD "
    "CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD "
    "GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT "
    "LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR "
    "NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD "
    "SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD "
    "XCG XOF XPF YER ZAR ZMW ZWG ZWL";

static int currency_ok(const char *in, char out[4])
{
    if (strlen(in) != 3)
        return 0;
    for (int i = 0; i < 3; i++) {
        if (!isalpha((unsigned char)in[i]))
            return 0;
        out[i] = (char)toupper((unsigned char)in[i]);
    }
    out[3] = '\0';
    for (const char *p = currencies;; p += 4) { /* "AED AFN … ZWL": codes 4 apart, the last before the NUL */
        if (strncmp(p, out, 3) == 0)
            return 1;
        if (!p[3])
            return 0;
    }
}

/* ---- origins ------------------------------------------------------------------------ */

/* Normalize "scheme://host[:port]" (lower-case, default port dropped, no
   path). 0 ok, -1 not an origin. A URL with a path is cut to its origin when
   cut_path is set. */
static int origin_norm(const char *in, char *out, size_t outlen, int cut_path)
{
    const char *p;
    int https;
    if (strncasecmp(in, "https://", 8) == 0)
        https = 1, p = in + 8;
    else if (strncasecmp(in, "http://", 7) == 0)
        https = 0, p = in + 7;
    else
        return -1;
    size_t n = strcspn(p, "/?#");
    if (n == 0 || (!cut_path && p[n]) || (p[n] && p[n] != '/' && p[n] != '?' && p[n] != '#'))
        return -1;
    char host[256];
    if (n >= sizeof host)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']'))
            return -1;
        host[i] = (char)tolower(ch);
    }
    host[n] = '\0';
    size_t hl = strlen(host);
    if (https && hl > 4 && strcmp(host + hl - 4, ":443") == 0)
        host[hl - 4] = '\0';
    if (!https && hl > 3 && strcmp(host + hl - 3, ":80") == 0)
        host[hl - 3] = '\0';
    int w = snprintf(out, outlen, "%s://%s", https ? "https" : "http", host);
    return w > 0 && (size_t)w < outlen ? 0 : -1;
}

/* The project's allowed origins as a JSON array: its list, else the origin
   of its website, else none. allowed_json is the column as json (or NULL). */
static cJSON *effective_origins(const char *allowed_json, const char *website)
{
    cJSON *arr = allowed_json ? cJSON_Parse(allowed_json) : NULL;
    if (cJSON_IsArray(arr))
        return arr;
    cJSON_Delete(arr);
    arr = cJSON_CreateArray();
    char o[300];
    if (website && *website && origin_norm(website, o, sizeof o, 1) == 0)
        cJSON_AddItemToArray(arr, cJSON_CreateString(o));
    return arr;
}

static int origin_allowed(cJSON *origins, const char *origin)
{
    char o[300];
    if (origin_norm(origin, o, sizeof o, 0) != 0)
        return 0;
    cJSON *it;
    cJSON_ArrayForEach(it, origins) if (cJSON_IsString(it) && strcmp(it->valuestring, o) == 0) return 1;
    return 0;
}

/* ---- keys ------------------------------------------------------------------------ */

typedef struct {
    int64_t project_id;
    const char *auth; /* "publishable_key" | "secret_key" | "session" */
    cJSON *origins;   /* owned */
} key_project;

static void random_base62(char *out, size_t n)
{
    static const char a[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    size_t i = 0;
    while (i < n) {
        unsigned char r[32];
        RAND_bytes(r, sizeof r);
        for (size_t k = 0; k < sizeof r && i < n; k++)
            if (r[k] < 248)
                out[i++] = a[r[k] % 62];
    }
    out[n] = '\0';
}

/* The bearer token of Authorization, or NULL. */
static const char *bearer(const cl_req *req)
{
    const char *a = cl_req_header(req, "authorization");
    if (!a || strncasecmp(a, "Bearer ", 7) != 0)
        return NULL;
    a += 7;
    while (*a == ' ')
        a++;
    return *a ? a : NULL;
}

/* Find the project of a key. kind 'p' publishable, 's' secret. 1 found, 0 not, -1 db error. */
static int project_of_key(PGconn *c, char kind, const char *key, key_project *out)
{
    char hash[65];
    const char *p[1];
    const char *sql;
    if (kind == 's') {
        cl_sha256_hex(key, hash);
        p[0] = hash;
        sql = "SELECT id, to_json(tracking_allowed_origins)::text, website_url, tracking_secret_hash FROM "
              "projects"
              " WHERE tracking_secret_hash = $1";
    } else {
        p[0] = key;
        sql = "SELECT id, to_json(tracking_allowed_origins)::text, website_url, tracking_publishable_key "
              "FROM projects"
              " WHERE tracking_publishable_key = $1";
    }
    PGresult *r = cl_db_query(c, sql, 1, p);
    if (!cl_db_ok(r)) {
        PQclear(r);
        return -1;
    }
    int found = PQntuples(r) == 1;
    if (found) {
        /* the index found it; compare again in constant time for good measure */
        const char *stored = PQgetvalue(r, 0, 3);
        size_t n = strlen(p[0]);
        found = strlen(stored) == n && CRYPTO_memcmp(stored, p[0], n) == 0;
    }
    if (found) {
        out->project_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        out->auth = kind == 's' ? "secret_key" : "publishable_key";
        out->origins = effective_origins(PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1),
                                         PQgetisnull(r, 0, 2) ? NULL : PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return found;
}

/* ---- CORS -------------------------------------------------------------------------- */

static void cors_allow(cl_res *res, const char *origin)
{
    cl_res_header(res, "access-control-allow-origin", origin);
    cl_res_header(res, "vary", "Origin");
}

/* OPTIONS /api/track/conversion?key=...: 204 with the CORS headers when the
   key is known and Origin is one of its project's origins; 403 otherwise. */
static void conversion_preflight(cl_req *req, cl_res *res)
{
    const char *origin = cl_req_header(req, "origin");
    char key[128];
    cl_req_query(req, "key", key, sizeof key);
    if (!origin || !key[0]) {
        cl_res_error(res, 403, "cors_refused",
                     "A preflight needs an Origin header and the publishable key in ?key=");
        return;
    }
    char err[256];
    PGconn *c = cl_db_acquire(CL_DB_WAIT_FAST_MS, err, sizeof err);
    if (!c) {
        cl_res_error(res, 503, "database_unavailable", "The database is not reachable");
        return;
    }
    key_project kp = {0};
    int f = project_of_key(c, 'p', key, &kp);
    cl_db_release(c);
    int ok = f == 1 && origin_allowed(kp.origins, origin);
    cJSON_Delete(kp.origins);
    if (f < 0) {
        cl_res_error(res, 500, "internal", "Could not check the key");
        return;
    }
    if (!ok) {
        cl_res_error(res, 403, "cors_refused", "This origin is not allowed for this key");
        return;
    }
    res->status = 204;
    res->content_type = "text/plain";
    cors_allow(res, origin);
    cl_res_header(res, "access-control-allow-methods", "POST, OPTIONS");
    cl_res_header(res, "access-control-allow-headers", "content-type, x-cliploop-key");
    cl_res_header(res, "access-control-max-age", "600");
}

/* ---- recording an event ------------------------------------------------------------ */


/* Resolve attribution and insert. Sets the reply (201 new, 200 duplicate, 404 foreign ids). */
static void record_event(PGconn *c, const key_project *kp, const char *kind, const char *origin,
                         const cl_track_event_in *ev, cl_res *res)
{
    char pid[24], iid[24] = "";
    snprintf(pid, sizeof pid, "%" PRId64, kp->project_id);
    if (ev->project_id && ev->project_id != kp->project_id) {
        cl_res_error(res, 404, "not_found", "No project %" PRId64, ev->project_id);
        return;
    }
    const char *via = "project";
    int64_t item = 0;
    if (ev->click_id) {
        const char *p[] = {ev->click_id};
        for (int attempt = 0; attempt < 2; attempt++) {
            PGresult *r = cl_db_query(
                c, "SELECT content_item_id, project_id FROM tracking_clicks WHERE click_id = $1", 1, p);
            if (!cl_db_ok(r)) {
                cl_res_db_failed(res, COMP, c, r, "click lookup");
                PQclear(r);
                return;
            }
            if (PQntuples(r) == 1) {
                int64_t cp = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
                item = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
                PQclear(r);
                if (cp != kp->project_id) {
                    cl_res_error(res, 404, "not_found", "No click %s in this project", ev->click_id);
                    return;
                }
                via = "click";
                break;
            }
            PQclear(r);
            /* A click from the last batch window may still be queued: have
               this host's writer store it, then look again once. */
            if (attempt == 0 && cl_tracking_flush(2000) != 0)
                break;
        }
    }
    if (ev->content_item_id) {
        char cid[24];
        const char *p[] = {cl_db_id(cid, ev->content_item_id)};
        PGresult *r = cl_db_query(c, "SELECT project_id FROM content_items WHERE id = $1", 1, p);
        if (!cl_db_ok(r)) {
            cl_res_db_failed(res, COMP, c, r, "item lookup");
            PQclear(r);
            return;
        }
        int mine = PQntuples(r) == 1 && strtoll(PQgetvalue(r, 0, 0), NULL, 10) == kp->project_id;
        PQclear(r);
        if (!mine) {
            cl_res_error(res, 404, "not_found", "No content item %" PRId64 " in this project",
                         ev->content_item_id);
            return;
        }
        if (!item) {
            item = ev->content_item_id;
            via = "content_item";
        }
    }
    if (item)
        snprintf(iid, sizeof iid, "%" PRId64, item);

    /* Idempotency key: the sender's event id; for conversions without one,
       click + type + external user (when there is a click). */
    char dedupe[600];
    const char *dk = NULL;
    if (ev->event_id) {
        snprintf(dedupe, sizeof dedupe, "id:%s", ev->event_id);
        dk = dedupe;
    } else if (strcmp(kind, "conversion") == 0 && ev->click_id) {
        snprintf(dedupe, sizeof dedupe, "auto:%s|%s|%s", ev->click_id, ev->event_type,
                 ev->external_user_id ? ev->external_user_id : "");
        dk = dedupe;
    }
    char claimed[24] = "", amount[24] = "";
    if (ev->content_item_id)
        snprintf(claimed, sizeof claimed, "%" PRId64, ev->content_item_id);
    if (ev->amount)
        snprintf(amount, sizeof amount, "%" PRId64, ev->amount);
    const char *p[] = {pid,
                       kind,
                       ev->event_type,
                       ev->event_id,
                       dk,
                       ev->click_id,
                       claimed[0] ? claimed : NULL,
                       iid[0] ? iid : NULL,
                       via,
                       ev->external_user_id,
                       amount[0] ? amount : NULL,
                       ev->currency[0] ? ev->currency : NULL,
                       ev->source,
                       kp->auth,
                       origin};
#define EVENT_JSON                                                                                           \
    "json_build_object('id', e.id, 'kind', e.kind, 'event_type', e.event_type, 'event_id', e.event_id,"      \
    " 'click_id', e.click_id, 'content_item_id', e.content_item_id, 'attributed_item_id', "                  \
    "e.attributed_item_id,"                                                                                  \
    " 'attributed_via', e.attributed_via, 'external_user_id', e.external_user_id,"                           \
    " 'amount_minor', e.amount_minor, 'currency', e.currency, 'source', e.source, 'project_id', "            \
    "e.project_id,"                                                                                          \
    " 'occurred_at', e.occurred_at)"
    PGresult *r = cl_db_query(
        c,
        "INSERT INTO tracking_events AS e (project_id, kind, event_type, event_id, dedupe_key, click_id,"
        "   content_item_id, attributed_item_id, attributed_via, external_user_id, amount_minor, currency, "
        "source,"
        "   auth, origin)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        " ON CONFLICT (project_id, kind, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING"
        " RETURNING " EVENT_JSON ", false",
        15, p);
    if (cl_db_ok(r) && PQntuples(r) == 0) {
        /* Already recorded (a retry): answer with the first one. A new
           statement sees a concurrent twin that committed meanwhile. */
        PQclear(r);
        const char *q[] = {pid, kind, dk};
        r = cl_db_query(c,
                        "SELECT " EVENT_JSON ", true FROM tracking_events e"
                        " WHERE e.project_id = $1 AND e.kind = $2 AND e.dedupe_key = $3",
                        3, q);
    }
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        cl_res_db_failed(res, COMP, c, r, "recording an event");
        PQclear(r);
        return;
    }
    int dup = PQgetvalue(r, 0, 1)[0] == 't';
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "event", cJSON_Parse(PQgetvalue(r, 0, 0)));
    cJSON_AddBoolToObject(o, "duplicate", dup);
    PQclear(r);
    cl_res_json(res, dup ? 200 : 201, o);
}

/* Fields common to both event kinds. 0 or -1 (e set). */
static int read_common(const cJSON *body, cl_track_event_in *ev, cl_body_err *e)
{
    if (opt_string(body, "clickId", 64, "-_", &ev->click_id, e) < 0 ||
        opt_id(body, "contentItemId", &ev->content_item_id, e) < 0 ||
        opt_id(body, "projectId", &ev->project_id, e) < 0 ||
        opt_string(body, "eventId", 128, NULL, &ev->event_id, e) < 0)
        return -1;
    return 0;
}

int cl_track_conversion_body(const cJSON *body, cl_track_event_in *out, cl_body_err *e)
{
    memset(out, 0, sizeof *out);
    const cJSON *et = cJSON_GetObjectItemCaseSensitive(body, "eventType");
    if (!et || cJSON_IsNull(et))
        return cl_body_field(e, 400, "eventType", "eventType is required (for example \"signup\")");
    if (opt_string(body, "eventType", 64, "_.:-", &out->event_type, e) < 0 || read_common(body, out, e) < 0)
        return -1;
    return opt_string(body, "externalUserId", 256, NULL, &out->external_user_id, e) < 0 ? -1 : 0;
}

int cl_track_revenue_body(const cJSON *body, cl_track_event_in *out, cl_body_err *e)
{
    memset(out, 0, sizeof *out);
    const cJSON *amount = cJSON_GetObjectItemCaseSensitive(body, "amount");
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(body, "currency");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "eventName");
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(body, "source");
    if (!amount || !cJSON_IsNumber(amount))
        return cl_body_field(e, 400, "amount", "amount must be a whole number of minor units (cents), for example 1999");
    if (amount->valuedouble <= 0 || amount->valuedouble > 9e15 || floor(amount->valuedouble) != amount->valuedouble)
        return cl_body_field(e, 400, "amount", "amount must be a whole number greater than 0 (minor units)");
    if (!cJSON_IsString(cur) || !currency_ok(cur->valuestring, out->currency))
        return cl_body_field(e, 400, "currency", "currency must be an ISO 4217 code such as USD, EUR or NGN");
    if (!name || cJSON_IsNull(name))
        return cl_body_field(e, 400, "eventName", "eventName is required (for example \"purchase\")");
    if (opt_string(body, "eventName", 64, "_.:-", &out->event_type, e) < 0)
        return -1;
    if (!src || cJSON_IsNull(src))
        return cl_body_field(e, 400, "source", "source is required (for example \"stripe\" or \"manual\")");
    if (opt_string(body, "source", 64, "_.:-", &out->source, e) < 0 || read_common(body, out, e) < 0)
        return -1;
    out->amount = (int64_t)amount->valuedouble;
    return 0;
}

static int body_too_large(const cl_req *req, cl_res *res)
{
    if (req->body_len <= TRACK_BODY_MAX)
        return 0;
    cl_auth_field_error(res, 413, "body", "The request body is larger than 16 KiB");
    return 1;
}

/* POST /api/track/conversion */
static void conversion(cl_req *req, cl_res *res)
{
    const char *origin = cl_req_header(req, "origin");
    char client[64];
    cl_req_client_addr(req, client, sizeof client); /* behind a trusted proxy: the visitor, not the proxy */
    if (rate_hit("ip", client, rate_per_ip)) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", seconds_to_next_minute());
        cl_res_header(res, "retry-after", ra);
        if (origin)
            cors_allow(res, origin);
        cl_res_error(res, 429, "rate_limited", "Too many events from this address; try again in %s s", ra);
        return;
    }
    if (body_too_large(req, res))
        return;
    cJSON *body = cl_req_json(req, res);
    if (!body)
        return;
    char qkey[128];
    cl_req_query(req, "key", qkey, sizeof qkey);
    const char *key = qkey[0] ? qkey : cl_req_header(req, "x-cliploop-key");
    cJSON *bk = cJSON_GetObjectItemCaseSensitive(body, "key");
    if (!key && cJSON_IsString(bk))
        key = bk->valuestring;
    const char *secret = bearer(req);
    if (!key && !secret) {
        cJSON_Delete(body);
        cl_res_error(res, 401, "key_required",
                     "Send the project's publishable key (?key=, X-ClipLoop-Key) or its secret key (Bearer)");
        return;
    }
    char err[256];
    PGconn *c = cl_db_acquire(CL_DB_WAIT_FAST_MS, err, sizeof err);
    if (!c) {
        cJSON_Delete(body);
        cl_res_error(res, 503, "database_unavailable", "The database is not reachable");
        return;
    }
    key_project kp = {0};
    int f = secret ? project_of_key(c, 's', secret, &kp) : project_of_key(c, 'p', key, &kp);
    if (f != 1) {
        cl_db_release(c);
        cJSON_Delete(body);
        if (f < 0)
            cl_res_error(res, 500, "internal", "Could not check the key");
        else
            cl_res_error(res, 401, "invalid_key", "Unknown tracking key");
        return;
    }
    if (origin) {
        if (!origin_allowed(kp.origins, origin)) {
            cl_db_release(c);
            cJSON_Delete(body);
            cJSON_Delete(kp.origins);
            cl_res_error(res, 403, "origin_not_allowed",
                         "%s is not an allowed origin for this project (see the project's Tracking section)",
                         origin);
            return;
        }
        cors_allow(res, origin);
    }
    cJSON_Delete(kp.origins);
    char kid[24];
    snprintf(kid, sizeof kid, "%" PRId64, kp.project_id);
    if (rate_hit("key", kid, rate_per_key)) {
        cl_db_release(c);
        cJSON_Delete(body);
        char ra[16];
        snprintf(ra, sizeof ra, "%d", seconds_to_next_minute());
        cl_res_header(res, "retry-after", ra);
        cl_res_error(res, 429, "rate_limited", "Too many events for this project; try again in %s s", ra);
        return;
    }
    cl_track_event_in ev;
    cl_body_err be = {0};
    if (cl_track_conversion_body(body, &ev, &be) != 0)
        cl_res_body_error(res, &be);
    else
        record_event(c, &kp, "conversion", origin, &ev, res);
    cl_db_release(c);
    cJSON_Delete(body);
}

/* POST /api/track/revenue */
static void revenue(cl_req *req, cl_res *res)
{
    if (body_too_large(req, res))
        return;
    const char *secret = bearer(req);
    char qkey[8];
    if (!secret && (cl_req_query(req, "key", qkey, sizeof qkey) || cl_req_header(req, "x-cliploop-key"))) {
        cl_res_error(
            res, 403, "secret_key_required",
            "Revenue is accepted only with the project's secret key (server to server) or from the owner "
            "in the studio, never with the publishable key");
        return;
    }
    char err[256];
    cl_user u;
    PGconn *c;
    key_project kp = {0};
    if (secret) {
        c = cl_db_acquire(CL_DB_WAIT_FAST_MS, err, sizeof err);
        if (!c) {
            cl_res_error(res, 503, "database_unavailable", "The database is not reachable");
            return;
        }
        int f = project_of_key(c, 's', secret, &kp);
        cJSON_Delete(kp.origins);
        if (f != 1) {
            cl_db_release(c);
            if (f < 0)
                cl_res_error(res, 500, "internal", "Could not check the key");
            else
                cl_res_error(res, 401, "invalid_key", "Unknown secret key");
            return;
        }
    } else {
        c = cl_auth_open(req, res, &u, CL_AUTH_PRODUCT);
        if (!c)
            return;
        kp.auth = "session";
    }
    cJSON *body = cl_req_json(req, res);
    if (!body) {
        cl_db_release(c);
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(body, "key")) {
        cJSON_Delete(body);
        cl_db_release(c);
        cl_res_error(res, 403, "secret_key_required", "Revenue is never accepted with the publishable key");
        return;
    }
    cl_track_event_in ev;
    cl_body_err be = {0};
    if (cl_track_revenue_body(body, &ev, &be) != 0) {
        cl_res_body_error(res, &be);
    } else {
        if (kp.auth && strcmp(kp.auth, "session") == 0) {
            /* The owner: the project comes from the body (or the item), and must be theirs. */
            char uid[24], xid[24];
            snprintf(uid, sizeof uid, "%" PRId64, u.id);
            const char *sql;
            if (ev.project_id) {
                snprintf(xid, sizeof xid, "%" PRId64, ev.project_id);
                sql = "SELECT id FROM projects WHERE id = $1 AND owner_id = $2";
            } else if (ev.content_item_id) {
                snprintf(xid, sizeof xid, "%" PRId64, ev.content_item_id);
                sql = "SELECT p.id FROM content_items i JOIN projects p ON p.id = i.project_id"
                      " WHERE i.id = $1 AND p.owner_id = $2";
            } else {
                sql = NULL;
            }
            if (!sql) {
                field_error(res, "projectId",
                            "projectId (or contentItemId) is required when entering revenue by hand");
            } else {
                const char *p[] = {xid, uid};
                PGresult *r =
                    cl_res_db_get(res, COMP, c, sql, 2, p, "owner check", "No such project or content item");
                if (r) {
                    kp.project_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
                    record_event(c, &kp, "revenue", NULL, &ev, res);
                }
                PQclear(r);
            }
        } else {
            record_event(c, &kp, "revenue", NULL, &ev, res);
        }
    }
    cJSON_Delete(body);
    cl_db_release(c);
}

/* ---- the site script ------------------------------------------------------------------ */

static char *script_body;
static size_t script_len;
static char script_etag[40];

static void load_script(void)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/tracking/script.js", cl_cfg.web_dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        cl_warn(COMP, "%s is missing; /api/tracking/script.js will 404", path);
        return;
    }
    cl_buf b = CL_BUF_INIT;
    cl_buf_read_stream(&b, f, 0);
    fclose(f);
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)(b.data ? b.data : ""), b.len, h);
    char hex[17];
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    snprintf(script_etag, sizeof script_etag, "\"%s\"", hex);
    script_len = b.len;
    script_body = cl_buf_steal(&b);
}

/* Inline: the script from memory, with ETag and a one-hour cache. */
static void script_js(cl_req *req, cl_res *res)
{
    if (!script_body) {
        cl_res_error(res, 404, "not_found", "The tracking script is not installed");
        return;
    }
    cl_res_header(res, "etag", script_etag);
    cl_res_header(res, "cache-control", "public, max-age=3600");
    cl_res_header(res, "access-control-allow-origin", "*");
    res->content_type = "application/javascript; charset=utf-8";
    const char *inm = cl_req_header(req, "if-none-match");
    if (inm && strstr(inm, script_etag)) {
        res->status = 304;
        return;
    }
    res->status = 200;
    cl_buf_append(&res->body, script_body, script_len);
}

/* ---- owner routes --------------------------------------------------------------------- */

/*
 * The owner routes' check: the project :id (into *id) is the user's. 1 yes,
 * 0 no (404 set), -1 database error (500 set).
 */
static int own_project(cl_req *req, cl_res *res, PGconn *c, const cl_user *u, int64_t *id)
{
    *id = cl_req_param_id(req, "id");
    return cl_project_owned(c, res, COMP, *id, u->id);
}

static void reply_settings(PGconn *c, int64_t id, cl_res *res, const char *new_secret)
{
    char pid[24];
    const char *p[] = {cl_db_id(pid, id)};
    PGresult *r =
        cl_db_query(c,
                    "SELECT tracking_publishable_key, to_json(tracking_allowed_origins)::text, website_url,"
                    "       tracking_secret_hint, tracking_secret_created_at"
                    "  FROM projects WHERE id = $1",
                    1, p);
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        cl_res_db_failed(res, COMP, c, r, "tracking settings");
        PQclear(r);
        return;
    }
    const char *pk = PQgetvalue(r, 0, 0);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "publishable_key", pk);
    cJSON *custom = PQgetisnull(r, 0, 1) ? NULL : cJSON_Parse(PQgetvalue(r, 0, 1));
    int is_custom = cJSON_IsArray(custom);
    cJSON_Delete(custom);
    cJSON_AddItemToObject(o, "allowed_origins",
                          effective_origins(PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1),
                                            PQgetisnull(r, 0, 2) ? NULL : PQgetvalue(r, 0, 2)));
    cJSON_AddBoolToObject(o, "origins_from_website", !is_custom);
    static const cl_db_json_col secret_cols[] = {
        {"hint", 3, CL_COL_STR},
        {"created_at", 4, CL_COL_STR},
    };
    cl_db_row_add_object(o, "secret_key", r, 0, 3, secret_cols, CL_DB_NCOLS(secret_cols));
    if (new_secret)
        cJSON_AddStringToObject(o, "new_secret_key", new_secret);
    char base[600], url[700];
    cl_tracking_public_url("x", base, sizeof base);
    base[strlen(base) - 4] = '\0'; /* strip "/r/x" */
    snprintf(url, sizeof url, "%s/api/tracking/script.js", base);
    cJSON_AddStringToObject(o, "script_url", url);
    char snippet[1024];
    snprintf(snippet, sizeof snippet, "<script src=\"%s\" data-key=\"%s\" async></script>", url, pk);
    cJSON_AddStringToObject(o, "snippet", snippet);
    snprintf(url, sizeof url, "%s/api/track/conversion", base);
    cJSON_AddStringToObject(o, "conversion_url", url);
    snprintf(url, sizeof url, "%s/api/track/revenue", base);
    cJSON_AddStringToObject(o, "revenue_url", url);
    PQclear(r);
    cl_res_json(res, 200, o);
}

static void get_settings(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t id;
    if (own_project(req, res, c, u, &id) != 1)
        return;
    reply_settings(c, id, res, NULL);
}

int cl_track_origins_body(const cJSON *body, int *clear, cl_buf *lit, cl_body_err *e)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "allowed_origins");
    *clear = cJSON_IsNull(arr);
    if (!arr)
        return cl_body_field(e, 400, "allowed_origins",
                             "allowed_origins is required (a list of origins, or null for the website's)");
    if (cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr))
        return cl_body_field(e, 400, "allowed_origins", "allowed_origins must be a list of origins or null");
    if (cJSON_GetArraySize(arr) > 20)
        return cl_body_field(e, 400, "allowed_origins", "At most 20 origins");
    cl_buf_puts(lit, "{");
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        char o[300];
        if (!cJSON_IsString(it) || origin_norm(it->valuestring, o, sizeof o, 0) != 0)
            return cl_body_field(e, 400, "allowed_origins",
                                 "Each origin is scheme://host[:port] with no path, for example https://shop.example");
        cl_buf_printf(lit, "%s\"%s\"", i++ ? "," : "", o);
    }
    cl_buf_puts(lit, "}");
    return 0;
}

int cl_track_destination_body(const cJSON *body, const char **url, cl_body_err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "cta_url");
    *url = NULL;
    if (!v)
        return cl_body_field(e, 400, "cta_url", "cta_url is required (a link, or null to use the project's website)");
    if (cJSON_IsString(v) && v->valuestring[0]) {
        const char *u = v->valuestring;
        int ok = (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) && strlen(u) <= 2048 &&
                 strcspn(u, " \t\r\n\v\f") == strlen(u);
        char o[300];
        if (!ok || origin_norm(u, o, sizeof o, 1) != 0)
            return cl_body_field(e, 400, "cta_url", "Enter a full link starting with https:// (at most 2048 characters)");
        *url = u;
        return 0;
    }
    if (!cJSON_IsNull(v) && !(cJSON_IsString(v) && !v->valuestring[0]))
        return cl_body_field(e, 400, "cta_url", "cta_url must be a link or null");
    return 0;
}

static void patch_settings(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t id;
    if (own_project(req, res, c, u, &id) != 1)
        return;
    cJSON *body = cl_req_json(req, res);
    if (!body)
        return;
    cl_buf lit = CL_BUF_INIT;
    int clear = 0;
    cl_body_err be = {0};
    int bad = cl_track_origins_body(body, &clear, &lit, &be) != 0;
    if (bad)
        cl_res_body_error(res, &be);
    if (!bad) {
        char pid[24];
        const char *p[] = {cl_db_id(pid, id), clear ? NULL : lit.data};
        if (cl_db_exec(c, "UPDATE projects SET tracking_allowed_origins = $2::text[] WHERE id = $1", 2, p,
                       NULL, 0) != 0)
            cl_res_error(res, 500, "internal", "Could not save the origins");
        else
            reply_settings(c, id, res, NULL);
    }
    cl_buf_free(&lit);
    cJSON_Delete(body);
}

/* Rotate the project's secret key (secret = 1; the new key is in this reply
   only) or its publishable key. */
static void rotate_key(cl_req *req, cl_res *res, PGconn *c, const cl_user *u, int secret)
{
    int64_t id;
    if (own_project(req, res, c, u, &id) != 1)
        return;
    char key[48] = "clp_sk_", hash[65], pid[24];
    random_base62(key + 7, 32);
    cl_sha256_hex(key, hash);
    const char *p[] = {cl_db_id(pid, id), hash, key + strlen(key) - 4};
    int rc =
        secret ? cl_db_exec(c,
                            "UPDATE projects SET tracking_secret_hash = $2, tracking_secret_hint = $3,"
                            " tracking_secret_created_at = now() WHERE id = $1",
                            3, p, NULL, 0)
               : cl_db_exec(c,
                            "UPDATE projects SET tracking_publishable_key = 'clp_pk_' || cl_random_base62(24)"
                            " WHERE id = $1",
                            1, p, NULL, 0);
    if (rc != 0)
        cl_res_error(res, 500, "internal", "Could not rotate the key");
    else
        reply_settings(c, id, res, secret ? key : NULL);
    OPENSSL_cleanse(key, sizeof key);
}

static void rotate_secret(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    rotate_key(req, res, c, u, 1);
}
static void rotate_publishable(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    rotate_key(req, res, c, u, 0);
}

/* GET /api/projects/:id/tracking/events?limit=N — clicks and events, newest first. */
static void last_events(cl_req *req, cl_res *res)
{
    int ok;
    long limit = cl_req_query_long(req, "limit", 20, &ok);
    if (!ok || limit < 1 || limit > 100) {
        cl_auth_field_error(res, 400, "limit", "limit must be 1-100");
        return;
    }
    int64_t id;
    cl_user u;
    PGconn *c = cl_auth_open(req, res, &u, CL_AUTH_PRODUCT);
    if (!c)
        return;
    if (own_project(req, res, c, &u, &id) == 1) {
        char pid[24], lim[24];
        snprintf(pid, sizeof pid, "%" PRId64, id);
        snprintf(lim, sizeof lim, "%ld", limit);
        const char *p[] = {pid, lim};
        cl_res_db_query_row(
            res, 200, COMP, c,
            "SELECT json_build_object('events', coalesce(json_agg(x ORDER BY x.at DESC), '[]'))::text FROM ("
            " (SELECT CASE WHEN c.is_bot THEN 'bot_click' ELSE 'click' END AS kind, c.clicked_at AS at,"
            "         c.content_item_id AS item_id, i.title AS item_title, NULL::text AS event_type,"
            "         NULL::bigint AS amount_minor, NULL::text AS currency, 'click' AS attributed_via,"
            "         c.bot_pattern, c.click_id"
            "    FROM tracking_clicks c JOIN content_items i ON i.id = c.content_item_id"
            "   WHERE c.project_id = $1 ORDER BY c.clicked_at DESC LIMIT $2)"
            " UNION ALL"
            " (SELECT e.kind, e.occurred_at, e.attributed_item_id, i.title, e.event_type, e.amount_minor, "
            "e.currency,"
            "         e.attributed_via, NULL, e.click_id"
            "    FROM tracking_events e LEFT JOIN content_items i ON i.id = e.attributed_item_id"
            "   WHERE e.project_id = $1 ORDER BY e.occurred_at DESC LIMIT $2)"
            " ORDER BY at DESC LIMIT $2) x",
            2, p, "last events", "No project %s", pid);
    }
    cl_db_release(c);
}

/* Link + counts for items (ids as a Postgres array literal), owned by uid. */
#define ITEM_TRACKING_SQL                                                                                    \
    "SELECT coalesce(json_agg(json_build_object("                                                            \
    "  'content_item_id', i.id, 'slug', i.tracking_slug, 'cta_url', i.cta_url,"                              \
    "  'destination', coalesce(i.cta_url, p.website_url),"                                                   \
    "  'destination_source', CASE WHEN i.cta_url IS NOT NULL THEN 'item' WHEN p.website_url IS NOT NULL"     \
    "     THEN 'project_website' END,"                                                                       \
    "  'clicks', (SELECT count(*) FROM tracking_clicks c WHERE c.content_item_id = i.id AND NOT c.is_bot),"  \
    "  'bot_clicks', (SELECT count(*) FROM tracking_clicks c WHERE c.content_item_id = i.id AND c.is_bot),"  \
    "  'signups', (SELECT count(*) FROM tracking_events e WHERE e.attributed_item_id = i.id"                 \
    "     AND e.kind = 'conversion' AND e.event_type = 'signup'),"                                           \
    "  'conversions', (SELECT count(*) FROM tracking_events e WHERE e.attributed_item_id = i.id"             \
    "     AND e.kind = 'conversion'),"                                                                       \
    "  'revenue', (SELECT coalesce(json_agg(json_build_object('currency', s.currency, 'amount_minor', "      \
    "s.total)"                                                                                               \
    "     ORDER BY s.currency), '[]') FROM (SELECT e.currency, sum(e.amount_minor) AS total FROM "           \
    "tracking_events e"                                                                                      \
    "     WHERE e.attributed_item_id = i.id AND e.kind = 'revenue' GROUP BY e.currency) s)"                  \
    ") ORDER BY i.id), '[]')::text"                                                                          \
    "  FROM content_items i JOIN projects p ON p.id = i.project_id"                                          \
    " WHERE i.id = ANY($1::bigint[]) AND p.owner_id = $2"

/*
 * Reply with the link and counts of the items in ids (a Postgres array
 * literal) that uid owns: one object (single; 404 when not theirs) or
 * {"items":[...]}.
 */
static void reply_items(PGconn *c, const char *ids, int64_t uid, int single, cl_res *res)
{
    char us[24];
    const char *p[] = {ids, cl_db_id(us, uid)};
    PGresult *r = cl_db_query(c, ITEM_TRACKING_SQL, 2, p);
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, COMP, c, r, "item tracking");
        PQclear(r);
        return;
    }
    cJSON *arr = cJSON_Parse(PQgetvalue(r, 0, 0)), *it;
    PQclear(r);
    cJSON_ArrayForEach(it, arr)
    {
        cJSON *slug = cJSON_GetObjectItemCaseSensitive(it, "slug");
        char url[700];
        if (cJSON_IsString(slug) && cl_tracking_public_url(slug->valuestring, url, sizeof url) == 0)
            cJSON_AddStringToObject(it, "url", url);
    }
    if (single) {
        cJSON *one = cJSON_DetachItemFromArray(arr, 0);
        cJSON_Delete(arr);
        if (one)
            cl_res_json(res, 200, one);
        else
            cl_res_error(res, 404, "not_found", "No such content item");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "items", arr);
    cl_res_json(res, 200, o);
}

static void item_tracking(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t id = cl_req_param_id(req, "id");
    char ids[40];
    snprintf(ids, sizeof ids, "{%" PRId64 "}", id);
    reply_items(c, ids, u->id, 1, res);
}

static void items_tracking(cl_req *req, cl_res *res)
{
    char q[1024], lit[1100];
    cl_req_query(req, "ids", q, sizeof q);
    int n = 0;
    size_t w = 0;
    lit[w++] = '{';
    for (char *s = q, *save = NULL, *tok; (tok = strtok_r(s, ",", &save)); s = NULL) {
        if (!token_ok(tok, 1, 18, "") || strspn(tok, "0123456789") != strlen(tok) || n == 100) {
            cl_auth_field_error(res, 400, "ids", "ids is a comma-separated list of at most 100 item ids");
            return;
        }
        w += (size_t)snprintf(lit + w, sizeof lit - w, "%s%s", n++ ? "," : "", tok);
    }
    lit[w++] = '}';
    lit[w] = '\0';
    cl_user u;
    PGconn *c = cl_auth_open(req, res, &u, CL_AUTH_PRODUCT);
    if (!c)
        return;
    reply_items(c, lit, u.id, 0, res);
    cl_db_release(c);
}

/* PUT /api/content-items/:id/destination {cta_url} */
static void put_destination(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t id = cl_req_param_id(req, "id");
    cJSON *body = cl_req_json(req, res);
    if (!body)
        return;
    const char *url;
    cl_body_err be = {0};
    int bad = cl_track_destination_body(body, &url, &be) != 0;
    if (bad)
        cl_res_body_error(res, &be);
    if (!bad) {
        char iid[24], uid[24];
        const char *p[] = {cl_db_id(iid, id), cl_db_id(uid, u->id), url};
        PGresult *r = cl_res_db_get(
            res, COMP, c,
            "UPDATE content_items i SET cta_url = $3, updated_at = now() FROM projects p"
            " WHERE i.id = $1 AND p.id = i.project_id AND p.owner_id = $2 RETURNING i.tracking_slug",
            3, p, "destination", "No content item %" PRId64, id);
        if (r) {
            cl_tracking_invalidate_slug(PQgetvalue(r, 0, 0));
            char ids[40];
            snprintf(ids, sizeof ids, "{%" PRId64 "}", id);
            reply_items(c, ids, u->id, 1, res);
        }
        PQclear(r);
    }
    cJSON_Delete(body);
}

int cl_tracking_events_configure(char *err, size_t errlen)
{
    return cl_tracking_env_int("CLIPLOOP_TRACKING_RATE_PER_IP", 120, 1, 100000000, &rate_per_ip, err,
                               errlen) ||
                   cl_tracking_env_int("CLIPLOOP_TRACKING_RATE_PER_KEY", 6000, 1, 100000000, &rate_per_key,
                                       err, errlen)
               ? -1
               : 0;
}

static const cl_user_route signed_in_routes[] = {
    {"GET", "/api/projects/:id/tracking", get_settings, CL_AUTH_PRODUCT, 0},
    {"PATCH", "/api/projects/:id/tracking", patch_settings, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/projects/:id/tracking/secret-key", rotate_secret, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/projects/:id/tracking/publishable-key", rotate_publishable, CL_AUTH_PRODUCT, 0},
};

void cl_tracking_register_routes(void)
{
    load_script();
    cl_tracking_register_redirect_route();
    cl_route("GET", "/api/tracking/script.js", script_js, CL_ROUTE_INLINE);
    cl_route("POST", "/api/track/conversion", conversion, 0);
    cl_route("OPTIONS", "/api/track/conversion", conversion_preflight, 0);
    cl_route("POST", "/api/track/revenue", revenue, 0);
    cl_route("GET", "/api/tracking/items", items_tracking, 0);
    CL_ROUTE_USER_TABLE(signed_in_routes);
    cl_route("GET", "/api/projects/:id/tracking/events", last_events, 0);
    cl_route_user("GET", "/api/content-items/:id/tracking", item_tracking, CL_AUTH_PRODUCT, 0);
    cl_route_user("PUT", "/api/content-items/:id/destination", put_destination, CL_AUTH_PRODUCT, 0);
}
