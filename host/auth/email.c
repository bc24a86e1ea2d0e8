/*
 * email.c — proof of address ownership and password reset by e-mailed links.
 *
 *   GET  /api/auth/verify-email?token=       public, read-only: the link's state
 *   POST /api/auth/verify-email {token}      public: verify the address (single use)
 *   POST /api/auth/verify-email/resend       session: a fresh link (rate-limited)
 *   POST /api/auth/password/forgot {email}   public: always 202 with the same body
 *   GET  /api/auth/password/reset?token=     public, read-only: the link's state
 *   POST /api/auth/password/reset {token, password}   public: new password, every session revoked
 *   GET  /api/dev/mail                       MOCK_MODE, loopback only: the mock mailer's outbox
 *
 * Links: <origin>/verify-email.html?token=… and /reset-password.html?token=…
 * (origin from cl_mail_link_origin, never the request's Host). A token is 32
 * random bytes (64 hex); with ENCRYPTION_SECRET set it is also signed with
 * the keyring (cl_sign, purpose-bound), so a changed or forged token is
 * refused before the database is asked. The database keeps only the token's
 * SHA-256, its purpose, the address it went to, its expiry and when it was
 * used or replaced. A link works once; a newer link of the same purpose
 * replaces the older ones.
 *
 * Sending happens inside the transaction that stores the token and the
 * rate-limit row: when the mailer fails (refused, timed out), the
 * transaction is rolled back and nothing is left behind.
 */
#include "auth/auth.h"
#include "auth/auth_internal.h"
#include "core/config.h"
#include "core/log.h"
#include "core/seal.h"
#include "db/db.h"
#include "mail/mail.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PURPOSE_VERIFY "verify_email"
#define PURPOSE_RESET "password_reset"
#define MAIL_LOCK_CLASS "16019"
#define TOKEN_MAX CL_EMAIL_TOKEN_MAX

/* ---- tokens ------------------------------------------------------------------ */

/* A new token for purpose into token (TOKEN_MAX) and its SHA-256 into hash. 0 or -1. */
static int token_new(const char *purpose, char *token, char hash[65])
{
    char raw[65];
    if (cl_random_hex(raw, 32) != 0)
        return -1;
    const cl_keyring *kr = cl_keyring_get(NULL);
    int rc = kr ? cl_sign(kr, purpose, raw, token, TOKEN_MAX) : (snprintf(token, TOKEN_MAX, "%s", raw), 0);
    OPENSSL_cleanse(raw, sizeof raw);
    if (rc != 0)
        return -1;
    cl_sha256_hex(token, hash);
    return 0;
}

/* 1 when token has the shape (and, with a keyring, the signature) of a token
   made for purpose. Nothing is looked up. */
static int token_plausible(const char *purpose, const char *token)
{
    size_t n = strlen(token);
    if (n == 0 || n >= TOKEN_MAX)
        return 0;
    const cl_keyring *kr = cl_keyring_get(NULL);
    if (kr) {
        char payload[TOKEN_MAX];
        return cl_verify(kr, purpose, token, payload, sizeof payload) == 0 && strlen(payload) == 64;
    }
    if (n != 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((token[i] >= '0' && token[i] <= '9') || (token[i] >= 'a' && token[i] <= 'f')))
            return 0;
    return 1;
}

typedef enum { TOK_VALID, TOK_USED, TOK_REPLACED, TOK_EXPIRED } tok_state;

typedef struct tok {
    int64_t id, user_id;
    char email[256];
    tok_state state;
} tok;

/* Look a token up: 1 found (*t filled), 0 unknown or implausible, -1 database
   error. for_update locks the row (inside a transaction). */
static int token_find(PGconn *c, const char *purpose, const char *token, int for_update, tok *t)
{
    if (!token_plausible(purpose, token))
        return 0;
    char hash[65];
    cl_sha256_hex(token, hash);
    const char *p[] = {hash, purpose};
    PGresult *r = cl_db_query(c,
                              for_update ? "SELECT id, user_id, email, used_at IS NOT NULL, revoked_at IS NOT NULL,"
                                           " expires_at <= now() FROM email_tokens"
                                           " WHERE token_hash = $1 AND purpose = $2 FOR UPDATE"
                                         : "SELECT id, user_id, email, used_at IS NOT NULL, revoked_at IS NOT NULL,"
                                           " expires_at <= now() FROM email_tokens"
                                           " WHERE token_hash = $1 AND purpose = $2",
                              2, p);
    if (cl_db_check(c, r, NULL, 0) != 0)
        return -1;
    int found = PQntuples(r) == 1;
    if (found) {
        t->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        t->user_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        snprintf(t->email, sizeof t->email, "%s", PQgetvalue(r, 0, 2));
        t->state = PQgetvalue(r, 0, 3)[0] == 't'   ? TOK_USED
                   : PQgetvalue(r, 0, 4)[0] == 't' ? TOK_REPLACED
                   : PQgetvalue(r, 0, 5)[0] == 't' ? TOK_EXPIRED
                                                    : TOK_VALID;
    }
    PQclear(r);
    return found;
}

/* The reply for a token that cannot be used (found: the lookup's result). */
static void token_refused(cl_res *res, int found, const tok *t, const char *purpose)
{
    int reset = strcmp(purpose, PURPOSE_RESET) == 0;
    const char *again = reset ? "Ask for a new link from the log-in page (Forgot password?)."
                              : "Sign in and ask for a new link.";
    if (found <= 0)
        cl_res_error(res, 400, "invalid_token",
                     "This link is not valid (it may have been cut short when it was copied). %s", again);
    else if (t->state == TOK_USED)
        cl_res_error(res, 410, "token_used", "This link was already used; each link works once. %s",
                     reset ? again : "If your address is verified, just sign in.");
    else if (t->state == TOK_REPLACED)
        cl_res_error(res, 410, "token_replaced", "A newer link was sent since this one; use the latest e-mail. %s",
                     again);
    else
        cl_res_error(res, 410, "token_expired", "This link has expired. %s", again);
}

/* The check after token_find: 0 when the link can be used; else 1 with the
   reply set (503 when the lookup failed, the refusal otherwise). */
static int token_unusable(cl_res *res, int found, const tok *t, const char *purpose)
{
    if (found > 0 && t->state == TOK_VALID)
        return 0;
    if (found < 0)
        cl_res_error(res, 503, "database_unavailable", "Could not check the link; try again shortly");
    else
        token_refused(res, found, t, purpose);
    return 1;
}

/* ---- rate limits and sending ------------------------------------------------ */

/*
 * Seconds until account mail to `email` requested from client `addr` may be
 * sent; 0 now, -1 on error. Per address (= per account): one per
 * CLIPLOOP_MAIL_RESEND_SECONDS and CLIPLOOP_MAIL_MAX_PER_HOUR an hour; per
 * client address: CLIPLOOP_MAIL_MAX_PER_CLIENT_PER_HOUR an hour. Runs under
 * the caller's advisory lock on the email, so check and record are atomic.
 */
static long mail_blocked_for(PGconn *c, const char *email, const char *addr)
{
    char gap[16], per_email[16], per_addr[16];
    snprintf(gap, sizeof gap, "%d", cl_cfg.mail_resend_seconds);
    snprintf(per_email, sizeof per_email, "%d", cl_cfg.mail_max_per_hour > 0 ? cl_cfg.mail_max_per_hour : 5);
    snprintf(per_addr, sizeof per_addr, "%d",
             cl_cfg.mail_max_per_client_per_hour > 0 ? cl_cfg.mail_max_per_client_per_hour : 20);
    const char *p[] = {email, addr, gap, per_email, per_addr};
    return (long)cl_db_int(
        c,
        "SELECT GREATEST("
        "  COALESCE((SELECT ceil(extract(epoch FROM max(at) + make_interval(secs => $3::int) - "
        "now()))::bigint"
        "   FROM mail_sends WHERE email = $1), 0),"
        "  COALESCE((SELECT ceil(extract(epoch FROM at + interval '1 hour' - now()))::bigint FROM mail_sends"
        "   WHERE email = $1 AND at > now() - interval '1 hour' ORDER BY at DESC OFFSET $4::int - 1 LIMIT "
        "1), 0),"
        "  COALESCE((SELECT ceil(extract(epoch FROM at + interval '1 hour' - now()))::bigint FROM mail_sends"
        "   WHERE addr = $2 AND at > now() - interval '1 hour' ORDER BY at DESC OFFSET $5::int - 1 LIMIT 1), "
        "0),"
        "  0)",
        5, p, -1);
}

/* Begin a transaction holding the mail lock for email. 0 or -1 (rolled back). */
static int mail_tx_begin(PGconn *c, const char *email)
{
    char err[256];
    const char *p[] = {email};
    if (cl_db_begin(c) != 0 ||
        cl_db_exec(c, "SELECT pg_advisory_xact_lock(" MAIL_LOCK_CLASS ", hashtext($1))", 1, p, err, sizeof err) != 0) {
        cl_db_rollback(c);
        return -1;
    }
    return 0;
}

/* Record one account mail (inside the caller's transaction). 0 or -1. */
static int mail_record(PGconn *c, const char *email, int64_t user_id, const char *kind, const char *addr)
{
    char uid[24], err[256];
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    const char *p[] = {email, user_id > 0 ? uid : NULL, kind, addr};
    return cl_db_exec(c,
                      "WITH gc AS (DELETE FROM mail_sends WHERE at < now() - interval '1 day')"
                      " INSERT INTO mail_sends (email, user_id, kind, addr) VALUES ($1, $2::bigint, $3, $4)",
                      4, p, err, sizeof err);
}

/* Store a fresh token for user/purpose (older unused ones of the purpose are
   replaced) into token. 0 or -1. Inside the caller's transaction. */
static int token_store(PGconn *c, int64_t user_id, const char *email, const char *purpose, int ttl, char *token)
{
    char hash[65], uid[24], ttl_s[16], err[256];
    if (token_new(purpose, token, hash) != 0)
        return -1;
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    snprintf(ttl_s, sizeof ttl_s, "%d", ttl);
    const char *p[] = {uid, purpose, hash, email, ttl_s};
    return cl_db_exec(c,
                      "WITH old AS (UPDATE email_tokens SET revoked_at = now() WHERE user_id = $1::bigint"
                      " AND purpose = $2 AND used_at IS NULL AND revoked_at IS NULL),"
                      " gc AS (DELETE FROM email_tokens WHERE expires_at < now() - interval '30 days')"
                      " INSERT INTO email_tokens (user_id, purpose, token_hash, email, expires_at)"
                      " VALUES ($1::bigint, $2, $3, $4, now() + make_interval(secs => $5::int))",
                      5, p, err, sizeof err) == 0
               ? 0
               : -1;
}

/* "24 hours", "60 minutes", "90 seconds". */
static void ttl_words(int s, char *out, size_t len)
{
    if (s % 3600 == 0)
        snprintf(out, len, "%d hour%s", s / 3600, s == 3600 ? "" : "s");
    else if (s % 60 == 0)
        snprintf(out, len, "%d minutes", s / 60);
    else
        snprintf(out, len, "%d seconds", s);
}

/* The name mail speaks for: MAIL_FROM_NAME (UTF-8), default ClipLoop. */
static const char *brand(void) { return cl_cfg.mail_from_name[0] ? cl_cfg.mail_from_name : "ClipLoop"; }

/* A mail with a one-time link: body is a format of (email, link origin,
   token, ttl_seconds in words). */
static int send_link_mail(const char *email, const char *token, const char *purpose, int ttl_seconds,
                          const char *subject, const char *body, cl_error *e)
{
    char origin[600], ttl[32], text[2048];
    cl_mail_link_origin(origin, sizeof origin);
    ttl_words(ttl_seconds, ttl, sizeof ttl);
    snprintf(text, sizeof text, body, email, origin, token, ttl);
    return cl_mail_send(email, purpose, subject, text, e);
}

static int send_verify_mail(const char *email, const char *token, cl_error *e)
{
    char subject[256];
    snprintf(subject, sizeof subject, "Confirm your e-mail address for %s", brand());
    return send_link_mail(
        email, token, PURPOSE_VERIFY, cl_cfg.email_verify_ttl_seconds, subject,
        "Hi,\n\n"
        "Confirm that %s is your address to finish setting up your ClipLoop account:\n\n"
        "%s/verify-email.html?token=%s\n\n"
        "The link works once and expires in %s. Until the address is confirmed, an invitation or a paid "
        "plan for it does not apply to the account.\n\n"
        "If you did not create a ClipLoop account, ignore this e-mail: nothing happens without a click.\n\n"
        "— ClipLoop\n",
        e);
}

static int send_reset_mail(const char *email, const char *token, cl_error *e)
{
    char subject[256];
    snprintf(subject, sizeof subject, "Reset your %s password", brand());
    return send_link_mail(email, token, PURPOSE_RESET, cl_cfg.password_reset_ttl_seconds, subject,
                          "Hi,\n\n"
                          "Someone — hopefully you — asked to reset the password of the ClipLoop account %s. "
                          "Choose a new password here:\n\n"
                          "%s/reset-password.html?token=%s\n\n"
                          "The link works once and expires in %s. After the reset, every device signed in to "
                          "the account is signed out.\n\n"
                          "If you did not ask for this, ignore this e-mail: your password stays as it is.\n\n"
                          "— ClipLoop\n",
                          e);
}

/* For an address without an account: the same kind of mail, so the answer
   (and a mail failure) looks the same whether an account exists or not. */
static int send_no_account_mail(const char *email, cl_error *e)
{
    char origin[600], text[2048];
    cl_mail_link_origin(origin, sizeof origin);
    snprintf(text, sizeof text,
             "Hi,\n\n"
             "Someone asked to reset the password of a ClipLoop account for %s, but no account uses this "
             "address. If it was you, you may have signed up with another address — or create an account "
             "here:\n\n%s/signup.html\n\n"
             "If it was not you, ignore this e-mail.\n\n"
             "— ClipLoop\n",
             email, origin);
    char subject[256];
    snprintf(subject, sizeof subject, "Your %s password reset request", brand());
    return cl_mail_send(email, PURPOSE_RESET, subject, text, e);
}

/* The reply for a failed delivery (nothing was stored: the caller rolled back). */
static void mail_failed(cl_res *res, const cl_error *e)
{
    if (e->code == CL_EUNSUPPORTED)
        cl_res_error(res, 503, "mail_unavailable",
                     "This server cannot send e-mail (MAIL_PROVIDER is not set up), so no link was sent.");
    else if (e->code == CL_ETIMEOUT)
        cl_res_error(res, 504, "mail_timeout",
                     "The mail server did not answer in time, so no e-mail was sent and nothing was saved. "
                     "Try again in a few minutes.");
    else
        cl_res_error(res, 502, "mail_failed",
                     "The mail server did not accept the e-mail, so nothing was sent or saved. "
                     "Try again in a few minutes. (%s)",
                     e->message);
}

static void too_many(cl_res *res, long wait)
{
    char ra[24];
    snprintf(ra, sizeof ra, "%ld", wait);
    cl_res_header(res, "Retry-After", ra);
    cl_res_error(res, 429, "too_many_emails", "An e-mail was sent to this address a moment ago; try again in %ld "
                 "seconds.", wait);
}

/* Open the mail transaction for email and check the limits. 0 (transaction
   open, connection kept), or -1 with the reply set and c released. */
static int mail_gate(PGconn *c, cl_res *res, const char *email, const char *addr)
{
    long wait = mail_tx_begin(c, email) == 0 ? mail_blocked_for(c, email, addr) : -1;
    if (wait == 0)
        return 0;
    cl_db_rollback(c);
    cl_db_release(c);
    if (wait < 0)
        cl_res_error(res, 503, "database_unavailable", "Could not send the link; try again shortly");
    else
        too_many(res, wait);
    return -1;
}

/* Commit when the delivery (rc) succeeded, else roll back; release c. 0 when
   committed, or -1 with the reply set (nothing stored). */
static int mail_finish(PGconn *c, cl_res *res, int rc, const cl_error *e)
{
    if (rc == CL_OK && cl_db_commit(c) == 0) {
        cl_db_release(c);
        return 0;
    }
    cl_db_rollback(c);
    cl_db_release(c);
    if (rc == CL_OK || rc == CL_EIO)
        cl_res_error(res, 503, "database_unavailable", "Could not store the link; try again shortly");
    else
        mail_failed(res, e);
    return -1;
}

/* ---- sign-up's part ------------------------------------------------------------ */

int cl_email_send_verification(PGconn *c, const cl_req *req, int64_t user_id, const char *email, cl_error *e)
{
    char token[TOKEN_MAX], addr[64];
    cl_req_client_addr(req, addr, sizeof addr);
    memset(e, 0, sizeof *e);
    if (!cl_mail_mailer()) {
        e->code = CL_EUNSUPPORTED;
        snprintf(e->message, sizeof e->message, "MAIL_PROVIDER=none");
        return CL_EUNSUPPORTED;
    }
    if (mail_record(c, email, user_id, PURPOSE_VERIFY, addr) != 0 ||
        token_store(c, user_id, email, PURPOSE_VERIFY, cl_cfg.email_verify_ttl_seconds, token) != 0) {
        e->code = CL_EIO;
        snprintf(e->message, sizeof e->message, "could not store the verification link");
        return CL_EIO;
    }
    int rc = send_verify_mail(email, token, e);
    OPENSSL_cleanse(token, sizeof token);
    return rc;
}

/* ---- routes ------------------------------------------------------------------- */

/* The token from the query (GET) into out; 0, or -1 with 400 set. */
static int query_token(cl_req *req, cl_res *res, char *out, size_t len)
{
    if (cl_req_query(req, "token", out, len) != 1 || !out[0]) {
        cl_auth_field_error(res, 400, "token", "The link has no token; open it from the e-mail again");
        return -1;
    }
    return 0;
}

/* {token} from a JSON body: the token copied into out; returns the parsed
   body (caller frees) or NULL with the reply set. */
static cJSON *body_token(cl_req *req, cl_res *res, char out[TOKEN_MAX + 1])
{
    cJSON *j = cl_req_json(req, res);
    cl_body_err e = {0};
    if (j && cl_email_token_body(j, out, &e) != 0) {
        cl_res_body_error(res, &e);
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* GET ?token= for either purpose: {"token":{"purpose","status":"valid","email"}}. Never writes. */
static void token_status(cl_req *req, cl_res *res, const char *purpose)
{
    char token[TOKEN_MAX + 1];
    if (query_token(req, res, token, sizeof token) != 0)
        return;
    PGconn *c = cl_auth_db(res);
    if (!c)
        return;
    tok t;
    int found = token_find(c, purpose, token, 0, &t);
    cl_db_release(c);
    if (token_unusable(res, found, &t, purpose))
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON *tj = cJSON_AddObjectToObject(o, "token");
    cJSON_AddStringToObject(tj, "purpose", purpose);
    cJSON_AddStringToObject(tj, "status", "valid");
    cJSON_AddStringToObject(tj, "email", t.email);
    cl_res_json(res, 200, o);
}

static void verify_status(cl_req *req, cl_res *res) { token_status(req, res, PURPOSE_VERIFY); }
static void reset_status(cl_req *req, cl_res *res) { token_status(req, res, PURPOSE_RESET); }

/* Mark user's address verified (the link went to `email`) and apply an
   approved access request for it. Inside the caller's transaction. Returns
   1 when the account is (now) beta-approved, 0 not, -1 error. */
static int apply_verified(PGconn *c, int64_t user_id, const char *email)
{
    char uid[24];
    const char *p[] = {cl_db_id(uid, user_id), email};
    PGresult *r = cl_db_query(
        c,
        "WITH appr AS (SELECT EXISTS (SELECT 1 FROM access_requests WHERE email = $2 AND status = 'approved') AS ok)"
        " UPDATE users u SET email_verified_at = COALESCE(u.email_verified_at, now()),"
        " beta_approved = u.beta_approved OR appr.ok,"
        " beta_approved_at = CASE WHEN u.beta_approved THEN u.beta_approved_at WHEN appr.ok THEN now() END,"
        " updated_at = now() FROM appr WHERE u.id = $1::bigint AND u.email = $2 RETURNING u.beta_approved",
        2, p);
    int rc = cl_db_ok(r) ? (PQntuples(r) == 1 ? (PQgetvalue(r, 0, 0)[0] == 't') : -2) : -1;
    PQclear(r);
    return rc;
}

static void verify_email(cl_req *req, cl_res *res)
{
    if (cl_auth_check_origin(req, res) != 0)
        return;
    char token[TOKEN_MAX + 1];
    cJSON *j = body_token(req, res, token);
    if (!j)
        return;
    cJSON_Delete(j);
    PGconn *c = cl_auth_db(res);
    if (!c)
        return;
    tok t;
    char tid[24], err[256];
    int found = cl_db_begin(c) == 0 ? token_find(c, PURPOSE_VERIFY, token, 1, &t) : -1;
    if (token_unusable(res, found, &t, PURPOSE_VERIFY)) {
        cl_db_rollback(c);
        cl_db_release(c);
        return;
    }
    const char *tp[] = {cl_db_id(tid, t.id)};
    int approved = apply_verified(c, t.user_id, t.email);
    int ok = approved >= 0 &&
             cl_db_exec(c, "UPDATE email_tokens SET used_at = now() WHERE id = $1::bigint", 1, tp, err, sizeof err) == 0 &&
             cl_db_commit(c) == 0;
    if (!ok) {
        cl_db_rollback(c);
        cl_db_release(c);
        if (approved == -2) {
            /* The account's address changed since the link was sent. */
            cl_res_error(res, 410, "token_replaced", "This link was sent to an address the account no longer uses.");
            return;
        }
        cl_error("auth", "verify-email failed: %s", err);
        cl_res_error(res, 503, "database_unavailable", "Could not verify the address; try again shortly");
        return;
    }
    cl_db_release(c);
    cl_info("auth", "user %" PRId64 " verified their address", t.user_id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "verified", 1);
    cJSON_AddStringToObject(o, "email", t.email);
    cJSON_AddBoolToObject(o, "beta_approved", approved == 1);
    cl_res_json(res, 200, o);
}

/* Not a cl_route_user route: mail_gate and mail_finish release the connection. */
static void verify_resend(cl_req *req, cl_res *res)
{
    cl_user u;
    PGconn *c = cl_auth_open(req, res, &u, CL_AUTH_SESSION);
    if (!c)
        return;
    if (u.email_verified) {
        cl_db_release(c);
        cl_res_error(res, 409, "already_verified", "Your address %s is already verified.", u.email);
        return;
    }
    if (!cl_mail_mailer()) {
        cl_db_release(c);
        cl_error e = {.code = CL_EUNSUPPORTED};
        mail_failed(res, &e);
        return;
    }
    char addr[64], token[TOKEN_MAX];
    cl_req_client_addr(req, addr, sizeof addr);
    if (mail_gate(c, res, u.email, addr) != 0)
        return;
    cl_error e = {0};
    int rc = mail_record(c, u.email, u.id, PURPOSE_VERIFY, addr) == 0 &&
                     token_store(c, u.id, u.email, PURPOSE_VERIFY, cl_cfg.email_verify_ttl_seconds, token) == 0
                 ? send_verify_mail(u.email, token, &e)
                 : (e.code = CL_EIO);
    OPENSSL_cleanse(token, sizeof token);
    if (mail_finish(c, res, rc, &e) != 0)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "sent", 1);
    cJSON_AddStringToObject(o, "email", u.email);
    cJSON_AddNumberToObject(o, "resend_after_seconds", cl_cfg.mail_resend_seconds);
    cl_res_json(res, 202, o);
}

static void password_forgot(cl_req *req, cl_res *res)
{
    if (cl_auth_check_origin(req, res) != 0)
        return;
    cJSON *j = cl_req_json(req, res);
    if (!j)
        return;
    char email[256], addr[64], token[TOKEN_MAX];
    cl_body_err be = {0};
    int bad = cl_email_forgot_body(j, email, &be);
    cJSON_Delete(j);
    if (bad) {
        cl_res_body_error(res, &be);
        return;
    }
    if (!cl_mail_mailer()) {
        cl_error me = {.code = CL_EUNSUPPORTED};
        mail_failed(res, &me);
        return;
    }
    PGconn *c = cl_auth_db(res);
    if (!c)
        return;
    cl_req_client_addr(req, addr, sizeof addr);
    /* The limits count every request, for an account or not, so a 429 says
       nothing about whether the address has an account. */
    if (mail_gate(c, res, email, addr) != 0)
        return;
    const char *p[] = {email};
    /* The demo user has no password to reset: treated as no account. */
    PGresult *r = cl_db_query(c, "SELECT id FROM users WHERE email = $1 AND NOT is_demo", 1, p);
    int ok = cl_db_ok(r);
    int64_t uid = ok && PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    cl_error me = {0};
    int rc = CL_EIO;
    if (ok && mail_record(c, email, uid, PURPOSE_RESET, addr) == 0) {
        if (!uid)
            rc = send_no_account_mail(email, &me);
        else if (token_store(c, uid, email, PURPOSE_RESET, cl_cfg.password_reset_ttl_seconds, token) == 0)
            rc = send_reset_mail(email, token, &me);
    }
    OPENSSL_cleanse(token, sizeof token);
    if (mail_finish(c, res, rc, &me) != 0)
        return;
    cl_res_json_text(res, 202,
                     "{\"sent\":true,\"message\":\"If an account uses this address, we sent it a link to choose a "
                     "new password. Check your inbox (and the spam folder).\"}");
}

static void password_reset(cl_req *req, cl_res *res)
{
    if (cl_auth_check_origin(req, res) != 0)
        return;
    char token[TOKEN_MAX + 1], hash[CL_PASSWORD_HASH_MAX], err[256];
    cJSON *j = cl_req_json(req, res);
    if (!j)
        return;
    char *pw; /* into j: wiped before j is freed */
    cl_body_err be = {0};
    if (cl_email_reset_body(j, token, &pw, &be) != 0) {
        cJSON_Delete(j);
        cl_res_body_error(res, &be);
        return;
    }
    PGconn *c = cl_auth_db(res);
    if (!c) {
        OPENSSL_cleanse(pw, strlen(pw));
        cJSON_Delete(j);
        return;
    }
    /* Check the link before spending a scrypt on it. */
    tok t;
    int found = token_find(c, PURPOSE_RESET, token, 0, &t);
    if (token_unusable(res, found, &t, PURPOSE_RESET)) {
        OPENSSL_cleanse(pw, strlen(pw));
        cJSON_Delete(j);
        cl_db_release(c);
        return;
    }
    int hrc = cl_password_hash(pw, cl_cfg.scrypt_log_n, hash, sizeof hash, err, sizeof err);
    OPENSSL_cleanse(pw, strlen(pw));
    cJSON_Delete(j);
    if (hrc != 0) {
        cl_db_release(c);
        cl_error("auth", "password hashing failed: %s", err);
        cl_res_error(res, 500, "internal", "Could not set the password");
        return;
    }
    /* Again under a row lock: a concurrent use of the same link waits here
       and then finds it used. */
    found = cl_db_begin(c) == 0 ? token_find(c, PURPOSE_RESET, token, 1, &t) : -1;
    if (token_unusable(res, found, &t, PURPOSE_RESET)) {
        OPENSSL_cleanse(hash, sizeof hash);
        cl_db_rollback(c);
        cl_db_release(c);
        return;
    }
    char uid[24], tid[24];
    snprintf(tid, sizeof tid, "%" PRId64, t.id);
    const char *up[] = {cl_db_id(uid, t.user_id), hash, t.email};
    const char *tp[] = {tid, uid};
    const char *sp[] = {uid};
    const char *fp[] = {t.email};
    int ok = cl_db_exec(c, "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1::bigint AND email = $3",
                        3, up, err, sizeof err) == 0;
    OPENSSL_cleanse(hash, sizeof hash);
    long revoked = 0;
    if (ok) {
        PGresult *r = cl_db_query(c,
                                  "UPDATE sessions SET revoked_at = now() WHERE user_id = $1::bigint AND revoked_at IS NULL",
                                  1, sp);
        ok = cl_db_ok(r);
        revoked = ok ? strtol(PQcmdTuples(r), NULL, 10) : 0;
        PQclear(r);
    }
    /* The link reached the address: that proves it as well as a verification link. */
    ok = ok && apply_verified(c, t.user_id, t.email) >= 0 &&
         cl_db_exec(c,
                    "UPDATE email_tokens SET used_at = CASE WHEN id = $1::bigint THEN now() ELSE used_at END,"
                    " revoked_at = CASE WHEN id = $1::bigint THEN revoked_at ELSE now() END"
                    " WHERE user_id = $2::bigint AND purpose = 'password_reset' AND used_at IS NULL AND revoked_at IS NULL",
                    2, tp, err, sizeof err) == 0 &&
         cl_db_exec(c, "DELETE FROM login_failures WHERE email = $1", 1, fp, err, sizeof err) == 0 &&
         cl_db_commit(c) == 0;
    if (!ok) {
        cl_db_rollback(c);
        cl_db_release(c);
        cl_error("auth", "password reset failed: %s", err);
        cl_res_error(res, 503, "database_unavailable", "Could not set the password; try again shortly");
        return;
    }
    cl_db_release(c);
    cl_info("auth", "user %" PRId64 " reset their password (%ld sessions revoked)", t.user_id, revoked);
    cl_auth_set_cookie(req, res, "", 0);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "password_reset", 1);
    cJSON_AddStringToObject(o, "email", t.email);
    cJSON_AddNumberToObject(o, "sessions_revoked", (double)revoked);
    cl_res_json(res, 200, o);
}

/* MOCK_MODE only, from this machine only: the mock mailer's outbox. */
static void dev_mail(cl_req *req, cl_res *res)
{
    if (!cl_req_from_loopback(req)) {
        cl_res_error(res, 403, "loopback_only", "This development route answers only requests from this machine");
        return;
    }
    int ok = 1;
    long limit = cl_req_query_long(req, "limit", 50, &ok);
    if (!ok || limit < 1 || limit > 500) {
        cl_auth_field_error(res, 422, "limit", "limit must be a whole number from 1 to 500");
        return;
    }
    cl_error e;
    char *list = cl_mail_outbox_json((int)limit, &e);
    if (!list) {
        cl_res_error(res, e.code == CL_EUNSUPPORTED ? 404 : 500, e.code == CL_EUNSUPPORTED ? "no_mail_log" : "internal",
                     "%s", e.code == CL_EUNSUPPORTED ? "The mail log exists only with the mock mailer (MAIL_PROVIDER=mock)"
                                                     : e.message);
        return;
    }
    cJSON *arr = cJSON_Parse(list);
    free(list);
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        cl_res_error(res, 500, "internal", "The mock outbox is unreadable");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "provider", cl_cfg.mail_provider);
    cJSON_AddItemToObject(o, "messages", arr);
    cl_res_json(res, 200, o);
}

void cl_email_register_routes(void)
{
    cl_route("GET", "/api/auth/verify-email", verify_status, 0);
    cl_route("POST", "/api/auth/verify-email", verify_email, 0);
    /* these two send mail: the provider pool (see signup in auth.c) */
    cl_route("POST", "/api/auth/verify-email/resend", verify_resend, CL_ROUTE_PROVIDER);
    cl_route("POST", "/api/auth/password/forgot", password_forgot, CL_ROUTE_PROVIDER);
    cl_route("GET", "/api/auth/password/reset", reset_status, 0);
    cl_route("POST", "/api/auth/password/reset", password_reset, 0);
    if (cl_cfg.mock_mode)
        cl_route("GET", "/api/dev/mail", dev_mail, 0);
}
