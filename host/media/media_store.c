/*
 * media_store.c — reading media_assets rows and materializing a normalized
 * file into a render's work directory (media.h).
 */
#include "media/media.h"
#include "media/media_internal.h"
#include "db/db.h"
#include "core/log.h"
#include "storage/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void copy_field(char *dst, size_t len, const PGresult *r, int row, int col)
{
    snprintf(dst, len, "%s", PQgetvalue(r, row, col));
}

void cl_media_from_row(const PGresult *r, int row, cl_media_item *m)
{
    memset(m, 0, sizeof *m);
    m->id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
    m->project_id = strtoll(PQgetvalue(r, row, 1), NULL, 10);
    copy_field(m->kind, sizeof m->kind, r, row, 2);
    copy_field(m->origin, sizeof m->origin, r, row, 3);
    copy_field(m->status, sizeof m->status, r, row, 4);
    copy_field(m->filename, sizeof m->filename, r, row, 5);
    copy_field(m->mime, sizeof m->mime, r, row, 6);
    copy_field(m->normalized_mime, sizeof m->normalized_mime, r, row, 7);
    m->bytes = strtoll(PQgetvalue(r, row, 8), NULL, 10);
    copy_field(m->sha256, sizeof m->sha256, r, row, 9);
    m->width = atoi(PQgetvalue(r, row, 10));
    m->height = atoi(PQgetvalue(r, row, 11));
    m->duration_ms = atoi(PQgetvalue(r, row, 12));
    copy_field(m->storage, sizeof m->storage, r, row, 13);
    copy_field(m->storage_key, sizeof m->storage_key, r, row, 14);
    copy_field(m->normalized_key, sizeof m->normalized_key, r, row, 15);
    copy_field(m->created_at, sizeof m->created_at, r, row, 16);
}

int cl_media_list_kept(PGconn *c, int64_t project_id, const char *kind, cl_media_item **out, size_t *n,
                       char *err, size_t errlen)
{
    static const cl_db_stmt st = {
        "media_list_kept",
        "SELECT " CL_MEDIA_COLUMNS " FROM media_assets m WHERE m.project_id = $1 AND m.status = 'kept'"
        " AND (($2::text IS NULL AND m.kind IN ('image', 'audio')) OR m.kind = $2) ORDER BY m.created_at, m.id",
        2};
    *out = NULL;
    *n = 0;
    if (kind && strcmp(kind, "image") != 0 && strcmp(kind, "audio") != 0 && strcmp(kind, "font") != 0) {
        snprintf(err, errlen, "unknown media kind '%s'", kind);
        return -1;
    }
    char pid[24];
    snprintf(pid, sizeof pid, "%" PRId64, project_id);
    const char *p[] = {pid, kind};
    PGresult *r = cl_db_prepared(c, &st, p);
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, err, errlen);
        PQclear(r);
        return -1;
    }
    int rows = PQntuples(r);
    if (rows > 0) {
        *out = calloc((size_t)rows, sizeof **out);
        if (!*out) {
            snprintf(err, errlen, "out of memory");
            PQclear(r);
            return -1;
        }
        for (int i = 0; i < rows; i++)
            cl_media_from_row(r, i, &(*out)[i]);
        *n = (size_t)rows;
    }
    PQclear(r);
    return 0;
}

int cl_media_get(PGconn *c, int64_t project_id, int64_t media_id, cl_media_item *out, char *err, size_t errlen)
{
    static const cl_db_stmt st = {
        "media_get", "SELECT " CL_MEDIA_COLUMNS " FROM media_assets m WHERE m.id = $1 AND m.project_id = $2", 2};
    char pid[24], mid[24];
    snprintf(pid, sizeof pid, "%" PRId64, project_id);
    snprintf(mid, sizeof mid, "%" PRId64, media_id);
    const char *p[] = {mid, pid};
    PGresult *r = cl_db_prepared(c, &st, p);
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, err, errlen);
        PQclear(r);
        return -1;
    }
    int found = PQntuples(r) > 0;
    if (found)
        cl_media_from_row(r, 0, out);
    PQclear(r);
    return found;
}

const char *cl_media_ext(const char *mime)
{
    static const struct {
        const char *mime, *ext;
    } map[] = {{"image/jpeg", "jpg"}, {"image/png", "png"}, {"image/webp", "webp"}, {"image/gif", "gif"},
               {"audio/wav", "wav"},  {"audio/mpeg", "mp3"}, {"audio/mp4", "m4a"},  {"audio/ogg", "ogg"},
               {"audio/flac", "flac"}, {"font/ttf", "ttf"},   {"font/otf", "otf"}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(map[i].mime, mime) == 0)
            return map[i].ext;
    return "bin";
}

/* Copy src to dst (created 0600, replaced atomically). 0 or -1 with err. */
static int copy_file(const char *src, const char *dst, char *err, size_t errlen)
{
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.part", dst);
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int outfd = in >= 0 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    int ok = in >= 0 && outfd >= 0;
    static __thread char buf[1 << 16];
    while (ok) {
        ssize_t got = read(in, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            ok = got == 0;
            break;
        }
        for (ssize_t off = 0; ok && off < got;) {
            ssize_t w = write(outfd, buf + off, (size_t)(got - off));
            if (w < 0 && errno == EINTR)
                continue;
            ok = w > 0;
            off += w > 0 ? w : 0;
        }
    }
    if (!ok)
        snprintf(err, errlen, "copying %s to %s: %s", src, dst, strerror(errno));
    if (in >= 0)
        close(in);
    if (outfd >= 0 && close(outfd) != 0 && ok) {
        snprintf(err, errlen, "writing %s: %s", dst, strerror(errno));
        ok = 0;
    }
    if (ok && rename(tmp, dst) != 0) {
        snprintf(err, errlen, "renaming %s: %s", dst, strerror(errno));
        ok = 0;
    }
    if (!ok)
        unlink(tmp);
    return ok ? 0 : -1;
}

int cl_media_materialize(const cl_media_item *m, const char *work_dir, char *path, size_t pathlen, char *err,
                         size_t errlen)
{
    if (!work_dir || !work_dir[0] || work_dir[0] != '/') {
        snprintf(err, errlen, "the work directory must be an absolute path");
        return -1;
    }
    if (snprintf(path, pathlen, "%s/media-%" PRId64 ".%s", work_dir, m->id, cl_media_ext(m->normalized_mime)) >=
        (int)pathlen) {
        snprintf(err, errlen, "work directory path too long");
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return 0; /* materialized before in this directory */
    char src[1100];
    int is_temp = 0;
    if (cl_storage_local_copy(m->storage, m->normalized_key, src, sizeof src, &is_temp, err, errlen) != 0)
        return -1;
    int rc = 0;
    if (is_temp) {
        /* a download of our own: move it when on the same file system, else copy */
        if (rename(src, path) != 0) {
            rc = copy_file(src, path, err, errlen);
            unlink(src);
        }
    } else {
        rc = copy_file(src, path, err, errlen);
    }
    return rc;
}

int cl_media_materialize_id(PGconn *c, int64_t project_id, int64_t media_id, const char *work_dir, char *path,
                            size_t pathlen, cl_media_item *item, char *err, size_t errlen)
{
    cl_media_item local;
    cl_media_item *m = item ? item : &local;
    int found = cl_media_get(c, project_id, media_id, m, err, errlen);
    if (found <= 0)
        return found;
    if (strcmp(m->status, "kept") != 0)
        return 0;
    return cl_media_materialize(m, work_dir, path, pathlen, err, errlen) == 0 ? 1 : -1;
}

struct cl_media_files {
    PGresult *rows; /* storage, storage_key, normalized_key */
};

cl_media_files *cl_media_project_files(PGconn *c, int64_t project_id)
{
    char pid[24];
    snprintf(pid, sizeof pid, "%" PRId64, project_id);
    const char *p[] = {pid};
    PGresult *r = cl_db_query(c, "SELECT storage, storage_key, normalized_key FROM media_assets WHERE project_id = $1",
                              1, p);
    if (!cl_db_ok(r) || PQntuples(r) == 0) {
        if (!cl_db_ok(r)) {
            char err[256];
            cl_db_errmsg(c, r, err, sizeof err);
            cl_warn("media", "project %s: media files not listed before the delete: %s", pid, err);
        }
        PQclear(r);
        return NULL;
    }
    cl_media_files *f = malloc(sizeof *f);
    if (!f) {
        PQclear(r);
        return NULL;
    }
    f->rows = r;
    return f;
}

void cl_media_files_remove(const cl_media_files *f)
{
    char err[512];
    for (int i = 0; f && i < PQntuples(f->rows); i++)
        for (int k = 1; k <= 2; k++)
            if (cl_storage_remove(PQgetvalue(f->rows, i, 0), PQgetvalue(f->rows, i, k), err, sizeof err) != 0)
                cl_warn("media", "%s", err);
}

void cl_media_files_free(cl_media_files *f)
{
    if (!f)
        return;
    PQclear(f->rows);
    free(f);
}
