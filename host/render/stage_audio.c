/*
 * stage_audio.c — the soundtrack's files (the composition's
 * audio.voiceover.path and audio.music.path, docs/audio.md) into the render's
 * work directory, since renderers read files only from there. A hard link
 * when the file is on the same file system, else a copy.
 */
#include "render/stage_audio.h"
#include "render/stage.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cl_render_stage_audio(const char *json, const char *work_dir, char **out_json, char *err, size_t errlen)
{
    *out_json = NULL;
    cJSON *root = cJSON_Parse(json);
    cJSON *audio = cJSON_GetObjectItemCaseSensitive(root, "audio");
    if (!cJSON_IsObject(audio)) {
        cJSON_Delete(root);
        return 0;
    }
    static const char *const parts[] = {"voiceover", "music"};
    int rc = 0, changed = 0;
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        cJSON *p = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(audio, parts[i]), "path");
        if (!cJSON_IsString(p))
            continue;
        const char *src = p->valuestring, *dot = strrchr(src, '.'), *slash = strrchr(src, '/');
        const char *ext = dot && (!slash || dot > slash) && strlen(dot) <= 6 ? dot : "";
        char dst[2048];
        struct stat st;
        snprintf(dst, sizeof dst, "%s/audio-%s%s", work_dir, parts[i], ext);
        if (stat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "audio.%s.path %s is not a readable file", parts[i], src);
            rc = -1;
        } else if (cl_stage_link_or_copy(src, dst, 1) != 0) {
            snprintf(err, errlen, "cannot copy the %s into the work directory: %s", parts[i], strerror(errno));
            rc = -1;
        } else {
            cJSON_SetValuestring(p, dst);
            changed = 1;
        }
    }
    if (rc == 0 && changed && !(*out_json = cJSON_PrintUnformatted(root))) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    cJSON_Delete(root);
    return rc;
}
