/*
 * tts_cmd.c — `cliploop tts-file [--provider ID] [--language TAG] TEXT OUT`:
 * one voiceover synthesis exactly as the render job makes it (the same call
 * wrapper and contract check), for operators and tests. Prints the engine's
 * JSON (duration, timings, words) on stdout.
 *
 * Exit codes: 0 written, 1 the engine failed (status and message printed),
 * 2 bad usage or no such engine.
 */
#include "commands.h"
#include "core/config.h"
#include "net/http_client.h"
#include "plugins/registry.h"
#include "tts/tts.h"

#include <stdio.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: cliploop tts-file [--provider ID] [--language TAG] [--dir DIR] TEXT OUT\n");
    return 2;
}

int cl_cmd_tts_file(int argc, char **argv)
{
    const char *provider = NULL, *language = NULL, *dir = cl_cfg.plugin_dir, *pos[2] = {NULL, NULL};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--provider") == 0 && i + 1 < argc)
            provider = argv[++i];
        else if (strcmp(argv[i], "--language") == 0 && i + 1 < argc)
            language = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] == '-')
            return usage();
        else if (npos < 2)
            pos[npos++] = argv[i];
        else
            return usage();
    }
    if (npos != 2)
        return usage();
    if (cl_http_global_init() != 0 || cl_plugins_load_dir(dir) < 0) {
        fprintf(stderr, "tts-file: cannot read the plugin directory %s\n", dir);
        return 2;
    }
    const char *id = provider ? provider : cl_cfg.tts_provider;
    if (!cl_plugins_find(CL_CAP_TTS, id)) {
        fprintf(stderr, "tts-file: no loaded plugin in %s provides a tts engine named '%s'\n", dir, id);
        return 2;
    }
    cl_buf meta = CL_BUF_INIT;
    cl_error err = CL_ERROR_INIT;
    int rc = cl_tts_synthesize(id, pos[0], language, pos[1], NULL, &meta, &err);
    if (rc != CL_OK) {
        fprintf(stderr, "tts-file: %s failed with %s (%d): %s\n", id, cl_plugins_status_name(rc), rc, err.message);
        return 1;
    }
    printf("%s\n", meta.data);
    cl_buf_free(&meta);
    return 0;
}
