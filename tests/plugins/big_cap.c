/* Registers an llm_provider inside a larger struct, as a plugin built for a
 * future ABI minor with appended fields would: the host keeps only the part
 * it knows (base.size == sizeof(cl_llm_provider)) and still loads it. */
#include "fixture.h"

struct future_llm {
    cl_llm_provider p;
    void *appended_in_a_future_minor;
    char more[16];
};

static int init(const cl_host_api *api, cl_plugin_ctx *ctx, cl_error *err)
{
    (void)err;
    static int marker;
    struct future_llm f = {.p = {.base = {.kind = CL_CAP_LLM_PROVIDER, .id = "big"},
                                 .complete = fixture_complete},
                           .appended_in_a_future_minor = &marker};
    return api->register_capability(ctx, &f.p.base, sizeof f);
}

static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("big_cap", "1", NULL, init);
CL_PLUGIN_DEFINE(manifest)
