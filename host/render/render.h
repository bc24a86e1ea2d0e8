/*
 * render.h — rendering one composition with the configured renderer plugin.
 * Used by `cliploop render-file` and (later) the worker's render job. The
 * plugins must already be loaded (cl_plugins_load_dir).
 */
#ifndef CL_RENDER_RENDER_H
#define CL_RENDER_RENDER_H

#include "cliploop_plugin.h"
#include <stddef.h>

/** File names written into the output directory. */
#define CL_RENDER_VIDEO_NAME "rendered.mp4"
#define CL_RENDER_THUMBNAIL_NAME "thumbnail.jpg"

/** What a render produced. Plain buffers owned by the caller. */
typedef struct cl_render_result {
    char renderer[64];        /**< the capability id that ran */
    char video_path[1024];    /**< <out_dir>/rendered.mp4 */
    char thumbnail_path[1024];/**< <out_dir>/thumbnail.jpg */
    double seconds;           /**< wall-clock time of the plugin call */
} cl_render_result;

/**
 * The renderer id to use: renderer_id when non-empty, else RENDERER
 * (cl_cfg.renderer, default "ffmpeg"). The string is borrowed.
 */
const char *cl_render_pick(const char *renderer_id);

/** Remove dir and everything under it (symlinks are not followed). */
void cl_render_remove_tree(const char *dir);

/**
 * Validate composition_json (cl_composition_validate), create out_dir and a
 * private work directory inside it, and call the renderer capability
 * (cl_render_pick(renderer_id)) with call (NULL: a private call without
 * progress or cancellation). The work directory is removed afterwards.
 * Returns CL_OK with *res filled, or a negative cl_status with err filled:
 * CL_EINVAL (invalid composition, message names the field), CL_EUNSUPPORTED
 * (no renderer with that id is loaded — the message names RENDERER and the
 * id), CL_EIO (out_dir cannot be created), or whatever the renderer returned.
 * err is caller-owned; res may be NULL.
 */
int cl_render_composition(const char *composition_json, const char *out_dir,
                          const char *renderer_id, cl_call *call, cl_render_result *res,
                          cl_error *err);

/** Most videos one cl_render_compositions call makes (a render and its aspect variants). */
#define CL_RENDER_MAX_VIDEOS 8

/**
 * Render n compositions (1..CL_RENDER_MAX_VIDEOS; e.g. a video and its
 * aspect variants) with the same renderer, comps[i] into out_dirs[i]
 * (res[i] filled like cl_render_composition's). Every composition is
 * validated first, and the files they name are staged into one work
 * directory (inside out_dirs[0]), the same file once. A renderer whose
 * max_outputs (ABI 2.1) allows it makes them all in one call (decoding the
 * media and mixing the soundtrack once); an older one, or one that allows
 * fewer, is called for as many videos as it takes at a time, in order.
 * *calls (may be NULL) receives how many renderer calls were made.
 * res[i].seconds is the time of the call that made video i. All or nothing:
 * on failure no video remains. Returns CL_OK or a negative cl_status with
 * err filled.
 */
int cl_render_compositions(const char *const *comps, const char *const *out_dirs, int n, const char *renderer_id,
                           cl_call *call, cl_render_result *res, int *calls, cl_error *err);

#endif
