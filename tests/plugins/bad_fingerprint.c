/* Refusal: build fingerprint of another platform. */
#include "fixture.h"
static const cl_plugin_manifest manifest = {CL_PLUGIN_MAGIC, CL_ABI_MAJOR, CL_ABI_MINOR,
    (uint32_t)sizeof(cl_plugin_manifest), "cl-abi1;ptr4;long4;1234", "bad_fingerprint", "1", NULL,
    fixture_init_ok};
CL_PLUGIN_DEFINE(manifest)
