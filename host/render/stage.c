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
#include "render/stage_audio.h"

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

/* The layers' files of root into work_dir (absolute); seen and *n shared by
   every composition of one render. */
static int stage_layers(cJSON *root, const char *work_dir, cJSON *seen, int *n, char *err, size_t errlen)
{
    cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(root, "layers"))
    {
        if (stage_one(l, "path", work_dir, seen, n, err, errlen) || stage_one(l, "font", work_dir, seen, n, err, errlen))
            return -1;
    }
    return 0;
}

/* Stage json's "audio" files into dir (cl_render_stage_audio) and put the
   staged object into root. 0 or -1. */
static int stage_audio_into(cJSON *root, const char *dir, char *err, size_t errlen)
{
    char *text = cJSON_PrintUnformatted(root), *staged = NULL;
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = cl_render_stage_audio(text, dir, &staged, err, errlen);
    free(text);
    if (rc != 0 || !staged)
        return rc;
    cJSON *o = cJSON_Parse(staged);
    free(staged);
    cJSON *a = cJSON_DetachItemFromObjectCaseSensitive(o, "audio");
    cJSON_Delete(o);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cJSON_ReplaceItemInObjectCaseSensitive(root, "audio", a);
    return 0;
}

int cl_render_stage_many(const char *const *jsons, int n, const char *work_dir, char **out_jsons, char *err,
                         size_t errlen)
{
    cJSON **roots = calloc((size_t)(n > 0 ? n : 1), sizeof *roots), *seen = cJSON_CreateObject();
    int rc = -1, count = 0;
    char abs[4096];
    for (int i = 0; i < n; i++)
        out_jsons[i] = NULL;
    if (!roots || !seen) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (!realpath(work_dir, abs)) {
        snprintf(err, errlen, "work directory %s is not usable: %s", work_dir, strerror(errno));
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (!(roots[i] = cJSON_Parse(jsons[i]))) {
            snprintf(err, errlen, "composition is not valid JSON");
            goto out;
        }
        if (stage_layers(roots[i], abs, seen, &count, err, errlen) != 0)
            goto out;
    }
    /* The soundtrack: once for every output whose "audio" is the first one's
       (so a renderer sees the same files and can mix them once). */
    const cJSON *first = n > 0 ? cJSON_GetObjectItemCaseSensitive(roots[0], "audio") : NULL;
    cJSON *first_orig = first ? cJSON_Duplicate(first, 1) : NULL;
    for (int i = 0; i < n; i++) {
        cJSON *a = cJSON_GetObjectItemCaseSensitive(roots[i], "audio");
        if (!a)
            continue;
        if (i > 0 && first_orig && cJSON_Compare(a, first_orig, 1)) {
            cJSON_ReplaceItemInObjectCaseSensitive(roots[i], "audio",
                                                   cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(roots[0], "audio"), 1));
            continue;
        }
        char dir[4200];
        snprintf(dir, sizeof dir, i ? "%s/out%d" : "%s", abs, i);
        if (i && mkdir(dir, 0700) != 0 && errno != EEXIST)
            snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        else if (stage_audio_into(roots[i], dir, err, errlen) == 0)
            continue;
        cJSON_Delete(first_orig);
        goto out;
    }
    cJSON_Delete(first_orig);
    for (int i = 0; i < n; i++)
        if (!(out_jsons[i] = cJSON_PrintUnformatted(roots[i]))) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    rc = 0;
out:
    if (rc != 0)
        for (int i = 0; i < n; i++) {
            free(out_jsons[i]);
            out_jsons[i] = NULL;
        }
    for (int i = 0; roots && i < n; i++)
        cJSON_Delete(roots[i]);
    free(roots);
    cJSON_Delete(seen);
    return rc;
}
