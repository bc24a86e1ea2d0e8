#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(cl_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)-1) / 2)
            return -1;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int cl_buf_append(cl_buf *b, const void *data, size_t len)
{
    if (reserve(b, len) != 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int cl_buf_puts(cl_buf *b, const char *s) { return cl_buf_append(b, s, strlen(s)); }

int cl_buf_vprintf(cl_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || reserve(b, (size_t)n) != 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int cl_buf_printf(cl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cl_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int cl_buf_json_str(cl_buf *b, const char *s)
{
    if (cl_buf_append(b, "\"", 1))
        return -1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        const char *out = NULL;
        switch (*p) {
        case '"': out = "\\\""; break;
        case '\\': out = "\\\\"; break;
        case '\n': out = "\\n"; break;
        case '\r': out = "\\r"; break;
        case '\t': out = "\\t"; break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                out = esc;
            }
        }
        if (out ? cl_buf_puts(b, out) : cl_buf_append(b, p, 1))
            return -1;
    }
    return cl_buf_append(b, "\"", 1);
}

void cl_buf_free(cl_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *cl_buf_steal(cl_buf *b)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

int cl_output_append(cl_output *out, const void *data, size_t len)
{
    if (!out || (!data && len))
        return CL_EINVAL;
    if (out->limit && out->buf.len + len > out->limit)
        return CL_ENOMEM;
    return cl_buf_append(&out->buf, data, len) == 0 ? CL_OK : CL_ENOMEM;
}
