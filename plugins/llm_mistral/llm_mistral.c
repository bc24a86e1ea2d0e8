/*
 * llm_mistral.c — an llm_provider (id "mistral") over Mistral's
 * chat-completions REST API. Configuration (section MISTRAL, read on every
 * call):
 *
 *   MISTRAL_API_KEY      required to make calls; sent as a Bearer token,
 *                        never logged
 *   MISTRAL_BASE_URL     required; the API root that ends before
 *                        /chat/completions (".../v1", see docs/llm-providers.md)
 *   MISTRAL_MODEL        default mistral-small-latest
 *   MISTRAL_TIMEOUT_MS   per-attempt deadline, default 60000
 *   MISTRAL_MAX_RETRIES  retries on 429/5xx, 0..5, default 2
 *
 * The capability is always registered (selection is explicit through
 * LLM_PROVIDER); without a key every call fails with CL_EUNSUPPORTED naming
 * MISTRAL_API_KEY. The protocol, error mapping and retry policy live in
 * ../llm_openai_compat/chat_completions.c, shared with llm_openai_compat.
 */
#include "chat_completions.h"

#include <stdio.h>

static cc_provider provider = {
    .label = "mistral",
    .prefix = "MISTRAL",
    .default_model = "mistral-small-latest",
    .key_required = 1,
};

static int mistral_complete(void *self, cl_call *call, const cl_llm_request *req, cl_output *out,
                            cl_llm_usage *usage, cl_error *err)
{
    return cc_complete(self, call, req, out, usage, err);
}

static int mistral_init(const cl_host_api *api, cl_plugin_ctx *ctx, cl_error *err)
{
    provider.api = api;
    provider.ctx = ctx;
    cl_llm_provider p = {
        .base = {.kind = CL_CAP_LLM_PROVIDER,
                 .id = "mistral",
                 .description = "Mistral chat completions (MISTRAL_API_KEY, MISTRAL_MODEL)",
                 .self = &provider},
        .complete = mistral_complete,
    };
    int rc = CL_REGISTER(api, ctx, &p);
    if (rc != CL_OK)
        snprintf(err->message, sizeof err->message, "registering llm_provider 'mistral' failed (%d)", rc);
    return rc;
}

static const cl_plugin_manifest manifest =
    CL_MANIFEST_INIT("llm_mistral", "1.0.0", "MISTRAL", mistral_init);
CL_PLUGIN_DEFINE(manifest)
