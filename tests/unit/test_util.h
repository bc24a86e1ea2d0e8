/*
 * test_util.h — small helpers several C unit tests share: a database URL
 * from the admin URL, a file copy, and a scratch directory that is also the
 * storage root, a monotonic clock.
 */
#ifndef CL_TEST_UTIL_H
#define CL_TEST_UTIL_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/** The admin URL with its database name replaced by `db` into out. 0 or -1. */
static inline int url_with_db(const char *admin, const char *db, char *out, size_t len)
{
    const char *scheme = strstr(admin, "://");
    if (!scheme)
        return -1;
    const char *path = strchr(scheme + 3, '/');
    if (!path)
        return -1;
    const char *rest = path + strcspn(path, "?");
    int n = snprintf(out, len, "%.*s/%s%s", (int)(path - admin), admin, db, rest);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/** Copy a file (best effort; a test checks what it needs from the copy). */
static inline void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[65536];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

/** mkdtemp(scratch), and <scratch>/storage as CLIPLOOP_STORAGE_DIR. 0, or -1 (perror said why). */
static inline int scratch_with_storage(char *scratch)
{
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return -1;
    }
    char storage[PATH_MAX + 16];
    snprintf(storage, sizeof storage, "%s/storage", scratch);
    setenv("CLIPLOOP_STORAGE_DIR", storage, 1);
    return 0;
}

/** A monotonic clock in milliseconds. */
static inline long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
