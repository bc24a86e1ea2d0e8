/*
 * test_auth.c — password hashing (scrypt round trip, per-user salt, wrong
 * password, malformed and tampered hashes), tokens and email normalization.
 */
#include "auth/auth.h"
#include "core/config.h"
#include "unit.h"

static void test_passwords(void)
{
    char h1[CL_PASSWORD_HASH_MAX], h2[CL_PASSWORD_HASH_MAX], err[128];
    CHECK(cl_password_hash("correct horse", 10, h1, sizeof h1, err, sizeof err) == 0);
    CHECK(cl_password_hash("correct horse", 10, h2, sizeof h2, err, sizeof err) == 0);
    CHECK(strncmp(h1, "scrypt$10$8$1$", 14) == 0);
    CHECK(strcmp(h1, h2) != 0); /* per-hash salt */
    CHECK(cl_password_verify("correct horse", h1) == 1);
    CHECK(cl_password_verify("correct horse", h2) == 1);
    CHECK(cl_password_verify("correct horsE", h1) == 0);
    CHECK(cl_password_verify("", h1) == 0);
    CHECK(cl_password_verify("correct horse", "") == 0);
    CHECK(cl_password_verify("correct horse", NULL) == 0);
    CHECK(cl_password_verify("correct horse", "scrypt$10$8$1$zz") == 0);
    /* Flip one hex digit of the hash part: no longer verifies. */
    char t[CL_PASSWORD_HASH_MAX];
    strcpy(t, h1);
    size_t n = strlen(t);
    t[n - 1] = t[n - 1] == '0' ? '1' : '0';
    CHECK(cl_password_verify("correct horse", t) == 0);
    /* The stored cost is used, whatever the current default. */
    CHECK(cl_password_hash("pw-at-cost-11", 11, h2, sizeof h2, err, sizeof err) == 0);
    CHECK(cl_password_verify("pw-at-cost-11", h2) == 1);
    cl_password_dummy_verify("anything", 10); /* must not crash */
    /* The dummy hash follows the configured cost. */
    char d[CL_PASSWORD_HASH_MAX];
    CHECK(cl_password_dummy_hash(10, d, sizeof d) == 0 && strncmp(d, "scrypt$10$8$1$", 14) == 0);
    CHECK(cl_password_dummy_hash(11, d, sizeof d) == 0 && strncmp(d, "scrypt$11$8$1$", 14) == 0);
    /* Rehash: an older (cheaper) cost or other r/p; never for the current or a higher cost. */
    CHECK(cl_password_needs_rehash(h1, 11) == 1);
    CHECK(cl_password_needs_rehash(h1, 10) == 0);
    CHECK(cl_password_needs_rehash(h2, 10) == 0);
    CHECK(cl_password_needs_rehash("scrypt$17$16$1$00$00", 17) == 1);
    CHECK(cl_password_needs_rehash("bcrypt$x", 10) == 1);
    /* The default cost is 2^17 (an out-of-range cost falls back to it). */
    CHECK(CL_SCRYPT_LOG_N_DEFAULT == 17);
    char big[CL_PASSWORD_HASH_MAX];
    CHECK(cl_password_hash("x", 99, big, sizeof big, err, sizeof err) == 0 && strncmp(big, "scrypt$17$", 10) == 0);
    CHECK(cl_password_verify("x", big) == 1);
    char small[16];
    CHECK(cl_password_hash("x", 10, small, sizeof small, err, sizeof err) == -1);
}

static void test_tokens(void)
{
    char a[65], b[65], d[65];
    CHECK(cl_random_hex(a, 32) == 0 && strlen(a) == 64);
    CHECK(cl_random_hex(b, 32) == 0 && strcmp(a, b) != 0);
    cl_sha256_hex("abc", d);
    CHECK_STR(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_emails(void)
{
    char out[256];
    CHECK(cl_email_normalize("  Ada@Example.COM ", out, sizeof out) == 0);
    CHECK_STR(out, "ada@example.com");
    const char *bad[] = {"", "ada", "@example.com", "ada@", "ada@example", "a b@example.com", "a@@example.com",
                         "ada@example..com", "ada@.com", "ada@example.", "a<b>@example.com"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(cl_email_normalize(bad[i], out, sizeof out) == -1);
    CHECK(cl_email_normalize(NULL, out, sizeof out) == -1);
    char longmail[300];
    memset(longmail, 'a', sizeof longmail);
    memcpy(longmail + 280, "@example.com", 13);
    CHECK(cl_email_normalize(longmail, out, sizeof out) == -1);
}

int main(void)
{
    test_passwords();
    test_tokens();
    test_emails();
    return unit_done("test_auth");
}
