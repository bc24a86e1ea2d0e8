/*
 * redirect.c — GET /r/<slug>: the slug cache, the per-thread click queues,
 * the batch writer and the cache-invalidation listener.
 *
 * Hot path (event-loop thread, never blocks on Postgres):
 *   slug cache hit → build the Location (prefix + click id + fragment) under
 *   the cache mutex → queue the click on this thread's queue → 302.
 * Miss: cl_res_defer to a pool thread, which looks the slug up, fills the
 * cache (unless an invalidation happened meanwhile) and answers the same way.
 *
 * Clicks: each thread that answers redirects owns one bounded queue (a
 * linked list under its own mutex, so the loop never contends with another
 * loop). The writer thread wakes every CLIPLOOP_TRACKING_FLUSH_MS, takes
 * every queue's list, classifies user agents with scripts/tracking/bots.lua
 * and stores the clicks with one COPY per batch of at most
 * CLIPLOOP_TRACKING_BATCH_MAX, each its own transaction that first locks the
 * batch's items (FOR KEY SHARE) so clicks of a deleted item are skipped. A
 * batch retried after a failure (which may have committed) goes through a
 * multi-row INSERT … ON CONFLICT (click_id) DO NOTHING instead, so it never
 * doubles. While
 * a batch cannot be written (database down) the writer keeps it and retries;
 * the queues fill up to CLIPLOOP_TRACKING_QUEUE_MAX and further clicks are
 * dropped (counted, logged, in /healthz) — the redirect still answers.
 *
 * Invalidation: a LISTEN connection hears 'slug:<slug>' / 'project:<id>'
 * (triggers in migration 0009) from every host; this host's own routes also
 * invalidate directly before they answer. After the listener reconnects it
 * clears the cache (notifications may have been missed). A generation
 * counter keeps a lookup that raced an invalidation out of the cache.
 */
#include "tracking/tracking.h"
#include "tracking/tracking_internal.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "http/http.h"
#include "lua/lua_runtime.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COMP "tracking"
#define UA_MAX 512
#define REFERER_MAX 1024

/* ---- settings ------------------------------------------------------------ */

static struct {
    int queue_max;       /* clicks per thread queue */
    int flush_ms;        /* batch window */
    int batch_max;       /* rows per INSERT */
    int cache_max;       /* slug cache entries */
    int stop_timeout_ms; /* how long stop retries a failing database */
    char public_base[512];
} S = {200000, 100, 2000, 100000, 5000, ""};

int cl_tracking_env_int(const char *name, long def, long min, long max, int *out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    long n = def;
    if (v && *v && cl_config_parse_int(name, v, min, max, &n, err, errlen))
        return -1;
    *out = (int)n;
    return 0;
}

int cl_tracking_configure(char *err, size_t errlen)
{
    if (cl_tracking_env_int("CLIPLOOP_TRACKING_QUEUE_MAX", 200000, 1, 10000000, &S.queue_max, err, errlen) ||
        cl_tracking_env_int("CLIPLOOP_TRACKING_FLUSH_MS", 100, 1, 3600000, &S.flush_ms, err, errlen) ||
        cl_tracking_env_int("CLIPLOOP_TRACKING_BATCH_MAX", 2000, 1, 4096, &S.batch_max, err, errlen) ||
        cl_tracking_env_int("CLIPLOOP_TRACKING_CACHE_MAX", 100000, 1, 100000000, &S.cache_max, err, errlen) ||
        cl_tracking_env_int("CLIPLOOP_TRACKING_STOP_TIMEOUT_MS", 5000, 0, 600000, &S.stop_timeout_ms, err,
                            errlen) ||
        cl_tracking_events_configure(err, errlen))
        return -1;
    /* PUBLIC_BASE_URL is validated (and its trailing '/' dropped) by the
       configuration; unset, links point at this server's own address. */
    if (cl_cfg.public_base_url[0]) {
        snprintf(S.public_base, sizeof S.public_base, "%s", cl_cfg.public_base_url);
    } else {
        const char *h = strcmp(cl_cfg.host, "0.0.0.0") == 0 || strcmp(cl_cfg.host, "::") == 0 ? "127.0.0.1"
                                                                                                : cl_cfg.host;
        snprintf(S.public_base, sizeof S.public_base, strchr(h, ':') ? "http://[%s]:%d" : "http://%s:%d", h,
                 cl_cfg.port);
    }
    return 0;
}

int cl_tracking_public_url(const char *slug, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/r/%s", S.public_base, slug);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int cl_tracking_item_url(PGconn *c, int64_t item_id, char *out, size_t outlen)
{
    char id[24];
    const char *p[] = {cl_db_id(id, item_id)};
    PGresult *r = cl_db_query(c, "SELECT tracking_slug FROM content_items WHERE id = $1", 1, p);
    int rc = !cl_db_ok(r) ? -1 : PQntuples(r) == 0 ? 0 : 1;
    if (rc == 1 && cl_tracking_public_url(PQgetvalue(r, 0, 0), out, outlen) != 0)
        rc = -1;
    PQclear(r);
    return rc;
}

int cl_tracking_valid_slug(const char *s)
{
    size_t n = 0;
    if (!s)
        return 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z')))
            return 0;
    return n >= 8 && n <= 32;
}

/* ---- Location ---------------------------------------------------------------- */

/* 1 when the query string q (without '?') has parameter key. */
static int query_has(const char *q, size_t qlen, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < qlen;) {
        size_t seg = 0;
        while (i + seg < qlen && q[i + seg] != '&')
            seg++;
        if (seg >= kl && memcmp(q + i, key, kl) == 0 && (seg == kl || q[i + kl] == '='))
            return 1;
        i += seg + 1;
    }
    return 0;
}

/* Append dest[0..n) with spaces and control characters percent-encoded. */
static int put_url(cl_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        int rc = ch <= 0x20 || ch == 0x7f ? cl_buf_printf(b, "%%%02X", ch) : cl_buf_append(b, s + i, 1);
        if (rc)
            return -1;
    }
    return 0;
}

/* prefix = destination (no fragment) + separator + our parameters up to
   "clp_click="; *frag = "#..." or "". Both malloc'd. 0 or -1. */
static int build_prefix(const char *dest, const char *slug, int64_t item_id, char **prefix, char **frag)
{
    const char *hash = strchr(dest, '#');
    size_t blen = hash ? (size_t)(hash - dest) : strlen(dest);
    const char *qm = memchr(dest, '?', blen);
    const char *q = qm ? qm + 1 : "";
    size_t qlen = qm ? blen - (size_t)(q - dest) : 0;
    cl_buf b = CL_BUF_INIT, f = CL_BUF_INIT;
    int rc = put_url(&b, dest, blen);
    char last = blen ? dest[blen - 1] : '\0';
    if (!rc && (!qm || (last != '?' && last != '&')))
        rc = cl_buf_puts(&b, qm ? "&" : "?");
    if (!rc && !query_has(q, qlen, "utm_source"))
        rc = cl_buf_puts(&b, "utm_source=cliploop&");
    if (!rc && !query_has(q, qlen, "utm_medium"))
        rc = cl_buf_puts(&b, "utm_medium=short_form&");
    if (!rc && !query_has(q, qlen, "utm_campaign"))
        rc = cl_buf_printf(&b, "utm_campaign=%s&", slug);
    if (!rc)
        rc = cl_buf_printf(&b, "clp_post=%" PRId64 "&clp_click=", item_id);
    if (!rc)
        rc = hash ? put_url(&f, hash, strlen(hash)) : cl_buf_puts(&f, "");
    if (rc) {
        cl_buf_free(&b);
        cl_buf_free(&f);
        return -1;
    }
    *prefix = cl_buf_steal(&b);
    *frag = cl_buf_steal(&f);
    return 0;
}

char *cl_tracking_location(const char *dest, const char *slug, int64_t item_id, const char *click_id)
{
    char *prefix, *frag;
    if (build_prefix(dest, slug, item_id, &prefix, &frag) != 0)
        return NULL;
    cl_buf b = CL_BUF_INIT;
    int rc = cl_buf_printf(&b, "%s%s%s", prefix, click_id, frag);
    free(prefix);
    free(frag);
    if (rc) {
        cl_buf_free(&b);
        return NULL;
    }
    return cl_buf_steal(&b);
}

/* ---- slug cache -------------------------------------------------------------- */

typedef struct centry {
    struct centry *hnext;       /* bucket chain */
    struct centry *prev, *next; /* LRU list, most recently used first */
    uint32_t hash;
    char slug[33];
    int64_t item_id, project_id;
    char *prefix; /* NULL: the item has no destination */
    char *frag;
} centry;

static struct {
    pthread_mutex_t mu;
    centry **buckets;
    size_t nbuckets, count;
    centry *head, *tail;
    atomic_uint_fast64_t gen; /* bumped by every invalidation */
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint32_t slug_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void centry_free(centry *e)
{
    if (!e)
        return;
    free(e->prefix);
    free(e->frag);
    free(e);
}

/* Under cache.mu. */
static void lru_unlink(centry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        cache.head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        cache.tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(centry *e)
{
    e->prev = NULL;
    e->next = cache.head;
    if (cache.head)
        cache.head->prev = e;
    cache.head = e;
    if (!cache.tail)
        cache.tail = e;
}

static void cache_remove_locked(centry *e)
{
    centry **pp = &cache.buckets[e->hash & (cache.nbuckets - 1)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    lru_unlink(e);
    cache.count--;
    centry_free(e);
}

static centry *cache_find_locked(const char *slug, uint32_t h)
{
    if (!cache.buckets)
        return NULL;
    for (centry *e = cache.buckets[h & (cache.nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && strcmp(e->slug, slug) == 0)
            return e;
    return NULL;
}

/* Take ownership of e; drop it when an invalidation happened since gen. */
static void cache_insert(centry *e, uint64_t gen)
{
    pthread_mutex_lock(&cache.mu);
    if (!cache.buckets) {
        size_t n = 64;
        while (n < (size_t)S.cache_max && n < ((size_t)1 << 24))
            n <<= 1;
        cache.buckets = calloc(n, sizeof *cache.buckets);
        cache.nbuckets = cache.buckets ? n : 0;
    }
    if (!cache.buckets || atomic_load(&cache.gen) != gen) {
        pthread_mutex_unlock(&cache.mu);
        centry_free(e);
        return;
    }
    centry *old = cache_find_locked(e->slug, e->hash);
    if (old)
        cache_remove_locked(old);
    while (cache.count >= (size_t)S.cache_max && cache.tail)
        cache_remove_locked(cache.tail);
    size_t b = e->hash & (cache.nbuckets - 1);
    e->hnext = cache.buckets[b];
    cache.buckets[b] = e;
    lru_push_front(e);
    cache.count++;
    pthread_mutex_unlock(&cache.mu);
}

void cl_tracking_invalidate_slug(const char *slug)
{
    pthread_mutex_lock(&cache.mu);
    atomic_fetch_add(&cache.gen, 1);
    centry *e = cache_find_locked(slug, slug_hash(slug));
    if (e)
        cache_remove_locked(e);
    pthread_mutex_unlock(&cache.mu);
}

void cl_tracking_invalidate_project(int64_t project_id)
{
    pthread_mutex_lock(&cache.mu);
    atomic_fetch_add(&cache.gen, 1);
    for (centry *e = cache.head, *next; e; e = next) {
        next = e->next;
        if (project_id == 0 || e->project_id == project_id)
            cache_remove_locked(e);
    }
    pthread_mutex_unlock(&cache.mu);
}

static void cache_clear(void)
{
    cl_tracking_invalidate_project(0);
}

/* ---- click queues ---------------------------------------------------------------- */

typedef struct click {
    struct click *next;
    char click_id[23];
    int64_t item_id;
    int64_t at_us; /* wall clock, microseconds */
    char addr[64];
    char *ua; /* point into data */
    char *referer;
    char data[];
} click;

typedef struct cqueue {
    pthread_mutex_t mu;
    click *head, *tail;
    long n;
    struct cqueue *next_q;
} cqueue;

static __thread cqueue *my_queue;

static struct {
    pthread_mutex_t mu;     /* guards the list of queues and the writer's state below */
    pthread_cond_t cv;      /* wakes the writer */
    pthread_cond_t done_cv; /* wakes flush waiters */
    cqueue *queues;
    int started, stop;
    uint64_t flush_req, flush_done;
    pthread_t writer, listener;
    char last_error[512];
    int failing;
} W = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .done_cv = PTHREAD_COND_INITIALIZER};

static atomic_long st_accepted, st_written, st_dropped, st_lost, st_write_errors, st_pending;
static atomic_int listener_stop;

static cqueue *queue_for_thread(void)
{
    if (my_queue)
        return my_queue;
    cqueue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    pthread_mutex_init(&q->mu, NULL);
    pthread_mutex_lock(&W.mu);
    q->next_q = W.queues;
    W.queues = q;
    pthread_mutex_unlock(&W.mu);
    return my_queue = q;
}

/* Random bytes for click ids: each event-loop thread draws from its own
   buffer, refilled from RAND_bytes (the OpenSSL CSPRNG) 4 KiB at a time —
   one RAND_bytes call per request cost a sixth of the redirect's CPU time. */
#define CLICK_RAND_POOL 4096
static _Thread_local struct {
    unsigned char bytes[CLICK_RAND_POOL];
    size_t used;
    unsigned fork_gen; /* a forked child must not replay its parent's bytes */
} rand_pool = {.used = CLICK_RAND_POOL};
static atomic_uint fork_gen;
static pthread_once_t fork_hook_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add(&fork_gen, 1);
}

static void install_fork_hook(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

static void click_random(unsigned char *out, size_t n)
{
    pthread_once(&fork_hook_once, install_fork_hook);
    unsigned gen = atomic_load_explicit(&fork_gen, memory_order_relaxed);
    if (rand_pool.used + n > CLICK_RAND_POOL || rand_pool.fork_gen != gen) {
        if (RAND_bytes(rand_pool.bytes, CLICK_RAND_POOL) != 1) { /* never expected */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            for (size_t i = 0; i < CLICK_RAND_POOL; i++)
                rand_pool.bytes[i] ^= (unsigned char)(ts.tv_nsec >> (i % 4 * 8)) ^ (unsigned char)i;
        }
        rand_pool.used = 0;
        rand_pool.fork_gen = gen;
    }
    memcpy(out, rand_pool.bytes + rand_pool.used, n);
    explicit_bzero(rand_pool.bytes + rand_pool.used, n); /* a byte is handed out once */
    rand_pool.used += n;
}

static void make_click_id(char out[23])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char r[18];
    click_random(r, sizeof r);
    /* 22 characters = 132 bits from 16.5 bytes; use 16 random bytes + padding bits from r[16]. */
    for (int i = 0, o = 0; i < 18 && o < 22; i += 3) {
        uint32_t v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | r[i + 2];
        for (int k = 3; k >= 0 && o < 22; k--)
            out[o++] = b64[(v >> (6 * k)) & 63];
    }
    out[22] = '\0';
}

static void enqueue_click(const cl_req *req, const char *click_id, int64_t item_id)
{
    const char *ua = cl_req_header(req, "user-agent"), *ref = cl_req_header(req, "referer");
    size_t ul = ua ? strnlen(ua, UA_MAX) : 0, rl = ref ? strnlen(ref, REFERER_MAX) : 0;
    cqueue *q = queue_for_thread();
    click *c = q ? malloc(sizeof *c + ul + rl + 2) : NULL;
    if (!c) {
        atomic_fetch_add(&st_dropped, 1);
        return;
    }
    memcpy(c->click_id, click_id, 23);
    c->item_id = item_id;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->at_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    cl_req_client_addr(req, c->addr, sizeof c->addr); /* the visitor's address behind a trusted proxy */
    c->ua = c->data;
    memcpy(c->ua, ua ? ua : "", ul);
    c->ua[ul] = '\0';
    c->referer = c->data + ul + 1;
    memcpy(c->referer, ref ? ref : "", rl);
    c->referer[rl] = '\0';
    c->next = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->n >= S.queue_max) {
        pthread_mutex_unlock(&q->mu);
        free(c);
        atomic_fetch_add(&st_dropped, 1);
        return;
    }
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
    q->n++;
    pthread_mutex_unlock(&q->mu);
    atomic_fetch_add(&st_accepted, 1);
}

/* ---- the handler ------------------------------------------------------------------ */

static const char page_404[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
    "content=\"width=device-width,initial-scale=1\"><title>Link not found</title><style>body{font:16px/1.5 "
    "system-ui,sans-serif;color:#111;background:#fafaf9;display:grid;place-items:center;min-height:90vh;"
    "margin:0}"
    "main{max-width:28rem;padding:2rem;text-align:center}h1{font-size:1.25rem}p{color:#555}</style></head>"
    "<body><main><h1>%s</h1><p>%s</p></main></body></html>";

static void html_page(cl_res *res, int status, const char *title, const char *text)
{
    res->status = status;
    res->content_type = "text/html; charset=utf-8";
    res->body.len = 0;
    if (cl_buf_printf(&res->body, page_404, title, text) != 0)
        res->status = 500;
}

static void not_found(cl_res *res)
{
    html_page(res, 404, "This link doesn't exist",
              "Check that the link was copied completely. If you followed it from a post, the post may have "
              "been removed.");
}

static void no_destination(cl_res *res)
{
    html_page(res, 404, "This link has no destination yet",
              "The owner of this post has not set where the link should go. Try again later.");
}

static void redirect_to(cl_res *res, const char *location)
{
    res->status = 302;
    res->content_type = "text/html; charset=utf-8";
    res->body.len = 0;
    cl_res_header(res, "location", location);
    cl_res_header(res, "referrer-policy", "no-referrer-when-downgrade");
}

static int is_head(const cl_req *req)
{
    return strcmp(req->method, "HEAD") == 0;
}

/* Pool thread: a cache miss. */
static void redirect_lookup(cl_req *req, cl_res *res)
{
    const char *slug = cl_req_param(req, "slug");
    uint64_t gen = atomic_load(&cache.gen);
    char err[256];
    PGconn *c = cl_db_acquire(CL_DB_WAIT_FAST_MS, err, sizeof err);
    if (!c) {
        html_page(res, 503, "Please try again",
                  "This link is temporarily unavailable. Reload the page in a moment.");
        return;
    }
    const char *p[] = {slug};
    PGresult *r = cl_db_run(c,
                            "SELECT i.id, i.project_id, COALESCE(i.cta_url, p.website_url)"
                            "  FROM content_items i JOIN projects p ON p.id = i.project_id"
                            " WHERE i.tracking_slug = $1",
                            1, p, err, sizeof err);
    if (!r) {
        cl_warn(COMP, "slug lookup failed: %s", err);
        cl_db_release(c);
        html_page(res, 503, "Please try again",
                  "This link is temporarily unavailable. Reload the page in a moment.");
        return;
    }
    cl_db_release(c);
    if (PQntuples(r) == 0) {
        PQclear(r);
        not_found(res);
        return;
    }
    centry *e = calloc(1, sizeof *e);
    if (!e) {
        PQclear(r);
        cl_res_error(res, 500, "internal", "out of memory");
        return;
    }
    snprintf(e->slug, sizeof e->slug, "%s", slug);
    e->hash = slug_hash(slug);
    e->item_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    e->project_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    int has_dest = !PQgetisnull(r, 0, 2) && PQgetvalue(r, 0, 2)[0];
    if (has_dest && build_prefix(PQgetvalue(r, 0, 2), slug, e->item_id, &e->prefix, &e->frag) != 0) {
        PQclear(r);
        centry_free(e);
        cl_res_error(res, 500, "internal", "out of memory");
        return;
    }
    PQclear(r);
    if (!e->prefix) {
        no_destination(res);
    } else {
        char click_id[23];
        make_click_id(click_id);
        cl_buf loc = CL_BUF_INIT;
        if (cl_buf_printf(&loc, "%s%s%s", e->prefix, click_id, e->frag) == 0) {
            redirect_to(res, loc.data);
            if (!is_head(req))
                enqueue_click(req, click_id, e->item_id);
        } else {
            cl_res_error(res, 500, "internal", "out of memory");
        }
        cl_buf_free(&loc);
    }
    cache_insert(e, gen);
}

/* Event loop: answer from the cache, or defer a miss to the pool. */
static void redirect(cl_req *req, cl_res *res)
{
    const char *slug = cl_req_param(req, "slug");
    if (!cl_tracking_valid_slug(slug)) {
        not_found(res);
        return;
    }
    uint32_t h = slug_hash(slug);
    char click_id[23];
    char loc[4096];
    int64_t item_id = 0;
    int state; /* 0 miss, 1 redirect, 2 no destination, 3 too long */
    make_click_id(click_id);
    pthread_mutex_lock(&cache.mu);
    centry *e = cache_find_locked(slug, h);
    if (!e) {
        state = 0;
    } else {
        lru_unlink(e);
        lru_push_front(e);
        item_id = e->item_id;
        if (!e->prefix) {
            state = 2;
        } else {
            /* prefix + click id + fragment, without printf (hot path) */
            size_t pl = strlen(e->prefix), fl = strlen(e->frag);
            state = pl + 22 + fl < sizeof loc ? 1 : 3;
            if (state == 1) {
                memcpy(loc, e->prefix, pl);
                memcpy(loc + pl, click_id, 22);
                memcpy(loc + pl + 22, e->frag, fl + 1);
            }
        }
    }
    pthread_mutex_unlock(&cache.mu);
    if (state == 0 || state == 3) { /* long destinations are built on the pool */
        cl_res_defer(res, redirect_lookup);
        return;
    }
    if (state == 2) {
        no_destination(res);
        return;
    }
    redirect_to(res, loc);
    if (!is_head(req))
        enqueue_click(req, click_id, item_id);
}

void cl_tracking_register_redirect_route(void)
{
    cl_route("GET", "/r/:slug", redirect, CL_ROUTE_INLINE);
}

/* ---- the writer -------------------------------------------------------------------- */

/* The length of the UTF-8 sequence at p (1–4), or 0 when it is not valid. */
static int utf8_seq_len(const unsigned char *p)
{
    int n = *p < 0x80                           ? 1
            : (*p & 0xE0) == 0xC0 && *p >= 0xC2 ? 2
            : (*p & 0xF0) == 0xE0               ? 3
            : (*p & 0xF8) == 0xF0 && *p <= 0xF4 ? 4
                                                : 0;
    for (int k = 1; k < n; k++)
        if ((p[k] & 0xC0) != 0x80)
            return 0;
    if (n == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0)))
        return 0;
    if (n == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90)))
        return 0;
    return n;
}

/* Copy s into b as valid UTF-8 (invalid bytes become '?'), as one element
   of a Postgres array literal ("..." with \ and " escaped). */
static int put_array_text(cl_buf *b, const char *s)
{
    if (cl_buf_puts(b, "\""))
        return -1;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = utf8_seq_len(p);
        int rc;
        if (n == 0) {
            rc = cl_buf_puts(b, "?");
            n = 1;
        } else if (n == 1 && (*p == '"' || *p == '\\')) {
            rc = cl_buf_printf(b, "\\%c", *p);
        } else {
            rc = cl_buf_append(b, p, (size_t)n);
        }
        if (rc)
            return -1;
        p += n;
    }
    return cl_buf_puts(b, "\"");
}

/* The same sanitizing for JSON (the Lua call): a copy with invalid UTF-8 replaced. */
static char *utf8_copy(const char *s)
{
    cl_buf b = CL_BUF_INIT;
    if (put_array_text(&b, s) != 0) {
        cl_buf_free(&b);
        return NULL;
    }
    /* strip the quotes and backslash escapes again */
    char *out = malloc(b.len + 1), *o = out;
    if (out) {
        for (size_t i = 1; i + 1 < b.len; i++) {
            if (b.data[i] == '\\')
                i++;
            *o++ = b.data[i];
        }
        *o = '\0';
    }
    cl_buf_free(&b);
    return out;
}

/* Bot patterns: scripts/tracking/bots.lua's classify(list of user agents)
   returns, per entry, false or the pattern that matched. Unique user agents
   only. verdict[i] is NULL (human) or a malloc'd pattern. */
static void classify(click **rows, int n, char **verdict)
{
    cJSON *uas = cJSON_CreateArray();
    int *idx = calloc((size_t)n, sizeof *idx);
    int nu = 0;
    for (int i = 0; i < n; i++)
        verdict[i] = NULL;
    if (!uas || !idx) {
        cJSON_Delete(uas);
        free(idx);
        return;
    }
    for (int i = 0; i < n; i++) {
        int j = 0;
        for (; j < i; j++)
            if (strcmp(rows[j]->ua, rows[i]->ua) == 0)
                break;
        if (j < i) {
            idx[i] = idx[j];
            continue;
        }
        char *u = utf8_copy(rows[i]->ua);
        cJSON_AddItemToArray(uas, cJSON_CreateString(u ? u : ""));
        free(u);
        idx[i] = nu++;
    }
    char *arg = cJSON_PrintUnformatted(uas), *out = NULL, err[256];
    cJSON_Delete(uas);
    cJSON *res = NULL;
    if (arg && cl_lua_call("tracking/bots", "classify", arg, &out, err, sizeof err) == 0)
        res = cJSON_Parse(out);
    else if (arg) {
        static atomic_long warned;
        if (atomic_fetch_add(&warned, 1) % 1000 == 0)
            cl_warn(COMP, "scripts/tracking/bots.lua: %s; clicks are stored as human", err);
    }
    free(arg);
    free(out);
    for (int i = 0; i < n; i++) {
        cJSON *v = cJSON_GetArrayItem(res, idx[i]);
        if (cJSON_IsString(v))
            verdict[i] = strdup(v->valuestring);
        else if (cJSON_IsTrue(v))
            verdict[i] = strdup("bot");
    }
    cJSON_Delete(res);
    free(idx);
}

static const char *insert_sql =
    "INSERT INTO tracking_clicks (click_id, content_item_id, project_id, clicked_at, is_bot,"
    "                             bot_pattern, user_agent, referer, visitor_hash)"
    " SELECT u.click_id, u.item_id, i.project_id, u.at, u.bot, u.pattern, NULLIF(u.ua, ''),"
    "        NULLIF(u.ref, ''), u.vh"
    "   FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::boolean[], $5::text[], $6::text[],"
    "               $7::text[], $8::text[]) AS u(click_id, item_id, at, bot, pattern, ua, ref, vh)"
    "   JOIN content_items i ON i.id = u.item_id"
    " ON CONFLICT (click_id) DO NOTHING";

static const char *lock_sql = "SELECT id, project_id FROM content_items WHERE id = ANY($1::bigint[]) FOR KEY SHARE";

/* Per-row values both write paths need: the click time as text (the date
   part formatted once per second, kept in *sec_cache) and the visitor hash.
   This runs for every click at redirect rates: no printf per row (it took a
   tenth of the host's CPU). */
typedef struct {
    time_t sec;
    char sec_txt[32];
} time_cache;

static void click_time(const click *r, time_cache *tc, char out[48])
{
    time_t sec = (time_t)(r->at_us / 1000000);
    if (sec != tc->sec) {
        struct tm tm;
        gmtime_r(&sec, &tm);
        if (strftime(tc->sec_txt, sizeof tc->sec_txt, "%Y-%m-%d %H:%M:%S", &tm) == 0)
            tc->sec_txt[0] = '\0';
        tc->sec = sec;
    }
    size_t l = strlen(tc->sec_txt);
    memcpy(out, tc->sec_txt, l);
    out[l] = '.';
    long frac = (long)(r->at_us % 1000000);
    for (int k = 6; k >= 1; k--, frac /= 10)
        out[l + (size_t)k] = (char)('0' + frac % 10);
    memcpy(out + l + 7, "+00", 4);
}

static void visitor_hash(const click *r, char vh[33])
{
    static const char hexd[] = "0123456789abcdef";
    unsigned char hk[SHA256_DIGEST_LENGTH];
    char who[sizeof r->addr + UA_MAX + 2];
    size_t al = strlen(r->addr), ul = strlen(r->ua);
    memcpy(who, r->addr, al);
    who[al] = '|';
    memcpy(who + al + 1, r->ua, ul);
    SHA256((const unsigned char *)who, al + 1 + ul, hk);
    for (int k = 0; k < 16; k++) {
        vh[2 * k] = hexd[hk[k] >> 4];
        vh[2 * k + 1] = hexd[hk[k] & 15];
    }
    vh[32] = '\0';
}

static char *put_int(char buf[24], int64_t n)
{
    char *e = buf + 23;
    *e = '\0';
    uint64_t v = (uint64_t)n;
    do
        *--e = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return e;
}

/* Write rows[0..n) as one INSERT … ON CONFLICT DO NOTHING (one
   transaction): the path for a batch whose earlier attempt failed, which may
   have committed before the connection broke. 0 or -1 (err set). */
static int write_batch_insert(PGconn *c, click **rows, char **verdict, int n, char *err, size_t errlen)
{
    cl_buf a[8];
    for (int k = 0; k < 8; k++) {
        a[k] = (cl_buf)CL_BUF_INIT;
        cl_buf_puts(&a[k], "{");
    }
    int rc = 0;
    time_cache tc = {.sec = (time_t)-1};
    for (int i = 0; i < n && !rc; i++) {
        click *r = rows[i];
        const char *sep = i ? "," : "";
        char at[48], vh[33], id[24];
        click_time(r, &tc, at);
        visitor_hash(r, vh);
        rc |= cl_buf_puts(&a[0], sep) | cl_buf_puts(&a[0], r->click_id);
        rc |= cl_buf_puts(&a[1], sep) | cl_buf_puts(&a[1], put_int(id, r->item_id));
        rc |= cl_buf_puts(&a[2], sep) | cl_buf_puts(&a[2], "\"") | cl_buf_puts(&a[2], at) | cl_buf_puts(&a[2], "\"");
        rc |= cl_buf_puts(&a[3], sep) | cl_buf_puts(&a[3], verdict[i] ? "t" : "f");
        rc |= cl_buf_puts(&a[4], sep);
        rc |= verdict[i] ? put_array_text(&a[4], verdict[i]) : cl_buf_puts(&a[4], "NULL");
        rc |= cl_buf_puts(&a[5], sep) | put_array_text(&a[5], r->ua);
        rc |= cl_buf_puts(&a[6], sep) | put_array_text(&a[6], r->referer);
        rc |= cl_buf_puts(&a[7], sep) | cl_buf_puts(&a[7], vh);
    }
    for (int k = 0; k < 8; k++)
        rc |= cl_buf_puts(&a[k], "}");
    int ok = 0;
    if (rc) {
        snprintf(err, errlen, "out of memory");
    } else {
        const char *params[8];
        for (int k = 0; k < 8; k++)
            params[k] = a[k].data;
        PGresult *r = PQexecPrepared(c, "tracking_insert_clicks", 8, params, NULL, NULL, 0);
        ok = cl_db_ok(r);
        if (!ok)
            cl_db_errmsg(c, r, err, errlen);
        PQclear(r);
    }
    for (int k = 0; k < 8; k++)
        cl_buf_free(&a[k]);
    return ok ? 0 : -1;
}

/* s as one COPY text field: valid UTF-8 (invalid bytes become '?') with
   backslash, tab, newline and carriage return escaped; "" is \N (NULL). */
static int put_copy_text(cl_buf *b, const char *s)
{
    if (!s || !*s)
        return cl_buf_puts(b, "\\N");
    const unsigned char *p = (const unsigned char *)s;
    int rc = 0;
    while (*p && !rc) {
        int n = utf8_seq_len(p);
        if (n == 0) {
            rc = cl_buf_puts(b, "?");
            n = 1;
        } else if (*p == '\\' || *p == '\t' || *p == '\n' || *p == '\r') {
            rc = cl_buf_puts(b, *p == '\\' ? "\\\\" : *p == '\t' ? "\\t" : *p == '\n' ? "\\n" : "\\r");
        } else {
            rc = cl_buf_append(b, p, (size_t)n);
        }
        p += n;
    }
    return rc;
}

/* Lock the batch's items (FOR KEY SHARE: a concurrent delete waits for this
   transaction, and its trigger then removes these clicks too) and learn their
   projects. Items already deleted keep project 0: their clicks are skipped,
   as the INSERT path's JOIN skips them. */
static int lock_items(PGconn *c, click **rows, int n, int64_t *project, char *err, size_t errlen)
{
    cl_buf ids = CL_BUF_INIT;
    int rc = cl_buf_puts(&ids, "{");
    for (int i = 0; i < n; i++) {
        project[i] = 0;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) /* a batch names few items: mostly one */
            seen = rows[j]->item_id == rows[i]->item_id;
        if (!seen) {
            char id[24];
            rc |= cl_buf_puts(&ids, ids.len > 1 ? "," : "") | cl_buf_puts(&ids, put_int(id, rows[i]->item_id));
        }
    }
    rc |= cl_buf_puts(&ids, "}");
    if (rc) {
        cl_buf_free(&ids);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *p[] = {ids.data};
    PGresult *r = PQexecPrepared(c, "tracking_lock_items", 1, p, NULL, NULL, 0);
    cl_buf_free(&ids);
    if (cl_db_check(c, r, err, errlen) != 0)
        return -1;
    for (int k = 0; k < PQntuples(r); k++) {
        int64_t item = strtoll(PQgetvalue(r, k, 0), NULL, 10), proj = strtoll(PQgetvalue(r, k, 1), NULL, 10);
        for (int i = 0; i < n; i++)
            if (rows[i]->item_id == item)
                project[i] = proj;
    }
    PQclear(r);
    return 0;
}

/* Write rows[0..n) with COPY in one transaction (about half the database's
   CPU time per row of the INSERT of unnested arrays). 0 or -1 (err set). */
static int write_batch_copy(PGconn *c, click **rows, char **verdict, int n, char *err, size_t errlen)
{
    int64_t *project = malloc((size_t)n * sizeof *project);
    cl_buf b = CL_BUF_INIT;
    int ok = 0;
    PGresult *r = NULL;
    if (!project) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r = PQexec(c, "BEGIN");
    if (!cl_db_ok(r) || lock_items(c, rows, n, project, err, errlen) != 0)
        goto done;
    int rc = 0;
    time_cache tc = {.sec = (time_t)-1};
    for (int i = 0; i < n && !rc; i++) {
        if (!project[i])
            continue;
        click *k = rows[i];
        char at[48], vh[33], id[24], pid[24];
        click_time(k, &tc, at);
        visitor_hash(k, vh);
        rc |= cl_buf_puts(&b, k->click_id) | cl_buf_puts(&b, "\t") | cl_buf_puts(&b, put_int(id, k->item_id)) |
              cl_buf_puts(&b, "\t") | cl_buf_puts(&b, put_int(pid, project[i])) | cl_buf_puts(&b, "\t") |
              cl_buf_puts(&b, at) | cl_buf_puts(&b, verdict[i] ? "\tt\t" : "\tf\t") |
              put_copy_text(&b, verdict[i]) | cl_buf_puts(&b, "\t") | put_copy_text(&b, k->ua) |
              cl_buf_puts(&b, "\t") | put_copy_text(&b, k->referer) | cl_buf_puts(&b, "\t") | cl_buf_puts(&b, vh) |
              cl_buf_puts(&b, "\n");
    }
    if (rc) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    PQclear(r);
    r = PQexec(c, "COPY tracking_clicks (click_id, content_item_id, project_id, clicked_at, is_bot, bot_pattern,"
                  " user_agent, referer, visitor_hash) FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        cl_db_errmsg(c, r, err, errlen);
        goto done;
    }
    if ((b.len && PQputCopyData(c, b.data, (int)b.len) != 1) || PQputCopyEnd(c, NULL) != 1) {
        snprintf(err, errlen, "COPY failed: %s", PQerrorMessage(c));
        goto done;
    }
    PQclear(r);
    r = PQgetResult(c);
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, err, errlen);
        goto done;
    }
    PGresult *more;
    while ((more = PQgetResult(c)) != NULL)
        PQclear(more);
    PQclear(r);
    r = PQexec(c, "COMMIT");
    ok = cl_db_ok(r);
    if (!ok)
        cl_db_errmsg(c, r, err, errlen);
done:
    PQclear(r);
    if (!ok && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE) {
        PGresult *more;
        while ((more = PQgetResult(c)) != NULL)
            PQclear(more);
        PQclear(PQexec(c, "ROLLBACK"));
    }
    cl_buf_free(&b);
    free(project);
    return ok ? 0 : -1;
}

/* Write rows[0..n): COPY normally; INSERT … ON CONFLICT when this batch
   failed before (a retry must not fail on, or double, rows that committed).
   0 or -1 (err set). */
static int write_batch(PGconn *c, click **rows, int n, int retry, char *err, size_t errlen)
{
    char **verdict = calloc((size_t)n, sizeof *verdict);
    if (!verdict) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    classify(rows, n, verdict);
    int rc = retry ? write_batch_insert(c, rows, verdict, n, err, errlen)
                   : write_batch_copy(c, rows, verdict, n, err, errlen);
    for (int i = 0; i < n; i++)
        free(verdict[i]);
    free(verdict);
    return rc;
}

static void list_free(click *c)
{
    while (c) {
        click *next = c->next;
        free(c);
        c = next;
    }
}

/* Move every queue's clicks onto the end of *pending. Returns how many. */
static long gather(click **pending)
{
    click *tail = *pending;
    while (tail && tail->next)
        tail = tail->next;
    long total = 0;
    pthread_mutex_lock(&W.mu);
    for (cqueue *q = W.queues; q; q = q->next_q) {
        pthread_mutex_lock(&q->mu);
        click *h = q->head;
        click *t = q->tail;
        long n = q->n;
        q->head = q->tail = NULL;
        q->n = 0;
        pthread_mutex_unlock(&q->mu);
        if (!h)
            continue;
        if (tail)
            tail->next = h;
        else
            *pending = h;
        tail = t;
        total += n;
    }
    pthread_mutex_unlock(&W.mu);
    return total;
}

static long queued_now(void)
{
    long n = 0;
    pthread_mutex_lock(&W.mu);
    for (cqueue *q = W.queues; q; q = q->next_q) {
        pthread_mutex_lock(&q->mu);
        n += q->n;
        pthread_mutex_unlock(&q->mu);
    }
    pthread_mutex_unlock(&W.mu);
    return n;
}

static void set_error(const char *msg)
{
    pthread_mutex_lock(&W.mu);
    snprintf(W.last_error, sizeof W.last_error, "%s", msg ? msg : "");
    W.failing = msg != NULL;
    pthread_mutex_unlock(&W.mu);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* CLOCK_REALTIME now + ms, for pthread_cond_timedwait. */
static struct timespec deadline_in(int ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

static void *writer_main(void *arg)
{
    (void)arg;
    PGconn *c = NULL;
    click *pending = NULL;
    long npending = 0; /* the length of pending, counted by hand: the list can be long */
    int backoff = 0;
    long dropped_logged = 0;
    uint64_t stop_deadline = 0, last_drop_log = 0;
    for (;;) {
        /* Wait for the batch window, a flush request or stop. */
        pthread_mutex_lock(&W.mu);
        int wait_ms = backoff ? backoff : W.stop || W.flush_req != W.flush_done ? 0 : S.flush_ms;
        if (wait_ms) {
            struct timespec until = deadline_in(wait_ms);
            pthread_cond_timedwait(&W.cv, &W.mu, &until);
        }
        int stop = W.stop;
        uint64_t req = W.flush_req;
        pthread_mutex_unlock(&W.mu);
        if (stop && !stop_deadline)
            stop_deadline = mono_ms() + (uint64_t)S.stop_timeout_ms;

        /* Keep what failed before taking more: pending stays bounded by the queues. */
        if (!pending)
            npending = gather(&pending);
        atomic_store(&st_pending, npending);

        int failed = 0;
        int retry = backoff != 0; /* the head batch failed last time: it may have committed */
        char err[512] = "";
        while (pending && !failed) {
            if (!c) {
                c = cl_db_connect(cl_cfg.database_url, err, sizeof err);
                if (c) {
                    PGresult *r = PQprepare(c, "tracking_insert_clicks", insert_sql, 0, NULL);
                    if (cl_db_ok(r)) {
                        PQclear(r);
                        r = PQprepare(c, "tracking_lock_items", lock_sql, 0, NULL);
                    }
                    if (!cl_db_ok(r)) {
                        cl_db_errmsg(c, r, err, sizeof err);
                        PQfinish(c);
                        c = NULL;
                    }
                    PQclear(r);
                }
                if (!c) {
                    failed = 1;
                    break;
                }
            }
            click *rows[4096];
            int max = S.batch_max < 4096 ? S.batch_max : 4096, n = 0;
            for (click *p = pending; p && n < max; p = p->next)
                rows[n++] = p;
            if (write_batch(c, rows, n, retry, err, sizeof err) != 0) {
                failed = 1;
                atomic_fetch_add(&st_write_errors, 1);
                if (PQstatus(c) != CONNECTION_OK) {
                    PQfinish(c);
                    c = NULL;
                }
                break;
            }
            retry = 0;
            pending = rows[n - 1]->next;
            rows[n - 1]->next = NULL;
            list_free(rows[0]);
            atomic_fetch_add(&st_written, n);
            npending -= n;
            atomic_store(&st_pending, npending);
        }
        if (failed) {
            if (!backoff)
                cl_warn(COMP, "cannot write clicks (%ld waiting): %s; retrying", npending, err);
            set_error(err);
            backoff = backoff ? (backoff * 2 > 2000 ? 2000 : backoff * 2) : 100;
        } else if (backoff) {
            cl_info(COMP, "click writer recovered");
            set_error(NULL);
            backoff = 0;
        }

        long dropped = atomic_load(&st_dropped);
        if (dropped != dropped_logged && mono_ms() - last_drop_log >= 5000) {
            cl_warn(COMP, "dropped %ld click(s) because the queue was full (%ld in total)",
                    dropped - dropped_logged, dropped);
            dropped_logged = dropped;
            last_drop_log = mono_ms();
        }

        if (!pending) {
            pthread_mutex_lock(&W.mu);
            W.flush_done = req;
            pthread_cond_broadcast(&W.done_cv);
            pthread_mutex_unlock(&W.mu);
        }
        if (stop) {
            if (!pending && queued_now() == 0)
                break;
            if (failed && mono_ms() >= stop_deadline) {
                long lost = npending;
                list_free(pending);
                pending = NULL;
                npending = 0;
                click *rest = NULL;
                lost += gather(&rest);
                list_free(rest);
                atomic_fetch_add(&st_lost, lost);
                cl_error(COMP, "stopping with the database unavailable: %ld click(s) could not be written",
                         lost);
                break;
            }
        }
    }
    if (c)
        PQfinish(c);
    atomic_store(&st_pending, 0);
    cl_lua_thread_release();
    return NULL;
}

int cl_tracking_flush(int timeout_ms)
{
    pthread_mutex_lock(&W.mu);
    if (!W.started) {
        pthread_mutex_unlock(&W.mu);
        return -1;
    }
    uint64_t mine = ++W.flush_req;
    pthread_cond_signal(&W.cv);
    struct timespec until = deadline_in(timeout_ms);
    int rc = 0;
    while (W.flush_done < mine && rc == 0)
        rc = pthread_cond_timedwait(&W.done_cv, &W.mu, &until);
    int done = W.flush_done >= mine;
    pthread_mutex_unlock(&W.mu);
    return done ? 0 : -1;
}

/* ---- the listener ------------------------------------------------------------------ */

static void *listener_main(void *arg)
{
    (void)arg;
    PGconn *c = NULL;
    int warned = 0;
    while (!atomic_load(&listener_stop)) {
        if (!c) {
            char err[256];
            c = cl_db_connect(cl_cfg.database_url, err, sizeof err);
            if (c && cl_db_exec(c, "LISTEN cliploop_tracking", 0, NULL, err, sizeof err) != 0) {
                PQfinish(c);
                c = NULL;
            }
            if (!c) {
                if (!warned++)
                    cl_warn(COMP, "cache listener cannot connect: %s; retrying", err);
                for (int i = 0; i < 10 && !atomic_load(&listener_stop); i++)
                    nanosleep(&(struct timespec){0, 100000000}, NULL);
                continue;
            }
            warned = 0;
            cache_clear(); /* notifications may have been missed while disconnected */
        }
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
        int pr = poll(&pfd, 1, 200);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr > 0 && (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK)) {
            PQfinish(c);
            c = NULL;
            continue;
        }
        PGnotify *n;
        while ((n = PQnotifies(c))) {
            if (strncmp(n->extra, "slug:", 5) == 0)
                cl_tracking_invalidate_slug(n->extra + 5);
            else if (strncmp(n->extra, "project:", 8) == 0)
                cl_tracking_invalidate_project(strtoll(n->extra + 8, NULL, 10));
            PQfreemem(n);
        }
    }
    if (c)
        PQfinish(c);
    return NULL;
}

/* ---- life cycle ---------------------------------------------------------------------- */

int cl_tracking_start(void)
{
    pthread_mutex_lock(&W.mu);
    W.stop = 0;
    pthread_mutex_unlock(&W.mu);
    atomic_store(&listener_stop, 0);
    if (pthread_create(&W.writer, NULL, writer_main, NULL) != 0)
        return -1;
    if (pthread_create(&W.listener, NULL, listener_main, NULL) != 0) {
        pthread_mutex_lock(&W.mu);
        W.stop = 1;
        pthread_cond_signal(&W.cv);
        pthread_mutex_unlock(&W.mu);
        pthread_join(W.writer, NULL);
        return -1;
    }
    pthread_mutex_lock(&W.mu);
    W.started = 1;
    pthread_mutex_unlock(&W.mu);
    return 0;
}

void cl_tracking_stop(void)
{
    pthread_mutex_lock(&W.mu);
    int started = W.started;
    W.started = 0;
    W.stop = 1;
    pthread_cond_signal(&W.cv);
    pthread_cond_broadcast(&W.done_cv);
    pthread_mutex_unlock(&W.mu);
    if (!started)
        return;
    long queued = queued_now() + atomic_load(&st_pending);
    if (queued)
        cl_info(COMP, "writing %ld queued click(s) before exit", queued);
    pthread_join(W.writer, NULL);
    atomic_store(&listener_stop, 1);
    pthread_join(W.listener, NULL);
    cl_info(COMP, "clicks: %ld accepted, %ld written, %ld dropped (queue full), %ld lost at stop",
            atomic_load(&st_accepted), atomic_load(&st_written), atomic_load(&st_dropped),
            atomic_load(&st_lost));
    /* Free the queues (no thread can add to them any more) and the cache. */
    pthread_mutex_lock(&W.mu);
    for (cqueue *q = W.queues, *next; q; q = next) {
        next = q->next_q;
        list_free(q->head);
        pthread_mutex_destroy(&q->mu);
        free(q);
    }
    W.queues = NULL;
    pthread_mutex_unlock(&W.mu);
    cache_clear();
    pthread_mutex_lock(&cache.mu);
    free(cache.buckets);
    cache.buckets = NULL;
    cache.nbuckets = 0;
    pthread_mutex_unlock(&cache.mu);
}

cJSON *cl_tracking_health_json(void)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    pthread_mutex_lock(&cache.mu);
    size_t entries = cache.count;
    pthread_mutex_unlock(&cache.mu);
    long queued = queued_now() + atomic_load(&st_pending);
    cJSON_AddNumberToObject(o, "queued", (double)queued);
    cJSON_AddNumberToObject(o, "accepted", (double)atomic_load(&st_accepted));
    cJSON_AddNumberToObject(o, "written", (double)atomic_load(&st_written));
    cJSON_AddNumberToObject(o, "dropped", (double)atomic_load(&st_dropped));
    cJSON_AddNumberToObject(o, "write_errors", (double)atomic_load(&st_write_errors));
    cJSON_AddNumberToObject(o, "cache_entries", (double)entries);
    pthread_mutex_lock(&W.mu);
    cJSON_AddStringToObject(o, "writer", !W.started ? "stopped" : W.failing ? "retrying" : "ok");
    if (W.failing)
        cJSON_AddStringToObject(o, "last_error", W.last_error);
    else
        cJSON_AddNullToObject(o, "last_error");
    pthread_mutex_unlock(&W.mu);
    return o;
}
