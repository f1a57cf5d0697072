/* client.h — OAuth client registry records and their rules: redirect URI syntax (RFC 6749
 * §3.1.2, RFC 8252 §7), exact-match comparison, auth methods, grant types, secrets. */
#ifndef GH_MODEL_CLIENT_H
#define GH_MODEL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct secrets;

enum client_auth {
    CLIENT_AUTH_NONE = 0,            /* public clients */
    CLIENT_AUTH_SECRET_BASIC,
    CLIENT_AUTH_SECRET_POST,
    CLIENT_AUTH_SECRET_JWT,
    CLIENT_AUTH_PRIVATE_KEY_JWT,
};

struct client {
    char *client_id;
    char *name;
    bool is_public;
    enum client_auth auth_method;
    char **redirect_uris;              /* NULL-terminated, never NULL itself */
    char **post_logout_redirect_uris;  /* NULL-terminated, never NULL itself */
    char **grant_types;                /* NULL-terminated */
    char **scopes;                     /* NULL-terminated */
    char *jwks;                        /* inline JWKS JSON for private_key_jwt, or NULL */
    char *jwks_uri;                    /* or, instead, where its JWKS is fetched (private_key_jwt
                                        * only; oidc/issuer_keys.c caches it), or NULL */
    bool has_secret;
    unsigned char secret_hash[32];     /* sec_client_secret_hash() of the secret */
    unsigned char *secret_sealed;      /* client_secret_jwt only: sec_seal()ed secret, or NULL */
    size_t secret_sealed_len;
    bool consent;                      /* ask the user before the first authorization */
    bool pkce_required;                /* always true for public clients */
    char *signing_alg;                 /* JWS alg of its id_tokens and access tokens: one of
                                        * client_signing_algs; NULL is stored as the default */
    int64_t created_at, updated_at;
};

void client_free(struct client *c);    /* NULL is a no-op */
void client_list_free(struct client **list, size_t n);

const char *client_auth_name(enum client_auth m);           /* RFC 8414 names */
int  client_auth_parse(const char *s, enum client_auth *out);
/* The grant types gatehouse knows; NULL-terminated, static. */
extern const char *const client_grant_types_known[];
/* The token signing algs a client may be given, default first ("RS256", "ES256", "PS256");
 * NULL-terminated, static. client_signing_alg_ok: alg is one of them (exact, case-sensitive). */
extern const char *const client_signing_algs[];
bool client_signing_alg_ok(const char *alg);

/* client_id: 1..GH_MAX_CLIENT_ID chars of [A-Za-z0-9._~-] (RFC 3986 unreserved, so it needs
 * no encoding anywhere). GH_OK or GH_EINVAL + why. */
int  client_id_check(const char *client_id, const char **why);
/* A redirect URI to register: absolute, no fragment, no userinfo; https, or http only on a
 * loopback host; a private-use scheme ("com.example.app:/cb", RFC 8252 §7.1) only for
 * public (native) clients. GH_OK or GH_EINVAL + why. */
int  client_redirect_uri_check(const char *uri, bool is_public, const char **why);
/* Byte-exact match against the registered list (RFC 9700 §2.1). */
bool client_redirect_ok(const struct client *c, const char *uri);
bool client_post_logout_redirect_ok(const struct client *c, const char *uri);

/* What `client add` asks for; lists are NULL-terminated or NULL for the default. */
struct client_spec {
    const char *client_id;
    const char *name;                  /* default: client_id */
    bool is_public;
    bool auth_method_set;
    enum client_auth auth_method;      /* default: none for public, client_secret_basic otherwise */
    char *const *redirect_uris;
    char *const *post_logout_redirect_uris;
    char *const *grant_types;          /* default: authorization_code refresh_token */
    char *const *scopes;               /* default: openid profile email */
    const char *jwks;                  /* JSON text; private_key_jwt needs exactly one of */
    const char *jwks_uri;              /* jwks and jwks_uri (issuer_jwks_uri_check rules) */
    const char *secret;                /* operator-supplied secret (>= 32 chars) or NULL */
    bool consent;                      /* default false: first-party apps skip the consent page */
    bool pkce_optional;                /* default false; true only for confidential clients */
    const char *signing_alg;           /* default (NULL): RS256 */
};

/* Validate spec, generate a 256-bit secret for confidential secret-based clients without one,
 * store it (one transaction). *generated_secret gets a generated secret (caller wipes and frees)
 * or NULL. GH_OK, GH_EINVAL (*why), GH_EEXIST, GH_ESTORE, GH_ECRYPTO. */
int  client_create(struct store *st, const struct secrets *sec, const struct client_spec *spec,
         char **generated_secret, const char **why);
/* Replace a confidential client's secret: new_secret or, if NULL, a generated one (returned in
 * *generated_secret). GH_ENOTFOUND, GH_EINVAL (public or key-based client, short secret). */
int  client_rotate_secret(struct store *st, const struct secrets *sec, const char *client_id,
         const char *new_secret, char **generated_secret, const char **why);
/* Constant-time check of a presented secret. true only if the client has a secret and it matches. */
bool client_secret_ok(const struct secrets *sec, const struct client *c, const char *secret,
         size_t len);

#endif
