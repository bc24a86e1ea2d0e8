/*
 * iteration.h — the learning loop (docs/performance.md):
 *
 *   POST /api/strategy-cycles/:id/analyze        free, rate-limited per project
 *   POST /api/strategy-cycles/:id/generate-next  {request_id} generation 5, idempotent by request and by cycle
 *   GET  /api/content-items/:id/lineage          ancestors and descendants across weeks, with scores
 *
 * It continues the weekly loop (host/cycles): the next week's pack is made
 * by the cycles' pack generation (cl_cycles_generate_pack) and charged like
 * generate-posts (cl_cycles_limit_and_charge).
 */
#ifndef CL_ITERATION_ITERATION_H
#define CL_ITERATION_ITERATION_H

#include "http/http.h"

/** Register the routes above (serve). */
void cl_iteration_register_routes(void);

/** generate-next's body {request_id} (pure, no database; fuzzed): *request_id into body. 0 or -1 (e set). */
int cl_iteration_next_body(const cJSON *body, const char **request_id, cl_body_err *e);

#endif
