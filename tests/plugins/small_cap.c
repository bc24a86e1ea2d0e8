/* Refusal: a renderer registered with only the header's size. */
#include "fixture.h"
static int render(void *s, cl_call *c, const cl_render_request *r, cl_error *e)
{
    (void)s; (void)c; (void)r; (void)e;
    return CL_OK;
}
static int init(const cl_host_api *api, cl_plugin_ctx *ctx, cl_error *err)
{
    (void)err;
    cl_renderer r = {.base = {.kind = CL_CAP_RENDERER, .id = "tiny"}, .render = render};
    return api->register_capability(ctx, &r.base, sizeof(cl_capability));
}
static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("small_cap", "1", NULL, init);
CL_PLUGIN_DEFINE(manifest)
