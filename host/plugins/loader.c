/*
 * loader.c — finds plugins, checks their manifests, runs their init and keeps
 * the capabilities they register.
 *
 * Trust: a plugin is code the host runs with its full rights. dlopen()
 * itself runs the library's constructors (and those of its dependencies)
 * before any check below can look at it, so the manifest checks protect
 * against *mistakes* (a plugin built for another ABI or host), not against a
 * hostile file. What keeps hostile files out is the directory: it and every
 * .so in it must be owned by the running user or root and not writable by
 * anyone else (world-writable, or group-writable by a group other than ours
 * or root's); otherwise the directory or the file is refused before dlopen
 * (docs/plugins.md, "Trust boundary").
 *
 * After dlopen the order of checks follows PostgreSQL's magic block: no
 * plugin function runs except cliploop_plugin_entry() until the manifest has
 * been compared field by field with what this host was built with. The magic is
 * checked alone (if it is wrong nothing else in the block can be trusted);
 * then ABI major, ABI minor and manifest_size — the first 12 bytes, frozen
 * forever — are compared together, so a refusal names every field that
 * differs ("ABI major 2, host 1; manifest_size 8, ABI 1.0 needs 56"); only
 * then is the rest of the manifest read.
 *
 * Registration follows OBS and Redis: capabilities can be registered only
 * while the plugin's own init runs, they are copied with the size the plugin
 * was built with into zeroed host storage, and a plugin whose init fails (or
 * any of whose registrations was refused) keeps none of them.
 *
 * Threads: everything here that mutates the registry runs on the main thread
 * before workers start; afterwards the registry is read-only, so lookups need
 * no lock. register_capability called later from a worker only reads
 * `loading`, which is NULL by then.
 */
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "plugins/call.h"
#include "plugins/plugin_ctx.h"
#include "plugins/registry.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMPONENT "plugins"

/* The manifest (unchanged since ABI 1.0) ends after `init`; a smaller manifest_size cannot be one. */
#define MANIFEST_V1_0_SIZE (offsetof(cl_plugin_manifest, init) + sizeof(cl_plugin_init_fn))

static cl_plugin_ctx **plugins; /* every file seen, in load order */
static size_t n_plugins, plugins_alloc;
static cl_plugin_ctx *loading;  /* whose init is running, else NULL */
static pthread_mutex_t late_lock = PTHREAD_MUTEX_INITIALIZER; /* ctx->late_* */

/* ------------------------------------------------------------------------- */
/* Capability kinds                                                          */
/* ------------------------------------------------------------------------- */

typedef struct kind_info {
    int kind;
    const char *name;
    size_t host_size; /* sizeof the struct as this host knows it */
    size_t min_size;  /* everything up to the last required callback */
    struct {
        const char *name;
        size_t offset;
    } required[3];
} kind_info;

#define MOCK_ONLY_REASON "loaded only with MOCK_MODE=true"

#define END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

static const kind_info kinds[] = {
    {CL_CAP_LLM_PROVIDER, "llm_provider", sizeof(cl_llm_provider), END_OF(cl_llm_provider, complete),
     {{"complete", offsetof(cl_llm_provider, complete)}}},
    {CL_CAP_RENDERER, "renderer", sizeof(cl_renderer), END_OF(cl_renderer, render),
     {{"render", offsetof(cl_renderer, render)}}},
    /* publish is required of 1.0 plugins; a 1.1 publisher may leave it NULL
       when it has the step calls instead (checked in cl_plugins_register). */
    {CL_CAP_PUBLISHER, "publisher", sizeof(cl_publisher), END_OF(cl_publisher, publish), {{NULL, 0}}},
    {CL_CAP_BILLING_PROVIDER, "billing_provider", sizeof(cl_billing_provider),
     END_OF(cl_billing_provider, parse_webhook),
     {{"create_checkout", offsetof(cl_billing_provider, create_checkout)},
      {"verify_webhook", offsetof(cl_billing_provider, verify_webhook)},
      {"parse_webhook", offsetof(cl_billing_provider, parse_webhook)}}},
    {CL_CAP_INGESTER, "ingester", sizeof(cl_ingester), END_OF(cl_ingester, ingest),
     {{"ingest", offsetof(cl_ingester, ingest)}}},
    /* ABI 1.4; outbox is optional (a mock's). */
    {CL_CAP_MAILER, "mailer", sizeof(cl_mailer), END_OF(cl_mailer, send), {{"send", offsetof(cl_mailer, send)}}},
    {CL_CAP_STORAGE, "storage", sizeof(cl_storage), END_OF(cl_storage, configured),
     {{"put_file", offsetof(cl_storage, put_file)},
      {"get_file", offsetof(cl_storage, get_file)},
      {"remove", offsetof(cl_storage, remove)}}},
    {CL_CAP_TTS, "tts", sizeof(cl_tts), END_OF(cl_tts, synthesize), {{"synthesize", offsetof(cl_tts, synthesize)}}},
};

static const kind_info *kind_lookup(int kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (kinds[i].kind == kind)
            return &kinds[i];
    return NULL;
}

const char *cl_cap_kind_name(int kind)
{
    const kind_info *k = kind_lookup(kind);
    return k ? k->name : NULL;
}

const char *cl_plugins_status_name(int status)
{
    static const char *names[] = {"CL_OK",         "CL_EINVAL",       "CL_ENOMEM",     "CL_EAUTH",
                                  "CL_ERATELIMIT", "CL_EUPSTREAM",    "CL_ETIMEOUT",   "CL_ECANCELLED",
                                  "CL_EUNSUPPORTED", "CL_EBLOCKED",   "CL_EIO",        "CL_EMALFORMED",
                                  "CL_ETOOLARGE"};
    if (status <= 0 && -status < (int)(sizeof names / sizeof *names))
        return names[-status];
    return "unknown status";
}

/* ------------------------------------------------------------------------- */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------- */

/* A copy of a string from the plugin, bounded, with control characters
   replaced so that a log line stays one line. Caller frees; NULL on NULL. */
static char *copy_clean(const char *s, size_t max)
{
    if (!s)
        return NULL;
    size_t n = strnlen(s, max);
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++)
        d[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
    d[n] = '\0';
    return d;
}

static int is_ident(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        if (n >= max)
            return 0;
        if (!(islower((unsigned char)s[n]) || isdigit((unsigned char)s[n]) || s[n] == '_'))
            return 0;
    }
    return n > 0;
}

/* Append a formatted piece to a fixed buffer, "; "-separated. */
static void add_reason(char *buf, size_t len, const char *fmt, ...) CL_PRINTF(3, 4);
static void add_reason(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used && used + 2 < len) {
        memcpy(buf + used, "; ", 3);
        used += 2;
    }
    if (used >= len - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

void *cl_plugins_copy_sized(const void *src, size_t size, size_t host_size)
{
    void *dst = calloc(1, host_size ? host_size : 1);
    if (dst && src)
        memcpy(dst, src, size < host_size ? size : host_size);
    return dst;
}

/* The host's copy of a registered capability lives in a slot that also holds
   the lock CL_CAP_SERIALIZED promises (taken by cl_cap_enter). */
typedef struct cap_slot {
    pthread_mutex_t lock;
    alignas(max_align_t) unsigned char cap[];
} cap_slot;

static cap_slot *slot_of(const cl_capability *cap)
{
    return (cap_slot *)(void *)((char *)(uintptr_t)cap - offsetof(cap_slot, cap));
}

/* A zeroed slot holding min(size, host_size) bytes of src; NULL when out of memory. */
static cl_capability *slot_copy(const cl_capability *src, size_t size, size_t host_size)
{
    cap_slot *s = calloc(1, sizeof *s + host_size);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->lock, NULL);
    memcpy(s->cap, src, size < host_size ? size : host_size);
    return (cl_capability *)(void *)s->cap;
}

static void slot_free(cl_capability *cap)
{
    if (!cap)
        return;
    cap_slot *s = slot_of(cap);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void cl_cap_enter(const cl_capability *cap, cl_error *err)
{
    if (err)
        *err = (cl_error)CL_ERROR_INIT;
    if (cap->flags & CL_CAP_SERIALIZED)
        pthread_mutex_lock(&slot_of(cap)->lock);
}

int cl_cap_leave(const cl_capability *cap, cl_error *err, int rc)
{
    if (cap->flags & CL_CAP_SERIALIZED)
        pthread_mutex_unlock(&slot_of(cap)->lock);
    if (!err)
        return rc;
    err->message[sizeof err->message - 1] = '\0';
    err->code = rc;
    if (rc != CL_OK && !err->message[0])
        snprintf(err->message, sizeof err->message, "%s '%s' failed with %s and gave no reason",
                 cl_cap_kind_name(cap->kind) ? cl_cap_kind_name(cap->kind) : "capability", cap->id,
                 cl_plugins_status_name(rc));
    return rc;
}

static void free_caps(cl_plugin_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_caps; i++)
        slot_free(ctx->caps[i]);
    free(ctx->caps);
    ctx->caps = NULL;
    ctx->n_caps = ctx->cap_alloc = 0;
}

static void ctx_free(cl_plugin_ctx *ctx)
{
    if (!ctx)
        return;
    free_caps(ctx);
    cl_host_api_ctx_release(ctx);
    if (ctx->handle)
        dlclose(ctx->handle);
    free(ctx->path);
    free(ctx->file);
    free(ctx->name);
    free(ctx->version);
    free(ctx->config_prefix);
    free(ctx->reason);
    free(ctx);
}

/* ------------------------------------------------------------------------- */
/* Registration                                                              */
/* ------------------------------------------------------------------------- */

static const cl_capability *find_in(const cl_plugin_ctx *ctx, int kind, const char *id)
{
    for (size_t j = 0; j < ctx->n_caps; j++)
        if (ctx->caps[j]->kind == kind && strcmp(ctx->caps[j]->id, id) == 0)
            return ctx->caps[j];
    return NULL;
}

const cl_capability *cl_plugins_find(int kind, const char *id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < n_plugins; i++) {
        if (!plugins[i]->loaded)
            continue;
        const cl_capability *c = find_in(plugins[i], kind, id);
        if (c)
            return c;
    }
    return NULL;
}

/* Record the first registration failure of the running init; log it. */
static int reg_fail(cl_plugin_ctx *ctx, int code, const char *fmt, ...) CL_PRINTF(3, 4);
static int reg_fail(cl_plugin_ctx *ctx, int code, const char *fmt, ...)
{
    char msg[sizeof ctx->reg_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!ctx->reg_error[0])
        memcpy(ctx->reg_error, msg, sizeof msg);
    /* debug only: the plugin's refusal line repeats this reason */
    cl_debug(COMPONENT, "plugin '%s': register_capability refused: %s", ctx->name, msg);
    return code;
}

int cl_plugins_register(cl_plugin_ctx *ctx, const cl_capability *cap, size_t size)
{
    if (!ctx || ctx != loading) {
        /* The plugin is already loaded (or refused) and may be running on
           any thread: the refusal is logged and kept on its own record (under
           late_lock), so `cliploop plugins` lists it under that plugin. */
        char msg[sizeof ctx->late_error];
        snprintf(msg, sizeof msg, "register_capability called after init returned (capability '%s'); refused",
                 cap && size >= sizeof(cl_capability) && cap->id ? cap->id : "?");
        cl_log(CL_LOG_ERROR, COMPONENT, "plugin '%s': %s", ctx && ctx->name ? ctx->name : "?", msg);
        if (ctx) {
            pthread_mutex_lock(&late_lock);
            if (!ctx->late_count++)
                memcpy(ctx->late_error, msg, sizeof msg);
            pthread_mutex_unlock(&late_lock);
        }
        return CL_EINVAL;
    }
    if (!cap)
        return reg_fail(ctx, CL_EINVAL, "capability is NULL");
    if (size < sizeof(cl_capability))
        return reg_fail(ctx, CL_EINVAL, "capability size %zu is smaller than the capability header (%zu)",
                        size, sizeof(cl_capability));
    const kind_info *k = kind_lookup(cap->kind);
    if (!k)
        return reg_fail(ctx, CL_EUNSUPPORTED, "capability '%s': unknown kind %d",
                        cap->id ? cap->id : "?", cap->kind);
    if (!cap->id || !cap->id[0])
        return reg_fail(ctx, CL_EINVAL, "%s capability has no id", k->name);
    if (!is_ident(cap->id, 63))
        return reg_fail(ctx, CL_EINVAL, "%s id '%.64s' is not [a-z0-9_]{1,63}", k->name, cap->id);
    if (size < k->min_size)
        return reg_fail(ctx, CL_EINVAL, "%s '%s': size %zu is smaller than the %s minimum %zu",
                        k->name, cap->id, size, k->name, k->min_size);

    cl_capability *copy = slot_copy(cap, size, k->host_size);
    if (!copy)
        return reg_fail(ctx, CL_ENOMEM, "out of memory");
    /* base.size now says how much of the struct is the plugin's: fields past
       it are zero and must be treated as absent. */
    copy->size = size < k->host_size ? size : k->host_size;
    for (size_t r = 0; r < sizeof k->required / sizeof *k->required && k->required[r].name; r++) {
        void *fn;
        memcpy(&fn, (char *)copy + k->required[r].offset, sizeof fn);
        if (!fn) {
            slot_free(copy);
            return reg_fail(ctx, CL_EINVAL, "%s '%s': required callback '%s' is NULL", k->name,
                            cap->id, k->required[r].name);
        }
    }
    if (k->kind == CL_CAP_PUBLISHER) {
        const cl_publisher *p = (const cl_publisher *)copy;
        int steps = p->create_container && p->container_status && p->publish_container;
        if (!p->publish && !steps) {
            slot_free(copy);
            return reg_fail(ctx, CL_EINVAL,
                            "publisher '%s': needs 'publish' or the steps 'create_container', "
                            "'container_status' and 'publish_container'",
                            cap->id);
        }
    }
    if ((copy->flags & CL_CAP_MOCK) && !cl_cfg.mock_mode) {
        slot_free(copy);
        return reg_fail(ctx, CL_EUNSUPPORTED, "%s '%s' is a mock and is " MOCK_ONLY_REASON,
                        k->name, cap->id);
    }
    if (!copy->description)
        copy->description = "";

    const cl_plugin_ctx *owner = find_in(ctx, cap->kind, cap->id) ? ctx : NULL;
    for (size_t i = 0; !owner && i < n_plugins; i++)
        if (plugins[i]->loaded && find_in(plugins[i], cap->kind, cap->id))
            owner = plugins[i];
    if (owner) {
        slot_free(copy);
        return reg_fail(ctx, CL_EINVAL, "duplicate %s id '%s' (already registered by plugin '%s')",
                        k->name, cap->id, owner->name);
    }

    cl_capability **nc = cl_array_room(ctx->caps, &ctx->cap_alloc, ctx->n_caps, sizeof *nc, 4);
    if (!nc) {
        slot_free(copy);
        return reg_fail(ctx, CL_ENOMEM, "out of memory");
    }
    ctx->caps = nc;
    ctx->caps[ctx->n_caps++] = copy;
    return CL_OK;
}

/* ------------------------------------------------------------------------- */
/* Loading                                                                   */
/* ------------------------------------------------------------------------- */

static int push(cl_plugin_ctx *ctx)
{
    cl_plugin_ctx **np = cl_array_room(plugins, &plugins_alloc, n_plugins, sizeof *np, 8);
    if (!np)
        return -1;
    plugins = np;
    plugins[n_plugins++] = ctx;
    return 0;
}

/* Mark ctx refused: one log line, caps dropped, handle closed unless init ran. */
static void refuse(cl_plugin_ctx *ctx, const char *fmt, ...) CL_PRINTF(2, 3);
static void refuse(cl_plugin_ctx *ctx, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctx->loaded = 0;
    free(ctx->reason);
    ctx->reason = copy_clean(msg, sizeof msg);
    free_caps(ctx);
    if (ctx->handle && !ctx->init_ran) {
        dlclose(ctx->handle);
        ctx->handle = NULL;
    }
    /* A mock plugin outside mock mode is refused by design, not an error. */
    int expected = strstr(msg, MOCK_ONLY_REASON) != NULL;
    cl_log(expected ? CL_LOG_INFO : CL_LOG_ERROR, COMPONENT, "refused %s: %s", ctx->path ? ctx->path : "?",
           ctx->reason ? ctx->reason : msg);
}

/* Compare the manifest with this host. Returns 0, or -1 after refuse(). */
/* Said after a refusal that a hand-written manifest causes. */
#define USE_MANIFEST_INIT " (build the manifest with CL_MANIFEST_INIT, which fills these fields)"

static int check_manifest(cl_plugin_ctx *ctx, const cl_plugin_manifest *m)
{
    if (m->magic != CL_PLUGIN_MAGIC) {
        refuse(ctx, "wrong magic 0x%08x, host 0x%08x (not a ClipLoop plugin manifest)",
               (unsigned)m->magic, (unsigned)CL_PLUGIN_MAGIC);
        return -1;
    }
    ctx->abi_major = m->abi_major;
    ctx->abi_minor = m->abi_minor;
    char why[768] = "";
    if (m->abi_major != CL_ABI_MAJOR)
        add_reason(why, sizeof why, "ABI major %u, host %d", (unsigned)m->abi_major, CL_ABI_MAJOR);
    else if (m->abi_minor > CL_ABI_MINOR)
        add_reason(why, sizeof why, "ABI minor %u is newer than the host's %d (built for %u.%u, host %d.%d)",
                   (unsigned)m->abi_minor, CL_ABI_MINOR, (unsigned)m->abi_major,
                   (unsigned)m->abi_minor, CL_ABI_MAJOR, CL_ABI_MINOR);
    int hand_written = m->manifest_size < MANIFEST_V1_0_SIZE;
    if (hand_written)
        add_reason(why, sizeof why, "manifest_size %u, the manifest needs at least %zu",
                   (unsigned)m->manifest_size, (size_t)MANIFEST_V1_0_SIZE);
    if (why[0]) {
        refuse(ctx, "%s%s", why, hand_written ? USE_MANIFEST_INIT : "");
        return -1;
    }
    if (!m->fingerprint || strcmp(m->fingerprint, CL_BUILD_FINGERPRINT) != 0) {
        char *fp = copy_clean(m->fingerprint, 200);
        refuse(ctx, "fingerprint '%s', host '%s'%s", fp ? fp : "(null)", CL_BUILD_FINGERPRINT,
               m->fingerprint ? "" : USE_MANIFEST_INIT);
        free(fp);
        return -1;
    }
    if (!m->name || !m->name[0])
        add_reason(why, sizeof why, "manifest has no name");
    else if (!is_ident(m->name, 63))
        add_reason(why, sizeof why, "name '%.64s' is not [a-z0-9_]{1,63}", m->name);
    if (!m->init)
        add_reason(why, sizeof why, "manifest has no init function");
    if (why[0]) {
        refuse(ctx, "%s%s", why, !m->init || !m->name ? USE_MANIFEST_INIT : "");
        return -1;
    }
    return 0;
}

/* Why st (of a plugin directory or file) may not be trusted, or NULL:
   another owner than us or root, or writable by someone else. */
static const char *untrusted(const struct stat *st, char *why, size_t len)
{
    if (st->st_uid != geteuid() && st->st_uid != 0) {
        snprintf(why, len, "owned by uid %u, not by the running user (uid %u) or root", (unsigned)st->st_uid,
                 (unsigned)geteuid());
        return why;
    }
    if (st->st_mode & S_IWOTH) {
        snprintf(why, len, "writable by others (mode %04o)", (unsigned)(st->st_mode & 07777));
        return why;
    }
    if ((st->st_mode & S_IWGRP) && st->st_gid != getegid() && st->st_gid != 0) {
        snprintf(why, len, "writable by group %u (mode %04o)", (unsigned)st->st_gid, (unsigned)(st->st_mode & 07777));
        return why;
    }
    return NULL;
}

static void load_one(const char *dir, const char *file)
{
    const cl_host_api *api = cl_host_api_get();
    cl_plugin_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx || push(ctx) != 0) {
        free(ctx);
        cl_log(CL_LOG_ERROR, COMPONENT, "out of memory loading %s/%s", dir, file);
        return;
    }
    ctx->abi_major = ctx->abi_minor = -1;
    ctx->file = strdup(file);
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    size_t pl = dl + strlen(file) + 2;
    ctx->path = malloc(pl);
    if (!ctx->file || !ctx->path) {
        ctx->path = ctx->path ? ctx->path : strdup(file);
        refuse(ctx, "out of memory");
        return;
    }
    snprintf(ctx->path, pl, "%.*s/%s", (int)dl, dir, file);

    /* Before dlopen: its constructors would run with our rights. */
    struct stat st;
    char why[160];
    if (stat(ctx->path, &st) != 0) {
        refuse(ctx, "cannot stat: %s", strerror(errno));
        return;
    }
    if (untrusted(&st, why, sizeof why)) {
        refuse(ctx, "not loaded: the file is %s", why);
        return;
    }

    dlerror();
    ctx->handle = dlopen(ctx->path, RTLD_NOW | RTLD_LOCAL);
    if (!ctx->handle) {
        const char *e = dlerror();
        refuse(ctx, "dlopen failed: %s", e ? e : "unknown error");
        return;
    }
    cl_plugin_entry_fn entry;
    void *sym = dlsym(ctx->handle, CL_PLUGIN_ENTRY_SYMBOL);
    memcpy(&entry, &sym, sizeof entry);
    if (!entry) {
        refuse(ctx, "no entry symbol %s() exported (build with CL_PLUGIN_DEFINE)", CL_PLUGIN_ENTRY_SYMBOL);
        return;
    }
    const cl_plugin_manifest *m = entry();
    if (!m) {
        refuse(ctx, "%s() returned NULL", CL_PLUGIN_ENTRY_SYMBOL);
        return;
    }
    if (check_manifest(ctx, m) != 0)
        return;

    ctx->name = copy_clean(m->name, 64);
    ctx->version = copy_clean(m->version ? m->version : "", 64);
    ctx->config_prefix = copy_clean(m->config_prefix, 64);
    if (!ctx->name || !ctx->version || (m->config_prefix && !ctx->config_prefix)) {
        refuse(ctx, "out of memory");
        return;
    }
    for (size_t i = 0; i + 1 < n_plugins; i++)
        if (plugins[i]->loaded && strcmp(plugins[i]->name, ctx->name) == 0) {
            refuse(ctx, "duplicate plugin name '%s' (already loaded from %s)", ctx->name,
                   plugins[i]->file);
            return;
        }

    if (cl_host_api_ctx_snapshot(ctx) != 0) {
        refuse(ctx, "out of memory");
        return;
    }
    cl_error err;
    memset(&err, 0, sizeof err);
    loading = ctx;
    ctx->init_ran = 1;
    int rc = m->init(api, ctx, &err);
    loading = NULL;
    err.message[sizeof err.message - 1] = '\0';
    /* A refused registration is the root cause even when init then fails
       because of it, so it leads the reason. */
    if (ctx->reg_error[0] && rc != CL_OK) {
        refuse(ctx, "%s (init then failed with %s (%d)%s%s)", ctx->reg_error,
               cl_plugins_status_name(rc), rc, err.message[0] ? ": " : "", err.message);
        return;
    }
    if (ctx->reg_error[0]) {
        refuse(ctx, "%s", ctx->reg_error);
        return;
    }
    if (rc != CL_OK) {
        refuse(ctx, "init failed with %s (%d): %s", cl_plugins_status_name(rc), rc,
               err.message[0] ? err.message : "(no message)");
        return;
    }
    ctx->loaded = 1;
    cl_log(ctx->n_caps ? CL_LOG_INFO : CL_LOG_WARN, COMPONENT, "loaded %s %s (ABI %d.%d) from %s: %zu capabilit%s%s",
           ctx->name, ctx->version, ctx->abi_major, ctx->abi_minor, ctx->path, ctx->n_caps,
           ctx->n_caps == 1 ? "y" : "ies", ctx->n_caps ? "" : " (init registered nothing: the plugin does nothing)");
}

/* *.so, not hidden */
static int is_plugin_file(const struct dirent *de)
{
    size_t len = strlen(de->d_name);
    return len > 3 && strcmp(de->d_name + len - 3, ".so") == 0 && de->d_name[0] != '.';
}

int cl_plugins_load_dir(const char *dir)
{
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        cl_log(CL_LOG_ERROR, COMPONENT, "cannot read plugin directory %s: %s", dir ? dir : "(null)",
               strerror(dir ? errno : EINVAL));
        return -1;
    }
    /* Someone who can write the directory can put code in it. */
    struct stat dst;
    char why[160];
    const char *bad = fstat(dirfd(d), &dst) != 0 ? strerror(errno) : untrusted(&dst, why, sizeof why);
    if (bad) {
        cl_log(CL_LOG_ERROR, COMPONENT, "refused plugin directory %s: %s; no plugin loaded from it", dir, bad);
        closedir(d);
        return -1;
    }
    closedir(d);
    struct dirent **names;
    int n = scandir(dir, &names, is_plugin_file, alphasort);
    if (n < 0) {
        cl_log(CL_LOG_ERROR, COMPONENT, "cannot list %s: %s", dir, strerror(errno));
        return -1;
    }
    size_t first = n_plugins;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode))
            load_one(dir, names[i]->d_name);
        free(names[i]);
    }
    free(names);
    int loaded = 0;
    for (size_t i = first; i < n_plugins; i++)
        loaded += plugins[i]->loaded;
    return loaded;
}

/* ------------------------------------------------------------------------- */
/* Selection, listing, reset                                                 */
/* ------------------------------------------------------------------------- */

/* "a, b, c" of the loaded ids of one kind, or "none". */
static void list_ids(int kind, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i < n_plugins; i++) {
        if (!plugins[i]->loaded)
            continue;
        for (size_t j = 0; j < plugins[i]->n_caps; j++)
            if (plugins[i]->caps[j]->kind == kind)
                add_reason(out, len, "%s", plugins[i]->caps[j]->id);
    }
    /* add_reason separates with "; ", a list reads better with ", " */
    for (char *p = out; (p = strstr(p, "; ")) != NULL;)
        *p = ',';
    if (!out[0])
        snprintf(out, len, "none");
}

/* 0 when `want` (the value of `var`) names a loaded capability of `kind`,
   else -1 with a message listing the ones that are loaded. */
static int check_selected(int kind, const char *var, const char *want, char *err, size_t errlen)
{
    if (cl_plugins_find(kind, want))
        return 0;
    char ids[400];
    list_ids(kind, ids, sizeof ids);
    snprintf(err, errlen, "%s=%s: no loaded plugin provides a%s %s named '%s' (available: %s)", var, want,
             kind == CL_CAP_LLM_PROVIDER ? "n" : "", cl_cap_kind_name(kind), want, ids);
    return -1;
}

int cl_plugins_check_selection(char *err, size_t errlen)
{
    if (!cl_cfg.llm_provider[0]) {
        snprintf(err, errlen, "LLM_PROVIDER is empty: set it to the id of a loaded llm_provider");
        return -1;
    }
    /* RENDERER (default ffmpeg) is checked like LLM_PROVIDER, so a typo stops
       the start rather than failing every render job. BILLING_PROVIDER=none
       (the default) turns billing off; any other value must name a loaded one. */
    const char *bill = cl_cfg.billing_provider;
    if (check_selected(CL_CAP_LLM_PROVIDER, "LLM_PROVIDER", cl_cfg.llm_provider, err, errlen) ||
        check_selected(CL_CAP_RENDERER, "RENDERER", cl_cfg.renderer[0] ? cl_cfg.renderer : "ffmpeg", err,
                       errlen) ||
        (bill[0] && strcmp(bill, "none") != 0 &&
         check_selected(CL_CAP_BILLING_PROVIDER, "BILLING_PROVIDER", bill, err, errlen)))
        return -1;
    /* MAIL_PROVIDER: "none" turns account mail off (only when it was chosen:
       the default is "mock" in MOCK_MODE, else none); any other value must
       name a loaded mailer — never a silent switch to another one. */
    const char *mail = cl_cfg.mail_provider;
    if (strcmp(mail, "none") != 0 && !cl_plugins_find(CL_CAP_MAILER, mail)) {
        char ids[400];
        list_ids(CL_CAP_MAILER, ids, sizeof ids);
        snprintf(err, errlen, "MAIL_PROVIDER=%s: no loaded plugin provides a mailer named '%s' (available: %s)%s",
                 mail, mail, ids,
                 strcmp(mail, "mock") == 0 && !cl_cfg.mock_mode ? "; the mock mailer loads only with MOCK_MODE=true"
                                                                : "");
        return -1;
    }
    const cl_mailer *mailer = strcmp(mail, "none") != 0 ? (const cl_mailer *)cl_plugins_find(CL_CAP_MAILER, mail) : NULL;
    char missing[256] = "";
    if (mailer && mailer->configured && !CL_CAP_CALL(mailer, NULL, configured, missing, sizeof missing)) {
        snprintf(err, errlen, "MAIL_PROVIDER=%s: the mailer is not configured (missing or invalid %s)", mail, missing);
        return -1;
    }
    /* STORAGE (set to "local" by default) must name a loaded storage backend
       that has every setting it needs; never a fallback to another one. */
    const char *st = cl_cfg.storage;
    if (st[0]) {
        const cl_storage *s = (const cl_storage *)cl_plugins_find(CL_CAP_STORAGE, st);
        char smissing[300] = "";
        if (!s) {
            char ids[400];
            list_ids(CL_CAP_STORAGE, ids, sizeof ids);
            snprintf(err, errlen, "STORAGE=%s: no loaded plugin provides a storage backend named '%s' (available: %s)",
                     st, st, ids);
            return -1;
        }
        if (s->configured && !CL_CAP_CALL(s, NULL, configured, smissing, sizeof smissing)) {
            snprintf(err, errlen, "STORAGE=%s: the backend is not configured; set %s", st,
                     smissing[0] ? smissing : "its settings");
            return -1;
        }
    }
    /* TTS_PROVIDER (default espeak): "none" turns the voiceover off; any other
       value must name a loaded tts engine that says it is configured. */
    const char *tts = cl_cfg.tts_provider;
    if (tts[0] && strcmp(tts, "none") != 0) {
        const cl_tts *t = (const cl_tts *)cl_plugins_find(CL_CAP_TTS, tts);
        char tmissing[300] = "";
        if (!t) {
            char ids[400];
            list_ids(CL_CAP_TTS, ids, sizeof ids);
            snprintf(err, errlen, "TTS_PROVIDER=%s: no loaded plugin provides a tts engine named '%s' (available: %s)",
                     tts, tts, ids);
            return -1;
        }
        if (t->configured && !CL_CAP_CALL(t, NULL, configured, tmissing, sizeof tmissing)) {
            snprintf(err, errlen, "TTS_PROVIDER=%s: the engine is not configured; set %s", tts,
                     tmissing[0] ? tmissing : "its settings");
            return -1;
        }
    }
    return 0;
}

int cl_plugins_load_configured(const char *comp, char *err, size_t errlen)
{
    /* An unreadable directory is a warning; a configured selection that
       names no loaded plugin is a configuration error. */
    if (cl_plugins_load_dir(cl_cfg.plugin_dir) < 0)
        cl_warn(comp, "cannot read the plugin directory %s (CLIPLOOP_PLUGIN_DIR)", cl_cfg.plugin_dir);
    return cl_plugins_check_selection(err, errlen) != 0 ? -1 : 0;
}

size_t cl_plugins_count(void) { return n_plugins; }

int cl_plugins_info_at(size_t i, cl_plugin_info *out)
{
    if (i >= n_plugins || !out)
        return -1;
    const cl_plugin_ctx *c = plugins[i];
    out->file = c->file;
    out->path = c->path;
    out->name = c->name;
    out->version = c->version;
    out->abi_major = c->abi_major;
    out->abi_minor = c->abi_minor;
    out->loaded = c->loaded;
    out->reason = c->loaded ? NULL : c->reason;
    out->n_caps = c->loaded ? c->n_caps : 0;
    pthread_mutex_lock(&late_lock);
    out->late_count = c->late_count;
    memcpy(out->late_error, c->late_error, sizeof out->late_error);
    pthread_mutex_unlock(&late_lock);
    return 0;
}

const cl_capability *cl_plugins_cap_at(size_t i, size_t j)
{
    if (i >= n_plugins || !plugins[i]->loaded || j >= plugins[i]->n_caps)
        return NULL;
    return plugins[i]->caps[j];
}

void cl_plugins_config_refresh_for_tests(void)
{
    for (size_t i = 0; i < n_plugins; i++)
        if (plugins[i]->init_ran)
            cl_host_api_ctx_snapshot(plugins[i]);
}

void cl_plugins_reset_for_tests(void)
{
    /* Forget in reverse order of loading. A plugin whose init ran stays
       mapped, as in production: unloading it would unmap static data that
       still points at what its init allocated (libraries it initialized,
       caches), which LeakSanitizer then reports as leaks. Loading the same
       file again reuses the mapping and runs init afresh. */
    for (size_t i = n_plugins; i-- > 0;) {
        if (plugins[i]->loaded)
            plugins[i]->handle = NULL;
        ctx_free(plugins[i]);
    }
    free(plugins);
    plugins = NULL;
    n_plugins = plugins_alloc = 0;
    loading = NULL;
}
