/*
 * plugin_ctx.h — the host's side of the SDK's opaque cl_plugin_ctx, shared by
 * the loader (loader.c) and the services table (host_api.c). Not part of the
 * plugin ABI: plugins only ever see a pointer to it.
 */
#ifndef CL_PLUGINS_PLUGIN_CTX_H
#define CL_PLUGINS_PLUGIN_CTX_H

#include "cliploop_plugin.h"
#include <stdatomic.h>
#include <stddef.h>

/** One variable of the plugin's section, as it was when the plugin loaded. */
typedef struct cl_plugin_cfg_entry {
    char *key;         /**< the name without "<config_prefix>_" */
    char *value;       /**< its value at load time */
    atomic_int warned; /**< config_int/config_bool already warned about it */
} cl_plugin_cfg_entry;

/**
 * The plugin's configuration, snapshotted from the environment (which
 * includes .env) when the plugin loads: immutable afterwards, so reads take
 * no lock and every string lives as long as the process. A test that changes
 * the environment re-snapshots (cl_plugins_config_refresh_for_tests); the
 * older snapshot stays alive (older) until the plugins are reset.
 */
typedef struct cl_plugin_cfg {
    struct cl_plugin_cfg *older;
    size_t n;
    cl_plugin_cfg_entry v[];
} cl_plugin_cfg;

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

    /* host_api.c state */
    _Atomic(cl_plugin_cfg *) cfg; /**< the configuration snapshot (cl_host_api_ctx_snapshot) */
    char *temp_dir;               /**< created on demand, under host_api.c's mutex */
};

/**
 * register_capability behind the services table. Copies min(size, host size
 * for the kind) of *cap into zeroed host storage, checks it, and keeps it in
 * ctx. Allowed only while ctx's init runs. Returns CL_OK or a negative cl_status.
 */
int cl_plugins_register(cl_plugin_ctx *ctx, const cl_capability *cap, size_t size);

/**
 * Snapshot the environment variables "<config_prefix>_*" into ctx (the
 * loader calls it before init; tests after changing the environment).
 * Returns 0, or -1 when out of memory (the old snapshot then stays).
 */
int cl_host_api_ctx_snapshot(cl_plugin_ctx *ctx);

/** Free what host_api.c keeps in ctx (config snapshots, temp dir path). */
void cl_host_api_ctx_release(cl_plugin_ctx *ctx);

#endif
