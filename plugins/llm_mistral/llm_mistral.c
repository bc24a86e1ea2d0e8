/*
 * llm_mistral.c — an llm_provider (id "mistral") over Mistral's
 * chat-completions REST API. Configuration (section MISTRAL, read when the plugin
 * loads):
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

CC_PLUGIN("llm_mistral", "1.0.0", "MISTRAL", .label = "mistral", .default_model = "mistral-small-latest",
          .key_required = 1, .description = "Mistral chat completions (MISTRAL_API_KEY, MISTRAL_MODEL)")
