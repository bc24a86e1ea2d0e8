/* fuzz_util.h — helpers shared by the fuzz targets. */
#ifndef CL_FUZZ_UTIL_H
#define CL_FUZZ_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A malloc'd, NUL-terminated copy of the next '\n'-terminated piece of
   [*p, end); *p moves past it. The caller frees. */
static inline char *fuzz_line(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, *p, n);
    s[n] = '\0';
    *p += n + (nl ? 1 : 0);
    return s;
}

#endif
