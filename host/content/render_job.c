/*
 * render_job.c — the durable job "render.content_item", run by the worker.
 *
 * payload: {"content_item_id", "render_seq", "user_id", "charge_key"}
 *
 * One attempt: read the item and its project, build the composition
 * (draft + project profile + the channel's Lua rules), render it into
 * a private temporary directory, put both files into the configured storage
 * (host/storage) under generated/content-items/<id>/<UTC timestamp>-r<seq>/,
 * then record them (key, backend, size, SHA-256) in content_assets and mark
 * the item rendered — in one transaction. The temporary directory always
 * goes; a failed attempt also removes what it had stored.
 * A failure that will not be retried (a permanent error, or the last
 * attempt) marks the item render_failed and refunds the render credit with a
 * compensating ledger entry in the same transaction. A render superseded by
 * a newer request for the same item is dropped without touching the item.
 */
#include "content/content.h"
#include "content/item_composition.h"
#include "content/variants.h"
#include "content/soundtrack.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "credits/credits.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "lua/lua_runtime.h"
#include "render/composition.h"
#include "render/render.h"
#include "render/thumb.h"
#include "storage/storage.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define COMP "render-job"

#define MAX_OBSERVERS 8
static cl_render_observer observers[MAX_OBSERVERS];
static int nobservers;

int cl_content_on_render_finished(cl_render_observer fn)
{
    if (nobservers == MAX_OBSERVERS)
        return -1;
    observers[nobservers++] = fn;
    return 0;
}

static void notify_finished(PGconn *c, int64_t item_id)
{
    for (int i = 0; i < nobservers; i++)
        observers[i](c, item_id);
}

typedef struct {
    int64_t item_id, user_id;
    int seq;
    char charge_key[128];
} render_payload;

static int parse_payload(const char *json, render_payload *p, char *err, size_t errlen)
{
    cJSON *o = cJSON_Parse(json);
    const cJSON *id = cJSON_GetObjectItem(o, "content_item_id"), *seq = cJSON_GetObjectItem(o, "render_seq"),
                *user = cJSON_GetObjectItem(o, "user_id");
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(o, "charge_key"));
    int ok = cl_json_id(id) && cJSON_IsNumber(seq) && cl_json_id(user) && key && strlen(key) < sizeof p->charge_key;
    if (ok) {
        p->item_id = cl_json_id(id);
        p->user_id = cl_json_id(user);
        p->seq = seq->valueint;
        snprintf(p->charge_key, sizeof p->charge_key, "%s", key);
    } else {
        snprintf(err, errlen, "render payload must have content_item_id, render_seq, user_id, charge_key");
    }
    cJSON_Delete(o);
    return ok ? 0 : -1;
}

/* Mark the item failed and refund its charge, once, in one transaction. */
static void fail_and_refund(PGconn *c, const render_payload *p, const char *why)
{
    char id[24], seq[16], err[256];
    snprintf(id, sizeof id, "%" PRId64, p->item_id);
    snprintf(seq, sizeof seq, "%d", p->seq);
    const char *q[] = {id, seq, why};
    cl_receipt receipt;
    if (cl_db_begin(c) != 0)
        return;
    int ok = cl_db_exec(c,
                        "UPDATE content_items SET status = 'render_failed', render_error = $3, updated_at = now()"
                        " WHERE id = $1 AND render_seq = $2 AND status = 'rendering'",
                        3, q, err, sizeof err) == 0;
    int rc = ok ? cl_credits_refund(c, p->user_id, p->charge_key, &receipt, err, sizeof err) : -1;
    if (ok && (rc == CL_CREDITS_OK || rc == CL_CREDITS_NOT_FOUND) && cl_db_commit(c) == 0) {
        cl_info(COMP, "content item %" PRId64 " render %d failed; render credit refunded", p->item_id, p->seq);
        notify_finished(c, p->item_id);
        return;
    }
    cl_error(COMP, "could not record the failed render of item %" PRId64 ": %s", p->item_id, err);
    cl_db_rollback(c);
}

static int is_retryable(int code)
{
    return code == CL_ETIMEOUT || code == CL_EUPSTREAM || code == CL_ERATELIMIT || code == CL_EIO ||
           code == CL_ENOMEM;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* A new private directory <storage>/tmp/renders/item<id>-r<seq>-XXXXXX. 0 or -1 (errno). */
static int render_temp_dir(int64_t item_id, int seq, char *out, size_t len)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "item%" PRId64 "-r%d-", item_id, seq);
    return cl_storage_temp("renders", prefix, 1, out, len);
}

/* A failed attempt keeps nothing stored: the keys it had put go again
   (local storage also removes the item's folders when they become empty). */
static void remove_stored(const char *key)
{
    char serr[512];
    if (key[0] && cl_storage_remove(NULL, key, serr, sizeof serr) != 0)
        cl_warn(COMP, "%s", serr);
}

/* 1 when a renderer's message says the file could not be written because
   the storage is full (no space, over a quota or a file-size limit). The
   renderers put strerror's words into their write errors. */
static int storage_full(const char *msg)
{
    static const int codes[] = {ENOSPC, EDQUOT, EFBIG};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (strstr(msg, strerror(codes[i])))
            return 1;
    return 0;
}

/* The captions the video burns in, as the item keeps them for its WebVTT
   track (captions.c): {"mode": "words"|"lines"|"none", "cues": [{"text",
   "start", "end"}]} (malloc'd), or NULL (out of memory). */
static char *burned_captions(const char *comp_json)
{
    cJSON *cj = cJSON_Parse(comp_json), *track = cJSON_CreateObject();
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(cj, "captions"), *cue;
    const char *mode = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(caps, "mode"));
    cJSON_AddStringToObject(track, "mode", mode ? mode : "none");
    cJSON *cues = cJSON_AddArrayToObject(track, "cues");
    cJSON_ArrayForEach(cue, cJSON_GetObjectItemCaseSensitive(caps, "cues"))
    {
        cJSON *one = cJSON_CreateObject();
        static const char *const keys[] = {"text", "start", "end"};
        for (size_t i = 0; i < 3; i++)
            cJSON_AddItemToObject(one, keys[i], cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(cue, keys[i]), 0));
        cJSON_AddItemToArray(cues, one);
    }
    char *text = cJSON_PrintUnformatted(track);
    cJSON_Delete(track);
    cJSON_Delete(cj);
    return text;
}

static int render_content_item(const cl_job *job, cl_call *call, cl_buf *result, char *err, size_t errlen)
{
    render_payload p;
    if (parse_payload(job->payload, &p, err, errlen) != 0)
        return -1;
    char dberr[256];
    PGconn *c = cl_db_connect(cl_cfg.database_url, dberr, sizeof dberr);
    if (!c) {
        snprintf(err, errlen, "database unavailable: %s", dberr);
        return 1;
    }
    char id[24], uid[24];
    const char *q[] = {cl_db_id(id, p.item_id), cl_db_id(uid, p.user_id)};
    PGresult *r = cl_db_query(c,
                              "SELECT i.draft::text, i.channel, i.render_seq, to_jsonb(pr)::text, i.project_id,"
                              "       i.audio::text"
                              "  FROM content_items i JOIN projects pr ON pr.id = i.project_id"
                              " WHERE i.id = $1 AND i.user_id = $2",
                              2, q);
    int rc = 0;
    char *rules = NULL;
    cl_buf comp = CL_BUF_INIT;
    char out_dir[2048] = "", vrel[320] = "", trel[320] = "", srel[320] = "";
    int stored_v = 0, stored_t = 0, stored_s = 0;
    cl_variant_set vs = {0};
    cl_buf vcomps[CL_MAX_VARIANTS] = {CL_BUF_INIT, CL_BUF_INIT, CL_BUF_INIT, CL_BUF_INIT};
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, dberr, sizeof dberr);
        snprintf(err, errlen, "reading the content item failed: %s", dberr);
        rc = 1;
        goto out;
    }
    if (PQntuples(r) == 0) {
        snprintf(err, errlen, "content item %" PRId64 " no longer exists", p.item_id);
        rc = -1;
        goto out;
    }
    if (atoi(PQgetvalue(r, 0, 2)) != p.seq) {
        /* A newer render request replaced this one; it owns the item now. */
        snprintf(err, errlen, "superseded by a newer render of item %" PRId64, p.item_id);
        cl_credits_refund(c, p.user_id, p.charge_key, &(cl_receipt){0}, dberr, sizeof dberr);
        rc = -1;
        goto out;
    }
    const char *channel = PQgetvalue(r, 0, 1);
    char lerr[256];
    if (cl_lua_channel_rules(channel, &rules, lerr, sizeof lerr) != 0) {
        cl_warn(COMP, "channel rules for %s unavailable (%s); using defaults", channel, lerr);
        rules = NULL;
    }
    /* The storage key: generated/content-items/<id>/<UTC timestamp>-r<seq>/.
       The renderer writes into a private local directory; the files are then
       put into the configured storage (STORAGE) under that key. */
    char rel[256], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(rel, sizeof rel, "generated/content-items/%" PRId64 "/%s-r%d", p.item_id, stamp, p.seq);
    if (render_temp_dir(p.item_id, p.seq, out_dir, sizeof out_dir) != 0) {
        int e = errno;
        out_dir[0] = '\0';
        if (e == ENOSPC || e == EDQUOT) {
            snprintf(err, errlen, "There was no room left to store the video, so nothing was kept. "
                                  "Try the render again later.");
        } else {
            snprintf(err, errlen, "cannot create a temporary render directory under %s/tmp/renders: %s",
                     cl_cfg.storage_dir, strerror(e));
        }
        rc = 1;
        goto fail;
    }
    /* The item's template on its draft, brand kit and images (materialized into out_dir). */
    cl_item_comp_input ci = {.project_id = strtoll(PQgetvalue(r, 0, 4), NULL, 10),
                             .draft_json = PQgetvalue(r, 0, 0),
                             .profile_json = PQgetvalue(r, 0, 3),
                             .channel = channel,
                             .rules_json = rules,
                             .audio_json = PQgetvalue(r, 0, 5),
                             .work_dir = out_dir};
    char tpl[64] = "";
    if (cl_item_composition(c, &ci, &comp, tpl, sizeof tpl, err, errlen) != 0) {
        rc = -1;
        goto fail;
    }
    /* The voiceover, the music and the captions (soundtrack.c): a voice that
       cannot be made fails the render with the engine's words. */
    int scode = 0;
    if (cl_soundtrack_apply(c, ci.project_id, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 5), rules,
                            out_dir, call, &comp, &scode, err, errlen) != 0) {
        cl_warn(COMP, "content item %" PRId64 ": %s", p.item_id, err);
        rc = is_retryable(scode) ? 1 : -1;
        goto fail;
    }
    /* The aspect variants the channel's rules list, from the same template and
       soundtrack, rendered with the primary (one renderer call when it can). */
    cJSON *pc = cJSON_Parse(comp.data);
    int pw = cJSON_GetObjectItem(pc, "width") ? cJSON_GetObjectItem(pc, "width")->valueint : 1080;
    int ph = cJSON_GetObjectItem(pc, "height") ? cJSON_GetObjectItem(pc, "height")->valueint : 1920;
    cJSON_Delete(pc);
    if (cl_variants_build(&ci, c, comp.data, pw, ph, &vs, vcomps, &scode, err, errlen) != 0) {
        cl_warn(COMP, "content item %" PRId64 ": %s", p.item_id, err);
        rc = is_retryable(scode) ? 1 : -1;
        goto fail;
    }
    const char *comps[1 + CL_MAX_VARIANTS] = {comp.data};
    const char *dirs[1 + CL_MAX_VARIANTS] = {out_dir};
    char vdirs[CL_MAX_VARIANTS][2100];
    for (int i = 0; i < vs.n; i++) {
        snprintf(vdirs[i], sizeof vdirs[i], "%s/v-%s", out_dir, vs.v[i].suffix);
        comps[1 + i] = vcomps[i].data;
        dirs[1 + i] = vdirs[i];
    }
    cl_render_result all[1 + CL_MAX_VARIANTS], res;
    cl_error rerr;
    memset(&rerr, 0, sizeof rerr);
    int calls = 0;
    int code = cl_render_compositions(comps, dirs, 1 + vs.n, NULL, call, all, &calls, &rerr);
    res = all[0];
    if (code != CL_OK) {
        if (code == CL_EIO && storage_full(rerr.message)) {
            /* The user sees this: say what happened, not where. */
            cl_warn(COMP, "content item %" PRId64 ": the video could not be stored: %s", p.item_id, rerr.message);
            snprintf(err, errlen, "There was no room left to store the video, so nothing was kept. "
                                  "Try the render again later.");
        } else {
            snprintf(err, errlen, "%s", rerr.message[0] ? rerr.message : "the renderer failed");
        }
        rc = is_retryable(code) ? 1 : -1;
        goto fail;
    }

    long long vbytes = file_size(res.video_path), tbytes = file_size(res.thumbnail_path);
    if (vbytes <= 0 || tbytes <= 0) {
        snprintf(err, errlen, "the renderer reported success but wrote no video or thumbnail");
        rc = -1;
        goto fail;
    }
    /* The small thumbnail for cards and lists, made beside the full one (FFmpeg libraries). */
    char small_path[2400], serr[256];
    snprintf(small_path, sizeof small_path, "%s/%s", out_dir, CL_RENDER_THUMBNAIL_SMALL_NAME);
    if (cl_thumbnail_small(res.thumbnail_path, small_path, CL_RENDER_THUMBNAIL_SMALL_WIDTH, NULL, NULL, serr,
                           sizeof serr) != 0) {
        snprintf(err, errlen, "making the small thumbnail failed: %s", serr);
        rc = -1;
        goto fail;
    }
    char vb[24], tb[24], sb[24], seq[16], vsha[65], tsha[65], ssha[65], backend[64];
    int64_t vsize = 0, tsize = 0, ssize = 0;
    snprintf(vrel, sizeof vrel, "%s/%s", rel, CL_RENDER_VIDEO_NAME);
    snprintf(trel, sizeof trel, "%s/%s", rel, CL_RENDER_THUMBNAIL_NAME);
    snprintf(srel, sizeof srel, "%s/%s", rel, CL_RENDER_THUMBNAIL_SMALL_NAME);
    scode = 0;
    if (!(stored_v = cl_storage_put(vrel, res.video_path, "video/mp4", &vsize, vsha, backend, &scode, err, errlen) == 0) ||
        !(stored_t = cl_storage_put(trel, res.thumbnail_path, "image/jpeg", &tsize, tsha, backend, &scode, err, errlen) == 0) ||
        !(stored_s = cl_storage_put(srel, small_path, "image/jpeg", &ssize, ssha, backend, &scode, err, errlen) == 0)) {
        /* The user sees this: say what happened, not where (the log has the detail). */
        cl_warn(COMP, "content item %" PRId64 ": the video could not be stored: %s", p.item_id, err);
        if (storage_full(err))
            snprintf(err, errlen, "There was no room left to store the video, so nothing was kept. "
                                  "Try the render again later.");
        else
            snprintf(err, errlen, "The video could not be stored (the storage service did not accept it), "
                                  "so nothing was kept. Try the render again later.");
        rc = is_retryable(scode) || scode == CL_EUNSUPPORTED || scode == CL_EAUTH ? 1 : -1;
        goto fail;
    }
    for (int i = 0; i < vs.n; i++)
        if (cl_variants_store(&vs, i, rel, all[1 + i].video_path, all[1 + i].thumbnail_path, &scode, err, errlen) != 0) {
            cl_warn(COMP, "content item %" PRId64 ": a variant could not be stored: %s", p.item_id, err);
            rc = is_retryable(scode) || scode == CL_EUNSUPPORTED || scode == CL_EAUTH ? 1 : -1;
            goto fail;
        }
    snprintf(vb, sizeof vb, "%" PRId64, vsize);
    snprintf(tb, sizeof tb, "%" PRId64, tsize);
    snprintf(sb, sizeof sb, "%" PRId64, ssize);
    snprintf(seq, sizeof seq, "%d", p.seq);
    const char *a[] = {id, vrel, vb, trel, tb, res.renderer, seq, backend, vsha, tsha, srel, sb, ssha};
    char *track = burned_captions(comp.data);
    if (!track)
        snprintf(dberr, sizeof dberr, "out of memory");
    if (!track || cl_db_begin(c) != 0 ||
        cl_db_exec(c,
                   "INSERT INTO content_assets (content_item_id, kind, path, mime, bytes, renderer, render_seq,"
                   "                            storage, sha256)"
                   " VALUES ($1, 'video', $2, 'video/mp4', $3, $6, $7, $8, $9),"
                   "        ($1, 'thumbnail', $4, 'image/jpeg', $5, $6, $7, $8, $10),"
                   "        ($1, 'thumbnail_small', $11, 'image/jpeg', $12, $6, $7, $8, $13)"
                   " ON CONFLICT (content_item_id, render_seq, kind) DO UPDATE"
                   "   SET path = EXCLUDED.path, bytes = EXCLUDED.bytes, renderer = EXCLUDED.renderer,"
                   "       storage = EXCLUDED.storage, sha256 = EXCLUDED.sha256",
                   13, a, dberr, sizeof dberr) != 0 ||
        cl_variants_record(c, p.item_id, p.seq, res.renderer, &vs, dberr, sizeof dberr) != 0 ||
        cl_db_exec(c,
                   "UPDATE content_items SET status = 'rendered', render_error = NULL, updated_at = now(),"
                   "       draft = jsonb_set(jsonb_set(draft, '{template}', to_jsonb($3::text)),"
                   "                         '{captions_track}', $4::jsonb)"
                   " WHERE id = $1 AND render_seq = $2",
                   4, (const char *[]){id, seq, tpl, track}, dberr, sizeof dberr) != 0 ||
        cl_db_commit(c) != 0) {
        cl_db_rollback(c);
        free(track);
        snprintf(err, errlen, "recording the rendered files failed: %s", dberr);
        rc = 1;
        goto fail;
    }
    free(track);
    /* The result names the words the renderer drew (role -> text), so what
       the item shows can be checked against what the video says. */
    cJSON *out = cJSON_CreateObject(), *drawn = cJSON_AddObjectToObject(out, "drawn");
    cJSON_AddNumberToObject(out, "content_item_id", (double)p.item_id);
    cJSON_AddStringToObject(out, "renderer", res.renderer);
    cJSON_AddStringToObject(out, "template", tpl);
    cJSON_AddNumberToObject(out, "seconds", round(res.seconds * 100) / 100);
    /* the videos (primary + variants) and the renderer calls that made them */
    cJSON_AddNumberToObject(out, "videos", 1 + vs.n);
    cJSON_AddNumberToObject(out, "renderer_calls", calls);
    cJSON *cj = cJSON_Parse(comp.data);
    const cJSON *layer;
    cJSON_ArrayForEach(layer, cJSON_GetObjectItemCaseSensitive(cj, "layers"))
    {
        const char *role = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(layer, "role"));
        const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(layer, "text"));
        if (role && text && !cJSON_GetObjectItemCaseSensitive(drawn, role))
            cJSON_AddStringToObject(drawn, role, text);
    }
    /* what the soundtrack held (soundtrack.c): voice, music, caption cues */
    const cJSON *au = cJSON_GetObjectItemCaseSensitive(cj, "audio"), *caps = cJSON_GetObjectItemCaseSensitive(cj, "captions");
    cJSON *st = cJSON_AddObjectToObject(out, "soundtrack");
    cJSON_AddBoolToObject(st, "voiceover", cJSON_GetObjectItemCaseSensitive(au, "voiceover") != NULL);
    cJSON_AddBoolToObject(st, "music", cJSON_GetObjectItemCaseSensitive(au, "music") != NULL);
    cJSON_AddNumberToObject(st, "duration", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cj, "duration")));
    cJSON_AddNumberToObject(st, "caption_cues", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(caps, "cues")));
    if (caps)
        cJSON_AddStringToObject(st, "caption_mode", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(caps, "mode")) ?: "");
    cJSON_Delete(cj);
    char *out_text = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    if (out_text)
        cl_buf_puts(result, out_text);
    free(out_text);
    cl_info(COMP, "content item %" PRId64 " rendered by %s in %.1fs", p.item_id, res.renderer, res.seconds);
    notify_finished(c, p.item_id);
    goto out;

fail:
    if (stored_v)
        remove_stored(vrel);
    if (stored_t)
        remove_stored(trel);
    if (stored_s)
        remove_stored(srel);
    cl_variants_unstore(&vs);
    /* Retryable failures keep the item rendering until the last attempt. */
    if (rc < 0 || job->attempt >= job->max_attempts)
        fail_and_refund(c, &p, err);
out:
    if (out_dir[0])
        cl_render_remove_tree(out_dir);
    PQclear(r);
    free(rules);
    cl_buf_free(&comp);
    for (int i = 0; i < CL_MAX_VARIANTS; i++)
        cl_buf_free(&vcomps[i]);
    PQfinish(c);
    return rc;
}

/*
 * Dead letter: the render job ended failed or dead. When its last attempt
 * died by lease expiry (the worker was killed, or hung) the handler never
 * ran its failure path, so the item would stay "rendering" forever and the
 * credit would be kept. Unless this render's files were recorded (the
 * credit bought its result), mark the item render_failed (only while this
 * render still owns it) and refund the charge — one transaction. The user
 * can render again from render_failed.
 */
static int render_dead_letter(PGconn *c, const cl_job *job, const char *last_error, char *err, size_t errlen)
{
    (void)last_error;
    render_payload p;
    if (parse_payload(job->payload, &p, err, errlen) != 0)
        return 0; /* nothing to undo that we could name */
    char id[24], seq[16], why[160];
    snprintf(id, sizeof id, "%" PRId64, p.item_id);
    snprintf(seq, sizeof seq, "%d", p.seq);
    snprintf(why, sizeof why, "the render stopped without finishing on each of its %d attempt%s", job->attempt,
             job->attempt == 1 ? "" : "s");
    PGresult *r = cl_db_query(c, "SELECT EXISTS (SELECT 1 FROM content_assets WHERE content_item_id = $1 AND render_seq = $2)",
                              2, (const char *[]){id, seq});
    if (cl_db_check(c, r, err, errlen) != 0)
        return -1;
    int rendered = !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    if (rendered)
        return 0;
    if (cl_db_begin(c) != 0) {
        snprintf(err, errlen, "begin failed");
        return -1;
    }
    r = cl_db_query(c,
                    "UPDATE content_items SET status = 'render_failed', render_error = $3, updated_at = now()"
                    " WHERE id = $1 AND render_seq = $2 AND status = 'rendering' RETURNING id",
                    3, (const char *[]){id, seq, why});
    int ok = cl_db_ok(r), moved = ok && PQntuples(r) == 1;
    if (!ok)
        cl_db_errmsg(c, r, err, errlen);
    PQclear(r);
    cl_receipt receipt;
    int rc = ok ? cl_credits_refund(c, p.user_id, p.charge_key, &receipt, err, errlen) : CL_CREDITS_ERROR;
    if ((rc == CL_CREDITS_OK || rc == CL_CREDITS_NOT_FOUND) && cl_db_commit(c) == 0) {
        if (moved || (rc == CL_CREDITS_OK && !receipt.replayed))
            cl_info(COMP, "render job %" PRId64 " of content item %" PRId64 " ended %s; item %s, render credit refunded",
                    job->id, p.item_id, job->attempt >= job->max_attempts ? "dead" : "failed",
                    moved ? "marked render_failed" : "left as it was");
        if (moved)
            notify_finished(c, p.item_id);
        return 0;
    }
    cl_db_rollback(c);
    return -1;
}

int cl_content_register_jobs(void)
{
    if (cl_job_register("render.content_item", render_content_item) != 0)
        return -1;
    return cl_job_register_dead_letter("render.content_item", render_dead_letter);
}
