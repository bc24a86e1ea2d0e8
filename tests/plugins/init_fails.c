/* Refusal: init registers a capability, then fails; the capability must not stay. */
#include "fixture.h"
static int init(const cl_host_api *api, cl_plugin_ctx *ctx, cl_error *err)
{
    cl_llm_provider p = {.base = {.kind = CL_CAP_LLM_PROVIDER, .id = "doomed"},
                         .complete = fixture_complete};
    CL_REGISTER(api, ctx, &p);
    snprintf(err->message, sizeof err->message, "fixture: backend unreachable");
    return CL_EUPSTREAM;
}
static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("init_fails", "1", NULL, init);
CL_PLUGIN_DEFINE(manifest)
