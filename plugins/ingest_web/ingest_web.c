/*
 * ingest_web.c — the "web" ingester: crawls one website and returns the
 * readable text of its pages (see docs/ingestion.md).
 *
 * The crawl is breadth-first from the start URL, same site only, honouring
 * the site's robots.txt (token "ClipLoop"), at most max_pages requests, at
 * most max_page_bytes per response, within a total time budget, following
 * at most INGEST_WEB_MAX_REDIRECTS redirects per request, keeping only HTML
 * (by Content-Type). Every request goes through the host's http_do, never a
 * private libcurl: the host checks the resolved address of every connection
 * and every redirect hop against the private-address guard, so a link or a
 * redirect to 10.0.0.1, 169.254.169.254 or a name that resolves inward is
 * refused (outcome "blocked").
 *
 * Output (appended to the host's cl_output): one JSON array with an entry per
 * URL the crawler decided about, in crawl order:
 *   {"url","final_url","status","http_status","content_type","bytes",
 *    "charset","title","description","headings":[…],"text","message"}
 * status is one of ok, noindex, duplicate, robots_disallowed,
 * robots_unavailable, not_html, too_large, http_error, off_site, blocked,
 * timeout, error. title/description/headings/text are filled for "ok" only.
 *
 * Configuration (prefix INGEST_WEB_): MAX_PAGES (default 10), MAX_PAGE_BYTES
 * (2 MiB), TIME_BUDGET_MS (60000), MAX_REDIRECTS (3), REQUEST_TIMEOUT_MS
 * (15000). The request's own non-zero limits win over the defaults.
 */
#include "cliploop_plugin.h"
#include "iw.h"

#include <cjson/cJSON.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USER_AGENT "Mozilla/5.0 (compatible; ClipLoop/1.0; website ingestion)"
#define ROBOTS_TOKEN "ClipLoop"
#define MAX_TEXT_BYTES 100000
#define MAX_ROBOTS_BYTES (512 * 1024)
#define MAX_DISCOVERED 1000


typedef struct settings {
    int max_pages;
    size_t max_page_bytes;
    int time_budget_ms;
    int max_redirects;
    int request_timeout_ms;
} settings;

static settings defaults = {10, 2u * 1024 * 1024, 60000, 3, 15000};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct crawl {
    cl_call *call;
    settings s;
    int64_t deadline;
    char start[CL_IW_MAX_URL + 1];
    char **urls; /* every URL discovered, in order; the queue is urls[next..n) */
    size_t n, next;
    int fetched;  /* requests made for pages */
    cl_iw_robots robots;
    clp_buf out;
    int entries;
} crawl;

static int discovered(const crawl *c, const char *url)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->urls[i], url) == 0)
            return 1;
    return 0;
}

/* Queue url if it is new and same-site. 0, or -1 out of memory. */
static int enqueue(crawl *c, const char *url)
{
    if (c->n >= MAX_DISCOVERED || !cl_iw_same_site(c->start, url) || discovered(c, url))
        return 0;
    char **v = realloc(c->urls, (c->n + 1) * sizeof *v);
    if (!v)
        return -1;
    c->urls = v;
    if (!(c->urls[c->n] = strdup(url)))
        return -1;
    c->n++;
    return 0;
}

static int robots_ok(const crawl *c, const char *url)
{
    const char *path = "/";
    if (cl_iw_url_split(url, NULL, 0, NULL, &path))
        return 0;
    return cl_iw_robots_allowed(&c->robots, path);
}

/* Pages still to be fetched (queued and allowed), for the progress total. */
static int64_t progress_total(const crawl *c)
{
    int64_t total = c->fetched;
    for (size_t i = c->next; i < c->n && total < c->s.max_pages; i++)
        if (robots_ok(c, c->urls[i]))
            total++;
    return total < c->s.max_pages ? total : c->s.max_pages;
}

typedef struct outcome {
    const char *url, *final_url, *status, *content_type, *message;
    int http_status;
    size_t bytes;
    const cl_iw_doc *doc;
    const char *base; /* where the page's relative image sources resolve from */
} outcome;

static int emit(crawl *c, const outcome *o)
{
    const cl_iw_doc *d = o->doc;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "url", o->url);
    cJSON_AddStringToObject(j, "final_url", o->final_url ? o->final_url : o->url);
    cJSON_AddStringToObject(j, "status", o->status);
    cJSON_AddNumberToObject(j, "http_status", o->http_status);
    cJSON_AddNumberToObject(j, "bytes", (double)o->bytes);
    cJSON_AddStringToObject(j, "content_type", o->content_type ? o->content_type : "");
    cJSON_AddStringToObject(j, "message", o->message ? o->message : "");
    cJSON_AddStringToObject(j, "charset", d ? d->charset : "");
    cJSON_AddStringToObject(j, "title", d ? d->title : "");
    cJSON_AddStringToObject(j, "description", d ? d->description : "");
    cJSON *h = cJSON_AddArrayToObject(j, "headings");
    for (size_t i = 0; d && i < d->nheadings; i++)
        cJSON_AddItemToArray(h, cJSON_CreateString(d->headings[i]));
    cJSON_AddStringToObject(j, "text", d ? d->text : "");
    /* images (absolute http(s) URLs, each once) and colours, for the media library (docs/media.md) */
    cJSON *im = cJSON_AddArrayToObject(j, "images");
    for (size_t i = 0; d && o->base && i < d->nimages; i++) {
        char u[CL_IW_MAX_URL + 1];
        if (cl_iw_url_resolve(o->base, d->images[i], u, sizeof u) != 0)
            continue;
        int seen = 0;
        for (int k = 0; k < cJSON_GetArraySize(im) && !seen; k++)
            seen = strcmp(cJSON_GetArrayItem(im, k)->valuestring, u) == 0;
        if (!seen)
            cJSON_AddItemToArray(im, cJSON_CreateString(u));
    }
    cJSON *co = cJSON_AddArrayToObject(j, "colors");
    for (size_t i = 0; d && i < d->ncolors; i++)
        cJSON_AddItemToArray(co, cJSON_CreateString(d->colors[i]));
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    int e = !text || (c->entries++ && clp_buf_puts(&c->out, ",")) || clp_buf_puts(&c->out, text);
    free(text);
    return e ? -1 : 0;
}

static int remaining_ms(const crawl *c) { return (int)(c->deadline - now_ms()); }

static int request_timeout(const crawl *c)
{
    int left = remaining_ms(c);
    return left < c->s.request_timeout_ms ? left : c->s.request_timeout_ms;
}

static const char *const req_headers[] = {
    "User-Agent: " USER_AGENT, "Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.1", NULL};

/* Fetch robots.txt of the start URL's origin. Returns CL_OK (robots set,
   possibly disallow_all), CL_EBLOCKED/other transport codes for the caller
   to report, or CL_ECANCELLED / CL_ENOMEM. */
static int load_robots(crawl *c, cl_error *err, char *why, size_t whylen)
{
    char url[CL_IW_MAX_URL + 1];
    if (cl_iw_url_resolve(c->start, "/robots.txt", url, sizeof url))
        return CL_EINVAL;
    cl_http_request req = {.size = sizeof req, .method = "GET", .url = url, .headers = req_headers,
                           .timeout_ms = request_timeout(c), .max_response_bytes = MAX_ROBOTS_BYTES,
                           .flags = CL_HTTP_FOLLOW_REDIRECTS, .max_redirects = 5};
    cl_http_response res = {.size = sizeof res};
    int rc = clp_http_do(c->call, &req, &res, err);
    if (rc == CL_ECANCELLED || rc == CL_ENOMEM || rc == CL_EBLOCKED) {
        clp_http_response_free(&res);
        return rc;
    }
    if (rc != CL_OK) {
        /* RFC 9309 2.3.1.4: an unreachable robots.txt means "disallow all". */
        c->robots.disallow_all = 1;
        snprintf(why, whylen, "robots.txt could not be fetched (%s); nothing may be crawled",
                 err->message);
    } else if (res.status >= 200 && res.status < 300) {
        if (cl_iw_robots_parse(res.body, res.body_len, ROBOTS_TOKEN, &c->robots))
            rc = CL_ENOMEM;
    } else if (res.status >= 500) {
        c->robots.disallow_all = 1;
        snprintf(why, whylen, "robots.txt answered HTTP %d; nothing may be crawled", res.status);
    } /* 4xx: no robots.txt, everything allowed (RFC 9309 2.3.1.3) */
    clp_http_response_free(&res);
    return rc;
}

static const char *transport_status(int rc, const cl_error *err)
{
    switch (rc) {
    case CL_EBLOCKED: return "blocked";
    case CL_ETIMEOUT: return "timeout";
    case CL_ETOOLARGE: return "too_large";
    default: return "error";
    }
}

/* Fetch one page and emit its outcome. CL_OK, CL_ECANCELLED or CL_ENOMEM. */
static int fetch_page(crawl *c, const char *url)
{
    cl_error err = {0};
    cl_http_request req = {.size = sizeof req, .method = "GET", .url = url, .headers = req_headers,
                           .timeout_ms = request_timeout(c), .max_response_bytes = c->s.max_page_bytes,
                           .flags = c->s.max_redirects > 0 ? CL_HTTP_FOLLOW_REDIRECTS : 0,
                           .max_redirects = c->s.max_redirects};
    cl_http_response res = {.size = sizeof res};
    c->fetched++;
    int rc = clp_http_do(c->call, &req, &res, &err);
    if (rc == CL_ECANCELLED || rc == CL_ENOMEM) {
        clp_http_response_free(&res);
        return rc;
    }
    outcome o = {.url = url};
    char final[CL_IW_MAX_URL + 1] = "", msg[600] = "";
    cl_iw_doc doc = {0};
    int have_doc = 0, erc;
    if (rc != CL_OK) {
        o.status = transport_status(rc, &err);
        o.message = err.message;
    } else {
        o.http_status = res.status;
        o.bytes = res.body_len;
        o.content_type = res.content_type;
        if (cl_iw_url_resolve(NULL, res.effective_url ? res.effective_url : url, final,
                              sizeof final))
            snprintf(final, sizeof final, "%s", url);
        o.final_url = final;
        if (res.status < 200 || res.status > 299) {
            o.status = "http_error";
            snprintf(msg, sizeof msg, "HTTP %d", res.status);
        } else if (!cl_iw_same_site(c->start, final)) {
            o.status = "off_site";
            snprintf(msg, sizeof msg, "redirected to another site");
        } else if (strcmp(final, url) != 0 && !robots_ok(c, final)) {
            o.status = "robots_disallowed";
            snprintf(msg, sizeof msg, "redirected to a path robots.txt disallows");
        } else if (strcmp(final, url) != 0 && discovered(c, final)) {
            o.status = "duplicate";
            snprintf(msg, sizeof msg, "redirected to a page already crawled");
        } else if (!cl_iw_is_html_type(res.content_type)) {
            o.status = "not_html";
            snprintf(msg, sizeof msg, "Content-Type is %s", res.content_type[0] ? res.content_type : "missing");
        } else if ((erc = cl_iw_extract(res.body, res.body_len, res.content_type, MAX_TEXT_BYTES, &doc,
                                        msg, sizeof msg)) == -1) {
            clp_http_response_free(&res);
            return CL_ENOMEM;
        } else if (erc == -2) {
            o.status = "error";
        } else {
            have_doc = 1;
            if (strcmp(final, url) != 0 && enqueue(c, final)) {
                /* remember the final URL so links to it are not fetched again */
                cl_iw_doc_free(&doc);
                clp_http_response_free(&res);
                return CL_ENOMEM;
            }
            o.status = doc.noindex ? "noindex" : "ok";
            if (doc.noindex)
                snprintf(msg, sizeof msg, "the page asks not to be indexed");
            if (!doc.nofollow) {
                char base[CL_IW_MAX_URL + 1];
                if (!doc.base_href || cl_iw_url_resolve(final, doc.base_href, base, sizeof base))
                    snprintf(base, sizeof base, "%s", final);
                for (size_t i = 0; i < doc.nlinks; i++) {
                    char link[CL_IW_MAX_URL + 1];
                    if (cl_iw_url_resolve(base, doc.links[i], link, sizeof link) == 0 &&
                        enqueue(c, link)) {
                        cl_iw_doc_free(&doc);
                        clp_http_response_free(&res);
                        return CL_ENOMEM;
                    }
                }
            }
        }
        o.message = msg;
    }
    o.doc = have_doc && !doc.noindex ? &doc : NULL;
    char img_base[CL_IW_MAX_URL + 1];
    if (o.doc) {
        if (!doc.base_href || cl_iw_url_resolve(final, doc.base_href, img_base, sizeof img_base))
            snprintf(img_base, sizeof img_base, "%s", final);
        o.base = img_base;
    }
    int e = emit(c, &o);
    cl_iw_doc_free(&doc);
    clp_http_response_free(&res);
    return e ? CL_ENOMEM : CL_OK;
}

static int web_ingest(void *self, cl_call *call, const cl_ingest_request *req, cl_output *out,
                      cl_error *err)
{
    (void)self;
    crawl c = {.call = call, .s = defaults};
    if (req->max_pages > 0)
        c.s.max_pages = req->max_pages;
    if (req->max_page_bytes > 0)
        c.s.max_page_bytes = req->max_page_bytes;
    if (req->time_budget_ms > 0)
        c.s.time_budget_ms = req->time_budget_ms;
    c.deadline = now_ms() + c.s.time_budget_ms;
    if (!req->url || cl_iw_url_resolve(NULL, req->url, c.start, sizeof c.start)) {
        err->code = CL_EINVAL;
        snprintf(err->message, sizeof err->message, "the start URL is not an http(s) URL");
        return CL_EINVAL;
    }
    int rc = CL_OK;
    char why[700] = "";
    cl_error rerr = {0};
    if (clp_buf_puts(&c.out, "[") || enqueue(&c, c.start)) {
        rc = CL_ENOMEM;
        goto done;
    }
    clp_progress(call, 0, 1);
    rc = load_robots(&c, &rerr, why, sizeof why);
    if (rc == CL_EBLOCKED) {
        /* The site itself is refused: report the start URL, fetch nothing. */
        outcome o = {.url = c.start, .status = "blocked", .message = rerr.message};
        rc = emit(&c, &o) ? CL_ENOMEM : CL_OK;
        goto finish;
    }
    if (rc != CL_OK)
        goto done;

    while (c.next < c.n) {
        if (clp_cancelled(call)) {
            rc = CL_ECANCELLED;
            goto done;
        }
        if (c.fetched >= c.s.max_pages || remaining_ms(&c) <= 0)
            break;
        const char *url = c.urls[c.next++];
        if (!robots_ok(&c, url)) {
            outcome o = {.url = url,
                         .status = c.robots.disallow_all ? "robots_unavailable" : "robots_disallowed",
                         .message = c.robots.disallow_all ? why : "robots.txt disallows this path"};
            if (emit(&c, &o)) {
                rc = CL_ENOMEM;
                goto done;
            }
            continue;
        }
        rc = fetch_page(&c, url);
        if (rc != CL_OK)
            goto done;
        clp_progress(call, c.fetched, progress_total(&c));
    }
finish:
    clp_progress(call, c.fetched, c.fetched);
    if (clp_buf_puts(&c.out, "]") || clp_output_append(out, c.out.data, c.out.len))
        rc = CL_ENOMEM;
done:
    if (rc == CL_ENOMEM) {
        err->code = CL_ENOMEM;
        snprintf(err->message, sizeof err->message, "out of memory");
    } else if (rc == CL_ECANCELLED) {
        err->code = CL_ECANCELLED;
        snprintf(err->message, sizeof err->message, "cancelled");
    } else if (rc != CL_OK && !err->message[0]) {
        err->code = rc;
        snprintf(err->message, sizeof err->message, "%s", rerr.message);
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.urls[i]);
    free(c.urls);
    cl_iw_robots_free(&c.robots);
    clp_buf_free(&c.out);
    return rc;
}

static int web_setup(cl_error *err)
{
    (void)err;
    defaults.max_pages = (int)clp_config_range("MAX_PAGES", defaults.max_pages, 1, 500);
    defaults.max_page_bytes =
        (size_t)clp_config_range("MAX_PAGE_BYTES", (long)defaults.max_page_bytes, 1024, 64L * 1024 * 1024);
    defaults.time_budget_ms = (int)clp_config_range("TIME_BUDGET_MS", defaults.time_budget_ms, 100, 3600000);
    defaults.max_redirects = (int)clp_config_range("MAX_REDIRECTS", defaults.max_redirects, 0, 10);
    defaults.request_timeout_ms =
        (int)clp_config_range("REQUEST_TIMEOUT_MS", defaults.request_timeout_ms, 100, 600000);
    static cl_ingester ing = {
        .base = {.kind = CL_CAP_INGESTER,
                 .id = "web",
                 .description = "Crawls a website (same site, robots.txt, HTML only) and extracts readable text"},
        .ingest = web_ingest};
    return clp_register(&ing);
}

CL_PLUGIN("ingest_web", "1.0.0", "INGEST_WEB", web_setup)
