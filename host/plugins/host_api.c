/*
 * host_api.c — the services table handed to every plugin's init (SQLite's
 * sqlite3_api_routines, in spirit): one constant struct that only ever grows
 * at the end. Each entry is a thin adapter onto the host's own code, so
 * plugins never link against the host.
 *
 * config_get reads the plugin's configuration snapshot, taken from the
 * environment when the plugin loads (cl_host_api_ctx_snapshot): immutable,
 * so reads take no lock, and its strings live as long as the process.
 * temp_dir's path is created on demand under one mutex. Both are freed only
 * by cl_plugins_reset_for_tests (through cl_host_api_ctx_release).
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
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;

/** How often sleep() looks at the call's cancel flag. */
#define SLEEP_SLICE_NS (20 * 1000000LL)

static void api_log(const cl_plugin_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cl_logv(level, ctx && ctx->name ? ctx->name : "plugin", fmt, ap);
    va_end(ap);
}

/* The snapshot's entry for key, or NULL. */
static cl_plugin_cfg_entry *cfg_find(const cl_plugin_ctx *ctx, const char *key)
{
    cl_plugin_cfg *cfg = ctx ? atomic_load(&((cl_plugin_ctx *)ctx)->cfg) : NULL;
    if (!cfg || !key)
        return NULL;
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->v[i].key, key) == 0)
            return &cfg->v[i];
    return NULL;
}

static const char *api_config_get(const cl_plugin_ctx *ctx, const char *key)
{
    cl_plugin_cfg_entry *e = cfg_find(ctx, key);
    return e ? e->value : NULL;
}

/* One warning per variable and snapshot, naming it, never its value. */
static void cfg_warn(const cl_plugin_ctx *ctx, cl_plugin_cfg_entry *e, const char *what, const char *def)
{
    if (atomic_exchange(&e->warned, 1) == 0)
        cl_log(CL_LOG_WARN, ctx->name, "%s_%s is not %s; using the default %s", ctx->config_prefix, e->key, what,
               def);
}

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static int64_t api_config_int(const cl_plugin_ctx *ctx, const char *key, int64_t def)
{
    cl_plugin_cfg_entry *e = cfg_find(ctx, key);
    const char *v = e ? skip_space(e->value) : "";
    if (!*v)
        return def;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end != v && errno == 0 && !*skip_space(end))
        return (int64_t)n;
    char d[32];
    snprintf(d, sizeof d, "%lld", (long long)def);
    cfg_warn(ctx, e, "an integer", d);
    return def;
}

static int api_config_bool(const cl_plugin_ctx *ctx, const char *key, int def)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
    cl_plugin_cfg_entry *e = cfg_find(ctx, key);
    const char *v = e ? skip_space(e->value) : "";
    if (!*v)
        return def;
    size_t len = strlen(v);
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (strlen(yes[i]) == len && strncasecmp(v, yes[i], len) == 0)
            return 1;
        if (strlen(no[i]) == len && strncasecmp(v, no[i], len) == 0)
            return 0;
    }
    cfg_warn(ctx, e, "a boolean (true/false, 1/0, yes/no, on/off)", def ? "true" : "false");
    return def;
}

int cl_host_api_ctx_snapshot(cl_plugin_ctx *ctx)
{
    extern char **environ;
    size_t plen = ctx->config_prefix ? strlen(ctx->config_prefix) : 0, n = 0;
    if (plen)
        for (char **e = environ; *e; e++)
            n += strncmp(*e, ctx->config_prefix, plen) == 0 && (*e)[plen] == '_' && strchr(*e, '=');
    cl_plugin_cfg *cfg = calloc(1, sizeof *cfg + n * sizeof cfg->v[0]);
    if (!cfg)
        return -1;
    for (char **e = environ; plen && *e && cfg->n < n; e++) {
        const char *eq = strchr(*e, '=');
        if (strncmp(*e, ctx->config_prefix, plen) != 0 || (*e)[plen] != '_' || !eq)
            continue;
        cl_plugin_cfg_entry *v = &cfg->v[cfg->n];
        v->key = strndup(*e + plen + 1, (size_t)(eq - *e) - plen - 1);
        v->value = strdup(eq + 1);
        atomic_init(&v->warned, 0);
        cfg->n++;
        if (!v->key || !v->value) {
            cfg->older = atomic_load(&ctx->cfg);
            atomic_store(&ctx->cfg, cfg);
            return -1; /* freed with the context */
        }
    }
    cfg->older = atomic_load(&ctx->cfg);
    atomic_store(&ctx->cfg, cfg);
    return 0;
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

static int api_sleep(cl_call *call, int ms)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += ms / 1000;
    end.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (end.tv_nsec >= 1000000000L)
        end.tv_sec++, end.tv_nsec -= 1000000000L;
    for (;;) {
        if (api_cancelled(call))
            return CL_ECANCELLED;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t left = (int64_t)(end.tv_sec - now.tv_sec) * 1000000000 + (end.tv_nsec - now.tv_nsec);
        if (ms <= 0 || left <= 0)
            return CL_OK;
        int64_t step = call && left > SLEEP_SLICE_NS ? SLEEP_SLICE_NS : left;
        struct timespec ts = {(time_t)(step / 1000000000), (long)(step % 1000000000)};
        nanosleep(&ts, NULL); /* EINTR: the loop recomputes what is left */
    }
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
    .config_int = api_config_int,
    .config_bool = api_config_bool,
    .sleep = api_sleep,
};

const cl_host_api *cl_host_api_get(void) { return &host_api; }

void cl_host_api_ctx_release(cl_plugin_ctx *ctx)
{
    pthread_mutex_lock(&api_lock);
    for (cl_plugin_cfg *c = atomic_exchange(&ctx->cfg, NULL), *older; c; c = older) {
        older = c->older;
        for (size_t i = 0; i < c->n; i++) {
            free(c->v[i].key);
            free(c->v[i].value);
        }
        free(c);
    }
    free(ctx->temp_dir);
    ctx->temp_dir = NULL;
    pthread_mutex_unlock(&api_lock);
}
