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
    cl_render_result local;
    return cl_render_compositions(&composition_json, &out_dir, 1, renderer_id, call, res ? res : &local, NULL,
                                  err);
}

/* Remove what the videos first..last-1 wrote (an all-or-nothing render failed). */
static void remove_videos(cl_render_result *res, int first, int last)
{
    for (int i = first; i < last; i++) {
        unlink(res[i].video_path);
        unlink(res[i].thumbnail_path);
    }
}

int cl_render_compositions(const char *const *comps, const char *const *out_dirs, int n, const char *renderer_id,
                           cl_call *call, cl_render_result *res, int *calls, cl_error *err)
{
    static atomic_uint seq;
    memset(err, 0, sizeof *err);
    err->size = sizeof *err;
    if (calls)
        *calls = 0;
    if (n < 1 || n > CL_RENDER_MAX_VIDEOS)
        return cl_error_set(err, CL_EINVAL, "a render makes 1 to %d videos, not %d", CL_RENDER_MAX_VIDEOS, n);
    char msg[400];
    for (int i = 0; i < n; i++)
        if (cl_composition_validate(comps[i], msg, sizeof msg) != 0)
            return n == 1 ? cl_error_set(err, CL_EINVAL, "invalid composition: %s", msg)
                          : cl_error_set(err, CL_EINVAL, "invalid composition of video %d: %s", i + 1, msg);
    const char *id = cl_render_pick(renderer_id);
    const cl_renderer *r = (const cl_renderer *)cl_plugins_find(CL_CAP_RENDERER, id);
    if (!r)
        return cl_error_set(err, CL_EUNSUPPORTED,
                       "renderer \"%s\" is not available (RENDERER=ffmpeg|hyperframes; is its "
                       "plugin in the plugin directory?)",
                       id);
    for (int i = 0; i < n; i++) {
        const char *out_dir = out_dirs[i];
        if (!out_dir || !out_dir[0] || mkdirs(out_dir) != 0)
            return cl_error_set(err, CL_EIO, "cannot create output directory %s: %s", out_dir ? out_dir : "(null)",
                                strerror(errno));
        memset(&res[i], 0, sizeof res[i]);
        snprintf(res[i].renderer, sizeof res[i].renderer, "%s", id);
        if (snprintf(res[i].video_path, sizeof res[i].video_path, "%s/%s", out_dir, CL_RENDER_VIDEO_NAME) >=
                (int)sizeof res[i].video_path ||
            snprintf(res[i].thumbnail_path, sizeof res[i].thumbnail_path, "%s/%s", out_dir,
                     CL_RENDER_THUMBNAIL_NAME) >= (int)sizeof res[i].thumbnail_path)
            return cl_error_set(err, CL_EINVAL, "output directory path is too long");
    }
    char work[1024];
    if (snprintf(work, sizeof work, "%s/.work-%d-%u", out_dirs[0], (int)getpid(), atomic_fetch_add(&seq, 1)) >=
        (int)sizeof work)
        return cl_error_set(err, CL_EINVAL, "output directory path is too long");
    if (mkdir(work, 0700) != 0)
        return cl_error_set(err, CL_EIO, "cannot create work directory %s: %s", work, strerror(errno));

    /* Files the layers and the soundtrack name go into the work directory
       (the renderers read nothing outside it), each file once. */
    char *staged[CL_RENDER_MAX_VIDEOS] = {0};
    if (cl_render_stage_many(comps, n, work, staged, msg, sizeof msg) != 0) {
        cl_render_remove_tree(work);
        return cl_error_set(err, CL_EIO, "%s", msg);
    }
    cl_call own;
    if (!call) {
        cl_call_init(&own, NULL, NULL);
        call = &own;
    }
    /* ABI 2.1 feature test: a 2.0 renderer's copy ends before max_outputs (zero). */
    int per_call = r->max_outputs > 1 ? r->max_outputs : 1;
    if (per_call > CL_RENDER_MAX_VIDEOS)
        per_call = CL_RENDER_MAX_VIDEOS;
    int rc = CL_OK;
    for (int first = 0; first < n && rc == CL_OK; first += per_call) {
        int m = n - first < per_call ? n - first : per_call;
        cl_render_output outs[CL_RENDER_MAX_VIDEOS];
        const cl_render_output *outp[CL_RENDER_MAX_VIDEOS];
        for (int k = 1; k < m; k++) {
            outs[k] = (cl_render_output){.size = sizeof outs[k],
                                         .composition_json = staged[first + k],
                                         .video_path = res[first + k].video_path,
                                         .thumbnail_path = res[first + k].thumbnail_path};
            outp[k - 1] = &outs[k];
        }
        cl_render_request req = {.size = sizeof req,
                                 .composition_json = staged[first],
                                 .work_dir = work,
                                 .video_path = res[first].video_path,
                                 .thumbnail_path = res[first].thumbnail_path,
                                 .outputs = m > 1 ? outp : NULL,
                                 .n_outputs = m - 1};
        double t0 = now_s();
        rc = CL_CAP_CALL(r, err, render, call, &req, err);
        double took = now_s() - t0;
        if (calls)
            (*calls)++;
        for (int k = 0; k < m; k++)
            res[first + k].seconds = took;
        if (rc != CL_OK)
            remove_videos(res, 0, first); /* what earlier calls made */
    }
    for (int i = 0; i < n; i++)
        free(staged[i]);
    cl_render_remove_tree(work);
    return rc;
}
