/*
 * iw_url.c — resolving and normalizing the links a page contains (RFC 3986
 * section 5), and the same-site test the crawler applies to every URL it
 * fetches or lands on after redirects.
 */
#include "iw.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The five components of a URI reference, as borrowed slices. A NULL base
   means the component is undefined (which differs from empty). */
typedef struct slice {
    const char *p;
    size_t n;
} slice;

typedef struct uri_ref {
    slice scheme, authority, path, query, fragment;
} uri_ref;

/* RFC 3986 appendix B, by hand. */
static void split_ref(const char *s, uri_ref *u)
{
    memset(u, 0, sizeof *u);
    const char *p = s;
    /* scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" before any / ? # */
    if (isalpha((unsigned char)*p)) {
        const char *q = p;
        while (isalnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.')
            q++;
        if (*q == ':') {
            u->scheme = (slice){p, (size_t)(q - p)};
            p = q + 1;
        }
    }
    if (p[0] == '/' && p[1] == '/') {
        p += 2;
        size_t n = strcspn(p, "/?#");
        u->authority = (slice){p, n};
        p += n;
    }
    size_t n = strcspn(p, "?#");
    u->path = (slice){p, n};
    p += n;
    if (*p == '?') {
        p++;
        n = strcspn(p, "#");
        u->query = (slice){p, n};
        p += n;
    }
    if (*p == '#')
        u->fragment = (slice){p + 1, strlen(p + 1)};
}

/* RFC 3986 5.2.4 remove_dot_segments, from in (n bytes) into out. */
static int remove_dots(const char *in, size_t n, cl_iw_buf *out)
{
    char *s = malloc(n + 1);
    if (!s)
        return -1;
    memcpy(s, in, n);
    s[n] = '\0';
    char *p = s;
    while (*p) {
        if (strncmp(p, "../", 3) == 0)
            p += 3;
        else if (strncmp(p, "./", 2) == 0)
            p += 2;
        else if (strncmp(p, "/./", 3) == 0)
            p += 2;
        else if (strcmp(p, "/.") == 0)
            p[1] = '\0';
        else if (strncmp(p, "/../", 4) == 0 || strcmp(p, "/..") == 0) {
            if (p[3] == '/')
                p += 3;
            else {
                p += 2;
                *p = '/';
            }
            /* drop the last segment of out */
            while (out->len > 0 && out->data[out->len - 1] != '/')
                out->len--;
            if (out->len > 0)
                out->len--;
            if (out->data)
                out->data[out->len] = '\0';
        } else if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0)
            break;
        else {
            size_t seg = 1 + strcspn(p + 1, "/");
            if (*p != '/')
                seg = strcspn(p, "/");
            if (cl_iw_buf_append(out, p, seg)) {
                free(s);
                return -1;
            }
            p += seg;
        }
    }
    free(s);
    return cl_iw_buf_append(out, "", 0);
}

/* Append a path or query, percent-encoding bytes a request line cannot carry. */
static int append_encoded(cl_iw_buf *b, const char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|}", c)) {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (cl_iw_buf_append(b, e, 3))
                return -1;
        } else if (cl_iw_buf_append(b, &p[i], 1))
            return -1;
    }
    return 0;
}

/* Validate and normalize an authority into b: lower-case host, no
   credentials, port 1-65535 and dropped when it is the scheme's default. */
static int append_authority(cl_iw_buf *b, slice a, int https)
{
    if (a.n == 0 || memchr(a.p, '@', a.n))
        return -1;
    const char *end = a.p + a.n, *host = a.p, *host_end, *colon = NULL;
    if (*host == '[') {
        host_end = memchr(host, ']', a.n);
        if (!host_end)
            return -1;
        host_end++;
        for (const char *q = host + 1; q < host_end - 1; q++)
            if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
                return -1;
        if (host_end < end) {
            if (*host_end != ':')
                return -1;
            colon = host_end;
        }
    } else {
        colon = memchr(host, ':', a.n);
        host_end = colon ? colon : end;
        if (host_end == host)
            return -1;
        for (const char *q = host; q < host_end; q++)
            if (!isalnum((unsigned char)*q) && *q != '-' && *q != '.' && *q != '_')
                return -1;
    }
    if (host_end - host > 253)
        return -1;
    for (const char *q = host; q < host_end; q++) {
        char c = (char)tolower((unsigned char)*q);
        if (cl_iw_buf_append(b, &c, 1))
            return -1;
    }
    if (colon && colon + 1 < end) {
        long port = 0;
        for (const char *q = colon + 1; q < end; q++) {
            if (!isdigit((unsigned char)*q) || port > 65535)
                return -1;
            port = port * 10 + (*q - '0');
        }
        if (port < 1 || port > 65535)
            return -1;
        if (port != (https ? 443 : 80)) {
            char pb[16];
            snprintf(pb, sizeof pb, ":%ld", port);
            if (cl_iw_buf_puts(b, pb))
                return -1;
        }
    }
    return 0;
}

static int scheme_is(slice s, const char *name)
{
    return s.p && s.n == strlen(name) && strncasecmp(s.p, name, s.n) == 0;
}

int cl_iw_url_resolve(const char *base, const char *ref, char *out, size_t outlen)
{
    if (!ref)
        return -1;
    /* WHATWG: strip leading/trailing C0 controls and spaces, and drop tabs and newlines. */
    while (*ref && (unsigned char)*ref <= 0x20)
        ref++;
    size_t rn = strlen(ref);
    while (rn > 0 && (unsigned char)ref[rn - 1] <= 0x20)
        rn--;
    if (rn > CL_IW_MAX_URL)
        return -1;
    char *clean = malloc(rn + 1);
    if (!clean)
        return -1;
    size_t cn = 0;
    for (size_t i = 0; i < rn; i++)
        if (ref[i] != '\t' && ref[i] != '\n' && ref[i] != '\r')
            clean[cn++] = ref[i];
    clean[cn] = '\0';

    uri_ref r, bs;
    split_ref(clean, &r);
    memset(&bs, 0, sizeof bs);
    if (base)
        split_ref(base, &bs);

    int rc = -1;
    cl_iw_buf path = {0}, b = {0};
    slice scheme, authority, query = {0};
    if (r.scheme.p) {
        scheme = r.scheme;
        authority = r.authority;
        if (!authority.p)
            goto done; /* "http:foo" — not a crawlable absolute URL */
        if (remove_dots(r.path.p, r.path.n, &path))
            goto done;
        query = r.query;
    } else {
        if (!bs.scheme.p || !bs.authority.p)
            goto done;
        scheme = bs.scheme;
        if (r.authority.p) {
            authority = r.authority;
            if (remove_dots(r.path.p, r.path.n, &path))
                goto done;
            query = r.query;
        } else {
            authority = bs.authority;
            if (r.path.n == 0) {
                if (cl_iw_buf_append(&path, bs.path.p, bs.path.n))
                    goto done;
                query = r.query.p ? r.query : bs.query;
            } else {
                if (r.path.p[0] == '/') {
                    if (remove_dots(r.path.p, r.path.n, &path))
                        goto done;
                } else {
                    /* merge: base path up to its last '/', then ref path */
                    cl_iw_buf merged = {0};
                    const char *slash = NULL;
                    for (size_t i = 0; i < bs.path.n; i++)
                        if (bs.path.p[i] == '/')
                            slash = bs.path.p + i;
                    int e = 0;
                    if (slash)
                        e = cl_iw_buf_append(&merged, bs.path.p, (size_t)(slash - bs.path.p) + 1);
                    else
                        e = cl_iw_buf_append(&merged, "/", 1);
                    e = e || cl_iw_buf_append(&merged, r.path.p, r.path.n);
                    e = e || remove_dots(merged.data, merged.len, &path);
                    cl_iw_buf_free(&merged);
                    if (e)
                        goto done;
                }
                query = r.query;
            }
        }
    }
    int https = scheme_is(scheme, "https");
    if (!https && !scheme_is(scheme, "http"))
        goto done;
    if (cl_iw_buf_puts(&b, https ? "https://" : "http://") || append_authority(&b, authority, https))
        goto done;
    if (path.len == 0 || path.data[0] != '/') {
        if (cl_iw_buf_append(&b, "/", 1))
            goto done;
    }
    if (append_encoded(&b, path.data ? path.data : "", path.len))
        goto done;
    if (query.p) {
        if (cl_iw_buf_append(&b, "?", 1) || append_encoded(&b, query.p, query.n))
            goto done;
    }
    if (b.len >= outlen || b.len > CL_IW_MAX_URL)
        goto done;
    memcpy(out, b.data, b.len + 1);
    rc = 0;
done:
    cl_iw_buf_free(&path);
    cl_iw_buf_free(&b);
    free(clean);
    return rc;
}

int cl_iw_url_split(const char *url, char *host, size_t hostlen, int *port, const char **path)
{
    int https;
    const char *p;
    if (strncmp(url, "https://", 8) == 0) {
        https = 1;
        p = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        https = 0;
        p = url + 7;
    } else
        return -1;
    size_t an = strcspn(p, "/?#");
    const char *aend = p + an, *hs = p, *he, *colon = NULL;
    if (*hs == '[') {
        he = memchr(hs, ']', an);
        if (!he)
            return -1;
        colon = (he + 1 < aend && he[1] == ':') ? he + 1 : NULL;
        hs++;
    } else {
        colon = memchr(hs, ':', an);
        he = colon ? colon : aend;
    }
    if (host) {
        size_t hn = (size_t)(he - hs);
        if (hn >= hostlen)
            return -1;
        for (size_t i = 0; i < hn; i++)
            host[i] = (char)tolower((unsigned char)hs[i]);
        host[hn] = '\0';
    }
    if (port)
        *port = colon ? atoi(colon + 1) : (https ? 443 : 80);
    if (path)
        *path = *aend ? aend : "/";
    return 0;
}

int cl_iw_same_site(const char *a, const char *b)
{
    char ha[300], hb[300];
    int pa, pb;
    if (cl_iw_url_split(a, ha, sizeof ha, &pa, NULL) || cl_iw_url_split(b, hb, sizeof hb, &pb, NULL))
        return 0;
    const char *xa = strncmp(ha, "www.", 4) == 0 ? ha + 4 : ha;
    const char *xb = strncmp(hb, "www.", 4) == 0 ? hb + 4 : hb;
    /* http and https of one host are one site; their default ports differ. */
    int da = pa == 80 || pa == 443, db = pb == 80 || pb == 443;
    return strcmp(xa, xb) == 0 && (pa == pb || (da && db));
}
