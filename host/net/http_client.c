/*
 * http_client.c — the host's outbound HTTP client (cl_host_api.http_do).
 *
 * One libcurl easy handle per call, reused across that call's attempts. The
 * policy lives here so that no plugin has to get it right on its own:
 *
 *   - a whole-transfer deadline per attempt and a connect deadline;
 *   - only http and https, for the first URL and for every redirect;
 *   - redirects only when asked for (CL_HTTP_FOLLOW_REDIRECTS), bounded;
 *   - the private-address guard on every socket libcurl opens (the
 *     open-socket callback sees the resolved peer of each connection,
 *     redirect hops included), so nothing is ever sent to a refused address;
 *   - a cap on the response body, checked while it streams in;
 *   - bounded retries with exponential backoff that honours Retry-After, for
 *     idempotent methods only unless the caller says otherwise;
 *   - cancellation through the call's flag, polled by the progress callback
 *     and between attempts;
 *   - proxies from the environment ignored; TLS peers verified.
 *
 * Return-code contract (docs/http-client.md): CL_OK whenever an HTTP response
 * arrived, whatever its status — the plugin interprets status codes — and a
 * negative code only when no usable response did (transport failure, guard,
 * size cap, cancellation, bad request). Nothing here logs header values,
 * URLs' paths or bodies: they may carry secrets.
 */
#include "net/http_client.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "net/addr_guard.h"
#include "plugins/call.h"

#include <curl/curl.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/version.h"


#define LOG_COMPONENT "http-client"

/** Defaults when neither the request nor cl_cfg says otherwise. */
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_MAX_RESPONSE ((size_t)32 << 20)
#define DEFAULT_MAX_REDIRECTS 5
/** Upper bounds on what a request may ask for. */
#define MAX_RETRIES_LIMIT 10
#define MAX_REDIRECTS_LIMIT 20
#define CONNECT_TIMEOUT_MS 10000
/** Backoff: BACKOFF_BASE_MS * 2^n, at most BACKOFF_CAP_MS. */
#define BACKOFF_BASE_MS 200
#define BACKOFF_CAP_MS 10000
/** A Retry-After longer than this ends the retries (the response is returned). */
#define RETRY_AFTER_CAP_MS 30000
/** Retry-After values are clamped to a day before converting to ms. */
#define RETRY_AFTER_MAX_S 86400
/** Sleeps between attempts are cut into slices this long to notice cancellation. */
#define SLEEP_SLICE_MS 50

/* The size of the ABI 1.0 structs; smaller ones are refused. */
#define REQUEST_V1_SIZE (offsetof(cl_http_request, max_redirects) + sizeof(int))
#define RESPONSE_V1_SIZE (offsetof(cl_http_response, attempts) + sizeof(int))

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init_once(void) { global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

int cl_http_global_init(void)
{
    pthread_once(&global_once, global_init_once);
    if (global_rc != CURLE_OK) {
        cl_error(LOG_COMPONENT, "curl_global_init failed: %s", curl_easy_strerror(global_rc));
        return -1;
    }
    return 0;
}

void cl_http_response_free(cl_http_response *res)
{
    if (!res)
        return;
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
    free(res->effective_url);
    res->effective_url = NULL;
}

/* ------------------------------------------------------------------------- */
/* Per-call transfer state, handed to every libcurl callback                 */
/* ------------------------------------------------------------------------- */

typedef struct xfer {
    CURL *curl;
    cl_call *call;
    cl_buf body;          /* the current attempt's body */
    size_t max_body;      /* cap on body.len */
    int too_big;          /* the write callback refused more data */
    int oom;              /* the write callback ran out of memory */
    int blocked;          /* the open-socket callback refused an address */
    char blocked_msg[512]; /* same size as cl_error.message */
    int allow_loopback;
    const int *loopback_ports; /* CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS, borrowed from cl_cfg */
    int loopback_port_count;
    int retry_after_ms;   /* Retry-After of the final response (CURLINFO_RETRY_AFTER) */
} xfer;

static int is_cancelled(cl_call *call) { return call && atomic_load(&call->cancelled); }

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    xfer *x = arg;
    size_t n = size * nmemb;
    if (n > x->max_body || x->body.len > x->max_body - n) {
        x->too_big = 1;
        return 0; /* any short count aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (cl_buf_append(&x->body, data, n) != 0) {
        x->oom = 1;
        return 0;
    }
    return n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    xfer *x = arg;
    return is_cancelled(x->call); /* non-zero aborts with CURLE_ABORTED_BY_CALLBACK */
}

/* Host part of a URL for messages and logs (never the path or query):
   0, or -1 with out left as it was (a URL without a host, e.g. file:///x). */
static int url_host(const char *url, char *out, size_t outlen)
{
    CURLU *u = curl_url();
    if (!u)
        return -1;
    char *host = NULL;
    int rc = -1;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host) {
        size_t n = strlen(host);
        if (n >= 2 && host[0] == '[' && host[n - 1] == ']') /* IPv6 literal */
            snprintf(out, outlen, "%.*s", (int)(n - 2), host + 1);
        else
            snprintf(out, outlen, "%s", host);
        rc = 0;
    }
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* "ftp:" of "ftp://x/y" into out (letters, digits, + - . only); "" if none. */
static void url_scheme(const char *url, char *out, size_t outlen)
{
    size_t n = 0;
    while (url && n + 2 < outlen && (isalnum((unsigned char)url[n]) || strchr("+-.", url[n])) && url[n])
        n++;
    if (url && url[n] == ':' && n > 0)
        snprintf(out, outlen, "%.*s:", (int)n, url);
    else
        snprintf(out, outlen, "%s", "");
}

/* The guard. Called by libcurl for every socket it wants; refusing returns
   CURL_SOCKET_BAD before any packet is sent. */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    xfer *x = arg;
    const char *why = cl_net_addr_block_reason_ports(&addr->addr, x->allow_loopback,
                                                     x->loopback_ports, x->loopback_port_count);
    if (why) {
        char ip[INET6_ADDRSTRLEN + 1], host[256];
        cl_net_addr_format(&addr->addr, ip, sizeof ip);
        /* During a transfer the effective URL is the one being connected to,
           so the message names the redirect hop rather than the first host. */
        char *eff = NULL;
        host[0] = '\0';
        if (curl_easy_getinfo(x->curl, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
            url_host(eff, host, sizeof host);
        if (host[0] && strcmp(host, "?") != 0 && strcmp(host, ip) != 0)
            snprintf(x->blocked_msg, sizeof x->blocked_msg,
                     "refusing to connect to %s (%s) for host %s", ip, why, host);
        else
            snprintf(x->blocked_msg, sizeof x->blocked_msg, "refusing to connect to %s (%s)", ip,
                     why);
        x->blocked = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

/* ------------------------------------------------------------------------- */
/* Request validation and setup                                              */
/* ------------------------------------------------------------------------- */

#define set_err(err, code, http_status, ...) cl_error_set_http((err), (code), (http_status), 0, __VA_ARGS__)

static int is_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return 0;
    return 1;
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int header_named(const char *h, const char *name)
{
    size_t n = strlen(name);
    return strncasecmp(h, name, n) == 0 && (h[n] == ':' || h[n] == ';');
}

static int method_is_idempotent(const char *m)
{
    static const char *safe[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < sizeof safe / sizeof *safe; i++)
        if (strcmp(m, safe[i]) == 0)
            return 1;
    return 0;
}

/* Validate req (already copied into a full-size struct) before touching curl. */
static int check_request(const cl_http_request *r, const char *method, cl_error *err)
{
    if (!r->url || !*r->url)
        return set_err(err, CL_EINVAL, 0, "http request without a URL");
    if (strncasecmp(r->url, "http://", 7) != 0 && strncasecmp(r->url, "https://", 8) != 0)
        return set_err(err, CL_EINVAL, 0, "only http:// and https:// URLs are allowed");
    if (has_ctl(r->url) || strchr(r->url, ' '))
        return set_err(err, CL_EINVAL, 0, "URL contains spaces or control characters");
    if (!is_token(method))
        return set_err(err, CL_EINVAL, 0, "invalid HTTP method");
    if (r->body_len && !r->body)
        return set_err(err, CL_EINVAL, 0, "body_len is %zu but body is NULL", r->body_len);
    if (r->timeout_ms < 0 || r->max_retries < 0 || r->max_redirects < 0)
        return set_err(err, CL_EINVAL, 0, "negative timeout_ms, max_retries or max_redirects");
    if (r->max_retries > MAX_RETRIES_LIMIT)
        return set_err(err, CL_EINVAL, 0, "max_retries %d exceeds %d", r->max_retries,
                       MAX_RETRIES_LIMIT);
    if (r->max_redirects > MAX_REDIRECTS_LIMIT)
        return set_err(err, CL_EINVAL, 0, "max_redirects %d exceeds %d", r->max_redirects,
                       MAX_REDIRECTS_LIMIT);
    for (const char *const *h = r->headers; h && *h; h++) {
        const char *colon = strchr(*h, ':');
        const char *semi = strchr(*h, ';');
        const char *end = colon ? colon : semi;
        if (!end || end == *h || has_ctl(*h))
            return set_err(err, CL_EINVAL, 0,
                           "header %d is not a single \"Name: value\" line", (int)(h - r->headers));
        char name[128];
        size_t nl = (size_t)(end - *h);
        if (nl >= sizeof name)
            return set_err(err, CL_EINVAL, 0, "header %d has a name longer than %zu bytes",
                           (int)(h - r->headers), sizeof name - 1);
        memcpy(name, *h, nl);
        name[nl] = '\0';
        if (!is_token(name))
            return set_err(err, CL_EINVAL, 0, "header %d has an invalid name",
                           (int)(h - r->headers));
    }
    return CL_OK;
}

/* Build the header list; adds "Expect:" (no 100-continue round trip) unless
   the caller set Expect. *has_ua tells whether the caller set User-Agent. */
static int build_headers(const cl_http_request *r, struct curl_slist **out, int *has_ua)
{
    struct curl_slist *list = NULL, *tmp;
    int has_expect = 0;
    *has_ua = 0;
    for (const char *const *h = r->headers; h && *h; h++) {
        if (header_named(*h, "User-Agent"))
            *has_ua = 1;
        if (header_named(*h, "Expect"))
            has_expect = 1;
        if (!(tmp = curl_slist_append(list, *h)))
            goto oom;
        list = tmp;
    }
    if (!has_expect) {
        if (!(tmp = curl_slist_append(list, "Expect:")))
            goto oom;
        list = tmp;
    }
    *out = list;
    return 0;
oom:
    curl_slist_free_all(list);
    return -1;
}

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if ((crc = curl_easy_setopt(c, opt, val)) != CURLE_OK)                                     \
            goto setopt_failed;                                                                    \
    } while (0)

static int setup_handle(CURL *c, xfer *x, const cl_http_request *r, const char *method,
                        struct curl_slist *headers, int has_ua, long timeout_ms, cl_error *err)
{
    CURLcode crc;
    SETOPT(CURLOPT_URL, r->url);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_PROXY, ""); /* ignore http_proxy & co. from the environment */
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(CURLOPT_TIMEOUT_MS, timeout_ms);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms
                                                                      : (long)CONNECT_TIMEOUT_MS);
    SETOPT(CURLOPT_ACCEPT_ENCODING, ""); /* every encoding curl can decode; the cap counts decoded bytes */
    if (r->flags & CL_HTTP_FOLLOW_REDIRECTS) {
        SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
        SETOPT(CURLOPT_MAXREDIRS,
               (long)(r->max_redirects ? r->max_redirects : DEFAULT_MAX_REDIRECTS));
    } else {
        SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    }
    if (!has_ua)
        SETOPT(CURLOPT_USERAGENT, "ClipLoop/" CLIPLOOP_VERSION);
    SETOPT(CURLOPT_HTTPHEADER, headers);

    /* Method and body. */
    int wants_body = r->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                     strcmp(method, "PATCH") == 0;
    if (strcmp(method, "HEAD") == 0) {
        SETOPT(CURLOPT_NOBODY, 1L);
    } else if (wants_body) {
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        SETOPT(CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
        if (strcmp(method, "POST") != 0)
            SETOPT(CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        SETOPT(CURLOPT_CUSTOMREQUEST, method);
    }

    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_body); /* early refusal by Content-Length */
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, x);
    SETOPT(CURLOPT_NOPROGRESS, 0L);
    SETOPT(CURLOPT_XFERINFOFUNCTION, on_progress);
    SETOPT(CURLOPT_XFERINFODATA, x);
    SETOPT(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    SETOPT(CURLOPT_OPENSOCKETDATA, x);
    return CL_OK;
setopt_failed:
    return set_err(err, crc == CURLE_OUT_OF_MEMORY ? CL_ENOMEM : CL_EINVAL, 0,
                   "http client setup failed: %s", curl_easy_strerror(crc));
}

/* ------------------------------------------------------------------------- */
/* Attempts                                                                  */
/* ------------------------------------------------------------------------- */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep ms in slices; returns non-zero when the call was cancelled meanwhile. */
static int sleep_cancellable(cl_call *call, long ms)
{
    long end = now_ms() + ms;
    for (;;) {
        if (is_cancelled(call))
            return 1;
        long left = end - now_ms();
        if (left <= 0)
            return 0;
        long slice = left < SLEEP_SLICE_MS ? left : SLEEP_SLICE_MS;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
}

/* Transport failures worth another attempt. */
static int transient(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

/* Failures that prove nothing reached the server, so even POST may retry. */
static int nothing_sent(CURLcode rc)
{
    return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT;
}

/* Map a failed transfer to a cl_status with a message naming the host. */
static int map_failure(CURLcode rc, const xfer *x, const char *method, const char *host,
                       const char *eff_url, const char *errbuf, long timeout_ms, cl_error *err)
{
    if (x->blocked && rc == CURLE_COULDNT_CONNECT)
        return set_err(err, CL_EBLOCKED, 0, "%s", x->blocked_msg);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return set_err(err, CL_ECANCELLED, 0, "%s %s: cancelled", method, host);
    if (x->oom || rc == CURLE_OUT_OF_MEMORY)
        return set_err(err, CL_ENOMEM, 0, "%s %s: out of memory", method, host);
    if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return set_err(err, CL_ETOOLARGE, 0,
                       "%s %s: response body exceeds the limit of %zu bytes", method, host,
                       x->max_body);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return set_err(err, CL_ETIMEOUT, 0, "%s %s: no complete response within %ld ms", method,
                       host, timeout_ms);
    if (rc == CURLE_TOO_MANY_REDIRECTS)
        return set_err(err, CL_EUPSTREAM, 0, "%s %s: too many redirects", method, host);
    if (rc == CURLE_UNSUPPORTED_PROTOCOL) {
        char scheme[24];
        url_scheme(eff_url, scheme, sizeof scheme);
        return set_err(err, CL_EUPSTREAM, 0, "%s %s: redirect to a non-http(s) URL (%s) refused", method, host,
                       scheme[0] ? scheme : "unknown scheme");
    }
    if (rc == CURLE_URL_MALFORMAT)
        return set_err(err, CL_EINVAL, 0, "%s: malformed URL", method);
    return set_err(err, CL_EUPSTREAM, 0, "%s %s: %s", method, host,
                   errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

int cl_http_do(cl_call *call, const cl_http_request *req, cl_http_response *res, cl_error *err)
{
    cl_error local_err;
    if (!err)
        err = &local_err;
    *err = (cl_error)CL_ERROR_INIT;
    if (!req || !res)
        return set_err(err, CL_EINVAL, 0, "http_do: NULL request or response");
    if (req->size < REQUEST_V1_SIZE)
        return set_err(err, CL_EINVAL, 0, "http_do: request size %zu is smaller than %zu",
                       req->size, REQUEST_V1_SIZE);
    if (res->size < RESPONSE_V1_SIZE)
        return set_err(err, CL_EINVAL, 0, "http_do: response size %zu is smaller than %zu",
                       res->size, RESPONSE_V1_SIZE);

    /* Read only what the caller's struct has; write only what it has. */
    cl_http_request r;
    memset(&r, 0, sizeof r);
    memcpy(&r, req, req->size < sizeof r ? req->size : sizeof r);
    size_t res_size = res->size;
    memset(res, 0, res_size < sizeof *res ? res_size : sizeof *res);
    res->size = res_size;

    const char *method = r.method ? r.method : "GET";
    int rc = check_request(&r, method, err);
    if (rc != CL_OK)
        return rc;
    if (cl_http_global_init() != 0)
        return set_err(err, CL_EUPSTREAM, 0, "http client unavailable (libcurl init failed)");

    long timeout_ms = r.timeout_ms ? r.timeout_ms
                      : cl_cfg.http_timeout_ms > 0 ? cl_cfg.http_timeout_ms
                                                   : DEFAULT_TIMEOUT_MS;
    char host[256] = "(no host)";
    url_host(r.url, host, sizeof host);

    xfer x;
    memset(&x, 0, sizeof x);
    x.call = call;
    x.max_body = r.max_response_bytes       ? r.max_response_bytes
                 : cl_cfg.http_max_response_bytes ? cl_cfg.http_max_response_bytes
                                                  : DEFAULT_MAX_RESPONSE;
    x.allow_loopback = cl_cfg.http_allow_loopback;
    x.loopback_ports = cl_cfg.http_allow_loopback_ports;
    x.loopback_port_count = cl_cfg.http_allow_loopback_port_count;

    struct curl_slist *headers = NULL;
    int has_ua;
    if (build_headers(&r, &headers, &has_ua) != 0)
        return set_err(err, CL_ENOMEM, 0, "%s %s: out of memory", method, host);
    CURL *c = curl_easy_init();
    if (!c) {
        curl_slist_free_all(headers);
        return set_err(err, CL_ENOMEM, 0, "%s %s: cannot create a curl handle", method, host);
    }
    x.curl = c;
    char errbuf[CURL_ERROR_SIZE];
    errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    rc = setup_handle(c, &x, &r, method, headers, has_ua, timeout_ms, err);

    int retry_ok = method_is_idempotent(method) || (r.flags & CL_HTTP_RETRY_UNSAFE);
    for (int attempt = 1; rc == CL_OK; attempt++) {
        if (is_cancelled(call)) {
            rc = set_err(err, CL_ECANCELLED, 0, "%s %s: cancelled", method, host);
            break;
        }
        cl_buf_free(&x.body);
        x.too_big = x.oom = x.blocked = 0;
        x.retry_after_ms = 0;
        errbuf[0] = '\0';
        res->attempts = attempt;
        long t0 = now_ms();
        CURLcode crc = curl_easy_perform(c);
        /* libcurl reads Retry-After (delay-seconds or an HTTP-date) of the
           last response; 0 when absent or unparseable. */
        curl_off_t retry_after_s = 0;
        if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after_s) == CURLE_OK && retry_after_s > 0)
            x.retry_after_ms = (int)(retry_after_s < RETRY_AFTER_MAX_S ? retry_after_s : RETRY_AFTER_MAX_S) * 1000;

        int retry = 0;
        long status = 0;
        if (crc == CURLE_OK) {
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
            cl_debug(LOG_COMPONENT, "%s %s -> %ld (attempt %d, %ld ms)", method, host, status,
                     attempt, now_ms() - t0);
            retry = retry_ok && (status == 429 || (status >= 500 && status <= 599));
        } else {
            cl_debug(LOG_COMPONENT, "%s %s -> failed: %s (attempt %d, %ld ms)", method, host,
                     curl_easy_strerror(crc), attempt, now_ms() - t0);
            retry = !x.blocked && transient(crc) && (retry_ok || nothing_sent(crc));
        }

        long delay = 0;
        if (retry && attempt <= r.max_retries) {
            long backoff = BACKOFF_BASE_MS << (attempt - 1 < 16 ? attempt - 1 : 16);
            delay = backoff < BACKOFF_CAP_MS ? backoff : BACKOFF_CAP_MS;
            if (crc == CURLE_OK && x.retry_after_ms > 0) {
                if (x.retry_after_ms > RETRY_AFTER_CAP_MS)
                    retry = 0; /* the upstream wants a longer pause than a call may wait */
                else
                    delay = x.retry_after_ms;
            }
        } else {
            retry = 0;
        }

        if (!retry) {
            if (crc != CURLE_OK) {
                /* Name the host that failed: after redirects, the last hop
                   with a host (a refused file:///x has none: the host that
                   redirected there is named). */
                char *eff = NULL;
                if (curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff &&
                    crc != CURLE_UNSUPPORTED_PROTOCOL)
                    url_host(eff, host, sizeof host);
                rc = map_failure(crc, &x, method, host, eff, errbuf, timeout_ms, err);
                break;
            }
            /* A response arrived: hand it over, whatever its status. */
            char *ct = NULL, *eff = NULL;
            res->status = (int)status;
            res->retry_after_ms = x.retry_after_ms;
            if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
                snprintf(res->content_type, sizeof res->content_type, "%s", ct);
            if (curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff &&
                !(res->effective_url = strdup(eff))) {
                rc = set_err(err, CL_ENOMEM, 0, "%s %s: out of memory", method, host);
                break;
            }
            if (!x.body.data && cl_buf_append(&x.body, "", 0) != 0) {
                rc = set_err(err, CL_ENOMEM, 0, "%s %s: out of memory", method, host);
                break;
            }
            res->body_len = x.body.len;
            res->body = cl_buf_steal(&x.body);
            err->http_status = res->status;
            err->retry_after_ms = res->retry_after_ms;
            break;
        }
        if (sleep_cancellable(call, delay)) {
            rc = set_err(err, CL_ECANCELLED, 0, "%s %s: cancelled", method, host);
            break;
        }
    }

    cl_buf_free(&x.body);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    return rc;
}
