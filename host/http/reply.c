/*
 * reply.c — request accessors and response builders shared by all handlers.
 */
#include "http/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *cl_req_param(const cl_req *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
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
    cl_buf_free(&res->body);
    free(res->file_path);
    for (size_t i = 0; i < res->nheaders; i++) {
        free(res->headers[i].name);
        free(res->headers[i].value);
    }
    memset(res, 0, sizeof *res);
}
