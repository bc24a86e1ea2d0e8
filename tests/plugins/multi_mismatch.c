/* Refusal naming two fields at once: another ABI major and a too-small manifest. */
#include "fixture.h"
static const cl_plugin_manifest manifest = {CL_PLUGIN_MAGIC, CL_ABI_MAJOR + 1, CL_ABI_MINOR, 8,
    CL_BUILD_FINGERPRINT, "multi_mismatch", "1", NULL, fixture_init_ok};
CL_PLUGIN_DEFINE(manifest)
