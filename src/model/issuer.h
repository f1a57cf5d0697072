/* issuer.h — the rules for trusted issuers of JWT-bearer grant assertions (RFC 7523 §2.1):
 * which issuer identifiers may be registered, where their keys come from (an inline JWKS or a
 * jwks_uri), and which clients may present their assertions. The record is struct
 * trusted_issuer in store/store.h; this module decides what may be stored.
 *
 * Errors that concern input come back as GH_EINVAL (or GH_ENOTFOUND/GH_EEXIST) with one line
 * for the operator in err (errsz bytes, always NUL-terminated when errsz > 0), which may quote
 * the offending input: the caller prints it through something that neutralises control
 * characters (cli_fail does). */
#ifndef GH_MODEL_ISSUER_H
#define GH_MODEL_ISSUER_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct trusted_issuer;

#define ISSUER_MAX_CLIENTS 64   /* clients listed for one issuer */

/* An issuer identifier (the iss its assertions carry): 1..GH_MAX_URI bytes of UTF-8 without
 * control characters or spaces; if it names a scheme ("…://"), an absolute URL (url_parse
 * rules). ours (may be NULL): gatehouse's own issuer, which is refused (also with a trailing
 * "/" added or removed): our own tokens are not assertions. GH_OK or GH_EINVAL with *why. */
int  issuer_id_check(const char *issuer, const char *ours, const char **why);

/* A jwks_uri: what util/fetch.c will fetch (https, or http to a loopback host), without a
 * fragment. GH_OK or GH_EINVAL with *why. The one check for every jwks_uri gatehouse fetches:
 * a trusted issuer's and a private_key_jwt client's (model/client.c). */
int  issuer_jwks_uri_check(const char *uri, const char **why);

/* A JWKS document (len bytes): parsed as `token verify` does (crypto/jwks_verify.c jwks_parse:
 * public RSA or P-256 signing keys only, no private members) and as a client's JWKS is
 * (keys_jwks_check_public: 1..GH_MAX_JWKS_KEYS keys, unique kids), so that the grant can
 * verify with it. GH_OK, or GH_EINVAL / GH_ETOOBIG with a line in err. */
int  issuer_jwks_check(const char *jwks, size_t len, char *err, size_t errsz);

/* What `issuer add` asks for. Exactly one of jwks / jwks_uri. */
struct issuer_spec {
    const char *issuer;
    const char *jwks;              /* the JWKS text, or NULL */
    size_t jwks_len;
    const char *jwks_uri;          /* or NULL */
    char *const *clients;          /* NULL-terminated, at least one */
    const char *ours;              /* our own issuer, refused as issuer; may be NULL */
};

/* Whether client_id names a client that may present an issuer's assertions: it exists and is
 * confidential. GH_OK; GH_EINVAL, GH_ENOTFOUND, GH_ESTORE with one line in err. */
int  issuer_client_check(struct store *st, const char *client_id, char *err, size_t errsz);

/* Validate spec and store it with created_at = now. Each client must exist and be
 * confidential (a public client's "authentication" proves nothing, so anyone could present
 * the issuer's assertions as it). On GH_OK *out (if not NULL) is the stored record (caller
 * frees with trusted_issuer_free). GH_EINVAL (err), GH_ENOTFOUND (err: no such client),
 * GH_EEXIST (err: already registered), GH_ESTORE. */
int  issuer_create(struct store *st, const struct issuer_spec *spec, int64_t now,
         struct trusted_issuer **out, char *err, size_t errsz);

#endif
