/*
 * iw_util.c — the plugin's growable buffer and JSON string escaping.
 */
#include "iw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cl_iw_buf_append(cl_iw_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int cl_iw_buf_puts(cl_iw_buf *b, const char *s) { return cl_iw_buf_append(b, s, strlen(s)); }

int cl_iw_buf_json_str(cl_iw_buf *b, const char *s)
{
    if (cl_iw_buf_append(b, "\"", 1))
        return -1;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    const unsigned char *run = p;
    for (; *p; p++) {
        const char *esc = NULL;
        char tmp[8];
        switch (*p) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (*p < 0x20) {
                snprintf(tmp, sizeof tmp, "\\u%04x", *p);
                esc = tmp;
            }
        }
        if (esc) {
            if (cl_iw_buf_append(b, run, (size_t)(p - run)) || cl_iw_buf_puts(b, esc))
                return -1;
            run = p + 1;
        }
    }
    if (cl_iw_buf_append(b, run, (size_t)(p - run)))
        return -1;
    return cl_iw_buf_append(b, "\"", 1);
}

void cl_iw_buf_free(cl_iw_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
