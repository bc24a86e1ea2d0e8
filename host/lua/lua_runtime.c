/*
 * lua_runtime.c — see lua_runtime.h.
 *
 * Two layers:
 *   - a process-wide registry of scripts (mutex): for each name, the last
 *     file identity seen (inode, size, mtime), the source text of the last
 *     version that loaded and had the right shape, a version number, when it
 *     loaded, and the last error;
 *   - per thread, a lua_State with a cache {name -> version, module ref}.
 * A call stats the file; if it changed, the calling thread validates the new
 * text (compile, run its top level under the limits, check the shape) while
 * holding the registry lock, and either publishes it as the next version or
 * records the error and keeps the old one. Other threads notice the version
 * bump and load the published text into their own state.
 *
 * Every Lua API call that may raise runs inside lua_pcall (p_load, p_call),
 * so no Lua error ever reaches the panic handler.
 */
#include "lua/lua_runtime.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define COMPONENT "lua"
#define HOOK_EVERY 1000 /* instructions between count-hook calls */
#define JSON_MAX_DEPTH 64
#define ENCODE_MAX_NODES 200000 /* values in one encoded result */
/* Work inside one C library call is invisible to the count hook; it is
   charged afterwards: one instruction per BYTES_PER_INSTR bytes of string
   it returns, and INSTR_PER_US instructions per microsecond of CPU time it
   took. */
#define BYTES_PER_INSTR 8
#define INSTR_PER_US 10
#define MAX_SCRIPT_BYTES ((size_t)1 << 20)
#define LIB_DIR "lib"          /* require("x") loads <scripts dir>/lib/x.lua */
#define REQUIRE_MAX_DEPTH 8    /* modules requiring modules, at most this deep */

/* ------------------------------------------------------------------------- */
/* Settings                                                                  */
/* ------------------------------------------------------------------------- */

/* Recursive: a script's top level runs while its loader holds the lock, and
   its require() takes the lock again for the module's entry. */
static pthread_mutex_t reg_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static char *dir_override;              /* under reg_lock */
static atomic_int epoch = 1;            /* bumped when every cache must be dropped */
static atomic_long max_instructions = CL_LUA_DEFAULT_MAX_INSTRUCTIONS;
static _Atomic size_t max_memory = CL_LUA_DEFAULT_MAX_MEMORY;

const char *cl_lua_scripts_dir(char *buf, size_t len)
{
    pthread_mutex_lock(&reg_lock);
    const char *env = getenv("CLIPLOOP_SCRIPTS_DIR");
    if (dir_override)
        snprintf(buf, len, "%s", dir_override);
    else if (env && *env)
        snprintf(buf, len, "%s", env);
    else
        snprintf(buf, len, "%s/../scripts", cl_exe_dir());
    pthread_mutex_unlock(&reg_lock);
    return buf;
}

void cl_lua_set_limits(long instructions, size_t memory)
{
    atomic_store(&max_instructions, instructions > 0 ? instructions : CL_LUA_DEFAULT_MAX_INSTRUCTIONS);
    atomic_store(&max_memory, memory > 0 ? memory : CL_LUA_DEFAULT_MAX_MEMORY);
}

/* ------------------------------------------------------------------------- */
/* The registry of scripts                                                   */
/* ------------------------------------------------------------------------- */

typedef struct script_entry {
    char name[96];
    char path[1200];
    int seen;            /* the file identity below is valid */
    ino_t ino;
    off_t size;
    struct timespec mtime;
    char *source;        /* last good version (malloc'd), NULL if none */
    size_t source_len;
    int version;         /* bumped on every successful (re)load */
    int64_t loaded_at;   /* wall-clock ms of the last successful load */
    char last_error[512];
    int64_t error_at;
} script_entry;

static script_entry **entries; /* under reg_lock */
static size_t n_entries, entries_alloc;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void free_entries_locked(void)
{
    for (size_t i = 0; i < n_entries; i++) {
        free(entries[i]->source);
        free(entries[i]);
    }
    free(entries);
    entries = NULL;
    n_entries = entries_alloc = 0;
}

void cl_lua_set_scripts_dir(const char *dir)
{
    pthread_mutex_lock(&reg_lock);
    free(dir_override);
    dir_override = dir ? strdup(dir) : NULL;
    free_entries_locked();
    atomic_fetch_add(&epoch, 1);
    pthread_mutex_unlock(&reg_lock);
}

static script_entry *entry_get_locked(const char *name, const char *path)
{
    for (size_t i = 0; i < n_entries; i++)
        if (strcmp(entries[i]->name, name) == 0)
            return entries[i];
    script_entry **ne = cl_array_room(entries, &entries_alloc, n_entries, sizeof *ne, 16);
    if (!ne)
        return NULL;
    entries = ne;
    script_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->path, sizeof e->path, "%s", path);
    entries[n_entries++] = e;
    return e;
}

/* ------------------------------------------------------------------------- */
/* Per-thread state                                                          */
/* ------------------------------------------------------------------------- */

typedef struct cached_module {
    char name[96];
    int version;
    int ref; /* LUA_REGISTRYINDEX reference to the module value */
} cached_module;

typedef struct lstate {
    lua_State *L;
    size_t used;       /* bytes allocated by L */
    size_t mem_limit;  /* 0 = unlimited */
    long instructions; /* spent in the current call */
    long instr_limit;
    int instr_hit;     /* the budget ran out during the current call */
    int mem_hit;       /* memory ran out inside a charged library call (rethrown as a plain error) */
    int epoch;
    cached_module *mods;
    size_t n_mods, mods_alloc;
    const char *requiring[REQUIRE_MAX_DEPTH]; /* the modules require() is loading, outermost first */
    int n_requiring;
} lstate;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static __thread lstate *tls_state;

static void lstate_free(lstate *ts)
{
    if (!ts)
        return;
    if (ts->L) {
        ts->mem_limit = 0;
        lua_close(ts->L);
    }
    free(ts->mods);
    free(ts);
}

static void tls_destructor(void *p) { lstate_free(p); }
static void tls_init(void) { pthread_key_create(&tls_key, tls_destructor); }

void cl_lua_thread_release(void)
{
    if (!tls_state)
        return;
    pthread_once(&tls_once, tls_init);
    pthread_setspecific(tls_key, NULL);
    lstate_free(tls_state);
    tls_state = NULL;
}

void cl_lua_reset_for_tests(void)
{
    cl_lua_thread_release();
    pthread_mutex_lock(&reg_lock);
    free(dir_override);
    dir_override = NULL;
    free_entries_locked();
    atomic_fetch_add(&epoch, 1);
    pthread_mutex_unlock(&reg_lock);
    cl_lua_set_limits(0, 0);
}

/* The allocator: counts bytes and refuses to grow past mem_limit. */
static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    lstate *ts = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        ts->used -= old;
        return NULL;
    }
    if (nsize > old && ts->mem_limit && ts->used + (nsize - old) > ts->mem_limit)
        return NULL; /* Lua collects garbage and retries once, then raises LUA_ERRMEM */
    void *p = realloc(ptr, nsize);
    if (!p)
        return NULL;
    ts->used = ts->used - old + nsize;
    return p;
}

static lstate *state_of(lua_State *L) { return *(lstate **)lua_getextraspace(L); }

static void sb_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lstate *ts = state_of(L);
    ts->instructions += HOOK_EVERY;
    if (ts->instr_hit || ts->instructions > ts->instr_limit) {
        ts->instr_hit = 1;
        /* from now on every instruction raises, so nothing can outrun it */
        lua_sethook(L, sb_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "instruction limit exceeded (%d)", (int)ts->instr_limit);
    }
}

/* Charge n instructions to the current call; raises when the budget is gone. */
static void charge(lua_State *L, double n)
{
    lstate *ts = state_of(L);
    if (ts->instr_limit <= 0 || n <= 0)
        return;
    ts->instructions += n > (double)ts->instr_limit ? ts->instr_limit + 1 : (long)n;
    if (ts->instructions > ts->instr_limit) {
        ts->instr_hit = 1;
        lua_sethook(L, sb_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "instruction limit exceeded (%d)", (int)ts->instr_limit);
    }
}

static double thread_cpu_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* A library function (upvalue 1) run with its work charged: string.rep,
   gsub, table.concat… are one VM instruction each but can take seconds
   (rep of megabytes, a backtracking pattern). */
static int charged_call(lua_State *L)
{
    int nargs = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    double t0 = thread_cpu_us();
    int st = lua_pcall(L, nargs, LUA_MULTRET, 0);
    if (st != LUA_OK) {
        lstate *ts = state_of(L);
        if (st == LUA_ERRMEM)
            ts->mem_hit = 1; /* a plain error from here on: sb_pcall must still not swallow it */
        const char *m = lua_tostring(L, -1);
        if (st == LUA_ERRRUN && m && !ts->instr_hit) {
            /* Errors the library function raised itself: give them back the
               name and the script's line they had when called directly. */
            const char *name = lua_tostring(L, lua_upvalueindex(2));
            const char *q = strstr(m, " to '?'");
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            if (!strstr(m, ".lua:")) {
                luaL_where(L, 1);
                luaL_addvalue(&b);
            }
            if (q) {
                luaL_addlstring(&b, m, (size_t)(q - m));
                luaL_addstring(&b, " to '");
                luaL_addstring(&b, name);
                luaL_addstring(&b, "'");
                luaL_addstring(&b, q + 7);
            } else {
                luaL_addstring(&b, m);
            }
            luaL_pushresult(&b);
        }
        return lua_error(L);
    }
    double bytes = 0;
    for (int i = 1; i <= lua_gettop(L); i++)
        if (lua_type(L, i) == LUA_TSTRING)
            bytes += (double)lua_rawlen(L, i);
    charge(L, bytes / BYTES_PER_INSTR + (thread_cpu_us() - t0) * INSTR_PER_US);
    return lua_gettop(L);
}

/* Wrap the named functions of global library `lib` (upvalues: the original
   and its name). The originals are also kept as package.loaded["_G.<lib>"]
   (registry only: scripts have no package). */
static void charge_lib(lua_State *L, const char *lib, const char *const *names)
{
    lua_getglobal(L, lib);
    int t = lua_gettop(L);
    lua_newtable(L);
    int orig = lua_gettop(L);
    for (; *names; names++) {
        lua_getfield(L, t, *names);
        if (lua_isfunction(L, -1)) {
            lua_pushvalue(L, -1);
            lua_setfield(L, orig, *names);
            lua_pushstring(L, *names);
            lua_pushcclosure(L, charged_call, 2);
            lua_setfield(L, t, *names);
        } else {
            lua_pop(L, 1);
        }
    }
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, orig);
    lua_setfield(L, -2, lua_pushfstring(L, "_G.%s", lib));
    lua_settop(L, t - 1);
}

/* pcall that cannot swallow the sandbox's limits. */
static int sb_pcall(lua_State *L)
{
    luaL_checkany(L, 1);
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    if (status == LUA_ERRMEM || state_of(L)->instr_hit || state_of(L)->mem_hit)
        return lua_error(L); /* re-raise the error object on top */
    lua_pushboolean(L, status == LUA_OK);
    lua_insert(L, 1);
    return lua_gettop(L);
}

/* setmetatable without __gc: finalizers would run outside any call's budget. */
static int sb_setmetatable(lua_State *L)
{
    if (lua_istable(L, 2) && lua_getfield(L, 2, "__gc") != LUA_TNIL)
        return luaL_error(L, "__gc metamethods are not allowed in scripts");
    lua_settop(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_setmetatable(L, 1);
    return 1;
}

/* print -> the host log (info, component "lua"). */
static int sb_print(lua_State *L)
{
    cl_buf b = CL_BUF_INIT;
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > 1)
            cl_buf_append(&b, "\t", 1);
        cl_buf_append(&b, s, len);
        lua_pop(L, 1);
    }
    cl_info(COMPONENT, "print: %s", b.data ? b.data : "");
    cl_buf_free(&b);
    return 0;
}

/* Open the allowed libraries into the state's own globals (never seen by
   scripts: each script gets a fresh environment built by make_env). */
static int p_open(lua_State *L)
{
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    lua_settop(L, 0);
    /* The shared tables (the string metatable's __index is this string
       table), so method calls like s:rep() are charged too. */
    static const char *const str_charged[] = {"rep", "gsub", "find", "match", "gmatch", "format", "upper",
                                              "lower", "reverse", "byte", "char", "pack", "unpack", NULL};
    static const char *const tab_charged[] = {"concat", "sort", "unpack", "insert", "remove", "move", NULL};
    charge_lib(L, LUA_STRLIBNAME, str_charged);
    charge_lib(L, LUA_TABLIBNAME, tab_charged);
    lua_settop(L, 0);
    /* protect the string metatable (its __index is the shared string table) */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_settop(L, 0);
    return 0;
}

/* Forget every module this thread loaded (they load again on their next use). */
static void drop_cache(lstate *ts)
{
    for (size_t i = 0; i < ts->n_mods; i++)
        luaL_unref(ts->L, LUA_REGISTRYINDEX, ts->mods[i].ref);
    ts->n_mods = 0;
    ts->epoch = atomic_load(&epoch);
}

static lstate *get_state(char *err, size_t errlen)
{
    pthread_once(&tls_once, tls_init);
    lstate *ts = tls_state;
    int ep = atomic_load(&epoch);
    if (ts && ts->epoch != ep)
        drop_cache(ts);
    if (ts)
        return ts;
    ts = calloc(1, sizeof *ts);
    if (!ts) {
        snprintf(err, errlen, "out of memory creating a Lua state");
        return NULL;
    }
    ts->L = lua_newstate(sb_alloc, ts);
    if (!ts->L) {
        free(ts);
        snprintf(err, errlen, "out of memory creating a Lua state");
        return NULL;
    }
    *(lstate **)lua_getextraspace(ts->L) = ts;
    lua_pushcfunction(ts->L, p_open);
    if (lua_pcall(ts->L, 0, 0, 0) != LUA_OK) {
        snprintf(err, errlen, "cannot open the Lua libraries: %s", lua_tostring(ts->L, -1));
        lstate_free(ts);
        return NULL;
    }
    ts->epoch = ep;
    tls_state = ts;
    pthread_setspecific(tls_key, ts);
    return ts;
}

/* Arm the budgets for one call; disarm when done. */
static void limits_arm(lstate *ts)
{
    ts->instructions = 0;
    ts->instr_hit = 0;
    ts->mem_hit = 0;
    ts->instr_limit = atomic_load(&max_instructions);
    ts->mem_limit = ts->used + atomic_load(&max_memory);
    lua_sethook(ts->L, sb_hook, LUA_MASKCOUNT, HOOK_EVERY);
}

static void limits_disarm(lstate *ts)
{
    lua_sethook(ts->L, NULL, 0, 0);
    ts->mem_limit = 0;
    ts->instr_hit = 0;
    ts->mem_hit = 0;
}

/* ------------------------------------------------------------------------- */
/* JSON <-> Lua                                                              */
/* ------------------------------------------------------------------------- */

static void push_json(lua_State *L, const cJSON *j, int depth)
{
    luaL_checkstack(L, 4, "JSON nesting");
    if (depth > JSON_MAX_DEPTH)
        luaL_error(L, "JSON nesting deeper than %d", JSON_MAX_DEPTH);
    if (cJSON_IsString(j)) {
        lua_pushstring(L, j->valuestring);
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else if (cJSON_IsBool(j)) {
        lua_pushboolean(L, cJSON_IsTrue(j));
    } else if (cJSON_IsArray(j)) {
        lua_createtable(L, cJSON_GetArraySize(j), 0);
        lua_Integer i = 1;
        const cJSON *c;
        cJSON_ArrayForEach(c, j)
        {
            push_json(L, c, depth + 1);
            lua_seti(L, -2, i++);
        }
    } else if (cJSON_IsObject(j)) {
        lua_createtable(L, 0, cJSON_GetArraySize(j));
        const cJSON *c;
        cJSON_ArrayForEach(c, j)
        {
            push_json(L, c, depth + 1);
            lua_setfield(L, -2, c->string);
        }
    } else {
        lua_pushnil(L);
    }
}

/* What encoding one result may still spend: the Lua limits are off while
   the host encodes, so a result that shares one table many times (a
   self-doubling table: 40 lines of Lua, 2^40 nodes) stops here. */
typedef struct {
    long nodes;   /* values left */
    size_t bytes; /* string and key bytes left */
} encode_budget;

static int spend(encode_budget *b, size_t bytes, char *err, size_t errlen)
{
    if (b->nodes-- <= 0 || bytes > b->bytes) {
        snprintf(err, errlen, "the result is too large to encode (more than %d values or %zu bytes)",
                 ENCODE_MAX_NODES, atomic_load(&max_memory));
        return -1;
    }
    b->bytes -= bytes;
    return 0;
}

/* Encode the value at idx. Returns NULL with a message in err on failure.
   Runs inside a protected call with the Lua limits disarmed, under b. */
static cJSON *to_json(lua_State *L, int idx, int depth, encode_budget *b, char *err, size_t errlen)
{
    idx = lua_absindex(L, idx);
    size_t slen = lua_type(L, idx) == LUA_TSTRING ? lua_rawlen(L, idx) : 0;
    if (spend(b, slen + 8, err, errlen) != 0)
        return NULL;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return cJSON_CreateNull();
    case LUA_TBOOLEAN: return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, idx);
        return isfinite(d) ? cJSON_CreateNumber(d) : cJSON_CreateNull();
    }
    case LUA_TSTRING: return cJSON_CreateString(lua_tostring(L, idx));
    case LUA_TTABLE: break;
    default:
        snprintf(err, errlen, "cannot encode a %s as JSON", luaL_typename(L, idx));
        return NULL;
    }
    if (depth > JSON_MAX_DEPTH) {
        snprintf(err, errlen, "table nesting deeper than %d (a cycle?)", JSON_MAX_DEPTH);
        return NULL;
    }
    luaL_checkstack(L, 4, "JSON encoding");
    /* array when the keys are exactly 1..n (n >= 1), or the table is empty */
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
    int array = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int vt = lua_type(L, -1);
        if (vt != LUA_TFUNCTION && vt != LUA_TUSERDATA && vt != LUA_TTHREAD &&
            vt != LUA_TLIGHTUSERDATA)
            count++;
        if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 || lua_tointeger(L, -2) > n)
            array = 0;
        lua_pop(L, 1);
    }
    if (count != n)
        array = 0;
    if (n == 0 && count == 0) {
        /* no data keys: [] unless it only holds functions (a rules table) */
        lua_pushnil(L);
        int any = lua_next(L, idx);
        if (any)
            lua_pop(L, 2);
        array = !any;
    }
    cJSON *out = array ? cJSON_CreateArray() : cJSON_CreateObject();
    if (!out) {
        snprintf(err, errlen, "out of memory encoding JSON");
        return NULL;
    }
    if (array) {
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, idx, i);
            cJSON *c = to_json(L, -1, depth + 1, b, err, errlen);
            lua_pop(L, 1);
            if (!c) {
                cJSON_Delete(out);
                return NULL;
            }
            cJSON_AddItemToArray(out, c);
        }
        return out;
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int vt = lua_type(L, -1);
        int kt = lua_type(L, -2);
        if (vt == LUA_TFUNCTION || vt == LUA_TUSERDATA || vt == LUA_TTHREAD ||
            vt == LUA_TLIGHTUSERDATA || (kt != LUA_TSTRING && kt != LUA_TNUMBER)) {
            lua_pop(L, 1);
            continue;
        }
        char key[64];
        const char *k;
        if (kt == LUA_TNUMBER) {
            if (lua_isinteger(L, -2))
                snprintf(key, sizeof key, "%lld", (long long)lua_tointeger(L, -2));
            else
                snprintf(key, sizeof key, "%.14g", lua_tonumber(L, -2));
            k = key;
        } else {
            k = lua_tostring(L, -2); /* a string key: no conversion, lua_next stays valid */
        }
        cJSON *c = spend(b, strlen(k), err, errlen) == 0 ? to_json(L, -1, depth + 1, b, err, errlen) : NULL;
        lua_pop(L, 1);
        if (!c) {
            cJSON_Delete(out);
            return NULL;
        }
        cJSON_AddItemToObject(out, k, c);
    }
    return out;
}

/* ------------------------------------------------------------------------- */
/* Loading and calling (protected)                                           */
/* ------------------------------------------------------------------------- */

/* Names to copy from the state's globals into each script's environment. */
static const char *const safe_globals[] = {
    "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawlen", "rawset",
    "select", "getmetatable", "tonumber", "tostring", "type", "_VERSION", NULL};
static const char *const safe_libs[] = {LUA_STRLIBNAME, LUA_TABLIBNAME, LUA_MATHLIBNAME,
                                        LUA_UTF8LIBNAME, NULL};

static int sb_require(lua_State *L);

/* Push a fresh environment: the safe globals, copies of the safe libraries,
   the sandbox's own pcall/print/setmetatable/require, and _G pointing to itself. */
static void push_env(lua_State *L)
{
    lua_newtable(L);
    int env = lua_gettop(L);
    for (const char *const *g = safe_globals; *g; g++) {
        lua_getglobal(L, *g);
        lua_setfield(L, env, *g);
    }
    for (const char *const *lib = safe_libs; *lib; lib++) {
        lua_getglobal(L, *lib);
        int src = lua_gettop(L);
        lua_newtable(L);
        lua_pushnil(L);
        while (lua_next(L, src)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_settable(L, -4);
        }
        if (strcmp(*lib, LUA_STRLIBNAME) == 0) {
            lua_pushnil(L);
            lua_setfield(L, -2, "dump"); /* binary chunks stay out */
        }
        lua_setfield(L, env, *lib);
        lua_pop(L, 1);
    }
    lua_pushcfunction(L, sb_pcall);
    lua_setfield(L, env, "pcall");
    lua_pushcfunction(L, sb_print);
    lua_setfield(L, env, "print");
    lua_pushcfunction(L, sb_setmetatable);
    lua_setfield(L, env, "setmetatable");
    lua_pushcfunction(L, sb_require);
    lua_setfield(L, env, "require");
    lua_pushvalue(L, env);
    lua_setfield(L, env, "_G");
}

typedef enum { KIND_ANY, KIND_PROMPT, KIND_CHANNEL } script_kind;

typedef struct load_job {
    const char *name;
    const char *source;
    size_t len;
    script_kind kind;
    int ref;          /* out: registry ref of the module */
    char err[512];    /* out: shape error (raised as a Lua error too) */
} load_job;

/* Check a field path ("caption.max_chars") of the table at idx has type t. */
static int field_is(lua_State *L, int idx, const char *path, int t)
{
    char part[64];
    int depth = 0;
    lua_pushvalue(L, idx);
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        snprintf(part, sizeof part, "%.*s", (int)n, p);
        if (!lua_istable(L, -1)) {
            lua_pop(L, depth + 1);
            return 0;
        }
        lua_getfield(L, -1, part);
        depth++;
        if (!dot)
            break;
        p = dot + 1;
    }
    int ok = lua_type(L, -1) == t;
    lua_pop(L, depth + 1);
    return ok;
}

static const struct {
    const char *path;
    int type;
} channel_shape[] = {
    {"name", LUA_TSTRING},
    {"caption.max_chars", LUA_TNUMBER},
    {"hashtags.max", LUA_TNUMBER},
    {"tone", LUA_TSTRING},
    {"cta.style", LUA_TSTRING},
    {"hook.pacing", LUA_TSTRING},
    {"duration.default", LUA_TNUMBER},
    {"aspect", LUA_TSTRING},
    {"language_styles.english", LUA_TSTRING},
    {"language_styles.pidgin", LUA_TSTRING},
    {"language_styles.mixed", LUA_TSTRING},
    {"infer", LUA_TFUNCTION},
};

/* Raises when the module at the top has the wrong shape for its kind. */
static void check_shape(lua_State *L, load_job *job)
{
    int top = lua_gettop(L);
    if (job->kind == KIND_PROMPT) {
        if (lua_isfunction(L, top) || field_is(L, top, "build", LUA_TFUNCTION))
            return;
        snprintf(job->err, sizeof job->err,
                 "a prompt script must return a function(ctx) (or a table with build), got %s",
                 luaL_typename(L, top));
        luaL_error(L, "%s", job->err);
    }
    if (job->kind == KIND_CHANNEL) {
        if (!lua_istable(L, top)) {
            snprintf(job->err, sizeof job->err, "a channel script must return a rules table, got %s",
                     luaL_typename(L, top));
            luaL_error(L, "%s", job->err);
        }
        for (size_t i = 0; i < sizeof channel_shape / sizeof *channel_shape; i++)
            if (!field_is(L, top, channel_shape[i].path, channel_shape[i].type)) {
                snprintf(job->err, sizeof job->err, "channel rules: '%s' must be a %s",
                         channel_shape[i].path, lua_typename(L, channel_shape[i].type));
                luaL_error(L, "%s", job->err);
            }
        return;
    }
    if (!lua_istable(L, top) && !lua_isfunction(L, top)) {
        snprintf(job->err, sizeof job->err, "a script must return a table or a function, got %s",
                 luaL_typename(L, top));
        luaL_error(L, "%s", job->err);
    }
}

static int p_load(lua_State *L)
{
    load_job *job = lua_touserdata(L, 1);
    char chunk[128];
    snprintf(chunk, sizeof chunk, "=%s.lua", job->name);
    if (luaL_loadbufferx(L, job->source, job->len, chunk, "t") != LUA_OK)
        return lua_error(L);
    push_env(L);
    if (!lua_setupvalue(L, -2, 1)) /* the chunk's first upvalue is _ENV */
        lua_pop(L, 1);
    lua_call(L, 0, 1);
    check_shape(L, job);
    job->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* Run fn(job) on ts's state in protected mode under the call budgets; the
   error (if any) stays on top. Returns the pcall status; *hit says the
   instruction budget ran out. */
static int run_limited(lstate *ts, lua_CFunction fn, void *job, int *hit)
{
    lua_settop(ts->L, 0);
    limits_arm(ts);
    lua_pushcfunction(ts->L, fn);
    lua_pushlightuserdata(ts->L, job);
    int st = lua_pcall(ts->L, 1, 0, 0);
    *hit = ts->instr_hit;
    limits_disarm(ts);
    return st;
}

/* Load source into ts for name; returns the module ref, or LUA_NOREF with err. */
static int load_module(lstate *ts, const char *name, const char *source, size_t len,
                       char *err, size_t errlen)
{
    load_job job = {.name = name, .source = source, .len = len, .ref = LUA_NOREF};
    job.kind = strncmp(name, "prompts/", 8) == 0    ? KIND_PROMPT
               : strncmp(name, "channels/", 9) == 0 ? KIND_CHANNEL
                                                    : KIND_ANY;
    lua_State *L = ts->L;
    int hit;
    int st = run_limited(ts, p_load, &job, &hit);
    if (st != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        if (st == LUA_ERRMEM || ts->mem_hit)
            snprintf(err, errlen, "memory limit exceeded while loading");
        else if (hit)
            snprintf(err, errlen, "instruction limit exceeded while loading");
        else
            snprintf(err, errlen, "%s", job.err[0] ? job.err : m ? m : "unknown error");
        lua_settop(L, 0);
        return LUA_NOREF;
    }
    lua_settop(L, 0);
    return job.ref;
}

static int cache_set(lstate *ts, const char *name, int version, int ref)
{
    for (size_t i = 0; i < ts->n_mods; i++)
        if (strcmp(ts->mods[i].name, name) == 0) {
            luaL_unref(ts->L, LUA_REGISTRYINDEX, ts->mods[i].ref);
            ts->mods[i].version = version;
            ts->mods[i].ref = ref;
            return 0;
        }
    cached_module *nm = cl_array_room(ts->mods, &ts->mods_alloc, ts->n_mods, sizeof *nm, 16);
    if (!nm)
        return -1;
    ts->mods = nm;
    cached_module *m = &ts->mods[ts->n_mods++];
    snprintf(m->name, sizeof m->name, "%s", name);
    m->version = version;
    m->ref = ref;
    return 0;
}

static const cached_module *cache_get(lstate *ts, const char *name)
{
    for (size_t i = 0; i < ts->n_mods; i++)
        if (strcmp(ts->mods[i].name, name) == 0)
            return &ts->mods[i];
    return NULL;
}

static int valid_name(const char *name)
{
    /* "<dir>/<file>": [a-z0-9_]+ "/" [a-z0-9_]+ */
    int slash = 0;
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        if (*p == '/') {
            if (slash || p == name || !p[1])
                return 0;
            slash = 1;
        } else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            return 0;
        }
    }
    return slash && n < 80;
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %.300s: %s", path, strerror(errno));
        return NULL;
    }
    cl_buf b = CL_BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > MAX_SCRIPT_BYTES || cl_buf_append(&b, chunk, n) != 0) {
            snprintf(err, errlen, "%.300s is larger than %zu bytes or memory ran out", path,
                     MAX_SCRIPT_BYTES);
            cl_buf_free(&b);
            fclose(f);
            return NULL;
        }
    }
    fclose(f);
    if (!b.data)
        cl_buf_append(&b, "", 0);
    *len = b.len;
    return cl_buf_steal(&b);
}

static int same_file(const script_entry *e, const struct stat *st)
{
    return e->seen && st->st_ino == e->ino && st->st_size == e->size && st->st_mtim.tv_sec == e->mtime.tv_sec &&
           st->st_mtim.tv_nsec == e->mtime.tv_nsec;
}

/* 1 when a module under lib/ that a script required changed on disk (or
   went): the scripts holding it must load again. Marks it to be read again. */
static int libs_changed_locked(void)
{
    int changed = 0;
    for (size_t i = 0; i < n_entries; i++) {
        script_entry *e = entries[i];
        struct stat st;
        if (strncmp(e->name, LIB_DIR "/", sizeof LIB_DIR) != 0 || !e->seen)
            continue;
        if (stat(e->path, &st) != 0 || !same_file(e, &st)) {
            e->seen = 0;
            changed = 1;
        }
    }
    return changed;
}

/* Make sure ts holds the current good version of `name`; returns its ref or
   LUA_NOREF with err. Reloads a changed file (see the file comment). */
static int module_ref(lstate *ts, const char *name, char *err, size_t errlen)
{
    char dir[1024], path[1200];
    cl_lua_scripts_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s.lua", dir, name);

    pthread_mutex_lock(&reg_lock);
    if (libs_changed_locked()) {
        /* every script loads again (their require() reads the new module) */
        atomic_fetch_add(&epoch, 1);
        drop_cache(ts);
    }
    script_entry *e = entry_get_locked(name, path);
    if (!e) {
        pthread_mutex_unlock(&reg_lock);
        snprintf(err, errlen, "out of memory");
        return LUA_NOREF;
    }
    struct stat st;
    char why[512] = "";
    if (stat(path, &st) != 0) {
        snprintf(why, sizeof why, "cannot read %.300s: %s", path, strerror(errno));
        if (!e->seen || strcmp(e->last_error, why) != 0) {
            snprintf(e->last_error, sizeof e->last_error, "%s", why);
            e->error_at = wall_ms();
            if (e->source)
                cl_warn(COMPONENT, "script %s: %s; keeping the previous version", name, why);
        }
        e->seen = 0;
    } else if (!e->seen || st.st_ino != e->ino || st.st_size != e->size ||
               st.st_mtim.tv_sec != e->mtime.tv_sec || st.st_mtim.tv_nsec != e->mtime.tv_nsec) {
        e->seen = 1;
        e->ino = st.st_ino;
        e->size = st.st_size;
        e->mtime = st.st_mtim;
        size_t len = 0;
        char *text = read_file(path, &len, why, sizeof why);
        int ref = text ? load_module(ts, name, text, len, why, sizeof why) : LUA_NOREF;
        if (ref != LUA_NOREF) {
            free(e->source);
            e->source = text;
            e->source_len = len;
            e->version++;
            e->loaded_at = wall_ms();
            e->last_error[0] = '\0';
            e->error_at = 0;
            if (cache_set(ts, name, e->version, ref) != 0)
                luaL_unref(ts->L, LUA_REGISTRYINDEX, ref);
            if (e->version > 1)
                cl_info(COMPONENT, "script %s reloaded (version %d)", name, e->version);
        } else {
            free(text);
            snprintf(e->last_error, sizeof e->last_error, "%s", why);
            e->error_at = wall_ms();
            if (e->source)
                cl_warn(COMPONENT, "script %s failed to load: %s; keeping the previous version", name, why);
            else
                cl_warn(COMPONENT, "script %s failed to load: %s", name, why);
        }
    }
    if (!e->source) {
        snprintf(err, errlen, "script %s: %.400s", name, e->last_error[0] ? e->last_error : "not loaded");
        pthread_mutex_unlock(&reg_lock);
        return LUA_NOREF;
    }
    const cached_module *m = cache_get(ts, name);
    if (m && m->version == e->version) {
        int ref = m->ref;
        pthread_mutex_unlock(&reg_lock);
        return ref;
    }
    /* another thread published a newer version: load that text here */
    int version = e->version;
    size_t len = e->source_len;
    char *copy = malloc(len + 1);
    if (copy)
        memcpy(copy, e->source, len + 1);
    pthread_mutex_unlock(&reg_lock);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return LUA_NOREF;
    }
    int ref = load_module(ts, name, copy, len, why, sizeof why);
    free(copy);
    if (ref == LUA_NOREF) {
        snprintf(err, errlen, "script %s: %.400s", name, why);
        return LUA_NOREF;
    }
    if (cache_set(ts, name, version, ref) != 0) {
        luaL_unref(ts->L, LUA_REGISTRYINDEX, ref);
        snprintf(err, errlen, "out of memory");
        return LUA_NOREF;
    }
    return ref;
}

/* ------------------------------------------------------------------------- */
/* require: shared modules from <scripts dir>/lib                            */
/* ------------------------------------------------------------------------- */

/* A module name: [a-z0-9_]{1,60}. No dots, slashes or "..": only files
   directly in lib/ can be named. */
static int lib_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > 60)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
            return 0;
    return 1;
}

typedef struct lib_text {
    char *source;   /* malloc'd; the text to run */
    size_t len;
    int version;    /* > 0: the published version this text is; 0: a changed file not yet published */
    char prev_error[512];
} lib_text;

/* The text to load for module `script` ("lib/x") and whether this thread
   holds it already (*ref). Reads a changed file; keeps the previous good
   version when the file went. 0, or -1 with err (no such module). Takes
   reg_lock (recursive) and raises nothing. */
static int lib_lookup(lstate *ts, const char *script, int *ref, lib_text *out, char *err, size_t errlen)
{
    char dir[1024], path[1200];
    cl_lua_scripts_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s.lua", dir, script);
    *ref = LUA_NOREF;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&reg_lock);
    script_entry *e = entry_get_locked(script, path);
    struct stat st;
    int rc = 0;
    if (!e) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    } else if (stat(path, &st) == 0 && !same_file(e, &st)) {
        /* new or changed: read it; require() runs it and publishes it if it loads */
        e->seen = 1;
        e->ino = st.st_ino;
        e->size = st.st_size;
        e->mtime = st.st_mtim;
        out->source = read_file(path, &out->len, err, errlen);
        rc = out->source ? 0 : -1;
    } else if (e->source) {
        const cached_module *m = cache_get(ts, script);
        if (m && m->version == e->version) {
            *ref = m->ref;
        } else if ((out->source = malloc(e->source_len + 1))) {
            memcpy(out->source, e->source, e->source_len + 1);
            out->len = e->source_len;
            out->version = e->version;
        } else {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
    } else if (e->seen && e->last_error[0]) {
        snprintf(err, errlen, "module '%s' does not load: %.400s", script + sizeof LIB_DIR, e->last_error);
        rc = -1;
    } else {
        snprintf(err, errlen, "no module '%s' (%s.lua in the scripts directory)", script + sizeof LIB_DIR,
                 script);
        rc = -1;
    }
    pthread_mutex_unlock(&reg_lock);
    return rc;
}

/* Publish a changed module's text that loaded; record one that did not. */
static int lib_publish(const char *script, lib_text *t, const char *error)
{
    int version = 0;
    pthread_mutex_lock(&reg_lock);
    for (size_t i = 0; i < n_entries; i++) {
        script_entry *e = entries[i];
        if (strcmp(e->name, script) != 0)
            continue;
        if (error) {
            snprintf(e->last_error, sizeof e->last_error, "%s", error);
            e->error_at = wall_ms();
            cl_warn(COMPONENT, "module %s failed to load: %s%s", script, error,
                    e->source ? "; keeping the previous version" : "");
        } else {
            free(e->source);
            e->source = t->source;
            e->source_len = t->len;
            t->source = NULL;
            version = ++e->version;
            e->loaded_at = wall_ms();
            e->last_error[0] = '\0';
            e->error_at = 0;
            if (version > 1)
                cl_info(COMPONENT, "module %s reloaded (version %d)", script, version);
        }
        break;
    }
    pthread_mutex_unlock(&reg_lock);
    return version;
}

/* Run a module's text in its own fresh environment (the same sandbox and the
   running call's budgets); leaves the status and the value or error on top. */
static int lib_run(lua_State *L, const char *script, const lib_text *t)
{
    char chunk[128];
    snprintf(chunk, sizeof chunk, "=%s.lua", script);
    int st = luaL_loadbufferx(L, t->source, t->len, chunk, "t");
    if (st != LUA_OK)
        return st;
    push_env(L);
    if (!lua_setupvalue(L, -2, 1))
        lua_pop(L, 1);
    st = lua_pcall(L, 0, 1, 0);
    if (st == LUA_OK && !lua_istable(L, -1) && !lua_isfunction(L, -1)) {
        const char *got = luaL_typename(L, -1);
        lua_pop(L, 1);
        lua_pushfstring(L, "a module must return a table or a function, got %s", got);
        st = LUA_ERRRUN;
    }
    return st;
}

/* require("name"): the module <scripts dir>/lib/name.lua — a table or a
   function, loaded once per thread and version and shared by the scripts of
   that thread that require it; read again when the file changes (the scripts
   that hold it load again). Only names of [a-z0-9_] in lib/: no paths, no
   Lua or C libraries. */
static int sb_require(lua_State *L)
{
    size_t len;
    const char *name = luaL_checklstring(L, 1, &len);
    if (!lib_name_ok(name, len))
        return luaL_error(L, "require: '%s' is not a module name (a file scripts/" LIB_DIR
                             "/NAME.lua, NAME of a-z, 0-9 and _)", name);
    lstate *ts = state_of(L);
    char script[96], err[512];
    snprintf(script, sizeof script, LIB_DIR "/%s", name);
    for (int i = 0; i < ts->n_requiring; i++)
        if (strcmp(ts->requiring[i], script) == 0)
            return luaL_error(L, "require: '%s' requires itself (through another module)", name);
    if (ts->n_requiring == REQUIRE_MAX_DEPTH)
        return luaL_error(L, "require: modules nested deeper than %d", REQUIRE_MAX_DEPTH);
    int ref;
    lib_text t;
    if (lib_lookup(ts, script, &ref, &t, err, sizeof err) != 0)
        return luaL_error(L, "require: %s", err);
    if (ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
        return 1;
    }
    /* run it; the text must not outlive an error raised below */
    lua_pushstring(L, script); /* keeps the name alive for requiring[] */
    ts->requiring[ts->n_requiring++] = lua_tostring(L, -1);
    int st = lib_run(L, script, &t);
    ts->n_requiring--;
    if (st != LUA_OK && (st == LUA_ERRMEM || ts->instr_hit || ts->mem_hit)) {
        free(t.source);
        return lua_error(L); /* the call's limits: never caught here */
    }
    int version = t.version;
    if (version == 0) /* a changed file */
        version = lib_publish(script, &t, st == LUA_OK ? NULL : lua_tostring(L, -1));
    free(t.source);
    if (st != LUA_OK && t.version == 0 && lib_lookup(ts, script, &ref, &t, err, sizeof err) == 0) {
        /* the changed file does not load: the previous version, if there is one */
        lua_pop(L, 1);
        if (ref != LUA_NOREF) {
            lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
            return 1;
        }
        ts->requiring[ts->n_requiring++] = lua_tostring(L, -1);
        st = lib_run(L, script, &t);
        ts->n_requiring--;
        version = t.version;
        free(t.source);
        if (st != LUA_OK && (st == LUA_ERRMEM || ts->instr_hit || ts->mem_hit))
            return lua_error(L);
    }
    if (st != LUA_OK) {
        lua_pushfstring(L, "require: module '%s': %s", name, lua_tostring(L, -1));
        return lua_error(L);
    }
    if (version > 0) {
        lua_pushvalue(L, -1);
        int r = luaL_ref(L, LUA_REGISTRYINDEX);
        if (cache_set(ts, script, version, r) != 0)
            luaL_unref(L, LUA_REGISTRYINDEX, r);
    }
    return 1;
}

typedef struct call_job {
    int ref;
    const char *fn;
    const cJSON *arg;  /* NULL: no argument */
    cJSON *result;     /* out */
    char err[512];     /* out: an encoding or shape error */
    lstate *ts;
} call_job;

static int p_call(lua_State *L)
{
    call_job *job = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, job->ref);
    if (lua_istable(L, 1)) {
        if (job->fn) {
            lua_getfield(L, 1, job->fn);
            if (!lua_isfunction(L, -1)) {
                snprintf(job->err, sizeof job->err, "the script has no function '%s'", job->fn);
                return luaL_error(L, "%s", job->err);
            }
            lua_remove(L, 1);
        } else {
            job->result = NULL; /* the table itself, encoded below */
            goto encode;
        }
    } else if (job->fn && strcmp(job->fn, "build") != 0) {
        snprintf(job->err, sizeof job->err, "the script returns a function, not a table with '%s'",
                 job->fn);
        return luaL_error(L, "%s", job->err);
    }
    if (job->arg)
        push_json(L, job->arg, 0);
    lua_call(L, job->arg ? 1 : 0, 1);
encode:
    /* encoding happens with the memory budget off: only the host allocates */
    job->ts->mem_limit = 0;
    lua_sethook(L, NULL, 0, 0);
    encode_budget budget = {ENCODE_MAX_NODES, atomic_load(&max_memory)};
    job->result = to_json(L, -1, 0, &budget, job->err, sizeof job->err);
    if (!job->result)
        return luaL_error(L, "result: %s", job->err);
    return 0;
}

int cl_lua_call(const char *script, const char *fn, const char *arg_json, char **result_json,
                char *err, size_t errlen)
{
    *result_json = NULL;
    if (!script || !valid_name(script)) {
        snprintf(err, errlen, "invalid script name '%.80s'", script ? script : "(null)");
        return CL_EINVAL;
    }
    cJSON *arg = NULL;
    if (arg_json) {
        arg = cJSON_Parse(arg_json);
        if (!arg) {
            snprintf(err, errlen, "script %s: the argument is not valid JSON", script);
            return CL_EINVAL;
        }
    }
    lstate *ts = get_state(err, errlen);
    if (!ts) {
        cJSON_Delete(arg);
        return CL_ENOMEM;
    }
    char why[512];
    int ref = module_ref(ts, script, why, sizeof why);
    if (ref == LUA_NOREF) {
        cJSON_Delete(arg);
        snprintf(err, errlen, "%s", why);
        return strstr(why, "cannot read") ? CL_EIO : CL_EINVAL;
    }
    call_job job = {.ref = ref, .fn = fn, .arg = arg, .ts = ts};
    lua_State *L = ts->L;
    int hit;
    int st = run_limited(ts, p_call, &job, &hit);
    cJSON_Delete(arg);
    if (st != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        if (st == LUA_ERRMEM || ts->mem_hit)
            snprintf(err, errlen, "script %s: memory limit exceeded (%zu bytes)", script,
                     atomic_load(&max_memory));
        else if (hit)
            snprintf(err, errlen, "script %s: instruction limit exceeded (%ld)", script,
                     atomic_load(&max_instructions));
        else
            snprintf(err, errlen, "script %s: %s", script, m ? m : "error");
        lua_settop(L, 0);
        cJSON_Delete(job.result);
        /* give back what the failed call left behind */
        lua_gc(L, LUA_GCCOLLECT);
        return CL_EINVAL;
    }
    lua_settop(L, 0);
    *result_json = cJSON_PrintUnformatted(job.result);
    cJSON_Delete(job.result);
    if (!*result_json) {
        snprintf(err, errlen, "out of memory");
        return CL_ENOMEM;
    }
    return CL_OK;
}

/* ------------------------------------------------------------------------- */
/* Prompts and channels                                                      */
/* ------------------------------------------------------------------------- */

static int ident(const char *s)
{
    if (!s || !*s || strlen(s) > 40)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

int cl_lua_prompt(const char *name, const char *ctx_json, char **system, char **prompt, char *err,
                  size_t errlen)
{
    *system = *prompt = NULL;
    if (!ident(name)) {
        snprintf(err, errlen, "invalid prompt name '%.40s'", name ? name : "(null)");
        return CL_EINVAL;
    }
    char script[64], *out = NULL;
    snprintf(script, sizeof script, "prompts/%s", name);
    int rc = cl_lua_call(script, NULL, ctx_json ? ctx_json : "{}", &out, err, errlen);
    if (rc != CL_OK)
        return rc;
    cJSON *j = cJSON_Parse(out);
    free(out);
    cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "prompt");
    cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "system");
    if (!cJSON_IsString(p) || !*p->valuestring || (s && !cJSON_IsString(s) && !cJSON_IsNull(s))) {
        cJSON_Delete(j);
        snprintf(err, errlen, "script %s must return {system = string?, prompt = string}", script);
        return CL_EINVAL;
    }
    *prompt = strdup(p->valuestring);
    *system = cJSON_IsString(s) ? strdup(s->valuestring) : NULL;
    cJSON_Delete(j);
    if (!*prompt || (cJSON_IsString(s) && !*system)) {
        free(*prompt);
        free(*system);
        *system = *prompt = NULL;
        snprintf(err, errlen, "out of memory");
        return CL_ENOMEM;
    }
    return CL_OK;
}

int cl_lua_channel_rules(const char *channel, char **rules_json, char *err, size_t errlen)
{
    *rules_json = NULL;
    if (!ident(channel)) {
        snprintf(err, errlen, "invalid channel name '%.40s'", channel ? channel : "(null)");
        return CL_EINVAL;
    }
    char script[64];
    snprintf(script, sizeof script, "channels/%s", channel);
    return cl_lua_call(script, NULL, NULL, rules_json, err, errlen);
}

static int is_lua(const struct dirent *de)
{
    size_t len = strlen(de->d_name);
    return len >= 5 && strcmp(de->d_name + len - 4, ".lua") == 0;
}

/* Sorted channel names (malloc'd array of malloc'd strings). Returns count or -1. */
static int list_channels(char ***names_out, char *err, size_t errlen)
{
    char dir[1024], path[1100];
    cl_lua_scripts_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/channels", dir);
    struct dirent **des;
    int nd = scandir(path, &des, is_lua, alphasort);
    if (nd < 0) {
        snprintf(err, errlen, "cannot read %.300s: %s", path, strerror(errno));
        return -1;
    }
    char **names = calloc((size_t)nd + 1, sizeof *names);
    int n = 0;
    for (int i = 0; i < nd; i++) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(strlen(des[i]->d_name) - 4), des[i]->d_name);
        if (names && ident(name) && (names[n] = strdup(name)) != NULL)
            n++;
        free(des[i]);
    }
    free(des);
    *names_out = names;
    return n;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int cl_lua_channel_names(char **names_json, char *err, size_t errlen)
{
    char **names;
    int n = list_channels(&names, err, errlen);
    if (n < 0)
        return CL_EIO;
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
    free_names(names, n);
    *names_json = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return *names_json ? CL_OK : CL_ENOMEM;
}

int cl_lua_infer_channel(const char *request, char *out, size_t outlen, char *err, size_t errlen)
{
    if (outlen)
        out[0] = '\0';
    char **names;
    int n = list_channels(&names, err, errlen);
    if (n < 0)
        return CL_EIO;
    cJSON *arg = cJSON_CreateString(request ? request : "");
    char *arg_json = cJSON_PrintUnformatted(arg);
    cJSON_Delete(arg);
    double best = 0;
    for (int i = 0; arg_json && i < n; i++) {
        char script[64], *res = NULL, why[512];
        snprintf(script, sizeof script, "channels/%s", names[i]);
        if (cl_lua_call(script, "infer", arg_json, &res, why, sizeof why) != CL_OK) {
            cl_debug(COMPONENT, "infer skipped %s: %s", names[i], why);
            continue;
        }
        cJSON *r = cJSON_Parse(res);
        double score = cJSON_IsNumber(r) ? r->valuedouble : cJSON_IsTrue(r) ? 1 : 0;
        cJSON_Delete(r);
        free(res);
        if (score > best) {
            best = score;
            snprintf(out, outlen, "%s", names[i]);
        }
    }
    free(arg_json);
    free_names(names, n);
    return CL_OK;
}

static void iso_time(int64_t ms, char *buf, size_t len)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int cl_lua_scripts_status_json(char **json)
{
    cJSON *arr = cJSON_CreateArray();
    char t[64];
    pthread_mutex_lock(&reg_lock);
    for (size_t i = 0; arr && i < n_entries; i++) {
        const script_entry *e = entries[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", e->name);
        cJSON_AddStringToObject(o, "path", e->path);
        cJSON_AddBoolToObject(o, "loaded", e->source != NULL);
        cJSON_AddNumberToObject(o, "version", e->version);
        if (e->loaded_at) {
            iso_time(e->loaded_at, t, sizeof t);
            cJSON_AddStringToObject(o, "loaded_at", t);
        } else {
            cJSON_AddNullToObject(o, "loaded_at");
        }
        if (e->last_error[0]) {
            cJSON_AddStringToObject(o, "last_error", e->last_error);
            iso_time(e->error_at, t, sizeof t);
            cJSON_AddStringToObject(o, "error_at", t);
        } else {
            cJSON_AddNullToObject(o, "last_error");
            cJSON_AddNullToObject(o, "error_at");
        }
        cJSON_AddItemToArray(arr, o);
    }
    pthread_mutex_unlock(&reg_lock);
    *json = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return *json ? CL_OK : CL_ENOMEM;
}
