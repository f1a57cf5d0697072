/* test_pw.c — Argon2id password hashing: round trips, refusals before work, parameter floors,
 * strict PHC parsing, rehash detection and the dummy verification. Uses the floor parameters
 * (m=19456 KiB, t=2, p=1) to stay fast. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/pw.h"
#include "util/clock.h"
#include "t.h"

#define SALT "c2FsdHNhbHRzYWx0c2FsdA"                  /* 16 bytes, PHC base64 */
#define TAG  "dGFndGFndGFndGFndGFndGFndGFndGFndGFndGE" /* 29 bytes */
#define ST   SALT "$" TAG

static const struct pw_params fast = { GH_ARGON2_M_FLOOR, GH_ARGON2_T_FLOOR, 1 };

static int
verify(const char *enc, const char *pw)
{
    return pw_verify(enc, pw, strlen(pw));
}

static void
test_hash_verify_round_trip(void)
{
    char *h = NULL, *h2 = NULL;
    const char *pw = "correct horse battery staple";

    T_EQ_INT(pw_hash(&fast, pw, strlen(pw), &h), GH_OK);
    T_ASSERT(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    T_ASSERT(strlen(h) <= GH_MAX_PW_HASH);
    T_EQ_INT(verify(h, pw), GH_OK);
    /* salted: the same password hashes differently */
    T_EQ_INT(pw_hash(&fast, pw, strlen(pw), &h2), GH_OK);
    T_ASSERT(strcmp(h, h2) != 0);
    T_EQ_INT(verify(h2, pw), GH_OK);
    free(h);
    free(h2);
}

static void
test_wrong_password_denied(void)
{
    char *h = NULL;
    const char *pw = "correct horse battery staple";

    T_EQ_INT(pw_hash(&fast, pw, strlen(pw), &h), GH_OK);
    T_EQ_INT(verify(h, "correct horse battery stapl"), GH_EDENIED);
    T_EQ_INT(verify(h, "Correct horse battery staple"), GH_EDENIED);
    T_EQ_INT(verify(h, ""), GH_EDENIED);
    /* no truncation: one extra character fails */
    T_EQ_INT(verify(h, "correct horse battery staple!"), GH_EDENIED);
    /* no NUL truncation: bytes after an embedded NUL count */
    T_EQ_INT(pw_verify(h, "correct horse battery staple\0x", 30), GH_EDENIED);
    free(h);
}

static void
test_long_passwords_exact(void)
{
    char pw[GH_MAX_PASSWORD + 2];
    char *h = NULL;

    memset(pw, 'a', sizeof(pw));
    /* the maximum length is accepted and every byte counts */
    T_EQ_INT(pw_hash(&fast, pw, GH_MAX_PASSWORD, &h), GH_OK);
    T_EQ_INT(pw_verify(h, pw, GH_MAX_PASSWORD), GH_OK);
    T_EQ_INT(pw_verify(h, pw, GH_MAX_PASSWORD - 1), GH_EDENIED);
    pw[GH_MAX_PASSWORD - 1] = 'b';
    T_EQ_INT(pw_verify(h, pw, GH_MAX_PASSWORD), GH_EDENIED);
    free(h);
}

static void
test_too_long_refused_before_work(void)
{
    char pw[GH_MAX_PASSWORD + 1];
    char *h = (char *)1;
    const struct pw_params huge = { GH_ARGON2_M_MAX, GH_ARGON2_T_MAX, 1 };
    int64_t t0;

    memset(pw, 'x', sizeof(pw));
    t0 = clock_mono_us();
    /* params that would take minutes: a GH_ETOOBIG that comes back fast did no hashing */
    T_EQ_INT(pw_hash(&huge, pw, GH_MAX_PASSWORD + 1, &h), GH_ETOOBIG);
    T_ASSERT(h == NULL);
    T_EQ_INT(pw_verify("$argon2id$v=19$m=4194304,t=64,p=1$" ST, pw, GH_MAX_PASSWORD + 1),
        GH_ETOOBIG);
    T_EQ_INT(pw_verify_dummy(&huge, pw, GH_MAX_PASSWORD + 1), GH_ETOOBIG);
    T_ASSERT(clock_mono_us() - t0 < 100000);
}

static void
test_unicode_passwords(void)
{
    const char *pw = "p\xc3\xa4sswörd-日本語-\xf0\x9f\x94\x91";
    /* the same text in NFD ("a" + combining diaeresis) is different bytes */
    const char *nfd = "pa\xcc\x88sswörd-日本語-\xf0\x9f\x94\x91";
    char *h = NULL;

    T_EQ_INT(pw_hash(&fast, pw, strlen(pw), &h), GH_OK);
    T_EQ_INT(verify(h, pw), GH_OK);
    T_EQ_INT(verify(h, nfd), GH_EDENIED);
    T_EQ_INT(verify(h, "p\xc3\xa4sswörd-日本語-"), GH_EDENIED);
    free(h);
}

static void
test_params_floors_and_maxima(void)
{
    static const struct pw_params bad[] = {
        { GH_ARGON2_M_FLOOR - 1, GH_ARGON2_T_FLOOR, 1 },
        { GH_ARGON2_M_FLOOR, GH_ARGON2_T_FLOOR - 1, 1 },
        { GH_ARGON2_M_FLOOR, GH_ARGON2_T_FLOOR, 0 },
        { GH_ARGON2_M_MAX + 1, GH_ARGON2_T_FLOOR, 1 },
        { GH_ARGON2_M_FLOOR, GH_ARGON2_T_MAX + 1, 1 },
        { GH_ARGON2_M_FLOOR, GH_ARGON2_T_FLOOR, GH_ARGON2_P_MAX + 1 },
        { 4096, 3, 1 },
        { 0, 0, 0 },
    };
    static const struct pw_params good[] = {
        { GH_ARGON2_M_FLOOR, GH_ARGON2_T_FLOOR, 1 },
        { GH_ARGON2_M_DEFAULT, GH_ARGON2_T_DEFAULT, GH_ARGON2_P_DEFAULT },
        { GH_ARGON2_M_MAX, GH_ARGON2_T_MAX, GH_ARGON2_P_MAX },
    };
    const char *why;
    char *h = (char *)1;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        T_EQ_INT(pw_params_check(&bad[i], &why), GH_EINVAL);
        T_ASSERT(why != NULL);
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        T_EQ_INT(pw_params_check(&good[i], &why), GH_OK);
        T_ASSERT(why == NULL);
    }
    /* pw_hash enforces the floor as well */
    T_EQ_INT(pw_hash(&bad[0], "password", 8, &h), GH_EINVAL);
    T_ASSERT(h == NULL);
}

static void
test_verify_rejects_malformed_encodings(void)
{
    static const char *const bad[] = {
        "",
        "plaintext",
        "$argon2i$v=19$m=19456,t=2,p=1$" ST,
        "$argon2d$v=19$m=19456,t=2,p=1$" ST,
        "$argon2id$m=19456,t=2,p=1$" ST,
        "$argon2id$v=16$m=19456,t=2,p=1$" ST,
        "$argon2id$v=19$t=2,m=19456,p=1$" ST,
        "$argon2id$v=19$m=019456,t=2,p=1$" ST,
        "$argon2id$v=19$m=-1,t=2,p=1$" ST,
        "$argon2id$v=19$m=19456,t=0,p=1$" ST,
        "$argon2id$v=19$m=19456,t=2,p=0$" ST,
        /* memory over the maximum: must not reach libargon2 (which would try to allocate) */
        "$argon2id$v=19$m=4294967295,t=2,p=1$" ST,
        "$argon2id$v=19$m=99999999999,t=2,p=1$" ST,
        "$argon2id$v=19$m=19456,t=65,p=1$" ST,
        "$argon2id$v=19$m=19456,t=2,p=17$" ST,
        "$argon2id$v=19$m=19456,t=2,p=1$$" TAG,
        "$argon2id$v=19$m=19456,t=2,p=1$" SALT "$",
        "$argon2id$v=19$m=19456,t=2,p=1$" SALT,
        "$argon2id$v=19$m=19456,t=2,p=1$" SALT "==$" TAG,
        "$argon2id$v=19$m=19456,t=2,p=1$" SALT "$" TAG "$",
        "$argon2id$v=19$m=19456,t=2,p=1$" SALT "$" TAG " ",
        "$argon2id$v=19$m=19456,t=2,p=1,keyid=x$" ST,
    };

    /* control: the well-formed string the cases below are mutations of parses (and mismatches) */
    T_EQ_INT(pw_verify("$argon2id$v=19$m=19456,t=2,p=1$" ST, "password", 8), GH_EDENIED);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (pw_verify(bad[i], "password", 8) != GH_EINVAL)
            T_FAIL_("accepted case %zu: %s", i, bad[i]);
        /* whatever cannot be parsed needs a rehash */
        T_ASSERT(pw_needs_rehash(bad[i], &fast));
    }
    T_EQ_INT(pw_verify(NULL, "password", 8), GH_EINVAL);
    /* over-long string */
    {
        char big[GH_MAX_PW_HASH + 64];
        snprintf(big, sizeof(big), "$argon2id$v=19$m=19456,t=2,p=1$" SALT "$");
        memset(big + strlen(big), 'A', sizeof(big) - strlen(big) - 1);
        big[sizeof(big) - 1] = '\0';
        T_EQ_INT(pw_verify(big, "password", 8), GH_EINVAL);
    }
}

static void
test_needs_rehash_after_param_change(void)
{
    char *h = NULL;
    struct pw_params more_t = fast, more_m = fast, more_p = fast;

    more_t.t++;
    more_m.m_kib *= 2;
    more_p.p = 2;
    T_EQ_INT(pw_hash(&fast, "password", 8, &h), GH_OK);
    T_ASSERT(!pw_needs_rehash(h, &fast));
    T_ASSERT(pw_needs_rehash(h, &more_t));
    T_ASSERT(pw_needs_rehash(h, &more_m));
    T_ASSERT(pw_needs_rehash(h, &more_p));
    free(h);
    /* and after rehashing with the new parameters, it verifies and is current */
    T_EQ_INT(pw_hash(&more_t, "password", 8, &h), GH_OK);
    T_ASSERT(!pw_needs_rehash(h, &more_t));
    T_ASSERT(pw_needs_rehash(h, &fast));
    T_EQ_INT(pw_verify(h, "password", 8), GH_OK);
    free(h);
}

static void
test_dummy_verify_denies_with_similar_cost(void)
{
    char *h = NULL;
    int64_t t0, real_us, dummy_us;

    T_EQ_INT(pw_hash(&fast, "password", 8, &h), GH_OK);
    T_EQ_INT(pw_verify_dummy(&fast, "password", 8), GH_EDENIED);
    T_EQ_INT(pw_verify_dummy(&fast, "", 0), GH_EDENIED);
    t0 = clock_mono_us();
    T_EQ_INT(pw_verify(h, "wrong", 5), GH_EDENIED);
    real_us = clock_mono_us() - t0;
    t0 = clock_mono_us();
    T_EQ_INT(pw_verify_dummy(&fast, "wrong", 5), GH_EDENIED);
    dummy_us = clock_mono_us() - t0;
    /* same work: within a generous factor either way (noisy machines) */
    T_ASSERT(dummy_us * 4 > real_us && real_us * 4 > dummy_us);
    free(h);
}

static void
test_measure(void)
{
    double ms = -1;

    T_EQ_INT(pw_measure_ms(&fast, 3, &ms), GH_OK);
    T_ASSERT(ms > 0.0 && ms < 60000.0);
    T_EQ_INT(pw_measure_ms(&fast, 0, &ms), GH_EINVAL);
}

int
main(void)
{
    t_init("pw");
    T_RUN(test_hash_verify_round_trip);
    T_RUN(test_wrong_password_denied);
    T_RUN(test_long_passwords_exact);
    T_RUN(test_too_long_refused_before_work);
    T_RUN(test_unicode_passwords);
    T_RUN(test_params_floors_and_maxima);
    T_RUN(test_verify_rejects_malformed_encodings);
    T_RUN(test_needs_rehash_after_param_change);
    T_RUN(test_dummy_verify_denies_with_similar_cost);
    T_RUN(test_measure);
    return t_done();
}
