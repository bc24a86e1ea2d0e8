/*
 * export.c — manual export bundles and the manual queue.
 *
 *   GET  /api/content-items/:id/export          one item as a ZIP
 *   GET  /api/manual-queue/export?ids=1,2,3     several items, one folder each, one ZIP
 *   GET  /api/manual-queue?channel=&status=&sort=scheduled|created&project_id=
 *   POST /api/content-items/:id/mark-posted     {posted_url?}
 *
 * A bundle holds assets/video.mp4 and assets/thumbnail.jpg (the latest
 * render, when there is one; its aspect variants as assets/video-1x1.mp4 and
 * the like, docs/composition.md), caption.txt and cta.txt (the channel-aware
 * text, post_text.c), manifest.json (item, project, channel, strategy, every
 * file's size and SHA-256, the tracking link) and README.txt (how to post it
 * on that channel). The ZIP is written by libarchive into a private file
 * under <storage>/tmp/exports that the reply unlinks as soon as it is opened
 * (cl_res_temp_file), so nothing stays behind. Exporting marks the items
 * `exported` (a posted item stays posted).
 */
#include "publishing/publishing.h"
#include "publishing/post_text.h"
#include "auth/auth.h"
#include "content/content.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "http/http.h"
#include "lua/lua_runtime.h"
#include "storage/storage.h"
#include "tracking/tracking.h"
#include "http/db_reply.h"

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define COMP "export"
#define MAX_BULK 50

/* The archive header of the regular file prefix+name (size bytes, mtime). 1 written, 0 failed. */
static int write_header(struct archive *a, const char *prefix, const char *name, int64_t size, time_t mtime)
{
    char path[256];
    snprintf(path, sizeof path, "%s%s", prefix, name);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, mtime, 0);
    int ok = archive_write_header(a, e) == ARCHIVE_OK;
    archive_entry_free(e);
    return ok;
}

/* Record a written file in the manifest's files: {"path", "bytes", "sha256" (hex of the digest d)}. */
static void list_file(cJSON *files, const char *name, int64_t bytes, const unsigned char d[32])
{
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "path", name);
    cJSON_AddNumberToObject(f, "bytes", (double)bytes);
    cJSON_AddStringToObject(f, "sha256", hex);
    cJSON_AddItemToArray(files, f);
}

/* Write one in-memory file into the archive and record it in files. 0 or -1. */
static int add_bytes(struct archive *a, const char *prefix, const char *name, const void *data, size_t len,
                     cJSON *files)
{
    int ok = write_header(a, prefix, name, (int64_t)len, time(NULL)) &&
             (len == 0 || archive_write_data(a, data, len) == (la_ssize_t)len);
    if (ok && files) {
        unsigned char md[32];
        EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
        list_file(files, name, (int64_t)len, md);
    }
    return ok ? 0 : -1;
}

/* Stream a file from disk into the archive, hashing it on the way. 0, 1 (missing: skipped) or -1. */
static int add_file(struct archive *a, const char *prefix, const char *name, const char *src, cJSON *files)
{
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return 1;
    }
    int ok = write_header(a, prefix, name, (int64_t)st.st_size, st.st_mtime);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ok = ok && md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    static __thread char buf[64 * 1024];
    int64_t total = 0;
    while (ok) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ok = n == 0 && total == (int64_t)st.st_size;
            break;
        }
        ok = archive_write_data(a, buf, (size_t)n) == n && EVP_DigestUpdate(md, buf, (size_t)n) == 1;
        total += n;
    }
    close(fd);
    unsigned char d[32];
    ok = ok && EVP_DigestFinal_ex(md, d, NULL) == 1;
    EVP_MD_CTX_free(md);
    if (ok)
        list_file(files, name, total, d);
    return ok ? 0 : -1;
}

static const char *readme_for(const char *channel)
{
    if (strcmp(channel, "instagram") == 0)
        return "How to post this on Instagram\n"
               "=============================\n\n"
               "1. Copy assets/video.mp4 to your phone (AirDrop, Google Drive, or send it to yourself).\n"
               "2. Open Instagram, tap +, choose Reel, and pick the video.\n"
               "3. On the cover step you can pick assets/thumbnail.jpg from your camera roll.\n"
               "4. Paste the text of caption.txt into the caption.\n"
               "5. Links in Instagram captions are not clickable: put the tracking link from\n"
               "   manifest.json in your bio, and say so in the call to action (cta.txt).\n"
               "6. Share. Then open ClipLoop's manual queue and mark the item posted (paste the\n"
               "   post's link if you like), so the weekly report counts it.\n";
    if (strcmp(channel, "tiktok") == 0)
        return "How to post this on TikTok\n"
               "==========================\n\n"
               "1. Copy assets/video.mp4 to your phone.\n"
               "2. Open TikTok, tap +, then Upload, and pick the video.\n"
               "3. Paste the text of caption.txt into the description.\n"
               "4. TikTok captions do not carry clickable links: put the tracking link from\n"
               "   manifest.json in your bio and point to it in the call to action (cta.txt).\n"
               "5. Post. Then mark the item posted in ClipLoop's manual queue.\n";
    return "How to post this on WhatsApp\n"
           "============================\n\n"
           "1. Copy assets/video.mp4 to your phone.\n"
           "2. Open WhatsApp, go to Updates (Status), tap the camera, and pick the video.\n"
           "   To send it to customers instead, attach it in a chat or a broadcast list.\n"
           "3. Paste the text of caption.txt as the caption; its link is clickable on WhatsApp.\n"
           "4. Send. Then mark the item posted in ClipLoop's manual queue.\n";
}

/* The latest render's aspect variants as assets/video-<w>x<h>.mp4 (docs/composition.md). 1 or -1 (err). */
static int add_variants(struct archive *a, PGconn *c, const char *sid, const char *prefix, cJSON *files, char *err,
                        size_t errlen)
{
    PGresult *r = cl_db_query(c,
                              "SELECT substr(kind, 7), storage, path FROM content_assets WHERE content_item_id = $1"
                              "   AND kind LIKE 'video\\_%' AND render_seq = (SELECT max(render_seq) FROM content_assets"
                              "   WHERE content_item_id = $1 AND kind = 'video') ORDER BY kind",
                              1, (const char *[]){sid});
    int rc = cl_db_ok(r) ? 1 : -1;
    if (rc < 0)
        cl_db_errmsg(c, r, err, errlen);
    for (int i = 0; rc > 0 && i < PQntuples(r); i++) {
        char src[2048], serr[512], name[64];
        int is_temp = 0;
        snprintf(name, sizeof name, "assets/video-%s.mp4", PQgetvalue(r, i, 0));
        if (cl_storage_local_copy(PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), src, sizeof src, &is_temp, serr,
                                  sizeof serr) != 0) {
            snprintf(err, errlen, "reading the item's %s variant failed: %.400s", PQgetvalue(r, i, 0), serr);
            rc = -1;
        } else if (add_file(a, prefix, name, src, files) < 0) {
            snprintf(err, errlen, "writing the item's %s variant into the ZIP failed", PQgetvalue(r, i, 0));
            rc = -1;
        }
        if (is_temp)
            unlink(src);
    }
    PQclear(r);
    return rc;
}

/*
 * Write item `sid` of user `uid` into the archive under prefix. 1 written,
 * 0 no such item (of this user), -1 error (err set).
 */
static int write_item(struct archive *a, PGconn *c, const char *sid, const char *uid, const char *prefix, char *err,
                      size_t errlen)
{
    const char *p[] = {sid, uid};
    PGresult *r = cl_db_query(
        c,
        "SELECT i.id, i.title, i.channel, i.publish_strategy, i.manual_status, i.draft::text, i.tracking_slug,"
        "       p.id, p.name, to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        "       (SELECT path FROM content_assets WHERE content_item_id = i.id AND kind = 'video'"
        "         ORDER BY render_seq DESC LIMIT 1),"
        "       (SELECT path FROM content_assets WHERE content_item_id = i.id AND kind = 'thumbnail'"
        "         ORDER BY render_seq DESC LIMIT 1),"
        "       to_jsonb(p)::text,"
        "       (SELECT storage FROM content_assets WHERE content_item_id = i.id AND kind = 'video'"
        "         ORDER BY render_seq DESC LIMIT 1),"
        "       (SELECT storage FROM content_assets WHERE content_item_id = i.id AND kind = 'thumbnail'"
        "         ORDER BY render_seq DESC LIMIT 1)"
        "  FROM content_items i JOIN projects p ON p.id = i.project_id WHERE i.id = $1 AND i.user_id = $2",
        2, p);
    int one = cl_db_one(c, r, err, errlen);
    if (one != 1)
        return one;
    const char *channel = PQgetvalue(r, 0, 2);
    char link[600] = "", *caption = NULL, *cta = NULL;
    if (!PQgetisnull(r, 0, 6) && cl_tracking_item_url(c, strtoll(sid, NULL, 10), link, sizeof link) != 1)
        link[0] = '\0';
    cJSON *m = cJSON_CreateObject(), *files = cJSON_CreateArray();
    int rc = cl_post_text(PQgetvalue(r, 0, 5), channel, link, &caption, &cta) == 0 ? 1 : -1;
    if (rc < 0)
        snprintf(err, errlen, "the item's draft is not readable");
    for (int k = 10; rc > 0 && k <= 11; k++) {
        if (PQgetisnull(r, 0, k))
            continue;
        /* read through the backend that holds the file (a local file, or a download) */
        char src[2048], serr[512];
        int is_temp = 0;
        if (cl_storage_local_copy(PQgetvalue(r, 0, k + 3), PQgetvalue(r, 0, k), src, sizeof src, &is_temp, serr,
                                  sizeof serr) != 0) {
            snprintf(err, errlen, "reading the item's %s failed: %.400s", k == 10 ? "video" : "thumbnail", serr);
            rc = -1;
            break;
        }
        if (add_file(a, prefix, k == 10 ? "assets/video.mp4" : "assets/thumbnail.jpg", src, files) < 0) {
            snprintf(err, errlen, "writing the item's %s into the ZIP failed", k == 10 ? "video" : "thumbnail");
            rc = -1;
        }
        if (is_temp)
            unlink(src);
    }
    if (rc > 0)
        rc = add_variants(a, c, sid, prefix, files, err, errlen);
    if (rc > 0) {
        size_t cl = strlen(caption), tl = strlen(cta);
        char *capn = malloc(cl + 2), *ctan = malloc(tl + 2);
        if (capn && ctan) {
            memcpy(capn, caption, cl), capn[cl] = '\n', capn[cl + 1] = '\0';
            memcpy(ctan, cta, tl), ctan[tl] = '\n', ctan[tl + 1] = '\0';
        }
        const char *readme = readme_for(channel);
        if (!capn || !ctan || add_bytes(a, prefix, "caption.txt", capn, cl + 1, files) != 0 ||
            add_bytes(a, prefix, "cta.txt", ctan, tl + 1, files) != 0 ||
            add_bytes(a, prefix, "README.txt", readme, strlen(readme), files) != 0) {
            snprintf(err, errlen, "writing the item's text into the ZIP failed");
            rc = -1;
        }
        free(capn);
        free(ctan);
    }
    if (rc > 0 && !PQgetisnull(r, 0, 10)) {
        /* the video's captions track, the same cues the studio serves */
        char *rules = NULL, lerr[256];
        if (cl_lua_channel_rules(channel, &rules, lerr, sizeof lerr) != 0)
            rules = NULL;
        cl_buf vtt = CL_BUF_INIT;
        if (cl_content_captions_vtt(PQgetvalue(r, 0, 5), PQgetvalue(r, 0, 12), channel, rules, &vtt, lerr,
                                    sizeof lerr) == 0 &&
            add_bytes(a, prefix, "assets/captions.vtt", vtt.data, vtt.len, files) != 0) {
            snprintf(err, errlen, "writing the item's captions into the ZIP failed");
            rc = -1;
        }
        cl_buf_free(&vtt);
        free(rules);
    }
    if (rc > 0) {
        cJSON *item = cJSON_AddObjectToObject(m, "item");
        cJSON_AddNumberToObject(item, "id", strtod(PQgetvalue(r, 0, 0), NULL));
        cJSON_AddStringToObject(item, "title", PQgetvalue(r, 0, 1));
        cJSON_AddStringToObject(item, "created_at", PQgetvalue(r, 0, 9));
        cJSON *proj = cJSON_AddObjectToObject(m, "project");
        cJSON_AddNumberToObject(proj, "id", strtod(PQgetvalue(r, 0, 7), NULL));
        cJSON_AddStringToObject(proj, "name", PQgetvalue(r, 0, 8));
        cJSON_AddStringToObject(m, "channel", channel);
        cJSON_AddStringToObject(m, "strategy", PQgetvalue(r, 0, 3));
        if (link[0])
            cJSON_AddStringToObject(m, "tracking_link", link);
        else
            cJSON_AddNullToObject(m, "tracking_link");
        cJSON_AddBoolToObject(m, "tracking_link_in_caption", link[0] && cl_post_links_allowed(channel));
        cJSON_AddItemToObject(m, "files", files);
        files = NULL;
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        cJSON_AddStringToObject(m, "exported_at", stamp);
        char *text = cJSON_Print(m);
        if (!text || add_bytes(a, prefix, "manifest.json", text, strlen(text), NULL) != 0) {
            snprintf(err, errlen, "writing the manifest into the ZIP failed");
            rc = -1;
        }
        cJSON_free(text);
    }
    cJSON_Delete(files);
    cJSON_Delete(m);
    free(caption);
    free(cta);
    PQclear(r);
    return rc;
}

/* A new private file for a bundle under <storage>/tmp/exports. 0 or -1. */
static int temp_zip(char *path, size_t len)
{
    return cl_storage_temp("exports", "bundle-", 0, path, len);
}

static struct archive *open_zip(const char *path)
{
    struct archive *a = archive_write_new();
    if (!a)
        return NULL;
    /* Videos are compressed already; storing keeps exports fast. */
    if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
        archive_write_set_format_option(a, "zip", "compression", "store") != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a, 256 * 1024) != ARCHIVE_OK ||
        archive_write_open_filename(a, path) != ARCHIVE_OK) {
        archive_write_free(a);
        return NULL;
    }
    return a;
}

/* Mark the exported items (ids as a Postgres array literal) of uid. */
static void mark_exported(PGconn *c, const char *ids, const char *uid)
{
    char err[256];
    const char *p[] = {ids, uid};
    if (cl_db_exec(c,
                   "UPDATE content_items SET manual_status = CASE WHEN manual_status = 'posted' THEN 'posted'"
                   " ELSE 'exported' END, exported_at = now(), updated_at = now()"
                   " WHERE id = ANY($1::bigint[]) AND user_id = $2",
                   2, p, err, sizeof err) != 0)
        cl_error(COMP, "marking items exported failed: %s", err);
}

/* Build and send the bundle for ids[0..n) (bulk: one folder per item). */
static void send_bundle(cl_req *req, cl_res *res, PGconn *c, const cl_user *u, const int64_t *ids, int n, int bulk)
{
    char path[1200], err[512] = "", uid[24], name[96];
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    if (temp_zip(path, sizeof path) != 0) {
        cl_error(COMP, "cannot create a temporary export file under %s/tmp/exports: %s", cl_cfg.storage_dir,
                 strerror(errno));
        cl_res_error(res, 500, "internal", "Could not prepare the export; nothing was changed");
        return;
    }
    struct archive *a = open_zip(path);
    int rc = a ? 1 : -1;
    int64_t missing = 0;
    cl_buf arr = CL_BUF_INIT;
    cl_buf_puts(&arr, "{");
    for (int i = 0; rc > 0 && i < n; i++) {
        char sid[24], prefix[64] = "";
        snprintf(sid, sizeof sid, "%" PRId64, ids[i]);
        if (bulk)
            snprintf(prefix, sizeof prefix, "item-%" PRId64 "/", ids[i]);
        rc = write_item(a, c, sid, uid, prefix, err, sizeof err);
        if (rc == 0)
            missing = ids[i];
        cl_buf_printf(&arr, "%s%s", i ? "," : "", sid);
    }
    cl_buf_puts(&arr, "}");
    if (a && archive_write_close(a) != ARCHIVE_OK && rc > 0) {
        snprintf(err, sizeof err, "%s", archive_error_string(a) ? archive_error_string(a) : "closing the ZIP failed");
        rc = -1;
    }
    if (a)
        archive_write_free(a);
    if (rc == 0) {
        unlink(path);
        cl_res_error(res, 404, "not_found", "No content item %" PRId64, missing);
    } else if (rc < 0) {
        unlink(path);
        cl_error(COMP, "export failed: %s", err);
        cl_res_error(res, 500, "export_failed", "The export could not be written; nothing was changed");
    } else {
        mark_exported(c, arr.data, uid);
        if (bulk)
            snprintf(name, sizeof name, "attachment; filename=\"cliploop-export-%d-items.zip\"", n);
        else
            snprintf(name, sizeof name, "attachment; filename=\"cliploop-item-%" PRId64 ".zip\"", ids[0]);
        cl_res_header(res, "content-disposition", name);
        if (cl_res_temp_file(res, path, "application/zip") != 0)
            cl_res_error(res, 500, "internal", "out of memory");
    }
    cl_buf_free(&arr);
    (void)req;
}

/* GET /api/content-items/:id/export */
static void export_item(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t id = cl_req_param_id(req, "id");
    if (id <= 0)
        cl_res_error(res, 404, "not_found", "No content item %s", cl_req_param(req, "id"));
    else
        send_bundle(req, res, c, u, &id, 1, 0);
}

/* GET /api/manual-queue/export?ids=1,2,3 */
static void export_bulk(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char list[1024];
    int64_t ids[MAX_BULK];
    int n = 0, bad = !cl_req_query(req, "ids", list, sizeof list) || !list[0];
    for (char *s = list, *tok; !bad && (tok = strsep(&s, ","));) {
        char *end;
        long long v = strtoll(tok, &end, 10);
        if (!*tok || *end || v <= 0 || n == MAX_BULK) {
            bad = 1;
            break;
        }
        int dup = 0;
        for (int i = 0; i < n; i++)
            dup |= ids[i] == v;
        if (!dup)
            ids[n++] = v;
    }
    if (bad)
        cl_res_error(res, 400, "invalid_ids", "ids must be 1 to %d item ids separated by commas", MAX_BULK);
    else
        send_bundle(req, res, c, u, ids, n, 1);
}

/* GET /api/manual-queue?channel=&status=&sort=&project_id= */
static void manual_queue(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char channel[16] = "", status[24] = "", sort[16] = "", uid[24], pid[24] = "";
    cl_req_query(req, "channel", channel, sizeof channel);
    cl_req_query(req, "status", status, sizeof status);
    cl_req_query(req, "sort", sort, sizeof sort);
    int ok_num;
    long project = cl_req_query_long(req, "project_id", 0, &ok_num);
    if (channel[0] && strcmp(channel, "instagram") && strcmp(channel, "tiktok") && strcmp(channel, "whatsapp")) {
        cl_res_error(res, 400, "invalid_channel", "channel must be instagram, tiktok or whatsapp");
    } else if (status[0] && strcmp(status, "ready_for_export") && strcmp(status, "exported") &&
               strcmp(status, "posted")) {
        cl_res_error(res, 400, "invalid_status", "status must be ready_for_export, exported or posted");
    } else if (sort[0] && strcmp(sort, "scheduled") && strcmp(sort, "created")) {
        cl_res_error(res, 400, "invalid_sort", "sort must be scheduled or created");
    } else if (!ok_num || project < 0) {
        cl_res_error(res, 400, "invalid_project", "project_id must be a project id");
    } else {
        snprintf(uid, sizeof uid, "%" PRId64, u->id);
        if (project > 0)
            snprintf(pid, sizeof pid, "%ld", project);
        const char *p[] = {uid, channel[0] ? channel : NULL, status[0] ? status : NULL, pid[0] ? pid : NULL};
        const char *sql_sched =
            "SELECT row_to_json(q)::text FROM (SELECT i.id, i.project_id, p.name AS project_name, i.channel, i.title,"
            "  i.status AS render_status, i.publish_status, coalesce(i.manual_status, 'ready_for_export') AS manual_status,"
            "  i.draft, i.scheduled_at, i.created_at, i.exported_at, i.posted_at, i.posted_url,"
            "  (SELECT id FROM content_assets WHERE content_item_id = i.id AND kind = 'video'"
            "    ORDER BY render_seq DESC LIMIT 1) AS video_asset_id,"
            "  (SELECT id FROM content_assets WHERE content_item_id = i.id"
            "    AND kind IN ('thumbnail', 'thumbnail_small')" /* the list shows the small one */
            "    ORDER BY render_seq DESC, kind = 'thumbnail_small' DESC LIMIT 1) AS thumbnail_asset_id"
            "  FROM content_items i JOIN projects p ON p.id = i.project_id"
            " WHERE i.user_id = $1 AND i.publish_strategy = 'manual_export' AND i.publish_status <> 'skipped'"
            "   AND ($2::text IS NULL OR i.channel = $2) AND ($3::text IS NULL OR coalesce(i.manual_status,"
            "   'ready_for_export') = $3) AND ($4::bigint IS NULL OR i.project_id = $4)"
            " ORDER BY %s LIMIT 200) q";
        char sql[2048];
        snprintf(sql, sizeof sql, sql_sched,
                 strcmp(sort, "created") == 0 ? "i.created_at DESC, i.id DESC"
                                              : "i.scheduled_at ASC NULLS LAST, i.created_at DESC, i.id DESC");
        PGresult *r = cl_res_db_query(res, COMP, c, "manual queue", sql, 4, p);
        if (r) {
            cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "items");
            for (int i = 0; i < PQntuples(r); i++) {
                cJSON *it = cJSON_Parse(PQgetvalue(r, i, 0));
                if (it)
                    cJSON_AddItemToArray(arr, it);
            }
            cJSON_AddNumberToObject(o, "count", PQntuples(r));
            cl_res_json(res, 200, o);
        }
        PQclear(r);
    }
}

int cl_publishing_posted_body(const cJSON *body, const char **url, cl_body_err *e)
{
    const cJSON *v = cJSON_GetObjectItem(body, "posted_url");
    const char *us = cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
    *url = NULL;
    if (v && !cJSON_IsNull(v) && !cJSON_IsString(v))
        return cl_body_field(e, 422, "posted_url", "posted_url must be a link (text)");
    if (us && ((strncmp(us, "https://", 8) && strncmp(us, "http://", 7)) || strlen(us) > 2000 ||
               strpbrk(us, " \t\r\n\"<>")))
        return cl_body_field(e, 422, "posted_url", "posted_url must be an http(s) link of at most 2000 characters");
    *url = us;
    return 0;
}

/* POST /api/content-items/:id/mark-posted {posted_url?} */
static void mark_posted(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    cJSON *body = req->body_len ? cl_req_json(req, res) : cJSON_CreateObject();
    if (!body)
        return;
    const char *us;
    cl_body_err be = {0};
    if (cl_publishing_posted_body(body, &us, &be) != 0) {
        cl_res_body_error(res, &be);
    } else {
        char sid[24], uid[24];
        const char *p[] = {cl_db_id(sid, cl_req_param_id(req, "id")), cl_db_id(uid, u->id), us};
        PGresult *r =
            cl_res_db_query(res, COMP, c, "mark posted",
                            "UPDATE content_items SET manual_status = 'posted', posted_at = now(),"
                            " posted_url = coalesce($3, posted_url), updated_at = now()"
                            " WHERE id = $1 AND user_id = $2 AND publish_strategy = 'manual_export'"
                            " RETURNING manual_status, posted_url,"
                            " to_char(posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
                            3, p);
        if (r && PQntuples(r) == 0) {
            /* Not the user's, or published directly (not a manual item). */
            PGresult *e = cl_db_query(c, "SELECT 1 FROM content_items WHERE id = $1 AND user_id = $2", 2, p);
            if (cl_db_ok(e) && PQntuples(e) == 1)
                cl_res_error(res, 409, "not_manual", "Only manual-export items are marked posted by hand");
            else
                cl_res_error(res, 404, "not_found", "No content item %s", sid);
            PQclear(e);
        } else if (r) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "id", strtod(sid, NULL));
            cJSON_AddStringToObject(o, "manual_status", PQgetvalue(r, 0, 0));
            if (PQgetisnull(r, 0, 1))
                cJSON_AddNullToObject(o, "posted_url");
            else
                cJSON_AddStringToObject(o, "posted_url", PQgetvalue(r, 0, 1));
            cJSON_AddStringToObject(o, "posted_at", PQgetvalue(r, 0, 2));
            cl_res_json(res, 200, o);
        }
        PQclear(r);
    }
    cJSON_Delete(body);
}

static const cl_user_route signed_in_routes[] = {
    {"GET", "/api/content-items/:id/export", export_item, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/content-items/:id/mark-posted", mark_posted, CL_AUTH_PRODUCT, 0},
    {"GET", "/api/manual-queue", manual_queue, CL_AUTH_PRODUCT, 0},
    {"GET", "/api/manual-queue/export", export_bulk, CL_AUTH_PRODUCT, 0},
};

void cl_publishing_register_export_routes(void)
{
    CL_ROUTE_USER_TABLE(signed_in_routes);
}
