/*
 * lua_runtime.h — the host's sandboxed Lua 5.4 runtime for prompt templates
 * (scripts/prompts/NAME.lua) and channel rules (scripts/channels/NAME.lua).
 *
 * - One lua_State per thread, created on first use and closed when the thread
 *   exits (or by cl_lua_thread_release). States never cross threads.
 * - Sandbox: only base (without dofile, loadfile, load, collectgarbage,
 *   xpcall), string (without dump), table, math and utf8. No io, os, debug,
 *   package or coroutine. Chunks are loaded as text only. Every script gets
 *   its own global table, so one script cannot change another's.
 * - require("NAME") loads <scripts dir>/lib/NAME.lua only (NAME of a-z, 0-9,
 *   _: no paths, no Lua or C libraries), in the same sandbox and under the
 *   requiring call's budget; once per thread and version, shared by that
 *   thread's scripts. A changed module makes every script load again on its
 *   next call; a module edit that fails keeps the previous version
 *   (docs/prompts-and-channels.md, "Shared modules").
 * - Limits per call (loading a script's top level included): an
 *   instruction budget (count hook) and a memory budget (the state's
 *   allocator refuses to grow past it). A script cannot catch either with
 *   pcall: the sandbox's pcall re-raises them.
 * - Scripts are named "<dir>/<name>" ("prompts/brief", "channels/tiktok") and
 *   read from <scripts dir>/<dir>/<name>.lua. Every call stat()s the file; a
 *   changed mtime/size/inode reloads it. A script that fails to load, or
 *   returns the wrong shape, keeps its previous version (if any) and records
 *   the error (logged once, listed by cl_lua_scripts_status_json).
 * - Data crosses as JSON text: arguments are decoded into Lua tables, results
 *   encoded back (functions are skipped; an empty table becomes []).
 *
 * Known limit: the instruction count does not advance inside one C library
 * call, so a pathological string pattern can run long; the memory budget
 * still bounds what it allocates.
 */
#ifndef CL_LUA_RUNTIME_H
#define CL_LUA_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

/** Default per-call budgets. */
#define CL_LUA_DEFAULT_MAX_INSTRUCTIONS 5000000L
#define CL_LUA_DEFAULT_MAX_MEMORY ((size_t)32 << 20)

/**
 * The scripts directory: what cl_lua_set_scripts_dir set, else
 * $CLIPLOOP_SCRIPTS_DIR, else <exe dir>/../scripts. Returns a copy in buf.
 */
const char *cl_lua_scripts_dir(char *buf, size_t len);

/**
 * Use another scripts directory (NULL: back to the environment/default).
 * Forgets every loaded script in every thread (threads notice on their next
 * call). For tests and tools; thread-safe.
 */
void cl_lua_set_scripts_dir(const char *dir);

/** Per-call budgets; 0 restores the default. Thread-safe; applies from the next call. */
void cl_lua_set_limits(long max_instructions, size_t max_memory_bytes);

/**
 * Call script `script` ("prompts/brief"). When the script returns a function,
 * that function is called (fn must be NULL or "build"); when it returns a
 * table, its field fn is called, or with fn NULL the table itself is the
 * result. arg_json (NULL = no argument) is decoded and passed as the one
 * argument. On success *result_json is malloc'd JSON text (caller frees).
 * Returns 0, or a negative cl_status (CL_EIO: script missing/unreadable with
 * no previous version; CL_EINVAL: bad name, load or runtime error, limit
 * hit, unencodable result) with a message in err.
 */
int cl_lua_call(const char *script, const char *fn, const char *arg_json, char **result_json,
                char *err, size_t errlen);

/**
 * Run scripts/prompts/<name>.lua with the context ctx_json; it must return
 * {system = string?, prompt = string}. *system (may be set to NULL when the
 * script gives none) and *prompt are malloc'd; caller frees both. Returns 0
 * or a negative cl_status with err.
 */
int cl_lua_prompt(const char *name, const char *ctx_json, char **system, char **prompt, char *err,
                  size_t errlen);

/**
 * The rules table of scripts/channels/<channel>.lua as JSON (functions
 * omitted). *rules_json is malloc'd; caller frees.
 */
int cl_lua_channel_rules(const char *channel, char **rules_json, char *err, size_t errlen);

/**
 * Ask every channel script's infer(request) for a score; the highest
 * positive score wins (ties: alphabetical). Writes the channel name into out,
 * or "" when no script claims the request. Broken channel scripts are
 * skipped (their error is recorded). Returns 0, or a negative cl_status when
 * the channels directory cannot be read.
 */
int cl_lua_infer_channel(const char *request, char *out, size_t outlen, char *err, size_t errlen);

/**
 * Names of the channel scripts (every scripts/channels/NAME.lua, sorted) as a JSON
 * array. *names_json is malloc'd; caller frees. Returns 0 or a negative cl_status.
 */
int cl_lua_channel_names(char **names_json, char *err, size_t errlen);

/**
 * Every script this process has seen, for an admin/settings view:
 * [{"name","path","loaded":bool,"loaded_at":"ISO-8601"|null,"version":n,
 *   "last_error":string|null,"error_at":…}]. *json is malloc'd; caller frees.
 * Returns 0 or CL_ENOMEM.
 */
int cl_lua_scripts_status_json(char **json);

/** Close the calling thread's state now (it is also closed at thread exit). */
void cl_lua_thread_release(void);

/** Tests: release the calling thread's state and forget every script's status. */
void cl_lua_reset_for_tests(void);

#endif
