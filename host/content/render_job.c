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
#include "core/json_out.h"
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

/* One attempt's state, shared by its steps below (render_content_item owns it). */
typedef struct render_attempt {
    render_payload p;
    PGconn *c;
    cl_call *call;
    PGresult *item; /* the item's row: draft, channel, render_seq, project, project_id, audio */
    char id[24];    /* the item id as a statement parameter */
    char *rules;    /* the channel's Lua rules (JSON), NULL for the defaults */
    cl_buf comp;    /* the composition the renderer draws */
    char tpl[64];   /* the template it came from */
    cl_item_comp_input ci;
    char rel[256];      /* the storage key of this render's folder */
    char out_dir[2048]; /* the private local directory the renderer writes into; "" when none */
    cl_variant_set vs;  /* the aspect variants, their compositions and directories */
    cl_buf vcomps[CL_MAX_VARIANTS];
    char vdirs[CL_MAX_VARIANTS][2100];
    cl_render_result all[1 + CL_MAX_VARIANTS]; /* the primary, then the variants */
    int calls;                                 /* the renderer calls that made them */
    char small_path[2400];
    char vrel[320], trel[320], srel[320]; /* the primary's stored keys */
    int stored_v, stored_t, stored_s;
    int64_t vsize, tsize, ssize;
    char vsha[65], tsha[65], ssha[65], backend[64];
} render_attempt;

#define NO_ROOM_MESSAGE                                                                                      \
    "There was no room left to store the video, so nothing was kept. Try the render again later."

/* Step 1: the item, still owned by this render, and its channel's rules. 0, or the job's rc (nothing to
 * undo). */
static int read_item(render_attempt *a, char *err, size_t errlen)
{
    char uid[24], dberr[256];
    const char *q[] = {cl_db_id(a->id, a->p.item_id), cl_db_id(uid, a->p.user_id)};
    a->item = cl_db_run(a->c,
                        "SELECT i.draft::text, i.channel, i.render_seq, to_jsonb(pr)::text, i.project_id,"
                        "       i.audio::text"
                        "  FROM content_items i JOIN projects pr ON pr.id = i.project_id"
                        " WHERE i.id = $1 AND i.user_id = $2",
                        2, q, dberr, sizeof dberr);
    if (!a->item) {
        snprintf(err, errlen, "reading the content item failed: %s", dberr);
        return 1;
    }
    if (PQntuples(a->item) == 0) {
        snprintf(err, errlen, "content item %" PRId64 " no longer exists", a->p.item_id);
        return -1;
    }
    if (atoi(PQgetvalue(a->item, 0, 2)) != a->p.seq) {
        /* A newer render request replaced this one; it owns the item now. */
        snprintf(err, errlen, "superseded by a newer render of item %" PRId64, a->p.item_id);
        cl_credits_refund(a->c, a->p.user_id, a->p.charge_key, &(cl_receipt){0}, dberr, sizeof dberr);
        return -1;
    }
    const char *channel = PQgetvalue(a->item, 0, 1);
    char lerr[256];
    if (cl_lua_channel_rules(channel, &a->rules, lerr, sizeof lerr) != 0) {
        cl_warn(COMP, "channel rules for %s unavailable (%s); using defaults", channel, lerr);
        a->rules = NULL;
    }
    return 0;
}

/* Step 2: the storage key generated/content-items/<id>/<UTC timestamp>-r<seq>/
   and the private local directory the renderer writes into (the files are
   then put into the configured storage under that key). 0 or 1 (retry). */
static int make_work_dir(render_attempt *a, char *err, size_t errlen)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(a->rel, sizeof a->rel, "generated/content-items/%" PRId64 "/%s-r%d", a->p.item_id, stamp,
             a->p.seq);
    if (render_temp_dir(a->p.item_id, a->p.seq, a->out_dir, sizeof a->out_dir) == 0)
        return 0;
    int e = errno;
    a->out_dir[0] = '\0';
    if (e == ENOSPC || e == EDQUOT)
        snprintf(err, errlen, NO_ROOM_MESSAGE);
    else
        snprintf(err, errlen, "cannot create a temporary render directory under %s/tmp/renders: %s",
                 cl_cfg.storage_dir, strerror(e));
    return 1;
}

/* Step 3: the item's template on its draft, brand kit and images
   (materialized into out_dir); the voiceover, the music and the captions
   (soundtrack.c: a voice that cannot be made fails with the engine's words);
   then the aspect variants the channel's rules list, from the same template
   and soundtrack. 0 or rc. */
static int compose(render_attempt *a, char *err, size_t errlen)
{
    PGresult *r = a->item;
    a->ci = (cl_item_comp_input){.project_id = strtoll(PQgetvalue(r, 0, 4), NULL, 10),
                                 .draft_json = PQgetvalue(r, 0, 0),
                                 .profile_json = PQgetvalue(r, 0, 3),
                                 .channel = PQgetvalue(r, 0, 1),
                                 .rules_json = a->rules,
                                 .audio_json = PQgetvalue(r, 0, 5),
                                 .work_dir = a->out_dir};
    if (cl_item_composition(a->c, &a->ci, &a->comp, a->tpl, sizeof a->tpl, err, errlen) != 0)
        return -1;
    int scode = 0;
    if (cl_soundtrack_apply(a->c, a->ci.project_id, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 3),
                            PQgetvalue(r, 0, 5), a->rules, a->out_dir, a->call, &a->comp, &scode, err,
                            errlen) != 0) {
        cl_warn(COMP, "content item %" PRId64 ": %s", a->p.item_id, err);
        return is_retryable(scode) ? 1 : -1;
    }
    cJSON *pc = cJSON_Parse(a->comp.data);
    int pw = cJSON_GetObjectItem(pc, "width") ? cJSON_GetObjectItem(pc, "width")->valueint : 1080;
    int ph = cJSON_GetObjectItem(pc, "height") ? cJSON_GetObjectItem(pc, "height")->valueint : 1920;
    cJSON_Delete(pc);
    if (cl_variants_build(&a->ci, a->c, a->comp.data, pw, ph, &a->vs, a->vcomps, &scode, err, errlen) != 0) {
        cl_warn(COMP, "content item %" PRId64 ": %s", a->p.item_id, err);
        return is_retryable(scode) ? 1 : -1;
    }
    return 0;
}

/* Step 4: the primary and its variants (one renderer call when it can), then
   the small thumbnail for cards and lists beside the full one (FFmpeg
   libraries). 0 or rc. */
static int render_files(render_attempt *a, char *err, size_t errlen)
{
    const char *comps[1 + CL_MAX_VARIANTS] = {a->comp.data};
    const char *dirs[1 + CL_MAX_VARIANTS] = {a->out_dir};
    for (int i = 0; i < a->vs.n; i++) {
        snprintf(a->vdirs[i], sizeof a->vdirs[i], "%s/v-%s", a->out_dir, a->vs.v[i].suffix);
        comps[1 + i] = a->vcomps[i].data;
        dirs[1 + i] = a->vdirs[i];
    }
    cl_error rerr;
    memset(&rerr, 0, sizeof rerr);
    int code = cl_render_compositions(comps, dirs, 1 + a->vs.n, NULL, a->call, a->all, &a->calls, &rerr);
    if (code != CL_OK) {
        if (code == CL_EIO && storage_full(rerr.message)) {
            /* The user sees this: say what happened, not where. */
            cl_warn(COMP, "content item %" PRId64 ": the video could not be stored: %s", a->p.item_id,
                    rerr.message);
            snprintf(err, errlen, NO_ROOM_MESSAGE);
        } else {
            snprintf(err, errlen, "%s", rerr.message[0] ? rerr.message : "the renderer failed");
        }
        return is_retryable(code) ? 1 : -1;
    }
    const cl_render_result *res = &a->all[0];
    if (file_size(res->video_path) <= 0 || file_size(res->thumbnail_path) <= 0) {
        snprintf(err, errlen, "the renderer reported success but wrote no video or thumbnail");
        return -1;
    }
    char serr[256];
    snprintf(a->small_path, sizeof a->small_path, "%s/%s", a->out_dir, CL_RENDER_THUMBNAIL_SMALL_NAME);
    if (cl_thumbnail_small(res->thumbnail_path, a->small_path, CL_RENDER_THUMBNAIL_SMALL_WIDTH, NULL, NULL,
                           serr, sizeof serr) != 0) {
        snprintf(err, errlen, "making the small thumbnail failed: %s", serr);
        return -1;
    }
    return 0;
}

/* Step 5: the primary's three files and the variants into the configured
   storage under rel. 0 or rc (what was stored is undone by undo_stored). */
static int store_files(render_attempt *a, char *err, size_t errlen)
{
    int scode = 0;
    const cl_render_result *res = &a->all[0];
    snprintf(a->vrel, sizeof a->vrel, "%s/%s", a->rel, CL_RENDER_VIDEO_NAME);
    snprintf(a->trel, sizeof a->trel, "%s/%s", a->rel, CL_RENDER_THUMBNAIL_NAME);
    snprintf(a->srel, sizeof a->srel, "%s/%s", a->rel, CL_RENDER_THUMBNAIL_SMALL_NAME);
    if (!(a->stored_v = cl_storage_put(a->vrel, res->video_path, "video/mp4", &a->vsize, a->vsha, a->backend,
                                       &scode, err, errlen) == 0) ||
        !(a->stored_t = cl_storage_put(a->trel, res->thumbnail_path, "image/jpeg", &a->tsize, a->tsha,
                                       a->backend, &scode, err, errlen) == 0) ||
        !(a->stored_s = cl_storage_put(a->srel, a->small_path, "image/jpeg", &a->ssize, a->ssha, a->backend,
                                       &scode, err, errlen) == 0)) {
        /* The user sees this: say what happened, not where (the log has the detail). */
        cl_warn(COMP, "content item %" PRId64 ": the video could not be stored: %s", a->p.item_id, err);
        if (storage_full(err))
            snprintf(err, errlen, NO_ROOM_MESSAGE);
        else
            snprintf(err, errlen, "The video could not be stored (the storage service did not accept it), "
                                  "so nothing was kept. Try the render again later.");
        return is_retryable(scode) || scode == CL_EUNSUPPORTED || scode == CL_EAUTH ? 1 : -1;
    }
    for (int i = 0; i < a->vs.n; i++)
        if (cl_variants_store(&a->vs, i, a->rel, a->all[1 + i].video_path, a->all[1 + i].thumbnail_path,
                              &scode, err, errlen) != 0) {
            cl_warn(COMP, "content item %" PRId64 ": a variant could not be stored: %s", a->p.item_id, err);
            return is_retryable(scode) || scode == CL_EUNSUPPORTED || scode == CL_EAUTH ? 1 : -1;
        }
    return 0;
}

/* Step 6: the stored files in content_assets and the item rendered (its
   template and burned-in captions track on the draft), in one transaction.
   0 or 1 (retry). */
static int record_assets(render_attempt *a, char *err, size_t errlen)
{
    char vb[24], tb[24], sb[24], seq[16], dberr[256];
    const char *renderer = a->all[0].renderer;
    cl_db_id(vb, a->vsize), cl_db_id(tb, a->tsize), cl_db_id(sb, a->ssize);
    snprintf(seq, sizeof seq, "%d", a->p.seq);
    const char *q[] = {a->id,      a->vrel, vb,      a->trel, tb, renderer, seq,
                       a->backend, a->vsha, a->tsha, a->srel, sb, a->ssha};
    char *track = burned_captions(a->comp.data);
    if (!track)
        snprintf(dberr, sizeof dberr, "out of memory");
    if (!track || cl_db_begin(a->c) != 0 ||
        cl_db_exec(
            a->c,
            "INSERT INTO content_assets (content_item_id, kind, path, mime, bytes, renderer, render_seq,"
            "                            storage, sha256)"
            " VALUES ($1, 'video', $2, 'video/mp4', $3, $6, $7, $8, $9),"
            "        ($1, 'thumbnail', $4, 'image/jpeg', $5, $6, $7, $8, $10),"
            "        ($1, 'thumbnail_small', $11, 'image/jpeg', $12, $6, $7, $8, $13)"
            " ON CONFLICT (content_item_id, render_seq, kind) DO UPDATE"
            "   SET path = EXCLUDED.path, bytes = EXCLUDED.bytes, renderer = EXCLUDED.renderer,"
            "       storage = EXCLUDED.storage, sha256 = EXCLUDED.sha256",
            13, q, dberr, sizeof dberr) != 0 ||
        cl_variants_record(a->c, a->p.item_id, a->p.seq, renderer, &a->vs, dberr, sizeof dberr) != 0 ||
        cl_db_exec(a->c,
                   "UPDATE content_items SET status = 'rendered', render_error = NULL, updated_at = now(),"
                   "       draft = jsonb_set(jsonb_set(draft, '{template}', to_jsonb($3::text)),"
                   "                         '{captions_track}', $4::jsonb)"
                   " WHERE id = $1 AND render_seq = $2",
                   4, (const char *[]){a->id, seq, a->tpl, track}, dberr, sizeof dberr) != 0 ||
        cl_db_commit(a->c) != 0) {
        cl_db_rollback(a->c);
        free(track);
        snprintf(err, errlen, "recording the rendered files failed: %s", dberr);
        return 1;
    }
    free(track);
    return 0;
}

/* The job's result: the words the renderer drew (role -> text), so what the
   item shows can be checked against what the video says; the videos
   (primary + variants) and the renderer calls that made them; what the
   soundtrack held (soundtrack.c): voice, music, caption cues. */
static void write_result(const render_attempt *a, cl_buf *result)
{
    const cl_render_result *res = &a->all[0];
    cJSON *out = cJSON_CreateObject(), *drawn = cJSON_AddObjectToObject(out, "drawn");
    cJSON_AddNumberToObject(out, "content_item_id", (double)a->p.item_id);
    cJSON_AddStringToObject(out, "renderer", res->renderer);
    cJSON_AddStringToObject(out, "template", a->tpl);
    cJSON_AddNumberToObject(out, "seconds", round(res->seconds * 100) / 100);
    cJSON_AddNumberToObject(out, "videos", 1 + a->vs.n);
    cJSON_AddNumberToObject(out, "renderer_calls", a->calls);
    cJSON *cj = cJSON_Parse(a->comp.data);
    const cJSON *layer;
    cJSON_ArrayForEach(layer, cJSON_GetObjectItemCaseSensitive(cj, "layers"))
    {
        const char *role = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(layer, "role"));
        const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(layer, "text"));
        if (role && text && !cJSON_GetObjectItemCaseSensitive(drawn, role))
            cJSON_AddStringToObject(drawn, role, text);
    }
    const cJSON *au = cJSON_GetObjectItemCaseSensitive(cj, "audio"), *caps = cJSON_GetObjectItemCaseSensitive(cj, "captions");
    cJSON *st = cJSON_AddObjectToObject(out, "soundtrack");
    cJSON_AddBoolToObject(st, "voiceover", cJSON_GetObjectItemCaseSensitive(au, "voiceover") != NULL);
    cJSON_AddBoolToObject(st, "music", cJSON_GetObjectItemCaseSensitive(au, "music") != NULL);
    cJSON_AddNumberToObject(st, "duration", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cj, "duration")));
    cJSON_AddNumberToObject(st, "caption_cues", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(caps, "cues")));
    if (caps)
        cJSON_AddStringToObject(st, "caption_mode", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(caps, "mode")) ?: "");
    cJSON_Delete(cj);
    cl_buf_put_json(result, out);
}

/* A failed attempt keeps nothing stored: the keys it had put go again. */
static void undo_stored(render_attempt *a)
{
    if (a->stored_v)
        remove_stored(a->vrel);
    if (a->stored_t)
        remove_stored(a->trel);
    if (a->stored_s)
        remove_stored(a->srel);
    cl_variants_unstore(&a->vs);
}

static int render_content_item(const cl_job *job, cl_call *call, cl_buf *result, char *err, size_t errlen)
{
    render_attempt *a = calloc(1, sizeof *a); /* about 20 KB of paths: not on the runner's stack */
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    a->call = call;
    int rc = parse_payload(job->payload, &a->p, err, errlen);
    char dberr[256];
    if (rc == 0 && !(a->c = cl_db_connect(cl_cfg.database_url, dberr, sizeof dberr))) {
        snprintf(err, errlen, "database unavailable: %s", dberr);
        rc = 1;
    } else if (rc == 0 && (rc = read_item(a, err, errlen)) == 0) {
        if ((rc = make_work_dir(a, err, errlen)) == 0 && (rc = compose(a, err, errlen)) == 0 &&
            (rc = render_files(a, err, errlen)) == 0 && (rc = store_files(a, err, errlen)) == 0 &&
            (rc = record_assets(a, err, errlen)) == 0) {
            write_result(a, result);
            cl_info(COMP, "content item %" PRId64 " rendered by %s in %.1fs", a->p.item_id,
                    a->all[0].renderer, a->all[0].seconds);
            notify_finished(a->c, a->p.item_id);
        } else {
            undo_stored(a);
            /* Retryable failures keep the item rendering until the last attempt. */
            if (rc < 0 || job->attempt >= job->max_attempts)
                fail_and_refund(a->c, &a->p, err);
        }
    }
    if (a->out_dir[0])
        cl_render_remove_tree(a->out_dir);
    PQclear(a->item);
    free(a->rules);
    cl_buf_free(&a->comp);
    for (int i = 0; i < CL_MAX_VARIANTS; i++)
        cl_buf_free(&a->vcomps[i]);
    if (a->c)
        PQfinish(a->c);
    free(a);
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
