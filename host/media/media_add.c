/*
 * media_add.c — turning a file into a stored media asset: decode and
 * normalize (media_decode.c), store the original and the normalized copy
 * through the storage capability, and insert the row, under the plan's
 * quota (media_internal.h).
 */
#include "media/media_internal.h"
#include "core/log.h"
#include "credits/policy.h"
#include "db/db.h"
#include "net/http_client.h"
#include "storage/storage.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP "media"

static void mb(char *out, size_t len, int64_t bytes)
{
    if (bytes >= (1LL << 30))
        snprintf(out, len, "%.1f GB", (double)bytes / (1 << 30));
    else
        snprintf(out, len, "%.0f MB", (double)bytes / (1 << 20));
}

int cl_media_quota_check(PGconn *c, int64_t user_id, const cl_plan_limits *l, const char *plan_label,
                         int64_t add_bytes, char *code, size_t codelen, char *msg, size_t msglen)
{
    char uid[CL_DB_ID_LEN], err[256];
    const char *p[] = {cl_db_id(uid, user_id)};
    PGresult *r =
        cl_db_run(c,
                  "SELECT pg_advisory_xact_lock(7117, hashtext($1::text)),"
                  " (SELECT COALESCE(sum(bytes), 0) FROM media_assets WHERE user_id = $1::bigint"
                  " AND status = 'kept'),"
                  " (SELECT count(*) FROM media_assets WHERE user_id = $1::bigint AND status = 'kept')",
                  1, p, err, sizeof err);
    if (!r) {
        cl_error(COMP, "media quota: %s", err);
        snprintf(code, codelen, "internal");
        snprintf(msg, msglen, "Something went wrong on our side; nothing was stored");
        return 500;
    }
    int64_t used = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    int64_t files = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    PQclear(r);
    if (l->media_files >= 0 && files + 1 > l->media_files) {
        snprintf(code, codelen, "media_quota_reached");
        snprintf(msg, msglen, "Your %s plan keeps up to %d media files and you keep %" PRId64
                 "; delete some files or upgrade", plan_label, l->media_files, files);
        return 409;
    }
    if (l->media_bytes >= 0 && used + add_bytes > l->media_bytes) {
        char lim[32], u[32];
        mb(lim, sizeof lim, l->media_bytes);
        mb(u, sizeof u, used);
        snprintf(code, codelen, "media_quota_reached");
        snprintf(msg, msglen, "Your %s plan keeps up to %s of media and you keep %s; this file does not fit. "
                 "Delete some files or upgrade", plan_label, lim, u);
        return 409;
    }
    return 0;
}

/* The row of (project, sha) into *out: 1 found, 0 not, -1 error. */
static int find_sha(PGconn *c, int64_t project_id, const char *sha, cl_media_item *out)
{
    static const cl_db_stmt st = {
        "media_by_sha", "SELECT " CL_MEDIA_COLUMNS " FROM media_assets m WHERE m.project_id = $1 AND m.sha256 = $2", 2};
    char pid[24];
    snprintf(pid, sizeof pid, "%" PRId64, project_id);
    const char *p[] = {pid, sha};
    PGresult *r = cl_db_prepared(c, &st, p);
    int found = !cl_db_ok(r) ? -1 : PQntuples(r) > 0;
    if (found == 1)
        cl_media_from_row(r, 0, out);
    PQclear(r);
    return found;
}

/* An upload of a file the project has as a suggestion (or discarded): keep it. */
static int keep_existing(PGconn *c, const cl_media_new *n, cl_media_item *m, char *code, size_t codelen, char *msg,
                         size_t msglen)
{
    if (strcmp(m->status, "kept") == 0 || strcmp(n->status, "kept") != 0)
        return 0;
    if (cl_db_begin(c) != 0) {
        snprintf(code, codelen, "internal");
        snprintf(msg, msglen, "database unavailable");
        return 500;
    }
    int st = n->quota ? cl_media_quota_check(c, n->user_id, n->quota, n->plan_label, m->bytes, code, codelen, msg,
                                             msglen)
                      : 0;
    if (st == 0) {
        char id[24];
        snprintf(id, sizeof id, "%" PRId64, m->id);
        const char *p[] = {id};
        char err[256];
        if (cl_db_exec(c, "UPDATE media_assets SET status = 'kept' WHERE id = $1", 1, p, err, sizeof err) != 0 ||
            cl_db_commit(c) != 0) {
            cl_error(COMP, "keep media: %s", err);
            snprintf(code, codelen, "internal");
            snprintf(msg, msglen, "Something went wrong on our side; nothing was stored");
            st = 500;
        } else {
            snprintf(m->status, sizeof m->status, "kept");
        }
    }
    if (st != 0)
        cl_db_rollback(c);
    return st;
}

int cl_media_add(PGconn **cp, const cl_media_new *n, const char *path, cl_media_item *out, int *dup, char *code,
                 size_t codelen, char *msg, size_t msglen)
{
    *dup = 0;
    PGconn *c = *cp;
    char sha[65], err[512];
    int64_t bytes = 0;
    if (cl_storage_file_digest(path, &bytes, sha, err, sizeof err) != 0) {
        cl_error(COMP, "%s", err);
        snprintf(code, codelen, "internal");
        snprintf(msg, msglen, "The upload could not be read back");
        return 500;
    }
    int found = find_sha(c, n->project_id, sha, out);
    if (found < 0) {
        snprintf(code, codelen, "internal");
        snprintf(msg, msglen, "database error");
        return 500;
    }
    if (found == 1) {
        *dup = 1;
        return keep_existing(c, n, out, code, codelen, msg, msglen);
    }
    /* a file that cannot fit is refused before it is decoded (checked again, locked, at the insert) */
    if (strcmp(n->status, "kept") == 0 && n->quota) {
        int q = cl_media_quota_check(c, n->user_id, n->quota, n->plan_label, bytes, code, codelen, msg, msglen);
        if (q != 0)
            return q;
    }
    if (n->pooled) { /* no connection held while decoding and storing */
        cl_db_release(c);
        *cp = c = NULL;
    }
    char norm[1100];
    if (cl_storage_temp("media", "norm-", 0, norm, sizeof norm) != 0) {
        snprintf(code, codelen, "internal");
        snprintf(msg, msglen, "no room for a temporary file");
        return 500;
    }
    cl_media_probe pr;
    int st = cl_media_process(path, n->allow_mask, norm, &pr, code, codelen, msg, msglen);
    if (st != 0) {
        unlink(norm);
        return st;
    }
    if (n->min_long_side > 0 && strcmp(pr.kind, "image") == 0 &&
        (pr.src_width > pr.src_height ? pr.src_width : pr.src_height) < n->min_long_side) {
        unlink(norm);
        snprintf(code, codelen, "image_too_small");
        snprintf(msg, msglen, "The image is %dx%d; at least %d pixels on the long side are needed", pr.src_width,
                 pr.src_height, n->min_long_side);
        return 422;
    }
    char key[512], nkey[512], backend[64] = "";
    snprintf(key, sizeof key, "media/projects/%" PRId64 "/%s.%s", n->project_id, sha, cl_media_ext(pr.mime));
    snprintf(nkey, sizeof nkey, "media/projects/%" PRId64 "/%s-normalized.%s", n->project_id, sha,
             cl_media_ext(pr.normalized_mime));
    int64_t nbytes = 0;
    int put_orig = 0, put_norm = 0;
    if (cl_storage_put(key, path, pr.mime, NULL, NULL, backend, NULL, err, sizeof err) == 0)
        put_orig = 1;
    if (put_orig && cl_storage_put(nkey, norm, pr.normalized_mime, &nbytes, NULL, NULL, NULL, err, sizeof err) == 0)
        put_norm = 1;
    unlink(norm);
    if (!put_norm) {
        cl_error(COMP, "%s", err);
        snprintf(code, codelen, "storage_failed");
        snprintf(msg, msglen, "The file could not be stored; try again");
        st = 500;
        goto undo;
    }
    if (!c && !(*cp = c = cl_db_acquire(10000, err, sizeof err))) {
        cl_error(COMP, "no database connection to record the upload: %s", err);
        snprintf(code, codelen, "database_unavailable");
        snprintf(msg, msglen, "ClipLoop is briefly unavailable; nothing was stored. Try again in a few seconds");
        st = 503;
        goto undo;
    }
    if (cl_db_begin(c) != 0) {
        snprintf(code, codelen, "internal");
        snprintf(msg, msglen, "database unavailable");
        st = 500;
        goto undo;
    }
    if (strcmp(n->status, "kept") == 0 && n->quota &&
        (st = cl_media_quota_check(c, n->user_id, n->quota, n->plan_label, bytes, code, codelen, msg, msglen)) != 0) {
        cl_db_rollback(c);
        goto undo;
    }
    char uid[24], pid[24], sb[24], w[16], h[16], d[16], nb[24];
    snprintf(uid, sizeof uid, "%" PRId64, n->user_id);
    snprintf(pid, sizeof pid, "%" PRId64, n->project_id);
    snprintf(sb, sizeof sb, "%" PRId64, bytes);
    snprintf(nb, sizeof nb, "%" PRId64, nbytes);
    snprintf(w, sizeof w, "%d", pr.width);
    snprintf(h, sizeof h, "%d", pr.height);
    snprintf(d, sizeof d, "%d", pr.duration_ms);
    int image = strcmp(pr.kind, "image") == 0, audio = strcmp(pr.kind, "audio") == 0;
    const char *p[] = {pid,     uid,  pr.kind, n->origin,           n->status,          n->filename, pr.mime,
                       sb,      sha,  image ? w : NULL, image ? h : NULL, audio ? d : NULL, backend,
                       key,     nkey, pr.normalized_mime, nb, n->source_url};
    PGresult *r = cl_db_query(
        c,
        "WITH ins AS (INSERT INTO media_assets (project_id, user_id, kind, origin, status, filename, mime, bytes,"
        " sha256, width, height, duration_ms, storage, storage_key, normalized_key, normalized_mime,"
        " normalized_bytes, source_url)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        " ON CONFLICT (project_id, sha256) DO NOTHING RETURNING *)"
        " SELECT " CL_MEDIA_COLUMNS " FROM ins m",
        18, p);
    if (!cl_db_ok(r) || cl_db_commit(c) != 0) {
        cl_db_errmsg(c, r, err, sizeof err);
        cl_error(COMP, "insert media: %s", err);
        PQclear(r);
        cl_db_rollback(c);
        snprintf(code, codelen, "internal");
        snprintf(msg, msglen, "Something went wrong on our side; nothing was stored");
        st = 500;
        goto undo;
    }
    if (PQntuples(r) == 0) { /* the same file arrived twice at once: the other one won */
        PQclear(r);
        *dup = 1;
        return find_sha(c, n->project_id, sha, out) == 1 ? 0 : 500;
    }
    cl_media_from_row(r, 0, out);
    PQclear(r);
    return 0;
undo:
    if (!c && (put_orig || put_norm))
        *cp = c = cl_db_acquire(2000, err, sizeof err);
    /* the keys are per SHA-256: remove them only when no row uses them (unknown without a connection: kept) */
    if (c && find_sha(c, n->project_id, sha, out) == 0) {
        if (put_orig)
            cl_storage_remove(backend, key, err, sizeof err);
        if (put_norm)
            cl_storage_remove(backend, nkey, err, sizeof err);
    }
    return st;
}

/* The last path segment of url, as a file name ("image" when none fits). */
static void name_from_url(const char *url, char *out, size_t len)
{
    const char *end = url + strcspn(url, "?#");
    const char *s = end;
    while (s > url && s[-1] != '/')
        s--;
    size_t n = (size_t)(end - s);
    if (n == 0 || n >= len || !strchr(url, '/') || s - url < 9)
        snprintf(out, len, "website-image");
    else
        snprintf(out, len, "%.*s", (int)n, s);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '%')
            *p = '_';
}

int cl_media_add_url(PGconn *c, int64_t user_id, int64_t project_id, const char *url, cl_media_item *out,
                     int *dup, char *code, size_t codelen, char *msg, size_t msglen)
{
    *dup = 0;
    cl_http_request rq = {.size = sizeof rq, .method = "GET", .url = url, .timeout_ms = 15000, .max_retries = 1,
                          .max_response_bytes = CL_MEDIA_MAX_BYTES, .flags = CL_HTTP_FOLLOW_REDIRECTS};
    const char *hdr[] = {"Accept: image/avif;q=0,image/webp,image/png,image/jpeg,image/*;q=0.8", NULL};
    rq.headers = hdr;
    cl_http_response rs;
    memset(&rs, 0, sizeof rs);
    rs.size = sizeof rs;
    cl_error e;
    memset(&e, 0, sizeof e);
    int rc = cl_http_do(NULL, &rq, &rs, &e);
    if (rc != CL_OK || rs.status != 200) {
        snprintf(code, codelen, "fetch_failed");
        snprintf(msg, msglen, "%s", rc != CL_OK ? e.message : "the image answered an HTTP error");
        cl_http_response_free(&rs);
        return 422;
    }
    char tmp[1100];
    if (cl_storage_temp("media", "web-", 0, tmp, sizeof tmp) != 0) {
        cl_http_response_free(&rs);
        snprintf(code, codelen, "internal");
        snprintf(msg, msglen, "no room for a temporary file");
        return 500;
    }
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(rs.body, 1, rs.body_len, f) == rs.body_len;
    if (f && fclose(f) != 0)
        ok = 0;
    cl_http_response_free(&rs);
    int st = 500;
    if (ok) {
        char name[256];
        name_from_url(url, name, sizeof name);
        cl_media_new n = {.user_id = user_id, .project_id = project_id, .origin = "website", .status = "suggested",
                          .filename = name, .source_url = url, .allow_mask = CL_MEDIA_ALLOW_IMAGE,
                          .min_long_side = 600};
        st = cl_media_add(&c, &n, tmp, out, dup, code, codelen, msg, msglen);
    } else {
        snprintf(code, codelen, "internal");
        snprintf(msg, msglen, "the image could not be written to a temporary file");
    }
    unlink(tmp);
    return st;
}
