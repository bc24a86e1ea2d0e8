/* Refusal: a billing provider without verify_webhook. Registers a valid
   capability first, which must not stay either. init ignores the failed
   registration's return code on purpose: the host refuses anyway. */
#include "fixture.h"
static int checkout(void *s, cl_call *c, const char *r, cl_output *o, cl_error *e)
{
    (void)s; (void)c; (void)r; (void)o; (void)e;
    return CL_OK;
}
static int parse(void *s, const void *b, size_t n, cl_output *o, cl_error *e)
{
    (void)s; (void)b; (void)n; (void)o; (void)e;
    return CL_OK;
}
static int init(const cl_host_api *api, cl_plugin_ctx *ctx, cl_error *err)
{
    (void)err;
    cl_llm_provider ok = {.base = {.kind = CL_CAP_LLM_PROVIDER, .id = "nullcb_ok"},
                          .complete = fixture_complete};
    CL_REGISTER(api, ctx, &ok);
    cl_billing_provider b = {.base = {.kind = CL_CAP_BILLING_PROVIDER, .id = "nullbill"},
                             .create_checkout = checkout, .parse_webhook = parse};
    CL_REGISTER(api, ctx, &b);
    return CL_OK;
}
static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("null_callback", "1", NULL, init);
CL_PLUGIN_DEFINE(manifest)
