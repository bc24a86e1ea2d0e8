/* Keeps its ctx and tries to register another capability from inside a
 * capability call, after init returned: the host must say no. Its complete
 * appends "register=<rc>;config=<config_get(\"ANY\") or (null)>" — the
 * manifest has no config_prefix, so config_get always answers NULL. */
#include "fixture.h"

static const cl_host_api *api;
static cl_plugin_ctx *saved;

static int late(void *self, cl_call *call, const cl_llm_request *req, cl_output *out,
                cl_llm_usage *usage, cl_error *err)
{
    (void)self; (void)call; (void)req; (void)usage; (void)err;
    cl_llm_provider extra = {.base = {.kind = CL_CAP_LLM_PROVIDER, .id = "late_extra"},
                             .complete = late};
    int rc = CL_REGISTER(api, saved, &extra);
    const char *v = api->config_get(saved, "ANY");
    char line[128];
    int n = snprintf(line, sizeof line, "register=%d;config=%s", rc, v ? v : "(null)");
    return api->output_append(out, line, (size_t)n);
}

static int init(const cl_host_api *host, cl_plugin_ctx *ctx, cl_error *err)
{
    (void)err;
    api = host;
    saved = ctx;
    cl_llm_provider p = {.base = {.kind = CL_CAP_LLM_PROVIDER, .id = "late"}, .complete = late};
    return CL_REGISTER(api, ctx, &p);
}

static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("late_register", "1", NULL, init);
CL_PLUGIN_DEFINE(manifest)
