/* A good plugin with two capabilities:
 *   llm_provider "echo": appends "echo|<prompt>|<GOOD_GREETING>|<temp_dir>";
 *     the prompt "fail-silently" returns CL_EUPSTREAM without filling err
 *   renderer "noop" (serialized): reports progress 1/2 and 2/2, honours cancel,
 *     and checks that `self` comes back as registered. With work_dir
 *     "overlap-probe" it stays inside the call for 20 ms and fails with
 *     CL_EIO if another call of it is running at the same time.
 */
#include "fixture.h"

#include <stdatomic.h>
#include <time.h>

static atomic_int inside;

static const cl_host_api *api;
static cl_plugin_ctx *me;
static const char noop_self[] = "noop-self";

static int echo(void *self, cl_call *call, const cl_llm_request *req, cl_output *out,
                cl_llm_usage *usage, cl_error *err)
{
    (void)self; (void)call; (void)err;
    if (req->prompt && strcmp(req->prompt, "fail-silently") == 0)
        return CL_EUPSTREAM; /* err left empty: the host's wrapper names the failure */
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
    if (self != noop_self)
        return cl_error_set(err, CL_EINVAL, "self was not handed back");
    if (req->work_dir && strcmp(req->work_dir, "overlap-probe") == 0) {
        int was = atomic_fetch_add(&inside, 1);
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
        atomic_fetch_sub(&inside, 1);
        return was ? cl_error_set(err, CL_EIO, "called concurrently") : CL_OK;
    }
    api->progress(call, 1, 2);
    if (api->cancelled(call))
        return cl_error_set(err, CL_ECANCELLED, "cancelled");
    api->progress(call, 2, 2);
    return CL_OK;
}

static int init(const cl_host_api *host, cl_plugin_ctx *ctx, cl_error *err)
{
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
