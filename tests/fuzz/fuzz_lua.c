/*
 * fuzz_lua.c — libFuzzer target: the Lua sandbox's decoder and encoder.
 * Input: "<argument JSON>\n<Lua source>". The source is written as a script
 * of its own kind (fuzz/x.lua: any table or function) and as a prompt
 * (prompts/x.lua), then run through cl_lua_call (the argument JSON decoded
 * into Lua tables, the result — tables, cycles, NaN, huge or self-doubling
 * structures, invalid UTF-8 strings — encoded back to JSON under the node
 * and byte budgets) and cl_lua_prompt (its {system, prompt} result decoded).
 * Budgets are kept small so one input stays fast. Invariant: a successful
 * call's result is valid JSON.
 */
#include "lua/lua_runtime.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static long version;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "/tmp/cliploop-fuzz-lua-%d", (int)getpid());
    static const char *const subdirs[] = {"", "/fuzz", "/prompts"};
    for (size_t i = 0; i < sizeof subdirs / sizeof *subdirs; i++) {
        char sub[300];
        snprintf(sub, sizeof sub, "%s%s", dir, subdirs[i]);
        mkdir(sub, 0700);
    }
    cl_lua_set_scripts_dir(dir);
    cl_lua_set_limits(200000, (size_t)8 << 20);
    return 0;
}

/* Write the script and give it a modification time of its own, so the
   runtime's cache (mtime, size, inode) always sees the new text. */
static void put(const char *rel, const uint8_t *src, size_t n)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (n && fwrite(src, 1, n, f) != n)
        abort();
    fclose(f);
    struct timespec ts[2] = {{.tv_sec = 1000000 + version, .tv_nsec = 0}, {.tv_sec = 1000000 + version, .tv_nsec = 0}};
    utimensat(AT_FDCWD, path, ts, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t alen = nl ? (size_t)(nl - data) : 0;
    char *arg = malloc(alen + 1);
    if (!arg)
        abort();
    memcpy(arg, data, alen);
    arg[alen] = '\0';
    const uint8_t *src = nl ? nl + 1 : data;
    size_t slen = size - (size_t)(src - data);
    version++;
    put("fuzz/x.lua", src, slen);
    put("prompts/x.lua", src, slen);

    char err[512], *result = NULL;
    if (cl_lua_call("fuzz/x", NULL, alen ? arg : NULL, &result, err, sizeof err) == 0) {
        cJSON *j = cJSON_Parse(result);
        if (!j)
            abort(); /* the encoder produced text that is not JSON */
        cJSON_Delete(j);
    }
    free(result);
    char *system = NULL, *prompt = NULL;
    if (cl_lua_prompt("x", alen ? arg : "{}", &system, &prompt, err, sizeof err) == 0 && !prompt)
        abort();
    free(system);
    free(prompt);
    free(arg);
    return 0;
}
