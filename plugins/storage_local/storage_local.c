/*
 * storage_local.c — the storage capability "local": every object is the file
 * <root>/<key>, where root is CLIPLOOP_STORAGE_DIR (default var/storage, the
 * host's storage root). This is the layout ClipLoop always had, so files
 * written before storage became a capability keep working.
 *
 *   CLIPLOOP_STORAGE_DIR   the root directory (the host sets it to its own
 *                          default when unset)
 *
 * A put writes a hidden temporary file beside the destination (a hard link
 * of the source when both are on one file system, else a copy, fsync'd) and
 * renames it into place, so a reader sees the old object or the new one,
 * never half a file. Removing an object also removes its folders up to the
 * root when they become empty.
 */
#include "cliploop_plugin.h"
#include "pl_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[PATH_MAX];

static int fail(cl_error *err, int code, int http_status, const char *fmt, ...) CL_PRINTF(4, 5);
static int fail(cl_error *err, int code, int http_status, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        err->http_status = http_status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* <root>/<key> into out; CL_OK or CL_EINVAL. */
static int full_path(const char *key, char *out, size_t len, cl_error *err)
{
    if (!cl_storage_key_valid(key))
        return fail(err, CL_EINVAL, 0, "invalid storage key");
    if (snprintf(out, len, "%s/%s", root, key) >= (int)len)
        return fail(err, CL_EINVAL, 0, "storage key too long for the storage directory");
    return CL_OK;
}

/* Copy src to the open descriptor out. 0 or -1 (errno). */
static int copy_fd(int in, int out, off_t offset, int64_t length)
{
    char buf[1 << 16];
    int64_t left = length;
    while (length < 0 || left > 0) {
        size_t want = length < 0 || left > (int64_t)sizeof buf ? sizeof buf : (size_t)left;
        ssize_t n = pread(in, buf, want, offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return -1;
            done += w;
        }
        offset += n;
        left -= n;
    }
    return 0;
}

/* Copy the file src into a new file dst (mode 0644, fsync'd). 0 or -1 (errno). */
static int copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        int e = errno;
        close(in);
        errno = e;
        return -1;
    }
    int rc = copy_fd(in, out, 0, -1);
    int e = errno;
    if (rc == 0 && fsync(out) != 0)
        rc = -1, e = errno;
    if (close(out) != 0 && rc == 0)
        rc = -1, e = errno;
    close(in);
    errno = e;
    return rc;
}

static int local_put_file(void *self, cl_call *call, const char *key, const char *path, const char *content_type,
                          cl_error *err)
{
    (void)self, (void)call, (void)content_type;
    char dst[PATH_MAX], tmp[PATH_MAX + 32];
    int rc = full_path(key, dst, sizeof dst, err);
    if (rc != CL_OK)
        return rc;
    struct stat st;
    if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return fail(err, CL_EIO, 0, "cannot read the file to store: %s", strerror(errno ? errno : ENOENT));
    if (pl_mkdirs_for(dst) != 0)
        return fail(err, CL_EIO, 0, "cannot create the folder for %s: %s", key, strerror(errno));
    char *slash = strrchr(dst, '/');
    snprintf(tmp, sizeof tmp, "%.*s/.put-%d-%s", (int)(slash - dst), dst, (int)getpid(), slash + 1);
    unlink(tmp);
    if (link(path, tmp) != 0 && copy_file(path, tmp) != 0) {
        int e = errno;
        unlink(tmp);
        return fail(err, CL_EIO, 0, "cannot write %s: %s", key, strerror(e));
    }
    if (rename(tmp, dst) != 0) {
        int e = errno;
        unlink(tmp);
        return fail(err, CL_EIO, 0, "cannot move %s into place: %s", key, strerror(e));
    }
    return CL_OK;
}

static int local_get_file(void *self, cl_call *call, const char *key, const char *path, cl_error *err)
{
    (void)self, (void)call;
    char src[PATH_MAX];
    int rc = full_path(key, src, sizeof src, err);
    if (rc != CL_OK)
        return rc;
    if (access(src, F_OK) != 0)
        return fail(err, CL_EINVAL, 404, "no object %s in local storage", key);
    if (copy_file(src, path) != 0)
        return fail(err, CL_EIO, 0, "cannot copy %s: %s", key, strerror(errno));
    return CL_OK;
}

static int local_remove(void *self, cl_call *call, const char *key, cl_error *err)
{
    (void)self, (void)call;
    char p[PATH_MAX];
    int rc = full_path(key, p, sizeof p, err);
    if (rc != CL_OK)
        return rc;
    if (unlink(p) != 0 && errno != ENOENT)
        return fail(err, CL_EIO, 0, "cannot remove %s: %s", key, strerror(errno));
    /* the object's folders, up to the root, when now empty */
    size_t rl = strlen(root);
    for (char *slash; (slash = strrchr(p, '/')) != NULL && (size_t)(slash - p) > rl;) {
        *slash = '\0';
        if (rmdir(p) != 0)
            break;
    }
    return CL_OK;
}

static int local_stat(void *self, cl_call *call, const char *key, int64_t *bytes, cl_error *err)
{
    (void)self, (void)call;
    char p[PATH_MAX];
    int rc = full_path(key, p, sizeof p, err);
    if (rc != CL_OK)
        return rc;
    struct stat st;
    if (stat(p, &st) != 0)
        return errno == ENOENT ? fail(err, CL_EINVAL, 404, "no object %s in local storage", key)
                               : fail(err, CL_EIO, 0, "cannot read %s: %s", key, strerror(errno));
    *bytes = (int64_t)st.st_size;
    return CL_OK;
}

static int local_read_range(void *self, cl_call *call, const char *key, int64_t offset, int64_t length,
                            cl_output *out, cl_error *err)
{
    (void)self, (void)call;
    char p[PATH_MAX];
    int rc = full_path(key, p, sizeof p, err);
    if (rc != CL_OK)
        return rc;
    if (offset < 0 || length <= 0)
        return fail(err, CL_EINVAL, 0, "invalid range");
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? fail(err, CL_EINVAL, 404, "no object %s in local storage", key)
                               : fail(err, CL_EIO, 0, "cannot read %s: %s", key, strerror(errno));
    struct stat st;
    rc = CL_OK;
    if (fstat(fd, &st) != 0) {
        rc = fail(err, CL_EIO, 0, "cannot read %s: %s", key, strerror(errno));
    } else if (offset >= (int64_t)st.st_size) {
        rc = fail(err, CL_EINVAL, 416, "range starts past the end of %s", key);
    } else {
        char buf[1 << 16];
        int64_t left = length;
        while (rc == CL_OK && left > 0) {
            ssize_t n = pread(fd, buf, left > (int64_t)sizeof buf ? sizeof buf : (size_t)left, (off_t)offset);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                rc = fail(err, CL_EIO, 0, "cannot read %s: %s", key, strerror(errno));
            else if (n == 0)
                break;
            else if (clp_output_append(out, buf, (size_t)n) != CL_OK)
                rc = fail(err, CL_ENOMEM, 0, "out of memory");
            offset += n;
            left -= n;
        }
    }
    close(fd);
    return rc;
}

static int local_presign_get(void *self, const char *key, int ttl_seconds, const char *download_name,
                             const char *content_type, cl_output *out, cl_error *err)
{
    (void)self, (void)key, (void)ttl_seconds, (void)download_name, (void)content_type, (void)out;
    return fail(err, CL_EUNSUPPORTED, 0, "local storage has no presigned URLs; the host serves the file");
}

static int local_local_path(void *self, const char *key, cl_output *out, cl_error *err)
{
    (void)self;
    char p[PATH_MAX];
    int rc = full_path(key, p, sizeof p, err);
    if (rc != CL_OK)
        return rc;
    return clp_output_puts(out, p) == CL_OK ? CL_OK : fail(err, CL_ENOMEM, 0, "out of memory");
}

static int local_configured(void *self, char *missing, size_t missing_len)
{
    (void)self;
    if (missing && missing_len)
        missing[0] = '\0';
    return 1;
}

static int setup(cl_error *err)
{
    const char *dir = clp_config("DIR");
    snprintf(root, sizeof root, "%s", dir && dir[0] ? dir : "var/storage");
    for (size_t n = strlen(root); n > 1 && root[n - 1] == '/'; n--)
        root[n - 1] = '\0';
    static const cl_storage cap = {
        .base = {.kind = CL_CAP_STORAGE,
                 .id = "local",
                 .description = "files in a local directory (CLIPLOOP_STORAGE_DIR)"},
        .put_file = local_put_file,
        .get_file = local_get_file,
        .remove = local_remove,
        .stat = local_stat,
        .read_range = local_read_range,
        .presign_get = local_presign_get,
        .local_path = local_local_path,
        .configured = local_configured,
    };
    int rc = clp_register(&cap);
    return rc ? fail(err, rc, 0, "registering storage 'local' failed") : CL_OK;
}

CL_PLUGIN("storage_local", "1.0.0", "CLIPLOOP_STORAGE", setup)
