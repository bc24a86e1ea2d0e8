/*
 * migrate.c — forward-only schema migrations.
 *
 * migrations/NNNN_name.sql files are applied in numeric order, each inside
 * its own transaction together with its row in schema_migrations, while the
 * session holds a Postgres advisory lock so two processes migrating at once
 * apply each file exactly once. A file whose content changed after it was
 * applied is an error: migrations are append-only history.
 */
#include "db/db.h"
#include "core/buf.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>

#define MIGRATION_LOCK_KEY "7340861020271125" /* arbitrary, constant */

typedef struct {
    char version[16]; /* "0001" */
    char file[256];
} migration;

static int is_sql(const struct dirent *e)
{
    size_t len = strlen(e->d_name);
    return len >= 10 && strcmp(e->d_name + len - 4, ".sql") == 0;
}

/* List NNNN_*.sql in dir, sorted. Caller frees *out. */
static int list_migrations(const char *dir, migration **out, int *count, char *err, size_t errlen)
{
    struct dirent **names;
    int n = scandir(dir, &names, is_sql, alphasort);
    if (n < 0) {
        snprintf(err, errlen, "cannot open migrations directory %s: %s", dir, strerror(errno));
        return -1;
    }
    migration *v = calloc((size_t)n + 1, sizeof *v);
    int rc = v ? 0 : -1;
    if (!v)
        snprintf(err, errlen, "out of memory");
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        int digits = 0;
        while (name[digits] >= '0' && name[digits] <= '9')
            digits++;
        if (rc == 0 && (digits != 4 || name[4] != '_' || strlen(name) >= sizeof v->file)) {
            snprintf(err, errlen, "migration file %s is not named NNNN_name.sql", name);
            rc = -1;
        }
        if (rc == 0) {
            memcpy(v[i].version, name, 4);
            v[i].version[4] = '\0';
            snprintf(v[i].file, sizeof v[i].file, "%s", name);
        }
        free(names[i]);
    }
    free(names);
    if (rc != 0) {
        free(v);
        return -1;
    }
    for (int i = 1; i < n; i++)
        if (strcmp(v[i].version, v[i - 1].version) == 0) {
            snprintf(err, errlen, "two migrations share version %s", v[i].version);
            free(v);
            return -1;
        }
    *out = v;
    *count = n;
    return 0;
}

static int read_file(const char *path, cl_buf *b, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (cl_buf_append(b, chunk, n)) {
            fclose(f);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    fclose(f);
    if (!b->data)
        cl_buf_append(b, "", 0);
    return 0;
}

static void sha256_hex(const char *data, size_t len, char hex[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)data, len, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
}

static const char *ensure_table_sql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version text PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

/* Is `version` applied? 1 yes, 0 no, -1 error; checks the checksum when applied. */
static int applied(PGconn *c, const migration *m, const char *checksum, char *err, size_t errlen)
{
    const char *p[] = {m->version};
    PGresult *r = cl_db_query(c, "SELECT checksum FROM schema_migrations WHERE version = $1", 1, p);
    if (cl_db_check(c, r, err, errlen) != 0)
        return -1;
    int rc = PQntuples(r) > 0;
    if (rc && checksum && strcmp(PQgetvalue(r, 0, 0), checksum) != 0) {
        snprintf(err, errlen, "migration %s changed after it was applied; add a new migration instead",
                 m->file);
        rc = -1;
    }
    PQclear(r);
    return rc;
}

static int table_exists(PGconn *c, char *err, size_t errlen)
{
    PGresult *r = cl_db_query(c, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL);
    if (cl_db_check(c, r, err, errlen) != 0)
        return -1;
    int yes = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return yes;
}

int cl_db_check_ready(const char *conninfo, const char *dir, char *err, size_t errlen)
{
    char why[1024];
    PGconn *c = cl_db_connect(conninfo, why, sizeof why);
    if (!c) {
        snprintf(err, errlen, "cannot connect to the database (DATABASE_URL): %s", why);
        return -1;
    }
    int pending = cl_db_pending_migrations(c, dir, why, sizeof why);
    PQfinish(c);
    if (pending < 0) {
        snprintf(err, errlen, "cannot check migrations: %s", why);
        return -1;
    }
    if (pending > 0) {
        snprintf(err, errlen,
                 "the database is not migrated: run `cliploop migrate` first (%d pending migration(s))", pending);
        return -1;
    }
    return 0;
}

int cl_db_pending_migrations(PGconn *c, const char *dir, char *err, size_t errlen)
{
    migration *v;
    int n;
    if (list_migrations(dir, &v, &n, err, errlen))
        return -1;
    int exists = table_exists(c, err, errlen);
    int pending = 0;
    for (int i = 0; i < n && exists >= 0; i++) {
        int a = exists ? applied(c, &v[i], NULL, err, errlen) : 0;
        if (a < 0) {
            pending = -1;
            break;
        }
        pending += !a;
    }
    free(v);
    return exists < 0 ? -1 : pending;
}

int cl_db_migrate(PGconn *c, const char *dir, int verbose, char *err, size_t errlen)
{
    migration *v;
    int n;
    if (list_migrations(dir, &v, &n, err, errlen))
        return -1;
    if (cl_db_exec(c, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", 0, NULL, err, errlen)) {
        free(v);
        return -1;
    }
    int rc = cl_db_exec(c, ensure_table_sql, 0, NULL, err, errlen);
    int applied_now = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        char path[2048], sum[65];
        cl_buf sql = CL_BUF_INIT;
        snprintf(path, sizeof path, "%s/%s", dir, v[i].file);
        if (read_file(path, &sql, err, errlen)) {
            rc = -1;
            break;
        }
        sha256_hex(sql.data, sql.len, sum);
        int a = applied(c, &v[i], sum, err, errlen);
        if (a != 0) {
            rc = a < 0 ? -1 : 0;
            cl_buf_free(&sql);
            continue;
        }
        /* The file and its bookkeeping row commit together or not at all.
           PQexec (simple protocol) allows several statements in one file. */
        if (cl_db_begin(c)) {
            cl_db_errmsg(c, NULL, err, errlen);
            rc = -1;
        } else {
            PGresult *r = PQexec(c, sql.data);
            if (!cl_db_ok(r)) {
                char msg[512];
                cl_db_errmsg(c, r, msg, sizeof msg);
                snprintf(err, errlen, "migration %s failed: %s", v[i].file, msg);
                rc = -1;
            }
            PQclear(r);
            const char *p[] = {v[i].version, v[i].file, sum};
            if (rc == 0 &&
                cl_db_exec(c, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                           3, p, err, errlen))
                rc = -1;
            if (rc == 0 && cl_db_commit(c)) {
                cl_db_errmsg(c, NULL, err, errlen);
                rc = -1;
            }
            if (rc != 0)
                cl_db_rollback(c);
            else {
                applied_now++;
                if (verbose)
                    cl_info("migrate", "applied %s", v[i].file);
            }
        }
        cl_buf_free(&sql);
    }
    char ignored[64];
    cl_db_exec(c, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", 0, NULL, ignored, sizeof ignored);
    if (rc == 0 && verbose)
        cl_info("migrate", "%d migration(s) applied, %d total", applied_now, n);
    free(v);
    return rc;
}
