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
#include "http/http.h"

/** The durable job kind that produces an assistant reply. */
#define CL_JOB_CHAT_REPLY "chat.reply"

/**
 * GET /api/chats' statements. Without a search or a project (what the chat
 * page asks for): $1 user id, $2 limit. With either: $1 user id, $2 the
 * trimmed search text ("" for none), $3 its ILIKE pattern, $4 project id
 * ("" for all), $5 limit. Exposed for tests/bench/routes.
 */
extern const cl_db_stmt cl_chat_list_stmt, cl_chat_search_stmt;

/* ---- request bodies: pure, no database (fuzzed) ------------------------- */

/** POST /api/chats {project_id, title?}: *title trimmed (caller frees; NULL when absent). 0 or -1 (e set). */
int cl_chat_create_body(const cJSON *body, int64_t *project_id, char **title, cl_body_err *e);
/** PATCH /api/chats/:id {title}: *title trimmed, 1-120 characters (caller frees). 0 or -1 (e set). */
int cl_chat_rename_body(const cJSON *body, char **title, cl_body_err *e);
/** POST /api/chats/:id/messages {mode?, content, request_id}. */
typedef struct {
    const char *mode;       /**< static or into the body; "chat" when absent */
    const char *request_id; /**< into the body */
    char *content;          /**< trimmed copy, caller frees (also on error) */
} cl_chat_message_in;
int cl_chat_message_body(const cJSON *body, cl_chat_message_in *out, cl_body_err *e);

/** Register the chat routes (serve). */
void cl_chat_register_routes(void);

/** Register the "chat.reply" job kind (worker). Returns 0 or -1. */
int cl_chat_register_jobs(void);

#endif
