/* Refusal: depends on a shared library the dynamic linker cannot find. */
#include "fixture.h"
int cl_fixture_dep_value(void);
static int init(const cl_host_api *api, cl_plugin_ctx *ctx, cl_error *err)
{
    (void)api; (void)ctx; (void)err;
    return cl_fixture_dep_value() == 42 ? CL_OK : CL_EINVAL;
}
static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("missing_dep", "1", NULL, init);
CL_PLUGIN_DEFINE(manifest)
