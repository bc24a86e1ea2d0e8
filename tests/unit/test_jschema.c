/*
 * test_jschema.c — the model answers' schemas (sdk/schemas/, the files plugin
 * authors read) as the host checks them (host/core/jschema.c): what passes,
 * what is refused and how the refusal names the place.
 */
#include "core/config.h"
#include "core/jschema.h"
#include "cycles/cycles_internal.h"
#include "unit.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *DRAFT = "{\"hook\":\"Half-price jollof\",\"script\":[\"Smoky pot\",\"Order now\"],"
                           "\"caption\":\"Two plates, one price\",\"cta\":\"Order on WhatsApp\","
                           "\"hashtags\":[\"#jollof\"],\"variants\":{\"tiktok\":{\"caption\":\"POV: jollof\"}}}";

/* Check text against schema name; *why gets the refusal. Returns cl_jschema_check's result. */
static int check(const char *name, const char *text, char *why, size_t whylen)
{
    cJSON *j = cJSON_Parse(text);
    if (!j) {
        fprintf(stderr, "test JSON does not parse: %s\n", text);
        return 99;
    }
    why[0] = '\0';
    int rc = cl_jschema_check(name, j, why, whylen);
    cJSON_Delete(j);
    return rc;
}

/* DRAFT with one field replaced: key then a JSON value. */
static char *draft_with(const char *key, const char *value)
{
    cJSON *d = cJSON_Parse(DRAFT);
    cJSON_DeleteItemFromObject(d, key);
    if (value)
        cJSON_AddItemToObject(d, key, cJSON_Parse(value));
    char *s = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    return s;
}

static void expect_refused(const char *name, const char *text, const char *why_want)
{
    char why[512];
    CHECK(check(name, text, why, sizeof why) == 1);
    CHECK_STR(why, why_want);
}

static void test_draft(void)
{
    char why[512];
    CHECK(check("promo_draft", DRAFT, why, sizeof why) == 0);
    CHECK(check("regenerate", DRAFT, why, sizeof why) == 0); /* a $ref to promo_draft */
    char *s;
    expect_refused("promo_draft", s = draft_with("hook", NULL), "the answer: 'hook' is missing");
    free(s);
    expect_refused("regenerate", s = draft_with("hook", "null"), "the answer: 'hook' is missing");
    free(s);
    expect_refused("promo_draft", s = draft_with("hook", "\"\""), "hook: must not be empty");
    free(s);
    expect_refused("promo_draft", s = draft_with("script", "\"one long beat\""), "script: must be array, is string");
    free(s);
    expect_refused("promo_draft", s = draft_with("script", "[]"), "script: at least 1 item, has 0");
    free(s);
    expect_refused("promo_draft", s = draft_with("script", "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\"]"),
                   "script: at most 12 items, has 13");
    free(s);
    expect_refused("promo_draft", s = draft_with("script", "[\"ok\", 7]"), "script[1]: must be string, is number");
    free(s);
    expect_refused("promo_draft", s = draft_with("variants", "{\"tiktok\":{\"cta\":\"x\"}}"),
                   "variants.tiktok: 'caption' is missing");
    free(s);
    expect_refused("promo_draft", s = draft_with("hashtags", "\"#one\""),
                   "hashtags: must be one of the types [\"array\",\"null\"], is string");
    free(s);
    CHECK(check("promo_draft", s = draft_with("hashtags", "null"), why, sizeof why) == 0); /* null means absent */
    free(s);
    expect_refused("promo_draft", "[1,2]", "the answer: must be object, is array");
}

static void test_posts(void)
{
    char why[512];
    /* the pack's size in the schema is the host's CL_CYCLE_PACK_SIZE */
    cJSON *posts = cJSON_CreateArray();
    for (int i = 0; i < CL_CYCLE_PACK_SIZE; i++) {
        cJSON *d = cJSON_Parse(DRAFT);
        cJSON_AddStringToObject(d, "title", "Weekend");
        cJSON_AddItemToArray(posts, d);
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "posts", posts);
    CHECK(cl_jschema_check("posts", root, why, sizeof why) == 0);
    cJSON_DeleteItemFromObject(cJSON_GetArrayItem(posts, 2), "title");
    CHECK(cl_jschema_check("posts", root, why, sizeof why) == 1);
    CHECK_STR(why, "posts[2]: 'title' is missing");
    cJSON_DeleteItemFromObject(cJSON_GetArrayItem(posts, 3), "cta");
    cJSON_DeleteItemFromArray(posts, 2);
    CHECK(cl_jschema_check("posts", root, why, sizeof why) == 1);
    char want[64];
    snprintf(want, sizeof want, "posts: at least %d items, has %d", CL_CYCLE_PACK_SIZE, CL_CYCLE_PACK_SIZE - 1);
    CHECK_STR(why, want);
    cJSON_AddItemToArray(posts, cJSON_Parse("{\"title\":\"x\"}"));
    CHECK(cl_jschema_check("posts", root, why, sizeof why) == 1);
    CHECK_STR(why, "posts[2]: 'cta' is missing"); /* the draft's own rule, through allOf + $ref */
    cJSON_Delete(root);
}

static void test_brief_and_iteration(void)
{
    char why[512];
    CHECK(check("brief", "{\"title\":\"Jollof\",\"channel\":\"tiktok\",\"duration_seconds\":20}", why, sizeof why) == 0);
    expect_refused("brief", "{\"title\":[\"x\"]}", "title: must be one of the types [\"string\",\"null\"], is array");
    CHECK(check("iteration", "{\"summary\":\"Hooks with prices won.\",\"hooks\":[{\"item_id\":4,\"hook\":\"Now 2 for 1\"}],"
                             "\"angles\":[]}", why, sizeof why) == 0);
    char *long_summary = malloc(2100);
    memset(long_summary, 'a', 2001);
    long_summary[2001] = '\0';
    char text[2200];
    snprintf(text, sizeof text, "{\"summary\":\"%s\",\"hooks\":[],\"angles\":[]}", long_summary);
    expect_refused("iteration", text, "summary: at most 2000 characters, has 2001");
    free(long_summary);
    /* characters, not bytes: 2000 two-byte characters fit */
    char *pidgin = malloc(4100);
    for (int i = 0; i < 2000; i++)
        memcpy(pidgin + 2 * i, "\xc3\xa9", 2);
    pidgin[4000] = '\0';
    char *t2 = malloc(4200);
    snprintf(t2, 4200, "{\"summary\":\"%s\",\"hooks\":[],\"angles\":[]}", pidgin);
    CHECK(check("iteration", t2, why, sizeof why) == 0);
    free(pidgin);
    free(t2);
    expect_refused("iteration", "{\"summary\":\"x\",\"hooks\":[{\"item_id\":\"4\",\"hook\":\"h\"}],\"angles\":[]}",
                   "hooks[0].item_id: must be number, is string");
}

static void test_missing(void)
{
    char why[512];
    CHECK(!cl_jschema_exists("chat")); /* chat answers are plain text */
    cJSON *o = cJSON_CreateObject();
    CHECK(cl_jschema_check("no_such_purpose", o, why, sizeof why) == -1);
    CHECK(strstr(why, "no_such_purpose.schema.json cannot be read") != NULL);
    cJSON_Delete(o);
}

int main(void)
{
    const char *src = getenv("CLIPLOOP_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "CLIPLOOP_SOURCE_DIR must be set\n");
        return 1;
    }
    char dir[1100], err[512];
    snprintf(dir, sizeof dir, "%s/sdk/schemas", src);
    setenv("CLIPLOOP_SCHEMA_DIR", dir, 1);
    setenv("CLIPLOOP_ENV_FILE", "/dev/null", 1);
    if (cl_config_load(err, sizeof err) != 0) {
        fprintf(stderr, "config: %s\n", err);
        return 1;
    }
    test_draft();
    test_posts();
    test_brief_and_iteration();
    test_missing();
    cl_jschema_reset_for_tests();
    return unit_done("test_jschema");
}
