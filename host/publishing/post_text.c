/*
 * post_text.c — the text that goes out with an item on its channel: the
 * channel's variant of the caption and CTA when the draft has one, the
 * hashtags the channel allows, and the tracking link where the channel's
 * rules allow links in captions.
 */
#include "publishing/post_text.h"
#include "core/buf.h"
#include "core/log.h"
#include "lua/lua_runtime.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *str_of(const cJSON *o, const char *k)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
    return s && *s ? s : NULL;
}

/* Does the channel's rules JSON allow a link in the caption? */
static int links_allowed(const cJSON *rules, const char *channel)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(rules, "tracking_link");
    if (cJSON_IsBool(t))
        return cJSON_IsTrue(t);
    if (cJSON_IsObject(t)) {
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(t, "in_caption");
        if (cJSON_IsBool(in))
            return cJSON_IsTrue(in);
    }
    /* Without a rule: only WhatsApp makes a link in the text clickable. */
    return strcmp(channel, "whatsapp") == 0;
}

int cl_post_text(const char *draft_json, const char *channel, const char *tracking_url, char **caption, char **cta)
{
    *caption = *cta = NULL;
    cJSON *d = cJSON_Parse(draft_json ? draft_json : "");
    if (!cJSON_IsObject(d)) {
        cJSON_Delete(d);
        return -1;
    }
    char *rules_json = NULL, lerr[128];
    cJSON *rules = NULL;
    if (cl_lua_channel_rules(channel, &rules_json, lerr, sizeof lerr) == 0)
        rules = cJSON_Parse(rules_json);
    free(rules_json);

    const cJSON *variant = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "variants"), channel);
    const char *cap = str_of(variant, "caption") ? str_of(variant, "caption") : str_of(d, "caption");
    const char *ct = str_of(variant, "cta") ? str_of(variant, "cta") : str_of(d, "cta");

    cl_buf b = CL_BUF_INIT;
    cl_buf_puts(&b, cap ? cap : "");
    /* Hashtags the caption does not carry yet, up to the channel's maximum. */
    const cJSON *hmax = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rules, "hashtags"), "max");
    int max = cJSON_IsNumber(hmax) ? hmax->valueint : 30;
    int count = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(d, "hashtags"))
    {
        if (!cJSON_IsString(h) || !h->valuestring[0] || count >= max)
            continue;
        count++;
        if (cap && strstr(cap, h->valuestring))
            continue;
        cl_buf_puts(&b, count == 1 ? "\n\n" : " ");
        if (h->valuestring[0] != '#')
            cl_buf_puts(&b, "#");
        cl_buf_puts(&b, h->valuestring);
    }
    if (tracking_url && *tracking_url && links_allowed(rules, channel)) {
        cl_buf_puts(&b, "\n\n");
        cl_buf_puts(&b, tracking_url);
    }
    *caption = b.data ? cl_buf_steal(&b) : strdup("");
    *cta = strdup(ct ? ct : "");
    cJSON_Delete(rules);
    cJSON_Delete(d);
    if (!*caption || !*cta) {
        free(*caption);
        free(*cta);
        *caption = *cta = NULL;
        return -1;
    }
    return 0;
}

int cl_post_links_allowed(const char *channel)
{
    char *rules_json = NULL, lerr[128];
    cJSON *rules = NULL;
    if (cl_lua_channel_rules(channel, &rules_json, lerr, sizeof lerr) == 0)
        rules = cJSON_Parse(rules_json);
    free(rules_json);
    int ok = links_allowed(rules, channel);
    cJSON_Delete(rules);
    return ok;
}
