/*
 * test_ingest_extract.c — the ingest_web plugin's pure parts on strings:
 * text extraction with gumbo (what is kept, what is removed, whitespace),
 * charsets (UTF-8, declared Latin-1 / windows-1252, invalid bytes), link
 * resolution (RFC 3986), the same-site rule and robots.txt matching.
 */
#include "iw.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static int extract(const char *html, const char *ct, cl_iw_doc *d)
{
    char err[128];
    return cl_iw_extract(html, strlen(html), ct, 0, d, err, sizeof err);
}

static void test_readable_text(void)
{
    const char *html =
        "<!doctype html><html><head><title>  Mama   Put\n Kitchen </title>"
        "<meta name=\"description\" content=\"  Home-style   jollof in Lagos \">"
        "<style>body{color:red}</style><script>var tracking = 1;</script></head>"
        "<body><header class=\"site-header\"><a href=\"/\">Logo</a> Call us</header>"
        "<nav><a href=\"/menu\">Menu</a> <a href=\"/about\">About</a></nav>"
        "<div id=\"cookie-banner\">We use cookies</div>"
        "<h1>Best   jollof\n in town</h1>"
        "<p>We cook <b>fresh</b>&nbsp;every   day.</p>"
        "<p hidden>Secret draft</p><div style=\"display: none\">Invisible</div>"
        "<ul><li>Jollof rice</li><li>Fried plantain</li></ul>"
        "<h2>Opening hours</h2><p>Mon&ndash;Sat 9am&#8211;9pm</p>"
        "<aside>Related posts</aside><noscript>Enable JS</noscript>"
        "<footer>Copyright 2024</footer><span class=\"sr-only\">Skip to content</span></body></html>";
    cl_iw_doc d;
    CHECK(extract(html, "text/html; charset=utf-8", &d) == 0);
    CHECK_STR(d.title, "Mama Put Kitchen");
    CHECK_STR(d.description, "Home-style jollof in Lagos");
    CHECK(d.nheadings == 2);
    if (d.nheadings == 2) {
        CHECK_STR(d.headings[0], "Best jollof in town");
        CHECK_STR(d.headings[1], "Opening hours");
    }
    CHECK_STR(d.text, "Best jollof in town\n"
                      "We cook fresh every day.\n"
                      "Jollof rice\n"
                      "Fried plantain\n"
                      "Opening hours\n"
                      "Mon\xE2\x80\x93Sat 9am\xE2\x80\x93" "9pm");
    CHECK(strstr(d.text, "tracking") == NULL);
    CHECK(strstr(d.text, "cookies") == NULL);
    CHECK(strstr(d.text, "Copyright") == NULL);
    CHECK(strstr(d.text, "Logo") == NULL);
    CHECK(d.nlinks == 3);
    CHECK_STR(d.charset, "utf-8");
    CHECK(!d.noindex && !d.nofollow);
    cl_iw_doc_free(&d);
    CHECK(d.text == NULL);
}

static void test_main_and_article(void)
{
    cl_iw_doc d;
    /* <main> wins: the text outside it is chrome; a header inside it is content. */
    CHECK(extract("<body><div>Top promo strip</div><main><header><h1>About us</h1></header>"
                  "<p>Family run since 1998.</p><footer>Posted by Ada</footer></main>"
                  "<div>Bottom links</div></body>",
                  NULL, &d) == 0);
    CHECK_STR(d.text, "About us\nFamily run since 1998.\nPosted by Ada");
    CHECK(d.nheadings == 1);
    cl_iw_doc_free(&d);

    /* A single <article> is the content when there is no <main>. */
    CHECK(extract("<body><div class=\"menu-strip\">Home | Shop</div><article><h2>Our story</h2>"
                  "<p>Ankara bags, handmade.</p></article><div>Elsewhere</div></body>",
                  NULL, &d) == 0);
    CHECK_STR(d.text, "Our story\nAnkara bags, handmade.");
    cl_iw_doc_free(&d);

    /* role=main counts as <main>; og:description is the fallback description. */
    CHECK(extract("<head><meta property=\"og:description\" content=\"OG text\"></head><body>"
                  "<div role=\"navigation\">Nav</div><div role=\"main\"><p>Core</p></div>"
                  "<div>Other</div></body>",
                  NULL, &d) == 0);
    CHECK_STR(d.text, "Core");
    CHECK_STR(d.description, "OG text");
    cl_iw_doc_free(&d);

    /* Tables: cells separated by spaces, rows by lines. No title: "". */
    CHECK(extract("<table><tr><td>Small</td><td>N2,000</td></tr><tr><td>Large</td><td>N5,000</td>"
                  "</tr></table>",
                  NULL, &d) == 0);
    CHECK_STR(d.text, "Small N2,000\nLarge N5,000");
    CHECK_STR(d.title, "");
    CHECK_STR(d.description, "");
    cl_iw_doc_free(&d);

    /* A restaurant's menu section is content, not boilerplate. */
    CHECK(extract("<body><section class=\"menu\"><h2>Menu</h2><p>Suya N1,500</p></section></body>",
                  NULL, &d) == 0);
    CHECK_STR(d.text, "Menu\nSuya N1,500");
    cl_iw_doc_free(&d);
}

static void test_links_and_robots_meta(void)
{
    cl_iw_doc d;
    CHECK(extract("<head><base href=\"/shop/\"><meta name=\"robots\" content=\"NOINDEX, nofollow\">"
                  "</head><body><a href=\"a.html\">A</a><a>no href</a><a href=\"\">empty</a>"
                  "<svg><a href=\"/svg\">x</a></svg><a href=\"mailto:x@y\">m</a></body>",
                  NULL, &d) == 0);
    CHECK_STR(d.base_href, "/shop/");
    CHECK(d.noindex == 1 && d.nofollow == 1);
    CHECK(d.nlinks == 2);
    if (d.nlinks == 2) {
        CHECK_STR(d.links[0], "a.html");
        CHECK_STR(d.links[1], "mailto:x@y");
    }
    cl_iw_doc_free(&d);
}

static void test_charsets(void)
{
    cl_iw_doc d;
    /* Latin-1 declared in the Content-Type: 0xE9 is é, 0xA0 a no-break space. */
    CHECK(extract("<title>Caf\xE9</title><p>Cr\xE8me\xA0" "br\xFBl\xE9" "e</p>", "text/html; charset=ISO-8859-1",
                  &d) == 0);
    CHECK_STR(d.charset, "windows-1252");
    CHECK_STR(d.title, "Caf\xC3\xA9");
    CHECK_STR(d.text, "Cr\xC3\xA8me br\xC3\xBBl\xC3\xA9" "e");
    cl_iw_doc_free(&d);

    /* Declared by <meta charset>; windows-1252's 0x93/0x94 are curly quotes, 0x80 the euro. */
    CHECK(extract("<meta charset=\"latin1\"><p>\x93Hi\x94 \x80" "5</p>", "text/html", &d) == 0);
    CHECK_STR(d.charset, "windows-1252");
    CHECK_STR(d.text, "\xE2\x80\x9CHi\xE2\x80\x9D \xE2\x82\xAC" "5");
    cl_iw_doc_free(&d);

    /* http-equiv form, no Content-Type charset. */
    CHECK(extract("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">"
                  "<p>na\xEFve</p>",
                  NULL, &d) == 0);
    CHECK_STR(d.text, "na\xC3\xAFve");
    cl_iw_doc_free(&d);

    /* The Content-Type wins over <meta>. */
    CHECK(extract("<meta charset=\"latin1\"><p>\xC3\xA9t\xC3\xA9</p>", "text/html;charset=UTF-8", &d) == 0);
    CHECK_STR(d.text, "\xC3\xA9t\xC3\xA9");
    cl_iw_doc_free(&d);

    /* Invalid UTF-8 becomes U+FFFD; overlong forms and surrogates are invalid. */
    clp_buf b = {0};
    CHECK(cl_iw_to_utf8("a\xFF" "b\xC0\xAF" "c\xED\xA0\x80" "d", 11, "utf-8", &b) == 0);
    CHECK_STR(b.data, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "d");
    clp_buf_free(&b);
    /* NUL bytes are dropped, a BOM is dropped. */
    CHECK(cl_iw_to_utf8("\xEF\xBB\xBFx\0y", 6, "utf-8", &b) == 0);
    CHECK_STR(b.data, "xy");
    CHECK(b.len == 2);
    clp_buf_free(&b);

    /* Other charsets through iconv(3): each page's bytes in its own encoding. */
    static const struct {
        const char *label, *bytes, *utf8;
    } enc[] = {
        {"Shift_JIS", "\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd\x81\x41\x93\x8c\x8b\x9e\x82\xcc\x83\x89\x81\x5b"
                      "\x83\x81\x83\x93\x89\xae\x82\xc5\x82\xb7",
         "こんにちは、東京のラーメン屋です"},
        {"ISO-8859-7", "\xca\xe1\xeb\xe7\xec\xdd\xf1\xe1\x20\xc1\xe8\xde\xed\xe1", "Καλημέρα Αθήνα"},
        {"KOI8-R", "\xf0\xd2\xc9\xd7\xc5\xd4\x2c\x20\xed\xcf\xd3\xcb\xd7\xc1", "Привет, Москва"},
        {"GB18030", "\xc4\xe3\xba\xc3\xa3\xac\xb1\xb1\xbe\xa9\xbf\xbe\xd1\xbc", "你好，北京烤鸭"},
        {"gb2312", "\xc4\xe3\xba\xc3", "你好"}, /* WHATWG: gb2312 reads as GBK */
    };
    for (size_t i = 0; i < sizeof enc / sizeof *enc; i++) {
        char html[256], ct[64];
        snprintf(html, sizeof html, "<title>%s</title><p>%s</p>", enc[i].bytes, enc[i].bytes);
        snprintf(ct, sizeof ct, "text/html; charset=%s", enc[i].label);
        CHECK(extract(html, ct, &d) == 0);
        CHECK_STR(d.title, enc[i].utf8);
        CHECK_STR(d.text, enc[i].utf8);
        cl_iw_doc_free(&d);
    }
    /* declared by <meta> too */
    CHECK(extract("<meta charset=\"koi8-r\"><p>\xf0\xd2\xc9\xd7\xc5\xd4</p>", "text/html", &d) == 0);
    CHECK_STR(d.charset, "koi8-r");
    CHECK_STR(d.text, "Привет");
    cl_iw_doc_free(&d);
    /* an invalid byte becomes U+FFFD and the rest still converts; a cut sequence at the end too */
    CHECK(cl_iw_to_utf8("\x82\xb1\xff\x82\xf1\x82", 6, "shift_jis", &b) == 0);
    CHECK_STR(b.data, "こ\xEF\xBF\xBDん\xEF\xBF\xBD");
    clp_buf_free(&b);
    /* a charset iconv does not know is read as UTF-8 (as before) */
    CHECK(cl_iw_to_utf8("caf\xC3\xA9", 5, "x-no-such-charset", &b) == 0);
    CHECK_STR(b.data, "caf\xC3\xA9");
    clp_buf_free(&b);

    char cs[32];
    cl_iw_detect_charset("\xEF\xBB\xBF<p>", 6, "text/html; charset=latin1", cs, sizeof cs);
    CHECK_STR(cs, "utf-8");
    cl_iw_detect_charset("<p>", 3, "text/html; charset=\"Shift_JIS\"", cs, sizeof cs);
    CHECK_STR(cs, "shift_jis");
    cl_iw_detect_charset("<p>", 3, NULL, cs, sizeof cs);
    CHECK_STR(cs, "utf-8");

    CHECK(cl_iw_is_html_type("text/html"));
    CHECK(cl_iw_is_html_type("TEXT/HTML; charset=utf-8"));
    CHECK(cl_iw_is_html_type("application/xhtml+xml"));
    CHECK(!cl_iw_is_html_type("text/plain"));
    CHECK(!cl_iw_is_html_type("application/pdf"));
    CHECK(!cl_iw_is_html_type("text/htmlx"));
    CHECK(!cl_iw_is_html_type(""));
    CHECK(!cl_iw_is_html_type(NULL));
}

static void test_limits(void)
{
    /* Truncation never splits a character. */
    cl_iw_doc d;
    char err[64];
    const char *html = "<p>\xC3\xA9\xC3\xA9\xC3\xA9</p>";
    CHECK(cl_iw_extract(html, strlen(html), NULL, 3, &d, err, sizeof err) == 0);
    CHECK_STR(d.text, "\xC3\xA9");
    cl_iw_doc_free(&d);

    /* Nesting: gumbo's cost grows quadratically with depth, so a page nested
       beyond CL_IW_MAX_NESTING is refused before parsing; below it, text deeper
       than the walk's own limit is ignored without crashing. */
    clp_buf deep = {0};
    for (int i = 0; i < 20000; i++)
        clp_buf_puts(&deep, "<div>");
    clp_buf_puts(&deep, "deep");
    err[0] = '\0';
    CHECK(cl_iw_extract(deep.data, deep.len, NULL, 0, &d, err, sizeof err) == -2);
    CHECK(strstr(err, "too deeply nested") != NULL);
    CHECK(d.text == NULL);
    clp_buf_free(&deep);
    for (int i = 0; i < 900; i++)
        clp_buf_puts(&deep, "<span>");
    clp_buf_puts(&deep, "deep");
    CHECK(cl_iw_extract(deep.data, deep.len, NULL, 0, &d, err, sizeof err) == 0);
    CHECK_STR(d.text, "");
    cl_iw_doc_free(&d);
    clp_buf_free(&deep);
    /* So is a tag with too many attributes (quadratic duplicate checks). */
    clp_buf_puts(&deep, "<div");
    for (int i = 0; i < CL_IW_MAX_ATTRIBUTES + 1; i++)
        clp_buf_puts(&deep, " a");
    clp_buf_puts(&deep, ">x");
    CHECK(cl_iw_extract(deep.data, deep.len, NULL, 0, &d, err, sizeof err) == -2);
    clp_buf_free(&deep);

    /* The pre-scan: implicitly closed and void elements, comments, script
       text and quoted '>' do not count as nesting. */
    size_t depth = 0, attrs = 0;
    const char *flat = "<html><body><p>a<p>b<li>c<li>d<br><img src=x><hr/>"
                       "<!-- <div><div><div> --><script>if (a<b) x = '<div><div>';</script>"
                       "<div title=\"a > b\" class=x id=y>z</div></body></html>";
    cl_iw_prescan(flat, strlen(flat), &depth, &attrs);
    CHECK(depth == 3); /* html, body, div */
    CHECK(attrs == 3);
    cl_iw_prescan("<div><div></div><div><span>", 27, &depth, &attrs);
    CHECK(depth == 3);

    /* Headings are capped in number. */
    clp_buf b = {0};
    for (int i = 0; i < CL_IW_MAX_HEADINGS + 10; i++)
        clp_buf_puts(&b, "<h3>h</h3>");
    CHECK(cl_iw_extract(b.data, b.len, NULL, 0, &d, err, sizeof err) == 0);
    CHECK(d.nheadings == CL_IW_MAX_HEADINGS);
    cl_iw_doc_free(&d);
    clp_buf_free(&b);
}

static void resolve_is(const char *base, const char *ref, const char *want)
{
    char out[CL_IW_MAX_URL + 1];
    int rc = cl_iw_url_resolve(base, ref, out, sizeof out);
    if (!want) {
        if (rc == 0)
            fprintf(stderr, "  resolve(%s, %s) unexpectedly gave %s\n", base ? base : "-", ref, out);
        CHECK(rc == -1);
    } else {
        CHECK(rc == 0);
        CHECK_STR(rc == 0 ? out : "(failed)", want);
    }
}

static void test_urls(void)
{
    const char *b = "http://a/b/c/d;p?q";
    /* RFC 3986 5.4.1 normal examples (those that stay http URLs). */
    resolve_is(b, "g", "http://a/b/c/g");
    resolve_is(b, "./g", "http://a/b/c/g");
    resolve_is(b, "g/", "http://a/b/c/g/");
    resolve_is(b, "/g", "http://a/g");
    resolve_is(b, "//g", "http://g/");
    resolve_is(b, "?y", "http://a/b/c/d;p?y");
    resolve_is(b, "g?y", "http://a/b/c/g?y");
    resolve_is(b, "#s", "http://a/b/c/d;p?q");
    resolve_is(b, "g#s", "http://a/b/c/g");
    resolve_is(b, "", "http://a/b/c/d;p?q");
    resolve_is(b, ".", "http://a/b/c/");
    resolve_is(b, "..", "http://a/b/");
    resolve_is(b, "../g", "http://a/b/g");
    resolve_is(b, "../..", "http://a/");
    resolve_is(b, "../../../g", "http://a/g");
    resolve_is(b, "/./g", "http://a/g");
    resolve_is(b, "g/../h", "http://a/b/c/h");
    /* Normalization. */
    resolve_is(NULL, "HTTP://Example.COM:80", "http://example.com/");
    resolve_is(NULL, "https://example.com:443/a b", "https://example.com/a%20b");
    resolve_is(NULL, "https://example.com:8443/x", "https://example.com:8443/x");
    resolve_is(NULL, "  http://x.test/\tp\n ", "http://x.test/p");
    resolve_is(NULL, "http://[::1]:8080/", "http://[::1]:8080/");
    resolve_is(NULL, "http://x.test/caf\xC3\xA9", "http://x.test/caf%C3%A9");
    /* Refused. */
    resolve_is(b, "mailto:a@b", NULL);
    resolve_is(b, "javascript:alert(1)", NULL);
    resolve_is(b, "ftp://a/x", NULL);
    resolve_is(NULL, "http://user:pw@x.test/", NULL);
    resolve_is(NULL, "http://x.test:0/", NULL);
    resolve_is(NULL, "http://x.test:99999/", NULL);
    resolve_is(NULL, "http://bad host/", NULL);
    resolve_is(NULL, "relative/only", NULL);
    resolve_is(NULL, "http:no-slashes", NULL);
    /* more edge cases (libcurl's URL API underneath) */
    resolve_is(NULL, "HTTPS://X.TEST:443", "https://x.test/");
    resolve_is(NULL, "http://x.test:65535/a/./b/../c?q=1 2#top", "http://x.test:65535/a/c?q=1+2"); /* libcurl: a space in a query is + */
    resolve_is(NULL, "http://x.test/caf%c3%a9", "http://x.test/caf%C3%A9"); /* one URL however it is written */
    resolve_is("http://x.test/a/b", "//other.test", "http://other.test/");
    resolve_is("https://x.test/a/", "../../../../up", "https://x.test/up");
    resolve_is("http://x.test/", "data:text/html,hi", NULL);
    resolve_is("http://x.test/", "http://user@x.test/", NULL); /* a user name alone counts as credentials */
    char longurl[CL_IW_MAX_URL + 64];
    int lp = snprintf(longurl, sizeof longurl, "http://x.test/");
    memset(longurl + lp, 'a', CL_IW_MAX_URL - lp);
    longurl[CL_IW_MAX_URL] = '\0'; /* exactly the limit */
    char got[CL_IW_MAX_URL + 64];
    CHECK(cl_iw_url_resolve(NULL, longurl, got, sizeof got) == 0 && strlen(got) == CL_IW_MAX_URL);
    strcat(longurl, "b"); /* one byte over */
    CHECK(cl_iw_url_resolve(NULL, longurl, got, sizeof got) == -1);

    char host[64];
    int port = 0;
    const char *path = NULL;
    CHECK(cl_iw_url_split("https://x.test:8443/a?b", host, sizeof host, &port, &path) == 0);
    CHECK_STR(host, "x.test");
    CHECK(port == 8443);
    CHECK_STR(path, "/a?b");
    CHECK(cl_iw_url_split("http://[::1]/", host, sizeof host, &port, &path) == 0);
    CHECK_STR(host, "::1");
    CHECK(port == 80);

    CHECK(cl_iw_same_site("http://shop.test/", "https://www.shop.test/about"));
    CHECK(cl_iw_same_site("http://127.0.0.1:4000/", "http://127.0.0.1:4000/x"));
    CHECK(!cl_iw_same_site("http://127.0.0.1:4000/", "http://127.0.0.1:4001/x"));
    CHECK(!cl_iw_same_site("http://shop.test/", "http://evil.test/"));
    CHECK(!cl_iw_same_site("http://shop.test/", "http://blog.shop.test/"));
    CHECK(!cl_iw_same_site("http://shop.test/", "http://shop.test.evil.test/"));
}

static void test_robots(void)
{
    const char *txt = "# comment\n"
                      "User-agent: *\n"
                      "Disallow: /private\n"
                      "Allow: /private/open\n"
                      "Disallow: /*.pdf$\n"
                      "\n"
                      "User-agent: OtherBot\n"
                      "Disallow: /\n";
    cl_iw_robots r;
    CHECK(cl_iw_robots_parse(txt, strlen(txt), "ClipLoop", &r) == 0);
    CHECK(r.n == 3);
    CHECK(cl_iw_robots_allowed(&r, "/"));
    CHECK(cl_iw_robots_allowed(&r, "/about"));
    CHECK(!cl_iw_robots_allowed(&r, "/private"));
    CHECK(!cl_iw_robots_allowed(&r, "/private/x.html"));
    CHECK(cl_iw_robots_allowed(&r, "/private/open/page"));
    CHECK(!cl_iw_robots_allowed(&r, "/docs/menu.pdf"));
    CHECK(cl_iw_robots_allowed(&r, "/docs/menu.pdf?x=1"));
    CHECK(cl_iw_robots_allowed(&r, "/robots.txt"));
    cl_iw_robots_free(&r);

    /* A group naming us replaces "*"; several agents can share one group. */
    const char *named = "User-agent: *\nDisallow: /\n\nUser-agent: googlebot\nUser-agent: cliploop/2.0\n"
                        "Disallow: /tmp\nCrawl-delay: 5\n";
    CHECK(cl_iw_robots_parse(named, strlen(named), "ClipLoop", &r) == 0);
    CHECK(cl_iw_robots_allowed(&r, "/shop"));
    CHECK(!cl_iw_robots_allowed(&r, "/tmp/a"));
    cl_iw_robots_free(&r);

    /* Empty Disallow allows everything; no groups at all allows everything. */
    CHECK(cl_iw_robots_parse("User-agent: *\nDisallow:\n", 24, "ClipLoop", &r) == 0);
    CHECK(cl_iw_robots_allowed(&r, "/anything"));
    cl_iw_robots_free(&r);
    CHECK(cl_iw_robots_parse("", 0, "ClipLoop", &r) == 0);
    CHECK(cl_iw_robots_allowed(&r, "/x"));
    r.disallow_all = 1;
    CHECK(!cl_iw_robots_allowed(&r, "/x"));
    CHECK(cl_iw_robots_allowed(&r, "/robots.txt"));
    cl_iw_robots_free(&r);

    /* Wildcards: many stars stay fast (no exponential backtracking). */
    const char *stars = "User-agent: *\nDisallow: /*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b$\n";
    CHECK(cl_iw_robots_parse(stars, strlen(stars), "ClipLoop", &r) == 0);
    char path[2100] = "/";
    memset(path + 1, 'a', 2000);
    path[2001] = '\0';
    CHECK(cl_iw_robots_allowed(&r, path));
    path[2000] = 'b';
    CHECK(!cl_iw_robots_allowed(&r, path));
    cl_iw_robots_free(&r);
}

/* Images for the media library: og:image first, then <img> of the main
   content only (not the nav), data-src behind a data: placeholder, no data:
   URLs; colours: theme-color first, then the <style> hex colours by use,
   greys skipped. */
static void test_images_and_colors(void)
{
    const char *html =
        "<html><head><meta property=\"og:image\" content=\"/img/hero.jpg\">"
        "<meta name=\"theme-color\" content=\"#c0392b\">"
        "<style>.a{color:#2E86DE}.b{background:#2e86de}.c{color:#333}.d{border:1px solid #eeeeee}"
        ".e{color:#1E8449} a#x{}</style></head>"
        "<body><nav><img src=\"/img/nav-logo.png\"></nav><main><h1>Bread</h1>"
        "<img src=\"product.png\"><img src=\"data:image/gif;base64,AAAA\" data-src=\"lazy.jpg\">"
        "<img src=\"data:image/png;base64,BBBB\"></main>"
        "<footer><img src=\"/img/footer.png\"></footer></body></html>";
    cl_iw_doc d;
    CHECK(extract(html, "text/html", &d) == 0);
    CHECK(d.nimages == 3);
    if (d.nimages == 3) {
        CHECK_STR(d.images[0], "/img/hero.jpg");
        CHECK_STR(d.images[1], "product.png");
        CHECK_STR(d.images[2], "lazy.jpg");
    }
    CHECK(d.ncolors == 3);
    if (d.ncolors == 3) {
        CHECK_STR(d.colors[0], "#C0392B");
        CHECK_STR(d.colors[1], "#2E86DE");
        CHECK_STR(d.colors[2], "#1E8449");
    }
    cl_iw_doc_free(&d);
}

int main(void)
{
    test_images_and_colors();
    test_readable_text();
    test_main_and_article();
    test_links_and_robots_meta();
    test_charsets();
    test_limits();
    test_urls();
    test_robots();
    return unit_done("test_ingest_extract");
}
