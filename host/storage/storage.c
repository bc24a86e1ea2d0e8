/*
 * storage.c — reading and writing stored files through the configured
 * storage capability (storage.h).
 */
#include "storage/storage.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "plugins/call.h"
#include "plugins/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMP "storage"

const char *cl_storage_id(void) { return cl_cfg.storage[0] ? cl_cfg.storage : "local"; }

const cl_storage *cl_storage_find(const char *id)
{
    return (const cl_storage *)cl_plugins_find(CL_CAP_STORAGE, id && id[0] ? id : cl_storage_id());
}

/* The backend or NULL with err naming what is missing. */
static const cl_storage *backend(const char *id, char *err, size_t errlen)
{
    const cl_storage *s = cl_storage_find(id);
    if (!s)
        snprintf(err, errlen, "storage backend '%s' is not loaded (STORAGE=%s)", id && id[0] ? id : cl_storage_id(),
                 cl_storage_id());
    return s;
}

int cl_storage_file_digest(const char *path, int64_t *bytes, char sha256_hex[65], char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    int64_t total = 0;
    static __thread unsigned char buf[1 << 16];
    while (ok) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            ok = 0;
            break;
        }
        if (n == 0)
            break;
        ok = EVP_DigestUpdate(md, buf, (size_t)n) == 1;
        total += n;
    }
    unsigned char d[32];
    unsigned int dl = 0;
    if (ok && EVP_DigestFinal_ex(md, d, &dl) == 1 && dl == 32) {
        static const char hex[] = "0123456789abcdef";
        if (sha256_hex) {
            for (int i = 0; i < 32; i++)
                sha256_hex[2 * i] = hex[d[i] >> 4], sha256_hex[2 * i + 1] = hex[d[i] & 15];
            sha256_hex[64] = '\0';
        }
        if (bytes)
            *bytes = total;
    } else if (ok) {
        snprintf(err, errlen, "SHA-256 of %s failed", path);
        ok = 0;
    }
    EVP_MD_CTX_free(md);
    close(fd);
    return ok ? 0 : -1;
}

int cl_storage_put(const char *key, const char *path, const char *mime, int64_t *bytes, char sha256_hex[65],
                   char *backend_id, int *code, char *err, size_t errlen)
{
    if (code)
        *code = CL_EINVAL;
    const cl_storage *s = backend(NULL, err, errlen);
    if (!s)
        return -1;
    if (!cl_storage_key_valid(key)) {
        snprintf(err, errlen, "invalid storage key");
        return -1;
    }
    if ((bytes || sha256_hex) && cl_storage_file_digest(path, bytes, sha256_hex, err, errlen) != 0) {
        if (code)
            *code = CL_EIO;
        return -1;
    }
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    cl_error e;
    memset(&e, 0, sizeof e);
    int rc = CL_CAP_CALL(s, &e, put_file, &call, key, path, mime, &e);
    if (code)
        *code = rc;
    if (rc != CL_OK) {
        snprintf(err, errlen, "storing %s in %s storage failed: %s", key, s->base.id,
                 e.message[0] ? e.message : cl_plugins_status_name(rc));
        return -1;
    }
    if (backend_id)
        snprintf(backend_id, 64, "%s", s->base.id);
    return 0;
}

int cl_storage_temp(const char *area, const char *prefix, int dir, char *path, size_t len)
{
    char d[1100];
    snprintf(d, sizeof d, "%s/tmp", cl_cfg.storage_dir);
    mkdir(cl_cfg.storage_dir, 0755);
    mkdir(d, 0700);
    if (snprintf(d, sizeof d, "%s/tmp/%s", cl_cfg.storage_dir, area) >= (int)sizeof d ||
        (mkdir(d, 0700) != 0 && errno != EEXIST))
        return -1;
    if (snprintf(path, len, "%s/%sXXXXXX", d, prefix) >= (int)len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (dir)
        return mkdtemp(path) ? 0 : -1;
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

int cl_storage_local_copy(const char *backend_id, const char *key, char *path, size_t pathlen, int *is_temp,
                          char *err, size_t errlen)
{
    *is_temp = 0;
    const cl_storage *s = backend(backend_id, err, errlen);
    if (!s)
        return -1;
    cl_error e;
    memset(&e, 0, sizeof e);
    if (s->local_path) {
        cl_output out = {CL_BUF_INIT, 0};
        int rc = CL_CAP_CALL(s, &e, local_path, key, &out, &e);
        if (rc == CL_OK && out.buf.len < pathlen) {
            memcpy(path, out.buf.data, out.buf.len + 1);
            cl_buf_free(&out.buf);
            return 0;
        }
        cl_buf_free(&out.buf);
        if (rc != CL_EUNSUPPORTED) {
            snprintf(err, errlen, "%s", rc == CL_OK ? "local path too long" : e.message);
            return -1;
        }
        memset(&e, 0, sizeof e);
    }
    if (cl_storage_temp("storage", "get-", 0, path, pathlen) != 0) {
        snprintf(err, errlen, "cannot create a temporary file under %s/tmp/storage: %s", cl_cfg.storage_dir,
                 strerror(errno));
        return -1;
    }
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    int rc = CL_CAP_CALL(s, &e, get_file, &call, key, path, &e);
    if (rc != CL_OK) {
        unlink(path);
        snprintf(err, errlen, "reading %s from %s storage failed: %s", key, s->base.id,
                 e.message[0] ? e.message : cl_plugins_status_name(rc));
        return -1;
    }
    *is_temp = 1;
    return 0;
}

int cl_storage_remove(const char *backend_id, const char *key, char *err, size_t errlen)
{
    const cl_storage *s = backend(backend_id, err, errlen);
    if (!s)
        return -1;
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    cl_error e;
    memset(&e, 0, sizeof e);
    int rc = CL_CAP_CALL(s, &e, remove, &call, key, &e);
    if (rc != CL_OK) {
        snprintf(err, errlen, "removing %s from %s storage failed: %s", key, s->base.id,
                 e.message[0] ? e.message : cl_plugins_status_name(rc));
        return -1;
    }
    return 0;
}

int cl_storage_public_url(const char *backend_id, const char *key, int ttl_seconds, const char *mime, char *url,
                          size_t urllen, char *err, size_t errlen)
{
    const cl_storage *s = backend(backend_id, err, errlen);
    if (!s)
        return -1;
    if (!s->presign_get)
        return 0;
    cl_output out = {CL_BUF_INIT, 0};
    cl_error e;
    memset(&e, 0, sizeof e);
    int rc = CL_CAP_CALL(s, &e, presign_get, key, ttl_seconds, NULL, mime, &out, &e);
    int answer = 1;
    if (rc == CL_EUNSUPPORTED) {
        answer = 0;
    } else if (rc != CL_OK || !out.buf.data || out.buf.len >= urllen) {
        snprintf(err, errlen, "signing a URL for %s failed: %s", key,
                 rc != CL_OK ? e.message : "the URL does not fit");
        answer = -1;
    } else {
        memcpy(url, out.buf.data, out.buf.len + 1);
    }
    cl_buf_free(&out.buf);
    return answer;
}

void cl_storage_reply(cl_res *res, const char *backend_id, const char *key, const char *mime,
                      const char *download_name)
{
    char err[512];
    const cl_storage *s = backend(backend_id, err, sizeof err);
    if (!s) {
        cl_error(COMP, "%s", err);
        cl_res_error(res, 503, "storage_unavailable", "This file's storage is not available on this server");
        return;
    }
    cl_output out = {CL_BUF_INIT, 0};
    cl_error e;
    memset(&e, 0, sizeof e);
    int rc = s->local_path ? CL_CAP_CALL(s, &e, local_path, key, &out, &e) : CL_EUNSUPPORTED;
    if (rc == CL_OK) {
        if (download_name) {
            char disp[300];
            snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", download_name);
            cl_res_header(res, "content-disposition", disp);
        }
        if (cl_res_file(res, out.buf.data, mime) != 0)
            cl_res_error(res, 500, "internal", "out of memory");
    } else if (rc == CL_EUNSUPPORTED && s->presign_get) {
        cl_buf_free(&out.buf);
        memset(&e, 0, sizeof e);
        rc = CL_CAP_CALL(s, &e, presign_get, key, cl_cfg.storage_url_ttl_seconds, download_name, mime, &out, &e);
        if (rc == CL_OK && out.buf.data) {
            cl_res_header(res, "location", out.buf.data);
            cl_res_header(res, "cache-control", "private, no-store");
            cl_res_json_text(res, 302, "{\"redirect\":true}");
        } else {
            cl_error(COMP, "presigning %s in %s storage failed: %s", key, s->base.id, e.message);
            cl_res_error(res, 500, "storage_failed", "The file could not be served; try again");
        }
    } else {
        cl_error(COMP, "serving %s from %s storage failed: %s", key, s->base.id, e.message);
        cl_res_error(res, 500, "storage_failed", "The file could not be served; try again");
    }
    cl_buf_free(&out.buf);
}
