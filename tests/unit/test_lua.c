/*
 * test_lua.c — the sandboxed Lua runtime (host/lua) and the shipped scripts:
 * sandbox escapes refused (os, io, load, binary chunks, __gc; require only of
 * scripts/lib modules: no paths, no Lua or C libraries), an
 * infinite loop and a memory bomb stopped (also behind pcall), a syntax error
 * or a wrong shape keeps the previous version and is reported, hot reload,
 * per-thread states, JSON round trips, channel intent inference and every
 * shipped prompt building {system, prompt}.
 */
#include "core/buf.h"
#include "lua/lua_runtime.h"
#include "unit.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[] = "/tmp/cl_lua_test_XXXXXX";

static int contains(const char *hay, const char *needle)
{
    if (!(hay && needle && strstr(hay, needle))) {
        fprintf(stderr, "  expected \"%s\" in \"%s\"\n", needle ? needle : "(null)", hay ? hay : "(null)");
        return 0;
    }
    return 1;
}

/* Write <tmp>/<rel> atomically (temp file + rename), as editors do. */
static void write_script(const char *rel, const char *text)
{
    char path[PATH_MAX], part[PATH_MAX + 8], dir[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", tmp, rel);
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    mkdir(dir, 0700);
    snprintf(part, sizeof part, "%s.part", path);
    FILE *f = fopen(part, "w");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", part);
        return;
    }
    fputs(text, f);
    fclose(f);
    rename(part, path);
}

/* Call and return the result (malloc'd) or NULL; rc and err out. */
static char *call(const char *script, const char *fn, const char *arg, int *rc, char *err)
{
    char *out = NULL;
    *rc = cl_lua_call(script, fn, arg, &out, err, 512);
    return out;
}

static void expect_error(const char *script, const char *body, const char *needle)
{
    char rel[256], err[512];
    snprintf(rel, sizeof rel, "%s.lua", script);
    write_script(rel, body);
    int rc;
    char *out = call(script, NULL, "{}", &rc, err);
    CHECK(rc == CL_EINVAL);
    CHECK(out == NULL);
    CHECK(contains(err, needle));
    free(out);
}

static void expect_result(const char *script, const char *body, const char *arg, const char *want)
{
    char rel[256], err[512];
    snprintf(rel, sizeof rel, "%s.lua", script);
    write_script(rel, body);
    int rc;
    char *out = call(script, NULL, arg, &rc, err);
    if (rc != CL_OK)
        fprintf(stderr, "  %s: %s\n", script, err);
    CHECK(rc == CL_OK);
    CHECK_STR(out, want);
    free(out);
}

/* The status record of one script from cl_lua_scripts_status_json (caller deletes root). */
static cJSON *status_of(const char *name, cJSON **root)
{
    char *json = NULL;
    CHECK(cl_lua_scripts_status_json(&json) == CL_OK);
    *root = cJSON_Parse(json);
    free(json);
    cJSON *e;
    cJSON_ArrayForEach(e, *root)
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "name")), name) == 0)
            return e;
    }
    return NULL;
}

static void test_sandbox(void)
{
    /* no dangerous libraries or loaders: {script, its function's body, the error} */
    static const char *const escapes[][3] = {
        {"misc/os", "return os.execute('true')", "global 'os'"},
        {"misc/io", "return io.open('/etc/passwd')", "global 'io'"},
        {"misc/req", "return require('os')", "no module 'os'"},
        {"misc/dofile", "return dofile('/etc/passwd')", "global 'dofile'"},
        {"misc/load", "return load('return 1')()", "global 'load'"},
        {"misc/dbg", "return debug.getinfo(1)", "global 'debug'"},
        {"misc/pkg", "return package.loaded", "global 'package'"},
        {"misc/dump", "return string.dump(print)", "field 'dump'"},
        {"misc/gc", "return collectgarbage('count')", "global 'collectgarbage'"},
        {"misc/fin", "setmetatable({}, {__gc = function() end})", "__gc metamethods are not allowed"},
    };
    for (size_t i = 0; i < sizeof escapes / sizeof *escapes; i++) {
        char body[160];
        snprintf(body, sizeof body, "return function() %s end", escapes[i][1]);
        expect_error(escapes[i][0], body, escapes[i][2]);
    }
    /* the shared string metatable is protected */
    expect_result("misc/strmt", "return function() return getmetatable('') end", NULL, "false");
    /* a binary chunk is refused at load time */
    write_script("misc/bin.lua", "\x1bLua\x54\x00garbage");
    char err[512];
    int rc;
    char *out = call("misc/bin", NULL, NULL, &rc, err);
    CHECK(rc == CL_EINVAL && out == NULL && contains(err, "binary chunk"));
    free(out);

    /* an infinite loop is stopped, also behind pcall, also at the top level */
    cl_lua_set_limits(200000, 0);
    expect_error("misc/loop", "return function() while true do end end", "instruction limit exceeded");
    expect_error("misc/loop2",
                 "return function() while true do pcall(function() while true do end end) end end",
                 "instruction limit exceeded");
    expect_error("misc/loop3", "while true do end return {}", "instruction limit exceeded");
    /* a memory bomb is stopped, also behind pcall */
    cl_lua_set_limits(0, 8u << 20);
    expect_error("misc/bomb",
                 "return function() local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 65536) .. i end end",
                 "memory limit exceeded");
    expect_error("misc/bomb2", "return function() return #string.rep('x', 1e9) end", "memory limit exceeded");
    expect_error("misc/bomb3",
                 "return function() local ok, e = pcall(string.rep, 'x', 1e9) return ok end",
                 "memory limit exceeded");
    /* work inside C library calls counts against the instruction limit */
    cl_lua_set_limits(0, 0);
    expect_error("misc/rep",
                 "return function() local n = 0 for i = 1, 200 do n = n + #string.rep('y', 4000000) end return n end",
                 "instruction limit exceeded");
    expect_error("misc/rep2",
                 "return function() local n = 0 for i = 1, 200 do n = n + #(('y'):rep(4000000)) end return n end",
                 "instruction limit exceeded");
    expect_error("misc/concat",
                 "return function() local t = {} for i = 1, 1000 do t[i] = string.rep('z', 1000) end "
                 "local n = 0 for i = 1, 200 do n = n + #table.concat(t) end return n end",
                 "instruction limit exceeded");
    expect_error("misc/backtrack",
                 "return function() local s = ('a'):rep(300) local n = 0 "
                 "for i = 1, 300 do if s:find('.-.-.-b') then n = n + 1 end end return n end",
                 "instruction limit exceeded");
    /* ... and behind pcall */
    expect_error("misc/rep3",
                 "return function() for i = 1, 200 do pcall(string.rep, 'y', 4000000) end return 1 end",
                 "instruction limit exceeded");
    /* a result that shares one table many times is not encoded forever */
    expect_error("misc/doubling",
                 "return function() local t = {1} for i = 1, 40 do t = {t, t} end return t end",
                 "too large to encode");
    expect_error("misc/doubling2",
                 "return function() local t = {k = 'v'} for i = 1, 40 do t = {a = t, b = t} end return t end",
                 "too large to encode");
    /* ordinary library use stays cheap, and errors keep their meaning */
    expect_result("misc/libs",
                  "return function() return #table.concat({string.rep('a', 3), ('b'):upper(), "
                  "string.format('%d', 7)}, ',') end",
                  NULL, "7");
    cl_lua_set_limits(0, 0);
    /* the state is still healthy afterwards */
    expect_result("misc/fine", "return function(x) return x.n * 2 end", "{\"n\":21}", "42");

    /* scripts cannot change each other's globals or libraries */
    expect_result("misc/vandal", "string.upper = nil; x_global = 1; return function() return 1 end", NULL, "1");
    expect_result("misc/victim", "return function() return string.upper('ok') .. tostring(x_global) end",
                  NULL, "\"OKnil\"");
    /* print goes to the log, not stdout */
    expect_result("misc/print", "return function() print('hello from lua', 1) return true end", NULL, "true");
}

static void test_json_and_calls(void)
{
    /* a JSON round trip (object key order is Lua's, so compare as JSON) */
    const char *doc = "{\"a\":[1,2.5,{\"b\":true}],\"s\":\"caf\xc3\xa9\",\"e\":[],\"o\":{\"k\":\"v\"},\"big\":1e300}";
    write_script("misc/echo.lua", "return function(x) return x end");
    char err0[512];
    int rc0;
    char *echo = call("misc/echo", NULL, doc, &rc0, err0);
    cJSON *a = cJSON_Parse(doc), *b = cJSON_Parse(echo);
    CHECK(rc0 == CL_OK && b != NULL && cJSON_Compare(a, b, 1));
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(echo);
    /* a table module: fn selects a field; NULL returns the data (functions skipped) */
    write_script("misc/tbl.lua", "return { n = 3, twice = function(x) return x * 2 end }");
    char err[512];
    int rc;
    char *out = call("misc/tbl", "twice", "4", &rc, err);
    CHECK(rc == CL_OK);
    CHECK_STR(out, "8");
    free(out);
    out = call("misc/tbl", NULL, NULL, &rc, err);
    CHECK_STR(out, "{\"n\":3}");
    free(out);
    out = call("misc/tbl", "nope", NULL, &rc, err);
    CHECK(rc == CL_EINVAL && contains(err, "no function 'nope'"));
    free(out);
    /* a cycle cannot be encoded */
    expect_error("misc/cycle", "return function() local t = {} t.self = t return t end", "nesting deeper");
    /* a runtime error names the script and line */
    expect_error("misc/boom", "return function()\n error('kaboom')\nend", "misc/boom.lua:2: kaboom");
    /* bad names and missing scripts */
    out = call("../etc/passwd", NULL, NULL, &rc, err);
    CHECK(rc == CL_EINVAL && out == NULL);
    out = call("misc/missing", NULL, NULL, &rc, err);
    CHECK(rc == CL_EIO && contains(err, "cannot read"));
    out = call("misc/echo", NULL, "{not json", &rc, err);
    CHECK(rc == CL_EINVAL && contains(err, "not valid JSON"));
}

static void test_reload_and_keep_previous(void)
{
    char err[512];
    int rc;
    write_script("prompts/p1.lua", "return function(c) return {system='s', prompt='v1 '..c.x} end");
    char *sys = NULL, *prompt = NULL;
    CHECK(cl_lua_prompt("p1", "{\"x\":\"a\"}", &sys, &prompt, err, sizeof err) == CL_OK);
    CHECK_STR(prompt, "v1 a");
    CHECK_STR(sys, "s");
    free(sys);
    free(prompt);

    /* a syntax error keeps v1 and is reported */
    write_script("prompts/p1.lua", "return function(c) return {prompt = 'v2' end");
    CHECK(cl_lua_prompt("p1", "{\"x\":\"b\"}", &sys, &prompt, err, sizeof err) == CL_OK);
    CHECK_STR(prompt, "v1 b");
    free(sys);
    free(prompt);
    cJSON *root;
    cJSON *st = status_of("prompts/p1", &root);
    CHECK(st != NULL);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(st, "loaded")));
    CHECK(contains(cJSON_GetStringValue(cJSON_GetObjectItem(st, "last_error")), "prompts/p1.lua:1:"));
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(st, "version")) == 1);
    CHECK(cJSON_IsString(cJSON_GetObjectItem(st, "loaded_at")));
    CHECK(contains(cJSON_GetStringValue(cJSON_GetObjectItem(st, "path")), "prompts/p1.lua"));
    cJSON_Delete(root);

    /* the wrong shape keeps v1 too */
    write_script("prompts/p1.lua", "return 42");
    CHECK(cl_lua_prompt("p1", "{\"x\":\"c\"}", &sys, &prompt, err, sizeof err) == CL_OK);
    CHECK_STR(prompt, "v1 c");
    free(sys);
    free(prompt);
    st = status_of("prompts/p1", &root);
    CHECK(contains(cJSON_GetStringValue(cJSON_GetObjectItem(st, "last_error")), "must return a function"));
    cJSON_Delete(root);

    /* a fixed file loads as version 2 and clears the error */
    write_script("prompts/p1.lua", "return function(c) return {prompt='v2 '..c.x} end");
    CHECK(cl_lua_prompt("p1", "{\"x\":\"d\"}", &sys, &prompt, err, sizeof err) == CL_OK);
    CHECK_STR(prompt, "v2 d");
    CHECK(sys == NULL);
    free(sys);
    free(prompt);
    st = status_of("prompts/p1", &root);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(st, "last_error")));
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(st, "version")) == 2);
    cJSON_Delete(root);

    /* a prompt must give a prompt string */
    write_script("prompts/p2.lua", "return function(c) return {system='only'} end");
    CHECK(cl_lua_prompt("p2", "{}", &sys, &prompt, err, sizeof err) == CL_EINVAL);
    CHECK(contains(err, "prompt = string"));
    /* a script that never loaded reports its error */
    write_script("prompts/p3.lua", "return function(");
    CHECK(cl_lua_prompt("p3", "{}", &sys, &prompt, err, sizeof err) == CL_EINVAL);
    CHECK(contains(err, "prompts/p3.lua"));
    (void)rc;
}

/* Another thread: its own state, sees published versions. */
typedef struct {
    char result[256];
    int rc;
} thread_res;

static void *other_thread(void *arg)
{
    thread_res *r = arg;
    char *out = NULL, err[512];
    r->rc = cl_lua_call("misc/ver", NULL, NULL, &out, err, sizeof err);
    snprintf(r->result, sizeof r->result, "%.200s", out ? out : err);
    free(out);
    return NULL; /* the state is closed by the thread-exit destructor */
}

static void test_threads(void)
{
    write_script("misc/ver.lua", "local n = 0 return function() n = n + 1 return 'one:' .. n end");
    char err[512];
    int rc;
    char *out = call("misc/ver", NULL, NULL, &rc, err);
    free(out);
    out = call("misc/ver", NULL, NULL, &rc, err);
    CHECK_STR(out, "\"one:2\""); /* module state persists within a thread */
    free(out);
    thread_res r = {0};
    pthread_t t;
    pthread_create(&t, NULL, other_thread, &r);
    pthread_join(t, NULL);
    CHECK(r.rc == CL_OK);
    CHECK_STR(r.result, "\"one:1\""); /* but not across threads */
    write_script("misc/ver.lua", "return function() return 'two' end");
    out = call("misc/ver", NULL, NULL, &rc, err);
    CHECK_STR(out, "\"two\"");
    free(out);
    memset(&r, 0, sizeof r);
    pthread_create(&t, NULL, other_thread, &r);
    pthread_join(t, NULL);
    CHECK_STR(r.result, "\"two\"");
}

/* require(): modules from <scripts dir>/lib only, in the same sandbox, re-read on change. */
static void test_require(void)
{
    write_script("lib/kit.lua", "local M = {} function M.twice(x) return x * 2 end return M");
    expect_result("misc/usekit", "local kit = require('kit') return function(x) return kit.twice(x.n) end",
                  "{\"n\":21}", "42");
    /* also inside a call; the same table for every script of the thread */
    expect_result("misc/usekit2",
                  "return function(x) return require('kit') == require('kit') and require('kit').twice(x.n) end",
                  "{\"n\":4}", "8");
    /* modules that load but misbehave */
    write_script("lib/escape.lua", "return { run = function() return os.time() end }");
    write_script("lib/seven.lua", "return 7");
    write_script("lib/loop_a.lua", "return { b = require('loop_b') }");
    write_script("lib/loop_b.lua", "return { a = require('loop_a') }");
    static const char *const refused[][2] = {
        /* no paths, no Lua or C libraries: only names of files directly in lib/ */
        {"require('../x')", "not a module name"},
        {"require('../prompts/brief')", "not a module name"},
        {"require('/etc/passwd')", "not a module name"},
        {"require('lib/kit')", "not a module name"},
        {"require('kit.x')", "not a module name"},
        {"require('os')", "no module 'os'"},
        {"require('string')", "no module 'string'"},
        {"require()", "bad argument #1 to 'require'"},
        /* a module runs in the same sandbox, returns a table or a function, requires no cycle */
        {"require('escape').run()", "global 'os'"},
        {"require('seven')", "must return a table or a function"},
        {"require('loop_a')", "requires itself"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        char name[32], body[160];
        snprintf(name, sizeof name, "misc/req_%zu", i);
        snprintf(body, sizeof body, "return function() return %s end", refused[i][0]);
        expect_error(name, body, refused[i][1]);
    }
    expect_error("misc/req_top", "local x = require('../prompts/brief') return {}", "not a module name");
    /* its top level runs under the call's budget, which pcall cannot catch */
    cl_lua_set_limits(200000, 0);
    write_script("lib/spin.lua", "while true do end return {}");
    expect_error("misc/req_spin", "return function() return pcall(require, 'spin') end", "instruction limit exceeded");
    cl_lua_set_limits(0, 0);

    /* an edited module is read again, and the scripts that hold it load again */
    char err[512];
    int rc;
    write_script("lib/kit.lua", "local M = {} function M.twice(x) return x * 3 end return M");
    char *out = call("misc/usekit", NULL, "{\"n\":21}", &rc, err);
    CHECK(rc == CL_OK);
    CHECK_STR(out, "63");
    free(out);
    /* a broken edit keeps the previous version and is reported */
    write_script("lib/kit.lua", "return {");
    out = call("misc/usekit", NULL, "{\"n\":1}", &rc, err);
    if (rc != CL_OK)
        fprintf(stderr, "  usekit: %s\n", err);
    CHECK(rc == CL_OK);
    CHECK_STR(out, "3");
    free(out);
    cJSON *root;
    cJSON *st = status_of("lib/kit", &root);
    CHECK(st && contains(cJSON_GetStringValue(cJSON_GetObjectItem(st, "last_error")), "lib/kit.lua:1:"));
    cJSON_Delete(root);
    /* a module that never loaded says why to every script requiring it */
    write_script("lib/broken.lua", "return {");
    expect_error("misc/req_broken", "return function() return require('broken') end", "lib/broken.lua:1:");
    expect_error("misc/req_broken2", "return function() return require('broken') end", "does not load");
    /* another thread loads the module in its own state */
    write_script("misc/ver.lua", "local kit = require('kit') return function() return kit.twice(5) end");
    thread_res r = {0};
    pthread_t t;
    pthread_create(&t, NULL, other_thread, &r);
    pthread_join(t, NULL);
    CHECK(r.rc == CL_OK);
    CHECK_STR(r.result, "15");
}

static void test_channel_shape(void)
{
    char err[512];
    const char *good =
        "return { name='x', caption={max_chars=100}, hashtags={max=2}, tone='t', cta={style='c'},"
        " hook={pacing='p', max_words=5}, duration={default=10}, aspect='9:16',"
        " language_styles={english='e', pidgin='p', mixed='m'},"
        " infer=function(r) return r:find('xchan') and 5 or 0 end }";
    write_script("channels/x.lua", good);
    char *rules = NULL;
    CHECK(cl_lua_channel_rules("x", &rules, err, sizeof err) == CL_OK);
    cJSON *j = cJSON_Parse(rules);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "caption"), "max_chars")) == 100);
    CHECK(cJSON_GetObjectItem(j, "infer") == NULL);
    cJSON_Delete(j);
    free(rules);
    /* a rules table missing a field keeps the previous one */
    write_script("channels/x.lua", "return { name = 'x', infer = function() return 0 end }");
    CHECK(cl_lua_channel_rules("x", &rules, err, sizeof err) == CL_OK);
    CHECK(contains(rules, "\"max_chars\":100"));
    free(rules);
    cJSON *root;
    cJSON *st = status_of("channels/x", &root);
    CHECK(contains(cJSON_GetStringValue(cJSON_GetObjectItem(st, "last_error")),
                   "'caption.max_chars' must be a number"));
    cJSON_Delete(root);
    char ch[32];
    CHECK(cl_lua_infer_channel("an xchan promo", ch, sizeof ch, err, sizeof err) == CL_OK);
    CHECK_STR(ch, "x");
}

static void test_shipped_scripts(const char *src)
{
    char dir[PATH_MAX], err[512];
    snprintf(dir, sizeof dir, "%s/scripts", src);
    cl_lua_set_scripts_dir(dir);

    static const struct {
        const char *request, *channel;
    } intents[] = {
        {"WhatsApp promo for our weekend sale", "whatsapp"},
        {"whatsapp status for the new menu", "whatsapp"},
        {"a status update for our broadcast list", "whatsapp"},
        {"TikTok video for our new sneakers", "tiktok"},
        {"something trending, maybe a duet", "tiktok"},
        {"Instagram reel showing our cakes", "instagram"},
        {"a carousel for the feed", "instagram"},
        {"make me something nice", ""},
    };
    for (size_t i = 0; i < sizeof intents / sizeof *intents; i++) {
        char ch[32] = "?";
        CHECK(cl_lua_infer_channel(intents[i].request, ch, sizeof ch, err, sizeof err) == CL_OK);
        if (strcmp(ch, intents[i].channel) != 0)
            fprintf(stderr, "  intent of \"%s\": got \"%s\"\n", intents[i].request, ch);
        CHECK_STR(ch, intents[i].channel);
    }

    char *names = NULL;
    CHECK(cl_lua_channel_names(&names, err, sizeof err) == CL_OK);
    CHECK_STR(names, "[\"instagram\",\"tiktok\",\"whatsapp\"]");
    free(names);

    const char *chans[] = {"instagram", "tiktok", "whatsapp"};
    for (size_t i = 0; i < 3; i++) {
        char *rules = NULL;
        int rc = cl_lua_channel_rules(chans[i], &rules, err, sizeof err);
        if (rc != CL_OK)
            fprintf(stderr, "  %s: %s\n", chans[i], err);
        CHECK(rc == CL_OK);
        cJSON *j = cJSON_Parse(rules);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "name")), chans[i]);
        CHECK(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "language_styles"), "pidgin")));
        cJSON_Delete(j);
        free(rules);
    }
    char *wa = NULL;
    cl_lua_channel_rules("whatsapp", &wa, err, sizeof err);
    cJSON *waj = cJSON_Parse(wa);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(waj, "hashtags"), "max")) == 0);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(waj, "caption"), "max_chars")) == 280);
    cJSON_Delete(waj);
    free(wa);

    const char *ctx =
        "{\"request\":\"WhatsApp promo for our weekend sale\",\"channel\":\"whatsapp\","
        "\"profile\":{\"name\":\"Mama Put\",\"category\":\"restaurant\",\"audience\":\"office workers\"},"
        "\"context\":\"We sell jollof rice.\",\"channels\":[\"instagram\",\"tiktok\",\"whatsapp\"],"
        "\"brief\":{\"title\":\"Weekend jollof\",\"offer\":\"2 for 1\",\"language_style\":\"pidgin\"},"
        "\"rules\":{\"tone\":\"direct\",\"language_styles\":{\"pidgin\":\"Warm Pidgin\"}},"
        "\"message\":\"what should I post?\",\"count\":3,"
        "\"items\":[{\"title\":\"Jollof\",\"channel\":\"tiktok\",\"clicks\":10}],"
        "\"previous\":{\"hook\":\"old hook\"},\"feedback\":\"funnier\",\"retry_reason\":\"hook was empty\"}";
    const char *prompts[] = {"brief", "promo_draft", "chat", "posts", "regenerate", "iteration"};
    for (size_t i = 0; i < 6; i++) {
        char *sys = NULL, *prompt = NULL;
        int rc = cl_lua_prompt(prompts[i], ctx, &sys, &prompt, err, sizeof err);
        if (rc != CL_OK)
            fprintf(stderr, "  prompt %s: %s\n", prompts[i], err);
        CHECK(rc == CL_OK);
        CHECK(sys && strlen(sys) > 20);
        CHECK(prompt && strlen(prompt) > 20);
        /* deterministic: the same context gives the same prompt (the mock hashes it) */
        char *sys2 = NULL, *prompt2 = NULL;
        cl_lua_prompt(prompts[i], ctx, &sys2, &prompt2, err, sizeof err);
        CHECK(prompt && prompt2 && strcmp(prompt, prompt2) == 0);
        free(sys);
        free(prompt);
        free(sys2);
        free(prompt2);
    }
    char *sys = NULL, *prompt = NULL;
    cl_lua_prompt("promo_draft", ctx, &sys, &prompt, err, sizeof err);
    CHECK(contains(prompt, "Warm Pidgin"));
    CHECK(contains(prompt, "rejected: hook was empty"));
    CHECK(contains(sys, "Offer-led"));
    free(sys);
    free(prompt);

    char *status = NULL;
    CHECK(cl_lua_scripts_status_json(&status) == CL_OK);
    CHECK(contains(status, "\"name\":\"prompts/brief\""));
    CHECK(contains(status, "\"name\":\"channels/tiktok\""));
    free(status);
}

int main(void)
{
    const char *src = getenv("CLIPLOOP_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "CLIPLOOP_SOURCE_DIR is not set (run through ctest)\n");
        return 1;
    }
    if (!mkdtemp(tmp))
        return 1;
    cl_lua_set_scripts_dir(tmp);
    test_sandbox();
    test_json_and_calls();
    test_reload_and_keep_previous();
    test_threads();
    test_require();
    test_channel_shape();
    test_shipped_scripts(src);
    cl_lua_reset_for_tests();
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return unit_done("test_lua");
}
