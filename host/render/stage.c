/*
 * stage.c — copying the local files a version 2 composition names (image
 * layers' "path", text layers' "font") into the render's work directory,
 * and pointing the composition at the copies. Renderers accept files only
 * from inside their work directory (docs/composition.md), so whatever the
 * host resolved (a materialized media asset, a bundled font) reaches them
 * this way. A hard link when the file is on the same file system, else a
 * copy.
 */
#include "render/stage.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cl_stage_link_or_copy(const char *from, const char *to, int replace)
{
    if (link(from, to) == 0)
        return 0;
    if (replace && errno == EEXIST && unlink(to) == 0 && link(from, to) == 0)
        return 0;
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(to, O_WRONLY | O_CREAT | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL), 0600);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
            rc = -1;
            break;
        }
    if (n < 0)
        rc = -1;
    close(in);
    if (close(out) != 0)
        rc = -1;
    if (rc)
        unlink(to);
    return rc;
}

/* Stage the file in o[key] (when a string): same source -> same copy. */
static int stage_one(cJSON *o, const char *key, const char *work, cJSON *seen, int *n, char *err, size_t errlen)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v))
        return 0;
    const char *src = v->valuestring;
    const cJSON *done = cJSON_GetObjectItemCaseSensitive(seen, src);
    char dst[4200];
    if (done) {
        snprintf(dst, sizeof dst, "%s", done->valuestring);
    } else {
        const char *dot = strrchr(src, '.'), *slash = strrchr(src, '/');
        const char *ext = dot && (!slash || dot > slash) && strlen(dot) <= 6 ? dot : "";
        snprintf(dst, sizeof dst, "%s/staged-%d%s", work, (*n)++, ext);
        struct stat st;
        if (stat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "%s %s is not a readable file", key, src);
            return -1;
        }
        if (cl_stage_link_or_copy(src, dst, 0) != 0) {
            snprintf(err, errlen, "cannot copy %s into the work directory: %s", src, strerror(errno));
            return -1;
        }
        cJSON_AddStringToObject(seen, src, dst);
    }
    cJSON_SetValuestring(v, dst);
    return 0;
}

int cl_render_stage(const char *json, const char *work_dir, char **out_json, char *err, size_t errlen)
{
    *out_json = NULL;
    cJSON *root = cJSON_Parse(json), *seen = cJSON_CreateObject();
    int rc = -1, n = 0;
    char abs[4096];
    if (!realpath(work_dir, abs)) {
        snprintf(err, errlen, "work directory %s is not usable: %s", work_dir, strerror(errno));
        goto out;
    }
    work_dir = abs;
    if (!root || !seen) {
        snprintf(err, errlen, "composition is not valid JSON");
        goto out;
    }
    cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(root, "layers"))
    {
        if (stage_one(l, "path", work_dir, seen, &n, err, errlen) || stage_one(l, "font", work_dir, seen, &n, err, errlen))
            goto out;
    }
    if (!(*out_json = cJSON_PrintUnformatted(root)))
        snprintf(err, errlen, "out of memory");
    else
        rc = 0;
out:
    cJSON_Delete(root);
    cJSON_Delete(seen);
    return rc;
}
