/* cfg.h — settings. Sources, lowest to highest precedence: built-in defaults, the `key = value`
 * config file (--config FILE / GATEHOUSE_CONFIG), GATEHOUSE_<KEY> environment variables, and
 * --<key-with-dashes> flags. One table in cfg.c names every setting once; the environment
 * variable and flag names are derived from the config key. Read-only after start-up. */
#ifndef GH_CORE_CFG_H
#define GH_CORE_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"

/* Which commands accept a setting as a flag. */
enum cfg_group {
    CFG_G_DATA = 1,   /* db, keys, config, log_level, audit_log: every command */
    CFG_G_PW = 2,     /* password hashing and policy: user add/passwd, init, serve */
    CFG_G_HTTP = 4,   /* the server: serve */
    CFG_G_CLOCK = 8,  /* clock_skew: serve, keys and token verify */
};

struct cfg {
    char *db;                     /* DSN or file; default ./gatehouse.db */
    char *keys_dir;               /* default ./keys */
    char *kek_file;               /* NULL: <keys_dir>/kek.key (used with a shared database) */
    char *config_file;            /* NULL if none */
    char *issuer;                 /* NULL: the one recorded by init, else http://<listen> */
    char *listen;                 /* ADDR:PORT, default 127.0.0.1:8080 */
    char *port_file;              /* serve writes the bound port here (tests use port 0) */
    char *metrics_listen;         /* ADDR:PORT of GET /metrics; NULL: no metrics listener */
    enum log_level log_level;
    char *audit_log;              /* audit events (JSON lines) go here; NULL: stderr */
    bool access_log;
    uint32_t argon2_memory_kib, argon2_iterations, argon2_parallelism;
    uint32_t password_min_length;
    uint32_t threads;             /* 0 = one per core */
    uint32_t max_connections, max_connections_per_ip, connection_timeout;
    uint32_t cache_max_age;       /* seconds, discovery and JWKS */
    uint32_t key_rotation_interval; /* seconds; serve rotates keys this old (0: never) */
    uint32_t key_poll_interval;   /* seconds between reads of the key list, 1..GH_KEY_POLL_S */
    char *templates_dir;          /* HTML templates, default ./templates */
    char *static_dir;             /* CSS and images, default ./static */
    uint32_t session_idle_timeout, session_lifetime;          /* seconds */
    uint32_t access_token_ttl, id_token_ttl;                  /* seconds */
    uint32_t refresh_token_idle, refresh_token_lifetime;      /* seconds */
    uint32_t issuer_jwks_cache_ttl;         /* seconds a trusted issuer's fetched keys live */
    uint32_t issuer_jwks_refetch_interval;  /* seconds between two fetches of one jwks_uri */
    uint32_t login_free_failures, login_max_delay;            /* model/throttle.h */
    uint32_t login_lock_failures, login_lock_time, login_ip_failures;
    uint32_t client_rate;         /* token/introspect/revoke requests/s per client (0: off) */
    uint32_t client_burst;        /* requests at once per client (0: client_rate) */
    uint32_t client_auth_ip_failures; /* failed client authentications per address per minute */
    uint32_t clock_skew;          /* seconds allowed on exp, nbf, iat (GH_CLOCK_SKEW_*) */
    char *trusted_proxies;        /* LIST of addresses/networks whose X-Forwarded-For counts */
    char *tls_cert, *tls_key;     /* PEM files for native HTTPS; both or neither */
};

void cfg_defaults(struct cfg *c);
void cfg_free(struct cfg *c);

/* Set one setting by config key ("argon2_memory_kib") from text, validating type and bounds.
 * GH_OK, or GH_EINVAL / GH_ENOTFOUND (unknown key) with one line in err. */
int  cfg_set(struct cfg *c, const char *key, const char *value, char *err, size_t errsz);
/* The config key for a flag name without leading dashes ("argon2-memory-kib"), if the flag
 * belongs to one of groups; NULL otherwise. */
const char *cfg_key_for_flag(const char *flag, unsigned groups);
/* Apply a config file: `key = value` lines, '#' comments, blank lines; bounded size and line
 * length; unknown keys and duplicates are errors (with file:line in err). */
int  cfg_load_file(struct cfg *c, const char *path, char *err, size_t errsz);
/* Apply GATEHOUSE_* variables for the settings in groups. */
int  cfg_load_env(struct cfg *c, unsigned groups, char *err, size_t errsz);
/* Cross-field checks: Argon2 floors, issuer syntax (absolute, no query/fragment, https or
 * loopback http), listen syntax, tls_cert and tls_key both or neither (and then an https
 * issuer, if one is set). */
int  cfg_validate(const struct cfg *c, char *err, size_t errsz);
/* Issuer rules on their own (also used for `init --issuer`). */
int  cfg_issuer_check(const char *issuer, const char **why);
/* Print the flags of groups with their help text and default, for --help. */
void cfg_print_flags(unsigned groups, void *file /* FILE * */);

#endif
