/*
 * plugins_cmd.c — `cliploop plugins [--dir DIR] [--json] [--strict]`: load
 * every plugin the way serve and worker do, then list what loaded (name,
 * version, ABI, file, capabilities, registrations refused after init) and
 * what was refused and why. With the host's own directory it also checks the
 * selections (LLM_PROVIDER, RENDERER, ...); an author's --dir is not checked
 * against them.
 *
 * Exit codes: 0 when the directory was read (refusals are listed, not
 * failures); with --strict (for plugin authors' CI) 1 when any file was
 * refused, a loaded plugin registered no capability, or one tried to register
 * after init; 2 for bad usage or an unreadable directory.
 */
#include "commands.h"
#include "core/config.h"
#include "core/log.h"
#include "plugins/registry.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: cliploop plugins [--dir DIR] [--json] [--strict]\n"
               "  --dir DIR  plugin directory (default CLIPLOOP_PLUGIN_DIR, then <exe dir>/plugins)\n"
               "  --json     machine-readable output\n"
               "  --strict   exit 1 on any refusal, a plugin with no capability or a late registration\n");
}

static void print_text(const char *dir, const char *selection_err)
{
    size_t n = cl_plugins_count(), n_loaded = 0;
    cl_plugin_info info;
    printf("plugin directory: %s\nhost ABI %d.%d, fingerprint %s\n\n", dir, CL_ABI_MAJOR,
           CL_ABI_MINOR, CL_BUILD_FINGERPRINT);
    for (size_t i = 0; i < n; i++) {
        cl_plugins_info_at(i, &info);
        if (!info.loaded)
            continue;
        n_loaded++;
        printf("%s %s  (ABI %d.%d, %s)\n", info.name, info.version, info.abi_major, info.abi_minor,
               info.file);
        for (size_t j = 0; j < info.n_caps; j++) {
            const cl_capability *c = cl_plugins_cap_at(i, j);
            printf("    %-16s %-16s %s%s\n", cl_cap_kind_name(c->kind), c->id, c->description,
                   (c->flags & CL_CAP_SERIALIZED) ? " [serialized]" : "");
        }
        if (!info.n_caps)
            printf("    warning: registered no capability (init returned CL_OK without CL_REGISTER)\n");
        if (info.late_count)
            printf("    warning: %d registration%s after init refused: %s\n", info.late_count,
                   info.late_count == 1 ? "" : "s", info.late_error);
    }
    if (!n_loaded)
        printf("no plugins loaded\n");
    size_t n_refused = n - n_loaded;
    if (n_refused) {
        printf("\nrefused (%zu):\n", n_refused);
        for (size_t i = 0; i < n; i++) {
            cl_plugins_info_at(i, &info);
            if (!info.loaded)
                printf("  %s: %s\n", info.file, info.reason ? info.reason : "(no reason)");
        }
    }
    if (selection_err)
        printf("\nwarning: %s\n", selection_err);
}

/* Returns 0, or -1 when out of memory. */
static int print_json(const char *dir, int check_selection, const char *selection_err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *host = cJSON_AddObjectToObject(root, "host");
    cJSON *loaded = cJSON_AddArrayToObject(root, "plugins");
    cJSON *refused = cJSON_AddArrayToObject(root, "refused");
    cJSON_AddStringToObject(root, "dir", dir);
    cJSON_AddNumberToObject(host, "abi_major", CL_ABI_MAJOR);
    cJSON_AddNumberToObject(host, "abi_minor", CL_ABI_MINOR);
    cJSON_AddStringToObject(host, "fingerprint", CL_BUILD_FINGERPRINT);
    if (check_selection) {
        cJSON *sel = cJSON_AddObjectToObject(root, "selection");
        cJSON_AddBoolToObject(sel, "ok", selection_err == NULL);
        if (selection_err)
            cJSON_AddStringToObject(sel, "error", selection_err);
    }

    cl_plugin_info info;
    for (size_t i = 0; cl_plugins_info_at(i, &info) == 0; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddItemToArray(info.loaded ? loaded : refused, p);
        cJSON_AddStringToObject(p, "file", info.file);
        if (info.name)
            cJSON_AddStringToObject(p, "name", info.name);
        else
            cJSON_AddNullToObject(p, "name");
        if (info.version)
            cJSON_AddStringToObject(p, "version", info.version);
        if (info.abi_major >= 0) {
            cJSON_AddNumberToObject(p, "abi_major", info.abi_major);
            cJSON_AddNumberToObject(p, "abi_minor", info.abi_minor);
        }
        if (!info.loaded) {
            cJSON_AddStringToObject(p, "reason", info.reason ? info.reason : "");
            continue;
        }
        cJSON *caps = cJSON_AddArrayToObject(p, "capabilities");
        for (size_t j = 0; j < info.n_caps; j++) {
            const cl_capability *c = cl_plugins_cap_at(i, j);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddItemToArray(caps, o);
            cJSON_AddStringToObject(o, "kind", cl_cap_kind_name(c->kind));
            cJSON_AddStringToObject(o, "id", c->id);
            cJSON_AddStringToObject(o, "description", c->description);
            cJSON_AddBoolToObject(o, "serialized", (c->flags & CL_CAP_SERIALIZED) != 0);
        }
        cJSON_AddNumberToObject(p, "late_registrations", info.late_count);
        if (info.late_count)
            cJSON_AddStringToObject(p, "late_error", info.late_error);
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s)
        return -1;
    puts(s);
    free(s);
    return 0;
}

int cl_cmd_plugins(int argc, char **argv)
{
    const char *dir = cl_cfg.plugin_dir;
    int json = 0, own_dir = 1, strict = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--strict") == 0) {
            strict = 1;
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
            own_dir = 0;
        } else if (strncmp(argv[i], "--dir=", 6) == 0) {
            dir = argv[i] + 6;
            own_dir = 0;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "cliploop plugins: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (cl_plugins_load_dir(dir) < 0) {
        fprintf(stderr, "cliploop plugins: cannot read plugin directory %s\n", dir);
        return 2;
    }
    /* A registration from a thread init started and did not wait for may come
       a moment after loading: give it that moment, so it is listed under its
       plugin rather than after the listing. */
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    char err[512];
    /* The host's selections (LLM_PROVIDER, RENDERER, ...) are about its own
       plugin directory; an author's --dir is not checked against them. */
    const char *selection_err = own_dir && cl_plugins_check_selection(err, sizeof err) ? err : NULL;
    int rc = 0;
    if (json)
        rc = print_json(dir, own_dir, selection_err);
    else
        print_text(dir, selection_err);
    fflush(stdout);
    if (rc != 0)
        return 1;
    cl_plugin_info info;
    int bad = 0;
    for (size_t i = 0; cl_plugins_info_at(i, &info) == 0; i++)
        bad += !info.loaded || !info.n_caps || info.late_count;
    if (strict && bad)
        fprintf(stderr, "cliploop plugins --strict: %d plugin file%s refused, empty or registering late\n", bad,
                bad == 1 ? "" : "s");
    return strict && bad ? 1 : 0;
}
