/*
 * chat_completions.c — see chat_completions.h.
 *
 * Request:  POST <BASE_URL>/chat/completions
 *           {"model", "messages":[system?, prior turns…, user], "response_format":
 *            {"type":"json_object"} when json_output, "temperature"?, "max_tokens"?}
 * Response: {"model", "choices":[{"message":{"content":…}}], "usage":{…}}
 *
 * Status codes map to distinct cl_status values:
 *   401/403 -> CL_EAUTH, 400/404/422 -> CL_EINVAL (with the upstream message),
 *   429 -> CL_ERATELIMIT (retry_after_ms), 5xx -> CL_EUPSTREAM,
 *   transport deadline -> CL_ETIMEOUT, 200 without a usable answer ->
 *   CL_EMALFORMED.
 *
 * Retries are done here, not by http_do: 429 and 5xx are retried up to
 * MAX_RETRIES times (Retry-After honoured, otherwise exponential backoff),
 * while a timeout is not retried — a completion that ran past the deadline
 * may still be running (and billed) upstream, and the caller's job already
 * has its own retry policy. http_do is therefore called with max_retries 0.
 *
 * The API key only ever lives in the Authorization header buffer, which is
 * wiped after the call; no message or log line contains it.
 */
#include "chat_completions.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define fail cl_error_set_http

/* Copy at most max bytes of s into out, control characters as spaces. */
static void clean_copy(char *out, size_t outlen, const char *s, size_t max)
{
    size_t n = 0;
    for (; s && s[n] && n < max && n + 1 < outlen; n++)
        out[n] = ((unsigned char)s[n] < 0x20 || s[n] == 0x7f) ? ' ' : s[n];
    out[n] = '\0';
}

/* The upstream's error message from a JSON error body, whatever its dialect:
   {"error":{"message"}} (OpenAI), {"error":"…"}, {"message":"…"} (Mistral),
   {"message":{"detail":[{"loc":[…],"msg"}]}} (Mistral 422), {"detail":…}
   (FastAPI-style servers); else the start of the raw body. */
static void upstream_message(const char *body, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!body || !*body)
        return;
    cJSON *j = cJSON_Parse(body);
    const char *msg = NULL;
    char detail[320] = "";
    if (cJSON_IsObject(j)) {
        cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
        cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "detail");
        if (cJSON_IsObject(e) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message")))
            msg = cJSON_GetObjectItemCaseSensitive(e, "message")->valuestring;
        else if (cJSON_IsString(e))
            msg = e->valuestring;
        else if (cJSON_IsString(m))
            msg = m->valuestring;
        else if (cJSON_IsObject(m) && cJSON_GetObjectItemCaseSensitive(m, "detail"))
            d = cJSON_GetObjectItemCaseSensitive(m, "detail");
        if (!msg && cJSON_IsString(d))
            msg = d->valuestring;
        if (!msg && cJSON_IsArray(d) && cJSON_GetArraySize(d) > 0) {
            cJSON *first = cJSON_GetArrayItem(d, 0);
            cJSON *fm = cJSON_GetObjectItemCaseSensitive(first, "msg");
            cJSON *loc = cJSON_GetObjectItemCaseSensitive(first, "loc");
            size_t used = 0;
            cJSON *part;
            cJSON_ArrayForEach(part, loc)
            {
                int n = 0;
                if (cJSON_IsString(part))
                    n = snprintf(detail + used, sizeof detail - used, "%s%s", used ? "." : "",
                                 part->valuestring);
                else if (cJSON_IsNumber(part))
                    n = snprintf(detail + used, sizeof detail - used, "%s%d", used ? "." : "",
                                 part->valueint);
                if (n > 0 && used + (size_t)n < sizeof detail)
                    used += (size_t)n;
            }
            if (cJSON_IsString(fm))
                snprintf(detail + used, sizeof detail - used, "%s%s", used ? ": " : "",
                         fm->valuestring);
            msg = detail;
        }
    }
    clean_copy(out, outlen, msg ? msg : body, 300);
    cJSON_Delete(j);
}

/* Build the request body. Returns a malloc'd string or NULL (err filled). */
static char *build_body(const cc_provider *p, const char *model, const cl_llm_request *req,
                        cl_error *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *msgs = cJSON_AddArrayToObject(root, "messages");
    cJSON_AddStringToObject(root, "model", model);
    if (req->system && *req->system) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "system");
        cJSON_AddStringToObject(m, "content", req->system);
        cJSON_AddItemToArray(msgs, m);
    }
    if (req->messages_json && *req->messages_json) {
        cJSON *prior = cJSON_Parse(req->messages_json);
        if (!cJSON_IsArray(prior)) {
            cJSON_Delete(prior);
            cJSON_Delete(root);
            fail(err, CL_EINVAL, 0, 0, "%s: messages_json is not a JSON array", p->label);
            return NULL;
        }
        cJSON *turn;
        cJSON_ArrayForEach(turn, prior)
        {
            cJSON *role = cJSON_GetObjectItemCaseSensitive(turn, "role");
            cJSON *content = cJSON_GetObjectItemCaseSensitive(turn, "content");
            if (!cJSON_IsString(role) || !cJSON_IsString(content) ||
                (strcmp(role->valuestring, "user") != 0 &&
                 strcmp(role->valuestring, "assistant") != 0)) {
                cJSON_Delete(prior);
                cJSON_Delete(root);
                fail(err, CL_EINVAL, 0, 0,
                     "%s: messages_json turns must be {\"role\":\"user|assistant\",\"content\":\"…\"}",
                     p->label);
                return NULL;
            }
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "role", role->valuestring);
            cJSON_AddStringToObject(m, "content", content->valuestring);
            cJSON_AddItemToArray(msgs, m);
        }
        cJSON_Delete(prior);
    }
    cJSON *user = cJSON_CreateObject();
    cJSON_AddStringToObject(user, "role", "user");
    cJSON_AddStringToObject(user, "content", req->prompt);
    cJSON_AddItemToArray(msgs, user);
    if (req->json_output) {
        cJSON *rf = cJSON_AddObjectToObject(root, "response_format");
        cJSON_AddStringToObject(rf, "type", "json_object");
    }
    if (req->has_temperature)
        cJSON_AddNumberToObject(root, "temperature", req->temperature);
    if (req->max_tokens > 0)
        cJSON_AddNumberToObject(root, "max_tokens", req->max_tokens);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        fail(err, CL_ENOMEM, 0, 0, "%s: out of memory building the request", p->label);
    return text;
}

/* Trim whitespace and a surrounding ``` fence (some servers add one even in
   JSON mode). Returns a pointer into s; *len is the trimmed length. */
static const char *unfence(const char *s, size_t *len)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= 6 && strncmp(s, "```", 3) == 0 && strncmp(s + n - 3, "```", 3) == 0) {
        const char *nl = memchr(s, '\n', n);
        if (nl) {
            n -= (size_t)(nl + 1 - s) + 3;
            s = nl + 1;
            while (n && isspace((unsigned char)s[n - 1]))
                n--;
        }
    }
    *len = n;
    return s;
}

/* Interpret a 200 body: append the answer, fill usage. */
static int take_answer(const cc_provider *p, const char *model, const cl_llm_request *req,
                       const char *body, cl_output *out, cl_llm_usage *usage, cl_error *err)
{
    cJSON *j = cJSON_Parse(body);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return fail(err, CL_EMALFORMED, 200, 0, "%s: the response is not JSON",
                    p->label);
    }
    cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
    cJSON *first = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    cJSON *message = cJSON_GetObjectItemCaseSensitive(first, "message");
    cJSON *content = cJSON_GetObjectItemCaseSensitive(message, "content");
    if (!first || !message) {
        cJSON_Delete(j);
        return fail(err, CL_EMALFORMED, 200, 0, "%s: the response has no choices",
                    p->label);
    }
    /* content is a string, or (newer APIs) an array of {"type":"text","text"} chunks */
    char *joined = NULL;
    const char *text = NULL;
    if (cJSON_IsString(content)) {
        text = content->valuestring;
    } else if (cJSON_IsArray(content)) {
        size_t total = 1;
        cJSON *chunk;
        cJSON_ArrayForEach(chunk, content)
        {
            cJSON *t = cJSON_GetObjectItemCaseSensitive(chunk, "text");
            if (cJSON_IsString(t))
                total += strlen(t->valuestring);
        }
        joined = calloc(1, total);
        if (!joined) {
            cJSON_Delete(j);
            return fail(err, CL_ENOMEM, 0, 0, "%s: out of memory", p->label);
        }
        cJSON_ArrayForEach(chunk, content)
        {
            cJSON *t = cJSON_GetObjectItemCaseSensitive(chunk, "text");
            if (cJSON_IsString(t))
                strcat(joined, t->valuestring);
        }
        text = joined;
    }
    if (!text || !*text) {
        free(joined);
        cJSON_Delete(j);
        return fail(err, CL_EMALFORMED, 200, 0, "%s: the answer is empty",
                    p->label);
    }
    size_t len = strlen(text);
    if (req->json_output) {
        text = unfence(text, &len);
        cJSON *answer = cJSON_ParseWithLength(text, len);
        int ok = cJSON_IsObject(answer);
        cJSON_Delete(answer);
        if (!ok) {
            free(joined);
            cJSON_Delete(j);
            return fail(err, CL_EMALFORMED, 200, 0, "%s: the answer is not one JSON object", p->label);
        }
    }
    int rc = clp_output_append(out, text, len);
    free(joined);
    if (rc != CL_OK) {
        cJSON_Delete(j);
        return fail(err, rc, 0, 0, "%s: the output buffer refused the answer", p->label);
    }
    if (usage && usage->size >= offsetof(cl_llm_usage, model) + sizeof usage->model) {
        cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
        cJSON *pt = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens");
        cJSON *ct = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens");
        cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model");
        usage->prompt_tokens = cJSON_IsNumber(pt) ? pt->valueint : 0;
        usage->completion_tokens = cJSON_IsNumber(ct) ? ct->valueint : 0;
        snprintf(usage->model, sizeof usage->model, "%s",
                 cJSON_IsString(m) && *m->valuestring ? m->valuestring : model);
    }
    cJSON_Delete(j);
    return CL_OK;
}

/* Map a non-200 response to a cl_status. */
static int map_status(const cc_provider *p, const cl_http_response *res, cl_error *err)
{
    char msg[320];
    upstream_message(res->body, msg, sizeof msg);
    int s = res->status;
    if (s == 401 || s == 403)
        return fail(err, CL_EAUTH, s, 0, "%s: the API key was refused (%d): %s (check %s_API_KEY)",
                    p->label, s, msg, p->prefix);
    if (s == 400 || s == 422)
        return fail(err, CL_EINVAL, s, 0, "%s: bad request (%d): %s", p->label, s, msg);
    if (s == 404)
        return fail(err, CL_EINVAL, s, 0, "%s: not found (404): %s (check %s_BASE_URL and %s_MODEL)",
                    p->label, msg, p->prefix, p->prefix);
    if (s == 429)
        return fail(err, CL_ERATELIMIT, s, res->retry_after_ms, "%s: rate limited (429): %s",
                    p->label, msg);
    if (s >= 500)
        return fail(err, CL_EUPSTREAM, s, 0, "%s: upstream error (%d): %s", p->label, s, msg);
    return fail(err, CL_EUPSTREAM, s, 0, "%s: unexpected HTTP status %d: %s", p->label, s, msg);
}

int cc_complete(void *self, cl_call *call, const cl_llm_request *req, cl_output *out, cl_llm_usage *usage,
                cl_error *err)
{
    const cc_provider *p = self;
    cl_error scratch = CL_ERROR_INIT;
    if (!err)
        err = &scratch;
    if (!req || !out)
        return fail(err, CL_EINVAL, 0, 0, "%s: no request or output", p->label);
    if (!req->prompt)
        return fail(err, CL_EINVAL, 0, 0, "%s: prompt is required", p->label);

    const char *base = clp_config("BASE_URL");
    const char *key = clp_config("API_KEY");
    const char *model = clp_config("MODEL");
    if (!model || !*model)
        model = p->default_model;
    if (!base || !*base)
        return fail(err, CL_EUNSUPPORTED, 0, 0, "%s: %s_BASE_URL is not set", p->label, p->prefix);
    if (p->key_required && (!key || !*key))
        return fail(err, CL_EUNSUPPORTED, 0, 0, "%s: %s_API_KEY is not set", p->label, p->prefix);
    if (!model || !*model)
        return fail(err, CL_EUNSUPPORTED, 0, 0, "%s: %s_MODEL is not set", p->label, p->prefix);
    long timeout_ms = clp_config_range("TIMEOUT_MS", CC_DEFAULT_TIMEOUT_MS, 100, 600000);
    long max_retries = clp_config_range("MAX_RETRIES", CC_DEFAULT_MAX_RETRIES, 0, CC_MAX_RETRIES_LIMIT);

    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    char url[2048];
    if ((size_t)snprintf(url, sizeof url, "%.*s/chat/completions", (int)bl, base) >= sizeof url)
        return fail(err, CL_EINVAL, 0, 0, "%s: %s_BASE_URL is too long", p->label, p->prefix);

    char *body = build_body(p, model, req, err);
    if (!body)
        return err->code;

    char auth[1024] = "";
    if (key && *key &&
        (size_t)snprintf(auth, sizeof auth, "Authorization: Bearer %s", key) >= sizeof auth) {
        free(body);
        return fail(err, CL_EINVAL, 0, 0, "%s: %s_API_KEY is too long", p->label, p->prefix);
    }
    const char *headers[] = {"Content-Type: application/json", "Accept: application/json",
                             auth[0] ? auth : NULL, NULL};

    int rc = CL_OK;
    for (long attempt = 0;; attempt++) {
        cl_http_request hreq = {
            .size = sizeof hreq,
            .method = "POST",
            .url = url,
            .headers = headers,
            .body = body,
            .body_len = strlen(body),
            .timeout_ms = (int)timeout_ms,
            .max_retries = 0, /* see the file comment: retries are decided here */
            .max_response_bytes = CC_MAX_RESPONSE_BYTES,
        };
        cl_http_response res = {.size = sizeof res};
        rc = clp_http_do(call, &hreq, &res, err);
        if (rc != CL_OK) {
            /* transport failure: keep the code (CL_ETIMEOUT, CL_EBLOCKED, …), name the provider */
            char m[sizeof err->message];
            memcpy(m, err->message, sizeof m);
            m[sizeof m - 1] = '\0';
            snprintf(err->message, sizeof err->message, "%s: %.400s", p->label, m);
            clp_http_response_free(&res);
            break;
        }
        if (res.status == 200) {
            rc = take_answer(p, model, req, res.body, out, usage, err);
            clp_http_response_free(&res);
            break;
        }
        rc = map_status(p, &res, err);
        int retryable = res.status == 429 || res.status >= 500;
        long delay = CC_BACKOFF_BASE_MS << (attempt < 8 ? attempt : 8);
        if (delay > CC_BACKOFF_CAP_MS)
            delay = CC_BACKOFF_CAP_MS;
        if (res.retry_after_ms > 0)
            delay = res.retry_after_ms;
        clp_http_response_free(&res);
        if (!retryable || attempt >= max_retries || delay > CC_RETRY_AFTER_CAP_MS)
            break;
        clp_log(CL_LOG_INFO, "%s: HTTP %d, retrying in %ld ms (retry %ld of %ld)", p->label,
                 err->http_status, delay, attempt + 1, max_retries);
        if (clp_sleep(call, (int)delay) == CL_ECANCELLED) {
            rc = fail(err, CL_ECANCELLED, 0, 0, "%s: cancelled", p->label);
            break;
        }
    }
    /* the key must not outlive the call in stack memory either */
    explicit_bzero(auth, sizeof auth);
    free(body);
    return rc;
}

int cc_register(const cc_provider *p, cl_error *err)
{
    cl_llm_provider cap = {
        .base = {.kind = CL_CAP_LLM_PROVIDER, .id = p->label, .description = p->description, .self = (void *)p},
        .complete = cc_complete,
    };
    int rc = clp_register(&cap);
    return rc ? cl_error_set(err, rc, "registering llm_provider '%s' failed", p->label) : CL_OK;
}
