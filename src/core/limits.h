/* limits.h — every bound on input, in one place (STYLE.md §6). */
#ifndef GH_CORE_LIMITS_H
#define GH_CORE_LIMITS_H

/* HTTP front (libmicrohttpd options, http/server.c) */
#define GH_MAX_CONNECTIONS        1024
#define GH_MAX_CONN_PER_IP        32
#define GH_CONN_TIMEOUT_S         15
#define GH_CONN_MEMORY_LIMIT      (64 * 1024)  /* header block + buffers per connection */
#define GH_LISTEN_BACKLOG         511
#define GH_MAX_BODY               (64 * 1024)  /* request bodies (forms, JSON) */
#define GH_MAX_PARAMS             32
#define GH_MAX_PARAM_LEN          2048
#define GH_MAX_PATH_LEN           1024
#define GH_DRAIN_TIMEOUT_S        10           /* SIGTERM: wait this long for in-flight requests */
#define GH_READY_DB_TIMEOUT_MS    250          /* /readyz: longest wait for a busy database */
#define GH_MAX_DEFERRED           256          /* requests waiting for a password hash */

/* Identity data (model/) */
#define GH_MAX_USERNAME           64
#define GH_MAX_EMAIL              254           /* RFC 5321 §4.5.3.1.3 path limit */
#define GH_MAX_NAME               256
#define GH_MAX_PASSWORD           1024          /* bytes, checked before hashing */
#define GH_MIN_PASSWORD_DEFAULT   15            /* NIST SP 800-63B-4, single factor */
#define GH_MIN_PASSWORD_FLOOR     8             /* ASVS 6.2.1; configuration cannot go lower */
#define GH_MAX_CLIENT_ID          128
#define GH_MAX_URI                2048
#define GH_MAX_REDIRECT_URIS      32
#define GH_MAX_SCOPES             64
#define GH_MAX_SCOPE_LEN          128
#define GH_MIN_CLIENT_SECRET      32            /* operator-supplied secrets, characters */
#define GH_MAX_CLIENT_SECRET      512
#define GH_CLIENT_SECRET_BYTES    32            /* generated: 256 bits */
#define GH_MAX_JWKS               (64 * 1024)   /* a client's inline JWKS file */
#define GH_MAX_JWKS_KEYS          16

/* Argon2id (crypto/pw.c). Defaults m=64 MiB t=3 p=1; floor is OWASP's m=19 MiB t=2. */
#define GH_ARGON2_M_DEFAULT       65536
#define GH_ARGON2_T_DEFAULT       3
#define GH_ARGON2_P_DEFAULT       1
#define GH_ARGON2_M_FLOOR         19456
#define GH_ARGON2_T_FLOOR         2
#define GH_ARGON2_M_MAX           (4 * 1024 * 1024)  /* 4 GiB */
#define GH_ARGON2_T_MAX           64
#define GH_ARGON2_P_MAX           16
#define GH_ARGON2_SALT            16
#define GH_ARGON2_TAG             32
#define GH_MAX_PW_HASH            256           /* encoded PHC string */

/* Files read at start-up */
#define GH_MAX_CONFIG_FILE        (64 * 1024)
#define GH_MAX_CONFIG_LINE        1024
#define GH_MAX_KEY_FILE           (32 * 1024)
#define GH_MAX_TLS_CERT_FILE      (64 * 1024)   /* --tls-cert: leaf + intermediates */
#define GH_MAX_KEYS               32
#define GH_RSA_BITS_DEFAULT       2048
#define GH_RSA_BITS_MIN           2048

/* Tokens, JWTs, JSON */
#define GH_MAX_TOKEN_LEN          4096
#define GH_MAX_JWT_LEN            (8 * 1024)
#define GH_MAX_JSON               (64 * 1024)

/* Cookies (http/cookie.c) */
#define GH_MAX_COOKIES            16
#define GH_MAX_COOKIE_VALUE       512
#define GH_MAX_COOKIE_HEADER      8192

/* Browser sign-in and tokens: lifetimes (defaults; cfg may change them within bounds) */
#define GH_INTERACTION_TTL_S      900          /* the login form stays usable 15 min */
#define GH_CODE_TTL_S             60           /* RFC 9700 §4.5 / OAuth 2.1: short-lived */
#define GH_CODE_GRACE_S           86400        /* spent codes kept so a replay still revokes */
#define GH_MAX_STATE              1024         /* state, nonce: bytes */
#define GH_MAX_NONCE              512
#define GH_PKCE_VERIFIER_MIN      43           /* RFC 7636 §4.1 */
#define GH_PKCE_VERIFIER_MAX      128

/* Password guessing (model/throttle.c; the other limits are settings) */
#define GH_LOGIN_RESET_S          43200        /* a failure count is forgotten 12 h after the
                                                * last failure (Keycloak's maxDeltaTime) */
#define GH_LOGIN_IP_WINDOW_S      300          /* login_ip_failures counts per 5 minutes */

/* Back-channel endpoints: token, introspection, revocation (ep/client_req.c with
 * model/ratelimit.c; the limits themselves are settings: client_rate, client_burst,
 * client_auth_ip_failures) */
#define GH_CLIENT_AUTH_IP_WINDOW_S 60          /* client_auth_ip_failures counts per minute */
#define GH_CLIENT_AUTH_IP_SLOTS   8192         /* addresses tracked at once (fixed table) */
#define GH_CLIENT_RATE_SLOTS      4096         /* clients whose request rate is tracked at once */

/* Clock skew (setting clock_skew): allowed on the exp, nbf and iat of client assertions,
 * JWT-bearer grant assertions and access tokens presented to us, and by `token verify` */
#define GH_CLOCK_SKEW_DEFAULT_S   30           /* SECURITY.md (d); oidc-provider allows 15 */
#define GH_CLOCK_SKEW_MAX_S       600          /* RFC 7519 §4.1.4: "a few minutes" at most */

/* Client assertions (RFC 7523 §3 items 4-7 leave these to us) */
#define GH_ASSERTION_MAX_LIFE_S   300          /* exp at most this far ahead, iat at most this
                                                * old: each used jti is kept < 6 minutes */
#define GH_ASSERTION_JTI_MAX      256          /* bytes */

/* Trusted issuers' jwks_uri (JWT-bearer grant; oidc/issuer_keys.c, util/fetch.c) */
#define GH_ISSUER_FETCH_TIMEOUT_MS 3000L       /* connect, and the whole transfer */
#define GH_ISSUER_JWKS_TTL_S      600          /* default: keys kept 10 minutes */
#define GH_ISSUER_JWKS_REFETCH_S  60           /* default: at most one fetch a minute */

/* Logging */
#define GH_LOG_FIELD_MAX          128           /* log_esc() output, bytes */

/* HTML templates (tmpl/tmpl.c), read once at start-up */
#define GH_MAX_TEMPLATE           (64 * 1024)  /* template file / text, bytes */
#define GH_MAX_TEMPLATE_NAME      64           /* file name incl. ".html" */
#define GH_MAX_TEMPLATE_VAR       32           /* {{name}}: [a-z0-9_]{1,32} */
#define GH_MAX_TEMPLATE_DEPTH     8            /* nested {{#…}}/{{^…}} sections */

/* Staged key rotation (crypto/keys.h keys_state_at, docs/configuration.md) */
#define GH_KEY_SKEW_S             300          /* retired keys outlive their tokens by
                                                * max(this, clock_skew): verifiers we do not
                                                * configure often allow 5 min of skew */
#define GH_KEY_POLL_S             60           /* key_poll_interval: its default and maximum */
#define GH_KEY_ROTATE_MARGIN_S    120          /* a next key waits cache_max_age + this (> GH_KEY_POLL_S) */
#define GH_RELOAD_GRACE_S         120          /* a replaced key ring / document set is freed this much later */

#endif
