/* Refusal: exports no cliploop_plugin_entry (built with hidden visibility). */
#include "fixture.h"
static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("no_entry", "1", NULL, fixture_init_ok);
const cl_plugin_manifest *not_the_entry(void);
const cl_plugin_manifest *not_the_entry(void) { return &manifest; }
