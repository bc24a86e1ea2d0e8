/*
 * captions.c — the captions track of an item's video (WebVTT), and its route:
 *
 *   GET /api/content-items/:id/captions.vtt   owner only; text/vtt
 *
 * The cues are the composition's own text layers (hook, caption, CTA) with
 * the times the renderer draws them, built by the item's template (the one
 * the render job recorded on the draft, host/render/templates.h) as the
 * render job builds it, so the track says what the video shows, when it
 * shows it. Other words (the business name, labels, list points) are not cues.
 */
#include "content/content.h"
#include "auth/auth.h"
#include "core/buf.h"
#include "core/log.h"
#include "db/db.h"
#include "http/http.h"
#include "lua/lua_runtime.h"
#include "render/templates.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "content"

/* "00:00:06.000" */
static void vtt_time(double s, char *out, size_t len)
{
    long ms = lround(s * 1000);
    if (ms < 0)
        ms = 0;
    snprintf(out, len, "%02ld:%02ld:%02ld.%03ld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
}

/* Cue text: no blank lines (they end a cue) and no "-->" inside it. */
static int put_cue_text(cl_buf *out, const char *s)
{
    int rc = 0;
    for (const char *p = s; *p && !rc; p++) {
        if (*p == '\n' && (p[1] == '\n' || p[1] == '\0'))
            continue;
        if (p[0] == '-' && p[1] == '-' && p[2] == '>') {
            rc = cl_buf_puts(out, "--&gt;");
            p += 2;
        } else if (*p == '<') {
            rc = cl_buf_puts(out, "&lt;");
        } else if (*p == '&') {
            rc = cl_buf_puts(out, "&amp;");
        } else {
            rc = cl_buf_append(out, p, 1);
        }
    }
    return rc;
}

int cl_content_captions_vtt(const char *draft_json, const char *profile_json, const char *channel,
                            const char *rules_json, cl_buf *out, char *err, size_t errlen)
{
    cl_buf comp = CL_BUF_INIT;
    char tpl[64];
    cl_template_choose(draft_json, rules_json, 0, tpl, sizeof tpl);
    cl_template_input in = {.draft_json = draft_json, .profile_json = profile_json, .channel = channel,
                            .rules_json = rules_json};
    if (cl_template_build(tpl, &in, &comp, err, errlen) != 0)
        return -1;
    cJSON *c = cJSON_Parse(comp.data);
    cl_buf_free(&comp);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = cl_buf_puts(out, "WEBVTT\n");
    const cJSON *layer;
    cJSON_ArrayForEach(layer, cJSON_GetObjectItemCaseSensitive(c, "layers"))
    {
        const char *role = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(layer, "role"));
        const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(layer, "text"));
        const cJSON *start = cJSON_GetObjectItemCaseSensitive(layer, "start");
        const cJSON *end = cJSON_GetObjectItemCaseSensitive(layer, "end");
        if (!role || !text || !*text ||
            (strcmp(role, "hook") != 0 && strcmp(role, "caption") != 0 && strcmp(role, "cta") != 0) ||
            !cJSON_IsNumber(start) ||
            !cJSON_IsNumber(end) || end->valuedouble <= start->valuedouble)
            continue;
        char a[32], b[32];
        vtt_time(start->valuedouble, a, sizeof a);
        vtt_time(end->valuedouble, b, sizeof b);
        rc = rc || cl_buf_printf(out, "\n%s\n%s --> %s\n", role, a, b) || put_cue_text(out, text) ||
             cl_buf_puts(out, "\n");
    }
    cJSON_Delete(c);
    if (rc)
        snprintf(err, errlen, "out of memory");
    return rc ? -1 : 0;
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
