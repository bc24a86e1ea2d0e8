/* Refusal: the manifest has no name. */
#include "fixture.h"
static const cl_plugin_manifest manifest = CL_MANIFEST_INIT(NULL, "1", NULL, fixture_init_ok);
CL_PLUGIN_DEFINE(manifest)
