/*
 * test_buf.c — cl_buf and cl_output refuse sizes that would wrap around
 * (len + extra + 1 overflowing size_t) instead of writing out of bounds, and
 * the UTF-8 helpers: validation (overlong forms, surrogates, > U+10FFFF,
 * truncated sequences), cutting at a character boundary and counting
 * characters; cl_array_room's growth; the table-driven JSON writer and the
 * cJSON output helpers of core/json_out.h.
 */
#include "core/buf.h"
#include "core/json_out.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

static void test_overflow(void)
{
    cl_buf b = CL_BUF_INIT;
    char x = 'x';
    /* An empty buffer: 0 + SIZE_MAX + 1 wraps to 0. */
    CHECK(cl_buf_append(&b, &x, SIZE_MAX) == -1);
    CHECK(b.len == 0);
    CHECK(cl_buf_puts(&b, "hello") == 0);
    /* A non-empty one: 5 + (SIZE_MAX - 5) + 1 wraps to 1. */
    CHECK(cl_buf_append(&b, &x, SIZE_MAX - 5) == -1);
    CHECK(cl_buf_append(&b, &x, SIZE_MAX - 4) == -1);
    CHECK(cl_buf_append(&b, &x, SIZE_MAX - 6) == -1); /* no wrap, but no such memory either */
    CHECK(b.len == 5 && strcmp(b.data, "hello") == 0);
    CHECK(cl_buf_append(&b, "!", 1) == 0 && strcmp(b.data, "hello!") == 0);
    cl_buf_free(&b);

    cl_output o = {CL_BUF_INIT, 100};
    CHECK(cl_output_append(&o, "0123456789", 10) == CL_OK);
    /* 10 + (SIZE_MAX - 5) wraps to 4, which is "within" the limit of 100. */
    CHECK(cl_output_append(&o, &x, SIZE_MAX - 5) == CL_ENOMEM);
    CHECK(cl_output_append(&o, &x, 91) == CL_ENOMEM);
    CHECK(cl_output_append(&o, "0123456789", 10) == CL_OK);
    CHECK(o.buf.len == 20);
    cl_buf_free(&o.buf);
    cl_output u = {CL_BUF_INIT, 0};
    CHECK(cl_output_append(&u, &x, SIZE_MAX) == CL_ENOMEM);
    cl_buf_free(&u.buf);
}

static void test_utf8(void)
{
    struct {
        const char *s;
        int valid;
    } cases[] = {
        {"", 1},
        {"plain ascii", 1},
        {"caf\xc3\xa9", 1},
        {"\xe2\x82\xac", 1},         /* € */
        {"\xf0\x9f\x8d\x9e", 1},     /* 🍞 */
        {"\xf4\x8f\xbf\xbf", 1},     /* U+10FFFF */
        {"\xff", 0},
        {"\xc3", 0},                 /* truncated */
        {"\xe2\x82", 0},             /* truncated */
        {"\xc0\xaf", 0},             /* overlong '/' */
        {"\xe0\x80\xaf", 0},         /* overlong '/' */
        {"\xf0\x80\x80\xaf", 0},     /* overlong '/' */
        {"\xed\xa0\x80", 0},         /* U+D800, a surrogate */
        {"\xf4\x90\x80\x80", 0},     /* U+110000 */
        {"\x80", 0},                 /* a lone continuation byte */
        {"a\xc3\xa9\xc3", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int v = cl_utf8_valid(cases[i].s, strlen(cases[i].s));
        if (v != cases[i].valid)
            fprintf(stderr, "case %zu\n", i);
        CHECK(v == cases[i].valid);
    }
    CHECK(cl_utf8_valid_prefix("ab\xffz", 4) == 2);
    /* Cutting "é" x 3 (6 bytes): 5 -> 4, 4 -> 4, 1 -> 0; a fitting string is kept. */
    const char *e3 = "\xc3\xa9\xc3\xa9\xc3\xa9";
    CHECK(cl_utf8_clip(e3, 6, 5) == 4);
    CHECK(cl_utf8_clip(e3, 6, 4) == 4);
    CHECK(cl_utf8_clip(e3, 6, 1) == 0);
    CHECK(cl_utf8_clip(e3, 6, 6) == 6);
    CHECK(cl_utf8_clip(e3, 6, 100) == 6);
    CHECK(cl_utf8_clip("\xf0\x9f\x8d\x9ex", 5, 3) == 0);
    CHECK(cl_utf8_clip("ab\xf0\x9f\x8d\x9e", 6, 5) == 2);
}

/* JSON strings: plain runs copied whole, every character that needs it escaped. */
static void test_json_str(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", "\"\""},
        {"plain text", "\"plain text\""},
        {"say \"hi\" \\ Zo\xc3\xab", "\"say \\\"hi\\\" \\\\ Zo\xc3\xab\""},
        {"a\nb\rc\td", "\"a\\nb\\rc\\td\""},
        {"\x01x\x1f", "\"\\u0001x\\u001f\""},
        {"\"", "\"\\\"\""},
        {"end\\", "\"end\\\\\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cl_buf b = CL_BUF_INIT;
        CHECK(cl_buf_puts(&b, "[") == 0 && cl_buf_json_str(&b, cases[i].in) == 0);
        CHECK(b.len == strlen(cases[i].out) + 1 && strcmp(b.data + 1, cases[i].out) == 0);
        if (strcmp(b.data + 1, cases[i].out) != 0)
            fprintf(stderr, "json_str case %zu: %s\n", i, b.data);
        cl_buf_free(&b);
    }
}

/* printf into the room left, and past it (the buffer grows, one formatting). */
static void test_printf(void)
{
    cl_buf b = CL_BUF_INIT;
    CHECK(cl_buf_printf(&b, "%d-%s", 42, "x") == 0 && strcmp(b.data, "42-x") == 0 && b.len == 4);
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK(cl_buf_printf(&b, "<%s>", big) == 0);
    CHECK(b.len == 4 + 2 + 299 && b.data[b.len] == '\0' && b.data[4] == '<' && b.data[b.len - 1] == '>');
    CHECK(cl_buf_printf(&b, "%s", "") == 0 && b.len == 305);
    cl_buf_free(&b);
}

/* Characters, not bytes: ASCII, 2-, 3- and 4-byte sequences. */
static void test_utf8_chars(void)
{
    CHECK(cl_utf8_chars("") == 0);
    CHECK(cl_utf8_chars("abc") == 3);
    CHECK(cl_utf8_chars("caf\xc3\xa9") == 4); /* café */
    CHECK(cl_utf8_chars("\xe2\x82\xac"
                        "5") == 2);                 /* €5 */
    CHECK(cl_utf8_chars("\xf0\x9f\x8e\xac!") == 2); /* 🎬! */
}

/* The array grows from first to twice its capacity only when full, and a
   size that would overflow is refused with the array left as it was. */
static void test_array_room(void)
{
    int *v = NULL;
    size_t cap = 0, n = 0;
    for (int i = 0; i < 100; i++) {
        int *nv = cl_array_room(v, &cap, n, sizeof *nv, 4);
        CHECK(nv != NULL);
        if (!nv)
            break;
        v = nv;
        v[n++] = i;
    }
    CHECK(n == 100 && cap == 128 && v[0] == 0 && v[99] == 99);
    size_t before = cap;
    CHECK(cl_array_room(v, &cap, n, sizeof *v, 4) == v && cap == before); /* room left: the same array */
    size_t huge = SIZE_MAX / 2 + 1;
    CHECK(cl_array_room(v, &huge, huge, 4, 4) == NULL && huge == SIZE_MAX / 2 + 1);
    free(v);
}

typedef struct fields_rec {
    long long pad;
    char name[16];
    const char *label;
    const char *missing;
    int count;
    int64_t big;
    int on;
} fields_rec;

/* Every kind in table order; a NULL pointer is null; printed by cJSON. */
static void test_json_fields(void)
{
    static const cl_json_field fields[] = {
        CL_JSON_CHARS(fields_rec, name), CL_JSON_CSTR(fields_rec, label), CL_JSON_CSTR(fields_rec, missing),
        CL_JSON_INT(fields_rec, count),  CL_JSON_I64(fields_rec, big),    CL_JSON_BOOL(fields_rec, on),
    };
    fields_rec r = {.name = "n\"1", .label = "L", .missing = NULL, .count = -3, .big = 5000000000LL, .on = 2};
    cJSON *o = cJSON_CreateObject();
    cl_json_add_fields(o, &r, fields, CL_JSON_NFIELDS(fields));
    cl_buf b = CL_BUF_INIT;
    CHECK(cl_buf_put_json(&b, o) == 0);
    const char *want =
        "{\"name\":\"n\\\"1\",\"label\":\"L\",\"missing\":null,\"count\":-3,\"big\":5000000000,"
        "\"on\":true}";
    CHECK(b.data && strcmp(b.data, want) == 0);
    if (b.data && strcmp(b.data, want) != 0)
        fprintf(stderr, "json fields: %s\n", b.data);
    CHECK(cl_buf_put_json(&b, NULL) == -1); /* nothing to write: an error, the buffer unchanged */
    CHECK(b.len == strlen(want));
    cl_buf_free(&b);
}

int main(void)
{
    test_utf8_chars();
    test_array_room();
    test_json_fields();
    test_overflow();
    test_utf8();
    test_json_str();
    test_printf();
    return unit_done("test_buf");
}
