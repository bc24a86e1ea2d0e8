/*
 * test_draft.c — brief and draft generation (host/create) end to end:
 * the llm_mock plugin through the loader with the shipped Lua scripts
 * (copied to a temp dir); provider errors passed through (LLM_MOCK_FAIL);
 * schema validation; bounded retries of malformed answers and channel rules
 * enforced after generation, against tests/fakes/llm_fake.mjs through
 * llm_openai_compat; hot reload of a channel rule file without a restart.
 */
#include "core/config.h"
#include "create/create.h"
#include "lua/lua_runtime.h"
#include "net/http_client.h"
#include "plugins/registry.h"
#include "plugin_env.h"
#include "fake_proc.h"
#include "unit.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[] = "/tmp/cl_draft_test_XXXXXX";
static pid_t fake_pid = -1;
static int fake_port;
static char port_file[PATH_MAX];

static int start_fake(void)
{
    fake_pid = fake_proc_start("llm_fake.mjs", tmp, port_file, sizeof port_file, &fake_port);
    return fake_pid > 0 ? 0 : -1;
}

static int fake_request_count(void)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/requests", fake_port);
    cl_http_request r = {.size = sizeof r, .url = url};
    cl_http_response res = {.size = sizeof res};
    cl_error err;
    if (cl_http_do(NULL, &r, &res, &err) != CL_OK)
        return -1;
    cJSON *j = cJSON_Parse(res.body);
    int n = cJSON_GetArraySize(j);
    cJSON_Delete(j);
    cl_http_response_free(&res);
    return n;
}

static void fake_reset(void)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/requests", fake_port);
    cl_http_request r = {.size = sizeof r, .method = "DELETE", .url = url};
    cl_http_response res = {.size = sizeof res};
    cl_error err;
    cl_http_do(NULL, &r, &res, &err);
    cl_http_response_free(&res);
}

static int contains(const char *hay, const char *needle)
{
    if (!(hay && needle && strstr(hay, needle))) {
        fprintf(stderr, "  expected \"%s\" in \"%s\"\n", needle ? needle : "(null)", hay ? hay : "(null)");
        return 0;
    }
    return 1;
}

static size_t u8len(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static const char *S(const cJSON *o, const char *k) { return cJSON_GetStringValue(cJSON_GetObjectItem(o, k)); }

/* Copy a file, replacing `from` by `to` once (written via rename, like an editor). */
static int rewrite(const char *path, const char *from, const char *to)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *at = strstr(text, from);
    if (!at)
        return -1;
    char part[PATH_MAX + 8];
    snprintf(part, sizeof part, "%s.part", path);
    f = fopen(part, "w");
    if (!f)
        return -1;
    fwrite(text, 1, (size_t)(at - text), f);
    fputs(to, f);
    fputs(at + strlen(from), f);
    fclose(f);
    return rename(part, path);
}

static const char *PROFILE =
    "{\"name\":\"Mama Put Kitchen\",\"category\":\"restaurant\",\"location\":\"Yaba\","
    "\"audience\":\"office workers nearby\",\"offer\":\"2 plates for 1 on weekends\","
    "\"language_style\":\"pidgin\",\"default_channel\":\"tiktok\"}";

/* ------------------------------------------------------------------------- */

static void test_rules_unit(void)
{
    /* word-boundary truncation, counted in characters */
    char *t = cl_truncate_words("Fresh jollof rice every weekend at our shop", 20);
    CHECK_STR(t, "Fresh jollof rice\xe2\x80\xa6");
    CHECK(u8len(t) <= 20);
    free(t);
    t = cl_truncate_words("short", 20);
    CHECK_STR(t, "short");
    free(t);
    t = cl_truncate_words("Caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9", 11);
    CHECK_STR(t, "Caf\xc3\xa9 caf\xc3\xa9\xe2\x80\xa6");
    free(t);
    t = cl_truncate_words("Supercalifragilistic", 8); /* one long word: cut inside it */
    CHECK(u8len(t) == 8);
    free(t);

    cJSON *rules = cJSON_Parse("{\"caption\":{\"max_chars\":40},\"hashtags\":{\"max\":2},"
                               "\"hook\":{\"max_words\":4},\"script\":{\"max_beats\":3}}");
    cJSON *d = cJSON_Parse("{\"hook\":\"one two three four five six\","
                           "\"script\":[\"a\",\"b\",\"c\",\"d\",\"CTA\"],"
                           "\"caption\":\"Our best jollof in Yaba is back this weekend with a deal #food #yaba #lagos\","
                           "\"hashtags\":[\"food\",\"#Food\",\"# yaba \",\"#lagos\",\"\"]}");
    cJSON *adj = cJSON_CreateArray();
    cl_draft_apply_rules(d, rules, "x", adj);
    CHECK_STR(S(d, "hook"), "one two three four");
    cJSON *tags = cJSON_GetObjectItem(d, "hashtags");
    CHECK(cJSON_GetArraySize(tags) == 2);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(tags, 0)), "#food");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(tags, 1)), "#yaba");
    CHECK(u8len(S(d, "caption")) <= 40);
    CHECK(strstr(S(d, "caption"), "#lagos") == NULL);
    cJSON *script = cJSON_GetObjectItem(d, "script");
    CHECK(cJSON_GetArraySize(script) == 3);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(script, 2)), "CTA");
    char *adj_text = cJSON_PrintUnformatted(adj);
    CHECK(contains(adj_text, "x: caption shortened to 40 characters"));
    CHECK(contains(adj_text, "hashtags capped at 2"));
    free(adj_text);
    cJSON_Delete(d);
    cJSON_Delete(adj);
    cJSON_Delete(rules);

    /* max 0: every inline tag goes */
    rules = cJSON_Parse("{\"hashtags\":{\"max\":0}}");
    d = cJSON_Parse("{\"caption\":\"#promo Weekend deal #food today\",\"hashtags\":[\"#a\"]}");
    cl_draft_apply_rules(d, rules, NULL, NULL);
    CHECK_STR(S(d, "caption"), "Weekend deal today");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(d, "hashtags")) == 0);
    cJSON_Delete(d);
    cJSON_Delete(rules);
}

static void test_validate(void)
{
    char why[256];
    static const struct {
        const char *json, *why;
    } bad[] = {
        {"not json", "not a JSON object"},
        {"[1]", "not a JSON object"},
        {"{\"script\":[\"a\"],\"caption\":\"c\",\"cta\":\"x\",\"variants\":{}}", "'hook' is missing"},
        {"{\"hook\":\" \",\"script\":[\"a\"],\"caption\":\"c\",\"cta\":\"x\",\"variants\":{}}", "'hook' is empty"},
        {"{\"hook\":\"h\",\"script\":\"a\",\"caption\":\"c\",\"cta\":\"x\",\"variants\":{}}", "'script' must be an array"},
        {"{\"hook\":\"h\",\"script\":[],\"caption\":\"c\",\"cta\":\"x\",\"variants\":{}}", "1 to 12 beats"},
        {"{\"hook\":\"h\",\"script\":[\"a\",3],\"caption\":\"c\",\"cta\":\"x\",\"variants\":{}}", "non-empty string"},
        {"{\"hook\":\"h\",\"script\":[\"a\"],\"cta\":\"x\",\"variants\":{}}", "'caption' is missing"},
        {"{\"hook\":\"h\",\"script\":[\"a\"],\"caption\":\"c\",\"cta\":7,\"variants\":{}}", "'cta' must be a string"},
        {"{\"hook\":\"h\",\"script\":[\"a\"],\"caption\":\"c\",\"cta\":\"x\",\"hashtags\":[1],\"variants\":{}}", "'hashtags' must be an array of strings"},
        {"{\"hook\":\"h\",\"script\":[\"a\"],\"caption\":\"c\",\"cta\":\"x\"}", "'variants' must be an object"},
        {"{\"hook\":\"h\",\"script\":[\"a\"],\"voiceover\":\"say\",\"caption\":\"c\",\"cta\":\"x\",\"variants\":{}}", "'voiceover' must be an array"},
        {"{\"hook\":\"h\",\"script\":[\"a\"],\"voiceover\":[\"a\",2],\"caption\":\"c\",\"cta\":\"x\",\"variants\":{}}", "every 'voiceover' line"},
        {"{\"hook\":\"h\",\"script\":[\"a\"],\"caption\":\"c\",\"cta\":\"x\",\"variants\":{\"tiktok\":{\"cta\":\"y\"}}}", "variants.tiktok: 'caption' is missing"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        why[0] = '\0';
        cJSON *d = cl_draft_validate(bad[i].json, why, sizeof why);
        CHECK(d == NULL);
        CHECK(contains(why, bad[i].why));
        cJSON_Delete(d);
    }
    cJSON *d = cl_draft_validate("{\"hook\":\"h\",\"script\":[\"a\"],\"caption\":\"c\",\"cta\":\"x\","
                                 "\"extra\":1,\"variants\":{\"tiktok\":{\"caption\":\"t\"}}}",
                                 why, sizeof why);
    CHECK(d != NULL);
    CHECK(cJSON_GetObjectItem(d, "extra") == NULL);
    CHECK_STR(S(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "variants"), "tiktok"), "cta"), "x");
    CHECK_STR(S(d, "caption_hint"), "");
    CHECK(cJSON_GetObjectItem(d, "voiceover") == NULL); /* optional */
    cJSON_Delete(d);
    /* voiceover lines are kept in order, blank ones dropped */
    d = cl_draft_validate("{\"hook\":\"h\",\"script\":[\"a\"],\"voiceover\":[\"Fresh bread.\",\"  \",\"Order now.\"],"
                          "\"caption\":\"c\",\"cta\":\"x\",\"variants\":{}}",
                          why, sizeof why);
    CHECK(d != NULL);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(d, "voiceover")) == 2);
    CHECK_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "voiceover"), 1)->valuestring, "Order now.");
    cJSON_Delete(d);
}

static void test_with_mock(void)
{
    snprintf(cl_cfg.llm_provider, sizeof cl_cfg.llm_provider, "mock");
    cl_error err;
    char *brief = NULL;
    int rc = cl_brief_generate(NULL, PROFILE, "We sell jollof and small chops.",
                               "WhatsApp promo for our weekend sale", &brief, &err);
    if (rc != CL_OK)
        fprintf(stderr, "  brief: %s\n", err.message);
    CHECK(rc == CL_OK && brief != NULL);
    if (rc != CL_OK || !brief)
        return; /* everything below starts from this brief: fail here, not crash there */
    cJSON *b = cJSON_Parse(brief);
    CHECK_STR(S(b, "channel"), "whatsapp"); /* the request's intent wins over the profile default */
    double dur = cJSON_GetNumberValue(cJSON_GetObjectItem(b, "duration_seconds"));
    CHECK(dur >= 5 && dur <= 30); /* clamped to the WhatsApp rules */
    CHECK_STR(S(b, "aspect"), "9:16");
    CHECK_STR(S(b, "language_style"), "pidgin");
    CHECK(S(b, "tone") && *S(b, "tone") && S(b, "cta") && *S(b, "cta") && S(b, "caption_hint"));
    CHECK_STR(S(b, "request"), "WhatsApp promo for our weekend sale");
    CHECK_STR(S(cJSON_GetObjectItem(b, "meta"), "provider"), "mock");
    cJSON_Delete(b);

    /* deterministic with the mock: same inputs, same brief */
    char *brief2 = NULL;
    cl_brief_generate(NULL, PROFILE, "We sell jollof and small chops.", "WhatsApp promo for our weekend sale",
                      &brief2, &err);
    CHECK(brief2 && strcmp(brief, brief2) == 0);
    free(brief2);

    /* no channel in the request: a known model pick or the profile's default */
    char *b3 = NULL;
    CHECK(cl_brief_generate(NULL, PROFILE, NULL, "Promo for our new pepper soup", &b3, &err) == CL_OK);
    cJSON *bj = cJSON_Parse(b3);
    const char *ch = S(bj, "channel");
    CHECK(ch && (strcmp(ch, "instagram") == 0 || strcmp(ch, "tiktok") == 0 || strcmp(ch, "whatsapp") == 0));
    cJSON_Delete(bj);
    free(b3);

    /* the draft, end to end */
    char *draft = NULL;
    rc = cl_draft_generate(NULL, brief, "We sell jollof and small chops.", NULL, &draft, &err);
    if (rc != CL_OK)
        fprintf(stderr, "  draft: %s\n", err.message);
    CHECK(rc == CL_OK);
    cJSON *d = cJSON_Parse(draft);
    CHECK_STR(S(d, "channel"), "whatsapp");
    CHECK(S(d, "hook") && *S(d, "hook"));
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(d, "script")) >= 1);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(d, "script")) <= 5);
    /* the mock narrates too: spoken lines, ending with the call to action */
    cJSON *vo = cJSON_GetObjectItem(d, "voiceover");
    CHECK(cJSON_GetArraySize(vo) >= 2);
    CHECK(vo && strstr(cJSON_GetArrayItem(vo, cJSON_GetArraySize(vo) - 1)->valuestring, S(d, "cta")) != NULL);
    CHECK(u8len(S(d, "caption")) <= 280);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(d, "hashtags")) == 0); /* WhatsApp: none */
    CHECK(S(d, "cta") && S(d, "caption_hint"));
    cJSON *variants = cJSON_GetObjectItem(d, "variants");
    CHECK(cJSON_GetArraySize(variants) == 3);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(variants, "instagram"), "hashtags")) <= 8);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(variants, "tiktok"), "hashtags")) <= 4);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(variants, "whatsapp"), "hashtags")) == 0);
    CHECK(cJSON_IsArray(cJSON_GetObjectItem(d, "adjustments")));
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "meta"), "attempts")) == 1);
    CHECK_STR(S(d, "language_style"), "pidgin");
    cJSON_Delete(d);

    /* an explicit channel overrides the brief's */
    char *dt = NULL;
    CHECK(cl_draft_generate(NULL, brief, NULL, "tiktok", &dt, &err) == CL_OK);
    d = cJSON_Parse(dt);
    CHECK_STR(S(d, "channel"), "tiktok");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(d, "hashtags")) <= 4);
    double tdur = cJSON_GetNumberValue(cJSON_GetObjectItem(d, "duration_seconds"));
    CHECK(tdur >= 7 && tdur <= 45);
    cJSON_Delete(d);
    free(dt);

    /* hot reload: change the WhatsApp caption limit on disk, no restart */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/scripts/channels/whatsapp.lua", tmp);
    CHECK(rewrite(path, "max_chars = 280", "max_chars = 30") == 0);
    char *draft2 = NULL;
    CHECK(cl_draft_generate(NULL, brief, "We sell jollof and small chops.", NULL, &draft2, &err) == CL_OK);
    d = cJSON_Parse(draft2);
    CHECK(u8len(S(d, "caption")) <= 30);
    CHECK(u8len(S(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "variants"), "whatsapp"), "caption")) <= 30);
    char *adj = cJSON_PrintUnformatted(cJSON_GetObjectItem(d, "adjustments"));
    CHECK(contains(adj, "caption shortened to 30 characters"));
    free(adj);
    cJSON_Delete(d);
    /* a broken edit keeps the last good rules (30) */
    CHECK(rewrite(path, "max_chars = 30", "max_chars = = 30") == 0);
    char *draft3 = NULL;
    CHECK(cl_draft_generate(NULL, brief, "We sell jollof and small chops.", NULL, &draft3, &err) == CL_OK);
    d = cJSON_Parse(draft3);
    CHECK(u8len(S(d, "caption")) <= 30);
    cJSON_Delete(d);
    char *status = NULL;
    cl_lua_scripts_status_json(&status);
    CHECK(contains(status, "channels/whatsapp.lua:"));
    free(status);
    free(draft);
    free(draft2);
    free(draft3);

    /* provider errors pass straight through, no fallback, no retry loop */
    plugin_setenv("LLM_MOCK_FAIL", "auth");
    char *x = NULL;
    rc = cl_draft_generate(NULL, brief, NULL, NULL, &x, &err);
    CHECK(rc == CL_EAUTH && err.code == CL_EAUTH && x == NULL && contains(err.message, "LLM_MOCK_FAIL=auth"));
    plugin_setenv("LLM_MOCK_FAIL", "rate_limit");
    rc = cl_brief_generate(NULL, PROFILE, NULL, "promo", &x, &err);
    CHECK(rc == CL_ERATELIMIT && err.retry_after_ms == 1000 && x == NULL);
    plugin_setenv("LLM_MOCK_FAIL", NULL);

    /* bad inputs */
    CHECK(cl_draft_generate(NULL, "nope", NULL, NULL, &x, &err) == CL_EINVAL);
    CHECK(cl_draft_generate(NULL, "{}", NULL, NULL, &x, &err) == CL_EINVAL && contains(err.message, "no channel"));
    CHECK(cl_draft_generate(NULL, brief, NULL, "myspace", &x, &err) == CL_EINVAL &&
          contains(err.message, "unknown channel 'myspace'"));
    CHECK(cl_brief_generate(NULL, "[1]", NULL, "promo", &x, &err) == CL_EINVAL);
    CHECK(cl_brief_generate(NULL, NULL, NULL, "", &x, &err) == CL_EINVAL);

    /* a provider that is not loaded is an error, never the mock */
    snprintf(cl_cfg.llm_provider, sizeof cl_cfg.llm_provider, "nope");
    CHECK(cl_draft_generate(NULL, brief, NULL, NULL, &x, &err) == CL_EUNSUPPORTED &&
          contains(err.message, "LLM_PROVIDER=nope"));
    free(brief);
}

static void test_retries_with_fake(void)
{
    if (start_fake() != 0) {
        CHECK(!"fake LLM server started");
        return;
    }
    char base[128];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/v1", fake_port);
    plugin_setenv("OPENAI_COMPAT_BASE_URL", base);
    plugin_setenv("OPENAI_COMPAT_MAX_RETRIES", "0");
    snprintf(cl_cfg.llm_provider, sizeof cl_cfg.llm_provider, "openai_compat");
    const char *brief = "{\"title\":\"Weekend jollof\",\"channel\":\"whatsapp\",\"offer\":\"2 for 1\"}";
    cl_error err;
    char *draft = NULL;

    /* an invalid answer first, a valid one on the retry */
    plugin_setenv("OPENAI_COMPAT_MODEL", "fake-draft-badonce-k1");
    fake_reset();
    int rc = cl_draft_generate(NULL, brief, NULL, NULL, &draft, &err);
    if (rc != CL_OK)
        fprintf(stderr, "  badonce: %s\n", err.message);
    CHECK(rc == CL_OK);
    CHECK(fake_request_count() == 2);
    cJSON *d = cJSON_Parse(draft);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "meta"), "attempts")) == 2);
    CHECK_STR(S(cJSON_GetObjectItem(d, "meta"), "provider"), "openai_compat");
    cJSON_Delete(d);
    free(draft);
    draft = NULL;

    /* malformed every time: bounded attempts, then a clear error */
    plugin_setenv("OPENAI_COMPAT_MODEL", "fake-malformed");
    fake_reset();
    rc = cl_draft_generate(NULL, brief, NULL, NULL, &draft, &err);
    CHECK(rc == CL_EMALFORMED && err.code == CL_EMALFORMED && draft == NULL);
    CHECK(fake_request_count() == CL_CREATE_MAX_ATTEMPTS);

    /* auth errors are not retried */
    plugin_setenv("OPENAI_COMPAT_MODEL", "fake-401");
    fake_reset();
    rc = cl_draft_generate(NULL, brief, NULL, NULL, &draft, &err);
    CHECK(rc == CL_EAUTH && fake_request_count() == 1);

    /* rules enforced after generation: a 600-char caption with inline tags and 12 hashtags */
    plugin_setenv("OPENAI_COMPAT_MODEL", "fake-draft-longcaption");
    rc = cl_draft_generate(NULL, brief, NULL, NULL, &draft, &err);
    CHECK(rc == CL_OK);
    d = cJSON_Parse(draft);
    cJSON *v = cJSON_GetObjectItem(d, "variants");
    CHECK(u8len(S(d, "caption")) <= 30); /* the hot-reloaded WhatsApp limit still applies */
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(d, "hashtags")) == 0);
    const char *wa = S(cJSON_GetObjectItem(v, "whatsapp"), "caption");
    CHECK(wa && strchr(wa, '#') == NULL && u8len(wa) <= 30);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "whatsapp"), "hashtags")) == 0);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "instagram"), "hashtags")) == 8);
    CHECK(u8len(S(cJSON_GetObjectItem(v, "instagram"), "caption")) <= 2200);
    /* the cut is at a word boundary: whole words + "…" */
    CHECK_STR(S(d, "caption"), "delicious delicious delicious\xe2\x80\xa6");
    CHECK_STR(wa, "delicious delicious delicious\xe2\x80\xa6");
    /* tiktok: 300 characters at most, 4 hashtags at most */
    CHECK(u8len(S(cJSON_GetObjectItem(v, "tiktok"), "caption")) <= 300);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "tiktok"), "hashtags")) <= 4);
    cJSON_Delete(d);
    free(draft);

    fake_proc_stop(&fake_pid);
    unlink(port_file);
}

/* ------------------------------------------------------------------------- */
/* Offline mode reads like the product: the mock answers from the user's     */
/* words and the profile, and the user's edits reach the draft unchanged.    */

/* Every word of `phrase` (case-insensitive) appears in `text`. */
static int has_words(const char *text, const char *phrase)
{
    char w[64];
    for (const char *p = phrase; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (!n)
            break;
        snprintf(w, sizeof w, "%.*s", (int)(n < 63 ? n : 63), p);
        if (!text || !strcasestr(text, w))
            return 0;
        p += n;
    }
    return 1;
}

static void test_grounded_mock(void)
{
    snprintf(cl_cfg.llm_provider, sizeof cl_cfg.llm_provider, "mock");
    static const char *const profile =
        "{\"name\":\"Bola Bakes\",\"category\":\"bakery\",\"location\":\"Lagos\","
        "\"offer\":\"Cakes and pastries\",\"default_channel\":\"instagram\"}";
    static const struct {
        const char *prompt, *offer, *product;
    } cases[] = {
        {"Birthday cakes, 10% off this week, order on Instagram", "10% off", "birthday cakes"},
        {"half price jollof trays this weekend on WhatsApp", "half price", "jollof trays"},
        {"Free delivery on all meat pies until Friday", "Free delivery", "meat pies"},
        {"TikTok promo: buy one get one free on cupcakes", "buy one get one free", "cupcakes"},
        {"Small chops platters for ₦15,000 this Saturday", "₦15,000", "Small chops platters"},
    };
    static const char *const filler[] = {"just got better", "in town", "changes everything", "Niche",
                                         "free gift", NULL};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cl_error err;
        char *brief = NULL, *draft = NULL;
        CHECK(cl_brief_generate(NULL, profile, NULL, cases[i].prompt, &brief, &err) == CL_OK && brief);
        if (!brief) {
            fprintf(stderr, "  prompt \"%s\": no brief: %s\n", cases[i].prompt, err.message);
            continue;
        }
        cJSON *b = cJSON_Parse(brief);
        const char *offer = S(b, "offer"), *title = S(b, "title");
        if (!has_words(offer, cases[i].offer) || !has_words(offer, cases[i].product) ||
            !has_words(title, cases[i].product))
            fprintf(stderr, "  prompt \"%s\" -> brief %s\n", cases[i].prompt, brief);
        CHECK(has_words(offer, cases[i].offer) && has_words(offer, cases[i].product));
        CHECK(has_words(title, cases[i].product)); /* titles come from the offer */
        /* the user edits the CTA: it reaches the draft unchanged */
        cJSON_ReplaceItemInObject(b, "cta", cJSON_CreateString("Order on WhatsApp now"));
        char *edited = cJSON_PrintUnformatted(b);
        CHECK(cl_draft_generate(NULL, edited, "{\"project\":{\"business_name\":\"Bola Bakes\",\"city\":\"Lagos\"}}",
                                NULL, &draft, &err) == CL_OK && draft);
        if (!draft) {
            fprintf(stderr, "  brief %s: no draft: %s\n", edited, err.message);
            free(edited), cJSON_Delete(b), free(brief);
            continue;
        }
        cJSON *d = cJSON_Parse(draft);
        CHECK_STR(S(d, "cta"), "Order on WhatsApp now");
        const cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(d, "variants")) CHECK_STR(S(v, "cta"), "Order on WhatsApp now");
        const char *hook = S(d, "hook"), *caption = S(d, "caption");
        char *all = cJSON_PrintUnformatted(d);
        if (!has_words(hook, cases[i].offer) || !has_words(caption, cases[i].product) ||
            !has_words(caption, "Bola Bakes"))
            fprintf(stderr, "  brief %s -> draft %s\n", edited, all);
        CHECK(has_words(hook, cases[i].offer)); /* offer-led hook in the user's words */
        CHECK(has_words(caption, cases[i].offer) && has_words(caption, cases[i].product));
        CHECK(has_words(caption, "Bola Bakes"));
        for (size_t k = 0; filler[k]; k++)
            CHECK(!strcasestr(all, filler[k]));
        /* one source of truth: the top-level copy is the draft's channel's variant */
        const cJSON *own = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "variants"), S(d, "channel"));
        CHECK_STR(S(own, "caption"), caption);
        CHECK_STR(S(own, "hook"), hook);
        free(all);
        cJSON_Delete(d);
        free(edited);
        free(draft);
        cJSON_Delete(b);
        free(brief);
    }
}

/* Switching a stored draft's channel makes that channel's variant the copy. */
static void test_select_channel(void)
{
    cJSON *d = cJSON_Parse("{\"channel\":\"instagram\",\"hook\":\"IG hook\",\"caption\":\"IG caption\",\"cta\":\"DM us\","
                           "\"hashtags\":[\"#a\"],\"variants\":{\"tiktok\":{\"hook\":\"TT hook\",\"caption\":\"TT caption\","
                           "\"cta\":\"Tap the link\",\"hashtags\":[\"#b\",\"#c\"]},\"whatsapp\":{\"caption\":\"WA\","
                           "\"cta\":\"Reply ORDER\",\"hashtags\":[]}}}");
    cl_draft_select_channel(d, "tiktok");
    CHECK_STR(S(d, "channel"), "tiktok");
    CHECK_STR(S(d, "hook"), "TT hook");
    CHECK_STR(S(d, "caption"), "TT caption");
    CHECK_STR(S(d, "cta"), "Tap the link");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(d, "hashtags")) == 2);
    cl_draft_select_channel(d, "whatsapp"); /* no hook in the variant: the current one stays */
    CHECK_STR(S(d, "hook"), "TT hook");
    CHECK_STR(S(d, "caption"), "WA");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(d, "hashtags")) == 0);
    cJSON_Delete(d);
}

int main(void)
{
    const char *src = getenv("CLIPLOOP_SOURCE_DIR"), *plugin_dir = getenv("CLIPLOOP_PLUGIN_DIR");
    if (!src || !plugin_dir || !mkdtemp(tmp)) {
        fprintf(stderr, "run through ctest (CLIPLOOP_SOURCE_DIR, CLIPLOOP_PLUGIN_DIR)\n");
        return 1;
    }
    char cmd[5 * PATH_MAX], dir[PATH_MAX];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/scripts/lib' && cp -R '%s/scripts/prompts' '%s/scripts/channels' '%s/scripts/' && "
             "cp '%s'/scripts/lib/*.lua '%s/scripts/lib/'",
             tmp, src, src, tmp, src, tmp);
    if (system(cmd) != 0)
        return 1;
    snprintf(dir, sizeof dir, "%s/scripts", tmp);
    cl_lua_set_scripts_dir(dir);
    cl_http_global_init();
    cl_cfg.http_allow_loopback = 1;
    CHECK(cl_plugins_load_dir(plugin_dir) >= 1);

    test_rules_unit();
    test_validate();
    test_grounded_mock(); /* before test_with_mock edits the channel rules */
    test_with_mock();
    test_select_channel();
    test_retries_with_fake();

    cl_plugins_reset_for_tests();
    cl_lua_reset_for_tests();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return unit_done("test_draft");
}
