/*
 * context.h — the business context loader: what generation and chat know
 * about a project. Other capabilities (chat, create, cycles) call it with
 * their own connection and put the result into their prompts.
 */
#ifndef CL_PROJECTS_CONTEXT_H
#define CL_PROJECTS_CONTEXT_H

#include "core/buf.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/** The smallest budget GET /api/projects/:id/context accepts. */
#define CL_CONTEXT_MIN_BUDGET 256

/**
 * Append to out (caller-owned; free with cl_buf_free) one JSON object:
 *
 *   {"project": {"id","name","project_type","business_name","category","city",
 *                "state","target_audience","primary_offer","price_range","tone",
 *                "cta","instagram_handle","whatsapp_number","website_url",
 *                "preferred_channels":[…],"language_style"},
 *    "documents": [{"url","title","description","headings":[…],"text",
 *                   "truncated":bool}, …],
 *    "documents_total": N, "documents_included": M, "truncated": bool}
 *
 * The structured profile always comes first and whole. Then the ingested
 * website documents, most relevant first — the start page, then pages whose
 * title, description, headings and text mention the profile's own words
 * (business name, category, offer, audience, city) most — are added while
 * they fit: the whole object stays within budget_bytes (measured as the JSON
 * text appended). The last document that does not fit whole is cut at a word
 * boundary and marked "truncated"; "truncated" at the top says whether
 * anything was left out. Only when the profile alone does not fit is the
 * budget exceeded: the output is then the profile with no documents.
 *
 * conn is the caller's connection (pooled or not; not released here).
 * Returns 0; 1 when the project does not exist (out untouched); -1 on a
 * database error or out of memory (err set, out may hold a partial prefix).
 */
int cl_context_load(PGconn *conn, int64_t project_id, size_t budget_bytes, cl_buf *out, char *err,
                    size_t errlen);

#endif
