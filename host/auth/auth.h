/*
 * auth.h — accounts, sessions, CSRF and the invite-only gate.
 *
 * Every /api route that serves a signed-in user is registered with
 * cl_route_user; its handler receives the pooled connection and the user:
 *
 *     static void get_thing(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
 *     {
 *         ... use u->id only; never take a user id from the request ...
 *     }
 *     cl_route_user("GET", "/api/things/:id", get_thing, CL_AUTH_PRODUCT, 0);
 *
 * CL_AUTH_PRODUCT adds the invite-only gate (product workflows: create,
 * projects, chat, ...); CL_AUTH_SESSION is any signed-in user. A handler that
 * must answer before the session is resolved calls cl_auth_open itself.
 *
 * Sessions: the cookie `cliploop_session` (HttpOnly, SameSite=Lax, Path=/,
 * Secure when the request came over TLS or X-Forwarded-Proto is https, or
 * CLIPLOOP_COOKIE_SECURE is set) carries a random token; the database keeps
 * only its SHA-256. Sessions expire after CLIPLOOP_SESSION_TTL_SECONDS and
 * are revoked by log-out.
 *
 * CSRF: for POST, PUT, PATCH and DELETE, the request must carry the header
 * `X-CSRF-Token` equal to the session's token (returned by log-in, sign-up
 * and GET /api/me), and, when the browser sends them, `Origin` must name this
 * host and `Sec-Fetch-Site` must be same-origin (or none). API clients with a
 * cookie jar send the header and no Origin.
 */
#ifndef CL_AUTH_AUTH_H
#define CL_AUTH_AUTH_H

#include "db/db.h"
#include "http/http.h"
#include "plans/plans.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#define CL_SESSION_COOKIE "cliploop_session"
/** Readable (not HttpOnly) companion cookie, "1" while a session was issued: a hint, never proof. */
#define CL_SIGNED_IN_COOKIE "cliploop_signed_in"
#define CL_CSRF_HEADER "X-CSRF-Token"
/** The mock-mode demo account (MOCK_MODE only; see docs/accounts.md). */
#define CL_DEMO_EMAIL "demo@cliploop.test"

/** A signed-in user as the request sees it. Plain data; nothing to free. */
typedef struct cl_user {
    int64_t id;
    char email[256];
    int beta_approved;
    int is_demo;
    int email_verified;       /**< the address was proven by an e-mailed link (or predates 0019) */
    char created_at[32];      /**< ISO 8601 UTC */
    cl_plan plan;             /**< effective plan (cl_effective_plan) */
    int product_access;       /**< invite-only gate result */
    const char *plan_reason;  /**< static string from cl_effective_plan */
    cl_plan_input sub;        /**< what the plan was derived from */
    int64_t session_id;       /**< 0 when loaded without a session */
    char csrf_token[65];      /**< "" when loaded without a session */
    int64_t session_expires_at;
    /** The credit account, read by the session lookup in the same query
        (loaded = 0 when the user was loaded another way). */
    struct {
        int loaded;
        int has_account;
        int64_t generation, render;
        char granted_month[11];   /**< "YYYY-MM-DD" or "" */
        int64_t granted_generation, granted_render;
    } credits;
} cl_user;

/**
 * Resolve the session cookie into *out. Returns 0, or -1 with the reply
 * already set on res: 401 `unauthenticated` (no, unknown, expired or revoked
 * session), 403 `csrf_failed` (state-changing method without a matching
 * X-CSRF-Token, or a cross-site Origin / Sec-Fetch-Site), 500/503 on
 * database errors. c is the caller's connection (not released here).
 */
int cl_auth_require(cl_req *req, cl_res *res, PGconn *c, cl_user *out);

/**
 * cl_auth_require plus the invite-only gate: 403 `waitlisted` (with a
 * message pointing at the waitlist) when INVITE_ONLY_MODE is on and the
 * user is neither beta-approved nor on an active Pro plan.
 */
int cl_auth_require_product_access(cl_req *req, cl_res *res, PGconn *c, cl_user *out);

/**
 * A composite route that runs several routes in one request on one thread
 * (GET /api/home) brackets them with these: between begin and end, the
 * first cl_auth_require that resolves a session remembers it, and later ones
 * for the same session token reuse it instead of querying again (the CSRF
 * checks still run per call). end forgets it (wiped).
 */
void cl_auth_memo_begin(void);
void cl_auth_memo_end(void);

/** cl_auth_open levels. */
#define CL_AUTH_SESSION 0 /**< a signed-in user */
#define CL_AUTH_PRODUCT 1 /**< a signed-in user past the invite-only gate */
/** CL_AUTH_PRODUCT plus one of the user's provider slots (cl_req_provider_slot,
    429 too_many_requests beyond CLIPLOOP_LLM_PER_USER): for CL_ROUTE_PROVIDER routes. */
#define CL_AUTH_PROVIDER 2
/**
 * For cl_route_user, added to a level (CL_AUTH_PRODUCT | CL_AUTH_JSON): after
 * the user, the wrapper parses the body with cl_req_json (its 400 answered
 * without calling the handler) into req->json, and frees it after the
 * handler returns. The handler reads req->json and never frees it.
 */
#define CL_AUTH_JSON 0x100

/**
 * The usual start of an /api handler: take a pooled connection and resolve
 * the user (cl_auth_require, or cl_auth_require_product_access for
 * CL_AUTH_PRODUCT). Returns the connection (release it with cl_db_release),
 * or NULL with the reply already set on res (503 when the database is
 * unreachable, 401/403 from the checks).
 */
PGconn *cl_auth_open(cl_req *req, cl_res *res, cl_user *out, int level);

/**
 * The handler of a signed-in route (cl_route_user): c is the request's
 * pooled connection and u the resolved user, both owned by the route
 * wrapper, which releases c after the handler returns (the handler never
 * releases it). The handler may refresh *u (cl_credits_grant_if_owed).
 */
typedef void (*cl_user_handler_fn)(cl_req *req, cl_res *res, PGconn *c, cl_user *u);

/**
 * Register an /api route that serves a signed-in user: before fn runs, the
 * wrapper does cl_auth_open(level) (503 / 401 / 403 / 429 answered without
 * calling fn); after, it releases the connection. flags as for cl_route;
 * method and pattern are string literals (kept, not copied). A folder with
 * several such routes lists them in one table (cl_route_user_table).
 */
void cl_route_user(const char *method, const char *pattern, cl_user_handler_fn fn, int level, unsigned flags);

/** One row of a table of signed-in routes (cl_route_user_table). */
typedef struct cl_user_route {
    const char *method;
    const char *pattern;
    cl_user_handler_fn fn;
    int level;      /**< CL_AUTH_SESSION, CL_AUTH_PRODUCT or CL_AUTH_PROVIDER */
    unsigned flags; /**< as for cl_route */
} cl_user_route;

/**
 * cl_route_user for each of the n rows, in order. The router keeps pointers
 * into the table: it must be static (a capability folder's `static const`).
 */
void cl_route_user_table(const cl_user_route *routes, size_t n);
/** cl_route_user_table for a static array (all its rows). */
#define CL_ROUTE_USER_TABLE(table) cl_route_user_table(table, sizeof(table) / sizeof *(table))

/**
 * Same-origin check alone (for public state-changing routes such as log-in,
 * sign-up and access requests): 0, or -1 with 403 `csrf_failed` set on res.
 */
int cl_auth_check_origin(const cl_req *req, cl_res *res);

/**
 * Load a user by id without a session (jobs, credits). Returns 1 found,
 * 0 no such user, -1 error (err set). The effective plan uses `now` and the
 * configured INVITE_ONLY_MODE.
 */
int cl_user_load(PGconn *c, int64_t user_id, cl_user *out, char *err, size_t errlen);

/**
 * The session lookup every signed-in request runs (prepared once per
 * connection): $1 the SHA-256 of the session token; one row of the user,
 * subscription, session and credit account. Exposed for tests/bench/routes,
 * which runs the same statement through pgbench.
 */
extern const cl_db_stmt cl_auth_session_stmt;
/**
 * The same lookup without the credit account (the cl_user's credits stay
 * unloaded, so cl_credits_grant_owed says 1): for the read routes that show
 * no balance (cl_read_route.no_credits).
 */
extern const cl_db_stmt cl_auth_session_user_stmt;

/**
 * The two halves of cl_auth_require for a caller that runs the session
 * lookup itself (the event loop's read routes, http/loopdb.h):
 * cl_auth_session_hash puts the SHA-256 of the request's session token into
 * hash (0, or -1 with 401 set on res); cl_auth_session_result reads a result
 * of cl_auth_session_stmt or cl_auth_session_user_stmt into *out and makes the checks of cl_auth_open at
 * level (CL_AUTH_SESSION or CL_AUTH_PRODUCT): 0, or -1 with the reply set
 * (503 for an error result, 401, 403).
 */
int cl_auth_session_hash(const cl_req *req, cl_res *res, char hash[65]);
int cl_auth_session_result(cl_req *req, cl_res *res, const PGresult *r, int level, cl_user *out);

/** The user as JSON {id, email, created_at, is_demo, beta_approved, email_verified} (caller frees with cJSON_Delete). */
cJSON *cl_user_json(const cl_user *u);

/**
 * Reply 422 (or status) {"error":{"code":"validation_failed","message":message,
 * "fields":{field:message}}}.
 */
void cl_auth_field_error(cl_res *res, int status, const char *field, const char *message);

/**
 * The handler of POST /api/access/request (JSON {email, name?, business?,
 * channels?, note?}; always 202 with the same body for a valid email). The
 * public site's no-JavaScript form (site.c) calls it with the form as JSON.
 */
void cl_access_request_route(cl_req *req, cl_res *res);

/** Register /api/auth/..., /api/me, /api/access/request and (MOCK_MODE only) /api/dev/... */
void cl_auth_register_routes(void);

/**
 * serve's start-up check: MOCK_MODE on a HOST that is not loopback is
 * refused (-1, err says why and how to override) unless
 * CLIPLOOP_ALLOW_PUBLIC_MOCK=true, which logs a warning instead. 0 ok.
 */
int cl_access_check_mock_exposure(char *err, size_t errlen);

/* ---- passwords (password.c) ------------------------------------------- */

#define CL_PASSWORD_HASH_MAX 256

/**
 * Hash a password with scrypt (N = 2^log_n, r = 8, p = 1, 16-byte random
 * salt) into out as "scrypt$<log_n>$8$1$<salt b64>$<hash b64>". 0 or -1
 * (err set). The password is never logged.
 */
int cl_password_hash(const char *password, int log_n, char *out, size_t outlen, char *err, size_t errlen);

/**
 * Check a password against a stored hash in constant time (CRYPTO_memcmp).
 * 1 match, 0 mismatch or malformed hash, -1 out of memory.
 */
int cl_password_verify(const char *password, const char *stored);

/**
 * 1 when a stored hash should be replaced after a successful log-in: its
 * cost is below log_n, its r/p differ from today's, or it is unreadable.
 */
int cl_password_needs_rehash(const char *stored, int log_n);

/**
 * Spend as long as one verification at cost log_n (log-in for an unknown
 * email): verifies against a dummy hash of that cost.
 */
void cl_password_dummy_verify(const char *password, int log_n);

/** The dummy hash used at cost log_n (made on first use) into out. 0 or -1. Tests. */
int cl_password_dummy_hash(int log_n, char *out, size_t outlen);

/* ---- helpers shared with tests ------------------------------------------ */

/** Fill out with 2*nbytes lower-case hex characters of randomness. 0 or -1. */
int cl_random_hex(char *out, size_t nbytes);
/** SHA-256 of s as 64 lower-case hex characters plus NUL (out must hold 65). */
void cl_sha256_hex(const char *s, char out[65]);
/**
 * Normalize and validate an email (trim, lower-case, one '@', a dot in the
 * domain, no spaces or control characters, at most 254 bytes). 0 or -1.
 */
int cl_email_normalize(const char *in, char *out, size_t outlen);

/* ---- request bodies (bodies.c): pure, no database; fuzzed ---------------- */

#define CL_PASSWORD_MIN 8
#define CL_PASSWORD_MAX 256
#define CL_EMAIL_TOKEN_MAX 200

/** Sign-up / log-in {email, password}. */
typedef struct {
    char email[256];                   /**< normalized */
    char password[CL_PASSWORD_MAX + 1]; /**< the caller wipes it (OPENSSL_cleanse) */
} cl_credentials;
/**
 * Check {email, password} (signup: at least 8 characters). 0, or -1 with e
 * set (422, every field's message). The password in body is wiped either way.
 */
int cl_auth_credentials_body(cJSON *body, int signup, cl_credentials *out, cl_body_err *e);

/** POST /api/access/request {email, name?, note?, business?, channels?}. */
typedef struct {
    char email[256];
    const char *name, *note, *business; /**< into the body, NULL when absent or empty */
    char channels[64];                  /**< a Postgres text[] literal */
} cl_access_request;
int cl_access_request_body(const cJSON *body, cl_access_request *out, cl_body_err *e);
/** POST /api/dev/approve-user {email, plan?}: *plan beta unless given. 0 or -1 (e set). */
int cl_access_approve_body(const cJSON *body, char email[256], cl_plan *plan, cl_body_err *e);
/** {token} of POST /api/auth/verify-email. 0 or -1 (e set). */
int cl_email_token_body(const cJSON *body, char token[CL_EMAIL_TOKEN_MAX + 1], cl_body_err *e);
/**
 * {token, password} of POST /api/auth/password/reset: *password points into
 * body (the caller wipes it); on a bad password it is wiped here. 0 or -1.
 */
int cl_email_reset_body(cJSON *body, char token[CL_EMAIL_TOKEN_MAX + 1], char **password, cl_body_err *e);
/** {email} of POST /api/auth/password/forgot. 0 or -1 (e set). */
int cl_email_forgot_body(const cJSON *body, char email[256], cl_body_err *e);

#endif
