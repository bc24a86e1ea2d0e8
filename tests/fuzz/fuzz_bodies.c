/*
 * fuzz_bodies.c — libFuzzer target: the request body of every POST, PATCH
 * and PUT route, through the same steps as its handler before any database
 * work: the raw body as cl_req_json parses it (size, object, UTF-8), then
 * each route's pure validator (auth, access, e-mail links, chats, content
 * items, create, cycles and the pack, iteration, metrics, projects (profile
 * and ingest), publishing, tracking, the credits test routes), and the
 * public site's urlencoded access form turned into JSON and validated again.
 *
 * Invariants checked on every input: a validator returns -1 exactly when it
 * set an error; the error is a 4xx (or 500 out of memory) whose answer is a
 * JSON {"error":{"code","message"}} (with fields when it names some); a
 * validator that succeeds leaves nothing to free in the error.
 */
#include "auth/auth.h"
#include "chat/chat.h"
#include "content/content.h"
#include "create/create.h"
#include "credits/credits.h"
#include "cycles/cycles.h"
#include "http/http.h"
#include "iteration/iteration.h"
#include "metrics/metrics.h"
#include "projects/profile.h"
#include "projects/projects.h"
#include "publishing/publishing.h"
#include "site/site.h"
#include "tracking/tracking.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The verdict of one validator: rc and e must agree, and an error must
   answer as the handler would. */
static void check(int rc, cl_body_err *e)
{
    if ((rc != 0) != (e->status != 0))
        abort();
    if (!e->status) {
        if (e->fields)
            abort();
        return;
    }
    if (!((e->status >= 400 && e->status < 500) || e->status == 500) || !e->code[0] || !e->message[0])
        abort();
    int named = e->fields != NULL;
    cl_res res;
    memset(&res, 0, sizeof res);
    cl_res_body_error(&res, e);
    if (e->fields || res.status != e->status)
        abort();
    cJSON *doc = cJSON_ParseWithLength(res.body.data ? res.body.data : "", res.body.len);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(err, "code")) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(err, "message")) ||
        (named && !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(err, "fields"))))
        abort();
    cJSON_Delete(doc);
    cl_res_clear(&res);
    memset(e, 0, sizeof *e);
}

/* Validators that wipe or rewrite what they read get a copy. */
static cJSON *copy(const cJSON *body)
{
    return cJSON_Duplicate(body, 1);
}

static void every_validator(const cJSON *body)
{
    cl_body_err e;
    memset(&e, 0, sizeof e);

    /* auth, access, e-mail links */
    for (int signup = 0; signup <= 1; signup++) {
        cJSON *b = copy(body);
        cl_credentials cr;
        check(cl_auth_credentials_body(b, signup, &cr, &e), &e);
        cJSON_Delete(b);
    }
    cl_access_request ar;
    check(cl_access_request_body(body, &ar, &e), &e);
    char email[256], token[CL_EMAIL_TOKEN_MAX + 1];
    cl_plan plan;
    check(cl_access_approve_body(body, email, &plan, &e), &e);
    check(cl_email_token_body(body, token, &e), &e);
    check(cl_email_forgot_body(body, email, &e), &e);
    {
        cJSON *b = copy(body);
        char *pw;
        check(cl_email_reset_body(b, token, &pw, &e), &e);
        cJSON_Delete(b);
    }

    /* chats */
    int64_t id;
    char *title = NULL;
    check(cl_chat_create_body(body, &id, &title, &e), &e);
    free(title);
    title = NULL;
    check(cl_chat_rename_body(body, &title, &e), &e);
    free(title);
    cl_chat_message_in msg;
    check(cl_chat_message_body(body, &msg, &e), &e);
    free(msg.content);

    /* content items, create */
    cl_content_item_in item;
    check(cl_content_item_body(body, &item, &e), &e);
    free(item.draft_text);
    const char *s1, *s2;
    check(cl_create_brief_body(body, &id, &s1, &s2, &e), &e);
    cl_generate_in gen;
    check(cl_create_generate_body(body, &gen, &e), &e);

    /* cycles, the pack, iteration */
    check(cl_cycle_create_body(body, &s1, &s2, &e), &e);
    int flag;
    check(cl_cycle_schedule_item_body(body, &s1, &flag, &e), &e);
    cl_schedule_plan sp;
    int rc = cl_cycle_schedule_body(body, &sp, &e);
    if (sp.n < 0 || sp.n > 32 || sp.ndays < 0 || sp.ndays > 7 || (rc == 0 && !sp.by_days && sp.n == 0))
        abort();
    check(rc, &e);
    check(cl_pack_generate_body(body, &s1, &flag, &s2, &e), &e);
    check(cl_pack_regenerate_body(body, &s1, &s2, &e), &e);
    cl_item_patch patch;
    check(cl_pack_patch_body(body, &patch, &e), &e);
    check(cl_iteration_next_body(body, &s1, &e), &e);

    /* metrics, publishing */
    char views[24], reach[24], code[4];
    check(cl_metrics_views_body(body, views, reach, &e), &e);
    check(cl_metrics_currency_body(body, code, &e), &e);
    check(cl_publishing_posted_body(body, &s1, &e), &e);

    /* projects: POST and PATCH profiles (onboarding's completeness check
       with the body as the current project, the website address rule), ingest */
    for (int mode = CL_PROFILE_CREATE; mode <= CL_PROFILE_UPDATE; mode++) {
        cl_profile_update u;
        memset(&u, 0, sizeof u);
        cJSON *errors = cJSON_CreateObject();
        if (cl_profile_validate(body, (cl_profile_mode)mode, &u, errors) == 0)
            (void)cl_profile_check_complete(body, &u, errors);
        cl_profile_update_free(&u);
        cJSON_Delete(errors);
    }
    const char *site = cJSON_GetStringValue(cJSON_GetObjectItem(body, "website_url"));
    char *url = NULL;
    const char *why = NULL;
    if (site && cl_profile_normalize_url(site, &url, &why) == 0)
        free(url);
    url = NULL;
    check(cl_projects_ingest_body(body, &url, &e), &e);
    free(url);

    /* tracking */
    cl_track_event_in ev;
    check(cl_track_conversion_body(body, &ev, &e), &e);
    check(cl_track_revenue_body(body, &ev, &e), &e);
    cl_buf lit = CL_BUF_INIT;
    check(cl_track_origins_body(body, &flag, &lit, &e), &e);
    cl_buf_free(&lit);
    check(cl_track_destination_body(body, &s1, &e), &e);

    /* the credits test routes */
    for (int refund = 0; refund <= 1; refund++)
        check(cl_credits_test_body(body, refund, &s1, &s2, &e), &e);
}

/* The body as a handler gets it: cl_req_json's parse and UTF-8 check. */
static void as_json_body(const char *data, size_t size)
{
    cl_req req;
    memset(&req, 0, sizeof req);
    req.body = malloc(size + 1);
    memcpy(req.body, data, size);
    req.body[size] = '\0';
    req.body_len = size;
    cl_res res;
    memset(&res, 0, sizeof res);
    cJSON *body = cl_req_json(&req, &res);
    if (body) {
        every_validator(body);
        cJSON_Delete(body);
    } else if (res.status != 400 && res.status != 422) {
        abort();
    }
    cl_res_clear(&res);
    free(req.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    as_json_body((const char *)data, size);
    /* The same bytes as the site's urlencoded access form: the JSON it makes
       goes through POST /api/access/request's path. */
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char *json = cl_site_access_form_json(text);
    if (json)
        as_json_body(json, strlen(json));
    free(json);
    free(text);
    return 0;
}
