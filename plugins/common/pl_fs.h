/*
 * pl_fs.h — header-only file helpers shared by the in-tree plugins (and the
 * render_common code the host compiles too). Not part of the SDK.
 */
#ifndef CL_PLUGINS_PL_FS_H
#define CL_PLUGINS_PL_FS_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/** mkdir -p of path's parent directory (mode 0755). 0, or -1 with errno set. */
static inline int pl_mkdirs_for(const char *path)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    char *slash = strrchr(p, '/');
    if (!slash || slash == p)
        return 0;
    *slash = '\0';
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        int rc = mkdir(p, 0755);
        *q = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

#endif
