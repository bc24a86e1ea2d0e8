/*
 * captions.c — the captions track of an item's video (WebVTT), and its route:
 *
 *   GET /api/content-items/:id/captions.vtt   owner only; text/vtt
 *
 * The cues are the captions the video burns in (host/render/caption_track.h):
 * the render job keeps them on the item's draft as "captions_track" (the
 * spoken lines with their word- or line-timed times) in the transaction that
 * records the video, and the track is written from them — the same words at
 * the same times as on screen. A video without burned-in captions has a
 * track without cues. Before the first render (or for a video rendered
 * before the track was kept), the cues are the ones the item would get
 * without a voice: the spoken lines timed across the template's duration.
 */
#include "content/content.h"
#include "auth/auth.h"
#include "core/buf.h"
#include "core/log.h"
#include "db/db.h"
#include "http/http.h"
#include "lua/lua_runtime.h"
#include "render/caption_track.h"
#include "render/templates.h"
#include "tts/tts.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "content"

/* The cues an item not rendered with a kept track would get: none when it
   will have no captions, else its spoken lines line-timed across the
   template's duration. A new array, or NULL with err. */
static cJSON *estimated_cues(const cJSON *draft, const char *draft_json, const char *profile_json,
                             const char *channel, const char *rules_json, char *err, size_t errlen)
{
    cJSON *rules = rules_json ? cJSON_Parse(rules_json) : NULL;
    cl_captions_mode mode = cl_captions_mode_for(draft, NULL, rules, cl_tts_enabled());
    cJSON_Delete(rules);
    if (mode == CL_CAPTIONS_NONE)
        return cJSON_CreateArray();
    cl_buf comp = CL_BUF_INIT;
    char tpl[64];
    cl_template_choose(draft_json, rules_json, 0, tpl, sizeof tpl);
    cl_template_input in = {.draft_json = draft_json, .profile_json = profile_json, .channel = channel,
                            .rules_json = rules_json};
    if (cl_template_build(tpl, &in, &comp, err, errlen) != 0)
        return NULL;
    cJSON *c = cJSON_Parse(comp.data);
    cl_buf_free(&comp);
    double duration = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "duration"));
    cJSON_Delete(c);
    cJSON *lines = cl_captions_spoken_lines(draft);
    cJSON *cues = cl_captions_line_cues(lines, duration > 0 ? duration : 15);
    cJSON_Delete(lines);
    return cues;
}

int cl_content_captions_vtt(const char *draft_json, const char *profile_json, const char *channel,
                            const char *rules_json, cl_buf *out, char *err, size_t errlen)
{
    cJSON *draft = cJSON_Parse(draft_json ? draft_json : "{}");
    if (!cJSON_IsObject(draft)) {
        cJSON_Delete(draft);
        snprintf(err, errlen, "the item's draft is not readable");
        return -1;
    }
    const cJSON *track = cJSON_GetObjectItemCaseSensitive(draft, "captions_track");
    cJSON *cues = cJSON_IsObject(track)
                      ? cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(track, "cues"), 1)
                      : estimated_cues(draft, draft_json, profile_json, channel, rules_json, err, errlen);
    int rc = -1;
    if (cues || cJSON_IsObject(track)) {
        rc = cl_captions_vtt(cues, out);
        if (rc)
            snprintf(err, errlen, "out of memory");
    }
    cJSON_Delete(cues);
    cJSON_Delete(draft);
    return rc;
}

static void captions(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char sid[24], uid[24], err[256];
    snprintf(sid, sizeof sid, "%" PRId64, cl_req_param_id(req, "id"));
    snprintf(uid, sizeof uid, "%" PRId64, u->id);
    PGresult *r = cl_db_query(c,
                              "SELECT i.draft::text, i.channel, to_jsonb(pr)::text"
                              "  FROM content_items i JOIN projects pr ON pr.id = i.project_id"
                              " WHERE i.id = $1 AND i.user_id = $2",
                              2, (const char *[]){sid, uid});
    if (!cl_db_ok(r)) {
        cl_res_error(res, 503, "database_unavailable", "Could not read the captions; try again shortly");
    } else if (PQntuples(r) == 0) {
        cl_res_error(res, 404, "not_found", "No content item %s", cl_req_param(req, "id"));
    } else {
        char *rules = NULL, lerr[256];
        const char *channel = PQgetvalue(r, 0, 1);
        if (cl_lua_channel_rules(channel, &rules, lerr, sizeof lerr) != 0)
            rules = NULL; /* the renderer's defaults, as in the render job */
        cl_buf vtt = CL_BUF_INIT;
        if (cl_content_captions_vtt(PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 2), channel, rules, &vtt, err,
                                    sizeof err) != 0) {
            cl_warn(COMP, "captions for item %s: %s", sid, err);
            cl_res_error(res, 409, "no_captions", "This output has no words to caption yet: %s", err);
        } else {
            res->status = 200;
            res->content_type = "text/vtt; charset=utf-8";
            res->body.len = 0;
            if (cl_buf_append(&res->body, vtt.data, vtt.len))
                cl_res_error(res, 500, "internal", "out of memory");
        }
        cl_buf_free(&vtt);
        free(rules);
    }
    PQclear(r);
}

void cl_content_register_caption_routes(void)
{
    cl_route_user("GET", "/api/content-items/:id/captions.vtt", captions, CL_AUTH_PRODUCT, 0);
}
