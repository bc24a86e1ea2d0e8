/*
 * render_cmd.c — `cliploop render-file COMPOSITION.json OUT_DIR [--renderer ID]`:
 * render one composition file with a renderer plugin (debugging, benchmarks).
 * Writes OUT_DIR/rendered.mp4 and OUT_DIR/thumbnail.jpg, prints progress on
 * stderr and one JSON line on stdout: {"renderer","video","thumbnail","seconds"}.
 */
#include "commands.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "net/http_client.h"
#include "plugins/call.h"
#include "plugins/registry.h"
#include "render/render.h"

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
    const char *comp_path = NULL, *out_dir = NULL, *renderer = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--renderer") == 0 && i + 1 < argc)
            renderer = argv[++i];
        else if (strncmp(argv[i], "--renderer=", 11) == 0)
            renderer = argv[i] + 11;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            goto usage;
        else if (!comp_path)
            comp_path = argv[i];
        else if (!out_dir)
            out_dir = argv[i];
        else
            goto usage;
    }
    if (!comp_path || !out_dir)
        goto usage;

    char *json = read_file(comp_path);
    if (!json) {
        cl_error("render", "cannot read composition %s (missing, unreadable or over 1 MiB)", comp_path);
        return 2;
    }
    if (cl_http_global_init() != 0) {
        cl_error("render", "the HTTP client could not start");
        free(json);
        return 1;
    }
    if (cl_plugins_load_dir(cl_cfg.plugin_dir) < 0) {
        cl_error("render", "cannot read plugin directory %s (CLIPLOOP_PLUGIN_DIR)", cl_cfg.plugin_dir);
        free(json);
        return 2;
    }
    int tty = isatty(2);
    cl_call call;
    cl_call_init(&call, on_progress, &tty);
    cl_error err;
    cl_render_result res;
    int rc = cl_render_composition(json, out_dir, renderer, &call, &res, &err);
    free(json);
    if (rc != CL_OK) {
        cl_error("render", "%s: %s", cl_plugins_status_name(rc), err.message);
        return rc == CL_EINVAL ? 2 : 1;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "renderer", res.renderer);
    cJSON_AddStringToObject(o, "video", res.video_path);
    cJSON_AddStringToObject(o, "thumbnail", res.thumbnail_path);
    cJSON_AddNumberToObject(o, "seconds", round(res.seconds * 1000) / 1000);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text)
        printf("%s\n", text);
    free(text);
    return text ? 0 : 1;

usage:
    fprintf(stderr, "usage: cliploop render-file COMPOSITION.json OUT_DIR [--renderer ffmpeg|hyperframes]\n"
                    "  writes OUT_DIR/" CL_RENDER_VIDEO_NAME " and OUT_DIR/" CL_RENDER_THUMBNAIL_NAME
                    "; the renderer defaults to $RENDERER, else ffmpeg\n");
    return 2;
}
