/*
 * storage_cmd.c — `cliploop storage`: the configured storage backend
 * (STORAGE) from the command line, for operators (check a bucket, copy a
 * file in or out, sign a URL) and for the tests, which drive the real
 * plugin code path with it.
 *
 *   cliploop storage check                  the backend is loaded and configured
 *   cliploop storage put KEY FILE [MIME]    store FILE; prints {"key","storage","bytes","sha256"}
 *   cliploop storage get KEY FILE           copy the object into FILE
 *   cliploop storage read KEY OFFSET LENGTH the bytes of a range, to stdout
 *   cliploop storage stat KEY               prints {"key","bytes"}
 *   cliploop storage rm KEY                 remove (a missing key is fine)
 *   cliploop storage url KEY [TTL] [NAME]   a presigned GET URL (backends that have them)
 *   cliploop storage migrate [--from ID]    copy every asset held by another backend (default
 *                                           local) into STORAGE, check its SHA-256, and point
 *                                           its row at STORAGE; the old files stay (remove
 *                                           them once satisfied). Prints {"moved","failed"}.
 *
 * Exit: 0 ok, 1 the backend failed (the message names the cl_status), 2 usage
 * or configuration.
 */
#include "commands.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "net/http_client.h"
#include "plugins/call.h"
#include "plugins/registry.h"
#include "storage/storage.h"
#include "core/json_out.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP "storage"

static int usage(void)
{
    fprintf(stderr, "usage: cliploop storage check\n"
                    "       cliploop storage put KEY FILE [MIME]\n"
                    "       cliploop storage get KEY FILE\n"
                    "       cliploop storage read KEY OFFSET LENGTH\n"
                    "       cliploop storage stat KEY\n"
                    "       cliploop storage rm KEY\n"
                    "       cliploop storage url KEY [TTL_SECONDS] [DOWNLOAD_NAME]\n"
                    "       cliploop storage migrate [--from local]\n"
                    "The backend is STORAGE (local|s3); see docs/storage.md.\n");
    return 2;
}

static int failed(const char *what, int rc, const cl_error *e)
{
    cl_error(COMP, "%s: %s: %s", what, cl_plugins_status_name(rc), e->message);
    return rc == CL_EUNSUPPORTED ? 2 : 1;
}

/*
 * Move every asset row held by backend `from` into the configured backend:
 * a local copy through the old backend, a put into the new one (its SHA-256
 * must match the row's when the row has one), then the row moves — only if
 * it still names the old backend. One asset at a time; a failure is
 * reported and the others go on. The old files are left in place.
 */
static int migrate(const cl_storage *to, const char *from)
{
    char err[600];
    if (!cl_cfg.database_url[0]) {
        cl_error(COMP, "DATABASE_URL is not set");
        return 2;
    }
    if (strcmp(from, to->base.id) == 0) {
        cl_error(COMP, "--from %s is the configured backend already", from);
        return 2;
    }
    if (!cl_storage_find(from)) {
        cl_error(COMP, "storage backend '%s' is not loaded", from);
        return 2;
    }
    PGconn *c = cl_db_connect(cl_cfg.database_url, err, sizeof err);
    if (!c) {
        cl_error(COMP, "database: %s", err);
        return 1;
    }
    PGresult *r = cl_db_query(c, "SELECT id, path, mime, sha256 FROM content_assets WHERE storage = $1 ORDER BY id", 1,
                              (const char *[]){from});
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, err, sizeof err);
        cl_error(COMP, "reading assets: %s", err);
        PQclear(r);
        PQfinish(c);
        return 1;
    }
    int moved = 0, failed = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *id = PQgetvalue(r, i, 0), *key = PQgetvalue(r, i, 1), *mime = PQgetvalue(r, i, 2);
        char path[2048], sha[65], backend[64];
        int is_temp = 0, code = 0, ok = 0;
        int64_t bytes = 0;
        if (cl_storage_local_copy(from, key, path, sizeof path, &is_temp, err, sizeof err) != 0) {
            cl_error(COMP, "asset %s: %s", id, err);
        } else {
            if (cl_storage_put(key, path, mime, &bytes, sha, backend, &code, err, sizeof err) != 0) {
                cl_error(COMP, "asset %s: %s", id, err);
            } else if (!PQgetisnull(r, i, 3) && strcmp(sha, PQgetvalue(r, i, 3)) != 0) {
                cl_error(COMP, "asset %s: the file's SHA-256 %s differs from the recorded %s; not moved", id, sha,
                         PQgetvalue(r, i, 3));
            } else {
                char b[24];
                snprintf(b, sizeof b, "%" PRId64, bytes);
                PGresult *u = cl_db_query(c,
                                          "UPDATE content_assets SET storage = $2, sha256 = coalesce(sha256, $3),"
                                          " bytes = $4 WHERE id = $1 AND storage = $5",
                                          5, (const char *[]){id, backend, sha, b, from});
                ok = cl_db_ok(u) && atoi(PQcmdTuples(u)) == 1;
                if (!ok) {
                    cl_db_errmsg(c, u, err, sizeof err);
                    cl_error(COMP, "asset %s: the row was not moved: %s", id, cl_db_ok(u) ? "it changed meanwhile" : err);
                }
                PQclear(u);
            }
            if (is_temp)
                unlink(path);
        }
        moved += ok;
        failed += !ok;
    }
    PQclear(r);
    PQfinish(c);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "from", from);
    cJSON_AddStringToObject(o, "to", to->base.id);
    cJSON_AddNumberToObject(o, "moved", moved);
    cJSON_AddNumberToObject(o, "failed", failed);
    cl_json_print(o);
    return failed ? 1 : 0;
}

int cl_cmd_storage(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *op = argv[1], *key = argc > 2 ? argv[2] : NULL;
    if (cl_http_global_init() != 0) {
        cl_error(COMP, "the HTTP client could not start");
        return 1;
    }
    if (cl_plugins_load_dir(cl_cfg.plugin_dir) < 0) {
        cl_error(COMP, "cannot read plugin directory %s (CLIPLOOP_PLUGIN_DIR)", cl_cfg.plugin_dir);
        return 2;
    }
    const cl_storage *s = cl_storage_find(NULL);
    char missing[400] = "";
    if (!s) {
        cl_error(COMP, "STORAGE=%s: no loaded plugin provides this storage backend", cl_storage_id());
        return 2;
    }
    if (s->configured && !CL_CAP_CALL(s, NULL, configured, missing, sizeof missing)) {
        cl_error(COMP, "STORAGE=%s: the backend is not configured; set %s", cl_storage_id(), missing);
        return 2;
    }
    if (strcmp(op, "check") == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "storage", s->base.id);
        cJSON_AddBoolToObject(o, "configured", 1);
        return cl_json_print(o);
    }
    if (strcmp(op, "migrate") == 0) {
        if (argc == 2)
            return migrate(s, "local");
        if (argc == 4 && strcmp(argv[2], "--from") == 0)
            return migrate(s, argv[3]);
        return usage();
    }
    if (!key)
        return usage();
    if (!cl_storage_key_valid(key)) {
        cl_error(COMP, "invalid key %s: use a relative path of [A-Za-z0-9._-/] without . or .. segments", key);
        return 2;
    }
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    cl_error e;
    memset(&e, 0, sizeof e);
    int rc;
    if (strcmp(op, "put") == 0 && (argc == 4 || argc == 5)) {
        char err[600], sha[65], backend[64];
        int64_t bytes = 0;
        int code = 0;
        if (cl_storage_put(key, argv[3], argc == 5 ? argv[4] : NULL, &bytes, sha, backend, &code, err, sizeof err) != 0) {
            cl_error(COMP, "%s: %s", cl_plugins_status_name(code), err);
            return code == CL_EUNSUPPORTED ? 2 : 1;
        }
        cl_buf out = CL_BUF_INIT;
        cl_buf_puts(&out, "{\"key\":");
        cl_buf_json_str(&out, key);
        cl_buf_printf(&out, ",\"storage\":\"%s\",\"bytes\":%" PRId64 ",\"sha256\":\"%s\"}\n", backend, bytes, sha);
        fputs(out.data, stdout);
        cl_buf_free(&out);
        return 0;
    }
    if (strcmp(op, "get") == 0 && argc == 4) {
        rc = CL_CAP_CALL(s, &e, get_file, &call, key, argv[3], &e);
        return rc == CL_OK ? 0 : failed("get", rc, &e);
    }
    if (strcmp(op, "read") == 0 && argc == 5) {
        char *end1, *end2;
        long long off = strtoll(argv[3], &end1, 10), len = strtoll(argv[4], &end2, 10);
        if (*end1 || *end2 || off < 0 || len <= 0 || len > (64LL << 20))
            return usage();
        if (!s->read_range) {
            cl_error(COMP, "storage %s cannot read ranges", s->base.id);
            return 2;
        }
        cl_output out = {CL_BUF_INIT, 0};
        rc = CL_CAP_CALL(s, &e, read_range, &call, key, off, len, &out, &e);
        if (rc == CL_OK && out.buf.len)
            fwrite(out.buf.data, 1, out.buf.len, stdout);
        cl_buf_free(&out.buf);
        return rc == CL_OK ? 0 : failed("read", rc, &e);
    }
    if (strcmp(op, "stat") == 0 && argc == 3) {
        int64_t bytes = 0;
        if (!s->stat) {
            cl_error(COMP, "storage %s cannot stat", s->base.id);
            return 2;
        }
        rc = CL_CAP_CALL(s, &e, stat, &call, key, &bytes, &e);
        if (rc != CL_OK)
            return failed("stat", rc, &e);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key", key);
        cJSON_AddNumberToObject(o, "bytes", (double)bytes);
        return cl_json_print(o);
    }
    if (strcmp(op, "rm") == 0 && argc == 3) {
        rc = CL_CAP_CALL(s, &e, remove, &call, key, &e);
        return rc == CL_OK ? 0 : failed("rm", rc, &e);
    }
    if (strcmp(op, "url") == 0 && argc >= 3 && argc <= 5) {
        int ttl = argc > 3 ? atoi(argv[3]) : cl_cfg.storage_url_ttl_seconds;
        if (!s->presign_get) {
            cl_error(COMP, "storage %s has no presigned URLs", s->base.id);
            return 2;
        }
        cl_output out = {CL_BUF_INIT, 0};
        rc = CL_CAP_CALL(s, &e, presign_get, key, ttl, argc > 4 ? argv[4] : NULL, NULL, &out, &e);
        if (rc == CL_OK)
            printf("%s\n", out.buf.data ? out.buf.data : "");
        cl_buf_free(&out.buf);
        return rc == CL_OK ? 0 : failed("url", rc, &e);
    }
    return usage();
}
