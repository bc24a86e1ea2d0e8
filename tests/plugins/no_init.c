/* Refusal: the manifest has no init function. */
#include "fixture.h"
static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("no_init", "1", NULL, NULL);
CL_PLUGIN_DEFINE(manifest)
