/* pw.c — password hashing with Argon2id (RFC 9106) through libargon2, stored as the PHC string
 * "$argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<tag>" (16-byte salt from rnd_bytes,
 * 32-byte tag). Parameters have floors (OWASP: m=19456 KiB, t=2, p=1) and ceilings
 * (core/limits.h), and stored strings are parsed strictly and bounded before libargon2 sees
 * them, so a tampered row cannot ask for 4 TiB of memory. Over-long passwords are refused
 * before any work (SECURITY.md (d): 1024 bytes). Unknown users cost the same as wrong
 * passwords (pw_verify_dummy, STYLE.md §6.4). Passwords are bytes: no normalisation here. */
#include <stdlib.h>
#include <string.h>

#include <argon2.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/pw.h"
#include "crypto/rnd.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

#define PW_PREFIX       "$argon2id$v=19$"
#define PW_MEASURE_MAX  64
/* PHC salt/tag are standard base64 without padding; accept what libargon2 accepts for
 * imported hashes (salt >= 8 bytes, tag >= 4 bytes), bounded above by GH_MAX_PW_HASH. */
#define PW_B64_SALT_MIN 11 /* 8 bytes */
#define PW_B64_TAG_MIN  6  /* 4 bytes */

int
pw_params_check(const struct pw_params *pp, const char **why)
{
    *why = NULL;
    if (pp->m_kib < GH_ARGON2_M_FLOOR)
        *why = "argon2 memory below the floor of 19456 KiB";
    else if (pp->m_kib > GH_ARGON2_M_MAX)
        *why = "argon2 memory above the maximum of 4194304 KiB";
    else if (pp->t < GH_ARGON2_T_FLOOR)
        *why = "argon2 iterations below the floor of 2";
    else if (pp->t > GH_ARGON2_T_MAX)
        *why = "argon2 iterations above the maximum of 64";
    else if (pp->p < 1)
        *why = "argon2 parallelism below the floor of 1";
    else if (pp->p > GH_ARGON2_P_MAX)
        *why = "argon2 parallelism above the maximum of 16";
    else if (pp->m_kib < 8 * pp->p)
        *why = "argon2 memory must be at least 8 KiB per lane";
    return *why ? GH_EINVAL : GH_OK;
}

int
pw_hash(const struct pw_params *pp, const char *pw, size_t len, char **out)
{
    unsigned char salt[GH_ARGON2_SALT];
    char enc[GH_MAX_PW_HASH + 1];
    const char *why;
    size_t need;
    int arc, rc = GH_ECRYPTO;

    *out = NULL;
    if (len > GH_MAX_PASSWORD)
        return GH_ETOOBIG;
    if (pw_params_check(pp, &why) != GH_OK) {
        log_err("pw_params", "%s", why);
        return GH_EINVAL;
    }
    need = argon2_encodedlen(pp->t, pp->m_kib, pp->p, GH_ARGON2_SALT, GH_ARGON2_TAG, Argon2_id);
    if (need > sizeof(enc)) {
        log_err("pw_hash", "encoded hash would need %zu bytes", need);
        return GH_EINTERNAL;
    }
    if (rnd_bytes(salt, sizeof(salt)) != GH_OK)
        goto out;
    arc = argon2id_hash_encoded(pp->t, pp->m_kib, pp->p, pw, len, salt, sizeof(salt),
        GH_ARGON2_TAG, enc, sizeof(enc));
    if (arc != ARGON2_OK) {
        log_err("crypto_error", "argon2id_hash_encoded: %s", argon2_error_message(arc));
        goto out;
    }
    *out = x_strdup(enc);
    rc = GH_OK;
out:
    mem_wipe(salt, sizeof(salt));
    mem_wipe(enc, sizeof(enc));
    return rc;
}

/* Parse a decimal field "<name>=<digits>" ending at `end` (',' or '$'); no sign, no leading
 * zero, at most 10 digits, value in [1, max]. Advances *sp past the terminator. */
static bool
parse_field(const char **sp, char name, char end, uint64_t max, uint32_t *out)
{
    const char *s = *sp;
    char digits[11];
    size_t n = 0;
    uint64_t v;

    if (s[0] != name || s[1] != '=')
        return false;
    s += 2;
    while (s[n] >= '0' && s[n] <= '9') {
        if (n == 10)
            return false;
        digits[n] = s[n];
        n++;
    }
    if (n == 0 || s[n] != end || (digits[0] == '0' && n > 1))
        return false;
    digits[n] = '\0';
    if (str_to_u64(digits, 1, max, &v) != GH_OK)
        return false;
    *out = (uint32_t)v;
    *sp = s + n + 1;
    return true;
}

/* Length of the run of standard-base64 characters at s (no padding). */
static size_t
b64_run(const char *s)
{
    size_t n = 0;

    while ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') ||
        (s[n] >= '0' && s[n] <= '9') || s[n] == '+' || s[n] == '/')
        n++;
    return n;
}

/* Strictly parse an encoded argon2id v19 PHC string into its parameters. Bounds: total length
 * <= GH_MAX_PW_HASH, m/t/p within the maxima (not the floors: hashes made under older, weaker
 * settings still verify and are then rehashed), m >= 8*p as Argon2 requires. */
static bool
parse_phc(const char *enc, struct pw_params *pp)
{
    const char *s;
    size_t n, len;

    if (!enc)
        return false;
    len = strnlen(enc, GH_MAX_PW_HASH + 1);
    if (len > GH_MAX_PW_HASH || !str_has_prefix(enc, PW_PREFIX))
        return false;
    s = enc + strlen(PW_PREFIX);
    if (!parse_field(&s, 'm', ',', GH_ARGON2_M_MAX, &pp->m_kib) ||
        !parse_field(&s, 't', ',', GH_ARGON2_T_MAX, &pp->t) ||
        !parse_field(&s, 'p', '$', GH_ARGON2_P_MAX, &pp->p))
        return false;
    if (pp->m_kib < 8 * pp->p)
        return false;
    n = b64_run(s);
    if (n < PW_B64_SALT_MIN || n % 4 == 1 || s[n] != '$')
        return false;
    s += n + 1;
    n = b64_run(s);
    if (n < PW_B64_TAG_MIN || n % 4 == 1 || s[n] != '\0')
        return false;
    return true;
}

int
pw_verify(const char *encoded, const char *pw, size_t len)
{
    struct pw_params pp;
    int arc;

    if (len > GH_MAX_PASSWORD)
        return GH_ETOOBIG;
    if (!parse_phc(encoded, &pp))
        return GH_EINVAL;
    arc = argon2id_verify(encoded, pw, len);
    switch (arc) {
    case ARGON2_OK:
        return GH_OK;
    case ARGON2_VERIFY_MISMATCH:
        return GH_EDENIED;
    case ARGON2_MEMORY_ALLOCATION_ERROR:
    case ARGON2_THREAD_FAIL:
        log_err("crypto_error", "argon2id_verify: %s", argon2_error_message(arc));
        return GH_ECRYPTO;
    default:
        /* anything else is a string libargon2 would not decode */
        return GH_EINVAL;
    }
}

int
pw_verify_dummy(const struct pw_params *pp, const char *pw, size_t len)
{
    /* A fixed, public salt is fine: the result is thrown away; only the cost matters. */
    static const unsigned char salt[GH_ARGON2_SALT] = "gatehouse-dummy";
    unsigned char tag[GH_ARGON2_TAG];
    int arc;

    if (len > GH_MAX_PASSWORD)
        return GH_ETOOBIG;
    /* argon2id_verify = one raw hash with the stored parameters + a constant-time compare */
    arc = argon2id_hash_raw(pp->t, pp->m_kib, pp->p, pw, len, salt, sizeof(salt), tag,
        sizeof(tag));
    if (arc != ARGON2_OK)
        log_err("crypto_error", "argon2id_hash_raw (dummy): %s", argon2_error_message(arc));
    mem_wipe(tag, sizeof(tag));
    return GH_EDENIED;
}

bool
pw_needs_rehash(const char *encoded, const struct pw_params *pp)
{
    struct pw_params got;

    if (!parse_phc(encoded, &got))
        return true;
    return got.m_kib != pp->m_kib || got.t != pp->t || got.p != pp->p;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

int
pw_measure_ms(const struct pw_params *pp, unsigned runs, double *ms)
{
    static const char sample[] = "correct horse battery staple";
    double *t = NULL;
    int rc = GH_EINVAL;

    *ms = 0;
    if (runs == 0 || runs > PW_MEASURE_MAX)
        return GH_EINVAL;
    t = x_calloc(runs, sizeof(*t));
    for (unsigned i = 0; i < runs; i++) {
        char *enc = NULL;
        int64_t t0 = clock_mono_us();

        if ((rc = pw_hash(pp, sample, sizeof(sample) - 1, &enc)) != GH_OK)
            goto out;
        t[i] = (double)(clock_mono_us() - t0) / 1000.0;
        free(enc);
    }
    qsort(t, runs, sizeof(*t), cmp_double);
    *ms = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2.0;
    rc = GH_OK;
out:
    free(t);
    return rc;
}
