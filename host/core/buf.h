/*
 * buf.h — a growable byte buffer. The buffer owns `data` (malloc'd); free it
 * with cl_buf_free. data is always NUL-terminated once anything was appended.
 * Also the host's implementation of the SDK's opaque cl_output.
 */
#ifndef CL_CORE_BUF_H
#define CL_CORE_BUF_H

#include "cliploop_plugin.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

typedef struct cl_buf {
    char *data;
    size_t len;
    size_t cap;
} cl_buf;

/** cl_output (SDK) is a cl_buf with an optional size cap. */
struct cl_output {
    cl_buf buf;
    size_t limit; /**< 0 = unlimited; appends past it fail with CL_ENOMEM */
};

#define CL_BUF_INIT {NULL, 0, 0}

/** Append; returns 0 or -1 when out of memory (the buffer is unchanged then). */
int cl_buf_append(cl_buf *b, const void *data, size_t len);
int cl_buf_puts(cl_buf *b, const char *s);
/** Append a string literal (its length known at compile time: no strlen). */
#define CL_BUF_LIT(b, lit) cl_buf_append((b), "" lit, sizeof(lit) - 1)
int cl_buf_printf(cl_buf *b, const char *fmt, ...) CL_PRINTF(2, 3);

/**
 * Format a one-line reason into err (errlen bytes; nothing when err is NULL)
 * and return -1: the failure of a function that answers -1 with err set.
 */
int cl_errf(char *err, size_t errlen, const char *fmt, ...) CL_PRINTF(3, 4);
int cl_buf_vprintf(cl_buf *b, const char *fmt, va_list ap);
/** Make room for extra more bytes (and the NUL) at once; 0 or -1 (unchanged). */
int cl_buf_reserve(cl_buf *b, size_t extra);
/** Append s as a JSON string literal (with quotes and escapes). */
int cl_buf_json_str(cl_buf *b, const char *s);
/** Release the storage; the buffer is empty and reusable afterwards. */
void cl_buf_free(cl_buf *b);
/** Take ownership of data (caller frees); the buffer becomes empty. Never NULL. */
char *cl_buf_steal(cl_buf *b);
/**
 * Append everything f still has, up to max bytes (0 = no limit). Returns 0,
 * or -1 on a read error, out of memory, or more than max bytes (what was read
 * stays in b). f is not closed.
 */
int cl_buf_read_stream(cl_buf *b, FILE *f, size_t max);

/**
 * UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF):
 * the length of the longest valid prefix of s[0..n) (n when all of it is
 * valid), and whether all of it is.
 */
size_t cl_utf8_valid_prefix(const char *s, size_t n);
int cl_utf8_valid(const char *s, size_t n);
/**
 * The largest length <= max at which the len bytes of s can be cut without
 * splitting a multi-byte character (len when len <= max).
 */
size_t cl_utf8_clip(const char *s, size_t len, size_t max);
/**
 * Room for one more element in a malloc'd array v of n elements of size
 * elem with capacity *cap: v itself when n < *cap, else v grown to twice
 * its capacity (first when it has none) with *cap updated. NULL when out of
 * memory (v is left as it was, still the caller's). The one growth rule of
 * the host's growable arrays:
 *   script_entry **ne = cl_array_room(entries, &alloc, n, sizeof *ne, 16);
 *   if (!ne) return -1;
 *   entries = ne;
 */
void *cl_array_room(void *v, size_t *cap, size_t n, size_t elem, size_t first);
/** The number of characters (code points) in the NUL-terminated UTF-8 text s. */
size_t cl_utf8_chars(const char *s);

/** The host's cl_host_api.output_append. */
int cl_output_append(cl_output *out, const void *data, size_t len);

#endif
