/*
 * create_routes.c — the create flow's HTTP side.
 *
 *   POST /api/create/brief {project_id, prompt, channel?}
 *       rough prompt + the project's business context -> an editable brief
 *       (channel, tone, duration, style, CTA, caption hint, ...), with
 *       defaults from the profile and the channel's Lua rules. Free.
 *
 * The LLM call runs on the HTTP provider pool (CL_ROUTE_PROVIDER: never on
 * the threads sessions and /healthz use), takes one of the user's provider
 * slots, holds no database connection while the model answers, and is
 * cancelled when the client goes away; provider failures map to clear
 * statuses and never fall back to another provider.
 */
#include "auth/auth.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "create/create.h"
#include "create/generate.h"
#include "db/db.h"
#include "http/http.h"
#include "lua/lua_runtime.h"
#include "projects/context.h"
#include "projects/projects.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "create"
#define CONTEXT_BUDGET 12000 /* bytes of business context handed to the prompt */

cJSON *cl_profile_for_prompts(const cJSON *project)
{
    cJSON *p = cJSON_CreateObject();
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(project, "business_name"));
    if (!name || !*name)
        name = cJSON_GetStringValue(cJSON_GetObjectItem(project, "name"));
    if (name)
        cJSON_AddStringToObject(p, "name", name);
    static const char *const same[][2] = {{"category", "category"}, {"target_audience", "audience"},
                                          {"primary_offer", "offer"},  {"tone", "tone"},
                                          {"cta", "cta"},              {"language_style", "language_style"},
                                          {"price_range", "price_range"}};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(project, same[i][0]));
        if (v && *v)
            cJSON_AddStringToObject(p, same[i][1], v);
    }
    const char *city = cJSON_GetStringValue(cJSON_GetObjectItem(project, "city"));
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(project, "state"));
    if ((city && *city) || (state && *state)) {
        char loc[200];
        snprintf(loc, sizeof loc, "%s%s%s", city ? city : "", city && *city && state && *state ? ", " : "",
                 state ? state : "");
        cJSON_AddStringToObject(p, "location", loc);
    }
    const cJSON *channels = cJSON_GetObjectItem(project, "preferred_channels");
    if (cJSON_IsArray(channels) && cJSON_GetArraySize(channels) > 0) {
        cJSON_AddItemToObject(p, "channels", cJSON_Duplicate(channels, 1));
        const char *first = cJSON_GetStringValue(cJSON_GetArrayItem(channels, 0));
        if (first)
            cJSON_AddStringToObject(p, "default_channel", first);
    }
    return p;
}

int cl_create_brief_body(const cJSON *body, int64_t *project_id, const char **prompt, const char **channel,
                         cl_body_err *e)
{
    const cJSON *chan = cJSON_GetObjectItem(body, "channel");
    *project_id = cl_json_id(cJSON_GetObjectItem(body, "project_id"));
    *prompt = cJSON_GetStringValue(cJSON_GetObjectItem(body, "prompt"));
    *channel = cJSON_GetStringValue(chan);
    if (!*project_id)
        return cl_body_field(e, 422, "project_id", "Choose one of your projects");
    if (!*prompt || strlen(*prompt) < 3 || strlen(*prompt) > 2000)
        return cl_body_field(e, 422, "prompt", "Describe the promotion in 3 to 2000 characters");
    if (chan && !cJSON_IsNull(chan) &&
        (!*channel || (strcmp(*channel, "instagram") && strcmp(*channel, "tiktok") && strcmp(*channel, "whatsapp"))))
        return cl_body_field(e, 422, "channel", "channel must be instagram, tiktok or whatsapp");
    return 0;
}

static void brief(cl_req *req, cl_res *res)
{
    char err[512];
    cl_user u;
    PGconn *c = cl_auth_open(req, res, &u, CL_AUTH_PROVIDER);
    if (!c)
        return;
    cJSON *body = NULL, *ctx = NULL, *profile = NULL;
    cl_buf context = CL_BUF_INIT;
    char *brief_json = NULL, *prompt_with_channel = NULL;
    if (!(body = cl_req_json(req, res)))
        goto out;
    int64_t project_id;
    const char *prompt, *channel;
    cl_body_err be = {0};
    if (cl_create_brief_body(body, &project_id, &prompt, &channel, &be) != 0) {
        cl_res_body_error(res, &be);
        goto out;
    }
    /* Owner check first: another user's project is a 404. */
    char sid[CL_DB_ID_LEN];
    cl_db_id(sid, project_id);
    if (cl_project_owned(c, res, COMP, project_id, u.id) != 1)
        goto out;
    if (cl_context_load(c, project_id, CONTEXT_BUDGET, &context, err, sizeof err) != 0) {
        cl_error(COMP, "context for project %s: %s", sid, err);
        cl_res_error(res, 500, "internal", "Could not load the business context");
        goto out;
    }
    cl_db_release(c); /* the LLM call may take seconds; do not hold a connection */
    c = NULL;
    ctx = cJSON_Parse(context.data);
    profile = cl_profile_for_prompts(cJSON_GetObjectItem(ctx, "project"));
    char *profile_text = cJSON_PrintUnformatted(profile);
    /* A channel chosen in the form wins over what the prompt implies. */
    if (channel) {
        size_t n = strlen(prompt) + strlen(channel) + 32;
        prompt_with_channel = malloc(n);
        if (prompt_with_channel)
            snprintf(prompt_with_channel, n, "%s (for %s)", prompt, channel);
    }
    cl_error e;
    memset(&e, 0, sizeof e);
    int rc = cl_brief_generate(req->call, profile_text, context.data,
                               prompt_with_channel ? prompt_with_channel : prompt, &brief_json, &e);
    free(profile_text);
    if (rc != CL_OK) {
        cl_warn(COMP, "brief for user %" PRId64 " failed: %s (%d)", u.id, e.message, e.code);
        cl_generation_error_reply(res, &e);
        goto out;
    }
    cJSON *b = cJSON_Parse(brief_json);
    if (b && channel)
        cJSON_ReplaceItemInObject(b, "channel", cJSON_CreateString(channel));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "project_id", (double)project_id);
    cJSON_AddItemToObject(o, "brief", b ? b : cJSON_CreateNull());
    cJSON *limits = cl_brief_limits(&e);
    cJSON_AddItemToObject(o, "limits", limits ? limits : cJSON_CreateNull());
    cl_res_json(res, 200, o);
out:
    cJSON_Delete(body);
    cJSON_Delete(ctx);
    cJSON_Delete(profile);
    cl_buf_free(&context);
    free(brief_json);
    free(prompt_with_channel);
    if (c)
        cl_db_release(c);
}

/*
 * GET /api/scripts — (users with product access) the Lua prompt templates
 * and channel rules this server uses, each with whether it loaded, its version (bumps on every successful
 * reload) and the last error (a broken edit keeps the previous version).
 * Every known script is loaded first, so the list is complete. File paths
 * stay on the server: only names are shown.
 */
static void scripts_status(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    /* Registered CL_AUTH_PRODUCT: not for waitlisted accounts. */
    char err[256];
    static const char *const prompts[] = {"brief", "promo_draft", "chat", "posts", "regenerate", "iteration"};
    for (size_t i = 0; i < sizeof prompts / sizeof *prompts; i++) {
        char *sys = NULL, *prompt = NULL;
        cl_lua_prompt(prompts[i], "{}", &sys, &prompt, err, sizeof err);
        free(sys);
        free(prompt);
    }
    char *names = NULL;
    if (cl_lua_channel_names(&names, err, sizeof err) == 0) {
        cJSON *arr = cJSON_Parse(names);
        const cJSON *n;
        cJSON_ArrayForEach(n, arr)
        {
            char *rules = NULL;
            if (cJSON_IsString(n))
                cl_lua_channel_rules(n->valuestring, &rules, err, sizeof err);
            free(rules);
        }
        cJSON_Delete(arr);
    }
    free(names);
    char *status = NULL;
    if (cl_lua_scripts_status_json(&status) != 0) {
        cl_res_error(res, 500, "internal", "out of memory");
        return;
    }
    cJSON *list = cJSON_Parse(status);
    free(status);
    cJSON *item;
    cJSON_ArrayForEach(item, list) cJSON_DeleteItemFromObject(item, "path");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "scripts", list ? list : cJSON_CreateArray());
    cl_res_json(res, 200, o);
}

void cl_create_register_routes(void)
{
    cl_route("POST", "/api/create/brief", brief, CL_ROUTE_PROVIDER);
    cl_route_user("GET", "/api/scripts", scripts_status, CL_AUTH_PRODUCT, 0);
    cl_generate_register_routes();
}
