/*
 * profile.c — validation and normalization of the business profile. Every
 * field of a request is checked before any error is reported, so the UI can
 * show each message beside its field in one round trip.
 */
#include "projects/profile.h"
#include "core/buf.h"
#include "core/tz.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum field_kind {
    F_LINE,      /* single-line text */
    F_TEXT,      /* multi-line text */
    F_ENUM,      /* one of choices */
    F_INSTAGRAM, /* handle */
    F_WHATSAPP,  /* E.164-ish number */
    F_URL,       /* website */
    F_CHANNELS,  /* set of channels */
    F_TIMEZONE,  /* IANA zone name of the system zone database */
} field_kind;

typedef struct field_def {
    const char *name;
    field_kind kind;
    unsigned max_chars;          /* text: limit in characters */
    const char *const *choices;  /* enum values */
    const char *choice_msg;      /* enum: message for a value outside choices */
    int required_on_create;
    int nullable;                /* may be cleared with null or "" */
    int update_only;             /* accepted by PATCH only */
} field_def;

static const char *const project_types[] = {"business", "creator", "app", NULL};
static const char *const language_styles[] = {"english", "pidgin", "mixed", NULL};
static const char *const onboarding_steps[] = {"basics", "business", "audience", "channels",
                                               "website", "done", NULL};
static const char *const statuses[] = {"active", "archived", NULL};
/* Canonical order of preferred channels. */
static const char *const channels[] = {"instagram", "tiktok", "whatsapp", NULL};

/* Length limits of the text fields, in characters. */
#define LEN_SHORT 80  /* a name, a place, a category */
#define LEN_NAME 120  /* a business name, a tone */
#define LEN_CTA 160   /* a call to action */
#define LEN_TEXT 500  /* an audience, an offer */

static const field_def fields[] = {
    {"name", F_LINE, LEN_SHORT, NULL, NULL, 1, 0, 0},
    {"project_type", F_ENUM, 0, project_types, "Choose business, creator or app", 1, 0, 0},
    {"business_name", F_LINE, LEN_NAME, NULL, NULL, 0, 1, 0},
    {"category", F_LINE, LEN_SHORT, NULL, NULL, 0, 1, 0},
    {"city", F_LINE, LEN_SHORT, NULL, NULL, 0, 1, 0},
    {"state", F_LINE, LEN_SHORT, NULL, NULL, 0, 1, 0},
    {"target_audience", F_TEXT, LEN_TEXT, NULL, NULL, 0, 1, 0},
    {"primary_offer", F_TEXT, LEN_TEXT, NULL, NULL, 0, 1, 0},
    {"price_range", F_LINE, LEN_SHORT, NULL, NULL, 0, 1, 0},
    {"tone", F_LINE, LEN_NAME, NULL, NULL, 0, 1, 0},
    {"cta", F_LINE, LEN_CTA, NULL, NULL, 0, 1, 0},
    {"instagram_handle", F_INSTAGRAM, 0, NULL, NULL, 0, 1, 0},
    {"whatsapp_number", F_WHATSAPP, 0, NULL, NULL, 0, 1, 0},
    {"website_url", F_URL, 0, NULL, NULL, 0, 1, 0},
    {"preferred_channels", F_CHANNELS, 0, NULL, NULL, 0, 1, 0},
    {"language_style", F_ENUM, 0, language_styles, "Choose english, pidgin or mixed", 0, 1, 0},
    {"timezone", F_TIMEZONE, 0, NULL, NULL, 0, 0, 0},
    {"onboarding_step", F_ENUM, 0, onboarding_steps,
     "Choose basics, business, audience, channels, website or done", 0, 0, 0},
    {"status", F_ENUM, 0, statuses, "Choose active or archived", 0, 0, 1},
};
#define NFIELDS (sizeof fields / sizeof fields[0])
_Static_assert(NFIELDS <= CL_PROFILE_MAX_FIELDS, "profile field table too large");

/* Fields onboarding needs before it is done, with their messages. */
static const struct {
    const char *name;
    const char *msg;
} complete_rules[] = {
    {"business_name", "Add your business or brand name to finish onboarding"},
    {"category", "Add a category to finish onboarding"},
    {"target_audience", "Describe your audience to finish onboarding"},
    {"primary_offer", "Describe what you sell to finish onboarding"},
    {"language_style", "Choose a language style to finish onboarding"},
    {"preferred_channels", "Choose at least one channel to finish onboarding"},
};

/* ------------------------------------------------------------------------- */

/* A trimmed malloc'd copy of s (ASCII whitespace). NULL when out of memory. */
static char *trimmed(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

static int add_error(cJSON *errors, const char *field, const char *msg)
{
    if (cJSON_GetObjectItemCaseSensitive(errors, field))
        return 0;
    return cJSON_AddStringToObject(errors, field, msg) ? 0 : -1;
}

static int in_choices(const char *v, const char *const *choices)
{
    for (; *choices; choices++)
        if (strcmp(v, *choices) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------------- */

int cl_profile_normalize_url(const char *in, char **out, const char **msg)
{
    *out = NULL;
    char *t = trimmed(in);
    if (!t) {
        *msg = "Out of memory";
        return 1;
    }
    char *url = NULL;
    if (!strstr(t, "://")) {
        if (asprintf(&url, "https://%s", t) < 0)
            url = NULL;
    } else {
        url = t;
        t = NULL;
    }
    free(t);
    if (!url) {
        *msg = "Out of memory";
        return 1;
    }
    *msg = NULL;
    /* libcurl parses (curl_url); the rules are ours: http(s) only, no user
       name or password, a host with a dot (or localhost, or an IP literal). */
    for (const unsigned char *p = (const unsigned char *)url; *p && !*msg; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\')
            *msg = "A website address cannot contain spaces or quotes";
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL, *port = NULL;
    CURLUcode uc = u ? curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) : CURLUE_OUT_OF_MEMORY;
    if (*msg) {
    } else if (strlen(url) > 2048) {
        *msg = "Use a website address of at most 2048 characters";
    } else if (uc == CURLUE_BAD_PORT_NUMBER) {
        *msg = "Enter a valid port number (1-65535)";
    } else if (uc != CURLUE_OK || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
        *msg = "Enter a valid website address, like https://example.com";
    } else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        *msg = "Enter a website address starting with http:// or https://";
    } else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        *msg = "A website address cannot contain a user name or password";
    } else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '.' || host[0] == '-' ||
               host[strlen(host) - 1] == '.' ||
               (host[0] != '[' && !strchr(host, '.') && strcasecmp(host, "localhost") != 0)) {
        *msg = "Enter a valid website address, like https://example.com";
    } else if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && atoi(port) < 1) {
        *msg = "Enter a valid port number (1-65535)";
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(port);
    curl_url_cleanup(u);
    if (*msg) {
        free(url);
        return 1;
    }
    /* Lower-case scheme (host case does not matter to anyone downstream). */
    for (char *p = url; *p != ':'; p++)
        *p = (char)tolower((unsigned char)*p);
    *out = url;
    return 0;
}

/* Static messages (shared by every thread) for the length limits in use. */
static const char *too_long(unsigned max)
{
    switch (max) {
    case 80: return "Use at most 80 characters";
    case 120: return "Use at most 120 characters";
    case 160: return "Use at most 160 characters";
    case 500: return "Use at most 500 characters";
    default: return "This text is too long";
    }
}

/* Normalize one string field. Returns 0 with *value (malloc'd or NULL for
   "clear"), 1 with *msg set, -1 out of memory. */
static int check_string(const field_def *f, const char *raw, char **value, const char **msg)
{
    *value = NULL;
    if (!cl_utf8_valid(raw, strlen(raw))) {
        *msg = "Contains characters that are not valid text";
        return 1;
    }
    char *v = trimmed(raw);
    if (!v)
        return -1;
    if (!*v) {
        free(v);
        if (!f->nullable) {
            *msg = f->kind == F_ENUM ? f->choice_msg
                   : strcmp(f->name, "name") == 0 ? "Give your project a name"
                                                  : "This field cannot be empty";
            return 1;
        }
        return 0; /* "" clears an optional field */
    }
    switch (f->kind) {
    case F_LINE:
    case F_TEXT:
        for (const unsigned char *p = (const unsigned char *)v; *p; p++)
            if ((*p < 0x20 || *p == 0x7f) &&
                !(f->kind == F_TEXT && (*p == '\n' || *p == '\r' || *p == '\t'))) {
                *msg = f->kind == F_LINE ? "Use a single line of plain text"
                                         : "Contains characters that are not allowed";
                free(v);
                return 1;
            }
        if (cl_utf8_chars(v) > f->max_chars) {
            *msg = too_long(f->max_chars);
            free(v);
            return 1;
        }
        break;
    case F_ENUM:
        for (char *p = v; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (!in_choices(v, f->choices)) {
            *msg = f->choice_msg;
            free(v);
            return 1;
        }
        break;
    case F_TIMEZONE:
        if (!cl_tz_valid(v)) {
            *msg = "Choose a time zone of the IANA database, like Africa/Lagos or Europe/Berlin";
            free(v);
            return 1;
        }
        break;
    case F_INSTAGRAM: {
        const char *h = v[0] == '@' ? v + 1 : v;
        size_t n = strlen(h);
        int ok = n >= 1 && n <= 30 && h[0] != '.' && h[n - 1] != '.' && !strstr(h, "..");
        for (size_t i = 0; ok && i < n; i++)
            ok = isalnum((unsigned char)h[i]) || h[i] == '.' || h[i] == '_';
        if (!ok) {
            *msg = "Enter an Instagram handle like @mamaput_kitchen: letters, numbers, periods and "
                   "underscores, at most 30";
            free(v);
            return 1;
        }
        char *norm = strdup(h);
        free(v);
        if (!norm)
            return -1;
        for (char *p = norm; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        v = norm;
        break;
    }
    case F_WHATSAPP: {
        char digits[32];
        size_t n = 0;
        int plus = 0, ok = 1;
        const char *p = v;
        if (*p == '+') {
            plus = 1;
            p++;
        } else if (p[0] == '0' && p[1] == '0') {
            plus = 1;
            p += 2;
        }
        for (; *p && ok; p++) {
            if (isdigit((unsigned char)*p)) {
                if (n + 1 < sizeof digits)
                    digits[n++] = *p;
                else
                    ok = 0;
            } else if (!strchr(" -().", *p))
                ok = 0;
        }
        digits[n] = '\0';
        if (!plus || !ok || n < 8 || n > 15 || digits[0] == '0') {
            *msg = "Enter a WhatsApp number in international format, like +2348012345678";
            free(v);
            return 1;
        }
        free(v);
        if (asprintf(&v, "+%s", digits) < 0)
            return -1;
        break;
    }
    case F_URL: {
        char *url;
        if (cl_profile_normalize_url(v, &url, msg)) {
            free(v);
            return 1;
        }
        free(v);
        v = url;
        break;
    }
    case F_CHANNELS:
        free(v);
        *msg = "Choose a list of channels: instagram, tiktok, whatsapp";
        return 1;
    }
    *value = v;
    return 0;
}

/* preferred_channels: a JSON array of names -> "{a,b}" in canonical order. */
static int check_channels(const cJSON *item, char **value, const char **msg)
{
    *value = NULL;
    int seen[3] = {0, 0, 0};
    if (!cJSON_IsNull(item)) {
        if (!cJSON_IsArray(item)) {
            *msg = "Choose a list of channels: instagram, tiktok, whatsapp";
            return 1;
        }
        const cJSON *e;
        cJSON_ArrayForEach(e, item)
        {
            if (!cJSON_IsString(e)) {
                *msg = "Choose channels by name: instagram, tiktok, whatsapp";
                return 1;
            }
            char *t = trimmed(e->valuestring);
            if (!t)
                return -1;
            int found = 0;
            for (int i = 0; channels[i]; i++)
                if (strcasecmp(t, channels[i]) == 0) {
                    seen[i] = 1;
                    found = 1;
                }
            free(t);
            if (!found) {
                *msg = "Choose from instagram, tiktok and whatsapp";
                return 1;
            }
        }
    }
    char buf[64] = "{";
    for (int i = 0; channels[i]; i++)
        if (seen[i]) {
            if (buf[1])
                strcat(buf, ",");
            strcat(buf, channels[i]);
        }
    strcat(buf, "}");
    *value = strdup(buf);
    return *value ? 0 : -1;
}

int cl_profile_validate(const cJSON *body, cl_profile_mode mode, cl_profile_update *out,
                        cJSON *errors)
{
    memset(out, 0, sizeof *out);
    int bad = 0;
    const cJSON *item;
    /* Unknown keys first: a typo should not be silently ignored. */
    cJSON_ArrayForEach(item, body)
    {
        int known = 0;
        for (size_t i = 0; i < NFIELDS && !known; i++)
            known = strcmp(item->string, fields[i].name) == 0 &&
                    !(fields[i].update_only && mode == CL_PROFILE_CREATE);
        if (!known) {
            if (add_error(errors, item->string, "Unknown field"))
                return -1;
            bad = 1;
        }
    }
    for (size_t i = 0; i < NFIELDS; i++) {
        const field_def *f = &fields[i];
        if (f->update_only && mode == CL_PROFILE_CREATE)
            continue;
        item = cJSON_GetObjectItemCaseSensitive(body, f->name);
        if (!item) {
            if (mode == CL_PROFILE_CREATE && f->required_on_create) {
                if (add_error(errors, f->name,
                              strcmp(f->name, "name") == 0 ? "Give your project a name"
                                                           : f->choice_msg))
                    return -1;
                bad = 1;
            }
            continue;
        }
        char *value = NULL;
        const char *msg = NULL;
        int rc;
        if (f->kind == F_CHANNELS)
            rc = check_channels(item, &value, &msg);
        else if (cJSON_IsNull(item)) {
            rc = f->nullable ? 0 : 1;
            if (rc)
                msg = f->kind == F_ENUM ? f->choice_msg : "This field is required";
        } else if (!cJSON_IsString(item)) {
            rc = 1;
            msg = f->kind == F_ENUM ? f->choice_msg : "Must be text";
        } else
            rc = check_string(f, item->valuestring, &value, &msg);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            if (add_error(errors, f->name, msg))
                return -1;
            bad = 1;
            continue;
        }
        out->names[out->n] = f->name;
        out->values[out->n] = value;
        out->is_array[out->n] = f->kind == F_CHANNELS;
        out->n++;
    }
    if (bad) {
        cl_profile_update_free(out);
        return 1;
    }
    return 0;
}

void cl_profile_update_free(cl_profile_update *u)
{
    for (size_t i = 0; i < u->n; i++)
        free(u->values[i]);
    memset(u, 0, sizeof *u);
}

int cl_profile_update_get(const cl_profile_update *u, const char *name, const char **value)
{
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->names[i], name) == 0) {
            *value = u->values[i];
            return 1;
        }
    return 0;
}

int cl_profile_check_complete(const cJSON *current, const cl_profile_update *u, cJSON *errors)
{
    int missing = 0;
    for (size_t i = 0; i < sizeof complete_rules / sizeof complete_rules[0]; i++) {
        const char *name = complete_rules[i].name, *v = NULL;
        int present;
        if (cl_profile_update_get(u, name, &v))
            present = v && *v && strcmp(v, "{}") != 0;
        else {
            const cJSON *c = current ? cJSON_GetObjectItemCaseSensitive(current, name) : NULL;
            present = (cJSON_IsString(c) && c->valuestring[0]) ||
                      (cJSON_IsArray(c) && cJSON_GetArraySize(c) > 0);
        }
        if (!present) {
            add_error(errors, name, complete_rules[i].msg);
            missing++;
        }
    }
    return missing;
}
