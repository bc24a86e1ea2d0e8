#include "core/buf.h"

#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(cl_buf *b, size_t extra)
{
    /* len + extra + 1 must not wrap around. */
    if (extra > SIZE_MAX - 1 - b->len)
        return -1;
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

int cl_buf_reserve(cl_buf *b, size_t extra) { return reserve(b, extra); }

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
    /* One formatting pass when the text fits in the room left (the usual
       case once the buffer has grown), a second one after growing it. */
    if (!b->data && reserve(b, 63) != 0)
        return -1;
    size_t room = b->cap - b->len;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(b->data + b->len, room, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->data[b->len] = '\0';
        return -1;
    }
    if ((size_t)n >= room) {
        if (reserve(b, (size_t)n) != 0) {
            b->data[b->len] = '\0';
            return -1;
        }
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    }
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
    /* Runs of characters that need no escape are copied at once. */
    const unsigned char *p = (const unsigned char *)s, *run = p;
    for (;; p++) {
        unsigned char c = *p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (p > run && cl_buf_append(b, run, (size_t)(p - run)))
            return -1;
        if (!c)
            break;
        char esc[8];
        const char *out;
        switch (c) {
        case '"': out = "\\\""; break;
        case '\\': out = "\\\\"; break;
        case '\n': out = "\\n"; break;
        case '\r': out = "\\r"; break;
        case '\t': out = "\\t"; break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            out = esc;
        }
        if (cl_buf_puts(b, out))
            return -1;
        run = p + 1;
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

int cl_buf_read_stream(cl_buf *b, FILE *f, size_t max)
{
    char chunk[8192];
    size_t n, start = b->len;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (cl_buf_append(b, chunk, n) != 0 || (max && b->len - start > max))
            return -1;
    return ferror(f) ? -1 : 0;
}

int cl_output_append(cl_output *out, const void *data, size_t len)
{
    if (!out || (!data && len))
        return CL_EINVAL;
    if (out->limit && (out->buf.len > out->limit || len > out->limit - out->buf.len))
        return CL_ENOMEM;
    return cl_buf_append(&out->buf, data, len) == 0 ? CL_OK : CL_ENOMEM;
}

size_t cl_utf8_valid_prefix(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return i; /* a continuation byte, C0/C1 (overlong) or F5..FF */
        }
        if (len > n - i)
            return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* Overlong forms, UTF-16 surrogates, beyond U+10FFFF. */
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += len;
    }
    return n;
}

int cl_utf8_valid(const char *s, size_t n) { return cl_utf8_valid_prefix(s, n) == n; }

size_t cl_utf8_clip(const char *str, size_t len, size_t max)
{
    const unsigned char *s = (const unsigned char *)str;
    if (len <= max)
        return len;
    size_t n = max;
    /* s[n] is the first byte left out: while it continues a character, the
       cut is inside that character. */
    while (n > 0 && (s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

int cl_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

size_t cl_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

void *cl_array_room(void *v, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return v;
    size_t na = *cap ? *cap * 2 : first;
    if (na < *cap || na > SIZE_MAX / elem)
        return NULL;
    void *nv = realloc(v, na * elem);
    if (nv)
        *cap = na;
    return nv;
}
