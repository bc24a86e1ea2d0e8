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
 *
 * Exit: 0 ok, 1 the backend failed (the message names the cl_status), 2 usage
 * or configuration.
 */
#include "commands.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "net/http_client.h"
#include "plugins/call.h"
#include "plugins/registry.h"
#include "storage/storage.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
                    "The backend is STORAGE (local|s3); see docs/storage.md.\n");
    return 2;
}

static int failed(const char *what, int rc, const cl_error *e)
{
    cl_error(COMP, "%s: %s: %s", what, cl_plugins_status_name(rc), e->message);
    return rc == CL_EUNSUPPORTED ? 2 : 1;
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
        printf("{\"storage\":\"%s\",\"configured\":true}\n", s->base.id);
        return 0;
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
        printf("{\"key\":\"%s\",\"bytes\":%" PRId64 "}\n", key, bytes);
        return 0;
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
