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

void cl_iw_buf_free(cl_iw_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
