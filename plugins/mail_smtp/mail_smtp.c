/*
 * mail_smtp.c — mailer "smtp": delivers account mail to a submission server
 * with libcurl's SMTP client (EHLO, optional STARTTLS or implicit TLS, AUTH,
 * MAIL FROM, RCPT TO, DATA).
 *
 * Configuration (section MAIL_SMTP, read on every call; secrets never logged):
 *   MAIL_SMTP_HOST        server name or address (required)
 *   MAIL_SMTP_PORT        default 465 with MAIL_SMTP_TLS=tls, else 587
 *   MAIL_SMTP_TLS         starttls (default: STARTTLS required) | tls (SMTPS,
 *                         implicit TLS) | none (plain text; local relays and tests)
 *   MAIL_SMTP_USER        log-in name (AUTH), with MAIL_SMTP_PASSWORD
 *   MAIL_SMTP_PASSWORD
 *   MAIL_SMTP_TIMEOUT_MS  whole-delivery deadline; default the host's (MAIL_TIMEOUT_MS)
 *   MAIL_SMTP_HELO        the name sent with EHLO; default the sender's domain
 *   MAIL_SMTP_CA_FILE     CA bundle for the server's certificate (default: the system's)
 * Certificates and host names are always verified when TLS is used.
 *
 * The message (RFC 5322, CRLF line ends): Date, From (display name as a
 * UTF-8 encoded-word when it is not plain ASCII), To, Subject (RFC 2047
 * encoded-words of at most 39 bytes, folded, when not plain ASCII), Message-ID, MIME-Version,
 * Content-Type text/plain; charset=UTF-8, Content-Transfer-Encoding base64
 * (76-character lines), so any UTF-8 text passes any server unchanged.
 *
 * Errors: a 5xx reply (MAIL FROM, RCPT TO, DATA or after the message) is
 * CL_EINVAL, a 4xx CL_EUPSTREAM, both with the server's reply text and its
 * code in err->http_status; 535 / refused log-in CL_EAUTH; the deadline
 * CL_ETIMEOUT; no connection CL_EUPSTREAM; not configured CL_EUNSUPPORTED.
 */
#include "cliploop_plugin.h"
#include "pl_json.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>


/* The submission ports: implicit TLS (SMTPS) and STARTTLS submission. */
#define SMTPS_PORT 465
#define SUBMISSION_PORT 587

#define fail(err, code, status, ...) cl_error_set_http((err), (code), (status), 0, __VA_ARGS__)

static const char *cfg(const char *key)
{
    const char *v = clp_config(key);
    return v && *v ? v : NULL;
}

/* Base64 of in[0..n) through OpenSSL (n <= 57 here: one MIME line). */
static void b64(clp_buf *b, const unsigned char *in, size_t n)
{
    unsigned char out[4 * ((57 + 2) / 3) + 1];
    if (n > 57) {
        b->oom = 1; /* never asked for: callers cut at 57 bytes */
        return;
    }
    int len = EVP_EncodeBlock(out, in, (int)n);
    clp_buf_append(b, (const char *)out, (size_t)len);
}

/* Printable ASCII without CR/LF (safe to put into a header as it is). */
static int plain_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

/* Length of the UTF-8 sequence starting at s (1 for anything malformed). */
static size_t utf8_len(const unsigned char *s)
{
    if (*s >= 0xf0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80)
        return 4;
    if (*s >= 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80)
        return 3;
    if (*s >= 0xc0 && (s[1] & 0xc0) == 0x80)
        return 2;
    return 1;
}

/* RFC 2047 encoded-words (B encoding) for s, each at most 39 bytes of UTF-8
   (64 characters on the wire, so "Subject: " plus one word stays within 78),
   never splitting a character, folded with CRLF SP between words. CR and LF
   in s become spaces. */
static void encoded_words(clp_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int first = 1;
    while (*p) {
        unsigned char chunk[48];
        size_t n = 0;
        while (*p) {
            size_t l = utf8_len(p);
            if (n + l > 39)
                break;
            for (size_t k = 0; k < l; k++)
                chunk[n++] = (p[k] == '\r' || p[k] == '\n') ? ' ' : p[k];
            p += l;
        }
        if (!first)
            clp_buf_puts(b, "\r\n ");
        clp_buf_puts(b, "=?UTF-8?B?");
        b64(b, chunk, n);
        clp_buf_puts(b, "?=");
        first = 0;
    }
}

/* A header value: as it is when plain ASCII, else encoded-words. */
static void header_text(clp_buf *b, const char *s)
{
    if (plain_ascii(s) && strlen(s) < 900)
        clp_buf_puts(b, s);
    else
        encoded_words(b, s);
}

/* A bare address safe for a header and an SMTP command. */
static int valid_address(const char *a)
{
    const char *at = a ? strchr(a, '@') : NULL;
    if (!at || at == a || !at[1] || strlen(a) > 254)
        return 0;
    for (const char *p = a; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("<>()[]\\,;:\"", *p))
            return 0;
    return 1;
}

static void build_message(clp_buf *m, const cl_mail_message *msg, const char *message_id)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    snprintf(date, sizeof date, "%s, %02d %s %04d %02d:%02d:%02d +0000", wd[tm.tm_wday], tm.tm_mday, mo[tm.tm_mon],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    clp_buf_puts(m, "Date: ");
    clp_buf_puts(m, date);
    clp_buf_puts(m, "\r\nFrom: ");
    if (msg->from_name && msg->from_name[0]) {
        int quoted = plain_ascii(msg->from_name) && !strpbrk(msg->from_name, "\"\\");
        if (quoted) {
            clp_buf_puts(m, "\"");
            clp_buf_puts(m, msg->from_name);
            clp_buf_puts(m, "\"");
        } else {
            encoded_words(m, msg->from_name);
        }
        clp_buf_puts(m, " ");
    }
    clp_buf_puts(m, "<");
    clp_buf_puts(m, msg->from);
    clp_buf_puts(m, ">\r\nTo: <");
    clp_buf_puts(m, msg->to);
    clp_buf_puts(m, ">\r\nSubject: ");
    header_text(m, msg->subject);
    clp_buf_puts(m, "\r\nMessage-ID: ");
    clp_buf_puts(m, message_id);
    clp_buf_puts(m, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
               "Content-Transfer-Encoding: base64\r\n");
    if (msg->kind && plain_ascii(msg->kind)) {
        clp_buf_puts(m, "X-ClipLoop-Kind: ");
        clp_buf_puts(m, msg->kind);
        clp_buf_puts(m, "\r\n");
    }
    clp_buf_puts(m, "\r\n");
    /* The body: "\n" line ends become CRLF, then base64 in 76-character lines. */
    clp_buf text = {0};
    for (const char *p = msg->text; *p; p++) {
        if (*p == '\n' && (p == msg->text || p[-1] != '\r'))
            clp_buf_append(&text, "\r\n", 2);
        else
            clp_buf_append(&text, p, 1);
    }
    if (text.oom) {
        m->oom = 1;
    } else {
        for (size_t i = 0; i < text.len; i += 57) {
            b64(m, (const unsigned char *)text.data + i, text.len - i < 57 ? text.len - i : 57);
            clp_buf_puts(m, "\r\n");
        }
    }
    clp_buf_free(&text);
}

/* ---- libcurl ------------------------------------------------------------- */

typedef struct upload {
    const char *data;
    size_t len, off;
} upload;

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    upload *u = arg;
    size_t room = size * nitems, left = u->len - u->off;
    size_t n = left < room ? left : room;
    memcpy(buf, u->data + u->off, n);
    u->off += n;
    return n;
}

typedef struct progress {
    cl_call *call;
} progress;

static int xfer_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    progress *p = arg;
    return p->call && clp_cancelled(p->call) ? 1 : 0;
}

/* Keeps the server's first refusal (a 4xx or 5xx reply line) for the error
   message; what comes after it (QUIT's 221) does not replace it. Only
   replies are looked at, never what was sent (AUTH carries the password). */
typedef struct replies {
    char last[256];
} replies;

static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
    (void)h;
    replies *r = arg;
    if (type != CURLINFO_HEADER_IN || size == 0 || r->last[0] || (data[0] != '4' && data[0] != '5'))
        return 0;
    size_t n = size < sizeof r->last - 1 ? size : sizeof r->last - 1;
    memcpy(r->last, data, n);
    r->last[n] = '\0';
    for (char *p = r->last; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = '\0';
        else if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = ' ';
    return 0;
}

static int smtp_configured(void *self, char *missing, size_t len)
{
    (void)self;
    const char *tls = cfg("TLS");
    missing[0] = '\0';
    if (!cfg("HOST"))
        snprintf(missing, len, "MAIL_SMTP_HOST");
    else if (tls && strcmp(tls, "starttls") != 0 && strcmp(tls, "tls") != 0 && strcmp(tls, "none") != 0)
        snprintf(missing, len, "MAIL_SMTP_TLS (starttls, tls or none; got '%.40s')", tls);
    else if (!cfg("USER") != !cfg("PASSWORD"))
        snprintf(missing, len, "%s", cfg("USER") ? "MAIL_SMTP_PASSWORD" : "MAIL_SMTP_USER");
    return missing[0] == '\0';
}

static int smtp_send(void *self, cl_call *call, const cl_mail_message *msg, cl_output *out, cl_error *err)
{
    char missing[128];
    if (!smtp_configured(self, missing, sizeof missing))
        return fail(err, CL_EUNSUPPORTED, 0, "SMTP is not configured (missing or invalid %s)", missing);
    if (!msg || !valid_address(msg->from) || !valid_address(msg->to) || !msg->subject || !msg->text)
        return fail(err, CL_EINVAL, 0, "SMTP: the sender, recipient, subject and text must be set and valid");
    const char *host = cfg("HOST"), *tls = cfg("TLS") ? cfg("TLS") : "starttls";
    int implicit = strcmp(tls, "tls") == 0, none = strcmp(tls, "none") == 0;
    long port = (long)clp_config_int("PORT", implicit ? SMTPS_PORT : SUBMISSION_PORT);
    if (port < 1 || port > 65535)
        return fail(err, CL_EUNSUPPORTED, 0, "MAIL_SMTP_PORT must be 1..65535");
    long timeout = (long)clp_config_int("TIMEOUT_MS", msg->timeout_ms);
    if (timeout <= 0)
        timeout = 10000;
    for (const char *p = host; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr(".-:[]_", *p)))
            return fail(err, CL_EUNSUPPORTED, 0, "MAIL_SMTP_HOST is not a host name");
    const char *domain = strchr(msg->from, '@') + 1;
    const char *helo = cfg("HELO") ? cfg("HELO") : domain;
    for (const char *p = helo; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr(".-[]:", *p)))
            return fail(err, CL_EUNSUPPORTED, 0, "MAIL_SMTP_HELO is not a host name");

    unsigned char rnd[12];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return fail(err, CL_EIO, 0, "no randomness available");
    char mid[320];
    int ml = snprintf(mid, sizeof mid, "<%ld.", (long)time(NULL));
    for (size_t i = 0; i < sizeof rnd; i++)
        ml += snprintf(mid + ml, sizeof mid - (size_t)ml, "%02x", rnd[i]);
    snprintf(mid + ml, sizeof mid - (size_t)ml, "@%s>", domain);

    clp_buf m = {0};
    build_message(&m, msg, mid);
    if (m.oom) {
        clp_buf_free(&m);
        return fail(err, CL_ENOMEM, 0, "out of memory");
    }
    char url[400], from[300], to[300];
    int v6 = strchr(host, ':') && host[0] != '[';
    snprintf(url, sizeof url, "%s://%s%s%s:%ld/%s", implicit ? "smtps" : "smtp", v6 ? "[" : "", host, v6 ? "]" : "",
             port, helo);
    snprintf(from, sizeof from, "<%s>", msg->from);
    snprintf(to, sizeof to, "<%s>", msg->to);

    CURL *h = curl_easy_init();
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    if (!h || !rcpt) {
        curl_easy_cleanup(h);
        curl_slist_free_all(rcpt);
        clp_buf_free(&m);
        return fail(err, CL_ENOMEM, 0, "out of memory");
    }
    upload up = {m.data, m.len, 0};
    progress pr = {call};
    replies rep = {{0}};
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_USE_SSL, none ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg("CA_FILE"))
        curl_easy_setopt(h, CURLOPT_CAINFO, cfg("CA_FILE"));
    if (cfg("USER")) {
        curl_easy_setopt(h, CURLOPT_USERNAME, cfg("USER"));
        curl_easy_setopt(h, CURLOPT_PASSWORD, cfg("PASSWORD"));
    }
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m.len);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    /* libcurl waits for the reply to the end of DATA with its own response
       timeout (120 s by default), outside CURLOPT_TIMEOUT: bound it too. */
    curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, (timeout + 999) / 1000);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xfer_cb);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &pr);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L); /* only into debug_cb, never to stderr */
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, &rep);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);

    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    curl_slist_free_all(rcpt);
    clp_buf_free(&m);

    const char *said = rep.last[0] ? rep.last : ebuf[0] ? ebuf : curl_easy_strerror(rc);
    if (rc != CURLE_OK && rep.last[0] && code < 400)
        code = strtol(rep.last, NULL, 10);
    if (rc == CURLE_OK) {
        if (pl_out_json(out, err, pl_obj1("message_id", mid)) != CL_OK)
            return fail(err, CL_ENOMEM, 0, "out of memory");
        return CL_OK;
    }
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return fail(err, CL_ETIMEOUT, (int)code, "the mail server %s:%ld did not finish within %ld ms", host, port,
                    timeout);
    case CURLE_ABORTED_BY_CALLBACK:
        return fail(err, CL_ECANCELLED, 0, "cancelled");
    case CURLE_LOGIN_DENIED:
        return fail(err, CL_EAUTH, (int)code, "the mail server refused the log-in (MAIL_SMTP_USER): %s", said);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        return fail(err, CL_EUPSTREAM, 0, "cannot connect to the mail server %s:%ld (%s)", host, port,
                    ebuf[0] ? ebuf : curl_easy_strerror(rc));
    case CURLE_PEER_FAILED_VERIFICATION:
        return fail(err, CL_EUPSTREAM, 0,
                    "the certificate of the mail server %s:%ld could not be verified (%s); set MAIL_SMTP_CA_FILE "
                    "if it is signed by a private CA",
                    host, port, ebuf[0] ? ebuf : curl_easy_strerror(rc));
    case CURLE_SSL_CONNECT_ERROR:
        return fail(err, CL_EUPSTREAM, 0, "the TLS handshake with the mail server %s:%ld failed (%s)", host, port,
                    ebuf[0] ? ebuf : curl_easy_strerror(rc));
    case CURLE_USE_SSL_FAILED:
        return fail(err, CL_EUPSTREAM, (int)code, "the mail server %s:%ld does not offer STARTTLS (MAIL_SMTP_TLS)",
                    host, port);
    default:
        break;
    }
    if (code == 535 || code == 530)
        return fail(err, CL_EAUTH, (int)code, "the mail server refused the log-in: %s", said);
    if (code >= 500 && code < 600)
        return fail(err, CL_EINVAL, (int)code, "the mail server refused the message: %s", said);
    if (code >= 400 && code < 500)
        return fail(err, CL_EUPSTREAM, (int)code, "the mail server deferred the message: %s", said);
    return fail(err, CL_EUPSTREAM, (int)code, "mail delivery failed: %s",
                ebuf[0] ? ebuf : curl_easy_strerror(rc));
}

static int setup(cl_error *err)
{
    cl_mailer m = {
        .base = {.kind = CL_CAP_MAILER, .id = "smtp", .description = "SMTP submission (STARTTLS/SMTPS) through libcurl"},
        .send = smtp_send,
        .configured = smtp_configured,
    };
    int rc = clp_register(&m);
    if (rc != CL_OK)
        return fail(err, rc, 0, "cannot register the SMTP mailer");
    return CL_OK;
}

CL_PLUGIN("mail_smtp", "1.0.0", "MAIL_SMTP", setup)
