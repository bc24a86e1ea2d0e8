/*
 * sigv4.c — see sigv4.h. The algorithm is AWS's "Authenticating Requests:
 * Using Query Parameters (AWS Signature Version 4)":
 *
 *   CanonicalRequest = GET \n <URI> \n <sorted, encoded query without the
 *                      signature> \n host:<host> \n\n host \n UNSIGNED-PAYLOAD
 *   StringToSign     = AWS4-HMAC-SHA256 \n <amz date> \n <scope> \n hex(SHA256(CanonicalRequest))
 *   Signature        = hex(HMAC(signing key, StringToSign))
 */
#include "sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int s3_uri_encode(const char *in, int keep_slash, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        unsigned char c = *p;
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
        if (n + (plain ? 1 : 3) >= outlen)
            return -1;
        if (plain) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    if (n >= outlen)
        return -1;
    out[n] = '\0';
    return (int)n;
}

static void to_hex(const unsigned char *d, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++)
        hex[2 * i] = digits[d[i] >> 4], hex[2 * i + 1] = digits[d[i] & 15];
    hex[2 * n] = '\0';
}

void s3_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_Digest(data, len, d, &dl, EVP_sha256(), NULL);
    to_hex(d, 32, hex);
}

static void hmac(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out, &len);
}

void s3_signing_key(const char *secret, const char *date8, const char *region, const char *service,
                    unsigned char key[32])
{
    size_t sl = strlen(secret);
    char *k = malloc(sl + 5);
    unsigned char a[32], b[32];
    if (!k) {
        memset(key, 0, 32);
        return;
    }
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret, sl + 1);
    hmac(k, sl + 4, date8, a);
    hmac(a, 32, region, b);
    hmac(b, 32, service, a);
    hmac(a, 32, "aws4_request", key);
    memset(k, 0, sl + 4); /* the secret does not linger in freed memory */
    free(k);
}

void s3_signature(const unsigned char key[32], const char *string_to_sign, char sig[65])
{
    unsigned char d[32];
    hmac(key, 32, string_to_sign, d);
    to_hex(d, 32, sig);
}

int s3_string_to_sign(const char *amz_date, const char *region, const char *service, const char *canonical_request,
                      char *out, size_t outlen)
{
    char h[65];
    s3_sha256_hex(canonical_request, strlen(canonical_request), h);
    int n = snprintf(out, outlen, "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s", amz_date, amz_date, region,
                     service, h);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

typedef struct {
    const char *name; /* already encoded (all our names are plain) */
    char value[1200]; /* encoded */
} qparam;

static int cmp_param(const void *a, const void *b)
{
    return strcmp(((const qparam *)a)->name, ((const qparam *)b)->name);
}

int s3_presign_url(const s3_presign *p, char *out, size_t outlen)
{
    if (!p || !p->scheme || !p->host || !p->path || !p->region || !p->access_key || !p->secret_key ||
        p->expires < 1 || p->expires > 604800)
        return -1;
    char amz_date[17], date8[9], cred[512];
    struct tm tm;
    gmtime_r(&p->now, &tm);
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
    memcpy(date8, amz_date, 8);
    date8[8] = '\0';
    if (snprintf(cred, sizeof cred, "%s/%s/%s/s3/aws4_request", p->access_key, date8, p->region) >= (int)sizeof cred)
        return -1;
    qparam q[7];
    int n = 0;
    q[n].name = "X-Amz-Algorithm";
    snprintf(q[n++].value, sizeof q[0].value, "AWS4-HMAC-SHA256");
    q[n].name = "X-Amz-Credential";
    if (s3_uri_encode(cred, 0, q[n++].value, sizeof q[0].value) < 0)
        return -1;
    q[n].name = "X-Amz-Date";
    snprintf(q[n++].value, sizeof q[0].value, "%s", amz_date);
    q[n].name = "X-Amz-Expires";
    snprintf(q[n++].value, sizeof q[0].value, "%d", p->expires);
    q[n].name = "X-Amz-SignedHeaders";
    snprintf(q[n++].value, sizeof q[0].value, "host");
    if (p->content_disposition) {
        q[n].name = "response-content-disposition";
        if (s3_uri_encode(p->content_disposition, 0, q[n++].value, sizeof q[0].value) < 0)
            return -1;
    }
    if (p->content_type) {
        q[n].name = "response-content-type";
        if (s3_uri_encode(p->content_type, 0, q[n++].value, sizeof q[0].value) < 0)
            return -1;
    }
    qsort(q, (size_t)n, sizeof *q, cmp_param);
    char query[4096];
    size_t ql = 0;
    for (int i = 0; i < n; i++) {
        int w = snprintf(query + ql, sizeof query - ql, "%s%s=%s", i ? "&" : "", q[i].name, q[i].value);
        if (w < 0 || (size_t)w >= sizeof query - ql)
            return -1;
        ql += (size_t)w;
    }
    size_t crl = strlen(p->path) + ql + strlen(p->host) + 64;
    char *canonical = malloc(crl);
    if (!canonical)
        return -1;
    snprintf(canonical, crl, "GET\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", p->path, query, p->host);
    char sts[512], sig[65];
    unsigned char key[32];
    int ok = s3_string_to_sign(amz_date, p->region, "s3", canonical, sts, sizeof sts) == 0;
    free(canonical);
    if (!ok)
        return -1;
    s3_signing_key(p->secret_key, date8, p->region, "s3", key);
    s3_signature(key, sts, sig);
    memset(key, 0, sizeof key);
    int w = snprintf(out, outlen, "%s://%s%s?%s&X-Amz-Signature=%s", p->scheme, p->host, p->path, query, sig);
    return w < 0 || (size_t)w >= outlen ? -1 : w;
}
