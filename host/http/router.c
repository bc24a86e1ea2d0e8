/*
 * router.c — method + path patterns with ":name" captures and a trailing "*".
 *
 * Routes are registered once before the server threads start and are read-only
 * afterwards, so matching needs no lock. Matching scans, in registration
 * order, only the routes that can match the path's first segment: those whose
 * first segment is that literal (one bucket per distinct first segment) and
 * those that start with a capture or have no segment (in every bucket, and in
 * `wild` for paths whose first segment no route names).
 */
#include "http/http.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 256
#define MAX_SEGS 16

typedef struct {
    char method[8];
    char *pattern; /* owned copy; segs point into it */
    char *segs[MAX_SEGS];
    int nsegs;
    int wildcard; /* trailing "*" */
    size_t seglen[2]; /* lengths of the first two segments (a quick pre-filter) */
    cl_handler_fn fn;
    unsigned flags;
    const void *data; /* cl_route_data's pointer (not owned), handed to the handler as req->route_data */
} route;

static route routes[MAX_ROUTES];
static int nroutes;

#define MAX_BUCKETS 64
typedef struct {
    const char *seg; /* routes[idx[0]]'s first segment */
    size_t len;
    unsigned char idx[MAX_ROUTES]; /* route indexes, ascending */
    int n;
} bucket;
static bucket buckets[MAX_BUCKETS];
static int nbuckets;
static unsigned char wild[MAX_ROUTES];
static int nwild;
static int unindexed; /* more distinct first segments than buckets: scan everything */

static bucket *find_bucket(const char *seg, size_t len)
{
    for (int i = 0; i < nbuckets; i++)
        if (buckets[i].len == len && memcmp(buckets[i].seg, seg, len) == 0)
            return &buckets[i];
    return NULL;
}

static void index_route(int i)
{
    const route *r = &routes[i];
    if (r->nsegs == 0 || r->segs[0][0] == ':') {
        wild[nwild++] = (unsigned char)i;
        for (int b = 0; b < nbuckets; b++)
            buckets[b].idx[buckets[b].n++] = (unsigned char)i;
        return;
    }
    bucket *b = find_bucket(r->segs[0], r->seglen[0]);
    if (!b) {
        if (nbuckets == MAX_BUCKETS) {
            unindexed = 1;
            return;
        }
        b = &buckets[nbuckets++];
        b->seg = r->segs[0];
        b->len = r->seglen[0];
        memcpy(b->idx, wild, (size_t)nwild); /* earlier capture routes keep their place */
        b->n = nwild;
    }
    b->idx[b->n++] = (unsigned char)i;
}

void cl_route(const char *method, const char *pattern, cl_handler_fn fn, unsigned flags)
{
    cl_route_data(method, pattern, fn, flags, NULL);
}

void cl_route_data(const char *method, const char *pattern, cl_handler_fn fn, unsigned flags,
                   const void *data)
{
    if (nroutes == MAX_ROUTES || strlen(method) >= sizeof routes[0].method || pattern[0] != '/') {
        cl_error("http", "cannot register route %s %s", method, pattern);
        return;
    }
    route *r = &routes[nroutes];
    memset(r, 0, sizeof *r);
    strcpy(r->method, method);
    r->pattern = strdup(pattern);
    if (!r->pattern)
        return;
    char *save = NULL;
    for (char *s = strtok_r(r->pattern, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (strcmp(s, "*") == 0) {
            r->wildcard = 1;
            break;
        }
        if (r->nsegs == MAX_SEGS) {
            cl_error("http", "route %s has too many segments", pattern);
            free(r->pattern);
            return;
        }
        r->segs[r->nsegs++] = s;
    }
    for (int i = 0; i < 2 && i < r->nsegs; i++)
        r->seglen[i] = strlen(r->segs[i]);
    r->fn = fn;
    r->flags = flags;
    r->data = data;
    index_route(nroutes);
    nroutes++;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decode [s, s+len) into a new string (caller frees). NULL on bad escapes or NUL bytes. */
static char *decode_segment(const char *s, size_t len)
{
    char *out = malloc(len + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int h = i + 1 < len ? hexval(s[i + 1]) : -1, l = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (h < 0 || l < 0 || (h == 0 && l == 0)) {
                free(out);
                return NULL;
            }
            *o++ = (char)(h * 16 + l);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* Try one route; on success fill captured params into req (owned strings). */
static int try_route(const route *r, const char *path, cl_req *req)
{
    const char *p = path;
    size_t ncap = 0;
    cl_kv caps[CL_MAX_PATH_PARAMS];
    for (int i = 0; i < r->nsegs; i++) {
        if (*p != '/')
            goto fail;
        p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (r->segs[i][0] == ':') {
            if (len == 0 || ncap == CL_MAX_PATH_PARAMS)
                goto fail;
            char *v = decode_segment(p, len);
            if (!v)
                goto fail;
            caps[ncap].name = r->segs[i] + 1;
            caps[ncap].value = v;
            ncap++;
        } else if (strlen(r->segs[i]) != len || memcmp(r->segs[i], p, len) != 0) {
            goto fail;
        }
        p += len;
    }
    if (!r->wildcard && !(*p == '\0' || (p[0] == '/' && p[1] == '\0')))
        goto fail;
    if (req) {
        for (size_t i = 0; i < ncap; i++)
            req->params[i] = caps[i];
        req->nparams = ncap;
    } else {
        for (size_t i = 0; i < ncap; i++)
            free(caps[i].value);
    }
    return 1;
fail:
    for (size_t i = 0; i < ncap; i++)
        free(caps[i].value);
    return 0;
}

int cl_router_match(const char *method, const char *path, cl_handler_fn *fn, unsigned *flags,
                    cl_req *req)
{
    int path_exists = 0;
    /* The path's first two segments, to skip routes whose literal first or
       second segment differs without trying them (no decoding, no strcmp
       per route on the hot paths). */
    const char *seg[2] = {NULL, NULL};
    size_t seglen[2] = {0, 0};
    const char *q = path;
    for (int k = 0; k < 2 && *q == '/'; k++) {
        seg[k] = q + 1;
        seglen[k] = strcspn(seg[k], "/");
        q = seg[k] + seglen[k];
    }
    const unsigned char *cand = wild;
    int ncand = nwild;
    const bucket *b = seg[0] ? find_bucket(seg[0], seglen[0]) : NULL;
    if (b) {
        cand = b->idx;
        ncand = b->n;
    }
    if (unindexed)
        ncand = nroutes;
    for (int c = 0; c < ncand; c++) {
        const route *r = &routes[unindexed ? c : cand[c]];
        int skip = 0;
        for (int k = 0; k < 2 && k < r->nsegs && !skip; k++)
            skip = r->segs[k][0] != ':' &&
                   (!seg[k] || r->seglen[k] != seglen[k] || memcmp(r->segs[k], seg[k], seglen[k]) != 0);
        if (skip)
            continue;
        int same_method = strcmp(r->method, method) == 0 ||
                          (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0);
        if (!same_method) {
            if (!path_exists && try_route(r, path, NULL))
                path_exists = 1;
            continue;
        }
        if (try_route(r, path, req)) {
            if (req)
                req->route_data = r->data;
            *fn = r->fn;
            *flags = r->flags;
            return 1;
        }
    }
    return path_exists ? -1 : 0;
}

/** Forget every route (tests). */
void cl_router_reset(void)
{
    for (int i = 0; i < nroutes; i++)
        free(routes[i].pattern);
    nroutes = 0;
    nbuckets = nwild = unindexed = 0;
}
