/*
 * media_routes.c — the media library's HTTP routes (docs/media.md). Every
 * route is owner-only: another user's project or asset answers 404.
 *
 *   POST   /api/projects/:id/media            raw body = the file, X-Filename (percent-encoded)
 *   GET    /api/projects/:id/media            ?status=kept|suggested|discarded ?kind=image|audio|font
 *   POST   /api/projects/:id/media/:mid/keep
 *   POST   /api/projects/:id/media/:mid/discard
 *   DELETE /api/projects/:id/media/:mid
 *   GET    /api/media/:id/file                the normalized copy (?original=1: the original)
 */
#include "media/media.h"
#include "core/json_out.h"
#include "media/media_internal.h"
#include "auth/auth.h"
#include "core/buf.h"
#include "core/log.h"
#include "credits/policy.h"
#include "db/db.h"
#include "http/http.h"
#include "storage/storage.h"
#include "http/db_reply.h"
#include "projects/projects.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP "media"



cJSON *cl_media_item_json(const cl_media_item *m)
{
    static const cl_json_field fields[] = {
        CL_JSON_I64(cl_media_item, id),       CL_JSON_I64(cl_media_item, project_id),
        CL_JSON_CHARS(cl_media_item, kind),   CL_JSON_CHARS(cl_media_item, origin),
        CL_JSON_CHARS(cl_media_item, status), CL_JSON_CHARS(cl_media_item, filename),
        CL_JSON_CHARS(cl_media_item, mime),   CL_JSON_I64(cl_media_item, bytes),
        CL_JSON_CHARS(cl_media_item, sha256),
    };
    cJSON *o = cJSON_CreateObject();
    char url[64];
    cl_json_add_fields(o, m, fields, CL_JSON_NFIELDS(fields));
    if (m->width)
        cJSON_AddNumberToObject(o, "width", m->width), cJSON_AddNumberToObject(o, "height", m->height);
    else
        cJSON_AddNullToObject(o, "width"), cJSON_AddNullToObject(o, "height");
    if (strcmp(m->kind, "audio") == 0)
        cJSON_AddNumberToObject(o, "duration_ms", m->duration_ms);
    else
        cJSON_AddNullToObject(o, "duration_ms");
    cJSON_AddStringToObject(o, "normalized_mime", m->normalized_mime);
    snprintf(url, sizeof url, "/api/media/%" PRId64 "/file", m->id);
    cJSON_AddStringToObject(o, "url", url);
    snprintf(url, sizeof url, "/api/media/%" PRId64 "/file?original=1", m->id);
    cJSON_AddStringToObject(o, "original_url", url);
    cJSON_AddStringToObject(o, "created_at", m->created_at);
    return o;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* X-Filename (percent-encoded UTF-8) as a safe display name: the last path
   segment, no control characters, at most 200 bytes; "upload" when empty or
   not UTF-8. */
static void upload_name(const char *h, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = h ? h : ""; *p && o + 1 < len; p++) {
        char ch = *p;
        if (ch == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
            ch = (char)(hexval(p[1]) << 4 | hexval(p[2]));
            p += 2;
        }
        if (ch == '/' || ch == '\\') {
            o = 0; /* keep the last segment only */
            continue;
        }
        if ((unsigned char)ch < 0x20 || ch == 0x7f)
            continue;
        out[o++] = ch;
    }
    out[o] = '\0';
    o = cl_utf8_clip(out, o, 200);
    out[o] = '\0';
    if (o == 0 || !cl_utf8_valid(out, o) || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
        snprintf(out, len, "upload");
}

/* POST /api/projects/:id/media */
static void upload(cl_req *req, cl_res *res)
{
    cl_user u;
    PGconn *c = cl_auth_open(req, res, &u, CL_AUTH_PRODUCT);
    if (!c)
        return;
    int64_t pid = cl_req_param_id(req, "id");
    if (cl_project_owned(c, res, COMP, pid, u.id) != 1) {
        cl_db_release(c);
        return;
    }
    if (req->body_len == 0) {
        cl_res_error(res, 422, "empty_file", "The request body must be the file's bytes");
        cl_db_release(c);
        return;
    }
    if (req->body_len > CL_MEDIA_MAX_BYTES) { /* the server refuses these before reading; kept for safety */
        cl_res_error(res, 413, "file_too_large", "The most we accept is %d MB a file", CL_MEDIA_MAX_BYTES >> 20);
        cl_db_release(c);
        return;
    }
    char tmp[1100], name[256];
    upload_name(cl_req_header(req, "x-filename"), name, sizeof name);
    if (cl_storage_temp("media", "up-", 0, tmp, sizeof tmp) != 0) {
        cl_error(COMP, "temporary file: %s", strerror(errno));
        cl_res_error(res, 500, "internal", "No room for the upload on the server; try again later");
        cl_db_release(c);
        return;
    }
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(req->body, 1, req->body_len, f) == req->body_len;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        unlink(tmp);
        cl_res_error(res, 500, "internal", "No room for the upload on the server; try again later");
        cl_db_release(c);
        return;
    }
    cl_media_new n = {.user_id = u.id, .project_id = pid, .origin = "upload", .status = "kept", .filename = name,
                      .allow_mask = CL_MEDIA_ALLOW_IMAGE | CL_MEDIA_ALLOW_AUDIO | CL_MEDIA_ALLOW_FONT,
                      .quota = cl_policy_limits(u.plan), .plan_label = cl_plan_label(u.plan), .pooled = 1};
    cl_media_item m;
    int dup = 0;
    char code[48], msg[512];
    int st = cl_media_add(&c, &n, tmp, &m, &dup, code, sizeof code, msg, sizeof msg);
    unlink(tmp);
    if (st != 0) {
        cl_res_error(res, st, code, "%s", msg);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "media", cl_media_item_json(&m));
        cJSON_AddBoolToObject(o, "duplicate", dup);
        cl_res_json(res, dup ? 200 : 201, o);
    }
    cl_db_release(c);
}

/* GET /api/projects/:id/media */
static void list(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t pid = cl_req_param_id(req, "id");
    char status[16] = "", kind[16] = "";
    int has_status = cl_req_query(req, "status", status, sizeof status);
    int has_kind = cl_req_query(req, "kind", kind, sizeof kind);
    if (has_status && strcmp(status, "kept") && strcmp(status, "suggested") && strcmp(status, "discarded")) {
        cl_res_error(res, 422, "invalid_status", "status must be kept, suggested or discarded");
    } else if (has_kind && strcmp(kind, "image") && strcmp(kind, "audio") && strcmp(kind, "font")) {
        cl_res_error(res, 422, "invalid_kind", "kind must be image, audio or font");
    } else if (cl_project_owned(c, res, COMP, pid, u->id) == 1) {
        static const cl_db_stmt st = {
            "media_list",
            "SELECT " CL_MEDIA_COLUMNS " FROM media_assets m WHERE m.project_id = $1"
            " AND (($2::text IS NULL AND m.status <> 'discarded') OR m.status = $2)"
            " AND ($3::text IS NULL OR m.kind = $3) ORDER BY m.created_at DESC, m.id DESC LIMIT 500",
            3};
        static const cl_db_stmt usage = {
            "media_usage",
            "SELECT COALESCE(sum(bytes), 0), count(*) FROM media_assets WHERE user_id = $1 AND status = 'kept'", 1};
        char sp[24], su[24];
        snprintf(su, sizeof su, "%" PRId64, u->id);
        const char *p[] = {cl_db_id(sp, pid), has_status ? status : NULL, has_kind ? kind : NULL};
        const char *q[] = {su};
        PGresult *r = cl_db_prepared(c, &st, p);
        PGresult *ru = cl_db_ok(r) ? cl_db_prepared(c, &usage, q) : NULL;
        if (!cl_db_ok(r) || !cl_db_ok(ru)) {
            cl_res_db_failed(res, COMP, c, cl_db_ok(r) ? ru : r, "list media");
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON *a = cJSON_AddArrayToObject(o, "media");
            for (int i = 0; i < PQntuples(r); i++) {
                cl_media_item m;
                cl_media_from_row(r, i, &m);
                cJSON_AddItemToArray(a, cl_media_item_json(&m));
            }
            const cl_plan_limits *l = cl_policy_limits(u->plan);
            cJSON *q2 = cJSON_AddObjectToObject(o, "quota");
            cJSON_AddStringToObject(q2, "plan", cl_plan_label(u->plan));
            cJSON_AddNumberToObject(q2, "used_bytes", strtod(PQgetvalue(ru, 0, 0), NULL));
            cJSON_AddNumberToObject(q2, "used_files", strtod(PQgetvalue(ru, 0, 1), NULL));
            cJSON_AddNumberToObject(q2, "max_bytes", (double)l->media_bytes);
            cJSON_AddNumberToObject(q2, "max_files", l->media_files);
            cJSON_AddNumberToObject(q2, "max_file_bytes", CL_MEDIA_MAX_BYTES);
            cl_res_json(res, 200, o);
        }
        PQclear(r);
        PQclear(ru);
    }
}

/* POST …/keep and …/discard */
static void set_status(cl_req *req, cl_res *res, PGconn *c, const cl_user *u, const char *to)
{
    int64_t pid = cl_req_param_id(req, "id"), mid = cl_req_param_id(req, "mid");
    cl_media_item m;
    char err[256];
    int found = cl_project_owned(c, res, COMP, pid, u->id) == 1 ? cl_media_get(c, pid, mid, &m, err, sizeof err) : -2;
    if (found == -1) {
        cl_res_db_failed(res, COMP, c, NULL, "read media");
    } else if (found == 0) {
        cl_res_error(res, 404, "not_found", "No media %" PRId64 " in this project", mid);
    } else if (found == 1) {
        int st = 0;
        char code[48] = "", msg[512] = "";
        if (cl_db_begin(c) != 0) {
            st = 500;
            snprintf(code, sizeof code, "internal");
            snprintf(msg, sizeof msg, "Something went wrong on our side; nothing was changed");
        } else if (strcmp(to, "kept") == 0 && strcmp(m.status, "kept") != 0) {
            st = cl_media_quota_check(c, u->id, cl_policy_limits(u->plan), cl_plan_label(u->plan), m.bytes, code,
                                      sizeof code, msg, sizeof msg);
        }
        if (st == 0) {
            char sm[24];
            const char *p[] = {cl_db_id(sm, mid), to};
            if (cl_db_exec(c, "UPDATE media_assets SET status = $2 WHERE id = $1", 2, p, err, sizeof err) != 0 ||
                cl_db_commit(c) != 0) {
                cl_error(COMP, "set media status: %s", err);
                st = 500;
                snprintf(code, sizeof code, "internal");
                snprintf(msg, sizeof msg, "Something went wrong on our side; nothing was changed");
            }
        }
        if (st != 0) {
            cl_db_rollback(c);
            cl_res_error(res, st, code, "%s", msg);
        } else {
            snprintf(m.status, sizeof m.status, "%s", to);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddItemToObject(o, "media", cl_media_item_json(&m));
            cl_res_json(res, 200, o);
        }
    }
}

static void keep(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    set_status(req, res, c, u, "kept");
}
static void discard(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    set_status(req, res, c, u, "discarded");
}

/* DELETE /api/projects/:id/media/:mid — the row, then both files. A brand
   kit that used it as logo or font falls back to the defaults. */
static void delete_media(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t pid = cl_req_param_id(req, "id"), mid = cl_req_param_id(req, "mid");
    if (cl_project_owned(c, res, COMP, pid, u->id) == 1) {
        char sp[24], sm[24], font[32], err[256];
        snprintf(sp, sizeof sp, "%" PRId64, pid);
        snprintf(sm, sizeof sm, "%" PRId64, mid);
        snprintf(font, sizeof font, "media:%" PRId64, mid);
        const char *p[] = {sm, sp};
        const char *fp[] = {sp, font};
        PGresult *r = NULL;
        int ok = cl_db_begin(c) == 0 &&
                 cl_db_exec(c,
                            "UPDATE brand_kits SET heading_font = CASE WHEN heading_font = $2 THEN 'dejavu-sans-bold'"
                            " ELSE heading_font END, body_font = CASE WHEN body_font = $2 THEN 'dejavu-sans'"
                            " ELSE body_font END, updated_at = now() WHERE project_id = $1"
                            " AND (heading_font = $2 OR body_font = $2)",
                            2, fp, err, sizeof err) == 0;
        if (ok) {
            r = cl_db_query(c,
                            "DELETE FROM media_assets WHERE id = $1 AND project_id = $2"
                            " RETURNING storage, storage_key, normalized_key",
                            2, p);
            ok = cl_db_ok(r);
        }
        if (!ok || cl_db_commit(c) != 0) {
            cl_db_rollback(c);
            cl_res_db_failed(res, COMP, c, r, "delete media");
        } else if (PQntuples(r) == 0) {
            cl_res_error(res, 404, "not_found", "No media %" PRId64 " in this project", mid);
        } else {
            /* after the commit: a file left behind by a failed remove is harmless, a row without files is not */
            for (int k = 1; k <= 2; k++)
                if (cl_storage_remove(PQgetvalue(r, 0, 0), PQgetvalue(r, 0, k), err, sizeof err) != 0)
                    cl_warn(COMP, "%s", err);
            cl_res_json_text(res, 200, "{\"deleted\":true}");
        }
        PQclear(r);
    }
}

static const char *static_mime(const char *m)
{
    static const char *const known[] = {"image/jpeg", "image/png",  "image/webp", "image/gif", "audio/wav",
                                        "audio/mpeg", "audio/mp4",  "audio/ogg",  "audio/flac", "audio/aac",
                                        "font/ttf",   "font/otf"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(known[i], m) == 0)
            return known[i];
    return "application/octet-stream";
}

/* GET /api/media/:id/file */
static void get_file(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    static const cl_db_stmt st = {
        "media_file",
        "SELECT m.storage, m.storage_key, m.mime, m.normalized_key, m.normalized_mime, m.filename"
        " FROM media_assets m JOIN projects p ON p.id = m.project_id WHERE m.id = $1 AND p.owner_id = $2",
        2};
    char sm[24], su[24], orig[8];
    const char *p[] = {cl_db_id(sm, cl_req_param_id(req, "id")), cl_db_id(su, u->id)};
    PGresult *r = cl_db_prepared(c, &st, p);
    int original = cl_req_query(req, "original", orig, sizeof orig) && strcmp(orig, "1") == 0;
    if (!cl_db_ok(r)) {
        cl_res_db_failed(res, COMP, c, r, "read media");
    } else if (PQntuples(r) == 0) {
        cl_res_error(res, 404, "not_found", "No media %s", cl_req_param(req, "id"));
    } else {
        cl_res_header(res, "cache-control", "private, max-age=3600");
        cl_res_header(res, "x-content-type-options", "nosniff");
        cl_storage_reply(res, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, original ? 1 : 3),
                         static_mime(PQgetvalue(r, 0, original ? 2 : 4)), NULL);
    }
    PQclear(r);
}

static const cl_user_route signed_in_routes[] = {
    {"GET", "/api/projects/:id/media", list, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/projects/:id/media/:mid/keep", keep, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/projects/:id/media/:mid/discard", discard, CL_AUTH_PRODUCT, 0},
    {"DELETE", "/api/projects/:id/media/:mid", delete_media, CL_AUTH_PRODUCT, 0},
    {"GET", "/api/media/:id/file", get_file, CL_AUTH_PRODUCT, 0},
};

void cl_media_register_routes(void)
{
    cl_route("POST", "/api/projects/:id/media", upload, CL_ROUTE_UPLOAD);
    CL_ROUTE_USER_TABLE(signed_in_routes);
}
