/*
 * iw_extract.c — from HTML bytes to readable text, with gumbo (an HTML5
 * tree-construction parser: the tree it builds is the one a browser builds,
 * however broken the markup). Bytes are first decoded to UTF-8 (gumbo reads
 * UTF-8 only), then the tree is walked twice: once over the whole document
 * for the title, meta tags, <base> and links, and once over the main content
 * for headings and text, skipping what is not content.
 */
#include "iw.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <gumbo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------- */
/* Charsets                                                                  */
/* ------------------------------------------------------------------------- */

/* WHATWG Encoding: the labels of windows-1252 (which is what browsers use for
   every "latin1"/"iso-8859-1"/"us-ascii" declaration) and of UTF-8. */
static const char *const cp1252_labels[] = {
    "ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1",
    "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1",
    "us-ascii", "windows-1252", "x-cp1252", NULL};
static const char *const utf8_labels[] = {"unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8",
                                          "utf-8", "utf8", "x-unicode20utf8", NULL};

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcasecmp(s, *list) == 0)
            return 1;
    return 0;
}

/* Read a charset value starting at p (after "charset"): optional spaces, '=',
   optional quote, then the label. Returns 1 with the label in out. */
static int read_charset_value(const char *p, const char *end, char *out, size_t outlen)
{
    while (p < end && isspace((unsigned char)*p))
        p++;
    if (p >= end || *p != '=')
        return 0;
    p++;
    while (p < end && isspace((unsigned char)*p))
        p++;
    if (p < end && (*p == '"' || *p == '\''))
        p++;
    size_t n = 0;
    while (p < end && n + 1 < outlen &&
           (isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == ':' || *p == '.'))
        out[n++] = (char)tolower((unsigned char)*p++);
    out[n] = '\0';
    return n > 0;
}

static void canonical_charset(const char *label, char *out, size_t outlen)
{
    if (in_list(label, cp1252_labels))
        snprintf(out, outlen, "windows-1252");
    else if (in_list(label, utf8_labels))
        snprintf(out, outlen, "utf-8");
    else
        snprintf(out, outlen, "%s", label);
}

void cl_iw_detect_charset(const char *body, size_t len, const char *content_type, char *out,
                          size_t outlen)
{
    char label[40];
    /* A UTF-8 byte-order mark wins over any declaration (as in browsers). */
    if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) {
        snprintf(out, outlen, "utf-8");
        return;
    }
    if (content_type) {
        const char *c = strcasestr(content_type, "charset");
        if (c && read_charset_value(c + 7, c + strlen(c), label, sizeof label)) {
            canonical_charset(label, out, outlen);
            return;
        }
    }
    /* Prescan: <meta ... charset=...> within the first 1024 bytes. */
    size_t n = len < 1024 ? len : 1024;
    const char *p = body, *end = body + n;
    while (p < end) {
        const char *m = memchr(p, '<', (size_t)(end - p));
        if (!m)
            break;
        if (end - m >= 5 && strncasecmp(m, "<meta", 5) == 0) {
            const char *close = memchr(m, '>', (size_t)(end - m));
            const char *te = close ? close : end;
            for (const char *q = m + 5; q + 7 <= te; q++)
                if (strncasecmp(q, "charset", 7) == 0 &&
                    read_charset_value(q + 7, te, label, sizeof label)) {
                    canonical_charset(label, out, outlen);
                    return;
                }
        }
        p = m + 1;
    }
    snprintf(out, outlen, "utf-8");
}

static const uint16_t cp1252_high[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

static int put_cp(clp_buf *out, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return clp_buf_append(out, b, n);
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t min, cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
        cp = c & 0x07;
    } else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* The iconv(3) name for a (lower-case) WHATWG label, or NULL when the label
   is not a plain charset name. WHATWG decodes "shift_jis" as windows-31j and
   "gb2312"/"gbk" as GBK, supersets that pages labelled so actually use. */
static const char *iconv_name(const char *label, char *buf, size_t len)
{
    static const struct {
        const char *label, *name;
    } alias[] = {{"shift_jis", "CP932"}, {"sjis", "CP932"},     {"ms_kanji", "CP932"},  {"x-sjis", "CP932"},
                 {"windows-31j", "CP932"}, {"csshiftjis", "CP932"}, {"gb2312", "GBK"}, {"gbk", "GBK"},
                 {"x-gbk", "GBK"},         {"chinese", "GBK"},   {"csgb2312", "GBK"}, {"big5", "BIG5-HKSCS"}};
    for (size_t i = 0; i < sizeof alias / sizeof *alias; i++)
        if (strcmp(label, alias[i].label) == 0)
            return alias[i].name;
    if (!label[0] || strspn(label, "abcdefghijklmnopqrstuvwxyz0123456789-_.:") != strlen(label))
        return NULL;
    snprintf(buf, len, "%s", label);
    return buf;
}

/* Convert with iconv(3); an invalid or incomplete sequence becomes U+FFFD and
   NUL characters are dropped. 0, -1 (out of memory) or 1 (iconv does not know
   the charset: nothing appended). */
static int iconv_to_utf8(const char *body, size_t len, const char *charset, clp_buf *out)
{
    char namebuf[48];
    const char *name = iconv_name(charset, namebuf, sizeof namebuf);
    iconv_t cd = name ? iconv_open("UTF-8", name) : (iconv_t)-1;
    if (cd == (iconv_t)-1)
        return 1;
    char *in = (char *)(uintptr_t)body, chunk[4096];
    size_t left = len;
    int rc = 0;
    while (rc == 0) {
        char *o = chunk;
        size_t room = sizeof chunk;
        size_t n = left ? iconv(cd, &in, &left, &o, &room) : iconv(cd, NULL, NULL, &o, &room);
        int e = n == (size_t)-1 ? errno : 0;
        for (char *p = chunk, *z; p < o && rc == 0; p = z + 1) { /* drop NULs, keep the rest */
            z = memchr(p, 0, (size_t)(o - p));
            z = z ? z : o;
            rc = clp_buf_append(out, p, (size_t)(z - p));
        }
        if (rc || (!e && !left))
            break;
        if (e == EILSEQ || e == EINVAL) { /* one bad byte, or a sequence cut at the end */
            rc = clp_buf_puts(out, "\xEF\xBF\xBD");
            in += e == EILSEQ ? 1 : left;
            left -= e == EILSEQ ? 1 : left;
        } else if (e != E2BIG && e != 0) {
            rc = -1;
        }
    }
    iconv_close(cd);
    return rc ? -1 : clp_buf_append(out, "", 0);
}

int cl_iw_to_utf8(const char *body, size_t len, const char *charset, clp_buf *out)
{
    const unsigned char *s = (const unsigned char *)body;
    if (charset && strcmp(charset, "utf-8") != 0 && strcmp(charset, "windows-1252") != 0) {
        int rc = iconv_to_utf8(body, len, charset, out);
        if (rc <= 0)
            return rc;
        /* a charset iconv does not know: read the bytes as UTF-8 */
    }
    if (charset && strcmp(charset, "windows-1252") == 0) {
        for (size_t i = 0; i < len; i++) {
            unsigned char c = s[i];
            uint32_t cp = c < 0x80 ? c : c < 0xA0 ? cp1252_high[c - 0x80] : c;
            if (c != 0 && put_cp(out, cp))
                return -1;
        }
        return clp_buf_append(out, "", 0);
    }
    size_t i = 0;
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len) {
        size_t run = i;
        size_t l;
        while (i < len && s[i] != 0 && (l = utf8_valid_len(s + i, len - i)) > 0)
            i += l;
        if (clp_buf_append(out, s + run, i - run))
            return -1;
        if (i < len) {
            if (s[i] != 0 && clp_buf_puts(out, "\xEF\xBF\xBD"))
                return -1;
            i++;
        }
    }
    return clp_buf_append(out, "", 0);
}

int cl_iw_is_html_type(const char *ct)
{
    if (!ct)
        return 0;
    while (isspace((unsigned char)*ct))
        ct++;
    size_t n = strcspn(ct, "; \t");
    return (n == 9 && strncasecmp(ct, "text/html", 9) == 0) ||
           (n == 21 && strncasecmp(ct, "application/xhtml+xml", 21) == 0);
}

/* ------------------------------------------------------------------------- */
/* Normalized text                                                           */
/* ------------------------------------------------------------------------- */

/* Text accumulated with whitespace collapsed: runs of spaces (including
   no-break space) become one space, blocks are separated by one newline. */
typedef struct text_acc {
    clp_buf b;
    int line_start; /* nothing on the current line yet */
    int pending_space;
    int oom;
} text_acc;

static void acc_init(text_acc *a)
{
    memset(a, 0, sizeof *a);
    a->line_start = 1;
}

static void acc_text(text_acc *a, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p && !a->oom) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v') {
            a->pending_space = 1;
            p++;
            continue;
        }
        if (p[0] == 0xC2 && p[1] == 0xA0) { /* U+00A0 no-break space */
            a->pending_space = 1;
            p += 2;
            continue;
        }
        if (p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0x8B) { /* U+200B zero-width space */
            p += 3;
            continue;
        }
        const unsigned char *start = p;
        while (*p && !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' ||
                       *p == '\v' || (p[0] == 0xC2 && p[1] == 0xA0) ||
                       (p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0x8B)))
            p++;
        if (a->pending_space && !a->line_start && clp_buf_append(&a->b, " ", 1))
            a->oom = 1;
        if (clp_buf_append(&a->b, start, (size_t)(p - start)))
            a->oom = 1;
        a->pending_space = 0;
        a->line_start = 0;
    }
}

static void acc_break(text_acc *a)
{
    if (!a->line_start && !a->oom && clp_buf_append(&a->b, "\n", 1))
        a->oom = 1;
    a->line_start = 1;
    a->pending_space = 0;
}

/* Take the accumulated string (never NULL unless out of memory). */
static char *acc_take(text_acc *a)
{
    if (a->oom) {
        clp_buf_free(&a->b);
        return NULL;
    }
    while (a->b.len > 0 && a->b.data[a->b.len - 1] == '\n')
        a->b.data[--a->b.len] = '\0';
    if (!a->b.data && clp_buf_append(&a->b, "", 0))
        return NULL;
    char *s = a->b.data;
    a->b.data = NULL;
    a->b.len = a->b.cap = 0;
    return s;
}

/* Cut s at max bytes on a character boundary. */
static void utf8_truncate(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    s[max] = '\0';
}

/* ------------------------------------------------------------------------- */
/* Tree walk                                                                 */
/* ------------------------------------------------------------------------- */

/* Deeper nesting than this is ignored (the walk is recursive). */
#define MAX_DEPTH 400

static const char *attr(const GumboNode *n, const char *name)
{
    if (n->type != GUMBO_NODE_ELEMENT)
        return NULL;
    GumboAttribute *a = gumbo_get_attribute(&n->v.element.attributes, name);
    return a ? a->value : NULL;
}

static int is_block(GumboTag t)
{
    switch (t) {
    case GUMBO_TAG_ADDRESS: case GUMBO_TAG_ARTICLE: case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_BR: case GUMBO_TAG_CAPTION: case GUMBO_TAG_DD:
    case GUMBO_TAG_DETAILS: case GUMBO_TAG_DIV: case GUMBO_TAG_DL: case GUMBO_TAG_DT:
    case GUMBO_TAG_FIELDSET: case GUMBO_TAG_FIGCAPTION: case GUMBO_TAG_FIGURE:
    case GUMBO_TAG_FOOTER: case GUMBO_TAG_FORM: case GUMBO_TAG_H1: case GUMBO_TAG_H2:
    case GUMBO_TAG_H3: case GUMBO_TAG_H4: case GUMBO_TAG_H5: case GUMBO_TAG_H6:
    case GUMBO_TAG_HEADER: case GUMBO_TAG_HR: case GUMBO_TAG_LI: case GUMBO_TAG_MAIN:
    case GUMBO_TAG_NAV: case GUMBO_TAG_OL: case GUMBO_TAG_P: case GUMBO_TAG_PRE:
    case GUMBO_TAG_SECTION: case GUMBO_TAG_SUMMARY: case GUMBO_TAG_TABLE: case GUMBO_TAG_TR:
    case GUMBO_TAG_UL: case GUMBO_TAG_BODY:
        return 1;
    default:
        return 0;
    }
}

static int is_heading(GumboTag t)
{
    return t == GUMBO_TAG_H1 || t == GUMBO_TAG_H2 || t == GUMBO_TAG_H3 || t == GUMBO_TAG_H4 ||
           t == GUMBO_TAG_H5 || t == GUMBO_TAG_H6;
}

/* Elements that never hold readable content. */
static int never_content(GumboTag t)
{
    switch (t) {
    case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE: case GUMBO_TAG_HEAD: case GUMBO_TAG_TITLE: case GUMBO_TAG_NAV:
    case GUMBO_TAG_ASIDE: case GUMBO_TAG_BUTTON: case GUMBO_TAG_SELECT:
    case GUMBO_TAG_TEXTAREA: case GUMBO_TAG_IFRAME: case GUMBO_TAG_SVG: case GUMBO_TAG_MATH:
    case GUMBO_TAG_CANVAS: case GUMBO_TAG_OBJECT: case GUMBO_TAG_EMBED: case GUMBO_TAG_AUDIO:
    case GUMBO_TAG_VIDEO: case GUMBO_TAG_MENU: case GUMBO_TAG_DATALIST:
        return 1;
    default:
        return 0;
    }
}

/* class/id words that mark boilerplate anywhere, and those that mark it only
   outside the main content (a header inside an article is the article's).
   "menu" is deliberately absent: for a restaurant, the menu is the content. */
static const char *const boiler_words[] = {
    "cookie", "cookies", "consent", "gdpr", "breadcrumb", "breadcrumbs", "sidebar", "menubar",
    "navbar", "nav", "navigation", "share", "sharing", "social", "advert", "advertisement",
    "ads", "popup", "modal", "newsletter", "related", "comments", NULL};
static const char *const chrome_words[] = {"header", "footer", "masthead", "topbar", NULL};
static const char *const boiler_phrases[] = {"sr-only", "screen-reader", "visually-hidden",
                                             "skip-link", "skip-to", NULL};

static int has_word(const char *v, const char *const *words)
{
    const char *p = v;
    while (*p) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *s = p;
        while (isalnum((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - s);
        for (const char *const *w = words; n && *w; w++)
            if (strlen(*w) == n && strncasecmp(s, *w, n) == 0)
                return 1;
    }
    return 0;
}

static int has_phrase(const char *v)
{
    for (const char *const *w = boiler_phrases; *w; w++)
        if (strcasestr(v, *w))
            return 1;
    return 0;
}

/* Is this element hidden or boilerplate? in_content: inside main/article. */
static int skip_element(const GumboNode *n, int in_content)
{
    GumboTag t = n->v.element.tag;
    if (never_content(t))
        return 1;
    if ((t == GUMBO_TAG_HEADER || t == GUMBO_TAG_FOOTER) && !in_content)
        return 1;
    if (attr(n, "hidden"))
        return 1;
    const char *v = attr(n, "aria-hidden");
    if (v && strcasecmp(v, "true") == 0)
        return 1;
    if ((v = attr(n, "role")) &&
        (strcasecmp(v, "navigation") == 0 || strcasecmp(v, "banner") == 0 ||
         strcasecmp(v, "contentinfo") == 0 || strcasecmp(v, "complementary") == 0 ||
         strcasecmp(v, "search") == 0 || strcasecmp(v, "dialog") == 0 ||
         strcasecmp(v, "alertdialog") == 0 || strcasecmp(v, "menu") == 0 ||
         strcasecmp(v, "menubar") == 0))
        return 1;
    if ((v = attr(n, "style"))) {
        char compact[256];
        size_t k = 0;
        for (const char *p = v; *p && k + 1 < sizeof compact; p++)
            if (!isspace((unsigned char)*p))
                compact[k++] = (char)tolower((unsigned char)*p);
        compact[k] = '\0';
        if (strstr(compact, "display:none") || strstr(compact, "visibility:hidden"))
            return 1;
    }
    const char *names[2] = {attr(n, "class"), attr(n, "id")};
    for (int i = 0; i < 2; i++) {
        if (!names[i])
            continue;
        if (has_word(names[i], boiler_words) || has_phrase(names[i]))
            return 1;
        if (!in_content && has_word(names[i], chrome_words))
            return 1;
    }
    return 0;
}

/* All text under n (for titles and headings): whitespace collapsed. */
static void plain_text(const GumboNode *n, text_acc *a, int depth)
{
    if (depth > MAX_DEPTH)
        return;
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE ||
        n->type == GUMBO_NODE_CDATA) {
        acc_text(a, n->v.text.text);
        return;
    }
    if (n->type != GUMBO_NODE_ELEMENT)
        return;
    GumboTag t = n->v.element.tag;
    if (t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE || t == GUMBO_TAG_TEMPLATE)
        return;
    if (t == GUMBO_TAG_BR)
        a->pending_space = 1;
    const GumboVector *c = &n->v.element.children;
    for (unsigned i = 0; i < c->length; i++)
        plain_text(c->data[i], a, depth + 1);
}

typedef struct walk {
    cl_iw_doc *doc;
    text_acc text;
    int oom;
    struct {
        unsigned rgb, n;
    } css[32]; /* hex colours seen in <style>, with their use counts */
    size_t ncss;
} walk;

static int push_str(char ***v, size_t *n, size_t max, char *s)
{
    if (*n >= max) {
        free(s);
        return 0;
    }
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) {
        free(s);
        return -1;
    }
    nv[(*n)++] = s;
    *v = nv;
    return 0;
}

/* The content walk: headings and text. */
static void content_walk(walk *w, const GumboNode *n, int in_content, int depth)
{
    if (depth > MAX_DEPTH || w->oom)
        return;
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE ||
        n->type == GUMBO_NODE_CDATA) {
        acc_text(&w->text, n->v.text.text);
        return;
    }
    if (n->type != GUMBO_NODE_ELEMENT)
        return;
    GumboTag t = n->v.element.tag;
    if (skip_element(n, in_content))
        return;
    if (t == GUMBO_TAG_MAIN || t == GUMBO_TAG_ARTICLE)
        in_content = 1;
    if (t == GUMBO_TAG_TD || t == GUMBO_TAG_TH)
        w->text.pending_space = 1;
    if (t == GUMBO_TAG_IMG) {
        /* lazy-loading pages keep the real source in data-src */
        const char *src = attr(n, "src");
        if (!src || !*src || strncmp(src, "data:", 5) == 0)
            src = attr(n, "data-src");
        if (src && *src && strncmp(src, "data:", 5) != 0) {
            char *d = strdup(src);
            if (!d || push_str(&w->doc->images, &w->doc->nimages, CL_IW_MAX_IMAGES, d))
                w->oom = 1;
        }
        return;
    }
    if (is_heading(t)) {
        text_acc h;
        acc_init(&h);
        plain_text(n, &h, depth);
        char *s = acc_take(&h);
        if (!s) {
            w->oom = 1;
            return;
        }
        utf8_truncate(s, CL_IW_MAX_HEADING_CHARS);
        if (!*s)
            free(s);
        else if (push_str(&w->doc->headings, &w->doc->nheadings, CL_IW_MAX_HEADINGS, s)) {
            w->oom = 1;
            return;
        }
    }
    int block = is_block(t);
    if (block)
        acc_break(&w->text);
    const GumboVector *c = &n->v.element.children;
    for (unsigned i = 0; i < c->length; i++)
        content_walk(w, c->data[i], in_content, depth + 1);
    if (block)
        acc_break(&w->text);
    if (w->text.oom)
        w->oom = 1;
}

static char *dup_norm(const char *s)
{
    text_acc a;
    acc_init(&a);
    acc_text(&a, s ? s : "");
    return acc_take(&a);
}

/* Lowercased copy check: does a comma/space separated list contain word? */
static int list_has(const char *v, const char *word)
{
    const char *words[2] = {word, NULL};
    return has_word(v, words);
}

typedef struct found {
    const GumboNode *title, *body, *main, *article;
    int narticles;
    const char *description, *og_description, *base;
} found;

/* "#abc" / "#aabbcc" at s (a '#' not followed by a further hex digit) as 0xRRGGBB, or -1. */
static long hex_color(const char *s)
{
    if (*s != '#')
        return -1;
    size_t n = 0;
    while (n < 7 && isxdigit((unsigned char)s[1 + n]))
        n++;
    if (n != 3 && n != 6)
        return -1;
    unsigned long v = strtoul(strndupa(s + 1, n), NULL, 16);
    if (n == 3)
        v = ((v >> 8) & 15) * 0x110000 + ((v >> 4) & 15) * 0x1100 + (v & 15) * 0x11;
    return (long)v;
}

static void add_color(cl_iw_doc *doc, unsigned rgb, int *oom)
{
    char hex[8];
    snprintf(hex, sizeof hex, "#%06X", rgb & 0xffffffu);
    for (size_t i = 0; i < doc->ncolors; i++)
        if (strcmp(doc->colors[i], hex) == 0)
            return;
    char *d = strdup(hex);
    if (!d || push_str(&doc->colors, &doc->ncolors, CL_IW_MAX_COLORS, d))
        *oom = 1;
}

/* Count the hex colours of a <style> element's text. */
static void style_colors(walk *w, const GumboNode *n)
{
    const GumboVector *c = &n->v.element.children;
    for (unsigned i = 0; i < c->length; i++) {
        const GumboNode *t = c->data[i];
        if (t->type != GUMBO_NODE_TEXT && t->type != GUMBO_NODE_CDATA)
            continue;
        for (const char *p = strchr(t->v.text.text, '#'); p; p = strchr(p + 1, '#')) {
            long v = hex_color(p);
            if (v < 0)
                continue;
            size_t k = 0;
            while (k < w->ncss && w->css[k].rgb != (unsigned)v)
                k++;
            if (k == w->ncss && w->ncss < sizeof w->css / sizeof *w->css)
                w->css[w->ncss++].rgb = (unsigned)v;
            if (k < w->ncss)
                w->css[k].n++;
        }
    }
}

/* The document walk: title, meta, base, links, and where the content is. */
static void doc_walk(walk *w, found *f, const GumboNode *n, int depth)
{
    if (depth > MAX_DEPTH || w->oom || n->type != GUMBO_NODE_ELEMENT)
        return;
    GumboTag t = n->v.element.tag;
    if (t == GUMBO_TAG_SVG || t == GUMBO_TAG_MATH || t == GUMBO_TAG_TEMPLATE)
        return; /* their <title>/<a> are not the page's */
    switch (t) {
    case GUMBO_TAG_TITLE:
        if (!f->title)
            f->title = n;
        break;
    case GUMBO_TAG_BODY:
        if (!f->body)
            f->body = n;
        break;
    case GUMBO_TAG_MAIN:
        if (!f->main)
            f->main = n;
        break;
    case GUMBO_TAG_ARTICLE:
        if (!f->article)
            f->article = n;
        f->narticles++;
        break;
    case GUMBO_TAG_STYLE:
        style_colors(w, n);
        return;
    case GUMBO_TAG_BASE:
        if (!f->base)
            f->base = attr(n, "href");
        break;
    case GUMBO_TAG_META: {
        const char *name = attr(n, "name"), *prop = attr(n, "property"), *content = attr(n, "content");
        if (!content)
            break;
        if (name && strcasecmp(name, "description") == 0 && !f->description)
            f->description = content;
        else if (prop && strcasecmp(prop, "og:description") == 0 && !f->og_description)
            f->og_description = content;
        else if (prop && (strcasecmp(prop, "og:image") == 0 || strcasecmp(prop, "og:image:url") == 0 ||
                          strcasecmp(prop, "og:image:secure_url") == 0) && *content) {
            char *d = strdup(content);
            if (!d || push_str(&w->doc->images, &w->doc->nimages, CL_IW_MAX_IMAGES, d))
                w->oom = 1;
        } else if (name && strcasecmp(name, "theme-color") == 0) {
            long v = hex_color(content);
            if (v >= 0)
                add_color(w->doc, (unsigned)v, &w->oom);
        }
        else if (name && (strcasecmp(name, "robots") == 0 || strcasecmp(name, "cliploop") == 0)) {
            if (list_has(content, "noindex") || list_has(content, "none"))
                w->doc->noindex = 1;
            if (list_has(content, "nofollow") || list_has(content, "none"))
                w->doc->nofollow = 1;
        }
        break;
    }
    case GUMBO_TAG_A: {
        const char *href = attr(n, "href");
        if (href && *href && w->doc->nlinks < CL_IW_MAX_LINKS) {
            char *s = strdup(href);
            if (!s || push_str(&w->doc->links, &w->doc->nlinks, CL_IW_MAX_LINKS, s))
                w->oom = 1;
        }
        break;
    }
    default:
        break;
    }
    if (!f->main) {
        const char *role = attr(n, "role");
        if (role && strcasecmp(role, "main") == 0)
            f->main = n;
    }
    const GumboVector *c = &n->v.element.children;
    for (unsigned i = 0; i < c->length; i++)
        doc_walk(w, f, c->data[i], depth + 1);
}

/* ------------------------------------------------------------------------- */
/* Pre-scan                                                                  */
/* ------------------------------------------------------------------------- */

static int name_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(name, *list) == 0)
            return 1;
    return 0;
}

/* Elements that never hold children, and those a sibling closes implicitly. */
static const char *const void_tags[] = {"area", "base", "br", "col", "embed", "hr", "img",
                                        "input", "keygen", "link", "meta", "param", "source",
                                        "track", "wbr", NULL};
static const char *const autoclose_tags[] = {"p", "li", "dt", "dd", "option", "optgroup", "tr",
                                             "td", "th", "thead", "tbody", "tfoot", "colgroup",
                                             "rb", "rt", "rp", NULL};
static const char *const rawtext_tags[] = {"script", "style", "textarea", "title", "xmp",
                                           "noembed", "noframes", "plaintext", NULL};

void cl_iw_prescan(const char *s, size_t len, size_t *max_depth, size_t *max_attrs)
{
    size_t depth = 0, md = 0, ma = 0, i = 0;
    while (i < len) {
        const char *lt = memchr(s + i, '<', len - i);
        if (!lt)
            break;
        i = (size_t)(lt - s) + 1;
        if (i + 2 < len && strncmp(s + i, "!--", 3) == 0) {
            const char *e = memmem(s + i + 3, len - i - 3, "-->", 3);
            i = e ? (size_t)(e - s) + 3 : len;
            continue;
        }
        int closing = i < len && s[i] == '/';
        if (closing)
            i++;
        if (i >= len || !isalpha((unsigned char)s[i]))
            continue;
        char name[16];
        size_t n = 0;
        while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '-')) {
            if (n + 1 < sizeof name)
                name[n++] = (char)tolower((unsigned char)s[i]);
            i++;
        }
        name[n] = '\0';
        /* The rest of the tag: count attributes (runs after whitespace) outside quotes. */
        size_t attrs = 0;
        int self_closing = 0, in_space = 0;
        char quote = 0;
        while (i < len && (quote || s[i] != '>')) {
            char c = s[i++];
            if (quote) {
                if (c == quote)
                    quote = 0;
                continue;
            }
            if (c == '"' || c == '\'') {
                quote = c;
                continue;
            }
            if (isspace((unsigned char)c)) {
                in_space = 1;
            } else {
                if (in_space && c != '/' && c != '=')
                    attrs++;
                in_space = 0;
            }
            self_closing = c == '/';
        }
        if (attrs > ma)
            ma = attrs;
        if (name_in(name, void_tags) || name_in(name, autoclose_tags))
            continue;
        if (closing) {
            if (depth > 0)
                depth--;
            continue;
        }
        if (self_closing)
            continue;
        if (name_in(name, rawtext_tags)) {
            /* skip to the matching end tag: its content is text, not markup */
            size_t nl = strlen(name);
            const char *p = s + i;
            for (;;) {
                p = memmem(p, len - (size_t)(p - s), "</", 2);
                if (!p || (size_t)(s + len - p) < nl + 2) {
                    i = len;
                    break;
                }
                if (strncasecmp(p + 2, name, nl) == 0) {
                    i = (size_t)(p - s) + 2;
                    break;
                }
                p += 2;
            }
            continue;
        }
        if (++depth > md)
            md = depth;
    }
    *max_depth = md;
    *max_attrs = ma;
}

int cl_iw_extract(const char *body, size_t len, const char *content_type, size_t max_text,
                  cl_iw_doc *doc, char *err, size_t errlen)
{
    memset(doc, 0, sizeof *doc);
    size_t depth, attrs;
    cl_iw_prescan(body, len, &depth, &attrs);
    if (depth > CL_IW_MAX_NESTING || attrs > CL_IW_MAX_ATTRIBUTES) {
        snprintf(err, errlen, "the page is too deeply nested or has too many attributes to parse safely");
        return -2;
    }
    cl_iw_detect_charset(body, len, content_type, doc->charset, sizeof doc->charset);
    clp_buf utf8 = {0};
    if (cl_iw_to_utf8(body, len, doc->charset, &utf8)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    GumboOutput *out = gumbo_parse_with_options(&kGumboDefaultOptions, utf8.data, utf8.len);
    if (!out) {
        clp_buf_free(&utf8);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    walk w = {.doc = doc};
    acc_init(&w.text);
    found f = {0};
    doc_walk(&w, &f, out->root, 0);
    /* the style sheets' colours, most used first; greys (text, borders, backgrounds) are not brand colours */
    for (size_t round = 0; round < w.ncss && !w.oom; round++) {
        size_t best = w.ncss;
        for (size_t k = 0; k < w.ncss; k++)
            if (w.css[k].n && (best == w.ncss || w.css[k].n > w.css[best].n))
                best = k;
        if (best == w.ncss)
            break;
        unsigned v = w.css[best].rgb;
        w.css[best].n = 0;
        int r = (int)(v >> 16), g = (int)((v >> 8) & 255), b = (int)(v & 255);
        int hi = r > g ? (r > b ? r : b) : (g > b ? g : b), lo = r < g ? (r < b ? r : b) : (g < b ? g : b);
        if (hi - lo >= 40)
            add_color(doc, v, &w.oom);
    }

    if (!w.oom) {
        text_acc t;
        acc_init(&t);
        if (f.title)
            plain_text(f.title, &t, 0);
        doc->title = acc_take(&t);
        doc->description = dup_norm(f.description ? f.description : f.og_description);
        doc->base_href = f.base ? strdup(f.base) : NULL;
        if (!doc->title || !doc->description || (f.base && !doc->base_href))
            w.oom = 1;
    }
    if (!w.oom) {
        const GumboNode *root = f.main ? f.main : f.narticles == 1 ? f.article : f.body;
        if (root) {
            int in_content = root == f.main || root == f.article;
            /* The root itself is walked through its children: a <main> with a
               boilerplate-looking class is still the content. */
            const GumboVector *c = &root->v.element.children;
            for (unsigned i = 0; i < c->length && !w.oom; i++)
                content_walk(&w, c->data[i], in_content, 1);
        }
        doc->text = acc_take(&w.text);
        if (!doc->text)
            w.oom = 1;
        else if (max_text)
            utf8_truncate(doc->text, max_text);
    } else {
        clp_buf_free(&w.text.b);
    }
    gumbo_destroy_output(&kGumboDefaultOptions, out);
    clp_buf_free(&utf8);
    if (w.oom) {
        cl_iw_doc_free(doc);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void cl_iw_doc_free(cl_iw_doc *doc)
{
    free(doc->title);
    free(doc->description);
    for (size_t i = 0; i < doc->nheadings; i++)
        free(doc->headings[i]);
    free(doc->headings);
    free(doc->text);
    for (size_t i = 0; i < doc->nlinks; i++)
        free(doc->links[i]);
    free(doc->links);
    free(doc->base_href);
    for (size_t i = 0; i < doc->nimages; i++)
        free(doc->images[i]);
    free(doc->images);
    for (size_t i = 0; i < doc->ncolors; i++)
        free(doc->colors[i]);
    free(doc->colors);
    memset(doc, 0, sizeof *doc);
}
