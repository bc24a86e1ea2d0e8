/*
 * registry.h — loading plugins and looking up their capabilities.
 */
#ifndef CL_PLUGINS_REGISTRY_H
#define CL_PLUGINS_REGISTRY_H

#include "cliploop_plugin.h"
#include <stddef.h>

/**
 * dlopen every *.so in dir (sorted by file name), check its manifest, run its
 * init. Refusals are logged (one line each, naming the reason) and kept for
 * cl_cmd_plugins. Returns the number of plugins loaded, or -1 if dir cannot
 * be read. Call once, on the main thread, before worker threads start.
 */
int cl_plugins_load_dir(const char *dir);

/**
 * The host's copy of a registered capability (zero-filled past the size the
 * plugin was built with), or NULL. Valid for the life of the process.
 */
const cl_capability *cl_plugins_find(int kind, const char *id);

/**
 * Check that configured selections (LLM_PROVIDER, ...) name loaded
 * capabilities. Returns 0, or -1 with a message naming the variable.
 */
int cl_plugins_check_selection(char *err, size_t errlen);

/**
 * The plugin start-up of serve and worker: load CLIPLOOP_PLUGIN_DIR (an
 * unreadable directory is a warning logged under comp) and check the
 * configured selections. 0, or -1 with the reason in err (a configuration
 * error).
 */
int cl_plugins_load_configured(const char *comp, char *err, size_t errlen);

/** The services table handed to plugins. */
const cl_host_api *cl_host_api_get(void);

/* ------------------------------------------------------------------------- */
/* Listing, diagnostics, tests                                               */
/* ------------------------------------------------------------------------- */

/**
 * One plugin file as the loader saw it: loaded, or refused with a reason.
 * Every pointer is borrowed from the registry and stays valid until
 * cl_plugins_reset_for_tests (in production: for the life of the process).
 */
typedef struct cl_plugin_info {
    const char *file;    /**< file name within the directory ("llm_mock.so") */
    const char *path;    /**< directory + "/" + file */
    const char *name;    /**< manifest name; NULL when refused before it was read */
    const char *version; /**< manifest version; NULL likewise */
    int abi_major;       /**< the ABI the plugin was built for; -1 if not read */
    int abi_minor;
    int loaded;          /**< 1 loaded, 0 refused */
    const char *reason;  /**< why it was refused; NULL when loaded */
    size_t n_caps;       /**< registered capabilities (0 when refused) */
    int late_count;      /**< registrations refused because they came after init */
    char late_error[256]; /**< the first of them, "" when none (a copy) */
} cl_plugin_info;

/** Number of plugin files seen by cl_plugins_load_dir (loaded and refused, in load order). */
size_t cl_plugins_count(void);

/** Fill *out for the i-th file (0-based). Returns 0, or -1 when i is out of range. */
int cl_plugins_info_at(size_t i, cl_plugin_info *out);

/** The j-th capability of the i-th file, or NULL. Borrowed, like cl_plugins_find's result. */
const cl_capability *cl_plugins_cap_at(size_t i, size_t j);

/** "llm_provider", "renderer", "publisher", "billing_provider", "ingester", or NULL. */
const char *cl_cap_kind_name(int kind);

/** "CL_OK", "CL_EINVAL", ... for a cl_status; "unknown status" otherwise. Static string. */
const char *cl_plugins_status_name(int status);

/**
 * Tests only: forget every plugin and free every record. Handles of
 * plugins whose init ran stay mapped (as in production, which never unloads
 * them); refused ones are closed. Pointers from
 * cl_plugins_find / cl_plugins_info_at become invalid.
 */
void cl_plugins_reset_for_tests(void);

/**
 * Re-read every loaded plugin's configuration from the environment. Plugins
 * see their configuration as it was at load time (config_get, config_int,
 * config_bool); a test that changes the environment afterwards calls this.
 * Not thread-safe: only while no capability call runs.
 */
void cl_plugins_config_refresh_for_tests(void);

/**
 * The size rule, exposed for tests: a calloc'd block of host_size bytes that
 * holds the first min(size, host_size) bytes of src, the rest zero. The caller
 * frees it. Returns NULL when out of memory.
 */
void *cl_plugins_copy_sized(const void *src, size_t size, size_t host_size);

#endif
