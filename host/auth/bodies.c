/*
 * bodies.c — the request bodies of the account routes, validated without a
 * database (tests/fuzz/fuzz_bodies.c runs them on arbitrary input): sign-up
 * and log-in credentials, the access request, dev approve-user, and the
 * e-mail link bodies (verify, forgot, reset). Each handler answers the
 * cl_body_err at the point it always checked its body.
 */
#include "auth/auth.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

int cl_auth_credentials_body(cJSON *body, int signup, cl_credentials *out, cl_body_err *e)
{
    const cJSON *em = cJSON_GetObjectItemCaseSensitive(body, "email");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(body, "password");
    /* Every field's problem at once, so a form shows them together. */
    const char *email_msg = NULL, *password_msg = NULL;
    if (!cJSON_IsString(em) || !em->valuestring[0])
        email_msg = "Enter your email address";
    else if (cl_email_normalize(em->valuestring, out->email, sizeof out->email) != 0)
        email_msg = "Enter a valid email address";
    if (!cJSON_IsString(p) || !p->valuestring[0])
        password_msg = "Enter your password";
    else if (strlen(p->valuestring) > CL_PASSWORD_MAX)
        password_msg = "Passwords are at most 256 characters";
    else if (signup && strlen(p->valuestring) < CL_PASSWORD_MIN)
        password_msg = "Use at least 8 characters";
    int rc = 0;
    if (email_msg || password_msg) {
        rc = cl_body_field(e, 422, email_msg ? "email" : "password", email_msg ? email_msg : password_msg);
        if (email_msg && password_msg)
            cJSON_AddStringToObject(e->fields, "password", password_msg);
    } else {
        snprintf(out->password, sizeof out->password, "%s", p->valuestring);
    }
    if (cJSON_IsString(p))
        OPENSSL_cleanse(p->valuestring, strlen(p->valuestring));
    return rc;
}

/* An optional string field: 0 (*out NULL when absent or empty), or -1 with e set. */
static int opt_string(const cJSON *j, const char *name, size_t max, const char **out, cl_body_err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || strlen(v->valuestring) > max) {
        char msg[96];
        snprintf(msg, sizeof msg, "Must be text of at most %zu characters", max);
        return cl_body_field(e, 422, name, msg);
    }
    *out = v->valuestring[0] ? v->valuestring : NULL;
    return 0;
}

/* channels: an optional array of known channel names, as a Postgres text[]
   literal in out ("{instagram,tiktok}"). 0, or -1 with e set. */
static int channels_field(const cJSON *j, char *out, size_t len, cl_body_err *e)
{
    static const char *const known[] = {"instagram", "tiktok", "whatsapp", "other"};
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "channels");
    int seen[4] = {0};
    snprintf(out, len, "{}");
    if (!v || cJSON_IsNull(v))
        return 0;
    const cJSON *item;
    int ok = cJSON_IsArray(v) && cJSON_GetArraySize(v) <= 8;
    const cJSON *list = ok ? v : NULL;
    cJSON_ArrayForEach(item, list)
    {
        size_t k = 0;
        while (k < 4 && !(cJSON_IsString(item) && strcmp(item->valuestring, known[k]) == 0))
            k++;
        if (k == 4) {
            ok = 0;
            break;
        }
        seen[k] = 1;
    }
    if (!ok)
        return cl_body_field(e, 422, "channels",
                             "Channels must be a list of instagram, tiktok, whatsapp or other");
    size_t used = (size_t)snprintf(out, len, "{");
    for (size_t k = 0; k < 4; k++)
        if (seen[k])
            used += (size_t)snprintf(out + used, len - used, "%s%s", used > 1 ? "," : "", known[k]);
    snprintf(out + used, len - used, "}");
    return 0;
}

int cl_access_request_body(const cJSON *body, cl_access_request *out, cl_body_err *e)
{
    const cJSON *em = cJSON_GetObjectItemCaseSensitive(body, "email");
    if (!cJSON_IsString(em) || cl_email_normalize(em->valuestring, out->email, sizeof out->email) != 0)
        return cl_body_field(e, 422, "email", "Enter a valid email address");
    if (opt_string(body, "name", 200, &out->name, e) || opt_string(body, "note", 2000, &out->note, e) ||
        opt_string(body, "business", 500, &out->business, e) ||
        channels_field(body, out->channels, sizeof out->channels, e))
        return -1;
    return 0;
}

int cl_access_approve_body(const cJSON *body, char email[256], cl_plan *plan, cl_body_err *e)
{
    const cJSON *em = cJSON_GetObjectItemCaseSensitive(body, "email");
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(body, "plan");
    *plan = CL_PLAN_BETA;
    if (!cJSON_IsString(em) || cl_email_normalize(em->valuestring, email, 256) != 0)
        return cl_body_field(e, 422, "email", "Enter a valid email address");
    if (pl && !cJSON_IsNull(pl) && (!cJSON_IsString(pl) || cl_plan_parse(pl->valuestring, plan) != 0))
        return cl_body_field(e, 422, "plan", "Plan must be free, beta or starter (Pro)");
    return 0;
}

int cl_email_token_body(const cJSON *body, char token[CL_EMAIL_TOKEN_MAX + 1], cl_body_err *e)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "token");
    if (!cJSON_IsString(t) || !t->valuestring[0])
        return cl_body_field(e, 422, "token", "The link has no token; open it from the e-mail again");
    snprintf(token, CL_EMAIL_TOKEN_MAX + 1, "%s", t->valuestring);
    return 0;
}

int cl_email_reset_body(cJSON *body, char token[CL_EMAIL_TOKEN_MAX + 1], char **password, cl_body_err *e)
{
    *password = NULL;
    if (cl_email_token_body(body, token, e) != 0)
        return -1;
    cJSON *pw = cJSON_GetObjectItemCaseSensitive(body, "password");
    const char *msg = NULL;
    /* The same rules as sign-up. */
    if (!cJSON_IsString(pw) || !pw->valuestring[0])
        msg = "Enter a new password";
    else if (strlen(pw->valuestring) > CL_PASSWORD_MAX)
        msg = "Passwords are at most 256 characters";
    else if (strlen(pw->valuestring) < CL_PASSWORD_MIN)
        msg = "Use at least 8 characters";
    if (msg) {
        if (cJSON_IsString(pw))
            OPENSSL_cleanse(pw->valuestring, strlen(pw->valuestring));
        return cl_body_field(e, 422, "password", msg);
    }
    *password = pw->valuestring;
    return 0;
}

int cl_email_forgot_body(const cJSON *body, char email[256], cl_body_err *e)
{
    const cJSON *em = cJSON_GetObjectItemCaseSensitive(body, "email");
    if (!cJSON_IsString(em) || cl_email_normalize(em->valuestring, email, 256) != 0)
        return cl_body_field(e, 422, "email", "Enter the e-mail address of your account");
    return 0;
}
