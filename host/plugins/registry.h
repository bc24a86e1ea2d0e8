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

/** The services table handed to plugins. */
const cl_host_api *cl_host_api_get(void);

#endif
