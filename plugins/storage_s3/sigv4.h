/*
 * sigv4.h — AWS Signature Version 4 for S3 query signing (presigned URLs),
 * computed with OpenSSL's HMAC-SHA256. Requests themselves are signed by
 * libcurl (CURLOPT_AWS_SIGV4); this is only what libcurl does not do.
 * Pure functions over caller-owned buffers, no I/O: tested against AWS's
 * published examples in tests/unit/test_storage_sigv4.c.
 */
#ifndef CL_S3_SIGV4_H
#define CL_S3_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/**
 * RFC 3986 percent-encoding as SigV4 wants it: A-Z a-z 0-9 - _ . ~ stay,
 * '/' stays when keep_slash, everything else becomes %XX (upper-case hex).
 * Returns the length written (NUL-terminated), or -1 when out is too small.
 */
int s3_uri_encode(const char *in, int keep_slash, char *out, size_t outlen);

/** Lower-case hex SHA-256 of data into hex[65]. */
void s3_sha256_hex(const void *data, size_t len, char hex[65]);

/** The signing key HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request"). */
void s3_signing_key(const char *secret, const char *date8, const char *region, const char *service,
                    unsigned char key[32]);

/** Lower-case hex HMAC-SHA256(key, string_to_sign) into sig[65]. */
void s3_signature(const unsigned char key[32], const char *string_to_sign, char sig[65]);

/**
 * "AWS4-HMAC-SHA256\n<amz_date>\n<date8>/<region>/<service>/aws4_request\n<hex sha256 of canonical_request>"
 * into out. Returns 0, or -1 when out is too small.
 */
int s3_string_to_sign(const char *amz_date, const char *region, const char *service, const char *canonical_request,
                      char *out, size_t outlen);

/** What a presigned GET needs. All strings borrowed. */
typedef struct s3_presign {
    const char *scheme;        /**< "https" or "http" */
    const char *host;          /**< authority as the client sends it in Host: "bucket.s3.amazonaws.com", "127.0.0.1:9000" */
    const char *path;          /**< canonical URI, already encoded: "/bucket/key" or "/key" */
    const char *region;
    const char *access_key;
    const char *secret_key;
    time_t now;                /**< signing time (UTC) */
    int expires;               /**< seconds, 1..604800 */
    const char *content_disposition; /**< response-content-disposition, or NULL */
    const char *content_type;  /**< response-content-type, or NULL */
} s3_presign;

/**
 * The presigned GET URL (SigV4 query signing, UNSIGNED-PAYLOAD, signed
 * header host). Returns the length written, or -1 when out is too small or
 * a field is missing.
 */
int s3_presign_url(const s3_presign *p, char *out, size_t outlen);

#endif
