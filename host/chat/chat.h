/*
 * chat.h — the chat workspace: conversations per user and project, their
 * messages, and chat jobs (migrations/0006_chat.sql; docs/chat.md).
 *
 *   GET/POST          /api/chats                    list (?q= search, ?limit=) / create {project_id, title?}
 *   GET/PATCH/DELETE  /api/chats/:id                one conversation (PATCH {title})
 *   GET/POST          /api/chats/:id/messages       the thread / send {mode, content, request_id} (202)
 *   GET               /api/chat-jobs/:id            status, steps, card, receipts, error
 *   POST              /api/chat-jobs/:id/retry      run a failed chat job again (never charges twice)
 *
 * The assistant's work runs in the worker as the durable job "chat.reply"
 * (chat_job.c): free chat asks the LLM with the business context; the paid
 * modes infer the channel, write a brief and hand over to cl_generate_promo
 * (host/create/generate.h), the one paid generation pipeline.
 */
#ifndef CL_CHAT_CHAT_H
#define CL_CHAT_CHAT_H

#include "db/db.h"

/** The durable job kind that produces an assistant reply. */
#define CL_JOB_CHAT_REPLY "chat.reply"

/**
 * GET /api/chats' statement: $1 user id, $2 the trimmed search text ("" for
 * none), $3 its ILIKE pattern, $4 project id ("" for all), $5 limit.
 * Exposed for tests/bench/routes.
 */
extern const cl_db_stmt cl_chat_list_stmt;

/** Register the chat routes (serve). */
void cl_chat_register_routes(void);

/** Register the "chat.reply" job kind (worker). Returns 0 or -1. */
int cl_chat_register_jobs(void);

#endif
