/*
 * plugin_env.h — change a plugin's configuration in a unit test. Plugins see
 * their configuration as it was when they loaded (the host snapshots it), so
 * a test that changes a variable afterwards re-snapshots.
 */
#ifndef CL_TEST_PLUGIN_ENV_H
#define CL_TEST_PLUGIN_ENV_H

#include "plugins/registry.h"

#include <stdlib.h>

/** setenv(name, value) (unsetenv when value is NULL), then re-snapshot the loaded plugins. */
static inline void plugin_setenv(const char *name, const char *value)
{
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
    cl_plugins_config_refresh_for_tests();
}

#endif
