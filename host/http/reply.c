/*
 * reply.c — request accessors and response builders shared by all handlers.
 */
#include "http/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char *cl_req_param(const cl_req *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

int64_t cl_req_param_id(const cl_req *req, const char *name)
{
    const char *s = cl_req_param(req, name);
    if (!s || !*s || strlen(s) > 18)
        return 0;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    long long v = strtoll(s, NULL, 10);
    return v > 0 ? (int64_t)v : 0;
}

static int hexval(int ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

int cl_req_query(const cl_req *req, const char *key, char *out, size_t len)
{
    size_t kl = strlen(key), n = 0;
    out[0] = '\0';
    for (const char *p = req->query; p && *p;) {
        size_t seg = strcspn(p, "&");
        if (seg >= kl && strncmp(p, key, kl) == 0 && (p[kl] == '=' || seg == kl)) {
            const char *end = p + seg;
            for (const char *s = p + kl + (seg > kl); s < end && n + 1 < len; s++) {
                int hi, lo;
                if (*s == '+') {
                    out[n++] = ' ';
                } else if (*s == '%' && s + 2 < end && (hi = hexval((unsigned char)s[1])) >= 0 &&
                           (lo = hexval((unsigned char)s[2])) >= 0) {
                    if (hi || lo)
                        out[n++] = (char)(hi * 16 + lo);
                    s += 2;
                } else {
                    out[n++] = *s;
                }
            }
            out[n] = '\0';
            return 1;
        }
        p += seg;
        if (*p == '&')
            p++;
    }
    return 0;
}

long cl_req_query_long(const cl_req *req, const char *key, long def, int *ok)
{
    char v[32];
    *ok = 1;
    if (!cl_req_query(req, key, v, sizeof v))
        return def;
    char *end;
    long n = strtol(v, &end, 10);
    if (!v[0] || *end)
        *ok = 0;
    return n;
}

const char *cl_req_header(const cl_req *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

cJSON *cl_req_json(const cl_req *req, cl_res *res)
{
    if (!req->body || req->body_len == 0) {
        cl_res_error(res, 400, "invalid_json", "Request body must be a JSON object");
        return NULL;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        cl_res_error(res, 400, "invalid_json", "Request body must be a JSON object");
        return NULL;
    }
    return j;
}

static void set_body(cl_res *res, int status, const char *text)
{
    res->status = status;
    res->content_type = "application/json; charset=utf-8";
    res->body.len = 0;
    if (cl_buf_puts(&res->body, text) != 0)
        res->status = 500;
}

void cl_res_json(cl_res *res, int status, cJSON *obj)
{
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!text) {
        cl_res_error(res, 500, "internal", "Could not encode the response");
        return;
    }
    set_body(res, status, text);
    cJSON_free(text);
}

void cl_res_json_text(cl_res *res, int status, const char *json) { set_body(res, status, json); }

void cl_res_error(cl_res *res, int status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    res->status = status;
    res->content_type = "application/json; charset=utf-8";
    res->body.len = 0;
    if (cl_buf_puts(&res->body, "{\"error\":{\"code\":") || cl_buf_json_str(&res->body, code) ||
        cl_buf_puts(&res->body, ",\"message\":") || cl_buf_json_str(&res->body, msg) ||
        cl_buf_puts(&res->body, "}}"))
        res->status = 500;
}

void cl_res_invalid(cl_res *res, cJSON *fields)
{
    int n = cJSON_GetArraySize(fields);
    char msg[300];
    if (n == 1 && cJSON_IsString(fields->child))
        snprintf(msg, sizeof msg, "%s", fields->child->valuestring);
    else
        snprintf(msg, sizeof msg, "%d fields need attention", n);
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", "validation_failed");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddItemToObject(e, "fields", fields);
    cl_res_json(res, 422, o);
}

void cl_res_header(cl_res *res, const char *name, const char *value)
{
    if (res->nheaders == CL_MAX_RES_HEADERS)
        return;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return;
    }
    res->headers[res->nheaders].name = n;
    res->headers[res->nheaders].value = v;
    res->nheaders++;
}

int cl_res_file(cl_res *res, const char *path, const char *mime)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    free(res->file_path);
    res->file_path = p;
    res->file_mime = mime;
    res->status = 200;
    return 0;
}

void cl_res_defer(cl_res *res, cl_handler_fn fn) { res->defer = fn; }

int cl_res_temp_file(cl_res *res, const char *path, const char *mime)
{
    if (cl_res_file(res, path, mime) != 0) {
        unlink(path);
        return -1;
    }
    res->file_temp = 1;
    return 0;
}

void cl_req_clear(cl_req *req)
{
    free(req->method);
    free(req->path);
    free(req->query);
    free(req->body);
    for (size_t i = 0; i < req->nheaders; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req->headers);
    for (size_t i = 0; i < req->nparams; i++)
        free(req->params[i].value); /* names point into the route table */
    memset(req, 0, sizeof *req);
}

void cl_res_clear(cl_res *res)
{
    if (res->file_temp && res->file_path)
        unlink(res->file_path); /* usually gone already: send_file unlinks after opening */
    cl_buf_free(&res->body);
    free(res->file_path);
    for (size_t i = 0; i < res->nheaders; i++) {
        free(res->headers[i].name);
        free(res->headers[i].value);
    }
    memset(res, 0, sizeof *res);
}
