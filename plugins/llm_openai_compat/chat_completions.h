/*
 * chat_completions.h — the chat-completions client shared by the llm_mistral
 * and llm_openai_compat plugins. Both speak the same REST protocol
 * (POST <base>/chat/completions, Bearer key, JSON in and out); they differ in
 * their configuration prefix, defaults and whether a key is required. The
 * source file is compiled into each plugin separately (plugins are loaded
 * RTLD_LOCAL with hidden visibility, so the copies never meet).
 */
#ifndef CL_PLUGIN_CHAT_COMPLETIONS_H
#define CL_PLUGIN_CHAT_COMPLETIONS_H

#include "cliploop_plugin.h"

/** Defaults when the plugin's config section does not say otherwise. */
#define CC_DEFAULT_TIMEOUT_MS 60000
#define CC_DEFAULT_MAX_RETRIES 2
#define CC_MAX_RETRIES_LIMIT 5
/** First backoff for 429/5xx without Retry-After; doubles, capped. */
#define CC_BACKOFF_BASE_MS 500
#define CC_BACKOFF_CAP_MS 8000
/** A Retry-After longer than this is not waited for: the call returns
    CL_ERATELIMIT with retry_after_ms so the job layer can reschedule. */
#define CC_RETRY_AFTER_CAP_MS 20000
/** Largest response body accepted from the upstream. */
#define CC_MAX_RESPONSE_BYTES ((size_t)8 << 20)

/**
 * One provider's static description. Every pointer is a static string or the
 * host's table / the plugin's ctx, valid for the life of the process.
 */
typedef struct cc_provider {
    const char *label;            /**< "mistral": prefix of every error message */
    const char *prefix;           /**< "MISTRAL": names variables in messages */
    const char *default_model;    /**< used when <PREFIX>_MODEL is unset; NULL = required */
    int key_required;             /**< 1: a missing <PREFIX>_API_KEY fails the call */
    const cl_host_api *api;
    cl_plugin_ctx *ctx;
} cc_provider;

/**
 * One chat completion (the body of cl_llm_provider.complete). Reads
 * <PREFIX>_BASE_URL, _API_KEY, _MODEL, _TIMEOUT_MS and _MAX_RETRIES through
 * api->config_get on every call, so a changed environment takes effect at
 * once. Appends the answer text to out; fills usage when given. Returns
 * CL_OK or a negative cl_status with err filled (never containing the key).
 */
int cc_complete(const cc_provider *p, cl_call *call, const cl_llm_request *req, cl_output *out,
                cl_llm_usage *usage, cl_error *err);

#endif
