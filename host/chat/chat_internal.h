/*
 * chat_internal.h — what the chat routes (chat_routes.c) and the chat.reply
 * job (chat_job.c) share: step bookkeeping, failure recording, bringing a
 * chat job up to date with its render, and the JSON of jobs and cards
 * (chat_store.c). Every function takes the caller's connection (pooled or
 * not; never released here) and uses parameterized SQL only.
 */
#ifndef CL_CHAT_INTERNAL_H
#define CL_CHAT_INTERNAL_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/** 1 when mode is "chat", "generate_copy" or "generate_video". */
int cl_chat_valid_mode(const char *mode);

/** Insert the pending steps of mode for chat job id. 0, or -1 with err. */
int cl_chat_steps_create(PGconn *c, int64_t id, const char *mode, char *err, size_t errlen);

/**
 * Set step `name` of chat job id to status (pending, running, done, failed,
 * skipped); detail NULL keeps the old detail. Stamps started/finished. 0 or -1.
 */
int cl_chat_step_set(PGconn *c, int64_t id, const char *name, const char *status, const char *detail);

/**
 * Record a failure the user sees: the chat job becomes failed with code and
 * message, step (may be NULL) failed, the assistant message failed with the
 * message as its text. Only a job that is not completed changes. 0 or -1.
 */
int cl_chat_job_fail(PGconn *c, int64_t id, const char *step, const char *code, const char *message);

/**
 * Bring chat job id up to date with what it waits on: a rendering job whose
 * content item finished rendering completes (card stored on the assistant
 * message) or fails (render refunded by the render job); a queued/running
 * job whose durable job ended without recording anything fails. Idempotent;
 * errors are logged and ignored (the next read tries again).
 */
void cl_chat_sync(PGconn *c, int64_t id);

/**
 * The promo card of content item item_id (owned by user_id), live: draft
 * fields, channel, status, render progress, video/thumbnail/download URLs.
 * NULL when the item is gone. Caller deletes.
 */
cJSON *cl_chat_card_json(PGconn *c, int64_t item_id, int64_t user_id);

/**
 * Chat job id of user_id as JSON (status, steps with progress, card,
 * receipts from the ledger, error, cost). NULL when not found, or on a
 * database error (*db_error set to 1). Caller deletes.
 */
cJSON *cl_chat_job_json(PGconn *c, int64_t id, int64_t user_id, int *db_error);

/** {generation, render}: what a message of this mode costs (policy.h). Caller deletes. */
cJSON *cl_chat_mode_cost_json(const char *mode);

/** The ledger reference of chat job id at ref_seq: "chat_job:<id>" or "chat_job:<id>:r<seq>". */
void cl_chat_ref(int64_t id, int ref_seq, char *out, size_t len);

#endif
