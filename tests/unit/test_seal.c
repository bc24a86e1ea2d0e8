/*
 * test_seal.c — token encryption (AES-256-GCM, HKDF keys, key ids,
 * rotation) and signed tokens.
 */
#include "core/seal.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#define SECRET_A "first-secret-0123456789abcdef"
#define SECRET_B "second-secret-0123456789abcdef"
#define TOKEN "IGAAT-long-lived-token-value-1234567890"

static int contains(const unsigned char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

static void test_round_trip(void)
{
    cl_keyring kr;
    char err[256];
    CHECK(cl_keyring_init(&kr, SECRET_A, NULL, err, sizeof err) == 0);
    CHECK(kr.n == 1);
    CHECK(strlen(kr.keys[0].id) == CL_SEAL_KEY_ID_LEN);

    unsigned char *ct1, *ct2;
    size_t n1, n2;
    char id1[CL_SEAL_KEY_ID_LEN + 1], id2[CL_SEAL_KEY_ID_LEN + 1];
    CHECK(cl_seal(&kr, "channel_token", TOKEN, strlen(TOKEN), &ct1, &n1, id1) == 0);
    CHECK(cl_seal(&kr, "channel_token", TOKEN, strlen(TOKEN), &ct2, &n2, id2) == 0);
    CHECK(n1 == strlen(TOKEN) + CL_SEAL_NONCE_LEN + CL_SEAL_TAG_LEN);
    CHECK_STR(id1, kr.keys[0].id);
    /* A fresh nonce each time: the same token never seals to the same bytes. */
    CHECK(n1 == n2 && memcmp(ct1, ct2, n1) != 0);
    CHECK(!contains(ct1, n1, "IGAAT") && !contains(ct1, n1, "long-lived"));

    char *pt;
    size_t pl;
    CHECK(cl_unseal(&kr, id1, "channel_token", ct1, n1, &pt, &pl) == 0);
    CHECK(pl == strlen(TOKEN) && strcmp(pt, TOKEN) == 0);
    cl_seal_free_secret(pt, pl);

    /* Tampering, another purpose, an unknown key id: refused, no output. */
    ct1[CL_SEAL_NONCE_LEN + 3] ^= 1;
    CHECK(cl_unseal(&kr, id1, "channel_token", ct1, n1, &pt, &pl) == -1 && pt == NULL);
    ct1[CL_SEAL_NONCE_LEN + 3] ^= 1;
    ct1[n1 - 1] ^= 0x80; /* the tag */
    CHECK(cl_unseal(&kr, id1, "channel_token", ct1, n1, &pt, &pl) == -1);
    ct1[n1 - 1] ^= 0x80;
    CHECK(cl_unseal(&kr, id1, "media_url", ct1, n1, &pt, &pl) == -1);
    CHECK(cl_unseal(&kr, "0000000000000000", "channel_token", ct1, n1, &pt, &pl) == -1);
    CHECK(cl_unseal(&kr, id1, "channel_token", ct1, 10, &pt, &pl) == -1);
    free(ct1);
    free(ct2);
    cl_keyring_wipe(&kr);
}

static void test_rotation(void)
{
    char err[256];
    cl_keyring old, rotated, other;
    CHECK(cl_keyring_init(&old, SECRET_A, "", err, sizeof err) == 0);
    unsigned char *ct;
    size_t n;
    char id_old[CL_SEAL_KEY_ID_LEN + 1];
    CHECK(cl_seal(&old, "channel_token", TOKEN, strlen(TOKEN), &ct, &n, id_old) == 0);

    /* Rotate: B is current, A previous. Old values open; new ones use B. */
    CHECK(cl_keyring_init(&rotated, SECRET_B, "," SECRET_A ",", err, sizeof err) == 0);
    CHECK(rotated.n == 2);
    CHECK(strcmp(rotated.keys[0].id, id_old) != 0);
    CHECK_STR(rotated.keys[1].id, id_old);
    char *pt;
    size_t pl;
    CHECK(cl_unseal(&rotated, id_old, "channel_token", ct, n, &pt, &pl) == 0 && strcmp(pt, TOKEN) == 0);
    cl_seal_free_secret(pt, pl);
    unsigned char *ct2;
    size_t n2;
    char id_new[CL_SEAL_KEY_ID_LEN + 1];
    CHECK(cl_seal(&rotated, "channel_token", TOKEN, strlen(TOKEN), &ct2, &n2, id_new) == 0);
    CHECK_STR(id_new, rotated.keys[0].id);
    /* The old ring alone cannot open what the new key sealed. */
    CHECK(cl_unseal(&old, id_new, "channel_token", ct2, n2, &pt, &pl) == -1);
    /* Dropping A from the ring makes A's values unreadable. */
    CHECK(cl_keyring_init(&other, SECRET_B, NULL, err, sizeof err) == 0);
    CHECK(cl_unseal(&other, id_old, "channel_token", ct, n, &pt, &pl) == -1);
    free(ct);
    free(ct2);

    /* Bad configuration is refused with the variable's name, never the value. */
    CHECK(cl_keyring_init(&other, "short", NULL, err, sizeof err) == -1);
    CHECK(strstr(err, "ENCRYPTION_SECRET") != NULL && strstr(err, "short") == NULL);
    CHECK(cl_keyring_init(&other, SECRET_A, "tiny", err, sizeof err) == -1);
    CHECK(strstr(err, "ENCRYPTION_SECRET_PREVIOUS") != NULL);
    CHECK(cl_keyring_init(&other, "", NULL, err, sizeof err) == 0 && other.n == 0);
    CHECK(cl_seal(&other, "x", "y", 1, &ct, &n, id_new) == -1);
}

static void test_signed_tokens(void)
{
    char err[256], tok[256], out[128];
    cl_keyring a, b;
    CHECK(cl_keyring_init(&a, SECRET_A, NULL, err, sizeof err) == 0);
    CHECK(cl_keyring_init(&b, SECRET_B, SECRET_A, err, sizeof err) == 0);
    CHECK(cl_sign(&a, "oauth_state", "u=1;p=2;exp=99", tok, sizeof tok) == 0);
    CHECK(cl_verify(&a, "oauth_state", tok, out, sizeof out) == 0);
    CHECK_STR(out, "u=1;p=2;exp=99");
    /* Rotation: a previous key still verifies. */
    CHECK(cl_verify(&b, "oauth_state", tok, out, sizeof out) == 0);
    /* Another purpose, a changed payload, a changed MAC: refused. */
    CHECK(cl_verify(&a, "media_url", tok, out, sizeof out) == -1);
    char forged[256];
    strcpy(forged, tok);
    forged[2] = forged[2] == 'A' ? 'B' : 'A';
    CHECK(cl_verify(&a, "oauth_state", forged, out, sizeof out) == -1);
    strcpy(forged, tok);
    size_t L = strlen(forged);
    forged[L - 2] = forged[L - 2] == 'A' ? 'B' : 'A';
    CHECK(cl_verify(&a, "oauth_state", forged, out, sizeof out) == -1);
    CHECK(cl_verify(&a, "oauth_state", "nodot", out, sizeof out) == -1);
    CHECK(cl_verify(&a, "oauth_state", "", out, sizeof out) == -1);
    cl_keyring c;
    CHECK(cl_keyring_init(&c, "a-completely-different-secret", NULL, err, sizeof err) == 0);
    CHECK(cl_verify(&c, "oauth_state", tok, out, sizeof out) == -1);
    /* Output too small: refused rather than truncated. */
    CHECK(cl_verify(&a, "oauth_state", tok, out, 4) == -1);
    CHECK(cl_sign(&a, "oauth_state", "u=1;p=2;exp=99", tok, 20) == -1);

    unsigned char bin[8];
    char enc[16];
    for (size_t n = 0; n <= 5; n++) {
        unsigned char src[5] = {0xfb, 0xff, 0x00, 0x3e, 0x80};
        size_t e = cl_b64url_encode(src, n, enc);
        CHECK(cl_b64url_decode(enc, e, bin, sizeof bin) == (long)n && memcmp(bin, src, n) == 0);
    }
    CHECK(cl_b64url_decode("ab+c", 4, bin, sizeof bin) == -1);
}

int main(void)
{
    test_round_trip();
    test_rotation();
    test_signed_tokens();
    return unit_done("test_seal");
}
