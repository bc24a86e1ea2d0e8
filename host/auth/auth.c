/*
 * auth.c — sessions, CSRF, the invite-only gate, and the account routes:
 *
 *   POST /api/auth/signup      {email, password}          201 + session cookie
 *   POST /api/auth/login       {email, password}          200 + session cookie, 401, 429
 *   POST /api/auth/logout                                  revokes this session
 *   POST /api/auth/logout-all                              revokes every session of the user
 *   GET  /api/me                                           the user, plan, access, csrf_token
 *   GET  /api/auth/config                                  public: {mock_mode, invite_only, demo_email?}
 *   GET  /api/_test/product     (CLIPLOOP_TEST_ROUTES only) a stand-in route behind the product gate
 *
 * Access requests and the mock-mode dev routes live in access.c.
 * Passwords and tokens never reach the log.
 */
#include "auth/auth.h"
#include "core/json_out.h"
#include "auth/auth_internal.h"
#include "core/config.h"
#include "core/log.h"
#include "credits/credits.h"
#include "db/db.h"
#include "http/loopdb.h"
#include "mail/mail.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Columns shared by both user loaders (session and id). */
#define USER_COLUMNS                                                                               \
    "u.id, u.email, u.beta_approved, u.is_demo,"                                                   \
    " u.created_at,"                                                                               \
    " COALESCE(sub.status, ''), COALESCE(sub.cancel_at_period_end, false),"                        \
    " COALESCE(extract(epoch FROM sub.current_period_end)::bigint, 0),"                            \
    " extract(epoch FROM now())::bigint, u.email_verified_at IS NOT NULL"

/* src into dst[size], cut to fit (snprintf "%s" without the formatter: this runs for every request). */
static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int64_t col_i64(const PGresult *r, int col) { return strtoll(PQgetvalue(r, 0, col), NULL, 10); }
static int col_bool(const PGresult *r, int col) { return PQgetvalue(r, 0, col)[0] == 't'; }

/* A timestamptz column in the connection's zone, UTC ("2026-12-06
   11:58:05.527156+00"), as cl_iso spells it ("2026-12-06T11:58:05Z", the
   seconds cut, not rounded): Postgres' to_char cost more than the rest of
   the session lookup's columns together. */
static void iso_time(char *dst, size_t size, const char *v)
{
    if (size < 21 || strlen(v) < 19 || v[10] != ' ') {
        copy_str(dst, size, v);
        return;
    }
    memcpy(dst, v, 19);
    dst[10] = 'T';
    memcpy(dst + 19, "Z", 2);
}

/* Fill u from a row of USER_COLUMNS starting at column 0. */
static void fill_user(const PGresult *r, cl_user *u)
{
    memset(u, 0, sizeof *u);
    u->id = col_i64(r, 0);
    copy_str(u->email, sizeof u->email, PQgetvalue(r, 0, 1));
    u->beta_approved = col_bool(r, 2);
    u->is_demo = col_bool(r, 3);
    iso_time(u->created_at, sizeof u->created_at, PQgetvalue(r, 0, 4));
    u->sub.beta_approved = u->beta_approved;
    if (cl_sub_status_parse(PQgetvalue(r, 0, 5), &u->sub.status) != 0)
        u->sub.status = CL_SUB_NONE;
    u->sub.cancel_at_period_end = col_bool(r, 6);
    u->sub.period_end = col_i64(r, 7);
    int64_t now = col_i64(r, 8);
    u->email_verified = col_bool(r, 9);
    /* Until the address is proven, neither an approval nor a subscription
       applies: whoever signed up with someone else's address gets nothing
       that was meant for its owner. */
    cl_plan_input in = u->sub;
    if (!u->email_verified) {
        in.beta_approved = 0;
        in.status = CL_SUB_NONE;
    }
    cl_plan_result pr = cl_effective_plan(&in, cl_cfg.invite_only_mode, now);
    u->plan = pr.plan;
    u->product_access = pr.product_access;
    u->plan_reason = pr.reason;
    if (!u->email_verified && (u->sub.beta_approved || u->sub.status != CL_SUB_NONE) &&
        cl_effective_plan(&u->sub, cl_cfg.invite_only_mode, now).plan != pr.plan)
        u->plan_reason = "email_unverified";
}

int cl_user_load(PGconn *c, int64_t user_id, cl_user *out, char *err, size_t errlen)
{
    char id[24];
    const char *p[] = {cl_db_id(id, user_id)};
    PGresult *r = cl_db_query(c,
                              "SELECT " USER_COLUMNS " FROM users u"
                              " LEFT JOIN subscriptions sub ON sub.user_id = u.id WHERE u.id = $1::bigint",
                              1, p);
    if (cl_db_check(c, r, err, errlen) != 0)
        return -1;
    int found = PQntuples(r) == 1;
    if (found)
        fill_user(r, out);
    PQclear(r);
    return found;
}

cJSON *cl_user_json(const cl_user *u)
{
    static const cl_json_field fields[] = {
        CL_JSON_I64(cl_user, id),
        CL_JSON_CHARS(cl_user, email),
        CL_JSON_CHARS(cl_user, created_at),
        CL_JSON_BOOL(cl_user, is_demo),
        CL_JSON_BOOL(cl_user, beta_approved),
        CL_JSON_BOOL(cl_user, email_verified),
    };
    cJSON *o = cJSON_CreateObject();
    if (o)
        cl_json_add_fields(o, u, fields, CL_JSON_NFIELDS(fields));
    return o;
}

void cl_auth_field_error(cl_res *res, int status, const char *field, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", "validation_failed");
    cJSON_AddStringToObject(e, "message", message);
    cJSON *f = cJSON_AddObjectToObject(e, "fields");
    cJSON_AddStringToObject(f, field, message);
    cl_res_json(res, status, o);
}

/* ---- cookies, origin, CSRF --------------------------------------------- */

/* The session token from any Cookie header (HTTP/2 may split them), copied
   into out (at most outlen-1 bytes). 0 found, -1 none. */
static int session_cookie(const cl_req *req, char *out, size_t outlen)
{
    const size_t nl = strlen(CL_SESSION_COOKIE);
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].name, "cookie") != 0)
            continue;
        const char *p = req->headers[i].value;
        while (*p) {
            while (*p == ' ' || *p == ';')
                p++;
            const char *end = strchr(p, ';');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (len > nl && strncmp(p, CL_SESSION_COOKIE, nl) == 0 && p[nl] == '=') {
                size_t vl = len - nl - 1;
                if (vl == 0 || vl >= outlen)
                    return -1;
                memcpy(out, p + nl + 1, vl);
                out[vl] = '\0';
                return 0;
            }
            p += len;
        }
    }
    return -1;
}

static int is_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return 0;
    return 1;
}

static int state_changing(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && strcmp(method, "OPTIONS") != 0;
}

/* The authority ("host[:port]") this request was addressed to, when known:
   the Host header if the server passes it on, else X-Forwarded-Host from a
   proxy. NULL when neither is present. */
static const char *request_authority(const cl_req *req)
{
    const char *h = cl_req_header(req, "host");
    if (!h)
        h = cl_req_header(req, "x-forwarded-host");
    return h && *h ? h : NULL;
}

/* Does origin's authority name this server? Compared with the request's
   authority when known; otherwise with the configured listener (HOST:PORT,
   or a loopback name on PORT when HOST is a wildcard or loopback address). */
static int origin_matches(const cl_req *req, const char *origin)
{
    const char *sep = strstr(origin, "://");
    if (!sep || strncasecmp(origin, "http", 4) != 0)
        return 0;
    const char *auth = sep + 3;
    const char *want = request_authority(req);
    if (want)
        return strcasecmp(auth, want) == 0;
    char expect[300];
    snprintf(expect, sizeof expect, "%s:%d", cl_cfg.host, cl_cfg.port);
    if (strcasecmp(auth, expect) == 0)
        return 1;
    const char *colon = strrchr(auth, ':');
    if (!colon || atoi(colon + 1) != cl_cfg.port)
        return 0;
    size_t hl = (size_t)(colon - auth);
    int wildcard = strcmp(cl_cfg.host, "0.0.0.0") == 0 || strcmp(cl_cfg.host, "::") == 0 ||
                   strcmp(cl_cfg.host, "127.0.0.1") == 0 || strcmp(cl_cfg.host, "localhost") == 0;
    return wildcard && ((hl == 9 && strncasecmp(auth, "localhost", 9) == 0) ||
                        (hl == 9 && strncmp(auth, "127.0.0.1", 9) == 0) ||
                        (hl == 5 && strncmp(auth, "[::1]", 5) == 0));
}

int cl_auth_check_origin(const cl_req *req, cl_res *res)
{
    const char *site = cl_req_header(req, "sec-fetch-site");
    if (site && strcasecmp(site, "same-origin") != 0 && strcasecmp(site, "none") != 0) {
        cl_res_error(res, 403, "csrf_failed", "Cross-site request refused");
        return -1;
    }
    const char *origin = cl_req_header(req, "origin");
    if (origin && !origin_matches(req, origin)) {
        cl_res_error(res, 403, "csrf_failed", "Request origin does not match this site");
        return -1;
    }
    return 0;
}

static int request_is_tls(const cl_req *req)
{
    const char *proto = cl_req_header(req, "x-forwarded-proto");
    return cl_cfg.cookie_secure || (proto && strcasecmp(proto, "https") == 0);
}

void cl_auth_set_cookie(const cl_req *req, cl_res *res, const char *token, int max_age)
{
    char v[256];
    snprintf(v, sizeof v, "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Lax%s", CL_SESSION_COOKIE,
             token, max_age, request_is_tls(req) ? "; Secure" : "");
    cl_res_header(res, "Set-Cookie", v);
    /* A readable hint beside the HttpOnly session, holding nothing secret:
       pages skip asking /api/me (and a 401) when it is absent. */
    snprintf(v, sizeof v, "%s=%s; Path=/; Max-Age=%d; SameSite=Lax%s", CL_SIGNED_IN_COOKIE, max_age > 0 ? "1" : "",
             max_age, request_is_tls(req) ? "; Secure" : "");
    cl_res_header(res, "Set-Cookie", v);
}

/* ---- sessions ------------------------------------------------------------ */

/* Everything a signed-in request needs in one round trip: the user, the
   subscription (for the plan), the session (CSRF token) and the credit
   account (balances, and whether this month's grant is in). No ':' in the
   text outside casts, so pgbench runs it verbatim (tests/bench/routes). */
#define SESSION_COLUMNS USER_COLUMNS ", s.id, s.csrf_token, extract(epoch FROM s.expires_at)::bigint"
#define SESSION_FROM                                                                                 \
    " FROM sessions s JOIN users u ON u.id = s.user_id"                                               \
    " LEFT JOIN subscriptions sub ON sub.user_id = u.id"
#define SESSION_WHERE " WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()"

const cl_db_stmt cl_auth_session_stmt = {
    "cl_auth_session",
    "SELECT " SESSION_COLUMNS ","
    " a.user_id IS NOT NULL, COALESCE(a.generation_balance, 0), COALESCE(a.render_balance, 0),"
    " COALESCE(a.granted_month::text, ''), COALESCE(a.granted_generation, 0), COALESCE(a.granted_render, 0)"
    SESSION_FROM " LEFT JOIN credit_accounts a ON a.user_id = u.id" SESSION_WHERE,
    1,
};

/* The same row without the credit account, for the routes that show no
   balance (the lists): one join and six columns less on every request. */
const cl_db_stmt cl_auth_session_user_stmt = {
    "cl_auth_session_user",
    "SELECT " SESSION_COLUMNS SESSION_FROM SESSION_WHERE,
    1,
};

/* The session resolved by the first sub-request of a composite route
   (cl_auth_memo_begin), reused by the others on this thread. */
static __thread struct {
    int active, have;
    char hash[65];
    cl_user u;
} memo;

void cl_auth_memo_begin(void)
{
    memo.active = 1;
    memo.have = 0;
}

void cl_auth_memo_end(void)
{
    OPENSSL_cleanse(&memo, sizeof memo);
}

/* CSRF and origin checks for a state-changing request; 0 or -1 (reply set). */
static int check_csrf(const cl_req *req, cl_res *res, const cl_user *u)
{
    if (!state_changing(req->method))
        return 0;
    if (cl_auth_check_origin(req, res) != 0)
        return -1;
    const char *sent = cl_req_header(req, CL_CSRF_HEADER);
    size_t want = strlen(u->csrf_token);
    if (!sent || strlen(sent) != want || CRYPTO_memcmp(sent, u->csrf_token, want) != 0) {
        cl_res_error(res, 403, "csrf_failed", "Missing or wrong " CL_CSRF_HEADER " header (get the token from GET /api/me)");
        return -1;
    }
    return 0;
}

int cl_auth_session_hash(const cl_req *req, cl_res *res, char hash[65])
{
    char token[128];
    if (session_cookie(req, token, sizeof token) != 0 || !is_hex(token, 64)) {
        cl_res_error(res, 401, "unauthenticated", "Sign in to continue");
        return -1;
    }
    cl_sha256_hex(token, hash);
    OPENSSL_cleanse(token, sizeof token);
    return 0;
}

/* *out from a result of cl_auth_session_stmt; 0, or -1 with the reply set. */
static int session_row(cl_res *res, const PGresult *r, cl_user *out)
{
    if (!cl_db_ok(r)) {
        cl_error("auth", "session lookup failed: %s", r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : "out of memory");
        cl_res_error(res, 503, "database_unavailable", "Could not check the session");
        return -1;
    }
    if (PQntuples(r) != 1) {
        cl_res_error(res, 401, "unauthenticated", "Your session has expired or was signed out; sign in again");
        return -1;
    }
    fill_user(r, out);
    out->session_id = col_i64(r, 10);
    copy_str(out->csrf_token, sizeof out->csrf_token, PQgetvalue(r, 0, 11));
    out->session_expires_at = col_i64(r, 12);
    if (PQnfields(r) < 19)
        return 0; /* cl_auth_session_user_stmt: no credit account (credits.loaded stays 0) */
    out->credits.loaded = 1;
    out->credits.has_account = col_bool(r, 13);
    out->credits.generation = col_i64(r, 14);
    out->credits.render = col_i64(r, 15);
    copy_str(out->credits.granted_month, sizeof out->credits.granted_month, PQgetvalue(r, 0, 16));
    out->credits.granted_generation = col_i64(r, 17);
    out->credits.granted_render = col_i64(r, 18);
    return 0;
}

int cl_auth_require(cl_req *req, cl_res *res, PGconn *c, cl_user *out)
{
    char hash[65];
    if (cl_auth_session_hash(req, res, hash) != 0)
        return -1;
    if (memo.active && memo.have && strcmp(memo.hash, hash) == 0) {
        *out = memo.u;
        return check_csrf(req, res, out);
    }
    const char *p[] = {hash};
    PGresult *r = cl_db_prepared(c, &cl_auth_session_stmt, p);
    int rc = session_row(res, r, out);
    PQclear(r);
    if (rc != 0)
        return -1;
    if (memo.active) {
        memcpy(memo.hash, hash, sizeof hash);
        memo.u = *out;
        memo.have = 1;
    }
    return check_csrf(req, res, out);
}

/* The invite-only gate on a resolved user; 0, or -1 with 403 set. */
static int product_gate(cl_res *res, const cl_user *out)
{
    if (!out->product_access && !out->email_verified) {
        cl_res_error(res, 403, "waitlisted",
                     "Confirm your e-mail address first: open the link we sent to %s (or ask for a new one). "
                     "An invitation or a Pro plan applies once the address is confirmed.",
                     out->email);
        return -1;
    }
    if (!out->product_access) {
        cl_res_error(res, 403, "waitlisted",
                     "ClipLoop is invite-only for now. Your account is on the waitlist; we will email %s "
                     "when it is approved, or upgrade to Pro to start right away.",
                     out->email);
        return -1;
    }
    return 0;
}

int cl_auth_session_result(cl_req *req, cl_res *res, const PGresult *r, int level, cl_user *out)
{
    if (session_row(res, r, out) != 0 || check_csrf(req, res, out) != 0)
        return -1;
    return level >= CL_AUTH_PRODUCT ? product_gate(res, out) : 0;
}

PGconn *cl_auth_open(cl_req *req, cl_res *res, cl_user *out, int level)
{
    PGconn *c = cl_auth_db(res);
    if (!c)
        return NULL;
    int rc = level >= CL_AUTH_PRODUCT ? cl_auth_require_product_access(req, res, c, out)
                                      : cl_auth_require(req, res, c, out);
    if (rc == 0 && level == CL_AUTH_PROVIDER)
        rc = cl_req_provider_slot(req, res, out->id);
    if (rc != 0) {
        cl_db_release(c);
        return NULL;
    }
    return c;
}

/* Routes registered one by one (cl_route_user) keep their row here: the
   router holds a pointer to it for the life of the process. */
#define MAX_USER_ROUTES 64
static cl_user_route user_routes[MAX_USER_ROUTES];
static int nuser_routes;

static void run_user_route(cl_req *req, cl_res *res)
{
    const cl_user_route *ur = req->route_data;
    cl_user u;
    PGconn *c = cl_auth_open(req, res, &u, ur->level & ~CL_AUTH_JSON);
    if (!c)
        return;
    if (!(ur->level & CL_AUTH_JSON) || (req->json = cl_req_json(req, res)) != NULL)
        ur->fn(req, res, c, &u);
    cJSON_Delete(req->json);
    req->json = NULL;
    cl_db_release(c);
}

void cl_route_user_table(const cl_user_route *routes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cl_route_data(routes[i].method, routes[i].pattern, run_user_route, routes[i].flags, &routes[i]);
}

void cl_route_user(const char *method, const char *pattern, cl_user_handler_fn fn, int level, unsigned flags)
{
    /* The same route registered again (tests register routes more than
       once) reuses its row. */
    int i = 0;
    while (i < nuser_routes && !(user_routes[i].fn == fn && user_routes[i].level == level &&
                                 strcmp(user_routes[i].method, method) == 0 &&
                                 strcmp(user_routes[i].pattern, pattern) == 0))
        i++;
    if (i == MAX_USER_ROUTES) {
        cl_error("auth", "cannot register route %s %s: too many signed-in routes", method, pattern);
        return;
    }
    if (i == nuser_routes) {
        user_routes[i] = (cl_user_route){method, pattern, fn, level, flags};
        nuser_routes++;
    }
    cl_route_data(method, pattern, run_user_route, flags, &user_routes[i]);
}

int cl_auth_require_product_access(cl_req *req, cl_res *res, PGconn *c, cl_user *out)
{
    if (cl_auth_require(req, res, c, out) != 0)
        return -1;
    return product_gate(res, out);
}

int cl_auth_create_session(PGconn *c, const cl_req *req, int64_t user_id, char token[65], char csrf[33],
                           char *err, size_t errlen)
{
    char hash[65], uid[24], ttl[24];
    if (cl_random_hex(token, 32) != 0 || cl_random_hex(csrf, 16) != 0) {
        snprintf(err, errlen, "no randomness available");
        return -1;
    }
    cl_sha256_hex(token, hash);
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    snprintf(ttl, sizeof ttl, "%d", cl_cfg.session_ttl_seconds > 0 ? cl_cfg.session_ttl_seconds : 1209600);
    const char *ua = cl_req_header(req, "user-agent");
    char ua_short[256];
    snprintf(ua_short, sizeof ua_short, "%s", ua ? ua : "");
    char client[64];
    cl_req_client_addr(req, client, sizeof client);
    const char *p[] = {uid, hash, csrf, ttl, ua_short, client};
    return cl_db_exec(c,
                      "INSERT INTO sessions (user_id, token_hash, csrf_token, expires_at, user_agent, addr)"
                      " VALUES ($1::bigint, $2, $3, now() + make_interval(secs => $4::int), $5, $6)",
                      6, p, err, errlen);
}

/* What the pages need to know about account mail: {enabled, mail_log}. */
static cJSON *mail_json(void)
{
    const cl_mailer *m = cl_mail_mailer();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "enabled", m != NULL);
    cJSON_AddBoolToObject(o, "mail_log", cl_cfg.mock_mode && m && m->outbox);
    return o;
}

static const char *jbool(int v) { return v ? "true" : "false"; }

/* The /api/me body written as text (it is on every page's path, so no
   object tree): {user, plan, access, csrf_token, mock_mode, mail}. 0 or -1. */
static int me_write(cl_buf *b, const cl_user *u, const char *csrf)
{
    const cl_mailer *m = cl_mail_mailer();
    int rc = cl_buf_printf(b, "{\"user\":{\"id\":%" PRId64 ",\"email\":", u->id);
    rc |= cl_buf_json_str(b, u->email);
    rc |= cl_buf_puts(b, ",\"created_at\":");
    rc |= cl_buf_json_str(b, u->created_at);
    rc |= cl_buf_printf(b, ",\"is_demo\":%s,\"beta_approved\":%s,\"email_verified\":%s},\"plan\":{\"id\":",
                        jbool(u->is_demo), jbool(u->beta_approved), jbool(u->email_verified));
    rc |= cl_buf_json_str(b, cl_plan_id(u->plan));
    rc |= cl_buf_puts(b, ",\"label\":");
    rc |= cl_buf_json_str(b, cl_plan_label(u->plan));
    rc |= cl_buf_puts(b, ",\"reason\":");
    rc |= cl_buf_json_str(b, u->plan_reason ? u->plan_reason : "");
    rc |= cl_buf_printf(b, "},\"access\":{\"product\":%s,\"invite_only\":%s,\"waitlisted\":%s},\"csrf_token\":",
                        jbool(u->product_access), jbool(cl_cfg.invite_only_mode), jbool(!u->product_access));
    rc |= cl_buf_json_str(b, csrf);
    rc |= cl_buf_printf(b, ",\"mock_mode\":%s,\"mail\":{\"enabled\":%s,\"mail_log\":%s}}", jbool(cl_cfg.mock_mode),
                        jbool(m != NULL), jbool(cl_cfg.mock_mode && m && m->outbox));
    return rc ? -1 : 0;
}

/* The common success body of sign-up, log-in and demo log-in. */
cJSON *cl_auth_me_json(const cl_user *u, const char *csrf)
{
    cl_buf b = CL_BUF_INIT;
    cJSON *o = me_write(&b, u, csrf) == 0 && b.data ? cJSON_Parse(b.data) : NULL;
    cl_buf_free(&b);
    return o ? o : cJSON_CreateObject();
}

/* The /api/me reply. */
static void me_reply_body(cl_res *res, const cl_user *u)
{
    if (me_write(cl_res_json_buf(res, 200, 640), u, u->csrf_token) != 0)
        cl_res_error(res, 500, "internal", "out of memory");
}

/* Sign a user in: session row, cookie, and the /api/me body. Replies on res. */
void cl_auth_sign_in(PGconn *c, cl_req *req, cl_res *res, int64_t user_id, int status)
{
    char token[65], csrf[33], err[256];
    cl_user u;
    int found = cl_user_load(c, user_id, &u, err, sizeof err);
    if (found <= 0 || cl_auth_create_session(c, req, user_id, token, csrf, err, sizeof err) != 0) {
        cl_error("auth", "cannot create a session for user %" PRId64 ": %s", user_id,
                 found == 0 ? "no such user" : err);
        cl_res_error(res, 500, "internal", "Could not sign in");
        return;
    }
    /* Credits for this month, so the first screen shows real balances. */
    if (cl_credits_grant_monthly(c, user_id, u.plan, NULL, err, sizeof err) < 0)
        cl_warn("auth", "monthly grant for user %" PRId64 " failed: %s", user_id, err);
    cl_auth_set_cookie(req, res, token, cl_cfg.session_ttl_seconds > 0 ? cl_cfg.session_ttl_seconds : 1209600);
    OPENSSL_cleanse(token, sizeof token);
    cl_res_json(res, status, cl_auth_me_json(&u, csrf));
}

PGconn *cl_auth_db(cl_res *res)
{
    char err[256];
    PGconn *c = cl_db_acquire(CL_DB_WAIT_MS, err, sizeof err);
    if (!c) {
        cl_warn("auth", "no database connection: %s", err);
        cl_res_error(res, 503, "database_unavailable", "The database is not reachable; try again shortly");
    }
    return c;
}

/* ---- routes ----------------------------------------------------------------- */

/* Read {email, password} with field errors; 0 or -1 (reply set). */
static int read_credentials(cl_req *req, cl_res *res, cl_credentials *cr, int signup)
{
    cJSON *j = cl_req_json(req, res);
    if (!j)
        return -1;
    cl_body_err e = {0};
    int rc = cl_auth_credentials_body(j, signup, cr, &e);
    if (rc != 0)
        cl_res_body_error(res, &e);
    cJSON_Delete(j);
    return rc;
}

static void signup(cl_req *req, cl_res *res)
{
    if (cl_auth_check_origin(req, res) != 0)
        return;
    char hash[CL_PASSWORD_HASH_MAX], err[256];
    cl_credentials cr;
    if (read_credentials(req, res, &cr, 1) != 0)
        return;
    const char *email = cr.email;
    int hrc = cl_password_hash(cr.password, cl_cfg.scrypt_log_n, hash, sizeof hash, err, sizeof err);
    OPENSSL_cleanse(cr.password, sizeof cr.password);
    if (hrc != 0) {
        cl_error("auth", "password hashing failed: %s", err);
        cl_res_error(res, 500, "internal", "Could not create the account");
        return;
    }
    PGconn *c = cl_auth_db(res);
    if (!c)
        return;
    /* The account starts unverified and unapproved: an approved access
       request for this address applies only once the person follows the
       link mailed to it (email.c). Account and link are one transaction
       with the delivery, so a refused or timed-out mail leaves nothing. */
    const char *p[] = {email, hash};
    PGresult *r = cl_db_begin(c) == 0 ? cl_db_query(c,
                                                    "INSERT INTO users (email, password_hash) VALUES ($1, $2)"
                                                    " ON CONFLICT (email) DO NOTHING RETURNING id",
                                                    2, p)
                                      : NULL;
    OPENSSL_cleanse(hash, sizeof hash);
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, err, sizeof err);
        PQclear(r);
        cl_db_rollback(c);
        cl_db_release(c);
        cl_error("auth", "sign-up failed: %s", err);
        cl_res_error(res, 500, "internal", "Could not create the account");
        return;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        cl_db_rollback(c);
        cl_db_release(c);
        cl_res_error(res, 409, "email_taken", "An account with this email already exists; log in instead");
        return;
    }
    int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    cl_error me = {0};
    int mrc = cl_email_send_verification(c, req, id, email, &me);
    if (mrc != CL_OK && mrc != CL_EUNSUPPORTED) {
        cl_db_rollback(c);
        cl_db_release(c);
        if (mrc == CL_EIO)
            cl_res_error(res, 503, "database_unavailable", "Could not create the account; try again shortly");
        else if (mrc == CL_ETIMEOUT)
            cl_res_error(res, 504, "mail_timeout",
                         "The mail server did not answer in time, so we could not send the confirmation link. "
                         "No account was created; try again in a few minutes.");
        else
            cl_res_error(res, 502, "mail_failed",
                         "The mail server did not accept the confirmation e-mail (%s). No account was created; "
                         "check the address or try again in a few minutes.",
                         me.message);
        return;
    }
    if (cl_db_commit(c) != 0) {
        cl_db_rollback(c);
        cl_db_release(c);
        cl_res_error(res, 503, "database_unavailable", "Could not create the account; try again shortly");
        return;
    }
    if (mrc == CL_EUNSUPPORTED)
        cl_warn("auth", "new account %" PRId64 " cannot verify its address: MAIL_PROVIDER=none", id);
    if (cl_credits_ensure_account(c, id, err, sizeof err) != 0)
        cl_warn("auth", "credit account for user %" PRId64 ": %s", id, err);
    cl_info("auth", "new account %" PRId64, id);
    cl_auth_sign_in(c, req, res, id, 201);
    cl_db_release(c);
}

/*
 * Seconds until a log-in for email/addr may be tried again; 0 when allowed,
 * -1 on error.
 *   per account: from the max-th failure inside the window on, locked until
 *     the latest failure + backoff * 2^(failures - max), capped at the
 *     window — a few guesses cost seconds, many cost the whole window;
 *   per client address: the max-th most recent failure inside the window
 *     blocks until it leaves the window.
 * Runs inside login's transaction, under its advisory lock on the email.
 */
static long login_blocked_for(PGconn *c, const char *email, const char *addr)
{
    char win[16], max_e[16], max_a[16], backoff[16];
    snprintf(win, sizeof win, "%d", cl_cfg.login_window_seconds > 0 ? cl_cfg.login_window_seconds : 900);
    snprintf(max_e, sizeof max_e, "%d", cl_cfg.login_max_failures > 0 ? cl_cfg.login_max_failures : 5);
    snprintf(max_a, sizeof max_a, "%d",
             cl_cfg.login_max_failures_per_addr > 0 ? cl_cfg.login_max_failures_per_addr : 20);
    snprintf(backoff, sizeof backoff, "%d", cl_cfg.login_backoff_seconds > 0 ? cl_cfg.login_backoff_seconds : 2);
    const char *p[] = {email, addr, win, max_e, max_a, backoff};
    return (long)cl_db_int(
        c,
        "WITH e AS (SELECT count(*) AS n, max(at) AS last FROM login_failures"
        "           WHERE email = $1 AND at > now() - make_interval(secs => $3::int))"
        " SELECT GREATEST("
        "  (SELECT CASE WHEN e.n >= $4::int THEN GREATEST(0, ceil(extract(epoch FROM e.last"
        "     + make_interval(secs => LEAST($3::int::float8,"
        "         $6::int * power(2::float8, LEAST(e.n - $4::int, 30)))) - now())))::bigint ELSE 0 END FROM "
        "e),"
        "  COALESCE((SELECT ceil(extract(epoch FROM at + make_interval(secs => $3::int) - now()))::bigint"
        "   FROM login_failures WHERE addr = $2 AND at > now() - make_interval(secs => $3::int)"
        "   ORDER BY at DESC OFFSET $5::int - 1 LIMIT 1), 0))",
        6, p, -1);
}

#define LOGIN_LOCK_CLASS "16018"

/* The check, the verification and the record of one log-in, atomically per
   email (a transaction holding an advisory lock on it): concurrent guesses
   for one account queue up instead of all passing the check. Returns the
   user id (> 0), 0 for wrong credentials (failure recorded), or a negative
   value with the reply set (429, 503). */
static int64_t login_attempt(PGconn *c, const char *email, const char *addr, const char *password, cl_res *res)
{
    char err[256];
    const char *p[] = {email};
    if (cl_db_begin(c) != 0 ||
        cl_db_exec(c, "SELECT pg_advisory_xact_lock(" LOGIN_LOCK_CLASS ", hashtext($1))", 1, p, err, sizeof err) != 0) {
        cl_db_rollback(c);
        cl_res_error(res, 503, "database_unavailable", "Could not check log-in attempts");
        return -1;
    }
    long wait = login_blocked_for(c, email, addr);
    if (wait != 0) {
        cl_db_rollback(c);
        if (wait < 0) {
            cl_res_error(res, 503, "database_unavailable", "Could not check log-in attempts");
            return -1;
        }
        char ra[24];
        snprintf(ra, sizeof ra, "%ld", wait);
        cl_res_header(res, "Retry-After", ra);
        cl_res_error(res, 429, "too_many_attempts", "Too many failed log-ins; try again in %ld seconds", wait);
        return -1;
    }
    PGresult *r = cl_db_query(c, "SELECT id, password_hash FROM users WHERE email = $1", 1, p);
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, err, sizeof err);
        PQclear(r);
        cl_db_rollback(c);
        cl_error("auth", "log-in lookup failed: %s", err);
        cl_res_error(res, 503, "database_unavailable", "Could not check the password");
        return -1;
    }
    int ok = 0;
    int64_t id = 0;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 1)) {
        id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        ok = cl_password_verify(password, PQgetvalue(r, 0, 1)) == 1;
        /* A hash made at an older, cheaper cost: replace it now that we
           have the password (compare-and-set, so a concurrent password
           change wins). */
        if (ok && cl_password_needs_rehash(PQgetvalue(r, 0, 1), cl_cfg.scrypt_log_n)) {
            char fresh[CL_PASSWORD_HASH_MAX], uid[24];
            snprintf(uid, sizeof uid, "%" PRId64, id);
            if (cl_password_hash(password, cl_cfg.scrypt_log_n, fresh, sizeof fresh, err, sizeof err) != 0 ||
                cl_db_exec(c, "UPDATE users SET password_hash = $3, updated_at = now() WHERE id = $1 AND password_hash = $2",
                           3, (const char *[]){uid, PQgetvalue(r, 0, 1), fresh}, err, sizeof err) != 0)
                cl_warn("auth", "could not rehash the password of user %s: %s", uid, err);
        }
    } else {
        cl_password_dummy_verify(password, cl_cfg.scrypt_log_n);
    }
    PQclear(r);
    if (!ok) {
        const char *fp[] = {email, addr};
        if (cl_db_exec(c,
                       "WITH gc AS (DELETE FROM login_failures WHERE at < now() - interval '1 day')"
                       " INSERT INTO login_failures (email, addr) VALUES ($1, $2)",
                       2, fp, err, sizeof err) != 0)
            cl_warn("auth", "cannot record a failed log-in: %s", err);
    } else if (cl_db_exec(c, "DELETE FROM login_failures WHERE email = $1", 1, p, err, sizeof err) != 0) {
        cl_warn("auth", "cannot clear failed log-ins: %s", err);
    }
    if (cl_db_commit(c) != 0) {
        cl_db_rollback(c);
        cl_res_error(res, 503, "database_unavailable", "Could not check the password");
        return -1;
    }
    return ok ? id : 0;
}

static void login(cl_req *req, cl_res *res)
{
    if (cl_auth_check_origin(req, res) != 0)
        return;
    char addr[64];
    cl_credentials cr;
    if (read_credentials(req, res, &cr, 0) != 0)
        return;
    PGconn *c = cl_auth_db(res);
    if (!c) {
        OPENSSL_cleanse(cr.password, sizeof cr.password);
        return;
    }
    /* Behind a trusted proxy the client is in X-Forwarded-For, not the peer. */
    cl_req_client_addr(req, addr, sizeof addr);
    int64_t id = login_attempt(c, cr.email, addr, cr.password, res);
    OPENSSL_cleanse(cr.password, sizeof cr.password);
    if (id == 0)
        cl_res_error(res, 401, "invalid_credentials", "Email or password is wrong");
    else if (id > 0)
        cl_auth_sign_in(c, req, res, id, 200);
    cl_db_release(c);
}

static void logout(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char sid[24], err[256];
    const char *p[] = {cl_db_id(sid, u->session_id)};
    int rc = cl_db_exec(c, "UPDATE sessions SET revoked_at = now() WHERE id = $1::bigint AND revoked_at IS NULL",
                        1, p, err, sizeof err);
    if (rc != 0) {
        cl_error("auth", "log-out failed: %s", err);
        cl_res_error(res, 503, "database_unavailable", "Could not sign out");
        return;
    }
    cl_auth_set_cookie(req, res, "", 0);
    cl_res_json_text(res, 200, "{\"signed_out\":true}");
}

static void logout_all(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char uid[24];
    const char *p[] = {cl_db_id(uid, u->id)};
    PGresult *r = cl_db_query(c,
                              "UPDATE sessions SET revoked_at = now()"
                              " WHERE user_id = $1::bigint AND revoked_at IS NULL",
                              1, p);
    int ok = cl_db_ok(r);
    long n = ok ? strtol(PQcmdTuples(r), NULL, 10) : 0;
    PQclear(r);
    if (!ok) {
        cl_res_error(res, 503, "database_unavailable", "Could not sign out");
        return;
    }
    cl_auth_set_cookie(req, res, "", 0);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "signed_out", 1);
    cJSON_AddNumberToObject(o, "sessions_revoked", (double)n);
    cl_res_json(res, 200, o);
}

static void me(cl_req *req, cl_res *res)
{
    cl_user u;
    if (cl_credits_user_granted(req, res, &u) == 0)
        me_reply_body(res, &u);
}

/* GET /api/me on the event loop: the session lookup is the whole read. */
static int me_plan(cl_req *req, cl_res *res, const cl_user *u, cl_read_stmt *s)
{
    (void)req;
    (void)res;
    s->st = NULL;
    return cl_credits_grant_owed(u); /* a grant to apply: the blocking handler writes it */
}

static void me_reply(cl_req *req, cl_res *res, const cl_user *u, const PGresult *r)
{
    (void)req;
    (void)r;
    me_reply_body(res, u);
}

static const cl_read_route me_read = {me, CL_AUTH_SESSION, me_plan, me_reply, 0};

/* Public: what the log-in page needs to know before anyone signs in. */
static void auth_config(cl_req *req, cl_res *res)
{
    (void)req;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "mock_mode", cl_cfg.mock_mode);
    cJSON_AddBoolToObject(o, "invite_only", cl_cfg.invite_only_mode);
    if (cl_cfg.mock_mode)
        cJSON_AddStringToObject(o, "demo_email", CL_DEMO_EMAIL);
    cJSON_AddItemToObject(o, "mail", mail_json());
    cl_res_json(res, 200, o);
}

/* Test-only (CLIPLOOP_TEST_ROUTES): a stand-in product route behind the gate. */
static void test_product(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cl_res_json_text(res, 200, "{\"product_access\":true}");
}

void cl_auth_register_routes(void)
{
    if (cl_cfg.test_routes)
        cl_route_user("GET", "/api/_test/product", test_product, CL_AUTH_PRODUCT, 0);
    /* sends the confirmation mail (up to MAIL_TIMEOUT_MS): the provider pool, like every route that waits
       on an outside service, so a slow mail server holds none of the blocking pool's threads */
    cl_route("POST", "/api/auth/signup", signup, CL_ROUTE_PROVIDER);
    cl_route("POST", "/api/auth/login", login, 0);
    cl_route_user("POST", "/api/auth/logout", logout, CL_AUTH_SESSION, 0);
    cl_route_user("POST", "/api/auth/logout-all", logout_all, CL_AUTH_SESSION, 0);
    cl_route_read("/api/me", &me_read);
    cl_route("GET", "/api/auth/config", auth_config, CL_ROUTE_INLINE);
    cl_access_register_routes();
    cl_email_register_routes();
}
