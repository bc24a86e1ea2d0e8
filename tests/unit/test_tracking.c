/*
 * test_tracking.c — the redirect's Location (destination query and fragment
 * kept, the owner's utm_* left alone, our parameters appended, unsafe bytes
 * encoded), the slug syntax, and the bot list in scripts/tracking/bots.lua.
 */
#include "lua/lua_runtime.h"
#include "tracking/tracking.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAIL "clp_post=7&clp_click=CID"

static const struct {
    const char *dest, *want;
} locations[] = {
    {"https://a.example", "https://a.example?utm_source=cliploop&utm_medium=short_form&utm_campaign=Slug12345&" TAIL},
    {"https://a.example/p?x=1#menu",
     "https://a.example/p?x=1&utm_source=cliploop&utm_medium=short_form&utm_campaign=Slug12345&" TAIL "#menu"},
    {"https://a.example/p?", "https://a.example/p?utm_source=cliploop&utm_medium=short_form&utm_campaign=Slug12345&" TAIL},
    {"https://a.example/p?x=1&", "https://a.example/p?x=1&utm_source=cliploop&utm_medium=short_form&utm_campaign=Slug12345&" TAIL},
    /* the owner's utm_* win */
    {"https://a.example/?utm_source=ig&utm_campaign=spring", "https://a.example/?utm_source=ig&utm_campaign=spring&utm_medium=short_form&" TAIL},
    {"https://a.example/?utm_medium", "https://a.example/?utm_medium&utm_source=cliploop&utm_campaign=Slug12345&" TAIL},
    /* a key that only ends like ours is not ours */
    {"https://a.example/?xutm_source=1", "https://a.example/?xutm_source=1&utm_source=cliploop&utm_medium=short_form&utm_campaign=Slug12345&" TAIL},
    /* a '?' inside the fragment is not a query */
    {"https://a.example/#a?b", "https://a.example/?utm_source=cliploop&utm_medium=short_form&utm_campaign=Slug12345&" TAIL "#a?b"},
    /* spaces and control characters are encoded, never passed into the header */
    {"https://a.example/a b\r\nX: y", "https://a.example/a%20b%0D%0AX:%20y?utm_source=cliploop&utm_medium=short_form&utm_campaign=Slug12345&" TAIL},
};

static void test_locations(void)
{
    for (size_t i = 0; i < sizeof locations / sizeof *locations; i++) {
        char *got = cl_tracking_location(locations[i].dest, "Slug12345", 7, "CID");
        CHECK(got != NULL);
        if (got)
            CHECK_STR(got, locations[i].want);
        free(got);
    }
}

static void test_slugs(void)
{
    CHECK(cl_tracking_valid_slug("AbCdEf12"));
    CHECK(cl_tracking_valid_slug("0123456789abcdefABCDEF0123456789"));
    CHECK(!cl_tracking_valid_slug("AbCdEf1"));                           /* 7: too short */
    CHECK(!cl_tracking_valid_slug("0123456789abcdefABCDEF01234567890")); /* 33 */
    CHECK(!cl_tracking_valid_slug("AbCd-f12"));
    CHECK(!cl_tracking_valid_slug("AbCd%20f12"));
    CHECK(!cl_tracking_valid_slug(""));
    CHECK(!cl_tracking_valid_slug(NULL));
}

static void test_bots(void)
{
    char dir[1200];
    const char *src = getenv("CLIPLOOP_SOURCE_DIR");
    snprintf(dir, sizeof dir, "%s/scripts", src ? src : ".");
    cl_lua_set_scripts_dir(dir);
    char *out = NULL, err[256];
    int rc = cl_lua_call("tracking/bots", "classify",
                         "[\"facebookexternalhit/1.1\",\"WhatsApp/2.23.20.0 A\",\"Mozilla/5.0 (compatible; Discordbot/2.0)\","
                         "\"Mozilla/5.0 (iPhone) AppleWebKit Instagram 310.0\",\"Mozilla/5.0 (X11) HeadlessChrome/120\",\"\"]",
                         &out, err, sizeof err);
    CHECK(rc == 0);
    if (rc == 0)
        CHECK_STR(out, "[\"facebookexternalhit\",\"whatsapp\",\"discordbot\",false,false,false]");
    free(out);

    /* A full batch of distinct browsers (the writer's worst case) stays within
       the sandbox's per-call budgets. */
    char *big = malloc(2000 * 160 + 16), *p = big;
    p += sprintf(p, "[");
    for (int i = 0; i < 2000; i++)
        p += sprintf(p, "%s\"Mozilla/5.0 (Linux; Android 14; Pixel %d) AppleWebKit/537.36 (KHTML, like Gecko) "
                        "Chrome/120.0.%d Mobile Safari/537.36\"",
                     i ? "," : "", i, i);
    sprintf(p, "]");
    out = NULL;
    rc = cl_lua_call("tracking/bots", "classify", big, &out, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "classify of 2000 agents: %s\n", err);
    CHECK(rc == 0);
    CHECK(out && strstr(out, "\"") == NULL); /* all people */
    free(out);
    free(big);
    cl_lua_reset_for_tests();
}

int main(void)
{
    test_locations();
    test_slugs();
    test_bots();
    return unit_done("test_tracking");
}
