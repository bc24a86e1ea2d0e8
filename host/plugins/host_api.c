/*
 * host_api.c — the services table handed to every plugin's init (SQLite's
 * sqlite3_api_routines, in spirit): one constant struct that only ever grows
 * at the end. Each entry is a thin adapter onto the host's own code, so
 * plugins never link against the host.
 *
 * config_get and temp_dir return strings that must stay valid for the life
 * of the process, while being callable from worker threads; they are kept in
 * the plugin's ctx under one mutex and freed only by
 * cl_plugins_reset_for_tests (through cl_host_api_ctx_release).
 */
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "net/http_client.h"
#include "plugins/call.h"
#include "plugins/plugin_ctx.h"
#include "plugins/registry.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;

static void api_log(const cl_plugin_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cl_logv(level, ctx && ctx->name ? ctx->name : "plugin", fmt, ap);
    va_end(ap);
}

static const char *api_config_get(const cl_plugin_ctx *cctx, const char *key)
{
    cl_plugin_ctx *ctx = (cl_plugin_ctx *)cctx; /* the cache lives in the host's record */
    if (!ctx || !ctx->config_prefix || !ctx->config_prefix[0] || !key || !key[0])
        return NULL;
    char name[256];
    int n = snprintf(name, sizeof name, "%s_%s", ctx->config_prefix, key);
    if (n < 0 || (size_t)n >= sizeof name)
        return NULL;
    const char *answer = NULL;
    pthread_mutex_lock(&api_lock);
    const char *v = getenv(name);
    if (v) {
        /* Reuse an earlier answer for the same key and value, so repeated
           calls do not grow memory; a changed value gets a new string and
           the old one stays valid (callers may still hold it). */
        for (cl_plugin_cfg_entry *e = ctx->cfg; e; e = e->next)
            if (strcmp(e->key, key) == 0 && strcmp(e->value, v) == 0) {
                answer = e->value;
                break;
            }
        if (!answer) {
            cl_plugin_cfg_entry *e = calloc(1, sizeof *e);
            if (e && (e->key = strdup(key)) && (e->value = strdup(v))) {
                e->next = ctx->cfg;
                ctx->cfg = e;
                answer = e->value;
            } else if (e) {
                free(e->key);
                free(e);
            }
        }
    }
    pthread_mutex_unlock(&api_lock);
    return answer;
}

static int api_register(cl_plugin_ctx *ctx, const cl_capability *cap, size_t size)
{
    return cl_plugins_register(ctx, cap, size);
}

static int api_http_do(cl_call *call, const cl_http_request *req, cl_http_response *res,
                       cl_error *err)
{
    return cl_http_do(call, req, res, err);
}

static void api_http_response_free(cl_http_response *res) { cl_http_response_free(res); }

/* mkdir -p; returns 0 or -1 with errno set. */
static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static const char *api_temp_dir(const cl_plugin_ctx *cctx)
{
    cl_plugin_ctx *ctx = (cl_plugin_ctx *)cctx;
    if (!ctx || !ctx->name)
        return NULL;
    pthread_mutex_lock(&api_lock);
    if (!ctx->temp_dir) {
        size_t len = strlen(cl_cfg.storage_dir) + strlen(ctx->name) + 8;
        char *p = malloc(len);
        if (p) {
            snprintf(p, len, "%s/tmp/%s", cl_cfg.storage_dir[0] ? cl_cfg.storage_dir : ".", ctx->name);
            if (mkdirs(p) == 0) {
                ctx->temp_dir = p;
            } else {
                cl_log(CL_LOG_ERROR, ctx->name, "cannot create temp dir %s: %s", p, strerror(errno));
                free(p);
            }
        }
    }
    const char *answer = ctx->temp_dir;
    pthread_mutex_unlock(&api_lock);
    return answer;
}

static const char *api_asset_dir(const cl_plugin_ctx *ctx) { return cl_cfg.asset_dir; }

static _Thread_local cl_call *current_call;

cl_call *cl_call_current(void) { return current_call; }
void cl_call_set_current(cl_call *call) { current_call = call; }

static int api_cancelled(cl_call *call) { return call ? atomic_load(&call->cancelled) : 0; }

static void api_progress(cl_call *call, int64_t done, int64_t total)
{
    if (call && call->on_progress)
        call->on_progress(call->progress_arg, done, total);
}

static int api_output_append(cl_output *out, const void *data, size_t len)
{
    return cl_output_append(out, data, len);
}

static const cl_host_api host_api = {
    .size = sizeof(cl_host_api),
    .abi_major = CL_ABI_MAJOR,
    .abi_minor = CL_ABI_MINOR,
    .log = api_log,
    .config_get = api_config_get,
    .register_capability = api_register,
    .http_do = api_http_do,
    .http_response_free = api_http_response_free,
    .temp_dir = api_temp_dir,
    .asset_dir = api_asset_dir,
    .cancelled = api_cancelled,
    .progress = api_progress,
    .output_append = api_output_append,
};

const cl_host_api *cl_host_api_get(void) { return &host_api; }

void cl_host_api_ctx_release(cl_plugin_ctx *ctx)
{
    pthread_mutex_lock(&api_lock);
    for (cl_plugin_cfg_entry *e = ctx->cfg, *next; e; e = next) {
        next = e->next;
        free(e->key);
        free(e->value);
        free(e);
    }
    ctx->cfg = NULL;
    free(ctx->temp_dir);
    ctx->temp_dir = NULL;
    pthread_mutex_unlock(&api_lock);
}
