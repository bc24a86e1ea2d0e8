/*
 * storage_s3.c — the storage capability "s3": objects in a bucket of any
 * S3-compatible object store (AWS S3, MinIO, Ceph RGW, Cloudflare R2, ...).
 *
 *   STORAGE_S3_ENDPOINT      https://s3.eu-west-1.amazonaws.com, http://minio.internal:9000 (required)
 *   STORAGE_S3_REGION        signing region, default us-east-1
 *   STORAGE_S3_BUCKET        the bucket (required; must exist)
 *   STORAGE_S3_ACCESS_KEY    access key id (required)
 *   STORAGE_S3_SECRET_KEY    secret access key (required; never logged)
 *   STORAGE_S3_PATH_STYLE    true: <endpoint>/<bucket>/<key>; false (default):
 *                            virtual-hosted <bucket>.<endpoint host>/<key>
 *   STORAGE_S3_PREFIX        optional folder in the bucket every key goes under ("cliploop/")
 *   STORAGE_S3_PART_SIZE     multipart part size in bytes, default 8388608, at least 5242880;
 *                            files larger than one part are uploaded in parts
 *   STORAGE_S3_TIMEOUT_MS    deadline of one request (a part, a download), default 120000
 *   STORAGE_S3_CONNECT_TIMEOUT_MS  default 5000
 *
 * Requests are signed with AWS Signature Version 4 by libcurl itself
 * (CURLOPT_AWS_SIGV4 "aws:amz:<region>:s3"); the payload's SHA-256 goes in
 * x-amz-content-sha256 and is part of the signature. Presigned GET URLs use
 * SigV4 query signing computed here (sigv4.c). The plugin talks to the
 * endpoint with its own libcurl handles, not through the host's http_do: the
 * endpoint is the operator's own configuration (often a private address,
 * which http_do's guard refuses by design), uploads stream from files and
 * downloads stream to files instead of through memory.
 *
 * Errors (sdk contract): 403 InvalidAccessKeyId / SignatureDoesNotMatch /
 * AccessDenied -> CL_EAUTH; 404 NoSuchKey -> CL_EINVAL with http_status 404;
 * 416 -> CL_EINVAL 416; 5xx, connection refused -> CL_EUPSTREAM; the
 * deadline -> CL_ETIMEOUT. Messages carry S3's error code and message and
 * the endpoint, never the secret or a signature.
 */
#include "cliploop_plugin.h"
#include "sigv4.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define MIN_PART ((int64_t)5 << 20)
#define MAX_PARTS 10000
#define ERRBODY_MAX 4096


typedef struct s3_conf {
    char endpoint[512]; /* without trailing '/' */
    char scheme[8];
    char authority[400]; /* host[:port] of the endpoint */
    char base_path[256]; /* path part of the endpoint ("" usually) */
    char region[64];
    char bucket[128];
    char access_key[256];
    char secret_key[256];
    char prefix[256];
    int path_style;
    int64_t part_size;
    long timeout_ms, connect_timeout_ms;
    char missing[300];
    char invalid[300];
} s3_conf;

static s3_conf conf;

static int fail(cl_error *err, int code, int http_status, const char *fmt, ...) CL_PRINTF(4, 5);
static int fail(cl_error *err, int code, int http_status, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        err->http_status = http_status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- URLs ------------------------------------------------------------------------ */

/* The encoded object path ("/bucket/prefix/key" or "/prefix/key") and the authority to use. */
static int object_path(const char *key, char *path, size_t pathlen, char *authority, size_t alen)
{
    char full[CL_STORAGE_KEY_MAX + 300], enc[3 * sizeof full];
    if (snprintf(full, sizeof full, "%s%s", conf.prefix, key) >= (int)sizeof full ||
        s3_uri_encode(full, 1, enc, sizeof enc) < 0)
        return -1;
    int n;
    if (conf.path_style) {
        n = snprintf(path, pathlen, "%s/%s/%s", conf.base_path, conf.bucket, enc);
        snprintf(authority, alen, "%s", conf.authority);
    } else {
        n = snprintf(path, pathlen, "%s/%s", conf.base_path, enc);
        snprintf(authority, alen, "%s.%s", conf.bucket, conf.authority);
    }
    return n < 0 || (size_t)n >= pathlen ? -1 : 0;
}

static int object_url(const char *key, const char *query, char *url, size_t len)
{
    char path[4096], authority[600];
    if (object_path(key, path, sizeof path, authority, sizeof authority) != 0)
        return -1;
    int n = snprintf(url, len, "%s://%s%s%s%s", conf.scheme, authority, path, query ? "?" : "", query ? query : "");
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ---- one request ------------------------------------------------------------------ */

typedef struct xfer {
    cl_call *call;
    /* request body: a file range or memory */
    FILE *in;
    int64_t in_left;
    const char *mem;
    size_t mem_len, mem_off;
    /* response body: a file, an output, or (errors, small answers) a buffer */
    FILE *out_file;
    cl_output *out;
    char body[ERRBODY_MAX + 1];
    size_t body_len;
    int write_failed;
    long status;
    char etag[128];
    int64_t content_length;
} xfer;

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
    xfer *x = arg;
    size_t want = size * nmemb;
    if (x->mem) {
        size_t n = x->mem_len - x->mem_off < want ? x->mem_len - x->mem_off : want;
        memcpy(buf, x->mem + x->mem_off, n);
        x->mem_off += n;
        return n;
    }
    if ((int64_t)want > x->in_left)
        want = (size_t)x->in_left;
    size_t n = want ? fread(buf, 1, want, x->in) : 0;
    if (n < want && ferror(x->in))
        return CURL_READFUNC_ABORT;
    x->in_left -= (int64_t)n;
    return n;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    xfer *x = arg;
    size_t n = size * nmemb;
    int ok2xx = x->status >= 200 && x->status < 300;
    if (ok2xx && x->out_file) {
        if (fwrite(data, 1, n, x->out_file) != n) {
            x->write_failed = 1;
            return 0;
        }
        return n;
    }
    if (ok2xx && x->out) {
        if (clp_output_append(x->out, data, n) != CL_OK) {
            x->write_failed = 1;
            return 0;
        }
        return n;
    }
    size_t room = ERRBODY_MAX - x->body_len, take = n < room ? n : room;
    memcpy(x->body + x->body_len, data, take);
    x->body_len += take;
    x->body[x->body_len] = '\0';
    return n;
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    xfer *x = arg;
    size_t n = size * nmemb;
    if (n > 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new response (after 100-continue): the status line */
        const char *sp = memchr(data, ' ', n);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->etag[0] = '\0';
        x->content_length = -1;
    } else if (n > 5 && strncasecmp(data, "etag:", 5) == 0) {
        size_t i = 5, j = n;
        while (i < j && (data[i] == ' ' || data[i] == '\t'))
            i++;
        while (j > i && (data[j - 1] == '\r' || data[j - 1] == '\n' || data[j - 1] == ' '))
            j--;
        if (j - i < sizeof x->etag) {
            memcpy(x->etag, data + i, j - i);
            x->etag[j - i] = '\0';
        }
    } else if (n > 15 && strncasecmp(data, "content-length:", 15) == 0) {
        x->content_length = strtoll(data + 15, NULL, 10);
    }
    return n;
}

static int progress_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    xfer *x = arg;
    return x->call && clp_cancelled(x->call) ? 1 : 0;
}

/* The text of <tag>…</tag> in an XML body (first occurrence), or "". */
static void xml_text(const char *body, const char *tag, char *out, size_t outlen)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    out[0] = '\0';
    const char *a = strstr(body, open);
    const char *b = a ? strstr(a, close) : NULL;
    if (!a || !b)
        return;
    a += strlen(open);
    size_t n = (size_t)(b - a) < outlen - 1 ? (size_t)(b - a) : outlen - 1;
    memcpy(out, a, n);
    out[n] = '\0';
}

/* Map an S3 error answer (status + XML body) to a cl_status with a message. */
static int s3_fail(cl_error *err, const char *what, const char *key, const xfer *x)
{
    char code[64], msg[256];
    xml_text(x->body, "Code", code, sizeof code);
    xml_text(x->body, "Message", msg, sizeof msg);
    long st = x->status;
    if (!code[0])
        snprintf(code, sizeof code, "HTTP %ld", st);
    if (st == 404 && strcmp(code, "NoSuchBucket") != 0)
        return fail(err, CL_EINVAL, 404, "S3 %s %s: no such object (%s)", what, key, code);
    if (st == 404)
        return fail(err, CL_EUNSUPPORTED, 404, "S3 %s %s: the bucket %s does not exist at %s (NoSuchBucket)", what,
                    key, conf.bucket, conf.endpoint);
    if (st == 416)
        return fail(err, CL_EINVAL, 416, "S3 %s %s: range not satisfiable (%s)", what, key, code);
    if (st == 401 || st == 403 || !strcmp(code, "InvalidAccessKeyId") || !strcmp(code, "SignatureDoesNotMatch"))
        return fail(err, CL_EAUTH, (int)st,
                    "S3 refused the credentials for %s %s at %s: %s%s%s (check STORAGE_S3_ACCESS_KEY, "
                    "STORAGE_S3_SECRET_KEY and STORAGE_S3_REGION)",
                    what, key, conf.endpoint, code, msg[0] ? ": " : "", msg);
    if (st == 429 || st == 503)
        return fail(err, CL_ERATELIMIT, (int)st, "S3 %s %s: slow down (%s)", what, key, code);
    if (st >= 500)
        return fail(err, CL_EUPSTREAM, (int)st, "S3 %s %s failed at %s: %s%s%s", what, key, conf.endpoint, code,
                    msg[0] ? ": " : "", msg);
    return fail(err, CL_EINVAL, (int)st, "S3 %s %s was refused: %s%s%s", what, key, code, msg[0] ? ": " : "", msg);
}

/*
 * Perform one signed request. method; url; payload_sha: the x-amz-content-sha256
 * value; extra: NULL-terminated headers. The body comes from x (in/mem); the
 * answer goes to x. Returns CL_OK when curl finished (look at x->status), or
 * a cl_status for a transport failure.
 */
static int perform(const char *method, const char *url, const char *payload_sha, const char *const *extra,
                   int64_t body_len, xfer *x, const char *what, const char *key, cl_error *err)
{
    CURL *h = curl_easy_init();
    if (!h)
        return fail(err, CL_ENOMEM, 0, "out of memory");
    struct curl_slist *hs = NULL, *t;
    char shah[120], sigv4[128];
    snprintf(shah, sizeof shah, "x-amz-content-sha256: %s", payload_sha);
    snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3", conf.region);
    int oom = !(t = curl_slist_append(hs, shah)) || !(hs = t);
    for (int i = 0; !oom && extra && extra[i]; i++) {
        if (!(t = curl_slist_append(hs, extra[i])))
            oom = 1;
        else
            hs = t;
    }
    if (oom) {
        curl_slist_free_all(hs);
        curl_easy_cleanup(h);
        return fail(err, CL_ENOMEM, 0, "out of memory");
    }
    x->content_length = -1;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, conf.access_key);
    curl_easy_setopt(h, CURLOPT_PASSWORD, conf.secret_key);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, conf.timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, conf.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(h, CURLOPT_READDATA, x);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(body_len < 0 ? 0 : body_len));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, x->mem ? x->mem : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(x->mem ? x->mem_len : 0));
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode cc = curl_easy_perform(h);
    int rc = CL_OK;
    if (cc != CURLE_OK) {
        if (x->write_failed)
            rc = fail(err, x->out ? CL_ENOMEM : CL_EIO, 0, "S3 %s %s: writing the answer failed: %s", what, key,
                      x->out ? "out of memory" : strerror(errno));
        else if (cc == CURLE_ABORTED_BY_CALLBACK)
            rc = fail(err, CL_ECANCELLED, 0, "S3 %s %s: cancelled", what, key);
        else if (cc == CURLE_OPERATION_TIMEDOUT)
            rc = fail(err, CL_ETIMEOUT, 0, "S3 %s %s: no answer from %s within %ld ms (STORAGE_S3_TIMEOUT_MS)", what,
                      key, conf.endpoint, conf.timeout_ms);
        else if (cc == CURLE_READ_ERROR)
            rc = fail(err, CL_EIO, 0, "S3 %s %s: reading the local file failed", what, key);
        else
            rc = fail(err, CL_EUPSTREAM, 0, "S3 %s %s: cannot reach %s: %s", what, key, conf.endpoint,
                      curl_easy_strerror(cc));
    } else {
        long st = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        x->status = st;
    }
    curl_slist_free_all(hs);
    curl_easy_cleanup(h);
    return rc;
}

static int check_conf(cl_error *err)
{
    if (conf.missing[0])
        return fail(err, CL_EUNSUPPORTED, 0, "S3 storage is not configured; set %s", conf.missing);
    if (conf.invalid[0])
        return fail(err, CL_EUNSUPPORTED, 0, "S3 storage is misconfigured: %s", conf.invalid);
    return CL_OK;
}

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* SHA-256 (hex) of len bytes of f from its current position; rewinds to that position. */
static int file_sha(FILE *f, int64_t len, char hex[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    long start = ftell(f);
    unsigned char buf[1 << 16], d[32];
    unsigned int dl = 0;
    int ok = md && start >= 0 && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    while (ok && len > 0) {
        size_t want = len > (int64_t)sizeof buf ? sizeof buf : (size_t)len;
        size_t n = fread(buf, 1, want, f);
        if (n != want)
            ok = 0;
        else
            ok = EVP_DigestUpdate(md, buf, n) == 1;
        len -= (int64_t)n;
    }
    ok = ok && EVP_DigestFinal_ex(md, d, &dl) == 1 && fseek(f, start, SEEK_SET) == 0;
    EVP_MD_CTX_free(md);
    if (ok) {
        static const char digits[] = "0123456789abcdef";
        for (int i = 0; i < 32; i++)
            hex[2 * i] = digits[d[i] >> 4], hex[2 * i + 1] = digits[d[i] & 15];
        hex[64] = '\0';
    }
    return ok ? 0 : -1;
}

/* ---- put: one request, or multipart ------------------------------------------------------- */

static int put_single(FILE *f, int64_t size, const char *key, const char *content_type, cl_call *call,
                      cl_error *err)
{
    char url[4200], sha[65], ct[200];
    if (object_url(key, NULL, url, sizeof url) != 0)
        return fail(err, CL_EINVAL, 0, "storage key too long");
    if (file_sha(f, size, sha) != 0)
        return fail(err, CL_EIO, 0, "cannot read the file to store %s", key);
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type && content_type[0] ? content_type : "application/octet-stream");
    const char *extra[] = {ct, NULL};
    xfer x = {.call = call, .in = f, .in_left = size};
    int rc = perform("PUT", url, sha, extra, size, &x, "put", key, err);
    if (rc != CL_OK)
        return rc;
    return x.status >= 200 && x.status < 300 ? CL_OK : s3_fail(err, "put", key, &x);
}

static int abort_upload(const char *key, const char *upload_id)
{
    char url[4600], q[400], enc[300];
    cl_error e;
    memset(&e, 0, sizeof e);
    if (s3_uri_encode(upload_id, 0, enc, sizeof enc) < 0)
        return -1;
    snprintf(q, sizeof q, "uploadId=%s", enc);
    if (object_url(key, q, url, sizeof url) != 0)
        return -1;
    xfer x = {0};
    return perform("DELETE", url, EMPTY_SHA, NULL, -1, &x, "abort upload", key, &e);
}

static int put_multipart(FILE *f, int64_t size, const char *key, const char *content_type, cl_call *call,
                         cl_error *err)
{
    char url[4600], q[600], ct[200], upload_id[256], enc[300];
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type && content_type[0] ? content_type : "application/octet-stream");
    const char *extra[] = {ct, NULL};
    /* CreateMultipartUpload: POST ?uploads= (written in canonical form: libcurl signs the query as given) */
    if (object_url(key, "uploads=", url, sizeof url) != 0)
        return fail(err, CL_EINVAL, 0, "storage key too long");
    xfer x = {.call = call};
    int rc = perform("POST", url, EMPTY_SHA, extra, 0, &x, "start multipart upload of", key, err);
    if (rc != CL_OK)
        return rc;
    if (x.status < 200 || x.status >= 300)
        return s3_fail(err, "start multipart upload of", key, &x);
    xml_text(x.body, "UploadId", upload_id, sizeof upload_id);
    if (!upload_id[0] || s3_uri_encode(upload_id, 0, enc, sizeof enc) < 0)
        return fail(err, CL_EUPSTREAM, (int)x.status, "S3 start multipart upload of %s: no UploadId in the answer", key);

    int64_t part = conf.part_size;
    int parts = (int)((size + part - 1) / part);
    if (parts > MAX_PARTS) {
        abort_upload(key, upload_id);
        return fail(err, CL_EINVAL, 0, "%s is too large for %d parts of %lld bytes (STORAGE_S3_PART_SIZE)", key,
                    MAX_PARTS, (long long)part);
    }
    size_t cap = (size_t)parts * 200 + 128;
    char *complete = malloc(cap), *buf = malloc((size_t)part);
    if (!complete || !buf) {
        free(complete), free(buf);
        abort_upload(key, upload_id);
        return fail(err, CL_ENOMEM, 0, "out of memory");
    }
    size_t cl = (size_t)snprintf(complete, cap, "<CompleteMultipartUpload>");
    rc = CL_OK;
    for (int n = 1; rc == CL_OK && n <= parts; n++) {
        int64_t len = n < parts ? part : size - part * (parts - 1);
        if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
            rc = fail(err, CL_EIO, 0, "cannot read part %d of the file to store %s", n, key);
            break;
        }
        char sha[65];
        s3_sha256_hex(buf, (size_t)len, sha);
        snprintf(q, sizeof q, "partNumber=%d&uploadId=%s", n, enc);
        if (object_url(key, q, url, sizeof url) != 0) {
            rc = fail(err, CL_EINVAL, 0, "storage key too long");
            break;
        }
        xfer px = {.call = call, .mem = buf, .mem_len = (size_t)len};
        rc = perform("PUT", url, sha, NULL, len, &px, "upload part of", key, err);
        if (rc == CL_OK && (px.status < 200 || px.status >= 300))
            rc = s3_fail(err, "upload part of", key, &px);
        if (rc == CL_OK && !px.etag[0])
            rc = fail(err, CL_EUPSTREAM, (int)px.status, "S3 upload part %d of %s: no ETag in the answer", n, key);
        if (rc == CL_OK)
            cl += (size_t)snprintf(complete + cl, cap - cl, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", n,
                                   px.etag);
        if (call)
            clp_progress(call, n, parts);
    }
    free(buf);
    if (rc == CL_OK) {
        cl += (size_t)snprintf(complete + cl, cap - cl, "</CompleteMultipartUpload>");
        char sha[65];
        s3_sha256_hex(complete, cl, sha);
        snprintf(q, sizeof q, "uploadId=%s", enc);
        object_url(key, q, url, sizeof url);
        const char *xml[] = {"Content-Type: application/xml", NULL};
        xfer cx = {.call = call, .mem = complete, .mem_len = cl};
        rc = perform("POST", url, sha, xml, (int64_t)cl, &cx, "complete multipart upload of", key, err);
        /* S3 may answer 200 and put an <Error> in the body */
        if (rc == CL_OK && (cx.status < 200 || cx.status >= 300 || strstr(cx.body, "<Error>"))) {
            if (cx.status < 300)
                cx.status = 500;
            rc = s3_fail(err, "complete multipart upload of", key, &cx);
        }
    }
    free(complete);
    if (rc != CL_OK)
        abort_upload(key, upload_id);
    return rc;
}

static int s3_put_file(void *self, cl_call *call, const char *key, const char *path, const char *content_type,
                       cl_error *err)
{
    (void)self;
    int rc = check_conf(err);
    if (rc != CL_OK)
        return rc;
    if (!cl_storage_key_valid(key))
        return fail(err, CL_EINVAL, 0, "invalid storage key");
    FILE *f = path ? fopen(path, "rb") : NULL;
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        if (f)
            fclose(f);
        return fail(err, CL_EIO, 0, "cannot read the file to store %s: %s", key, strerror(e ? e : EINVAL));
    }
    int64_t size = (int64_t)st.st_size;
    rc = size > conf.part_size ? put_multipart(f, size, key, content_type, call, err)
                               : put_single(f, size, key, content_type, call, err);
    fclose(f);
    return rc;
}

/* ---- reads -------------------------------------------------------------------------------- */

/* The configuration is complete and key valid: its URL. CL_OK or the error. */
static int key_url(const char *key, char *url, size_t len, cl_error *err)
{
    int rc = check_conf(err);
    if (rc != CL_OK)
        return rc;
    if (!cl_storage_key_valid(key) || object_url(key, NULL, url, len) != 0)
        return fail(err, CL_EINVAL, 0, "invalid storage key");
    return CL_OK;
}

/* A bodiless request (GET, HEAD, DELETE) on key's URL with the extra headers; x collects the answer. */
static int key_request(const char *method, const char *key, const char *const *extra, xfer *x, const char *what,
                       cl_error *err)
{
    char url[4200];
    int rc = key_url(key, url, sizeof url, err);
    return rc == CL_OK ? perform(method, url, EMPTY_SHA, extra, -1, x, what, key, err) : rc;
}

static int s3_get_file(void *self, cl_call *call, const char *key, const char *path, cl_error *err)
{
    (void)self;
    char url[4200];
    int rc = key_url(key, url, sizeof url, err);
    if (rc != CL_OK)
        return rc;
    FILE *f = fopen(path, "wb");
    if (!f)
        return fail(err, CL_EIO, 0, "cannot write %s: %s", path, strerror(errno));
    xfer x = {.call = call, .out_file = f};
    rc = perform("GET", url, EMPTY_SHA, NULL, -1, &x, "get", key, err);
    if (rc == CL_OK && (x.status < 200 || x.status >= 300))
        rc = s3_fail(err, "get", key, &x);
    if (fclose(f) != 0 && rc == CL_OK)
        rc = fail(err, CL_EIO, 0, "cannot write %s: %s", path, strerror(errno));
    return rc;
}

static int s3_read_range(void *self, cl_call *call, const char *key, int64_t offset, int64_t length,
                         cl_output *out, cl_error *err)
{
    (void)self;
    char range[96];
    if (offset < 0 || length <= 0)
        return fail(err, CL_EINVAL, 0, "invalid range");
    snprintf(range, sizeof range, "Range: bytes=%lld-%lld", (long long)offset, (long long)(offset + length - 1));
    const char *extra[] = {range, NULL};
    xfer x = {.call = call, .out = out};
    int rc = key_request("GET", key, extra, &x, "read", err);
    if (rc != CL_OK)
        return rc;
    if (x.status == 200 || x.status == 206)
        return CL_OK;
    return s3_fail(err, "read", key, &x);
}

static int s3_stat(void *self, cl_call *call, const char *key, int64_t *bytes, cl_error *err)
{
    (void)self;
    xfer x = {.call = call};
    int rc = key_request("HEAD", key, NULL, &x, "stat", err);
    if (rc != CL_OK)
        return rc;
    if (x.status < 200 || x.status >= 300)
        return s3_fail(err, "stat", key, &x);
    if (x.content_length < 0)
        return fail(err, CL_EUPSTREAM, (int)x.status, "S3 stat %s: no Content-Length in the answer", key);
    *bytes = x.content_length;
    return CL_OK;
}

static int s3_remove(void *self, cl_call *call, const char *key, cl_error *err)
{
    (void)self;
    xfer x = {.call = call};
    int rc = key_request("DELETE", key, NULL, &x, "remove", err);
    if (rc != CL_OK)
        return rc;
    if ((x.status >= 200 && x.status < 300) || x.status == 404)
        return CL_OK;
    return s3_fail(err, "remove", key, &x);
}

static int s3_presign_get(void *self, const char *key, int ttl_seconds, const char *download_name,
                          const char *content_type, cl_output *out, cl_error *err)
{
    (void)self;
    int rc = check_conf(err);
    if (rc != CL_OK)
        return rc;
    char path[4096], authority[600], disp[400], url[8192];
    if (!cl_storage_key_valid(key) || object_path(key, path, sizeof path, authority, sizeof authority) != 0)
        return fail(err, CL_EINVAL, 0, "invalid storage key");
    if (ttl_seconds < 1 || ttl_seconds > 604800)
        return fail(err, CL_EINVAL, 0, "a presigned URL lives 1 to 604800 seconds, not %d", ttl_seconds);
    if (download_name)
        snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", download_name);
    s3_presign p = {.scheme = conf.scheme,
                    .host = authority,
                    .path = path,
                    .region = conf.region,
                    .access_key = conf.access_key,
                    .secret_key = conf.secret_key,
                    .now = time(NULL),
                    .expires = ttl_seconds,
                    .content_disposition = download_name ? disp : NULL,
                    .content_type = content_type};
    int n = s3_presign_url(&p, url, sizeof url);
    if (n < 0)
        return fail(err, CL_EINVAL, 0, "the presigned URL for %s does not fit", key);
    return clp_output_append(out, url, (size_t)n) == CL_OK ? CL_OK : fail(err, CL_ENOMEM, 0, "out of memory");
}

static int s3_local_path(void *self, const char *key, cl_output *out, cl_error *err)
{
    (void)self, (void)key, (void)out;
    return fail(err, CL_EUNSUPPORTED, 0, "S3 objects have no local path");
}

static int s3_configured(void *self, char *missing, size_t missing_len)
{
    (void)self;
    if (missing && missing_len)
        snprintf(missing, missing_len, "%s%s%s", conf.missing, conf.missing[0] && conf.invalid[0] ? "; " : "",
                 conf.invalid);
    return !conf.missing[0] && !conf.invalid[0];
}

/* ---- configuration ------------------------------------------------------------------------ */

static void add_missing(const char *name)
{
    size_t n = strlen(conf.missing);
    snprintf(conf.missing + n, sizeof conf.missing - n, "%s%s", n ? ", " : "", name);
}

static void add_invalid(const char *fmt, ...) CL_PRINTF(1, 2);
static void add_invalid(const char *fmt, ...)
{
    size_t n = strlen(conf.invalid);
    if (n)
        n += (size_t)snprintf(conf.invalid + n, sizeof conf.invalid - n, "; ");
    va_list ap;
    va_start(ap, fmt);
    if (n < sizeof conf.invalid)
        vsnprintf(conf.invalid + n, sizeof conf.invalid - n, fmt, ap);
    va_end(ap);
}

static const char *cfg(const char *key, const char *def)
{
    const char *v = clp_config(key);
    return v && v[0] ? v : def;
}

static void copy_required(const char *key, const char *name, char *out, size_t len)
{
    const char *v = cfg(key, NULL);
    if (!v)
        add_missing(name);
    else if (strlen(v) >= len)
        add_invalid("%s is too long", name);
    else
        snprintf(out, len, "%s", v);
}

/* A set value that is not a number (the host's config_int answers the
   INT64_MIN sentinel) or out of range makes the backend unconfigured. */
static long cfg_long(const char *key, const char *name, long def, long min, long max)
{
    if (!cfg(key, NULL))
        return def;
    int64_t n = clp_config_int(key, INT64_MIN);
    if (n < min || n > max) {
        add_invalid("%s must be a whole number from %ld to %ld", name, min, max);
        return def;
    }
    return (long)n;
}

static void read_conf(void)
{
    memset(&conf, 0, sizeof conf);
    copy_required("ENDPOINT", "STORAGE_S3_ENDPOINT", conf.endpoint, sizeof conf.endpoint);
    copy_required("BUCKET", "STORAGE_S3_BUCKET", conf.bucket, sizeof conf.bucket);
    copy_required("ACCESS_KEY", "STORAGE_S3_ACCESS_KEY", conf.access_key, sizeof conf.access_key);
    copy_required("SECRET_KEY", "STORAGE_S3_SECRET_KEY", conf.secret_key, sizeof conf.secret_key);
    snprintf(conf.region, sizeof conf.region, "%s", cfg("REGION", "us-east-1"));
    conf.path_style = clp_config_bool("PATH_STYLE", 0);
    if (conf.path_style < 0 || clp_config_bool("PATH_STYLE", -1) < 0) {
        conf.path_style = 0;
        add_invalid("STORAGE_S3_PATH_STYLE must be true or false");
    }
    conf.part_size = cfg_long("PART_SIZE", "STORAGE_S3_PART_SIZE", 8L << 20, MIN_PART, 1L << 30);
    conf.timeout_ms = cfg_long("TIMEOUT_MS", "STORAGE_S3_TIMEOUT_MS", 120000, 100, 3600000);
    conf.connect_timeout_ms = cfg_long("CONNECT_TIMEOUT_MS", "STORAGE_S3_CONNECT_TIMEOUT_MS", 5000, 100, 600000);
    const char *prefix = cfg("PREFIX", "");
    if (prefix[0]) {
        char p[sizeof conf.prefix];
        snprintf(p, sizeof p, "%s", prefix);
        size_t n = strlen(p);
        while (n && p[n - 1] == '/')
            p[--n] = '\0';
        if (!cl_storage_key_valid(p) || n + 2 > sizeof conf.prefix)
            add_invalid("STORAGE_S3_PREFIX must be a folder name like cliploop/ ([A-Za-z0-9._-/])");
        else {
            memcpy(conf.prefix, p, n);
            conf.prefix[n] = '/';
            conf.prefix[n + 1] = '\0';
        }
    }
    for (const char *c = conf.bucket; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.')) {
            add_invalid("STORAGE_S3_BUCKET must be a bucket name (a-z, 0-9, '-', '.')");
            break;
        }
    for (const char *c = conf.region; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-')) {
            add_invalid("STORAGE_S3_REGION must be a region name like eu-west-1");
            break;
        }
    if (conf.endpoint[0]) {
        size_t n = strlen(conf.endpoint);
        while (n && conf.endpoint[n - 1] == '/')
            conf.endpoint[--n] = '\0';
        const char *rest = NULL;
        if (!strncmp(conf.endpoint, "https://", 8))
            snprintf(conf.scheme, sizeof conf.scheme, "https"), rest = conf.endpoint + 8;
        else if (!strncmp(conf.endpoint, "http://", 7))
            snprintf(conf.scheme, sizeof conf.scheme, "http"), rest = conf.endpoint + 7;
        const char *slash = rest ? strchr(rest, '/') : NULL;
        size_t alen = rest ? (slash ? (size_t)(slash - rest) : strlen(rest)) : 0;
        if (!rest || !alen || alen >= sizeof conf.authority || strpbrk(rest, "?#@ ")) {
            add_invalid("STORAGE_S3_ENDPOINT must be an http(s) URL like https://s3.eu-west-1.amazonaws.com");
        } else {
            memcpy(conf.authority, rest, alen);
            conf.authority[alen] = '\0';
            snprintf(conf.base_path, sizeof conf.base_path, "%s", slash ? slash : "");
        }
    }
}

static int setup(cl_error *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return fail(err, CL_EUNSUPPORTED, 0, "libcurl could not be initialized");
    read_conf();
    static const cl_storage cap = {
        .base = {.kind = CL_CAP_STORAGE,
                 .id = "s3",
                 .description = "objects in an S3-compatible bucket (STORAGE_S3_*)"},
        .put_file = s3_put_file,
        .get_file = s3_get_file,
        .remove = s3_remove,
        .stat = s3_stat,
        .read_range = s3_read_range,
        .presign_get = s3_presign_get,
        .local_path = s3_local_path,
        .configured = s3_configured,
    };
    int rc = clp_register(&cap);
    return rc ? fail(err, rc, 0, "registering storage 's3' failed") : CL_OK;
}

CL_PLUGIN("storage_s3", "1.0.0", "STORAGE_S3", setup)
