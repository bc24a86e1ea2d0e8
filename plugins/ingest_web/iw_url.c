/*
 * iw_url.c — resolving and normalizing the links a page contains, and the
 * same-site test the crawler applies to every URL it fetches or lands on
 * after redirects. Parsing and RFC 3986 resolution are libcurl's URL API
 * (curl_url, CURLU_*); what is left here is the crawler's policy: http(s)
 * only, no credentials, lower-case host, no fragment, default port dropped.
 */
#include "iw.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ref without the whitespace browsers ignore: leading and trailing spaces
   and control characters, and every tab, CR and LF inside. Caller frees. */
static char *strip_ws(const char *ref)
{
    while (*ref && (unsigned char)*ref <= ' ')
        ref++;
    size_t n = strlen(ref);
    while (n && (unsigned char)ref[n - 1] <= ' ')
        n--;
    char *s = malloc(n + 1), *d = s;
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (ref[i] != '\t' && ref[i] != '\r' && ref[i] != '\n')
            *d++ = ref[i];
    *d = '\0';
    return s;
}

/* 1 when part of u is set (and not empty). */
static int has_part(CURLU *u, CURLUPart part)
{
    char *v = NULL;
    int set = curl_url_get(u, part, &v, 0) == CURLUE_OK && v && *v;
    curl_free(v);
    return set;
}

int cl_iw_url_resolve(const char *base, const char *ref, char *out, size_t outlen)
{
    const unsigned flags = CURLU_URLENCODE | CURLU_ALLOW_SPACE;
    char *clean = strip_ws(ref), *scheme = NULL, *host = NULL, *url = NULL;
    CURLU *u = curl_url();
    int rc = -1;
    /* "" and "#frag" are the base itself (libcurl would resolve them as a path) */
    int same = base && (!clean || !clean[0] || clean[0] == '#');
    if (!clean || !u || (base && curl_url_set(u, CURLUPART_URL, base, flags) != CURLUE_OK) ||
        (!same && curl_url_set(u, CURLUPART_URL, clean, flags) != CURLUE_OK))
        goto done;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) || has_part(u, CURLUPART_USER) ||
        has_part(u, CURLUPART_PASSWORD) || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        goto done;
    for (char *p = host; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    char *port = NULL;
    int bad_port = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && atoi(port) <= 0;
    curl_free(port);
    if (bad_port || curl_url_set(u, CURLUPART_HOST, host, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &url, CURLU_NO_DEFAULT_PORT) != CURLUE_OK)
        goto done;
    size_t n = strlen(url);
    if (n > CL_IW_MAX_URL || n >= outlen)
        goto done;
    /* percent-escapes in upper case (RFC 3986 6.2.2.1), as pages usually write them,
       so that one link written two ways is one URL for the duplicate check */
    for (size_t i = 0; i < n; i++)
        out[i] = i >= 1 && (url[i - 1] == '%' || (i >= 2 && url[i - 2] == '%')) ? (char)toupper((unsigned char)url[i])
                                                                                : url[i];
    out[n] = '\0';
    rc = 0;
done:
    curl_free(url);
    curl_free(host);
    curl_free(scheme);
    curl_url_cleanup(u);
    free(clean);
    return rc;
}

int cl_iw_url_split(const char *url, char *host, size_t hostlen, int *port, const char **path)
{
    CURLU *u = curl_url();
    char *h = NULL, *p = NULL, *scheme = NULL;
    int rc = -1;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        /* the host without the brackets of an IPv6 literal, in lower case */
        const char *hs = h[0] == '[' ? h + 1 : h;
        size_t hn = strcspn(hs, "]");
        if (!host || hn < hostlen) {
            for (size_t i = 0; host && i < hn; i++)
                host[i] = (char)tolower((unsigned char)hs[i]);
            if (host)
                host[hn] = '\0';
            if (port)
                *port = atoi(p);
            if (path) { /* a normalized URL: the path starts at the first '/' after "//" */
                const char *s = strstr(url, "//");
                s = s ? s + 2 + strcspn(s + 2, "/?#") : NULL;
                *path = s && *s ? s : "/";
            }
            rc = 0;
        }
    }
    curl_free(scheme);
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return rc;
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
