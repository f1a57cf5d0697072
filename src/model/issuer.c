/* issuer.c — the rules for trusted issuers of JWT-bearer grant assertions (RFC 7523 §2.1,
 * §3 item 1): an identifier compared byte for byte with the iss of an assertion (so nothing
 * ambiguous is accepted: no control characters, no spaces, a URL only when well-formed), never
 * gatehouse's own issuer; keys as a JWKS checked like a client's, or a jwks_uri within the SSRF
 * limits of util/fetch.c; and the confidential clients that may present its assertions.
 *
 * Not here: storage (store/), fetching and caching a jwks_uri (oidc/issuer_keys.c), the grant
 * itself (oidc/grant_jwt.c), parsing arguments (cli/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/jwks_verify.h"
#include "crypto/keys.h"
#include "model/client.h"
#include "model/issuer.h"
#include "store/store.h"
#include "util/fetch.h"
#include "util/str.h"
#include "util/url.h"
#include "util/xmem.h"

#define QUOTE_MAX 96
#define QUOTE(s) quote_len(s), (s), (strnlen((s), QUOTE_MAX + 1) > QUOTE_MAX ? "…" : "")

static int
quote_len(const char *s)
{
    return (int)strnlen(s, QUOTE_MAX);
}

/* a and b equal, or equal but for one trailing "/" on either */
static bool
same_but_slash(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la == lb)
        return memcmp(a, b, la) == 0;
    if (la == lb + 1)
        return a[la - 1] == '/' && memcmp(a, b, lb) == 0;
    if (lb == la + 1)
        return b[lb - 1] == '/' && memcmp(a, b, la) == 0;
    return false;
}

int
issuer_id_check(const char *issuer, const char *ours, const char **why)
{
    size_t n;
    struct url u;

    if (!issuer || !*issuer) {
        *why = "the issuer is empty";
        return GH_EINVAL;
    }
    n = strnlen(issuer, GH_MAX_URI + 1);
    if (n > GH_MAX_URI) {
        *why = "the issuer is longer than 2048 bytes";
        return GH_EINVAL;
    }
    if (!str_utf8_valid(issuer, n) || str_has_ctl(issuer, n) || strchr(issuer, ' ')) {
        *why = "the issuer must be UTF-8 without control characters or spaces";
        return GH_EINVAL;
    }
    if (strstr(issuer, "://") && url_parse(issuer, &u, why) != GH_OK)
        return GH_EINVAL;
    /* RFC 7523 §3 item 1: iss names who made the assertion; our own tokens are never one */
    if (ours && same_but_slash(issuer, ours)) {
        *why = "that is gatehouse's own issuer";
        return GH_EINVAL;
    }
    return GH_OK;
}

int
issuer_jwks_uri_check(const char *uri, const char **why)
{
    const char *refusal;
    bool https;

    if (!uri || !*uri) {
        *why = "the jwks_uri is empty";
        return GH_EINVAL;
    }
    if ((refusal = fetch_url_refusal(uri, &https))) {
        *why = refusal;
        return GH_EINVAL;
    }
    if (strchr(uri, '#')) {
        *why = "the jwks_uri has a fragment";
        return GH_EINVAL;
    }
    return GH_OK;
}

int
issuer_jwks_check(const char *jwks, size_t len, char *err, size_t errsz)
{
    struct jwks *ks = NULL;
    const char *why = NULL;
    char w[256];
    int rc;

    if (!jwks || len == 0) {
        str_fmt(err, errsz, "the JWKS is empty");
        return GH_EINVAL;
    }
    if (len > GH_MAX_JWKS) {
        str_fmt(err, errsz, "the JWKS is larger than %d bytes", GH_MAX_JWKS);
        return GH_ETOOBIG;
    }
    if (memchr(jwks, '\0', len)) {
        str_fmt(err, errsz, "the JWKS holds a NUL byte");
        return GH_EINVAL;
    }
    if ((rc = jwks_parse(jwks, len, &ks, w, sizeof(w))) != GH_OK) {
        str_fmt(err, errsz, "the JWKS is not usable: %s", w);
        return rc == GH_ETOOBIG ? GH_ETOOBIG : GH_EINVAL;
    }
    jwks_free(ks);
    /* what the grant verifies with (crypto/jwt.c jwt_verify_jwks) must accept it too */
    if (keys_jwks_check_public(jwks, len, &why) != GH_OK) {
        str_fmt(err, errsz, "the JWKS is not usable: %s", why ? why : "invalid");
        return GH_EINVAL;
    }
    return GH_OK;
}

int
issuer_client_check(struct store *st, const char *client_id, char *err, size_t errsz)
{
    struct client *c = NULL;
    const char *why = NULL;
    int rc;

    if (client_id_check(client_id, &why) != GH_OK) {
        str_fmt(err, errsz, "'%.*s%s' is not a client_id: %s", QUOTE(client_id), why);
        return GH_EINVAL;
    }
    rc = store_client_get(st, client_id, &c);
    if (rc == GH_ENOTFOUND) {
        str_fmt(err, errsz, "no client '%.*s%s'", QUOTE(client_id));
        return rc;
    }
    if (rc != GH_OK) {
        str_fmt(err, errsz, "%s", gh_strerror(rc));
        return rc;
    }
    if (c->is_public || c->auth_method == CLIENT_AUTH_NONE) {
        str_fmt(err, errsz, "client '%.*s%s' is public: only a client that authenticates may "
            "present assertions", QUOTE(client_id));
        rc = GH_EINVAL;
    }
    client_free(c);
    return rc;
}

int
issuer_create(struct store *st, const struct issuer_spec *spec, int64_t now,
    struct trusted_issuer **out, char *err, size_t errsz)
{
    struct trusted_issuer ti = { 0 };
    const char *why = NULL;
    size_t n = 0;
    int rc;

    if (out)
        *out = NULL;
    if (issuer_id_check(spec->issuer, spec->ours, &why) != GH_OK) {
        str_fmt(err, errsz, "'%.*s%s' is not a valid issuer: %s",
            QUOTE(spec->issuer ? spec->issuer : ""), why);
        return GH_EINVAL;
    }
    if (!spec->jwks == !spec->jwks_uri) {
        str_fmt(err, errsz, "give exactly one of a JWKS and a jwks_uri");
        return GH_EINVAL;
    }
    if (spec->jwks && (rc = issuer_jwks_check(spec->jwks, spec->jwks_len, err, errsz)) != GH_OK)
        return rc;
    if (spec->jwks_uri && issuer_jwks_uri_check(spec->jwks_uri, &why) != GH_OK) {
        str_fmt(err, errsz, "'%.*s%s' is not a usable jwks_uri: %s", QUOTE(spec->jwks_uri), why);
        return GH_EINVAL;
    }
    for (n = 0; spec->clients && spec->clients[n]; n++)
        ;
    if (n == 0) {
        str_fmt(err, errsz, "list at least one client that may present the issuer's assertions");
        return GH_EINVAL;
    }
    if (n > ISSUER_MAX_CLIENTS) {
        str_fmt(err, errsz, "at most %d clients per issuer", ISSUER_MAX_CLIENTS);
        return GH_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = issuer_client_check(st, spec->clients[i], err, errsz)) != GH_OK)
            return rc;
    }
    ti.issuer = x_strdup(spec->issuer);
    ti.jwks = spec->jwks ? x_strndup(spec->jwks, spec->jwks_len) : NULL;
    ti.jwks_uri = spec->jwks_uri ? x_strdup(spec->jwks_uri) : NULL;
    ti.clients = x_calloc(n + 1, sizeof(*ti.clients));
    for (size_t i = 0; i < n; i++)
        ti.clients[i] = x_strdup(spec->clients[i]);
    ti.created_at = ti.updated_at = now;
    rc = store_issuer_add(st, &ti);
    free(ti.issuer);
    free(ti.jwks);
    free(ti.jwks_uri);
    str_list_free(ti.clients);
    if (rc == GH_EEXIST) {
        str_fmt(err, errsz, "issuer '%.*s%s' is already registered", QUOTE(spec->issuer));
        return rc;
    }
    if (rc == GH_ENOTFOUND) {
        str_fmt(err, errsz, "a listed client was deleted meanwhile");
        return rc;
    }
    if (rc != GH_OK) {
        str_fmt(err, errsz, "%s", gh_strerror(rc));
        return rc;
    }
    if (out && (rc = store_issuer_get(st, spec->issuer, out)) != GH_OK)
        str_fmt(err, errsz, "%s", gh_strerror(rc));
    return rc;
}
