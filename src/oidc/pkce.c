/* pkce.c — RFC 7636 S256 checks. No "plain" method exists here at all. */
#include <string.h>

#include "core/limits.h"
#include "crypto/digest.h"
#include "oidc/pkce.h"
#include "util/b64url.h"
#include "util/str.h"

static bool
unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

bool
pkce_challenge_ok(const char *challenge)
{
    unsigned char raw[DIG_SHA256_LEN];
    size_t n = 0;

    if (!challenge || strlen(challenge) != 43)
        return false;
    return b64url_decode(challenge, 43, raw, sizeof(raw), &n) == 0 && n == sizeof(raw);
}

bool
pkce_verifier_ok(const char *verifier, size_t len)
{
    if (!verifier || len < GH_PKCE_VERIFIER_MIN || len > GH_PKCE_VERIFIER_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!unreserved((unsigned char)verifier[i]))
            return false;
    }
    return true;
}

bool
pkce_verify(const char *challenge, const char *verifier, size_t len)
{
    unsigned char h[DIG_SHA256_LEN];
    char enc[64];

    if (!pkce_challenge_ok(challenge) || !pkce_verifier_ok(verifier, len))
        return false;
    dig_sha256(verifier, len, h);
    if (b64url_encode(h, sizeof(h), enc, sizeof(enc)) != 0)
        return false;
    return str_ct_eq(enc, challenge, 43);
}
