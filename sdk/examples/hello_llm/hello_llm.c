/*
 * hello_llm.c — the smallest useful ClipLoop plugin: an llm_provider with id
 * "hello". It needs nothing but sdk/cliploop_plugin.h and libc.
 *
 *   cc -std=c11 -Wall -Wextra -shared -fPIC -fvisibility=hidden \
 *      -I path/to/sdk hello_llm.c -o hello_llm.so
 *   cliploop plugins --dir .
 *
 * Answers: plain text "<greeting>! You asked: <prompt>" or, when the host
 * asks for JSON, {"text":"<greeting>! Your prompt has N bytes."}.
 * The greeting comes from HELLO_GREETING (config prefix "HELLO"), default "Hello".
 */
#include "cliploop_plugin.h"

#include <stdio.h>
#include <string.h>

/* The services table and our handle, both valid for the life of the process. */
static const cl_host_api *api;
static cl_plugin_ctx *me;

static int hello_complete(void *self, cl_call *call, const cl_llm_request *req, cl_output *out,
                          cl_llm_usage *usage, cl_error *err)
{
    (void)self;
    if (api->cancelled(call)) {
        err->code = CL_ECANCELLED;
        snprintf(err->message, sizeof err->message, "cancelled");
        return CL_ECANCELLED;
    }
    if (!req->prompt) {
        err->code = CL_EINVAL;
        snprintf(err->message, sizeof err->message, "hello: prompt is required");
        return CL_EINVAL;
    }
    /* config_get returns a host-owned string (or NULL); never free it. The
       greeting is only written into plain text, so it needs no JSON escaping. */
    const char *greeting = api->config_get(me, "GREETING");
    if (!greeting)
        greeting = "Hello";

    char text[1024];
    int n;
    if (req->json_output)
        n = snprintf(text, sizeof text, "{\"text\":\"Hello! Your prompt has %zu bytes.\"}",
                     strlen(req->prompt));
    else
        n = snprintf(text, sizeof text, "%s! You asked: %s", greeting, req->prompt);
    if (n < 0)
        return CL_EINVAL;
    size_t len = (size_t)n < sizeof text ? (size_t)n : sizeof text - 1;

    /* Results go into the host's buffer; nothing allocated here crosses over. */
    int rc = api->output_append(out, text, len);
    if (rc != CL_OK) {
        err->code = rc;
        snprintf(err->message, sizeof err->message, "hello: output refused");
        return rc;
    }
    if (usage) {
        usage->prompt_tokens = (int)(strlen(req->prompt) / 4 + 1);
        usage->completion_tokens = (int)(len / 4 + 1);
        snprintf(usage->model, sizeof usage->model, "hello-1");
    }
    return CL_OK;
}

/* Runs once, on the host's main thread. Register capabilities here only. */
static int hello_init(const cl_host_api *host, cl_plugin_ctx *ctx, cl_error *err)
{
    api = host;
    me = ctx;
    cl_llm_provider provider = {
        .base = {.kind = CL_CAP_LLM_PROVIDER, .id = "hello", .description = "SDK example provider"},
        .complete = hello_complete,
    };
    /* The host copies the struct, so a stack variable is fine. */
    int rc = CL_REGISTER(api, ctx, &provider);
    if (rc != CL_OK)
        snprintf(err->message, sizeof err->message, "could not register 'hello' (%d)", rc);
    api->log(ctx, CL_LOG_DEBUG, "registered llm_provider 'hello'");
    return rc;
}

static const cl_plugin_manifest manifest =
    CL_MANIFEST_INIT("hello_llm", "0.1.0", "HELLO", hello_init);
CL_PLUGIN_DEFINE(manifest)
