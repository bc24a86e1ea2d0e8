/*
 * plugin_ctx.h — the host's side of the SDK's opaque cl_plugin_ctx, shared by
 * the loader (loader.c) and the services table (host_api.c). Not part of the
 * plugin ABI: plugins only ever see a pointer to it.
 */
#ifndef CL_PLUGINS_PLUGIN_CTX_H
#define CL_PLUGINS_PLUGIN_CTX_H

#include "cliploop_plugin.h"
#include <stddef.h>

/** One config_get answer kept alive for the life of the process (see host_api.c). */
typedef struct cl_plugin_cfg_entry {
    struct cl_plugin_cfg_entry *next;
    char *key;   /**< the key as the plugin passed it */
    char *value; /**< strdup of the environment value at that time */
} cl_plugin_cfg_entry;

/**
 * One plugin file: loaded, or refused with a reason. Every string is owned by
 * this record (copied out of the plugin, so a refusal survives dlclose); the
 * record and everything in it is freed by cl_plugins_reset_for_tests only.
 */
struct cl_plugin_ctx {
    char *path;          /**< directory + "/" + file */
    char *file;          /**< file name within the directory */
    void *handle;        /**< dlopen handle; NULL once closed (refused before init) */
    char *name;          /**< manifest name, NULL if refused before it was read */
    char *version;       /**< manifest version, NULL likewise */
    char *config_prefix; /**< manifest config_prefix, may be NULL */
    int abi_major;       /**< from the manifest; -1 if not read */
    int abi_minor;       /**< from the manifest; -1 if not read */
    int loaded;          /**< 1 once init succeeded and every registration was accepted */
    int init_ran;        /**< init was called (the handle is then never closed in production) */
    char *reason;        /**< why refused; NULL when loaded */

    /** Host copies of the registered capabilities (calloc'd, owned here). */
    cl_capability **caps;
    size_t n_caps, cap_alloc;
    /** First registration failure during init; refuses the plugin even if init returns CL_OK. */
    char reg_error[512];
    /** Registrations tried after init returned (from a callback or a thread init
        did not wait for): refused, counted and the first one kept, under the
        loader's late_lock since they may come from any thread. */
    int late_count;
    char late_error[256];

    /* host_api.c state, guarded by its own mutex */
    cl_plugin_cfg_entry *cfg; /**< config_get answers */
    char *temp_dir;           /**< created on demand */
};

/**
 * register_capability behind the services table. Copies min(size, host size
 * for the kind) of *cap into zeroed host storage, checks it, and keeps it in
 * ctx. Allowed only while ctx's init runs. Returns CL_OK or a negative cl_status.
 */
int cl_plugins_register(cl_plugin_ctx *ctx, const cl_capability *cap, size_t size);

/** Free what host_api.c keeps in ctx (config answers, temp dir path). */
void cl_host_api_ctx_release(cl_plugin_ctx *ctx);

#endif
