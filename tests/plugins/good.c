/* A good plugin with two capabilities:
 *   llm_provider "echo": appends "echo|<prompt>|<GOOD_GREETING>|<temp_dir>"
 *   renderer "noop" (serialized): reports progress 1/2 and 2/2, honours cancel,
 *     and checks that `self` comes back as registered.
 */
#include "fixture.h"

static const cl_host_api *api;
static cl_plugin_ctx *me;
static const char noop_self[] = "noop-self";

static int echo(void *self, cl_call *call, const cl_llm_request *req, cl_output *out,
                cl_llm_usage *usage, cl_error *err)
{
    (void)self; (void)call; (void)err;
    const char *greeting = api->config_get(me, "GREETING");
    const char *tmp = api->temp_dir(me);
    char line[2048];
    int n = snprintf(line, sizeof line, "echo|%s|%s|%s", req->prompt ? req->prompt : "",
                     greeting ? greeting : "(null)", tmp ? tmp : "(null)");
    if (usage)
        snprintf(usage->model, sizeof usage->model, "echo-1");
    return api->output_append(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static int noop_render(void *self, cl_call *call, const cl_render_request *req, cl_error *err)
{
    (void)req;
    if (self != noop_self) {
        snprintf(err->message, sizeof err->message, "self was not handed back");
        return err->code = CL_EINVAL;
    }
    api->progress(call, 1, 2);
    if (api->cancelled(call)) {
        snprintf(err->message, sizeof err->message, "cancelled");
        return err->code = CL_ECANCELLED;
    }
    api->progress(call, 2, 2);
    return CL_OK;
}

static int init(const cl_host_api *host, cl_plugin_ctx *ctx, cl_error *err)
{
    if (!CL_HOST_HAS(host, output_append)) {
        snprintf(err->message, sizeof err->message, "host too old");
        return CL_EUNSUPPORTED;
    }
    api = host;
    me = ctx;
    cl_llm_provider llm = {.base = {.kind = CL_CAP_LLM_PROVIDER, .id = "echo",
                                    .description = "Echoes the prompt"},
                           .complete = echo};
    cl_renderer r = {.base = {.kind = CL_CAP_RENDERER, .id = "noop", .description = "Renders nothing",
                              .flags = CL_CAP_SERIALIZED, .self = (void *)noop_self},
                     .render = noop_render};
    int rc = CL_REGISTER(api, ctx, &llm);
    if (rc == CL_OK)
        rc = CL_REGISTER(api, ctx, &r);
    return rc;
}

static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("good", "1.2.3", "GOOD", init);
CL_PLUGIN_DEFINE(manifest)
