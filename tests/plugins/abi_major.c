/* Refusal: built for another ABI major. */
#include "fixture.h"
static const cl_plugin_manifest manifest = {CL_PLUGIN_MAGIC, CL_ABI_MAJOR + 1, CL_ABI_MINOR,
    (uint32_t)sizeof(cl_plugin_manifest), CL_BUILD_FINGERPRINT, "abi_major", "1", NULL, fixture_init_ok};
CL_PLUGIN_DEFINE(manifest)
