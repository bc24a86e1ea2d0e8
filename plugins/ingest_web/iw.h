/*
 * iw.h — the internals of the ingest_web plugin: URLs, robots.txt, charset
 * conversion and text extraction with gumbo. Private to the plugin (and its
 * unit test, tests/unit/test_ingest_extract.c); nothing here is part of the
 * SDK. Everything is plain C with no host dependency, so it can be tested on
 * HTML strings alone.
 *
 * Ownership: every function that fills a struct allocates its members with
 * malloc; the matching *_free releases them. Errors are return codes (0 ok,
 * -1 failure) with an optional caller-owned message buffer.
 */
#ifndef CL_IW_H
#define CL_IW_H

#include "cliploop_plugin.h" /* clp_buf, the SDK's header-only buffer */

#include <stddef.h>

/* ------------------------------------------------------------------------- */
/* URLs                                                                      */
/* ------------------------------------------------------------------------- */

/** Longest URL the crawler follows (longer links are ignored). */
#define CL_IW_MAX_URL 2048

/**
 * Resolve ref against the absolute base URL (RFC 3986 section 5.2, with dot
 * segments removed) and normalize the result: lower-case scheme and host,
 * default port dropped, empty path "/", fragment dropped, bytes outside
 * printable ASCII percent-encoded. base may be NULL when ref is absolute.
 * Returns 0 with the URL in out (caller-owned, outlen >= CL_IW_MAX_URL), or
 * -1 when the result is not a crawlable http(s) URL (other schemes such as
 * mailto: or javascript:, credentials in the URL, a bad host or port, too long).
 */
int cl_iw_url_resolve(const char *base, const char *ref, char *out, size_t outlen);

/**
 * Split a URL produced by cl_iw_url_resolve: host (lower case, without
 * brackets for IPv6) into host/hostlen, the port (default filled in) into
 * *port, and a pointer into url at the path (with the query) into *path.
 * Returns 0, or -1 if url is not such a URL. Any out-parameter may be NULL.
 */
int cl_iw_url_split(const char *url, char *host, size_t hostlen, int *port, const char **path);

/**
 * Same site: the same host (ignoring a leading "www.") and the same port;
 * http and https of one host count as one site. 1 or 0.
 */
int cl_iw_same_site(const char *a, const char *b);

/* ------------------------------------------------------------------------- */
/* robots.txt (RFC 9309)                                                     */
/* ------------------------------------------------------------------------- */

typedef struct cl_iw_robot_rule {
    char *pattern; /**< path pattern with '*' and a trailing '$' */
    int allow;     /**< 1 Allow, 0 Disallow */
} cl_iw_robot_rule;

/** The rules that apply to one user agent. Free with cl_iw_robots_free. */
typedef struct cl_iw_robots {
    cl_iw_robot_rule *rules;
    size_t n;
    int disallow_all; /**< set by the caller when robots.txt was unreachable (5xx) */
} cl_iw_robots;

/**
 * Parse robots.txt text and keep the rules of the groups naming agent (the
 * product token, compared case-insensitively, e.g. "ClipLoop"), or of the
 * "*" groups when no group names it. Returns 0 or -1 (out of memory).
 */
int cl_iw_robots_parse(const char *txt, size_t len, const char *agent, cl_iw_robots *out);

/**
 * May path (path and query, starting with '/') be fetched? The longest
 * matching rule wins; on a tie Allow wins; no match allows. 1 or 0.
 */
int cl_iw_robots_allowed(const cl_iw_robots *r, const char *path);

/** Free the rules (safe on a zeroed struct). */
void cl_iw_robots_free(cl_iw_robots *r);

/* ------------------------------------------------------------------------- */
/* Character sets                                                            */
/* ------------------------------------------------------------------------- */

/**
 * The charset of an HTML document: the Content-Type's charset parameter,
 * else a <meta charset> / <meta http-equiv="Content-Type"> in the first
 * 1024 bytes, else "utf-8". Writes a lower-case canonical name into out:
 * "utf-8", "windows-1252" (for latin1, iso-8859-1, us-ascii, cp1252 and the
 * other WHATWG labels of windows-1252), or the declared label as given
 * (lower case) for charsets this crawler does not convert.
 */
void cl_iw_detect_charset(const char *body, size_t len, const char *content_type, char *out,
                          size_t outlen);

/**
 * Convert body to UTF-8: "windows-1252" is mapped byte by byte (WHATWG table),
 * "utf-8" is checked, every other charset is converted with iconv(3)
 * (Shift_JIS, ISO-8859-7, KOI8-R, GB18030, …; WHATWG's "shift_jis" reads as
 * windows-31j and "gb2312"/"gbk" as GBK). A charset iconv does not know is
 * read as UTF-8. A UTF-8 byte-order mark is dropped, NUL bytes are removed and
 * invalid sequences become U+FFFD, so the result is always valid UTF-8.
 * Appends to out. 0 or -1 (out of memory).
 */
int cl_iw_to_utf8(const char *body, size_t len, const char *charset, clp_buf *out);

/* ------------------------------------------------------------------------- */
/* Extraction                                                                */
/* ------------------------------------------------------------------------- */

/** Limits of one extracted document. */
#define CL_IW_MAX_HEADINGS 64
#define CL_IW_MAX_HEADING_CHARS 300
#define CL_IW_MAX_LINKS 500
#define CL_IW_MAX_IMAGES 24 /**< image sources kept per page (og:image first) */
#define CL_IW_MAX_COLORS 8  /**< colours kept per page */

/** Pages nesting deeper than this (estimated) or with a tag carrying more
    attributes are refused: gumbo's time and memory grow quadratically with both. */
#define CL_IW_MAX_NESTING 1000
#define CL_IW_MAX_ATTRIBUTES 500

/**
 * A cheap scan of the raw bytes before parsing: an upper estimate of the
 * element nesting depth (void and implicitly closed elements do not nest;
 * comments and script/style contents are skipped) and the most attributes
 * seen on one tag. Not a parser: it only guards gumbo against hostile input.
 */
void cl_iw_prescan(const char *s, size_t len, size_t *max_depth, size_t *max_attrs);

/** What cl_iw_extract finds in one page. Every string is malloc'd UTF-8; free with cl_iw_doc_free. */
typedef struct cl_iw_doc {
    char *title;       /**< <title>, whitespace-normalized; "" if none */
    char *description; /**< <meta name=description> (or og:description); "" if none */
    char **headings;   /**< h1–h6 of the main content, in document order */
    size_t nheadings;
    char *text;        /**< readable main text: one block per line, whitespace normalized */
    char **links;      /**< raw href values of <a> elements (not resolved) */
    size_t nlinks;
    char *base_href;   /**< <base href>, or NULL */
    char **images;     /**< raw sources (not resolved): og:image metas, then <img> of the main content */
    size_t nimages;
    char **colors;     /**< "#RRGGBB": <meta name=theme-color>, then the hex colours of <style> by use */
    size_t ncolors;
    int noindex;       /**< <meta name=robots content=noindex> */
    int nofollow;      /**< <meta name=robots content=nofollow> */
    char charset[32];  /**< the charset the bytes were decoded from */
} cl_iw_doc;

/**
 * Parse an HTML document (raw bytes as served, with the response's
 * Content-Type, which may be NULL) with gumbo and extract title, meta
 * description, headings, main text and links. The main text comes from
 * <main> (or role=main, else the single <article>, else <body>) with script,
 * style, noscript, template, nav, aside, form controls, iframes, SVG, hidden
 * elements, site headers/footers (those outside article/main) and elements
 * whose class or id marks boilerplate (cookie banners, menus, share bars,
 * breadcrumbs, ...) removed. text is cut at max_text bytes (on a character
 * boundary; 0 = no limit). Returns 0; -1 (err set) when out of memory; -2
 * (err set) when cl_iw_prescan finds the page beyond CL_IW_MAX_NESTING or
 * CL_IW_MAX_ATTRIBUTES (the page is refused, not parsed).
 */
int cl_iw_extract(const char *body, size_t len, const char *content_type, size_t max_text,
                  cl_iw_doc *doc, char *err, size_t errlen);

/** Free what cl_iw_extract allocated and zero the struct (safe on a zeroed doc). */
void cl_iw_doc_free(cl_iw_doc *doc);

/** 1 when the Content-Type names HTML (text/html or application/xhtml+xml), else 0. */
int cl_iw_is_html_type(const char *content_type);

#endif
