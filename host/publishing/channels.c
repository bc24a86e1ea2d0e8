/*
 * channels.c — channel connections: the OAuth connect flow (signed,
 * single-use, expiring state bound to the user and the project), the sealed
 * token store, status and disconnect, the daily token refresh, and the
 * public media URLs publishers hand to the platform.
 *
 * The state parameter is "<nonce>.<user>.<project>.<expires>" signed with a
 * key derived from ENCRYPTION_SECRET (core/seal.h). The nonce is stored in
 * oauth_states; the callback consumes it with one UPDATE that also checks the
 * user, project and expiry, so a forged state fails the signature, a replayed
 * one finds the nonce used, and a late one finds it expired.
 */
#include "publishing/publishing.h"
#include "auth/auth.h"
#include "core/config.h"
#include "core/log.h"
#include "core/seal.h"
#include "db/db.h"
#include "http/http.h"
#include "plugins/call.h"
#include "plugins/registry.h"
#include "storage/storage.h"
#include "http/db_reply.h"
#include "projects/projects.h"
#include "db/db_row.h"
#include "core/json_out.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define COMP "publishing"

const cl_publisher *cl_publisher_get(const char *id)
{
    return (const cl_publisher *)cl_plugins_find(CL_CAP_PUBLISHER, id);
}

/* ---- the token store ---------------------------------------------------------- */

/* A token lifetime from the platform, in seconds; 0 when missing or not a
   sane number (a cast of an out-of-range double is undefined behaviour). */
static int64_t expires_in_seconds(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 1e10 ? (int64_t)v->valuedouble : 0;
}

static int hexval(int ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

void cl_channel_clear(cl_channel *ch)
{
    if (ch->token)
        cl_seal_free_secret(ch->token, ch->token_len);
    ch->token = NULL;
    ch->token_len = 0;
}

int cl_channel_load(PGconn *c, int64_t project_id, const char *channel, int with_token, cl_channel *out,
                    char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char pid[24];
    const char *p[] = {cl_db_id(pid, project_id), channel};
    PGresult *r = cl_db_query(c,
                              "SELECT id, project_id, user_id, channel, status, coalesce(account_id, ''),"
                              " coalesce(username, ''), coalesce(extract(epoch FROM token_expires_at)::bigint, 0),"
                              " encode(token_ciphertext, 'hex'), token_key_id"
                              " FROM channel_connections WHERE project_id = $1 AND channel = $2",
                              2, p);
    int one = cl_db_one(c, r, err, errlen);
    if (one != 1)
        return one;
    static const cl_db_row_field fields[] = {
        CL_ROW_I64(cl_channel, id, 0),         CL_ROW_I64(cl_channel, project_id, 1),
        CL_ROW_I64(cl_channel, user_id, 2),    CL_ROW_CHARS(cl_channel, channel, 3),
        CL_ROW_CHARS(cl_channel, status, 4),   CL_ROW_CHARS(cl_channel, account_id, 5),
        CL_ROW_CHARS(cl_channel, username, 6), CL_ROW_I64(cl_channel, expires_at, 7),
    };
    cl_db_row_read(r, 0, out, fields, CL_DB_NCOLS(fields));
    int rc = 1;
    if (with_token && !PQgetisnull(r, 0, 8)) {
        const char *why = NULL;
        const cl_keyring *kr = cl_keyring_get(&why);
        const char *hex = PQgetvalue(r, 0, 8);
        size_t n = strlen(hex) / 2;
        unsigned char *bin = malloc(n ? n : 1);
        for (size_t i = 0; bin && i < n; i++)
            bin[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
        if (!kr) {
            snprintf(err, errlen, "cannot read the channel token: %s", why);
            rc = -1;
        } else if (!bin || cl_unseal(kr, PQgetvalue(r, 0, 9), CL_CHANNEL_TOKEN_AAD, bin, n, &out->token,
                                     &out->token_len) != 0) {
            snprintf(err, errlen,
                     "the channel token does not decrypt (was ENCRYPTION_SECRET changed without keeping the old "
                     "one in ENCRYPTION_SECRET_PREVIOUS?)");
            rc = -1;
        }
        free(bin);
    }
    PQclear(r);
    return rc;
}

int cl_channel_store_token(PGconn *c, int64_t id, const char *token, int64_t expires_in, char *err, size_t errlen)
{
    const char *why = NULL;
    const cl_keyring *kr = cl_keyring_get(&why);
    if (!kr) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    unsigned char *sealed = NULL;
    size_t n = 0;
    char key_id[CL_SEAL_KEY_ID_LEN + 1];
    if (cl_seal(kr, CL_CHANNEL_TOKEN_AAD, token, strlen(token), &sealed, &n, key_id) != 0) {
        snprintf(err, errlen, "sealing the token failed");
        return -1;
    }
    char *hex = malloc(2 * n + 3);
    if (!hex) {
        free(sealed);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    hex[0] = '\\', hex[1] = 'x';
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 + 2 * i, 3, "%02x", sealed[i]);
    free(sealed);
    char sid[24], exp[24];
    const char *p[] = {cl_db_id(sid, id), hex, key_id, cl_db_id(exp, expires_in > 0 ? expires_in : 5184000)};
    int rc = cl_db_exec(c,
                        "UPDATE channel_connections SET token_ciphertext = $2::bytea, token_key_id = $3,"
                        " token_expires_at = now() + make_interval(secs => $4::bigint), token_refreshed_at = now(),"
                        " status = 'active', status_reason = NULL, updated_at = now() WHERE id = $1",
                        4, p, err, errlen);
    free(hex);
    return rc;
}

int cl_channel_set_status(PGconn *c, int64_t id, const char *status, const char *reason, char *err, size_t errlen)
{
    char sid[24];
    const char *p[] = {cl_db_id(sid, id), status, reason};
    return cl_db_exec(c,
                      "UPDATE channel_connections SET status = $2, status_reason = $3, updated_at = now()"
                      " WHERE id = $1",
                      3, p, err, errlen);
}

/* ---- public media URLs --------------------------------------------------------------- */

int cl_public_media_path(int64_t asset_id, int64_t ttl_seconds, char *out, size_t outlen)
{
    const cl_keyring *kr = cl_keyring_get(NULL);
    char payload[64], tok[256];
    snprintf(payload, sizeof payload, "a%" PRId64 ".%" PRId64, asset_id, (int64_t)time(NULL) + ttl_seconds);
    if (!kr || cl_sign(kr, "public_media", payload, tok, sizeof tok) != 0)
        return -1;
    return snprintf(out, outlen, "/api/public/media/%s", tok) < (int)outlen ? 0 : -1;
}

int cl_public_media_url(int64_t asset_id, char *out, size_t outlen, char *err, size_t errlen)
{
    const char *why = NULL;
    if (!cl_cfg.public_base_url[0]) {
        snprintf(err, errlen, "PUBLIC_BASE_URL is not set: the platform must be able to download the video");
        return -1;
    }
    if (!cl_keyring_get(&why)) {
        snprintf(err, errlen, "%s: public media URLs cannot be signed", why);
        return -1;
    }
    char path[512];
    if (cl_public_media_path(asset_id, cl_cfg.public_media_ttl_seconds, path, sizeof path) != 0 ||
        snprintf(out, outlen, "%s%s", cl_cfg.public_base_url, path) >= (int)outlen) {
        snprintf(err, errlen, "the public media URL does not fit");
        return -1;
    }
    return 0;
}

/* GET /api/public/media/:token — no session; expired or tampered is 404. */
static void public_media(cl_req *req, cl_res *res)
{
    const cl_keyring *kr = cl_keyring_get(NULL);
    char payload[64];
    long long id = 0, exp = 0;
    char tail;
    const char *tok = cl_req_param(req, "token");
    if (!kr || cl_verify(kr, "public_media", tok, payload, sizeof payload) != 0 ||
        sscanf(payload, "a%lld.%lld%c", &id, &exp, &tail) != 2 || id <= 0 || exp < (long long)time(NULL)) {
        cl_res_error(res, 404, "not_found", "This media link is invalid or has expired");
        return;
    }
    char err[256];
    PGconn *c = cl_db_acquire(CL_DB_WAIT_FAST_MS, err, sizeof err);
    if (!c) {
        cl_res_error(res, 503, "database_unavailable", "The database is unavailable; try again shortly");
        return;
    }
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", id);
    const char *p[] = {sid};
    PGresult *r = cl_res_db_get(res, COMP, c, "SELECT path, mime, storage FROM content_assets WHERE id = $1",
                                1, p, "read asset", "This media link is invalid or has expired");
    if (r) {
        const char *mime = strcmp(PQgetvalue(r, 0, 1), "video/mp4") == 0 ? "video/mp4" : "image/jpeg";
        cl_storage_reply(res, PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 0), mime, NULL);
    }
    PQclear(r);
    cl_db_release(c);
}

/* ---- connect and callback ---------------------------------------------------------- */

/* GET /api/integrations/instagram/connect?project_id= */
static void connect_start(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int ok_num;
    long pid = cl_req_query_long(req, "project_id", 0, &ok_num);
    const char *why = NULL;
    const cl_keyring *kr = cl_keyring_get(&why);
    const cl_publisher *pub = cl_publisher_get("instagram");
    char nonce[33], payload[160], state[400], err[512];
    if (!ok_num || pid <= 0) {
        cl_res_error(res, 400, "invalid_project", "project_id must be the id of one of your projects");
    } else if (cl_project_owned(c, res, COMP, pid, u->id) != 1) {
        /* reply set */
    } else if (!kr) {
        cl_res_error(res, 503, "encryption_not_configured",
                     "Connecting accounts needs ENCRYPTION_SECRET on the server (%s)", why);
    } else if (!pub || !pub->authorize_url) {
        cl_res_error(res, 503, "publisher_unavailable", "The Instagram publisher plugin is not loaded");
    } else if (cl_random_hex(nonce, 16) != 0) {
        cl_res_error(res, 500, "internal", "Could not start the connection; try again");
    } else {
        int64_t exp = (int64_t)time(NULL) + cl_cfg.oauth_state_ttl_seconds;
        snprintf(payload, sizeof payload, "%s.%" PRId64 ".%ld.%" PRId64, nonce, u->id, pid, exp);
        char su[24], sp[24], sexp[24];
        snprintf(su, sizeof su, "%" PRId64, u->id);
        snprintf(sp, sizeof sp, "%ld", pid);
        const char *p[] = {nonce, su, sp, cl_db_id(sexp, exp)};
        cl_output out = {CL_BUF_INIT, 0};
        cl_error perr = CL_ERROR_INIT;
        if (cl_sign(kr, "oauth_state", payload, state, sizeof state) != 0 ||
            cl_db_exec(c,
                       "INSERT INTO oauth_states (nonce, user_id, project_id, channel, expires_at)"
                       " VALUES ($1, $2, $3, 'instagram', to_timestamp($4::bigint))",
                       4, p, err, sizeof err) != 0) {
            cl_error(COMP, "store oauth state: %s", err);
            cl_res_error(res, 500, "internal", "Could not start the connection; try again");
        } else if (CL_CAP_CALL(pub, &perr, authorize_url, state, &out, &perr) != CL_OK) {
            cl_res_error(res, 503, "publisher_not_configured", "%s", perr.message);
        } else {
            char fmt[8];
            if (cl_req_query(req, "format", fmt, sizeof fmt) && strcmp(fmt, "json") == 0) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "url", out.buf.data);
                cl_res_json(res, 200, o);
            } else {
                res->status = 302;
                cl_res_header(res, "location", out.buf.data);
                cl_res_json_text(res, 302, "{\"redirect\":true}");
            }
        }
        cl_buf_free(&out.buf);
    }
}

/* Browsers get a redirect back to the studio; API clients get JSON. */
static int wants_html(const cl_req *req)
{
    const char *a = cl_req_header(req, "accept");
    return a && strstr(a, "text/html");
}

static void callback_error(cl_req *req, cl_res *res, long pid, int status, const char *code, const char *msg)
{
    if (wants_html(req)) {
        char loc[256];
        if (pid > 0)
            snprintf(loc, sizeof loc, "/app/projects/%ld?channel_error=%s", pid, code);
        else
            snprintf(loc, sizeof loc, "/app/projects?channel_error=%s", code);
        cl_res_header(res, "location", loc);
        cl_res_json_text(res, 302, "{\"redirect\":true}");
        return;
    }
    cl_res_error(res, status, code, "%s", msg);
}

/* GET /api/integrations/instagram/callback?code=&state= (or error=…) */
static void connect_callback(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char state[512], code[2100], payload[256], nonce[40], perror_[64];
    long long uid = 0, pid = 0, exp = 0;
    const cl_keyring *kr = cl_keyring_get(NULL);
    cl_req_query(req, "state", state, sizeof state);
    int has_code = cl_req_query(req, "code", code, sizeof code) && code[0];
    if (!kr || cl_verify(kr, "oauth_state", state, payload, sizeof payload) != 0 ||
        sscanf(payload, "%32[0-9a-f].%lld.%lld.%lld", nonce, &uid, &pid, &exp) != 4) {
        callback_error(req, res, 0, 400, "invalid_state", "The connection request is not valid (state refused)");
        goto out;
    }
    if (uid != u->id) {
        callback_error(req, res, 0, 403, "invalid_state", "This connection was started by another account");
        goto out;
    }
    /* Consume the state once, whatever happens next. */
    char su[24], sp[24];
    snprintf(su, sizeof su, "%lld", uid);
    snprintf(sp, sizeof sp, "%lld", pid);
    const char *p[] = {nonce, su, sp};
    PGresult *r = cl_db_query(c,
                              "UPDATE oauth_states SET used_at = now() WHERE nonce = $1 AND user_id = $2"
                              " AND project_id = $3 AND used_at IS NULL RETURNING expires_at > now()",
                              3, p);
    int consumed = cl_db_ok(r) ? PQntuples(r) : -1;
    int fresh = consumed == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    if (consumed < 0) {
        cl_res_db_failed(res, COMP, c, r, "consume oauth state");
        PQclear(r);
        goto out;
    }
    PQclear(r);
    if (consumed == 0) {
        callback_error(req, res, (long)pid, 400, "state_used",
                       "This connection link was already used; start the connection again");
        goto out;
    }
    if (!fresh || exp < (long long)time(NULL)) {
        callback_error(req, res, (long)pid, 400, "state_expired",
                       "This connection link expired; start the connection again");
        goto out;
    }
    if (!has_code) {
        cl_req_query(req, "error", perror_, sizeof perror_);
        callback_error(req, res, (long)pid, 400, "authorization_denied",
                       "Instagram did not authorize the connection; nothing was changed");
        goto out;
    }
    const cl_publisher *pub = cl_publisher_get("instagram");
    if (!pub || !pub->connect) {
        callback_error(req, res, (long)pid, 503, "publisher_unavailable", "The Instagram publisher plugin is not loaded");
        goto out;
    }
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    cl_output out = {CL_BUF_INIT, 0};
    cl_error perr;
    int rc = CL_CAP_CALL(pub, &perr, connect, &call, code, &out, &perr);
    cJSON *ans = rc == CL_OK ? cJSON_Parse(out.buf.data ? out.buf.data : "") : NULL;
    if (out.buf.data)
        memset(out.buf.data, 0, out.buf.len);
    cl_buf_free(&out.buf);
    const char *tok = cJSON_GetStringValue(cJSON_GetObjectItem(ans, "access_token"));
    const char *acct = cJSON_GetStringValue(cJSON_GetObjectItem(ans, "account_id"));
    const char *uname = cJSON_GetStringValue(cJSON_GetObjectItem(ans, "username"));
    const cJSON *expin = cJSON_GetObjectItem(ans, "expires_in");
    if (rc == CL_ETIMEOUT) {
        cl_warn(COMP, "instagram connect for project %lld timed out: %s", pid, perr.message);
        callback_error(req, res, (long)pid, 504, "instagram_timeout",
                       "Instagram did not answer in time, so nothing was connected. Try connecting again in a moment.");
    } else if (rc != CL_OK || !tok || !acct) {
        cl_warn(COMP, "instagram connect for project %lld failed: %s", pid, perr.message);
        callback_error(req, res, (long)pid, 502, "connect_failed",
                       perr.message[0] ? perr.message : "Instagram did not complete the connection");
    } else {
        char err[512];
        const char *q[] = {sp, su, acct, uname ? uname : ""};
        if (cl_db_begin(c) != 0) {
            cl_res_db_failed(res, COMP, c, NULL, "begin");
        } else {
            r = cl_db_query(c,
                            "INSERT INTO channel_connections (project_id, user_id, channel, status, account_id, username)"
                            " VALUES ($1, $2, 'instagram', 'active', $3, $4)"
                            " ON CONFLICT (project_id, channel) DO UPDATE SET user_id = EXCLUDED.user_id,"
                            "   account_id = EXCLUDED.account_id, username = EXCLUDED.username,"
                            "   connected_at = now(), updated_at = now() RETURNING id",
                            4, q);
            int64_t cid = cl_db_ok(r) && PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
            PQclear(r);
            if (cid > 0 &&
                cl_channel_store_token(c, cid, tok, expires_in_seconds(expin), err,
                                       sizeof err) == 0 &&
                cl_db_commit(c) == 0) {
                cl_info(COMP, "project %lld connected Instagram account %s", pid, acct);
                if (wants_html(req)) {
                    char loc[128];
                    snprintf(loc, sizeof loc, "/app/projects/%lld?channel=connected", pid);
                    cl_res_header(res, "location", loc);
                    cl_res_json_text(res, 302, "{\"redirect\":true}");
                } else {
                    cJSON *o = cJSON_CreateObject();
                    cJSON_AddStringToObject(o, "status", "active");
                    cJSON_AddStringToObject(o, "channel", "instagram");
                    cJSON_AddStringToObject(o, "username", uname ? uname : "");
                    cJSON_AddNumberToObject(o, "project_id", (double)pid);
                    cl_res_json(res, 200, o);
                }
            } else {
                cl_db_rollback(c);
                cl_error(COMP, "store channel connection: %s", cid > 0 ? err : "insert failed");
                cl_res_error(res, 500, "internal", "Could not store the connection; nothing was changed");
            }
        }
    }
    /* The answer holds the token: wipe it before freeing. */
    if (tok)
        memset((char *)tok, 0, strlen(tok));
    cJSON_Delete(ans);
out:
    memset(code, 0, sizeof code);
}

/* ---- status and disconnect -------------------------------------------------------------- */

/* GET /api/projects/:id/channels */
static void list_channels(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t pid = cl_req_param_id(req, "id");
    if (cl_project_owned(c, res, COMP, pid, u->id) == 1) {
        char sp[24];
        const char *p[] = {cl_db_id(sp, pid)};
        PGresult *r = cl_res_db_query(
            res, COMP, c, "list channels",
            "SELECT channel, status, status_reason, account_id, username,"
            " to_char(token_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
            " to_char(token_refreshed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
            " to_char(connected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
            " FROM channel_connections WHERE project_id = $1 ORDER BY channel",
            1, p);
        if (r) {
            cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "channels");
            for (int i = 0; i < PQntuples(r); i++) {
                cJSON *ch = cJSON_CreateObject();
                static const char *keys[] = {"channel", "status", "status_reason", "account_id", "username",
                                             "token_expires_at", "token_refreshed_at", "connected_at"};
                for (int k = 0; k < 8; k++) {
                    if (PQgetisnull(r, i, k))
                        cJSON_AddNullToObject(ch, keys[k]);
                    else
                        cJSON_AddStringToObject(ch, keys[k], PQgetvalue(r, i, k));
                }
                cJSON_AddItemToArray(arr, ch);
            }
            const cl_publisher *ig = cl_publisher_get("instagram");
            cJSON *av = cJSON_AddObjectToObject(o, "available");
            cJSON_AddBoolToObject(av, "instagram", ig && ig->authorize_url && cl_keyring_get(NULL));
            cJSON_AddBoolToObject(o, "mock_publisher", cl_publisher_get("mock") != NULL);
            cl_res_json(res, 200, o);
        }
        PQclear(r);
    }
}

/* POST /api/projects/:id/channels/:channel/disconnect — forgets the token. */
static void disconnect_channel(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t pid = cl_req_param_id(req, "id");
    const char *ch = cl_req_param(req, "channel");
    if (cl_project_owned(c, res, COMP, pid, u->id) == 1) {
        char sp[24];
        const char *p[] = {cl_db_id(sp, pid), ch};
        PGresult *r =
            cl_res_db_get(res, COMP, c,
                          "UPDATE channel_connections SET status = 'disconnected', status_reason = NULL,"
                          " token_ciphertext = NULL, token_key_id = NULL, updated_at = now()"
                          " WHERE project_id = $1 AND channel = $2 RETURNING channel",
                          2, p, "disconnect", "No %s connection on this project", ch);
        if (r)
            cl_res_json_text(res, 200, "{\"status\":\"disconnected\"}");
        PQclear(r);
    }
}

/* ---- daily token refresh ------------------------------------------------------------------ */

int cl_publishing_refresh_tokens(PGconn *c, int *refreshed, int *failed, char *err, size_t errlen)
{
    *refreshed = *failed = 0;
    /* Tokens past their expiry cannot be refreshed: the user must reconnect. */
    if (cl_db_exec(c,
                   "UPDATE channel_connections SET status = 'expired',"
                   " status_reason = 'The access token expired; reconnect the account', updated_at = now()"
                   " WHERE status = 'active' AND token_expires_at <= now()",
                   0, NULL, err, errlen) != 0)
        return -1;
    PGresult *r = cl_db_run(c,
                            "SELECT project_id, channel FROM channel_connections WHERE status = 'active'"
                            " AND token_refreshed_at < now() - interval '24 hours'"
                            " AND token_expires_at < now() + interval '10 days' ORDER BY token_expires_at",
                            0, NULL, err, errlen);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        cl_channel ch;
        char lerr[512];
        int64_t pid = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        const cl_publisher *pub = cl_publisher_get(PQgetvalue(r, i, 1));
        if (cl_channel_load(c, pid, PQgetvalue(r, i, 1), 1, &ch, lerr, sizeof lerr) != 1 || !ch.token || !pub ||
            !pub->refresh) {
            cl_warn(COMP, "token refresh for project %" PRId64 " skipped: %s", pid,
                    pub ? lerr : "publisher not loaded");
            cl_channel_clear(&ch);
            (*failed)++;
            continue;
        }
        cl_call call;
        cl_call_init(&call, NULL, NULL);
        cl_output out = {CL_BUF_INIT, 0};
        cl_error perr;
        int rc = CL_CAP_CALL(pub, &perr, refresh, &call, ch.token, &out, &perr);
        cJSON *ans = rc == CL_OK ? cJSON_Parse(out.buf.data ? out.buf.data : "") : NULL;
        if (out.buf.data)
            memset(out.buf.data, 0, out.buf.len);
        cl_buf_free(&out.buf);
        const char *tok = cJSON_GetStringValue(cJSON_GetObjectItem(ans, "access_token"));
        const cJSON *expin = cJSON_GetObjectItem(ans, "expires_in");
        if (rc == CL_OK && tok &&
            cl_channel_store_token(c, ch.id, tok, expires_in_seconds(expin), lerr,
                                   sizeof lerr) == 0) {
            (*refreshed)++;
        } else {
            (*failed)++;
            if (rc == CL_EAUTH)
                cl_channel_set_status(c, ch.id, "invalid", perr.message, lerr, sizeof lerr);
            cl_warn(COMP, "token refresh for project %" PRId64 " failed: %s", pid,
                    rc != CL_OK ? perr.message : lerr);
        }
        if (tok)
            memset((char *)tok, 0, strlen(tok));
        cJSON_Delete(ans);
        cl_channel_clear(&ch);
    }
    PQclear(r);
    return 0;
}

static int refresh_job(const cl_job *job, cl_call *call, cl_buf *result, char *err, size_t errlen)
{
    char dberr[256];
    PGconn *c = cl_db_connect(cl_cfg.database_url, dberr, sizeof dberr);
    if (!c) {
        snprintf(err, errlen, "database unavailable: %s", dberr);
        return 1;
    }
    int ok = 0, bad = 0;
    int rc = cl_publishing_refresh_tokens(c, &ok, &bad, err, errlen);
    PQfinish(c);
    if (rc != 0)
        return 1;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "refreshed", ok);
    cJSON_AddNumberToObject(o, "failed", bad);
    cl_buf_put_json(result, o);
    return 0;
}

int cl_publishing_register_channel_jobs(void);
int cl_publishing_register_channel_jobs(void) { return cl_job_register("publishing.refresh_tokens", refresh_job); }

static const cl_user_route signed_in_routes[] = {
    {"GET", "/api/integrations/instagram/connect", connect_start, CL_AUTH_PRODUCT, 0},
    /* exchanges the code for tokens at the platform (seconds, up to its timeout): the provider pool, so a
       slow platform holds none of the blocking pool's threads; no per-user slot (a browser navigation
       answered with a page, never a 429) */
    {"GET", "/api/integrations/instagram/callback", connect_callback, CL_AUTH_PRODUCT, CL_ROUTE_PROVIDER},
    {"GET", "/api/projects/:id/channels", list_channels, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/projects/:id/channels/:channel/disconnect", disconnect_channel, CL_AUTH_PRODUCT, 0},
};

void cl_publishing_register_channel_routes(void)
{
    CL_ROUTE_USER_TABLE(signed_in_routes);
    cl_route("GET", "/api/public/media/:token", public_media, 0);
}
