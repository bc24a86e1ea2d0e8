/* Built twice (dup_name_a.so, dup_name_b.so) with the same manifest name:
   the second file is refused. */
#include "fixture.h"
static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("dup_name", "1", NULL, fixture_init_ok);
CL_PLUGIN_DEFINE(manifest)
