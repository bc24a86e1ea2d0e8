/* Refusal: wrong magic. */
#include "fixture.h"
static const cl_plugin_manifest manifest = {0xdeadbeefu, CL_ABI_MAJOR, CL_ABI_MINOR,
    (uint32_t)sizeof(cl_plugin_manifest), CL_BUILD_FINGERPRINT, "bad_magic", "1", NULL, fixture_init_ok};
CL_PLUGIN_DEFINE(manifest)
