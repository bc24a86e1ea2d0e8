/*
 * llm_openai_compat.c — an llm_provider (id "openai_compat") for any server
 * that speaks the OpenAI-style chat-completions protocol: self-hosted
 * open-weight model servers, gateways, other vendors. Configuration (section
 * OPENAI_COMPAT, read on every call):
 *
 *   OPENAI_COMPAT_BASE_URL     required; the API root that ends before
 *                              /chat/completions (usually ".../v1")
 *   OPENAI_COMPAT_MODEL        required; the model name the server expects
 *   OPENAI_COMPAT_API_KEY      optional; sent as "Authorization: Bearer …"
 *   OPENAI_COMPAT_TIMEOUT_MS   per-attempt deadline, default 60000
 *   OPENAI_COMPAT_MAX_RETRIES  retries on 429/5xx, 0..5, default 2
 *
 * The capability is always registered, so LLM_PROVIDER=openai_compat is a
 * valid choice even before it is configured; calls then fail with
 * CL_EUNSUPPORTED naming the missing variable (never a silent fallback).
 */
#include "chat_completions.h"

#include <stdio.h>

static cc_provider provider = {
    .label = "openai_compat",
    .prefix = "OPENAI_COMPAT",
    .default_model = NULL,
    .key_required = 0,
};

static int oc_complete(void *self, cl_call *call, const cl_llm_request *req, cl_output *out,
                       cl_llm_usage *usage, cl_error *err)
{
    return cc_complete(self, call, req, out, usage, err);
}

static int oc_init(const cl_host_api *api, cl_plugin_ctx *ctx, cl_error *err)
{
    provider.api = api;
    provider.ctx = ctx;
    cl_llm_provider p = {
        .base = {.kind = CL_CAP_LLM_PROVIDER,
                 .id = "openai_compat",
                 .description = "Any OpenAI-compatible chat-completions server",
                 .self = &provider},
        .complete = oc_complete,
    };
    int rc = CL_REGISTER(api, ctx, &p);
    if (rc != CL_OK)
        snprintf(err->message, sizeof err->message, "registering llm_provider 'openai_compat' failed (%d)", rc);
    return rc;
}

static const cl_plugin_manifest manifest =
    CL_MANIFEST_INIT("llm_openai_compat", "1.0.0", "OPENAI_COMPAT", oc_init);
CL_PLUGIN_DEFINE(manifest)
