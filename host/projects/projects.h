/*
 * projects.h — projects (the business profile every generation is grounded
 * in), onboarding, and website ingestion. See docs/projects.md and
 * docs/ingestion.md.
 *
 * Routes (all owner-only: another user's project answers 404):
 *   GET    /api/projects                      list + the plan's active-project limit
 *   POST   /api/projects                      create (422 per field; 403 project_limit_reached)
 *   GET    /api/projects/:id
 *   PATCH  /api/projects/:id                  partial update, onboarding step, archive/restore
 *   DELETE /api/projects/:id
 *   POST   /api/projects/:id/ingest           enqueue the "ingest.website" job (202)
 *   GET    /api/projects/:id/ingestion        latest run: progress and per-page outcomes
 *   GET    /api/projects/:id/documents        stored context documents (excerpts)
 *   GET    /api/projects/:id/documents/:doc   one document with its full text
 *   GET    /api/projects/:id/context?budget=N what cl_context_load gives generation
 *   GET    /api/onboarding                    where the guided onboarding resumes
 */
#ifndef CL_PROJECTS_PROJECTS_H
#define CL_PROJECTS_PROJECTS_H

#include "core/buf.h"
#include "db/db.h"
#include "http/http.h"
#include "jobs/jobs.h"

#include <stddef.h>
#include <stdint.h>

/** The job kind that crawls a project's website. */
#define CL_JOB_INGEST_WEBSITE "ingest.website"

/** GET /api/projects' statement ($1 owner id), exposed for tests/bench/routes. */
extern const cl_db_stmt cl_projects_list_stmt;

struct cl_res;
/**
 * The owner check of routes that take a project id: 1 when user_id owns
 * project_id; 0 with 404 not_found "No project <id>" set on res; -1 with
 * the 500 of cl_res_db_failed (logged under comp) when the lookup failed.
 */
int cl_project_owned(PGconn *c, struct cl_res *res, const char *comp, int64_t project_id, int64_t user_id);

/** Register the /api/projects and /api/onboarding routes (serve.c). */
void cl_projects_register_routes(void);

/**
 * POST /api/projects/:id/ingest's optional body {url?} (pure, no database;
 * fuzzed): *url the normalized address (caller frees) or NULL for the
 * profile's website. 0, or -1 with e set (every field at once).
 */
int cl_projects_ingest_body(const cJSON *body, char **url, cl_body_err *e);

/**
 * The "ingest.website" job handler (registered in worker.c's register_kinds):
 * payload {"project_id","run_id","url"}. Runs the "web" ingester capability,
 * then, in one transaction fenced on the job's attempt, replaces the run's
 * page outcomes and — when at least one page was ingested — the project's
 * website context documents. Returns 0, > 0 retryable, < 0 permanent (see
 * cl_job_handler); the message in err never contains page text.
 */
int cl_projects_ingest_job(const cl_job *job, cl_call *call, cl_buf *result_json, char *err,
                           size_t errlen);

#endif
