/*
 * generate.h — the one server-side orchestration of a paid promo generation,
 * shared by the create flow (POST /api/create/generate), chat and the weekly
 * loop:
 *
 *   0. one caller at a time per (user, ref): a Postgres advisory lock on
 *      the caller's connection, so a concurrent duplicate waits and then
 *      replays instead of calling the LLM a second time;
 *   1. the project must be the user's; its business context is loaded;
 *   2. every paid step is charged before any work, in ONE transaction:
 *      "<ref>:copy" and, with_render, "<ref>:render" — both debits or
 *      neither (402 explains the gap, nothing charged);
 *   3. the brief becomes a promo draft with the configured LLM provider and
 *      the channel's Lua rules; if that fails, both charges are refunded by
 *      compensating ledger entries (one transaction);
 *   4. the draft is stored as a content item keyed by <ref>, so a retry finds
 *      it instead of paying again;
 *   5. with_render: the render is requested under the prepaid "<ref>:render"
 *      (a durable job; a render that finally fails — or whose job dies — is
 *      refunded by the render job's failure or dead-letter path).
 *
 * Credits are charged up front and refunded on failure (not charged on
 * success): the ledger shows both movements, and nothing is lost. A retry of
 * the same ref converges: the full result, or every charge refunded (409
 * request_already_failed from then on).
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

/** What the ledger holds for one charge key. */
enum { CL_CHARGE_NONE = 0, CL_CHARGE_KEPT = 1, CL_CHARGE_REFUNDED = 2 };

/** 1 when s is a valid request id / reference: 8-100 characters of [A-Za-z0-9:_-]. */
int cl_generate_valid_ref(const char *s);

/** CL_CHARGE_NONE / _KEPT / _REFUNDED for user's charge_key, or -1 on a database error. */
int cl_generate_charge_state(PGconn *c, int64_t user_id, const char *charge_key);

/** The two charge keys of a ref: "<ref>:copy" and "<ref>:render" (buffers of len bytes). */
void cl_generate_keys(const char *ref, char *copy_key, char *render_key, size_t len);

/**
 * Dead-letter path for work that charged under ref and then stopped without
 * an outcome (its job died): refund "<ref>:copy" when no content item was
 * stored for ref, and "<ref>:render" when no render job was started under
 * it; one transaction, idempotent. 0 or -1.
 */
int cl_generate_refund_unfinished(PGconn *c, int64_t user_id, const char *ref);

/** Register POST /api/create/generate and GET /api/create/cost. */
void cl_generate_register_routes(void);

#endif
