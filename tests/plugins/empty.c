/* Loads (a valid manifest, init returns CL_OK) but registers no capability:
 * `cliploop plugins` warns and --strict fails. */
#include "fixture.h"

static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("empty", "1", NULL, fixture_init_ok);
CL_PLUGIN_DEFINE(manifest)
