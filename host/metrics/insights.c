/*
 * insights.c — views of published posts from the publisher's insights
 * (ABI 1.3 `cl_publisher.insights`, optional): the worker's scheduler task
 * "insights.refresh" (metrics.h).
 *
 * Candidates: posts published directly (publisher set, remote_media_id set)
 * in the last five weeks whose views are unknown or older than 6 hours and
 * were not entered by hand. For each, when its publisher implements
 * insights (feature test: the field is set), the project's channel token is
 * decrypted, the call is made outside any transaction, and the answer is
 * stored in content_item_views (source 'insights'). A session advisory lock
 * per item keeps several workers from asking for the same post at once. A
 * metric the platform does not report stays unknown; nothing is estimated.
 */
#include "core/buf.h"
#include "core/log.h"
#include "db/db.h"
#include "metrics/metrics.h"
#include "plugins/call.h"
#include "plugins/registry.h"
#include "publishing/publishing.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "insights"
#define LOCK_ITEM "16021"

/* One post's insights into content_item_views. 1 stored, 0 skipped, -1 error (err set). */
static int refresh_one(PGconn *c, const char *item, const char *project, const char *publisher, const char *channel,
                       const char *media_id, char *err, size_t errlen)
{
    const cl_publisher *pub = (const cl_publisher *)cl_plugins_find(CL_CAP_PUBLISHER, publisher);
    if (!pub || !pub->insights)
        return 0; /* this publisher reports no insights: views stay unknown */
    cl_channel ch;
    memset(&ch, 0, sizeof ch);
    int found = cl_channel_load(c, strtoll(project, NULL, 10), channel, 1, &ch, err, errlen);
    if (found <= 0 || !ch.token || strcmp(ch.status, "active") != 0) {
        cl_channel_clear(&ch);
        return found < 0 ? -1 : 0;
    }
    cl_publish_request req = {.size = sizeof req, .channel = channel, .access_token = ch.token,
                              .account_id = ch.account_id};
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    cl_output out = {CL_BUF_INIT, 1 << 16};
    cl_error e;
    int rc = CL_CAP_CALL(pub, &e, insights, &call, &req, media_id, &out, &e);
    cl_channel_clear(&ch);
    cJSON *a = rc == CL_OK ? cJSON_Parse(out.buf.data ? out.buf.data : "") : NULL;
    cl_buf_free(&out.buf);
    if (rc != CL_OK || !cJSON_IsObject(a)) {
        snprintf(err, errlen, "item %s: %.200s", item, rc != CL_OK ? e.message : "the answer is not JSON");
        cJSON_Delete(a);
        return -1;
    }
    const cJSON *views = cJSON_GetObjectItem(a, "views"), *reach = cJSON_GetObjectItem(a, "reach");
    int stored = 0;
    if (cJSON_IsNumber(views) && views->valuedouble >= 0) {
        char v[32], r[32];
        snprintf(v, sizeof v, "%.0f", views->valuedouble);
        snprintf(r, sizeof r, "%.0f", cJSON_IsNumber(reach) ? reach->valuedouble : 0);
        const char *p[] = {item, v, cJSON_IsNumber(reach) && reach->valuedouble >= 0 ? r : NULL};
        stored = cl_db_exec(c,
                            "INSERT INTO content_item_views (content_item_id, views, reach, source)"
                            " VALUES ($1, $2, $3, 'insights') ON CONFLICT (content_item_id) DO UPDATE"
                            " SET views = EXCLUDED.views, reach = EXCLUDED.reach, updated_at = now()"
                            " WHERE content_item_views.source = 'insights'",
                            3, p, err, errlen) == 0
                     ? 1
                     : -1;
    }
    cJSON_Delete(a);
    return stored;
}

int cl_insights_task(PGconn *c, char *err, size_t errlen)
{
    PGresult *r = cl_db_query(c,
                              "SELECT i.id, i.project_id, i.publisher, i.channel, i.remote_media_id"
                              " FROM content_items i LEFT JOIN content_item_views v ON v.content_item_id = i.id"
                              " WHERE i.publish_status = 'published' AND i.publisher IS NOT NULL"
                              " AND i.remote_media_id IS NOT NULL AND i.published_at > now() - interval '35 days'"
                              " AND (v.content_item_id IS NULL OR (v.source = 'insights'"
                              "      AND v.updated_at < now() - interval '6 hours'))"
                              " ORDER BY i.published_at DESC LIMIT 50",
                              0, NULL);
    if (cl_db_check(c, r, err, errlen) != 0)
        return -1;
    int done = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *item = PQgetvalue(r, i, 0);
        const char *lk[] = {item};
        PGresult *l = cl_db_query(c, "SELECT pg_try_advisory_lock(" LOCK_ITEM ", $1::int)", 1, lk);
        int mine = cl_db_ok(l) && !strcmp(PQgetvalue(l, 0, 0), "t");
        PQclear(l);
        if (!mine)
            continue; /* another worker is asking for this post */
        char e[512] = "";
        int rc = refresh_one(c, item, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
                             PQgetvalue(r, i, 4), e, sizeof e);
        if (rc < 0)
            cl_warn(COMP, "insights: %s", e);
        else
            done += rc;
        PQclear(cl_db_query(c, "SELECT pg_advisory_unlock(" LOCK_ITEM ", $1::int)", 1, lk));
    }
    PQclear(r);
    return done;
}
