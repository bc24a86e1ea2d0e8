/*
 * password.c — scrypt password hashing through OpenSSL, random tokens,
 * SHA-256 and email normalization.
 *
 * Stored form: "scrypt$<log2 N>$<r>$<p>$<salt hex>$<hash hex>", so the cost
 * can be raised later (CLIPLOOP_SCRYPT_LOG_N) without invalidating old
 * hashes: verification always uses the parameters stored with the hash, and
 * a successful log-in with an older cost rehashes (cl_password_needs_rehash).
 *
 * Memory: one scrypt at N = 2^17, r = 8 needs 128 MiB, so at most
 * SCRYPT_CONCURRENCY run at once in a process; others wait their turn.
 */
#include "auth/auth.h"
#include "core/config.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT_BYTES 16
#define HASH_BYTES 32
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SCRYPT_CONCURRENCY 2

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_running;

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int from_hex(const char *in, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char ch = in[2 * i + k];
            int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
            if (d < 0)
                return -1;
            v = v * 16 + d;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

int cl_random_hex(char *out, size_t nbytes)
{
    unsigned char buf[64];
    if (nbytes > sizeof buf || RAND_bytes(buf, (int)nbytes) != 1)
        return -1;
    to_hex(buf, nbytes, out);
    OPENSSL_cleanse(buf, sizeof buf);
    return 0;
}

void cl_sha256_hex(const char *s, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), md);
    to_hex(md, sizeof md, out);
}

static int derive(const char *password, const unsigned char *salt, int log_n, int r, int p,
                  unsigned char *key)
{
    uint64_t n = (uint64_t)1 << log_n;
    /* scrypt needs 128 * r * N bytes (+ 128 * r * p); allow that plus slack. */
    uint64_t maxmem = 128u * (uint64_t)r * (n + (uint64_t)p) + (1u << 20);
    pthread_mutex_lock(&gate_mu);
    while (gate_running >= SCRYPT_CONCURRENCY)
        pthread_cond_wait(&gate_cv, &gate_mu);
    gate_running++;
    pthread_mutex_unlock(&gate_mu);
    int ok = EVP_PBE_scrypt(password, strlen(password), salt, SALT_BYTES, n, (uint64_t)r, (uint64_t)p, maxmem, key,
                            HASH_BYTES) == 1;
    pthread_mutex_lock(&gate_mu);
    gate_running--;
    pthread_cond_signal(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    return ok ? 0 : -1;
}

int cl_password_hash(const char *password, int log_n, char *out, size_t outlen, char *err, size_t errlen)
{
    if (log_n < 10 || log_n > 20)
        log_n = CL_SCRYPT_LOG_N_DEFAULT;
    unsigned char salt[SALT_BYTES], key[HASH_BYTES];
    if (RAND_bytes(salt, sizeof salt) != 1) {
        snprintf(err, errlen, "no randomness available");
        return -1;
    }
    if (derive(password, salt, log_n, SCRYPT_R, SCRYPT_P, key) != 0) {
        snprintf(err, errlen, "scrypt failed (out of memory?)");
        return -1;
    }
    char salt_hex[2 * SALT_BYTES + 1], key_hex[2 * HASH_BYTES + 1];
    to_hex(salt, sizeof salt, salt_hex);
    to_hex(key, sizeof key, key_hex);
    OPENSSL_cleanse(key, sizeof key);
    int n = snprintf(out, outlen, "scrypt$%d$%d$%d$%s$%s", log_n, SCRYPT_R, SCRYPT_P, salt_hex, key_hex);
    if (n < 0 || (size_t)n >= outlen) {
        snprintf(err, errlen, "hash buffer too small");
        return -1;
    }
    return 0;
}

int cl_password_verify(const char *password, const char *stored)
{
    int log_n, r, p, consumed = 0;
    if (!stored || sscanf(stored, "scrypt$%d$%d$%d$%n", &log_n, &r, &p, &consumed) != 3 || consumed == 0)
        return 0;
    if (log_n < 1 || log_n > 22 || r < 1 || r > 32 || p < 1 || p > 16)
        return 0;
    const char *rest = stored + consumed;
    if (strlen(rest) != 2 * SALT_BYTES + 1 + 2 * HASH_BYTES || rest[2 * SALT_BYTES] != '$')
        return 0;
    unsigned char salt[SALT_BYTES], want[HASH_BYTES], got[HASH_BYTES];
    if (from_hex(rest, SALT_BYTES, salt) || from_hex(rest + 2 * SALT_BYTES + 1, HASH_BYTES, want))
        return 0;
    if (derive(password, salt, log_n, r, p, got) != 0)
        return -1;
    int ok = CRYPTO_memcmp(got, want, HASH_BYTES) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return ok;
}

int cl_password_needs_rehash(const char *stored, int log_n)
{
    int n, r, p;
    if (!stored || sscanf(stored, "scrypt$%d$%d$%d$", &n, &r, &p) != 3)
        return 1;
    return n < log_n || r != SCRYPT_R || p != SCRYPT_P;
}

/* A fixed, valid hash at the configured cost, made on first use (and again
   if the cost changes): an unknown email costs the same scrypt work as a
   wrong password, so timing does not reveal which emails have accounts. */
static char dummy_hash[CL_PASSWORD_HASH_MAX];
static int dummy_log_n;
static pthread_mutex_t dummy_mu = PTHREAD_MUTEX_INITIALIZER;

int cl_password_dummy_hash(int log_n, char *out, size_t outlen)
{
    pthread_mutex_lock(&dummy_mu);
    if (dummy_log_n != log_n || !dummy_hash[0]) {
        char err[64];
        if (cl_password_hash("cliploop-dummy", log_n, dummy_hash, sizeof dummy_hash, err, sizeof err) == 0)
            dummy_log_n = log_n;
        else
            dummy_hash[0] = '\0';
    }
    int ok = dummy_hash[0] && snprintf(out, outlen, "%s", dummy_hash) < (int)outlen;
    pthread_mutex_unlock(&dummy_mu);
    return ok ? 0 : -1;
}

void cl_password_dummy_verify(const char *password, int log_n)
{
    char h[CL_PASSWORD_HASH_MAX];
    if (cl_password_dummy_hash(log_n, h, sizeof h) == 0)
        (void)cl_password_verify(password, h);
}

int cl_email_normalize(const char *in, char *out, size_t outlen)
{
    if (!in)
        return -1;
    while (isspace((unsigned char)*in))
        in++;
    size_t n = strlen(in);
    while (n && isspace((unsigned char)in[n - 1]))
        n--;
    if (n < 3 || n > 254 || n >= outlen)
        return -1;
    int at = -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch <= 0x20 || ch == 0x7f || ch == '"' || ch == '<' || ch == '>' || ch == ',' || ch == ';')
            return -1;
        if (ch == '@') {
            if (at >= 0)
                return -1;
            at = (int)i;
        }
        out[i] = (char)tolower(ch);
    }
    out[n] = '\0';
    if (at <= 0 || (size_t)at == n - 1)
        return -1;
    const char *domain = out + at + 1;
    const char *dot = strrchr(domain, '.');
    if (!dot || dot == domain || dot[1] == '\0' || strstr(domain, ".."))
        return -1;
    return 0;
}
