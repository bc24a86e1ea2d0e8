/*
 * fuzz_html.c — libFuzzer target: the ingester's HTML extraction (gumbo,
 * charset decoding, boilerplate removal, text cut on a character boundary)
 * and robots.txt parsing, on arbitrary bytes. The first byte picks the
 * declared charset and the text budget.
 */
#include "iw.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {"text/html", "text/html; charset=utf-8", "text/html; charset=iso-8859-1",
                                        "application/xhtml+xml; charset=windows-1252", NULL};
    if (size < 1)
        return 0;
    const char *ct = types[data[0] % 5];
    size_t max_text = (size_t)(data[0] & 0xf0) * 4; /* 0 = no limit */
    cl_iw_doc doc;
    memset(&doc, 0, sizeof doc);
    char err[256];
    (void)cl_iw_extract((const char *)data + 1, size - 1, ct, max_text, &doc, err, sizeof err);
    cl_iw_doc_free(&doc);
    cl_iw_robots r;
    memset(&r, 0, sizeof r);
    if (cl_iw_robots_parse((const char *)data + 1, size - 1, "ClipLoopBot", &r) == 0) {
        (void)cl_iw_robots_allowed(&r, "/a/b?c");
        cl_iw_robots_free(&r);
    }
    return 0;
}
