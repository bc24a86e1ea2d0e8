/*
 * hello_llm.c — the smallest useful ClipLoop plugin: an llm_provider with id
 * "hello". It needs nothing but sdk/cliploop_plugin.h and libc.
 *
 *   cc -std=c11 -Wall -Wextra -shared -fPIC -fvisibility=hidden -Wl,--no-undefined \
 *      -I path/to/sdk hello_llm.c -o hello_llm.so
 *   cliploop plugins --dir .
 *
 * Answers: plain text "<greeting>! You asked: <prompt>" or, when the host
 * asks for JSON, {"text":"<greeting>! Your prompt has N bytes."} (the greeting
 * must then be JSON-safe: no quote or backslash).
 * The greeting comes from HELLO_GREETING (config prefix "HELLO"), default "Hello".
 */
#include "cliploop_plugin.h"

#include <stdio.h>
#include <string.h>

static int hello_complete(void *self, cl_call *call, const cl_llm_request *req, cl_output *out,
                          cl_llm_usage *usage, cl_error *err)
{
    (void)self;
    /* Errors: cl_error_set fills err and returns the code, in one statement. */
    if (clp_cancelled(call))
        return cl_error_set(err, CL_ECANCELLED, "hello: cancelled");
    if (!req->prompt)
        return cl_error_set(err, CL_EINVAL, "hello: prompt is required");
    /* clp_config returns a host-owned string (or NULL); never free it. The
       host read HELLO_GREETING (environment or .env) when the plugin loaded. */
    const char *greeting = clp_config("GREETING");
    if (!greeting)
        greeting = "Hello";
    if (req->json_output && strpbrk(greeting, "\"\\"))
        return cl_error_set(err, CL_EINVAL, "hello: HELLO_GREETING must not contain quotes in JSON mode");

    char text[1024];
    int n;
    if (req->json_output)
        n = snprintf(text, sizeof text, "{\"text\":\"%s! Your prompt has %zu bytes.\"}", greeting,
                     strlen(req->prompt));
    else
        n = snprintf(text, sizeof text, "%s! You asked: %s", greeting, req->prompt);
    if (n < 0)
        return cl_error_set(err, CL_EINVAL, "hello: cannot format the answer");
    size_t len = (size_t)n < sizeof text ? (size_t)n : sizeof text - 1;

    /* Results go into the host's buffer; nothing allocated here crosses over. */
    int rc = clp_output_append(out, text, len);
    if (rc != CL_OK)
        return cl_error_set(err, rc, "hello: output refused");
    if (usage) { /* the host set usage->size; every field of this ABI is there */
        usage->prompt_tokens = (int)(strlen(req->prompt) / 4 + 1);
        usage->completion_tokens = (int)(len / 4 + 1);
        snprintf(usage->model, sizeof usage->model, "hello-1");
    }
    return CL_OK;
}

/* Runs once, on the host's main thread. Register capabilities here only. */
static int hello_setup(cl_error *err)
{
    cl_llm_provider provider = {
        .base = {.kind = CL_CAP_LLM_PROVIDER, .id = "hello", .description = "SDK example provider"},
        .complete = hello_complete,
    };
    /* The host copies the struct, so a stack variable is fine. */
    int rc = clp_register(&provider);
    if (rc != CL_OK) /* the host goes by this return value: non-zero refuses the plugin */
        return cl_error_set(err, rc, "could not register 'hello'");
    /* INFO shows by default; DEBUG only with CLIPLOOP_LOG_LEVEL=debug. */
    clp_log(CL_LOG_INFO, "registered llm_provider 'hello'");
    return CL_OK;
}

/* The manifest, the entry point and an init that keeps the host's services
   for the clp_* calls above. */
CL_PLUGIN("hello_llm", "0.1.0", "HELLO", hello_setup)
