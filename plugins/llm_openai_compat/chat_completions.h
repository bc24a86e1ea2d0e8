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

/** One provider's static description (static strings only). */
typedef struct cc_provider {
    const char *label;         /**< "mistral": the capability id, prefix of every error message */
    const char *prefix;        /**< "MISTRAL": the config prefix, names variables in messages */
    const char *default_model; /**< used when <PREFIX>_MODEL is unset; NULL = required */
    int key_required;          /**< 1: a missing <PREFIX>_API_KEY fails the call */
    const char *description;   /**< the capability's one-line description */
} cc_provider;

/**
 * One chat completion (the body of cl_llm_provider.complete; self is the
 * cc_provider). Reads <PREFIX>_BASE_URL, _API_KEY, _MODEL, _TIMEOUT_MS and
 * _MAX_RETRIES from the plugin's configuration (the host's snapshot, taken
 * at load). Appends the answer text to out; fills usage when given. Returns
 * CL_OK or a negative cl_status with err filled (never containing the key).
 */
int cc_complete(void *self, cl_call *call, const cl_llm_request *req, cl_output *out, cl_llm_usage *usage,
                cl_error *err);

/** Register p as an llm_provider with id p->label (called from the plugin's setup). */
int cc_register(const cc_provider *p, cl_error *err);

/**
 * A whole chat-completions plugin: the provider (config section = its
 * prefix, a string literal), the manifest, the entry point, and a setup that
 * registers the provider. The remaining cc_provider fields follow as
 * designated initializers. Each plugin's .c file is its documentation and
 * this one statement. (The prefix is a macro argument rather than read back
 * from the struct: a static initializer may not read another object's field
 * in ISO C, and Clang refuses it.)
 */
#define CC_PLUGIN(name_, version_, prefix_, ...)                                                             \
    static const cc_provider cc_provider_ = {.prefix = prefix_, __VA_ARGS__};                                \
    static int cc_setup_(cl_error *err)                                                                      \
    {                                                                                                        \
        return cc_register(&cc_provider_, err);                                                              \
    }                                                                                                        \
    CL_PLUGIN(name_, version_, prefix_, cc_setup_)

#endif
