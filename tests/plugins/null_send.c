/* Refusal (ABI 1.4): a mailer without send. Only outbox is set. */
#include "fixture.h"
static int outbox(void *s, cl_call *c, int limit, cl_output *o, cl_error *e)
{
    (void)s; (void)c; (void)limit; (void)o; (void)e;
    return CL_OK;
}
static int init(const cl_host_api *api, cl_plugin_ctx *ctx, cl_error *err)
{
    (void)err;
    cl_mailer m = {.base = {.kind = CL_CAP_MAILER, .id = "nosend"}, .outbox = outbox};
    CL_REGISTER(api, ctx, &m);
    return CL_OK;
}
static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("null_send", "1", NULL, init);
CL_PLUGIN_DEFINE(manifest)
