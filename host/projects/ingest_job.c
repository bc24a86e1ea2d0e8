/*
 * ingest_job.c — the "ingest.website" job: run the "web" ingester for one
 * ingestion run and store what it found (see docs/ingestion.md).
 *
 * The crawl itself happens in the plugin (plugins/ingest_web), which reports
 * progress through the job's cl_call (pages fetched / total, visible in
 * jobs.progress_done / progress_total while it runs). The results are written
 * in one transaction that first re-checks, under a row lock, that this worker
 * still owns the attempt (a worker that lost its lease writes nothing): the
 * run's per-page outcomes are replaced, and when at least one page was
 * ingested the project's website documents are replaced too. A crawl that
 * ingested nothing keeps the previous documents.
 */
#include "projects/projects.h"

#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "media/media.h"
#include "plugins/call.h"
#include "plugins/registry.h"
#include "core/json_out.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG "ingest"
#define INGESTER_ID "web"
#define MAX_OUTPUT_BYTES (64u * 1024 * 1024)

static int run_failed(PGconn *c, const char *run_id, const char *msg)
{
    const char *p[] = {run_id, msg};
    char err[256];
    return cl_db_exec(c,
                      "UPDATE ingestion_runs SET status = 'failed', error = $2, finished_at = now()"
                      " WHERE id = $1 AND status IN ('queued', 'running')",
                      2, p, err, sizeof err);
}

static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int is_fetch(const char *status)
{
    return strncmp(status, "robots_", 7) != 0;
}

/* Write the outcome in one fenced transaction. Returns 0 written, 1 the
   attempt is no longer ours or the run is gone (nothing written), -1 error. */
static int store(PGconn *c, const cl_job *job, const char *project_id, const char *run_id,
                 const cJSON *pages, int *fetched, int *ok_docs, char *first_problem, size_t fplen,
                 char *err, size_t errlen)
{
    char jid[24], att[16];
    snprintf(jid, sizeof jid, "%" PRId64, job->id);
    snprintf(att, sizeof att, "%d", job->attempt);
    if (cl_db_begin(c) != 0) {
        cl_db_errmsg(c, NULL, err, errlen);
        return -1;
    }
    const char *fp[] = {jid, att};
    PGresult *r = cl_db_query(c, "SELECT 1 FROM jobs WHERE id = $1 AND attempts = $2 AND status = 'running' FOR UPDATE", 2, fp);
    int ours = cl_db_ok(r) && PQntuples(r) == 1;
    if (!cl_db_ok(r))
        goto fail;
    PQclear(r);
    const char *rp[] = {run_id};
    r = cl_db_query(c, "SELECT 1 FROM ingestion_runs WHERE id = $1 FOR UPDATE", 1, rp);
    if (!cl_db_ok(r))
        goto fail;
    if (!ours || PQntuples(r) == 0) {
        PQclear(r);
        cl_db_rollback(c);
        return 1;
    }
    PQclear(r);
    r = cl_db_query(c, "DELETE FROM ingestion_pages WHERE run_id = $1", 1, rp);
    if (!cl_db_ok(r))
        goto fail;
    PQclear(r);
    r = NULL;

    int n = cJSON_GetArraySize(pages), oks = 0, fetches = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *pg = cJSON_GetArrayItem(pages, i);
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(pg, "status")))
            continue;
        const char *status = str_of(pg, "status");
        int ok = strcmp(status, "ok") == 0 &&
                 (str_of(pg, "title")[0] || str_of(pg, "text")[0] || str_of(pg, "description")[0]);
        if (is_fetch(status))
            fetches++;
        if (ok)
            oks++;
        else if (!first_problem[0] && strcmp(status, "timeout") == 0)
            /* The user sees this; the transfer's details stay on the page row. */
            snprintf(first_problem, fplen, "%s: the site did not answer in time", str_of(pg, "url"));
        else if (!first_problem[0] && strcmp(status, "ok") != 0)
            snprintf(first_problem, fplen, "%s: %s%s%s", str_of(pg, "url"), status,
                     str_of(pg, "message")[0] ? " — " : "", str_of(pg, "message"));
        char pos[16], http[16], bytes[24];
        snprintf(pos, sizeof pos, "%d", i);
        const cJSON *hs = cJSON_GetObjectItemCaseSensitive(pg, "http_status");
        const cJSON *by = cJSON_GetObjectItemCaseSensitive(pg, "bytes");
        snprintf(http, sizeof http, "%d", cJSON_IsNumber(hs) ? hs->valueint : 0);
        snprintf(bytes, sizeof bytes, "%.0f", cJSON_IsNumber(by) ? by->valuedouble : 0.0);
        const char *ip[] = {run_id, pos, str_of(pg, "url"), str_of(pg, "final_url"), status,
                            strcmp(http, "0") ? http : NULL, str_of(pg, "content_type"), bytes,
                            str_of(pg, "title"), str_of(pg, "message")};
        r = cl_db_query(c,
                        "INSERT INTO ingestion_pages (run_id, position, url, final_url, outcome, http_status,"
                        " content_type, bytes, title, message)"
                        " VALUES ($1, $2, $3, nullif($4, ''), $5, $6, nullif($7, ''), $8, nullif($9, ''), nullif($10, ''))",
                        10, ip);
        if (!cl_db_ok(r))
            goto fail;
        PQclear(r);
        r = NULL;
    }
    if (oks > 0) {
        const char *pp[] = {project_id};
        r = cl_db_query(c, "DELETE FROM context_documents WHERE project_id = $1 AND source = 'website'", 1, pp);
        if (!cl_db_ok(r))
            goto fail;
        PQclear(r);
        r = NULL;
        for (int i = 0; i < n; i++) {
            const cJSON *pg = cJSON_GetArrayItem(pages, i);
            if (strcmp(str_of(pg, "status"), "ok") != 0 ||
                !(str_of(pg, "title")[0] || str_of(pg, "text")[0] || str_of(pg, "description")[0]))
                continue;
            const cJSON *hs = cJSON_GetObjectItemCaseSensitive(pg, "headings");
            char *htext = cJSON_IsArray(hs) ? cJSON_PrintUnformatted(hs) : NULL;
            char pos[16];
            snprintf(pos, sizeof pos, "%d", i);
            const char *url = str_of(pg, "final_url")[0] ? str_of(pg, "final_url") : str_of(pg, "url");
            const char *dp[] = {project_id, run_id, pos, url, str_of(pg, "title"), str_of(pg, "description"),
                                htext ? htext : "[]", str_of(pg, "text"), str_of(pg, "charset")};
            r = cl_db_query(c,
                            "INSERT INTO context_documents (project_id, run_id, source, position, url, title,"
                            " description, headings, body_text, charset)"
                            " VALUES ($1, $2, 'website', $3, $4, $5, $6, $7::jsonb, $8, nullif($9, ''))",
                            9, dp);
            free(htext);
            if (!cl_db_ok(r))
                goto fail;
            PQclear(r);
            r = NULL;
        }
    }
    char f[16], o[16];
    snprintf(f, sizeof f, "%d", fetches);
    snprintf(o, sizeof o, "%d", oks);
    char problem[700];
    snprintf(problem, sizeof problem, "No page could be ingested (%s)",
             first_problem[0] ? first_problem : "the site had no readable pages");
    const char *up[] = {run_id, f, o, oks > 0 ? NULL : problem};
    r = cl_db_query(c,
                    "UPDATE ingestion_runs SET status = CASE WHEN $3::int > 0 THEN 'completed' ELSE 'failed' END,"
                    " pages_fetched = $2, pages_ok = $3, documents = $3, error = $4, finished_at = now()"
                    " WHERE id = $1",
                    4, up);
    if (!cl_db_ok(r))
        goto fail;
    PQclear(r);
    if (cl_db_commit(c) != 0) {
        cl_db_errmsg(c, NULL, err, errlen);
        cl_db_rollback(c);
        return -1;
    }
    *fetched = fetches;
    *ok_docs = oks;
    return 0;
fail:
    cl_db_errmsg(c, r, err, errlen);
    PQclear(r);
    cl_db_rollback(c);
    return -1;
}

/* The job's result when there was nothing to do: {"run_id", "skipped": true}. */
static void skipped_result(cl_buf *result_json, const char *run_id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "run_id", strtod(run_id, NULL));
    cJSON_AddBoolToObject(o, "skipped", 1);
    cl_buf_put_json(result_json, o);
}

int cl_projects_ingest_job(const cl_job *job, cl_call *call, cl_buf *result_json, char *err,
                           size_t errlen)
{
    cJSON *payload = cJSON_Parse(job->payload);
    const cJSON *jp = cJSON_GetObjectItemCaseSensitive(payload, "project_id");
    const cJSON *jr = cJSON_GetObjectItemCaseSensitive(payload, "run_id");
    const cJSON *ju = cJSON_GetObjectItemCaseSensitive(payload, "url");
    if (!cJSON_IsNumber(jp) || !cJSON_IsNumber(jr) || !cJSON_IsString(ju)) {
        cJSON_Delete(payload);
        snprintf(err, errlen, "payload needs project_id, run_id and url");
        return -1;
    }
    char project_id[24], run_id[24];
    snprintf(project_id, sizeof project_id, "%.0f", jp->valuedouble);
    snprintf(run_id, sizeof run_id, "%.0f", jr->valuedouble);
    char *url = strdup(ju->valuestring);
    cJSON_Delete(payload);
    if (!url) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }

    int rc = 0;
    char dberr[512];
    cl_output out = {.buf = CL_BUF_INIT, .limit = MAX_OUTPUT_BYTES};
    cJSON *pages = NULL;
    PGconn *c = cl_db_connect(cl_cfg.database_url, dberr, sizeof dberr);
    if (!c) {
        snprintf(err, errlen, "cannot connect to the database: %s", dberr);
        free(url);
        return 1;
    }
    const char *mp[] = {run_id, project_id};
    PGresult *r =
        cl_db_run(c,
                  "UPDATE ingestion_runs SET status = 'running', error = NULL,"
                  " started_at = coalesce(started_at, now())"
                  " WHERE id = $1 AND project_id = $2 AND status IN ('queued', 'running') RETURNING id",
                  2, mp, dberr, sizeof dberr);
    if (!r) {
        snprintf(err, errlen, "cannot start the run: %s", dberr);
        rc = 1;
        goto out;
    }
    if (PQntuples(r) == 0) {
        /* The project (and its run) was deleted, or the run already ended. */
        skipped_result(result_json, run_id);
        goto out;
    }

    const cl_capability *cap = cl_plugins_find(CL_CAP_INGESTER, INGESTER_ID);
    if (!cap) {
        snprintf(err, errlen, "no ingester '%s' is loaded (is ingest_web.so in CLIPLOOP_PLUGIN_DIR?)", INGESTER_ID);
        run_failed(c, run_id, "Website ingestion is not available on this server");
        rc = -1;
        goto out;
    }
    const cl_ingester *ing = (const cl_ingester *)cap;
    cl_ingest_request req = {.size = sizeof req, .url = url};
    cl_error e;
    int irc = CL_CAP_CALL(ing, &e, ingest, call, &req, &out, &e);
    if (irc != CL_OK) {
        snprintf(err, errlen, "ingester failed (%s): %s", cl_plugins_status_name(irc), e.message);
        int permanent = irc == CL_EINVAL || irc == CL_EUNSUPPORTED;
        if (permanent || (irc != CL_ECANCELLED && job->attempt >= job->max_attempts))
            run_failed(c, run_id, e.message[0] ? e.message : "the crawl failed");
        rc = permanent ? -1 : 1;
        goto out;
    }
    pages = cJSON_ParseWithLength(out.buf.data ? out.buf.data : "", out.buf.len);
    if (!cJSON_IsArray(pages)) {
        snprintf(err, errlen, "the ingester's output is not a JSON array");
        run_failed(c, run_id, "The crawler returned an unreadable result");
        rc = -1;
        goto out;
    }
    int fetched = 0, docs = 0;
    char problem[600] = "";
    int s = store(c, job, project_id, run_id, pages, &fetched, &docs, problem, sizeof problem, dberr, sizeof dberr);
    if (s < 0) {
        snprintf(err, errlen, "cannot store the ingestion: %s", dberr);
        rc = 1;
    } else if (s == 1) {
        skipped_result(result_json, run_id);
    } else if (docs == 0) {
        snprintf(err, errlen, "no page could be ingested (%d fetched)", fetched);
        rc = -1;
    } else {
        /* the site's images and colours for the media library (docs/media.md); a failure there is logged */
        int images = 0;
        if (cl_media_collect_website(c, (int64_t)strtoll(project_id, NULL, 10), pages, &images, dberr,
                                     sizeof dberr) != 0)
            cl_warn(LOG, "project %s: website images not collected: %s", project_id, dberr);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "run_id", strtod(run_id, NULL));
        cJSON_AddNumberToObject(o, "pages_fetched", fetched);
        cJSON_AddNumberToObject(o, "documents", docs);
        cJSON_AddNumberToObject(o, "images", images);
        cl_buf_put_json(result_json, o);
        cl_info(LOG, "project %s run %s: %d page(s) fetched, %d document(s) stored", project_id, run_id, fetched, docs);
    }
out:
    PQclear(r);
    cJSON_Delete(pages);
    cl_buf_free(&out.buf);
    PQfinish(c);
    free(url);
    return rc;
}
