/*
 * reply.c — request accessors and response builders shared by all handlers.
 */
#include "http/http.h"

#include "core/buf.h"
#include "core/config.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
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

int64_t cl_parse_id(const char *s)
{
    if (!s || !*s)
        return 0;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        int d = *p - '0';
        if (v > (INT64_MAX - d) / 10)
            return 0; /* out of range */
        v = v * 10 + d;
    }
    return v;
}

int64_t cl_json_id(const cJSON *v)
{
    /* JSON numbers arrive as doubles: only whole numbers a double holds
       exactly (up to 2^53 - 1) are ids. The range check comes before any
       cast, so 1e19, 1e999 or NaN never reach an (int64_t) conversion. */
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    if (!(d >= 1 && d <= 9007199254740991.0) || d != floor(d))
        return 0;
    return (int64_t)d;
}

int64_t cl_req_param_id(const cl_req *req, const char *name) { return cl_parse_id(cl_req_param(req, name)); }

static int hexval(int ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* Percent-decode [s, end) ('+' is a space, a bad escape stays as it is, an
   encoded NUL is dropped) into out, which has room for end - s + 1 bytes.
   Returns the decoded length. */
static size_t query_decode(const char *s, const char *end, char *out)
{
    size_t n = 0;
    for (; s < end; s++) {
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
    return n;
}

int cl_req_query(const cl_req *req, const char *key, char *out, size_t len)
{
    size_t kl = strlen(key);
    out[0] = '\0';
    for (const char *p = req->query; p && *p;) {
        size_t seg = strcspn(p, "&");
        if (seg >= kl && strncmp(p, key, kl) == 0 && (p[kl] == '=' || seg == kl)) {
            const char *v = p + kl + (seg > kl), *end = p + seg;
            char stack[512], *tmp = (size_t)(end - v) < sizeof stack ? stack : malloc((size_t)(end - v) + 1);
            if (!tmp)
                return 1; /* out of memory: present, empty */
            size_t n = query_decode(v, end, tmp);
            /* Too long for out: cut at a character boundary, never inside one. */
            n = cl_utf8_clip(tmp, n, len - 1);
            memcpy(out, tmp, n);
            out[n] = '\0';
            if (tmp != stack)
                free(tmp);
            return 1;
        }
        p += seg;
        if (*p == '&')
            p++;
    }
    return 0;
}

int cl_req_query_id(const cl_req *req, const char *key, int64_t *id)
{
    char v[32];
    *id = 0;
    if (!cl_req_query(req, key, v, sizeof v))
        return 0;
    *id = cl_parse_id(v);
    return *id > 0 ? 1 : -1;
}

/* 400 invalid_utf8 naming where the bad text was (`where` is ASCII). */
static void utf8_error(cl_res *res, const char *where, const char *what)
{
    char msg[300];
    snprintf(msg, sizeof msg, "%s %s is not valid UTF-8 text", what, where);
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", "invalid_utf8");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "fields"), where, msg);
    cl_res_json(res, 400, o);
}

/* A printable-ASCII rendering of a name that may hold anything (for messages). */
static void safe_name(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outlen; i++)
        out[o++] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
    out[o] = '\0';
}

int cl_req_validate(const cl_req *req, cl_res *res)
{
    for (size_t i = 0; i < req->nparams; i++) {
        const char *v = req->params[i].value;
        if (!cl_utf8_valid(v, strlen(v))) {
            utf8_error(res, req->params[i].name, "path parameter");
            return -1;
        }
    }
    for (const char *p = req->query; p && *p;) {
        size_t seg = strcspn(p, "&");
        char *tmp = malloc(seg + 1);
        if (!tmp) {
            cl_res_error(res, 503, "unavailable", "out of memory");
            return -1;
        }
        const char *eq = memchr(p, '=', seg);
        size_t kn = query_decode(p, eq ? eq : p + seg, tmp);
        char name[64];
        safe_name(tmp, kn, name, sizeof name);
        int ok = cl_utf8_valid(tmp, kn);
        if (ok && eq) {
            size_t vn = query_decode(eq + 1, p + seg, tmp);
            ok = cl_utf8_valid(tmp, vn);
        }
        free(tmp);
        if (!ok) {
            utf8_error(res, name, "query parameter");
            return -1;
        }
        p += seg;
        if (*p == '&')
            p++;
    }
    return 0;
}

/* The first string (value or key) in j that is not valid UTF-8: its path
   ("brief.title", "items[2]") into out. 1 found, 0 none. */
static int find_bad_utf8(const cJSON *j, char *path, size_t plen, size_t at)
{
    int i = 0;
    for (const cJSON *c = j->child; c; c = c->next, i++) {
        size_t n = at;
        if (cJSON_IsArray(j)) {
            n += (size_t)snprintf(path + n, n < plen ? plen - n : 0, "[%d]", i);
        } else if (c->string) {
            char name[64];
            safe_name(c->string, strlen(c->string), name, sizeof name);
            n += (size_t)snprintf(path + n, n < plen ? plen - n : 0, "%s%s", at ? "." : "", name);
            if (!cl_utf8_valid(c->string, strlen(c->string)))
                return 1;
        }
        if (n >= plen)
            n = plen - 1;
        if (cJSON_IsString(c) && c->valuestring && !cl_utf8_valid(c->valuestring, strlen(c->valuestring)))
            return 1;
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && find_bad_utf8(c, path, plen, n))
            return 1;
        path[at] = '\0';
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

static int addr_is_loopback(const char *a)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, a, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, a, &v6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&v6))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
    }
    return 0;
}

int cl_req_from_loopback(const cl_req *req)
{
    if (cl_req_header(req, "x-forwarded-for") || cl_req_header(req, "forwarded") ||
        cl_req_header(req, "x-real-ip"))
        return 0;
    return addr_is_loopback(req->remote_addr);
}

/* Parse a numeric address into 16 bytes (IPv4 as v4-mapped IPv6). */
static int parse_addr(const char *s, unsigned char out[16])
{
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, s, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, s, &v6) == 1) {
        memcpy(out, &v6, 16);
        return 0;
    }
    return -1;
}

int cl_addr_in_list(const char *addr, const char *list)
{
    unsigned char a[16], net[16];
    if (!addr || !list || parse_addr(addr, a) != 0)
        return 0;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        char item[80];
        size_t b = 0, e = n;
        while (b < e && (p[b] == ' ' || p[b] == '\t'))
            b++;
        while (e > b && (p[e - 1] == ' ' || p[e - 1] == '\t'))
            e--;
        if (e > b && e - b < sizeof item) {
            memcpy(item, p + b, e - b);
            item[e - b] = '\0';
            char *slash = strchr(item, '/');
            int bits = 128;
            if (slash) {
                *slash = '\0';
                bits = atoi(slash + 1);
            }
            int v4 = strchr(item, ':') == NULL;
            if (slash && v4)
                bits += 96;
            if (parse_addr(item, net) == 0 && bits >= 0 && bits <= 128) {
                int match = 1;
                for (int i = 0; i < 16 && match; i++) {
                    int keep = bits - i * 8;
                    unsigned char mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
                    match = (a[i] & mask) == (net[i] & mask);
                }
                if (match)
                    return 1;
            }
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

void cl_req_client_addr(const cl_req *req, char *out, size_t outlen)
{
    if (!outlen)
        return;
    size_t n = strnlen(req->remote_addr, outlen - 1); /* runs per redirect: no printf */
    memcpy(out, req->remote_addr, n);
    out[n] = '\0';
    const char *trusted = cl_cfg.trusted_proxies;
    if (!trusted[0])
        return;
    const char *xff = cl_req_header(req, "x-forwarded-for");
    if (!xff || !cl_addr_in_list(req->remote_addr, trusted))
        return;
    /* Right to left: each trusted proxy appended the address it saw. */
    size_t end = strlen(xff);
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        char item[64];
        size_t b = start, e = end;
        while (b < e && (xff[b] == ' ' || xff[b] == '\t'))
            b++;
        while (e > b && (xff[e - 1] == ' ' || xff[e - 1] == '\t'))
            e--;
        unsigned char tmp[16];
        if (e > b && e - b < sizeof item) {
            memcpy(item, xff + b, e - b);
            item[e - b] = '\0';
            if (parse_addr(item, tmp) != 0)
                return; /* garbage: keep the proxy's view rather than guess */
            if (!cl_addr_in_list(item, trusted)) {
                snprintf(out, outlen, "%s", item);
                return;
            }
        }
        end = start > 0 ? start - 1 : 0;
    }
}

int cl_host_is_loopback(const char *host)
{
    if (!host)
        return 0;
    if (!strcasecmp(host, "localhost") || !strcasecmp(host, "localhost."))
        return 1;
    char a[64];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof a) {
        memcpy(a, host + 1, n - 2);
        a[n - 2] = '\0';
        return addr_is_loopback(a);
    }
    return addr_is_loopback(host);
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
    /* Text is checked once, here: no handler sees (or stores) invalid UTF-8. */
    char path[160] = "";
    if (find_bad_utf8(j, path, sizeof path, 0)) {
        cJSON_Delete(j);
        utf8_error(res, path[0] ? path : "body", "field");
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

cl_buf *cl_res_json_buf(cl_res *res, int status, size_t size_hint)
{
    res->status = status;
    res->content_type = "application/json; charset=utf-8";
    res->body.len = 0;
    if (res->body.data)
        res->body.data[0] = '\0';
    cl_buf_reserve(&res->body, size_hint); /* a hint: appending grows it anyway */
    return &res->body;
}

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

int cl_body_invalid(cl_body_err *e, cJSON *fields)
{
    cl_body_err_free(e);
    int n = cJSON_GetArraySize(fields);
    if (n == 1 && cJSON_IsString(fields->child))
        snprintf(e->message, sizeof e->message, "%s", fields->child->valuestring);
    else
        snprintf(e->message, sizeof e->message, "%d fields need attention", n);
    e->status = 422;
    snprintf(e->code, sizeof e->code, "validation_failed");
    e->fields = fields;
    return -1;
}

void cl_res_invalid(cl_res *res, cJSON *fields)
{
    cl_body_err e = {0};
    cl_body_invalid(&e, fields);
    cl_res_body_error(res, &e);
}

int cl_body_field(cl_body_err *e, int status, const char *field, const char *msg)
{
    cl_body_err_free(e);
    e->status = status;
    snprintf(e->code, sizeof e->code, "validation_failed");
    snprintf(e->message, sizeof e->message, "%s", msg);
    e->fields = cJSON_CreateObject();
    cJSON_AddStringToObject(e->fields, field, msg);
    return -1;
}

int cl_body_fail(cl_body_err *e, int status, const char *code, const char *fmt, ...)
{
    cl_body_err_free(e);
    e->status = status;
    snprintf(e->code, sizeof e->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

void cl_body_err_free(cl_body_err *e)
{
    cJSON_Delete(e->fields);
    e->fields = NULL;
}

void cl_res_body_error(cl_res *res, cl_body_err *e)
{
    if (!e->fields) {
        cl_res_error(res, e->status ? e->status : 400, e->code, "%s", e->message);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *x = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(x, "code", e->code);
    cJSON_AddStringToObject(x, "message", e->message);
    cJSON_AddItemToObject(x, "fields", e->fields);
    e->fields = NULL;
    cl_res_json(res, e->status, o);
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
