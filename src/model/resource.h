/* resource.h — the rules for resources: the APIs that accept gatehouse access tokens (RFC 8707
 * resource indicators), the scopes they define, and which clients may obtain tokens for them
 * with which of those scopes. The records are struct resource / struct resource_client in
 * store/store.h; this module decides what may be stored.
 *
 * Errors that concern input come back as GH_EINVAL (or GH_ENOTFOUND/GH_EEXIST) with one line
 * for the operator in err (errsz bytes, always NUL-terminated when errsz > 0), which may quote
 * the offending input: the caller prints it through something that neutralises control
 * characters (cli_fail does). */
#ifndef GH_MODEL_RESOURCE_H
#define GH_MODEL_RESOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct resource;

/* A resource identifier to register (RFC 8707 §2): an absolute URI without a fragment and,
 * here, without a query; at most GH_MAX_URI bytes of printable ASCII (url_parse rules: no
 * spaces, controls, backslashes, userinfo, bad %-escapes); no "." or ".." path segments;
 * the scheme written in lower case and one of
 *   https  with a host (written in lower case),
 *   http   only with a loopback host (localhost, 127.0.0.0/8, [::1]),
 *   urn    "urn:NID:NSS" (RFC 8141 §2 NID syntax, non-empty NSS).
 * GH_OK, or GH_EINVAL with a static reason in *why. */
int  resource_id_check(const char *id, const char **why);

/* A display name: 1..GH_MAX_NAME bytes of UTF-8 without control characters.
 * GH_OK or GH_EINVAL with *why. */
int  resource_name_check(const char *name, const char **why);

/* "openid", "profile", "email", "offline_access" (compared ignoring ASCII case): the OpenID
 * Connect sign-in scopes, which a resource may never define, so that no resource token
 * carries a scope that means sign-in. */
bool resource_scope_reserved(const char *scope);

/* Check a scope list (NULL-terminated; NULL is the empty list) and return it without
 * duplicates, in first-seen order: *out is a new NULL-terminated list (never NULL on GH_OK;
 * caller frees with str_list_free). Each item: RFC 6749 §3.3 scope-token, 1..GH_MAX_SCOPE_LEN
 * bytes, not reserved; at most GH_MAX_SCOPES items in all. GH_OK or GH_EINVAL (err names the
 * first bad item); *out is NULL on error. */
int  resource_scopes_normalize(char *const *in, char ***out, char *err, size_t errsz);

/* What `resource add` asks for. */
struct resource_spec {
    const char *id;
    const char *name;              /* NULL: the identifier */
    char *const *scopes;           /* NULL-terminated, or NULL for none */
};

/* Validate spec and store the resource with created_at = now. On GH_OK *out (if out is not
 * NULL) is the stored record (caller frees with resource_free). GH_EINVAL (err), GH_EEXIST
 * (err: already registered), GH_ESTORE. */
int  resource_create(struct store *st, const struct resource_spec *spec, int64_t now,
         struct resource **out, char *err, size_t errsz);

/* Let client_id obtain tokens for resource id with scopes (NULL-terminated, NULL for none),
 * replacing an earlier permission. The client must exist and be confidential (RFC 6749 §4.4:
 * client_credentials is only for clients that authenticate); the scopes are normalised as by
 * resource_scopes_normalize and must all be scopes of the resource. On GH_OK *scope (if not
 * NULL) is what was stored: the space-separated scopes, "" for none (caller frees).
 * GH_ENOTFOUND (no such resource or client; err says which), GH_EINVAL (err), GH_ESTORE. */
int  resource_allow_client(struct store *st, const char *id, const char *client_id,
         char *const *scopes, int64_t now, char **scope, char *err, size_t errsz);

#endif
