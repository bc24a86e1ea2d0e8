/*
 * generate.h — the one server-side orchestration of a paid promo generation,
 * shared by the create flow (POST /api/create/generate), chat and the weekly
 * loop:
 *
 *   1. the project must be the user's; its business context is loaded;
 *   2. the affordability gate runs before any work (402 explains the gap);
 *   3. generation credits are charged under "<ref>:copy" (idempotent);
 *   4. the brief becomes a promo draft with the configured LLM provider and
 *      the channel's Lua rules; if that fails, the charge is refunded by a
 *      compensating ledger entry;
 *   5. the draft is stored as a content item keyed by <ref>, so a retry finds
 *      it instead of paying again;
 *   6. with_render: a render is requested (one render credit, a durable job;
 *      a render that finally fails is refunded by the render job).
 *
 * Credits are charged up front and refunded on failure (not charged on
 * success): the ledger shows both movements, and nothing is lost.
 */
#ifndef CL_CREATE_GENERATE_H
#define CL_CREATE_GENERATE_H

#include "auth/auth.h"
#include "content/content.h"
#include "credits/credits.h"
#include "http/http.h"

#include <libpq-fe.h>
#include <stdint.h>

typedef struct cl_generate_params {
    int64_t project_id;
    const char *brief_json; /**< the (edited) brief object as JSON text */
    const char *channel;    /**< NULL: the brief's channel */
    const char *ref;        /**< idempotency reference, [A-Za-z0-9:_-]{8,100} */
    const char *source;     /**< content_items.source: "create", "chat", ... */
    int with_render;        /**< also render the video */
    cl_call *call;          /**< cancellation/progress for the LLM call; may be NULL */
} cl_generate_params;

typedef struct cl_generate_result {
    int64_t content_item_id;
    int replayed;             /**< 1: the item already existed for this ref */
    cl_receipt generation;    /**< the generation charge (replayed flag set on retries) */
    int rendered;             /**< a render was requested */
    cl_render_order render;   /**< when rendered */
} cl_generate_result;

/**
 * Run the pipeline above for user u. c is an idle connection of the caller
 * (not released). Returns 0 with *out filled, or -1 with the error reply set
 * on res (404 project, 402 insufficient_credits with needed/available,
 * 409 request_already_failed, 422/429/502/503/504 generation errors, 500).
 */
int cl_generate_promo(PGconn *c, const cl_user *u, const cl_generate_params *p, cl_generate_result *out,
                      cl_res *res);

/** The result as JSON: {content_item_id, replayed, receipts:[…], render:{…}|null} (caller deletes). */
cJSON *cl_generate_result_json(const cl_generate_result *r);

/** Reply to a failed LLM step: 429 (Retry-After), 504, 502, 503 or 422 with a clear code. */
void cl_generation_error_reply(cl_res *res, const cl_error *e);

/** Register POST /api/create/generate and GET /api/create/cost. */
void cl_generate_register_routes(void);

#endif
