/*
 * template_routes.c — choosing an item's video template (docs/composition.md,
 * "Templates"):
 *
 *   GET  /api/templates?channel=C               the templates (scripts/templates), each with
 *                                               whether channel C's rules allow it
 *   POST /api/content-items/:id/template        {template}: switch the item's template and
 *                                               render again (charged like a render, 202)
 *
 * The switch and the render charge are one transaction: a declined charge
 * (402) or a plan limit (429) leaves the template as it was.
 */
#include "content/content.h"
#include "auth/auth.h"
#include "cycles/limits.h"
#include "db/db.h"
#include "http/http.h"
#include "lua/lua_runtime.h"
#include "render/templates.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *id, *label, *description;
} known[] = {
    {"showcase", "Showcase", "Your kept photos, one after another with slow pans and zooms"},
    {"offer", "Offer card", "The deal in huge type, a countdown, then the call to action"},
    {"three_reasons", "Three reasons", "A title and three numbered reasons that arrive one by one"},
    {"quote", "Quote", "A customer's words with five stars and who said them"},
};

static void list_templates(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char channel[32] = "", *rules = NULL, *names = NULL, err[256];
    cl_req_query(req, "channel", channel, sizeof channel);
    if (channel[0] && cl_lua_channel_rules(channel, &rules, err, sizeof err) != 0) {
        cl_res_error(res, 422, "unknown_channel", "No channel %s", channel);
        return;
    }
    if (cl_template_names(&names, err, sizeof err) != 0) {
        free(rules);
        cl_res_error(res, 500, "internal", "The templates could not be listed");
        return;
    }
    cJSON *all = cJSON_Parse(names), *out = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(out, "templates");
    const cJSON *n;
    cJSON_ArrayForEach(n, all)
    {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "id", n->valuestring);
        const char *label = n->valuestring, *desc = "";
        for (size_t i = 0; i < sizeof known / sizeof *known; i++)
            if (strcmp(known[i].id, n->valuestring) == 0)
                label = known[i].label, desc = known[i].description;
        cJSON_AddStringToObject(t, "label", label);
        cJSON_AddStringToObject(t, "description", desc);
        cJSON_AddBoolToObject(t, "allowed", cl_template_allowed(rules, n->valuestring));
        cJSON_AddItemToArray(arr, t);
    }
    cJSON_Delete(all);
    free(names);
    free(rules);
    cl_res_json(res, 200, out);
}

static void switch_template(cl_req *req, cl_res *res)
{
    cJSON *body = cl_req_json(req, res);
    if (!body)
        return;
    cl_user u;
    PGconn *c = cl_auth_open(req, res, &u, CL_AUTH_PRODUCT);
    if (!c) {
        cJSON_Delete(body);
        return;
    }
    int64_t id = cl_req_param_id(req, "id");
    const char *tpl = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "template"));
    char sid[24], uid[24];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(uid, sizeof uid, "%" PRId64, u.id);
    PGresult *r = cl_db_query(c, "SELECT channel FROM content_items WHERE id = $1 AND user_id = $2", 2,
                              (const char *[]){sid, uid});
    char *rules = NULL, err[256];
    if (!cl_db_ok(r)) {
        cl_res_error(res, 503, "database_unavailable", "Could not read the item; try again shortly");
    } else if (PQntuples(r) == 0) {
        cl_res_error(res, 404, "not_found", "No content item %s", cl_req_param(req, "id"));
    } else if (!tpl || !cl_template_exists(tpl)) {
        cl_auth_field_error(res, 422, "template", "template must be one of GET /api/templates");
    } else if (cl_lua_channel_rules(PQgetvalue(r, 0, 0), &rules, err, sizeof err) == 0 &&
               !cl_template_allowed(rules, tpl)) {
        char msg[160];
        snprintf(msg, sizeof msg, "The %s channel's rules do not allow this template", PQgetvalue(r, 0, 0));
        cl_auth_field_error(res, 422, "template", msg);
    } else {
        cl_render_order rr;
        if (cl_limits_check(c, &u, CL_ACTION_CONTENT_RENDER, 1, res) == 0 &&
            cl_content_request_render_template(c, &u, id, tpl, &rr, res) == 0) {
            if (rr.already) {
                cl_res_error(res, 409, "render_running",
                             "A render of this item is running; switch the template when it has finished");
                goto out;
            }
            cJSON *o = cl_render_order_json(&rr);
            cJSON_AddStringToObject(o, "template", tpl);
            cl_res_json(res, 202, o);
        }
    }
out:
    PQclear(r);
    free(rules);
    cJSON_Delete(body);
    cl_db_release(c);
}

void cl_content_register_template_routes(void)
{
    cl_route_user("GET", "/api/templates", list_templates, CL_AUTH_PRODUCT, 0);
    cl_route("POST", "/api/content-items/:id/template", switch_template, 0);
}
