/*
 * llm.h — the one way the host asks an LLM provider for an answer (beside
 * cl_render_composition for renderers): the create flow's model loop
 * (cl_llm_json), the chat job and `cliploop llm-complete` all go through it.
 */
#ifndef CL_PLUGINS_LLM_H
#define CL_PLUGINS_LLM_H

#include "cliploop_plugin.h"

#include <stddef.h>

/**
 * Complete req with the llm_provider provider_id (NULL or "": the one
 * LLM_PROVIDER selects), through the host's call wrapper (CL_CAP_CALL).
 * call may be NULL: then the call of the HTTP request this thread serves
 * (cl_call_current), else a private one without cancellation.
 *
 * On CL_OK *answer is the answer (malloc'd, NUL-terminated, never empty;
 * the caller frees it) and *len its length (len may be NULL). usage may be
 * NULL; else its size is set here and the provider fills it. On failure
 * *answer is NULL and err (caller-owned) is filled:
 *   CL_EUNSUPPORTED  no loaded llm_provider has that id (the message names
 *                    LLM_PROVIDER and the id)
 *   CL_EMALFORMED    the provider answered nothing
 *   anything else    the provider's own status and message
 */
int cl_llm_complete(cl_call *call, const char *provider_id, const cl_llm_request *req, char **answer,
                    size_t *len, cl_llm_usage *usage, cl_error *err);

#endif
