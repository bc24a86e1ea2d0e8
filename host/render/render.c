/*
 * render.c — see render.h.
 */
#include "render/render.h"
#include "core/config.h"
#include "core/log.h"
#include "plugins/call.h"
#include "plugins/registry.h"
#include "render/composition.h"
#include "render/stage.h"
#include "render/stage_audio.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


const char *cl_render_pick(const char *renderer_id)
{
    if (renderer_id && renderer_id[0])
        return renderer_id;
    return cl_cfg.renderer[0] ? cl_cfg.renderer : "ffmpeg";
}

/* mkdir -p */
static int mkdirs(const char *path)
{
    char p[1024];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return -1;
        *q = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(p, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void cl_render_remove_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int cl_render_composition(const char *composition_json, const char *out_dir,
                          const char *renderer_id, cl_call *call, cl_render_result *res,
                          cl_error *err)
{
    static atomic_uint seq;
    memset(err, 0, sizeof *err);
    char msg[400];
    if (cl_composition_validate(composition_json, msg, sizeof msg) != 0)
        return cl_error_set(err, CL_EINVAL, "invalid composition: %s", msg);
    const char *id = cl_render_pick(renderer_id);
    const cl_renderer *r = (const cl_renderer *)cl_plugins_find(CL_CAP_RENDERER, id);
    if (!r)
        return cl_error_set(err, CL_EUNSUPPORTED,
                       "renderer \"%s\" is not available (RENDERER=ffmpeg|hyperframes; is its "
                       "plugin in the plugin directory?)",
                       id);
    if (!out_dir || !out_dir[0] || mkdirs(out_dir) != 0)
        return cl_error_set(err, CL_EIO, "cannot create output directory %s: %s", out_dir ? out_dir : "(null)",
                       strerror(errno));
    cl_render_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    snprintf(res->renderer, sizeof res->renderer, "%s", id);
    char work[1024];
    if (snprintf(res->video_path, sizeof res->video_path, "%s/%s", out_dir, CL_RENDER_VIDEO_NAME) >=
            (int)sizeof res->video_path ||
        snprintf(res->thumbnail_path, sizeof res->thumbnail_path, "%s/%s", out_dir,
                 CL_RENDER_THUMBNAIL_NAME) >= (int)sizeof res->thumbnail_path ||
        snprintf(work, sizeof work, "%s/.work-%d-%u", out_dir, (int)getpid(),
                 atomic_fetch_add(&seq, 1)) >= (int)sizeof work)
        return cl_error_set(err, CL_EINVAL, "output directory path is too long");
    if (mkdir(work, 0700) != 0)
        return cl_error_set(err, CL_EIO, "cannot create work directory %s: %s", work, strerror(errno));

    /* Files the layers name go into the work directory (the renderers read
       nothing outside it). */
    char *staged = NULL;
    if (cl_render_stage(composition_json, work, &staged, msg, sizeof msg) != 0) {
        cl_render_remove_tree(work);
        return cl_error_set(err, CL_EIO, "%s", msg);
    }
    /* The soundtrack's files go into the work directory too (stage_audio.c). */
    char *with_audio = NULL, wabs[PATH_MAX];
    if (!realpath(work, wabs))
        snprintf(msg, sizeof msg, "the work directory is not usable: %s", strerror(errno));
    if (!realpath(work, wabs) ||
        cl_render_stage_audio(staged, wabs, &with_audio, msg, sizeof msg) != 0) {
        free(staged);
        cl_render_remove_tree(work);
        return cl_error_set(err, CL_EIO, "%s", msg);
    }
    if (with_audio) {
        free(staged);
        staged = with_audio;
    }
    cl_call own;
    if (!call) {
        cl_call_init(&own, NULL, NULL);
        call = &own;
    }
    cl_render_request req = {.size = sizeof req,
                             .composition_json = staged,
                             .work_dir = work,
                             .video_path = res->video_path,
                             .thumbnail_path = res->thumbnail_path};
    double t0 = now_s();
    int rc = CL_CAP_CALL(r, err, render, call, &req, err);
    res->seconds = now_s() - t0;
    free(staged);
    cl_render_remove_tree(work);
    return rc;
}
