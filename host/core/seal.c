/*
 * seal.c — see seal.h.
 */
#include "core/seal.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT "cliploop-keyring-v1"

/* HKDF-SHA256(ikm = secret, salt = SALT, info = label) into out[outlen]. */
static int hkdf(const char *secret, size_t slen, const char *label, unsigned char *out, size_t outlen)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!kctx)
        return -1;
    OSSL_PARAM params[5], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, slen);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)SALT, sizeof SALT - 1);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)label, strlen(label));
    *p = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(kctx, out, outlen, params) == 1;
    EVP_KDF_CTX_free(kctx);
    return ok ? 0 : -1;
}

static int derive_key(const char *secret, size_t slen, cl_seal_key *k)
{
    unsigned char idb[CL_SEAL_KEY_ID_LEN / 2];
    if (hkdf(secret, slen, "token-encryption v1", k->enc, sizeof k->enc) != 0 ||
        hkdf(secret, slen, "signed-tokens v1", k->mac, sizeof k->mac) != 0 ||
        hkdf(secret, slen, "key-id v1", idb, sizeof idb) != 0)
        return -1;
    for (size_t i = 0; i < sizeof idb; i++)
        snprintf(k->id + 2 * i, 3, "%02x", idb[i]);
    OPENSSL_cleanse(idb, sizeof idb);
    return 0;
}

int cl_keyring_init(cl_keyring *kr, const char *current, const char *previous_csv, char *err, size_t errlen)
{
    memset(kr, 0, sizeof *kr);
    if (!current || !*current)
        return 0;
    if (strlen(current) < 16) {
        snprintf(err, errlen, "ENCRYPTION_SECRET must be at least 16 characters (use 32 random bytes)");
        return -1;
    }
    if (derive_key(current, strlen(current), &kr->keys[0]) != 0) {
        snprintf(err, errlen, "ENCRYPTION_SECRET: key derivation failed");
        return -1;
    }
    kr->n = 1;
    for (const char *p = previous_csv ? previous_csv : ""; *p;) {
        size_t len = strcspn(p, ",");
        if (len > 0) {
            if (len < 16) {
                snprintf(err, errlen, "ENCRYPTION_SECRET_PREVIOUS: every secret must be at least 16 characters");
                cl_keyring_wipe(kr);
                return -1;
            }
            if (kr->n == CL_SEAL_MAX_KEYS) {
                snprintf(err, errlen, "ENCRYPTION_SECRET_PREVIOUS: at most %d previous secrets", CL_SEAL_MAX_KEYS - 1);
                cl_keyring_wipe(kr);
                return -1;
            }
            if (derive_key(p, len, &kr->keys[kr->n]) != 0) {
                snprintf(err, errlen, "ENCRYPTION_SECRET_PREVIOUS: key derivation failed");
                cl_keyring_wipe(kr);
                return -1;
            }
            kr->n++;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

void cl_keyring_wipe(cl_keyring *kr) { OPENSSL_cleanse(kr, sizeof *kr); }

static pthread_once_t ring_once = PTHREAD_ONCE_INIT;
static cl_keyring ring;
static const char *ring_why;

static void ring_load(void)
{
    char err[256];
    if (cl_keyring_init(&ring, getenv("ENCRYPTION_SECRET"), getenv("ENCRYPTION_SECRET_PREVIOUS"), err,
                        sizeof err) != 0)
        ring_why = "ENCRYPTION_SECRET or ENCRYPTION_SECRET_PREVIOUS is invalid";
    else if (ring.n == 0)
        ring_why = "ENCRYPTION_SECRET is not set";
}

const cl_keyring *cl_keyring_get(const char **why)
{
    pthread_once(&ring_once, ring_load);
    if (why)
        *why = ring_why;
    return ring.n > 0 ? &ring : NULL;
}

static const cl_seal_key *find_key(const cl_keyring *kr, const char *id)
{
    for (int i = 0; kr && id && i < kr->n; i++)
        if (strcmp(kr->keys[i].id, id) == 0)
            return &kr->keys[i];
    return NULL;
}

int cl_seal(const cl_keyring *kr, const char *aad, const void *plain, size_t len, unsigned char **out,
            size_t *outlen, char key_id[CL_SEAL_KEY_ID_LEN + 1])
{
    *out = NULL;
    *outlen = 0;
    if (!kr || kr->n == 0 || len > (size_t)1 << 30)
        return -1;
    const cl_seal_key *k = &kr->keys[0];
    size_t total = CL_SEAL_NONCE_LEN + len + CL_SEAL_TAG_LEN;
    unsigned char *buf = malloc(total);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = buf && ctx && RAND_bytes(buf, CL_SEAL_NONCE_LEN) == 1 &&
             EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, CL_SEAL_NONCE_LEN, NULL) == 1 &&
             EVP_EncryptInit_ex(ctx, NULL, NULL, k->enc, buf) == 1;
    int n = 0, fin = 0;
    if (ok && aad && *aad)
        ok = EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1;
    if (ok)
        ok = EVP_EncryptUpdate(ctx, buf + CL_SEAL_NONCE_LEN, &n, plain, (int)len) == 1 &&
             EVP_EncryptFinal_ex(ctx, buf + CL_SEAL_NONCE_LEN + n, &fin) == 1 &&
             (size_t)(n + fin) == len &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CL_SEAL_TAG_LEN, buf + CL_SEAL_NONCE_LEN + len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = total;
    memcpy(key_id, k->id, CL_SEAL_KEY_ID_LEN + 1);
    return 0;
}

int cl_unseal(const cl_keyring *kr, const char *key_id, const char *aad, const unsigned char *sealed, size_t len,
              char **plain, size_t *plainlen)
{
    *plain = NULL;
    *plainlen = 0;
    const cl_seal_key *k = find_key(kr, key_id);
    if (!k || len < CL_SEAL_NONCE_LEN + CL_SEAL_TAG_LEN)
        return -1;
    size_t clen = len - CL_SEAL_NONCE_LEN - CL_SEAL_TAG_LEN;
    unsigned char *buf = malloc(clen + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    int ok = buf && ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, CL_SEAL_NONCE_LEN, NULL) == 1 &&
             EVP_DecryptInit_ex(ctx, NULL, NULL, k->enc, sealed) == 1;
    if (ok && aad && *aad)
        ok = EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1;
    if (ok)
        ok = EVP_DecryptUpdate(ctx, buf, &n, sealed + CL_SEAL_NONCE_LEN, (int)clen) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CL_SEAL_TAG_LEN,
                                 (void *)(sealed + CL_SEAL_NONCE_LEN + clen)) == 1 &&
             EVP_DecryptFinal_ex(ctx, buf + n, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        if (buf)
            cl_seal_free_secret((char *)buf, clen + 1);
        return -1;
    }
    buf[clen] = '\0';
    *plain = (char *)buf;
    *plainlen = clen;
    return 0;
}

void cl_seal_free_secret(char *s, size_t len)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, len);
    free(s);
}

/* ---- base64url ------------------------------------------------------------ */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t cl_b64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = B64[v >> 18 & 63], out[o++] = B64[v >> 12 & 63];
        out[o++] = B64[v >> 6 & 63], out[o++] = B64[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = B64[v >> 18 & 63], out[o++] = B64[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = B64[v >> 18 & 63], out[o++] = B64[v >> 12 & 63], out[o++] = B64[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

static int b64val(int c)
{
    const char *p = c ? strchr(B64, c) : NULL;
    return p ? (int)(p - B64) : -1;
}

long cl_b64url_decode(const char *in, size_t n, unsigned char *out, size_t outlen)
{
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == outlen)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-canonical trailing bits */
        return -1;
    return (long)o;
}

/* ---- signed tokens ----------------------------------------------------------- */

static int mac(const cl_seal_key *k, const char *purpose, const char *payload, size_t plen, unsigned char out[32])
{
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
    EVP_MAC_free(m);
    if (!ctx)
        return -1;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    size_t outl = 0;
    int ok = EVP_MAC_init(ctx, k->mac, sizeof k->mac, params) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)purpose, strlen(purpose)) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)"\n", 1) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)payload, plen) == 1 && EVP_MAC_final(ctx, out, &outl, 32) == 1 &&
             outl == 32;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : -1;
}

int cl_sign(const cl_keyring *kr, const char *purpose, const char *payload, char *out, size_t outlen)
{
    if (!kr || kr->n == 0)
        return -1;
    size_t plen = strlen(payload);
    if ((plen + 2) / 3 * 4 + 1 + 43 + 1 > outlen)
        return -1;
    unsigned char m[32];
    if (mac(&kr->keys[0], purpose, payload, plen, m) != 0)
        return -1;
    size_t o = cl_b64url_encode((const unsigned char *)payload, plen, out);
    out[o++] = '.';
    cl_b64url_encode(m, sizeof m, out + o);
    return 0;
}

int cl_verify(const cl_keyring *kr, const char *purpose, const char *token, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!kr || !token)
        return -1;
    const char *dot = strchr(token, '.');
    if (!dot || strlen(dot + 1) != 43)
        return -1;
    unsigned char given[33];
    if (cl_b64url_decode(dot + 1, 43, given, sizeof given) != 32)
        return -1;
    long plen = cl_b64url_decode(token, (size_t)(dot - token), (unsigned char *)out, outlen - 1);
    if (plen < 0)
        return -1;
    out[plen] = '\0';
    if (memchr(out, '\0', (size_t)plen)) {
        out[0] = '\0';
        return -1;
    }
    for (int i = 0; i < kr->n; i++) {
        unsigned char m[32];
        if (mac(&kr->keys[i], purpose, out, (size_t)plen, m) == 0 && CRYPTO_memcmp(m, given, 32) == 0)
            return 0;
    }
    out[0] = '\0';
    return -1;
}
