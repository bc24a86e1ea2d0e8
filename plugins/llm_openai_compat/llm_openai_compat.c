/*
 * llm_openai_compat.c — an llm_provider (id "openai_compat") for any server
 * that speaks the OpenAI-style chat-completions protocol: self-hosted
 * open-weight model servers, gateways, other vendors. Configuration (section
 * OPENAI_COMPAT, read when the plugin loads):
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

CC_PLUGIN("llm_openai_compat", "1.0.0", "OPENAI_COMPAT", .label = "openai_compat", .default_model = NULL,
          .key_required = 0, .description = "Any OpenAI-compatible chat-completions server")
