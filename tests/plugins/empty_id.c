/* Refusal: a capability with an empty id. */
#include "fixture.h"
static int init(const cl_host_api *api, cl_plugin_ctx *ctx, cl_error *err)
{
    (void)err;
    cl_llm_provider p = {.base = {.kind = CL_CAP_LLM_PROVIDER, .id = ""}, .complete = fixture_complete};
    return CL_REGISTER(api, ctx, &p);
}
static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("empty_id", "1", NULL, init);
CL_PLUGIN_DEFINE(manifest)
