/* Refusal: manifest_size smaller than the ABI 1.0 manifest. */
#include "fixture.h"
static const cl_plugin_manifest manifest = {CL_PLUGIN_MAGIC, CL_ABI_MAJOR, CL_ABI_MINOR, 8,
    CL_BUILD_FINGERPRINT, "small_manifest", "1", NULL, fixture_init_ok};
CL_PLUGIN_DEFINE(manifest)
