/*
 * jobs_cmd.c — `cliploop jobs`: the operator's view of the queue.
 *
 *   cliploop jobs enqueue KIND [PAYLOAD_JSON] [--key K] [--max-attempts N]
 *   cliploop jobs show ID
 *   cliploop jobs list [--status S] [--limit N]
 *
 * enqueue prints {"id":N,"created":true|false}; show prints the job and its
 * events as one JSON object; list prints one line per job, newest first.
 */
#include "commands.h"
#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "core/json_out.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG "jobs"

static void usage(FILE *f)
{
    fprintf(f, "usage: cliploop jobs enqueue KIND [PAYLOAD_JSON] [--key K] [--max-attempts N]\n"
               "       cliploop jobs show ID\n"
               "       cliploop jobs list [--status pending|running|completed|failed|dead] [--limit N]\n");
}

/* Parse a positive integer argument; 0 on success. */
static int parse_pos(const char *s, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 1 || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Connect after the arguments were checked: a usage error is exit 2 even without a database. */
static PGconn *open_db(int *rc)
{
    if (!cl_cfg.database_url[0]) {
        cl_error(LOG, "DATABASE_URL is not set");
        *rc = 2;
        return NULL;
    }
    char err[1024];
    PGconn *c = cl_db_connect(cl_cfg.database_url, err, sizeof err);
    if (!c) {
        cl_error(LOG, "cannot connect to the database: %s", err);
        *rc = 1;
    }
    return c;
}

static int cmd_enqueue(int argc, char **argv)
{
    const char *kind = NULL, *payload = NULL, *key = NULL;
    long max_attempts = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key = argv[++i];
        } else if (strcmp(argv[i], "--max-attempts") == 0 && i + 1 < argc) {
            if (parse_pos(argv[++i], 100, &max_attempts)) {
                fprintf(stderr, "jobs enqueue: --max-attempts must be a whole number 1..100\n");
                return 2;
            }
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "jobs enqueue: unknown or incomplete option '%s'\n", argv[i]);
            return 2;
        } else if (!kind) {
            kind = argv[i];
        } else if (!payload) {
            payload = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!kind || !*kind) {
        usage(stderr);
        return 2;
    }
    if (payload) {
        cJSON *p = cJSON_Parse(payload);
        if (!p) {
            fprintf(stderr, "jobs enqueue: PAYLOAD_JSON is not valid JSON\n");
            return 2;
        }
        cJSON_Delete(p);
    }
    int rc = 0;
    PGconn *c = open_db(&rc);
    if (!c)
        return rc;
    int64_t id;
    int created;
    char err[512];
    if (cl_job_enqueue(c, kind, payload, key, (int)max_attempts, &id, &created, err, sizeof err)) {
        cl_error(LOG, "cannot enqueue: %s", err);
        rc = 1;
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddBoolToObject(o, "created", created);
        rc = cl_json_print(o);
    }
    PQfinish(c);
    return rc;
}

static const char *show_sql =
    "SELECT json_build_object("
    " 'id', j.id, 'kind', j.kind, 'status', j.status,"
    " 'attempts', j.attempts, 'max_attempts', j.max_attempts,"
    " 'payload', j.payload, 'idempotency_key', j.idempotency_key,"
    " 'run_after', j.run_after, 'lease_until', j.lease_until, 'locked_by', j.locked_by,"
    " 'progress', json_build_object('done', j.progress_done, 'total', j.progress_total),"
    " 'last_error', j.last_error, 'result', j.result,"
    " 'created_at', j.created_at, 'updated_at', j.updated_at,"
    " 'started_at', j.started_at, 'finished_at', j.finished_at,"
    " 'events', (SELECT coalesce(json_agg(json_build_object("
    "     'attempt', e.attempt, 'event', e.event, 'worker', e.worker, 'detail', e.detail,"
    "     'run_after', e.run_after, 'at', e.at) ORDER BY e.id), '[]'::json)"
    "   FROM job_events e WHERE e.job_id = j.id))::text"
    " FROM jobs j WHERE j.id = $1";

static int cmd_show(int argc, char **argv)
{
    long id;
    if (argc != 2 || parse_pos(argv[1], 0x7fffffffffffffffL, &id)) {
        usage(stderr);
        return 2;
    }
    int rc = 0;
    PGconn *c = open_db(&rc);
    if (!c)
        return rc;
    const char *p[] = {argv[1]};
    PGresult *r = cl_db_query(c, show_sql, 1, p);
    if (!cl_db_ok(r)) {
        char err[512];
        cl_db_errmsg(c, r, err, sizeof err);
        cl_error(LOG, "cannot read job %ld: %s", id, err);
        rc = 1;
    } else if (PQntuples(r) == 0) {
        fprintf(stderr, "jobs show: no job %ld\n", id);
        rc = 1;
    } else {
        printf("%s\n", PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

static int cmd_list(int argc, char **argv)
{
    const char *status = NULL;
    long limit = 50;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--status") == 0 && i + 1 < argc) {
            status = argv[++i];
            static const char *valid[] = {"pending", "running", "completed", "failed", "dead"};
            int ok = 0;
            for (size_t k = 0; k < sizeof valid / sizeof *valid; k++)
                ok |= strcmp(status, valid[k]) == 0;
            if (!ok) {
                fprintf(stderr, "jobs list: unknown status '%s'\n", status);
                return 2;
            }
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            if (parse_pos(argv[++i], 100000, &limit)) {
                fprintf(stderr, "jobs list: --limit must be a whole number 1..100000\n");
                return 2;
            }
        } else {
            usage(stderr);
            return 2;
        }
    }
    char lim[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    int rc = 0;
    PGconn *c = open_db(&rc);
    if (!c)
        return rc;
    const char *p[] = {status, lim};
    PGresult *r = cl_db_query(c,
                              "SELECT id, status, kind, attempts || '/' || max_attempts,"
                              " to_char(updated_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                              " coalesce(last_error, '')"
                              " FROM jobs WHERE $1::text IS NULL OR status = $1"
                              " ORDER BY id DESC LIMIT $2::int",
                              2, p);
    if (!cl_db_ok(r)) {
        char err[512];
        cl_db_errmsg(c, r, err, sizeof err);
        cl_error(LOG, "cannot list jobs: %s", err);
        PQclear(r);
        PQfinish(c);
        return 1;
    }
    printf("%-8s %-10s %-24s %-9s %-20s %s\n", "ID", "STATUS", "KIND", "ATTEMPTS", "UPDATED", "LAST_ERROR");
    for (int i = 0; i < PQntuples(r); i++)
        printf("%-8s %-10s %-24s %-9s %-20s %.80s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
               PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5));
    PQclear(r);
    PQfinish(c);
    return 0;
}

int cl_cmd_jobs(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    int (*fn)(int, char **) = NULL;
    if (strcmp(argv[1], "enqueue") == 0)
        fn = cmd_enqueue;
    else if (strcmp(argv[1], "show") == 0)
        fn = cmd_show;
    else if (strcmp(argv[1], "list") == 0)
        fn = cmd_list;
    if (!fn) {
        fprintf(stderr, "jobs: unknown subcommand '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    return fn(argc - 1, argv + 1);
}
