/*
 * seal.h — secrets at rest: AES-256-GCM (OpenSSL EVP) with keys derived from
 * ENCRYPTION_SECRET by HKDF-SHA256, and HMAC-signed tokens (OAuth state,
 * public media URLs) with keys derived from the same secret.
 *
 * A keyring holds the current key (new writes) and any previous ones
 * (ENCRYPTION_SECRET_PREVIOUS, comma-separated): rotation means setting the
 * new secret and moving the old one to the previous list; what was sealed
 * with the old key still opens, and everything written afterwards uses the
 * new one. Every sealed value carries the id of the key that sealed it
 * (stored beside the ciphertext), so opening never has to guess.
 *
 * Sealed layout: nonce (12 random bytes, fresh per call) || ciphertext ||
 * GCM tag (16 bytes). The key id is 16 hex characters from HKDF with its own
 * label, so it identifies a key without revealing anything about it.
 * Additional authenticated data (aad) binds a value to its purpose: a token
 * sealed for "channel_token" does not open as anything else.
 *
 * Memory: sealed/opened outputs are malloc'd and owned by the caller (free;
 * for plaintext secrets use cl_seal_free_secret, which wipes first). Keys
 * live in the keyring; cl_keyring_wipe clears them.
 */
#ifndef CL_CORE_SEAL_H
#define CL_CORE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define CL_SEAL_MAX_KEYS 8
#define CL_SEAL_KEY_ID_LEN 16 /* hex characters */
#define CL_SEAL_NONCE_LEN 12
#define CL_SEAL_TAG_LEN 16

typedef struct cl_seal_key {
    unsigned char enc[32];  /**< AES-256-GCM key */
    unsigned char mac[32];  /**< HMAC-SHA256 key for signed tokens */
    char id[CL_SEAL_KEY_ID_LEN + 1];
} cl_seal_key;

typedef struct cl_keyring {
    int n;                             /**< keys loaded; 0 = not configured */
    cl_seal_key keys[CL_SEAL_MAX_KEYS]; /**< keys[0] is current */
} cl_keyring;

/**
 * Derive the keyring from the current secret and an optional comma-separated
 * list of previous ones (NULL or "" for none). Secrets must be at least 16
 * bytes. Returns 0, or -1 with err naming the variable (never the secret).
 * An empty current secret leaves the keyring empty (n = 0) and returns 0.
 */
int cl_keyring_init(cl_keyring *kr, const char *current, const char *previous_csv, char *err,
                    size_t errlen);

/** Zero every key. */
void cl_keyring_wipe(cl_keyring *kr);

/**
 * The process keyring from ENCRYPTION_SECRET / ENCRYPTION_SECRET_PREVIOUS
 * (loaded once, thread-safe). NULL when ENCRYPTION_SECRET is not set or is
 * invalid; *why (may be NULL) then gets a static explanation.
 */
const cl_keyring *cl_keyring_get(const char **why);

/**
 * Seal len bytes with the current key. *out (malloc'd, caller frees) gets
 * nonce || ciphertext || tag, *outlen its size, key_id the current key's id.
 * Returns 0, or -1 (empty keyring, out of memory, OpenSSL failure).
 */
int cl_seal(const cl_keyring *kr, const char *aad, const void *plain, size_t len, unsigned char **out,
            size_t *outlen, char key_id[CL_SEAL_KEY_ID_LEN + 1]);

/**
 * Open what cl_seal produced with the key named key_id. *plain (malloc'd,
 * NUL-terminated, caller frees with cl_seal_free_secret) and *plainlen.
 * Returns 0, -1 when the key is unknown, the data was changed, the aad
 * differs or memory ran out (no partial output either way).
 */
int cl_unseal(const cl_keyring *kr, const char *key_id, const char *aad, const unsigned char *sealed,
              size_t len, char **plain, size_t *plainlen);

/** Wipe and free a secret returned by cl_unseal (NULL is fine). */
void cl_seal_free_secret(char *s, size_t len);

/**
 * Signed tokens: "<base64url(payload)>.<base64url(HMAC-SHA256(purpose '\n' payload))>"
 * with the current key's MAC key. Payload is opaque text (no NUL).
 * cl_sign writes the token into out (NUL-terminated); 0 or -1 (too small).
 */
int cl_sign(const cl_keyring *kr, const char *purpose, const char *payload, char *out, size_t outlen);

/**
 * Verify a token from cl_sign against every key in the ring (constant-time
 * comparison) and copy its payload into out. 0 valid, -1 forged, malformed
 * or too long.
 */
int cl_verify(const cl_keyring *kr, const char *purpose, const char *token, char *out, size_t outlen);

/** Base64url without padding; returns the length written (out must hold 4*ceil(n/3)+1). */
size_t cl_b64url_encode(const unsigned char *in, size_t n, char *out);
/** Decode base64url (no padding); returns bytes written or -1 when malformed or out too small. */
long cl_b64url_decode(const char *in, size_t n, unsigned char *out, size_t outlen);

#endif
