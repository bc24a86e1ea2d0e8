/* Refusal: built for a newer ABI minor than the host's. */
#include "fixture.h"
static const cl_plugin_manifest manifest = {CL_PLUGIN_MAGIC, CL_ABI_MAJOR, CL_ABI_MINOR + 1,
    (uint32_t)sizeof(cl_plugin_manifest), CL_BUILD_FINGERPRINT, "abi_minor_newer", "1", NULL,
    fixture_init_ok};
CL_PLUGIN_DEFINE(manifest)
