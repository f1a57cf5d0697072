/* resource.c — the rules for resources (RFC 8707 resource indicators): which identifiers may
 * be registered, which scopes a resource may define, and which clients may be let obtain
 * tokens for it with which of those scopes. A resource's identifier becomes the aud of the
 * access tokens issued for it, and the token endpoint compares what a client sends with it
 * byte for byte; so only unambiguous, canonically written URIs are accepted (scheme and host
 * in lower case, no fragment, no query, no dot segments), never normalised or repaired.
 *
 * RFC 8707 §2: the resource "MUST be an absolute URI" and "MUST NOT include a fragment
 * component"; it "SHOULD NOT include a query component", which gatehouse turns into a refusal.
 * Resource scopes follow RFC 6749 §3.3; the OpenID Connect sign-in scopes are reserved (OIDC
 * Core §5.4, §11), so that a token for an API never carries a scope that means sign-in.
 *
 * Not here: storage (store/), the client_credentials grant that uses these records
 * (oidc/grant.c), parsing LIST arguments (cli/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/limits.h"
#include "model/client.h"
#include "model/resource.h"
#include "store/store.h"
#include "util/str.h"
#include "util/url.h"
#include "util/xmem.h"

/* Quote at most QUOTE_MAX bytes of an identifier in a message, then "…": an identifier may be
 * 2048 bytes long, a message is one line. Use as "%.*s%s", QUOTE(s). */
#define QUOTE_MAX 96
#define QUOTE(s) quote_len(s), (s), (strnlen((s), QUOTE_MAX + 1) > QUOTE_MAX ? "…" : "")

static int
quote_len(const char *s)
{
    return (int)strnlen(s, QUOTE_MAX);
}

/* OIDC Core §3.1.2.1, §5.4, §11: scopes that ask for sign-in or user claims. */
static const char *const reserved_scopes[] = {
    "openid", "profile", "email", "offline_access", NULL,
};

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool
has_upper(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 'A' && s[i] <= 'Z')
            return true;
    }
    return false;
}

/* "." and ".." path segments of a hierarchical URI: every party that normalises the URI
 * (RFC 3986 §5.2.4) would read another resource into it than the byte-exact match does. */
static bool
has_dot_segment(const char *uri)
{
    const char *path = strstr(uri, "://");

    if (!path)
        return false;
    for (const char *p = strchr(path + 3, '/'); p; p = strchr(p + 1, '/')) {
        size_t seg = strcspn(p + 1, "/");
        if ((seg == 1 && p[1] == '.') || (seg == 2 && p[1] == '.' && p[2] == '.'))
            return true;
    }
    return false;
}

/* RFC 8141 §2: "urn:" NID ":" NSS, NID = alphanum 0*30 ldh alphanum; the NSS non-empty (its
 * characters were checked by url_parse). */
static bool
urn_ok(const char *id)
{
    const char *nid = id + 4, *colon = strchr(nid, ':');
    size_t n;

    if (!colon)
        return false;
    n = (size_t)(colon - nid);
    if (n < 2 || n > 32 || !is_alnum(nid[0]) || !is_alnum(nid[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_alnum(nid[i]) && nid[i] != '-')
            return false;
    }
    return colon[1] != '\0';
}

/* false only when id starts with a well-formed scheme (RFC 3986 §3.1) that is not https, http
 * or urn, compared ignoring case (the case is checked later); without a scheme it is up to
 * url_parse to say what is wrong. */
static bool
scheme_allowed(const char *id)
{
    static const char *const allowed[] = { "https", "http", "urn", NULL };
    size_t n = strcspn(id, ":");

    if (id[n] != ':' || n == 0 || !is_alnum(id[0]) || (id[0] >= '0' && id[0] <= '9'))
        return true;
    for (size_t i = 0; i < n; i++) {
        if (!is_alnum(id[i]) && id[i] != '+' && id[i] != '-' && id[i] != '.')
            return true;
    }
    for (size_t i = 0; allowed[i]; i++) {
        if (strlen(allowed[i]) == n && strncasecmp(id, allowed[i], n) == 0)
            return true;
    }
    return false;
}

int
resource_id_check(const char *id, const char **why)
{
    struct url u;
    size_t n;
    int rc;

    *why = NULL;
    if (!id) {
        *why = "it is missing";
        return GH_EINVAL;
    }
    /* bounded before anything else reads it */
    n = strnlen(id, GH_MAX_URI + 1);
    if (n == 0 || n > GH_MAX_URI) {
        *why = n ? "too long (at most 2048 bytes)" : "it is empty";
        return GH_EINVAL;
    }
    /* the scheme first, so that file:, javascript: and the like get the reason that matters */
    if (!scheme_allowed(id)) {
        *why = "only https URLs (http on a loopback host) and urn: URNs are accepted";
        return GH_EINVAL;
    }
    /* RFC 8707 §2: absolute, no fragment. url_parse also refuses spaces, controls,
     * backslashes, raw non-ASCII, userinfo and bad percent-escapes. */
    if ((rc = url_parse(id, &u, why)) != GH_OK) {
        if (!strchr(id, ':') || *why == NULL)
            *why = "not an absolute URI (https://api.example/)";
        return rc;
    }
    /* RFC 8707 §2 discourages a query; refusing it keeps the match free of parameter order. */
    if (u.has_query) {
        *why = "a query component (?…) is not allowed";
        return GH_EINVAL;
    }
    if (has_upper(id, strcspn(id, ":"))) {
        *why = "write the URI scheme in lower case";
        return GH_EINVAL;
    }
    if (strcmp(u.scheme, "https") == 0 || strcmp(u.scheme, "http") == 0) {
        if (!u.has_authority || !u.host[0]) {
            *why = "URI has no host";
            return GH_EINVAL;
        }
        if (has_upper(u.host, strlen(u.host))) {
            *why = "write the host in lower case";
            return GH_EINVAL;
        }
        /* as for redirect URIs (RFC 9700 §2.1): plain http only where it never leaves the
         * machine, i.e. for development */
        if (strcmp(u.scheme, "http") == 0 && !url_host_is_loopback(u.host)) {
            *why = "http is allowed only for loopback hosts (use https)";
            return GH_EINVAL;
        }
        if (has_dot_segment(id)) {
            *why = "the path has . or .. segments";
            return GH_EINVAL;
        }
        return GH_OK;
    }
    if (strcmp(u.scheme, "urn") == 0) {
        if (!urn_ok(id)) {
            *why = "a URN is urn:NAMESPACE:NAME (RFC 8141)";
            return GH_EINVAL;
        }
        return GH_OK;
    }
    *why = "only https URLs (http on a loopback host) and urn: URNs are accepted";
    return GH_EINVAL;
}

int
resource_name_check(const char *name, const char **why)
{
    size_t n;

    *why = NULL;
    n = name ? strnlen(name, GH_MAX_NAME + 1) : 0;
    if (n == 0 || n > GH_MAX_NAME || !str_utf8_valid(name, n) || str_has_ctl(name, n)) {
        *why = "resource name must be 1 to 256 bytes of UTF-8 without control characters";
        return GH_EINVAL;
    }
    return GH_OK;
}

bool
resource_scope_reserved(const char *scope)
{
    for (size_t i = 0; scope && reserved_scopes[i]; i++) {
        if (strcasecmp(scope, reserved_scopes[i]) == 0)
            return true;
    }
    return false;
}

/* RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
static bool
scope_token_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == 0x22 || c == 0x5c)
            return false;
    }
    return true;
}

int
resource_scopes_normalize(char *const *in, char ***out, char *err, size_t errsz)
{
    char **list = NULL;
    size_t n = 0, k = 0;
    int rc = GH_EINVAL;

    *out = NULL;
    str_fmt(err, errsz, "%s", "");
    /* bounded before allocating */
    while (in && in[n]) {
        if (++n > GH_MAX_SCOPES) {
            str_fmt(err, errsz, "too many scopes (at most %d)", GH_MAX_SCOPES);
            goto out;
        }
    }
    list = x_calloc(n + 1, sizeof(*list));
    for (size_t i = 0; i < n; i++) {
        size_t len = strnlen(in[i], GH_MAX_SCOPE_LEN + 1);
        if (len > GH_MAX_SCOPE_LEN) {
            str_fmt(err, errsz, "scope '%.40s…' is too long (at most %d bytes)", in[i],
                GH_MAX_SCOPE_LEN);
            goto out;
        }
        if (!scope_token_ok(in[i], len)) {
            str_fmt(err, errsz, "scope '%s' is not a valid scope (RFC 6749 §3.3: printable "
                                "ASCII without space, \" or \\)", in[i]);
            goto out;
        }
        if (resource_scope_reserved(in[i])) {
            str_fmt(err, errsz, "scope '%s' is reserved for OpenID Connect sign-in and "
                                "cannot be a resource scope", in[i]);
            goto out;
        }
        if (!str_list_has(list, in[i]))
            list[k++] = x_strdup(in[i]);
    }
    *out = list;
    list = NULL;
    rc = GH_OK;
out:
    str_list_free(list);
    return rc;
}

int
resource_create(struct store *st, const struct resource_spec *spec, int64_t now,
    struct resource **out, char *err, size_t errsz)
{
    struct resource *r = x_calloc(1, sizeof(*r));
    const char *why = NULL;
    int rc = GH_EINVAL;

    if (out)
        *out = NULL;
    str_fmt(err, errsz, "%s", "");
    if ((rc = resource_id_check(spec->id, &why)) != GH_OK) {
        str_fmt(err, errsz, "'%.*s%s' is not a valid resource identifier: %s",
            QUOTE(spec->id ? spec->id : ""), why);
        goto out;
    }
    if (spec->name && (rc = resource_name_check(spec->name, &why)) != GH_OK) {
        str_fmt(err, errsz, "%s", why);
        goto out;
    }
    if ((rc = resource_scopes_normalize(spec->scopes, &r->scopes, err, errsz)) != GH_OK)
        goto out;
    r->id = x_strdup(spec->id);
    /* the identifier is the default name: it is bounded and printable by resource_id_check */
    r->name = x_strdup(spec->name ? spec->name : spec->id);
    r->created_at = now;
    if ((rc = store_resource_add(st, r)) != GH_OK) {
        if (rc == GH_EEXIST)
            str_fmt(err, errsz, "resource '%.*s%s' already exists", QUOTE(spec->id));
        else
            str_fmt(err, errsz, "%s", gh_strerror(rc));
        goto out;
    }
    if (out) {
        *out = r;
        r = NULL;
    }
out:
    resource_free(r);
    return rc;
}

int
resource_allow_client(struct store *st, const char *id, const char *client_id,
    char *const *scopes, int64_t now, char **scope, char *err, size_t errsz)
{
    struct resource *r = NULL;
    struct client *c = NULL;
    char **want = NULL, *joined = NULL;
    int rc = GH_EINVAL;

    if (scope)
        *scope = NULL;
    str_fmt(err, errsz, "%s", "");
    if ((rc = resource_scopes_normalize(scopes, &want, err, errsz)) != GH_OK)
        goto out;
    if ((rc = store_resource_get(st, id, &r)) != GH_OK) {
        if (rc == GH_ENOTFOUND)
            str_fmt(err, errsz, "no resource '%.*s%s'", QUOTE(id));
        else
            str_fmt(err, errsz, "%s", gh_strerror(rc));
        goto out;
    }
    if ((rc = store_client_get(st, client_id, &c)) != GH_OK) {
        if (rc == GH_ENOTFOUND)
            str_fmt(err, errsz, "no client '%.*s%s'", QUOTE(client_id));
        else
            str_fmt(err, errsz, "%s", gh_strerror(rc));
        goto out;
    }
    /* RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential
     * clients." A public client has nothing to prove it is itself. */
    if (c->is_public) {
        str_fmt(err, errsz, "client '%s' is public: only confidential clients can obtain "
                            "tokens for a resource (client_credentials)", client_id);
        rc = GH_EINVAL;
        goto out;
    }
    for (size_t i = 0; want[i]; i++) {
        if (!str_list_has(r->scopes, want[i])) {
            str_fmt(err, errsz, "scope '%s' is not a scope of resource '%.*s%s'", want[i],
                QUOTE(id));
            rc = GH_EINVAL;
            goto out;
        }
    }
    joined = str_list_join(want, " ");
    if ((rc = store_resource_allow(st, id, client_id, joined, now)) != GH_OK) {
        /* deleted between the checks above and the write */
        if (rc == GH_ENOTFOUND)
            str_fmt(err, errsz, "resource '%.*s%s' or client '%s' was just deleted", QUOTE(id),
                client_id);
        else
            str_fmt(err, errsz, "%s", gh_strerror(rc));
        goto out;
    }
    if (scope) {
        *scope = joined;
        joined = NULL;
    }
out:
    free(joined);
    str_list_free(want);
    client_free(c);
    resource_free(r);
    return rc;
}
