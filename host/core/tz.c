/*
 * tz.c — zone names against the system zone database (tz.h).
 */
#include "core/tz.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *zoneinfo_dir(void)
{
    const char *d = getenv("CLIPLOOP_ZONEINFO_DIR");
    return d && *d ? d : "/usr/share/zoneinfo";
}

int cl_tz_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64 || !isalpha((unsigned char)name[0]))
        return 0;
    int seg = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch == '/') {
            if (seg == 0)
                return 0;
            seg = 0;
            continue;
        }
        if (!(isalnum(ch) || ch == '_' || ch == '+' || ch == '-'))
            return 0;
        seg++;
    }
    if (seg == 0)
        return 0;
    /* "posix/..." and "right/..." are copies with other leap-second rules;
       "Factory" is a placeholder. Projects use the plain names. */
    if (strncmp(name, "posix/", 6) == 0 || strncmp(name, "right/", 6) == 0 || strcmp(name, "Factory") == 0)
        return 0;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", zoneinfo_dir(), name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char magic[4];
    ssize_t got = read(fd, magic, sizeof magic);
    close(fd);
    return got == 4 && memcmp(magic, "TZif", 4) == 0;
}
