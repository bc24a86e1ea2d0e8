/*
 * publish_instagram.c — publisher "instagram": Reels through the Instagram
 * API with Instagram Login (graph.instagram.com). The plugin only makes HTTP
 * calls (through the host's http_do) and maps answers; the host owns the
 * exactly-once state machine (host/publishing/publish_job.c) and calls the
 * steps one by one, storing each result before the next.
 *
 * Configuration (section INSTAGRAM, read on every call):
 *   INSTAGRAM_CLIENT_ID, INSTAGRAM_CLIENT_SECRET   the Meta app's Instagram app id/secret
 *   INSTAGRAM_REDIRECT_URI     exactly as registered in the app (…/api/integrations/instagram/callback)
 *   INSTAGRAM_AUTH_URL         default https://www.instagram.com/oauth/authorize
 *   INSTAGRAM_API_URL          default https://api.instagram.com (code exchange)
 *   INSTAGRAM_GRAPH_URL        default https://graph.instagram.com
 *   INSTAGRAM_GRAPH_VERSION    default v21.0
 *   INSTAGRAM_TIMEOUT_MS       per request, default 30000
 *
 * Calls:
 *   connect   POST {API}/oauth/access_token (authorization_code) -> short-lived token;
 *             GET {GRAPH}/access_token?grant_type=ig_exchange_token -> long-lived (~60 days);
 *             GET {GRAPH}/{v}/me?fields=user_id,username
 *   refresh   GET {GRAPH}/refresh_access_token?grant_type=ig_refresh_token
 *   quota     GET {GRAPH}/{v}/{ig}/content_publishing_limit?fields=quota_usage,config
 *   create    POST {GRAPH}/{v}/{ig}/media  media_type=REELS, video_url, caption, share_to_feed
 *   status    GET {GRAPH}/{v}/{container}?fields=status_code,status
 *   publish   POST {GRAPH}/{v}/{ig}/media_publish  creation_id
 *   permalink GET {GRAPH}/{v}/{media}?fields=permalink
 *   insights  GET {GRAPH}/{v}/{media}/insights?metric=views,reach (ABI 1.3)
 * Graph calls carry the token in an Authorization header, never in a URL.
 *
 * Errors ({"error":{"message","type","code","error_subcode"}}) map to:
 *   code 190 / 102 (token invalid, expired or revoked) -> CL_EAUTH; codes 4, 17, 32, 613 -> CL_ERATELIMIT;
 *   9007/2207027 (media not ready) and 5xx / codes 1, 2 -> CL_EUPSTREAM (transient);
 *   anything else 4xx -> CL_EINVAL with a message a user can act on.
 * Messages never contain the token or the client secret.
 */
#include "cliploop_plugin.h"
#include "pl_json.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Instagram's documented publishing limit (posts per 24 hours) when its answer has none. */
#define IG_DEFAULT_QUOTA 50
#define IG_QUOTA_WINDOW_S 86400
/* Deadline of one Graph API request unless INSTAGRAM_TIMEOUT_MS says otherwise. */
#define IG_TIMEOUT_MS 30000

#define fail(err, code, http, ...) cl_error_set_http((err), (code), (http), 0, __VA_ARGS__)

static const char *cfg(const char *key, const char *def)
{
    const char *v = clp_config(key);
    return v && *v ? v : def;
}

/* ---- URL building on the SDK's clp_buf (plugin-owned memory) -------------------- */

/* Append s percent-encoded (application/x-www-form-urlencoded, RFC 3986 unreserved kept). */
static void sb_enc(clp_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '_' || *p == '.' || *p == '~') {
            clp_buf_append(b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            clp_buf_append(b, e, 3);
        }
    }
}

/* Append "&k=v" (or "k=v" when first). */
static void sb_param(clp_buf *b, const char *k, const char *v)
{
    if (b->len && b->data[b->len - 1] != '?')
        clp_buf_append(b, "&", 1);
    clp_buf_puts(b, k);
    clp_buf_append(b, "=", 1);
    sb_enc(b, v);
}

/* Free b after overwriting it: it may hold a token or the client secret. */
static void sb_wipe(clp_buf *b)
{
    if (b->data)
        explicit_bzero(b->data, b->cap);
    clp_buf_free(b);
}

/* ---- HTTP + error mapping ------------------------------------------------------- */

static void clean_copy(char *out, size_t outlen, const char *s)
{
    size_t n = 0;
    for (; s && s[n] && n + 1 < outlen && n < 300; n++)
        out[n] = ((unsigned char)s[n] < 0x20) ? ' ' : s[n];
    out[n] = '\0';
}

/* Map a Graph API error answer (status, body) to a cl_status with a message. */
static int graph_error(int status, const char *body, const char *what, cl_error *err)
{
    cJSON *j = cJSON_Parse(body ? body : "");
    cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
    const char *user_msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "error_user_msg"));
    /* api.instagram.com (the code exchange) answers {"error_type","code","error_message"} instead. */
    if (!e && cJSON_IsObject(j)) {
        e = j;
        if (!msg)
            msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "error_message"));
    }
    cJSON *codej = cJSON_GetObjectItemCaseSensitive(e, "code");
    cJSON *subj = cJSON_GetObjectItemCaseSensitive(e, "error_subcode");
    int code = cJSON_IsNumber(codej) ? codej->valueint : 0;
    int sub = cJSON_IsNumber(subj) ? subj->valueint : 0;
    char m[320];
    clean_copy(m, sizeof m, user_msg ? user_msg : msg ? msg : "no error message");
    int rc;
    if (code == 190 || code == 102 || status == 401)
        rc = fail(err, CL_EAUTH, status,
                  "Instagram refused the access token (%s). Reconnect the Instagram account.", m);
    else if (code == 4 || code == 17 || code == 32 || code == 613 || status == 429)
        rc = fail(err, CL_ERATELIMIT, status, "Instagram rate limit reached while trying to %s (code %d): %s", what,
                  code, m);
    else if (code == 9007 && sub == 2207027)
        rc = fail(err, CL_EUPSTREAM, status, "Instagram is still processing the video (2207027)");
    else if (sub == 2207089)
        rc = fail(err, CL_EINVAL, status,
                  "Instagram treats this media as a carousel item, not a standalone post (2207089): %s", m);
    else if (status >= 500 || code == 1 || code == 2)
        rc = fail(err, CL_EUPSTREAM, status, "Instagram is unavailable (HTTP %d) while trying to %s: %s", status,
                  what, m);
    else
        rc = fail(err, CL_EINVAL, status, "Instagram refused to %s: %s", what, m);
    if (rc == CL_EINVAL && sub) {
        size_t used = strlen(err->message);
        snprintf(err->message + used, sizeof err->message - used, " (%d/%d)", code, sub);
    }
    cJSON_Delete(j);
    return rc;
}

/*
 * One request. token (may be NULL) goes into an Authorization header.
 * On 2xx, *json is the parsed body (caller deletes); otherwise a mapped error.
 */
static int request(cl_call *call, const char *method, const char *url, const char *form, const char *token,
                   const char *what, cJSON **json, cl_error *err)
{
    *json = NULL;
    clp_buf auth = {0};
    if (token) {
        clp_buf_puts(&auth, "Authorization: Bearer ");
        clp_buf_puts(&auth, token);
    }
    const char *headers[3] = {0};
    int h = 0;
    if (token)
        headers[h++] = auth.data;
    if (form)
        headers[h++] = "Content-Type: application/x-www-form-urlencoded";
    if (auth.oom)
        return fail(err, CL_ENOMEM, 0, "out of memory");
    cl_http_request req = {
        .size = sizeof req,
        .method = method,
        .url = url,
        .headers = headers,
        .body = form,
        .body_len = form ? strlen(form) : 0,
        .timeout_ms = (int)clp_config_int("TIMEOUT_MS", IG_TIMEOUT_MS),
        .max_retries = 0, /* the host's job decides about retries */
        .max_response_bytes = 1 << 20,
    };
    cl_http_response res = {.size = sizeof res};
    int rc = clp_http_do(call, &req, &res, err);
    sb_wipe(&auth);
    if (rc != CL_OK) {
        /* Transport failure: say what we were doing; the host's message has no secrets. */
        char host_msg[400];
        clean_copy(host_msg, sizeof host_msg, err->message);
        fail(err, rc, 0, "could not reach Instagram to %s: %s", what, host_msg);
        clp_http_response_free(&res);
        return rc;
    }
    if (res.status < 200 || res.status > 299) {
        rc = graph_error(res.status, res.body, what, err);
        clp_http_response_free(&res);
        return rc;
    }
    *json = cJSON_Parse(res.body ? res.body : "");
    clp_http_response_free(&res);
    if (!cJSON_IsObject(*json)) {
        cJSON_Delete(*json);
        *json = NULL;
        return fail(err, CL_EUPSTREAM, 200, "Instagram answered something that is not JSON while trying to %s", what);
    }
    return CL_OK;
}

static void graph_base(clp_buf *b)
{
    clp_buf_puts(b, cfg("GRAPH_URL", "https://graph.instagram.com"));
    clp_buf_puts(b, "/");
    clp_buf_puts(b, cfg("GRAPH_VERSION", "v21.0"));
    clp_buf_puts(b, "/");
}

/* A JSON string or number member as text into out. */
static int member_text(const cJSON *o, const char *k, char *out, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsString(v) && v->valuestring[0] && strlen(v->valuestring) < len) {
        snprintf(out, len, "%s", v->valuestring);
        return 0;
    }
    if (cJSON_IsNumber(v)) {
        snprintf(out, len, "%.0f", v->valuedouble);
        return 0;
    }
    return -1;
}

static int append_json(cl_output *out, cJSON *o, cl_error *err)
{
    char *text = cJSON_PrintUnformatted(o);
    int rc = text && clp_output_puts(out, text) == CL_OK ? CL_OK : CL_ENOMEM;
    if (text) {
        memset(text, 0, strlen(text)); /* may hold a token */
        cJSON_free(text);
    }
    return rc == CL_OK ? CL_OK : fail(err, CL_ENOMEM, 0, "out of memory");
}

static int need(const char *key, cl_error *err)
{
    if (cfg(key, NULL))
        return 0;
    return fail(err, CL_EUNSUPPORTED, 0, "INSTAGRAM_%s is not set: configure the Meta app (docs/publishing.md)", key);
}

/* ---- connection --------------------------------------------------------------- */

static int ig_authorize_url(void *self, const char *state, cl_output *out, cl_error *err)
{
    if (need("CLIENT_ID", err) || need("REDIRECT_URI", err))
        return err->code;
    clp_buf u = {0};
    clp_buf_puts(&u, cfg("AUTH_URL", "https://www.instagram.com/oauth/authorize"));
    clp_buf_puts(&u, "?");
    sb_param(&u, "client_id", cfg("CLIENT_ID", ""));
    sb_param(&u, "redirect_uri", cfg("REDIRECT_URI", ""));
    sb_param(&u, "response_type", "code");
    sb_param(&u, "scope", "instagram_business_basic,instagram_business_content_publish");
    sb_param(&u, "state", state);
    int rc = u.oom || clp_output_append(out, u.data, u.len) != CL_OK ? fail(err, CL_ENOMEM, 0, "out of memory") : CL_OK;
    sb_wipe(&u);
    return rc;
}

/* {"access_token","expires_in"} from a token answer into o. */
static int take_token(cJSON *ans, cJSON *o, const char *what, cl_error *err)
{
    const char *tok = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ans, "access_token"));
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(ans, "expires_in");
    if (!tok || !*tok)
        return fail(err, CL_EUPSTREAM, 200, "Instagram's answer to %s has no access_token", what);
    cJSON_AddStringToObject(o, "access_token", tok);
    cJSON_AddNumberToObject(o, "expires_in", cJSON_IsNumber(exp) ? exp->valuedouble : 5184000);
    return CL_OK;
}

static int ig_connect(void *self, cl_call *call, const char *code, cl_output *out, cl_error *err)
{
    if (need("CLIENT_ID", err) || need("CLIENT_SECRET", err) || need("REDIRECT_URI", err))
        return err->code;
    if (!code || !*code || strlen(code) > 2048)
        return fail(err, CL_EINVAL, 0, "the authorization code is missing");
    clp_buf url = {0}, form = {0}, url2 = {0}, url3 = {0};
    cJSON *a1 = NULL, *a2 = NULL, *a3 = NULL, *o = cJSON_CreateObject();
    int rc;
    /* 1. code -> short-lived token */
    clp_buf_puts(&url, cfg("API_URL", "https://api.instagram.com"));
    clp_buf_puts(&url, "/oauth/access_token");
    sb_param(&form, "client_id", cfg("CLIENT_ID", ""));
    sb_param(&form, "client_secret", cfg("CLIENT_SECRET", ""));
    sb_param(&form, "grant_type", "authorization_code");
    sb_param(&form, "redirect_uri", cfg("REDIRECT_URI", ""));
    sb_param(&form, "code", code);
    if (url.oom || form.oom || !o) {
        rc = fail(err, CL_ENOMEM, 0, "out of memory");
        goto done;
    }
    rc = request(call, "POST", url.data, form.data, NULL, "exchange the authorization code", &a1, err);
    if (rc != CL_OK)
        goto done;
    /* Some versions wrap the answer in {"data":[…]}. */
    cJSON *first = cJSON_GetObjectItemCaseSensitive(a1, "data");
    first = cJSON_IsArray(first) ? cJSON_GetArrayItem(first, 0) : a1;
    const char *short_tok = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "access_token"));
    if (!short_tok) {
        rc = fail(err, CL_EUPSTREAM, 200, "Instagram's code exchange answered without an access_token");
        goto done;
    }
    /* 2. short-lived -> long-lived */
    clp_buf_puts(&url2, cfg("GRAPH_URL", "https://graph.instagram.com"));
    clp_buf_puts(&url2, "/access_token?");
    sb_param(&url2, "grant_type", "ig_exchange_token");
    sb_param(&url2, "client_secret", cfg("CLIENT_SECRET", ""));
    sb_param(&url2, "access_token", short_tok);
    if (url2.oom) {
        rc = fail(err, CL_ENOMEM, 0, "out of memory");
        goto done;
    }
    rc = request(call, "GET", url2.data, NULL, NULL, "get a long-lived token", &a2, err);
    if (rc != CL_OK || (rc = take_token(a2, o, "the long-lived token exchange", err)) != CL_OK)
        goto done;
    /* 3. the account */
    graph_base(&url3);
    clp_buf_puts(&url3, "me?fields=user_id,username");
    rc = request(call, "GET", url3.data, NULL, cJSON_GetStringValue(cJSON_GetObjectItem(o, "access_token")),
                 "read the account", &a3, err);
    if (rc != CL_OK)
        goto done;
    char id[64], user[128];
    if (member_text(a3, "user_id", id, sizeof id) != 0 && member_text(a3, "id", id, sizeof id) != 0) {
        rc = fail(err, CL_EUPSTREAM, 200, "Instagram did not say which account was connected");
        goto done;
    }
    if (member_text(a3, "username", user, sizeof user) != 0)
        user[0] = '\0';
    cJSON_AddStringToObject(o, "account_id", id);
    cJSON_AddStringToObject(o, "username", user);
    rc = append_json(out, o, err);
done:
    sb_wipe(&url);
    sb_wipe(&form);
    sb_wipe(&url2);
    sb_wipe(&url3);
    cJSON_Delete(a1);
    cJSON_Delete(a2);
    cJSON_Delete(a3);
    cJSON_Delete(o);
    return rc;
}

static int ig_refresh(void *self, cl_call *call, const char *token, cl_output *out, cl_error *err)
{
    clp_buf url = {0};
    clp_buf_puts(&url, cfg("GRAPH_URL", "https://graph.instagram.com"));
    clp_buf_puts(&url, "/refresh_access_token?");
    sb_param(&url, "grant_type", "ig_refresh_token");
    sb_param(&url, "access_token", token);
    cJSON *a = NULL, *o = cJSON_CreateObject();
    int rc = url.oom || !o ? fail(err, CL_ENOMEM, 0, "out of memory")
                           : request(call, "GET", url.data, NULL, NULL, "refresh the access token", &a, err);
    if (rc == CL_OK)
        rc = take_token(a, o, "the token refresh", err);
    if (rc == CL_OK)
        rc = append_json(out, o, err);
    sb_wipe(&url);
    cJSON_Delete(a);
    cJSON_Delete(o);
    return rc;
}

/* ---- publishing steps ----------------------------------------------------------- */

static int check_account(const cl_publish_request *req, cl_error *err)
{
    if (req->size < offsetof(cl_publish_request, account_id) + sizeof req->account_id || !req->account_id ||
        !*req->account_id || strspn(req->account_id, "0123456789") != strlen(req->account_id))
        return fail(err, CL_EINVAL, 0, "the Instagram account id is missing");
    if (!req->access_token || !*req->access_token)
        return fail(err, CL_EAUTH, 0, "no access token: reconnect the Instagram account");
    return CL_OK;
}

static int safe_id(const char *id) { return id && *id && strlen(id) < 64 && strspn(id, "0123456789_") == strlen(id); }

static int ig_quota(void *self, cl_call *call, const cl_publish_request *req, cl_output *out, cl_error *err)
{
    if (check_account(req, err))
        return err->code;
    clp_buf url = {0};
    graph_base(&url);
    clp_buf_puts(&url, req->account_id);
    clp_buf_puts(&url, "/content_publishing_limit?fields=quota_usage,config");
    cJSON *a = NULL;
    int rc = url.oom ? fail(err, CL_ENOMEM, 0, "out of memory")
                     : request(call, "GET", url.data, NULL, req->access_token, "read the publishing quota", &a, err);
    if (rc == CL_OK) {
        cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(a, "data"), 0);
        cJSON *used = cJSON_GetObjectItemCaseSensitive(d, "quota_usage");
        cJSON *conf = cJSON_GetObjectItemCaseSensitive(d, "config");
        cJSON *total = cJSON_GetObjectItemCaseSensitive(conf, "quota_total");
        cJSON *dur = cJSON_GetObjectItemCaseSensitive(conf, "quota_duration");
        if (!cJSON_IsNumber(used)) {
            rc = fail(err, CL_EUPSTREAM, 200, "Instagram's quota answer has no quota_usage");
        } else {
            cJSON *q = cJSON_CreateObject();
            cJSON_AddNumberToObject(q, "used", used->valueint);
            cJSON_AddNumberToObject(q, "limit", cJSON_IsNumber(total) ? total->valueint : IG_DEFAULT_QUOTA);
            cJSON_AddNumberToObject(q, "window_seconds", cJSON_IsNumber(dur) ? dur->valueint : IG_QUOTA_WINDOW_S);
            rc = append_json(out, q, err);
            cJSON_Delete(q);
        }
    }
    cJSON_Delete(a);
    sb_wipe(&url);
    return rc;
}

static int ig_create(void *self, cl_call *call, const cl_publish_request *req, cl_output *out, cl_error *err)
{
    if (check_account(req, err))
        return err->code;
    if (!req->video_url || strncmp(req->video_url, "http", 4) != 0)
        return fail(err, CL_EINVAL, 0, "Instagram needs a public video URL (set PUBLIC_BASE_URL)");
    if (req->caption && strlen(req->caption) > 2200)
        return fail(err, CL_EINVAL, 0, "the caption is longer than Instagram's 2,200 characters");
    clp_buf url = {0}, form = {0};
    graph_base(&url);
    clp_buf_puts(&url, req->account_id);
    clp_buf_puts(&url, "/media");
    sb_param(&form, "media_type", "REELS");
    sb_param(&form, "video_url", req->video_url);
    sb_param(&form, "caption", req->caption ? req->caption : "");
    sb_param(&form, "share_to_feed", req->share_to_feed ? "true" : "false");
    if (req->thumbnail_url && *req->thumbnail_url)
        sb_param(&form, "cover_url", req->thumbnail_url);
    cJSON *a = NULL;
    int rc = url.oom || form.oom
                 ? fail(err, CL_ENOMEM, 0, "out of memory")
                 : request(call, "POST", url.data, form.data, req->access_token, "create the Reel container", &a, err);
    char id[64];
    if (rc == CL_OK && (member_text(a, "id", id, sizeof id) != 0 || !safe_id(id)))
        rc = fail(err, CL_EUPSTREAM, 200, "Instagram created a container without a usable id");
    if (rc == CL_OK)
        rc = pl_out_json(out, err, pl_obj1("container_id", id));
    cJSON_Delete(a);
    sb_wipe(&url);
    sb_wipe(&form);
    return rc;
}

/* A user-facing explanation of a container's ERROR status text. */
static void explain_status(const char *status_text, char *out, size_t len)
{
    const char *t = status_text ? status_text : "";
    if (strstr(t, "2207082"))
        snprintf(out, len, "Instagram could not process the video's audio (2207082): re-render it with a sound track");
    else if (strstr(t, "2207085"))
        snprintf(out, len,
                 "Instagram could not process the video: format, duration or resolution not supported (2207085)");
    else if (strstr(t, "2207052") || strstr(t, "2207003"))
        snprintf(out, len, "Instagram could not download the video from PUBLIC_BASE_URL (%s)",
                 strstr(t, "2207052") ? "2207052" : "2207003");
    else if (*t)
        clean_copy(out, len, t);
    else
        snprintf(out, len, "Instagram could not process the video");
}

static int ig_status(void *self, cl_call *call, const cl_publish_request *req, const char *cid, cl_output *out,
                     cl_error *err)
{
    if (!safe_id(cid))
        return fail(err, CL_EINVAL, 0, "invalid container id");
    clp_buf url = {0};
    graph_base(&url);
    clp_buf_puts(&url, cid);
    clp_buf_puts(&url, "?fields=status_code,status");
    cJSON *a = NULL;
    int rc = url.oom ? fail(err, CL_ENOMEM, 0, "out of memory")
                     : request(call, "GET", url.data, NULL, req->access_token, "check the video's processing", &a, err);
    if (rc == CL_OK) {
        const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "status_code"));
        const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "status"));
        if (!code || (strcmp(code, "IN_PROGRESS") && strcmp(code, "FINISHED") && strcmp(code, "ERROR") &&
                      strcmp(code, "EXPIRED") && strcmp(code, "PUBLISHED"))) {
            rc = fail(err, CL_EUPSTREAM, 200, "Instagram reported an unknown container status");
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "status", code);
            if (!strcmp(code, "ERROR")) {
                char m[300];
                explain_status(text, m, sizeof m);
                cJSON_AddStringToObject(o, "message", m);
            } else if (!strcmp(code, "EXPIRED")) {
                cJSON_AddStringToObject(o, "message", "The container expired before it was published (24 hours)");
            }
            rc = append_json(out, o, err);
            cJSON_Delete(o);
        }
    }
    cJSON_Delete(a);
    sb_wipe(&url);
    return rc;
}

static int ig_publish(void *self, cl_call *call, const cl_publish_request *req, const char *cid, cl_output *out,
                      cl_error *err)
{
    if (check_account(req, err))
        return err->code;
    if (!safe_id(cid))
        return fail(err, CL_EINVAL, 0, "invalid container id");
    clp_buf url = {0}, form = {0};
    graph_base(&url);
    clp_buf_puts(&url, req->account_id);
    clp_buf_puts(&url, "/media_publish");
    sb_param(&form, "creation_id", cid);
    cJSON *a = NULL;
    int rc = url.oom || form.oom
                 ? fail(err, CL_ENOMEM, 0, "out of memory")
                 : request(call, "POST", url.data, form.data, req->access_token, "publish the Reel", &a, err);
    char id[64];
    if (rc == CL_OK && (member_text(a, "id", id, sizeof id) != 0 || !safe_id(id)))
        rc = fail(err, CL_EUPSTREAM, 200, "Instagram published without returning a media id");
    if (rc == CL_OK)
        rc = pl_out_json(out, err, pl_obj1("media_id", id));
    cJSON_Delete(a);
    sb_wipe(&url);
    sb_wipe(&form);
    return rc;
}

static int ig_permalink(void *self, cl_call *call, const cl_publish_request *req, const char *media_id,
                        cl_output *out, cl_error *err)
{
    if (!safe_id(media_id))
        return fail(err, CL_EINVAL, 0, "invalid media id");
    clp_buf url = {0};
    graph_base(&url);
    clp_buf_puts(&url, media_id);
    clp_buf_puts(&url, "?fields=permalink");
    cJSON *a = NULL;
    int rc = url.oom ? fail(err, CL_ENOMEM, 0, "out of memory")
                     : request(call, "GET", url.data, NULL, req->access_token, "read the post's link", &a, err);
    const char *link = rc == CL_OK ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "permalink")) : NULL;
    if (rc == CL_OK && (!link || strncmp(link, "http", 4) != 0))
        rc = fail(err, CL_EUPSTREAM, 200, "Instagram returned no permalink");
    if (rc == CL_OK) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "permalink", link);
        rc = append_json(out, o, err);
        cJSON_Delete(o);
    }
    cJSON_Delete(a);
    sb_wipe(&url);
    return rc;
}

/* The Reel's lifetime views and reach: GET {GRAPH}/{media}/insights?metric=views,reach.
   Graph answers {"data":[{"name":"views","values":[{"value":N}]} | {"name","total_value":{"value":N}}…]}. */
static int ig_insights(void *self, cl_call *call, const cl_publish_request *req, const char *media_id,
                       cl_output *out, cl_error *err)
{
    (void)self;
    if (!safe_id(media_id))
        return fail(err, CL_EINVAL, 0, "invalid media id");
    clp_buf url = {0};
    graph_base(&url);
    clp_buf_puts(&url, media_id);
    clp_buf_puts(&url, "/insights?metric=views,reach&period=lifetime");
    cJSON *a = NULL;
    int rc = url.oom ? fail(err, CL_ENOMEM, 0, "out of memory")
                     : request(call, "GET", url.data, NULL, req->access_token, "read the post's insights", &a, err);
    const cJSON *data = rc == CL_OK ? cJSON_GetObjectItemCaseSensitive(a, "data") : NULL;
    if (rc == CL_OK && !cJSON_IsArray(data))
        rc = fail(err, CL_EUPSTREAM, 200, "Instagram returned no insights");
    if (rc == CL_OK) {
        cJSON *o = cJSON_CreateObject();
        const cJSON *m;
        cJSON_ArrayForEach(m, data)
        {
            const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "name"));
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "total_value"), "value");
            if (!cJSON_IsNumber(v))
                v = cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(m, "values"), 0), "value");
            if (name && cJSON_IsNumber(v) && v->valuedouble >= 0 && (!strcmp(name, "views") || !strcmp(name, "reach")) &&
                !cJSON_GetObjectItemCaseSensitive(o, name))
                cJSON_AddNumberToObject(o, name, v->valuedouble);
        }
        rc = append_json(out, o, err);
        cJSON_Delete(o);
    }
    cJSON_Delete(a);
    sb_wipe(&url);
    return rc;
}

static int ig_setup(cl_error *err)
{
    cl_publisher p = {
        .base = {.kind = CL_CAP_PUBLISHER, .id = "instagram", .description = "Instagram Reels (Instagram API with Instagram Login)"},
        .authorize_url = ig_authorize_url,
        .connect = ig_connect,
        .refresh = ig_refresh,
        .quota = ig_quota,
        .create_container = ig_create,
        .container_status = ig_status,
        .publish_container = ig_publish,
        .permalink = ig_permalink,
        .insights = ig_insights,
    };
    int rc = clp_register(&p);
    return rc ? cl_error_set(err, rc, "registering publisher 'instagram' failed") : CL_OK;
}

CL_PLUGIN("publish_instagram", "1.0.0", "INSTAGRAM", ig_setup)
