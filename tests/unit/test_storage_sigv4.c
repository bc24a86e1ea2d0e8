/*
 * test_storage_sigv4.c — the storage_s3 plugin's Signature Version 4 code
 * (plugins/storage_s3/sigv4.c) against AWS's published examples:
 *   - "Authenticating Requests: Using Query Parameters" (S3): the presigned
 *     GET of examplebucket/test.txt on 2013-05-24, expires 86400;
 *   - "Authenticating Requests: Using the Authorization Header" (S3): GET
 *     Object with a Range header (canonical request hash and signature);
 *   - "Deriving the signing key" (IAM, 2012-02-15): the signing key.
 * Plus the encoding rules (RFC 3986, '/' kept in paths only) and the
 * parameter order of a presigned URL with response overrides.
 */
#include "sigv4.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

/* A presign request with AWS's example key at 2013-05-24T00:00:00Z. */
static s3_presign example_presign(const char *scheme, const char *host, const char *path, const char *region,
                                  int expires)
{
    return (s3_presign){.scheme = scheme, .host = host, .path = path, .region = region, .access_key = AK,
                        .secret_key = SK, .now = 1369353600, .expires = expires};
}

static void test_presign_example(void)
{
    s3_presign p = example_presign("https", "examplebucket.s3.amazonaws.com", "/test.txt", "us-east-1", 86400);
    char url[2048];
    CHECK(s3_presign_url(&p, url, sizeof url) > 0);
    CHECK_STR(url, "https://examplebucket.s3.amazonaws.com/test.txt"
                   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                   "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                   "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                   "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    /* too small a buffer, a missing field, an out-of-range lifetime: refused */
    CHECK(s3_presign_url(&p, url, 100) == -1);
    p.expires = 604801;
    CHECK(s3_presign_url(&p, url, sizeof url) == -1);
    p.expires = 60;
    p.secret_key = NULL;
    CHECK(s3_presign_url(&p, url, sizeof url) == -1);
}

static void test_header_example(void)
{
    const char *canonical = "GET\n"
                            "/test.txt\n"
                            "\n"
                            "host:examplebucket.s3.amazonaws.com\n"
                            "range:bytes=0-9\n"
                            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
                            "x-amz-date:20130524T000000Z\n"
                            "\n"
                            "host;range;x-amz-content-sha256;x-amz-date\n"
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    char sts[512], sig[65];
    CHECK(s3_string_to_sign("20130524T000000Z", "us-east-1", "s3", canonical, sts, sizeof sts) == 0);
    CHECK_STR(sts, "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                   "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    unsigned char key[32];
    s3_signing_key(SK, "20130524", "us-east-1", "s3", key);
    s3_signature(key, sts, sig);
    CHECK_STR(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    CHECK(s3_string_to_sign("20130524T000000Z", "us-east-1", "s3", canonical, sts, 40) == -1);
}

static void test_signing_key_example(void)
{
    unsigned char key[32];
    char hex[65];
    s3_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam", key);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    CHECK_STR(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
    char empty[65];
    s3_sha256_hex("", 0, empty);
    CHECK_STR(empty, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_encoding(void)
{
    char out[128];
    CHECK(s3_uri_encode("a/b c+d~e_f.g-h", 1, out, sizeof out) > 0);
    CHECK_STR(out, "a/b%20c%2Bd~e_f.g-h");
    CHECK(s3_uri_encode("a/b=c&d", 0, out, sizeof out) > 0);
    CHECK_STR(out, "a%2Fb%3Dc%26d");
    CHECK(s3_uri_encode("caf\xc3\xa9", 0, out, sizeof out) > 0);
    CHECK_STR(out, "caf%C3%A9");
    CHECK(s3_uri_encode("abc", 0, out, 3) == -1);
    CHECK(s3_uri_encode(" ", 0, out, 3) == -1);
}

static void test_presign_overrides(void)
{
    s3_presign p = example_presign("http", "127.0.0.1:9000", "/bucket/generated/content-items/1/r1/rendered.mp4",
                                   "eu-west-1", 900);
    p.content_disposition = "attachment; filename=\"cliploop-1-video.mp4\"";
    p.content_type = "video/mp4";
    char url[2048];
    CHECK(s3_presign_url(&p, url, sizeof url) > 0);
    /* canonical order: upper-case X-Amz-* sort before response-*; the signature is last */
    const char *want_prefix =
        "http://127.0.0.1:9000/bucket/generated/content-items/1/r1/rendered.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Feu-west-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
        "&response-content-disposition=attachment%3B%20filename%3D%22cliploop-1-video.mp4%22"
        "&response-content-type=video%2Fmp4&X-Amz-Signature=";
    CHECK(strncmp(url, want_prefix, strlen(want_prefix)) == 0);
    CHECK(strlen(url) == strlen(want_prefix) + 64);
}

int main(void)
{
    test_presign_example();
    test_header_example();
    test_signing_key_example();
    test_encoding();
    test_presign_overrides();
    return unit_done("test_storage_sigv4");
}
