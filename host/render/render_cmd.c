/*
 * render_cmd.c — `cliploop render-file COMPOSITION.json OUT_DIR [COMPOSITION.json
 * OUT_DIR ...] [--renderer ID]`: render composition files with a renderer
 * plugin (debugging, benchmarks). Writes OUT_DIR/rendered.mp4 and
 * OUT_DIR/thumbnail.jpg for each pair (several pairs are one render, like a
 * video and its aspect variants: cl_render_compositions), prints progress on
 * stderr and one JSON line on stdout: {"renderer","video","thumbnail","seconds"}
 * (the first video), plus "videos" and "renderer_calls" for several pairs.
 */
#include "commands.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "net/http_client.h"
#include "plugins/call.h"
#include "plugins/registry.h"
#include "render/render.h"
#include "core/json_out.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_progress(void *arg, int64_t done, int64_t total)
{
    int *tty = arg;
    if (*tty)
        fprintf(stderr, "\rrender: %lld/%lld frames", (long long)done, (long long)total);
    if (*tty && done == total)
        fputc('\n', stderr);
}

static char *read_file(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    cl_buf b = CL_BUF_INIT;
    int bad = cl_buf_read_stream(&b, f, 1u << 20) != 0;
    if (f != stdin)
        fclose(f);
    if (bad) {
        cl_buf_free(&b);
        return NULL;
    }
    return b.data ? cl_buf_steal(&b) : strdup("");
}

int cl_cmd_render_file(int argc, char **argv)
{
    const char *args[2 * CL_RENDER_MAX_VIDEOS], *renderer = NULL;
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--renderer") == 0 && i + 1 < argc)
            renderer = argv[++i];
        else if (strncmp(argv[i], "--renderer=", 11) == 0)
            renderer = argv[i] + 11;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            goto usage;
        else if (nargs < 2 * CL_RENDER_MAX_VIDEOS)
            args[nargs++] = argv[i];
        else
            goto usage;
    }
    if (nargs < 2 || nargs % 2)
        goto usage;
    int n = nargs / 2;
    char *json[CL_RENDER_MAX_VIDEOS] = {0};
    const char *comps[CL_RENDER_MAX_VIDEOS], *dirs[CL_RENDER_MAX_VIDEOS];
    for (int i = 0; i < n; i++) {
        if (!(json[i] = read_file(args[2 * i]))) {
            cl_error("render", "cannot read composition %s (missing, unreadable or over 1 MiB)", args[2 * i]);
            for (int k = 0; k < i; k++)
                free(json[k]);
            return 2;
        }
        comps[i] = json[i];
        dirs[i] = args[2 * i + 1];
    }
    int rc = 1;
    if (cl_http_global_init() != 0) {
        cl_error("render", "the HTTP client could not start");
        goto out;
    }
    if (cl_plugins_load_dir(cl_cfg.plugin_dir) < 0) {
        cl_error("render", "cannot read plugin directory %s (CLIPLOOP_PLUGIN_DIR)", cl_cfg.plugin_dir);
        rc = 2;
        goto out;
    }
    int tty = isatty(2);
    cl_call call;
    cl_call_init(&call, on_progress, &tty);
    cl_error err;
    cl_render_result res[CL_RENDER_MAX_VIDEOS];
    int calls = 0;
    int code = cl_render_compositions(comps, dirs, n, renderer, &call, res, &calls, &err);
    if (code != CL_OK) {
        cl_error("render", "%s: %s", cl_plugins_status_name(code), err.message);
        rc = code == CL_EINVAL ? 2 : 1;
        goto out;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "renderer", res[0].renderer);
    cJSON_AddStringToObject(o, "video", res[0].video_path);
    cJSON_AddStringToObject(o, "thumbnail", res[0].thumbnail_path);
    cJSON_AddNumberToObject(o, "seconds", round(res[0].seconds * 1000) / 1000);
    if (n > 1) {
        /* every video, and how many renderer calls made them (1 when the renderer makes several at once) */
        cJSON *vids = cJSON_AddArrayToObject(o, "videos");
        for (int i = 0; i < n; i++) {
            cJSON *v = cJSON_CreateObject();
            cJSON_AddStringToObject(v, "video", res[i].video_path);
            cJSON_AddStringToObject(v, "thumbnail", res[i].thumbnail_path);
            cJSON_AddItemToArray(vids, v);
        }
        cJSON_AddNumberToObject(o, "renderer_calls", calls);
    }
    rc = cl_json_print(o);
out:
    for (int i = 0; i < n; i++)
        free(json[i]);
    return rc;

usage:
    fprintf(stderr, "usage: cliploop render-file COMPOSITION.json OUT_DIR [COMPOSITION.json OUT_DIR ...]\n"
                    "                           [--renderer ffmpeg|hyperframes]\n"
                    "  writes OUT_DIR/" CL_RENDER_VIDEO_NAME " and OUT_DIR/" CL_RENDER_THUMBNAIL_NAME
                    " for each pair (several pairs: one render,\n"
                    "  e.g. a video and its aspect variants, in one renderer call when the renderer can);\n"
                    "  the renderer defaults to $RENDERER, else ffmpeg\n");
    return 2;
}
