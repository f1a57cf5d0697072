/* cfg.c — the settings table and its three sources (config file, environment, flags) on top of
 * the defaults. Every setting is named once, in `settings[]`; its environment variable
 * (GATEHOUSE_<KEY>) and flag (--key-with-dashes) are derived from the key, so the three can never
 * drift apart. Values are validated here, when they are read; nothing downstream re-checks
 * bounds. Deliberately not supported: includes, variable expansion, quoting. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/err.h"
#include "core/limits.h"
#include "util/net.h"
#include "util/str.h"
#include "util/url.h"
#include "util/xmem.h"

enum type { T_STR, T_U32, T_BOOL, T_LEVEL };

struct setting {
    const char *key;
    enum type type;
    size_t off;
    unsigned groups;
    uint32_t min, max;
    const char *help;
};

#define F(field) offsetof(struct cfg, field)

static const struct setting settings[] = {
    { "db", T_STR, F(db), CFG_G_DATA, 0, 0, "database file (or sqlite:FILE)" },
    { "keys", T_STR, F(keys_dir), CFG_G_DATA, 0, 0, "directory of the secret and signing keys" },
    { "kek_file", T_STR, F(kek_file), CFG_G_DATA, 0, 0,
        "key-encryption key of the realm secret and signing keys in a PostgreSQL database "
        "(default: KEYS/kek.key)" },
    { "config", T_STR, F(config_file), CFG_G_DATA, 0, 0, "config file of `key = value` lines" },
    { "log_level", T_LEVEL, F(log_level), CFG_G_DATA, 0, 0,
        "err, warn, info or debug (commands other than serve: warn unless set)" },
    { "audit_log", T_STR, F(audit_log), CFG_G_DATA, 0, 0,
        "append audit events (JSON lines) to this file (none: standard error)" },
    { "argon2_memory_kib", T_U32, F(argon2_memory_kib), CFG_G_PW, GH_ARGON2_M_FLOOR,
        GH_ARGON2_M_MAX, "Argon2id memory per hash, KiB" },
    { "argon2_iterations", T_U32, F(argon2_iterations), CFG_G_PW, GH_ARGON2_T_FLOOR,
        GH_ARGON2_T_MAX, "Argon2id passes" },
    { "argon2_parallelism", T_U32, F(argon2_parallelism), CFG_G_PW, 1, GH_ARGON2_P_MAX,
        "Argon2id lanes" },
    { "password_min_length", T_U32, F(password_min_length), CFG_G_PW, GH_MIN_PASSWORD_FLOOR,
        GH_MAX_PASSWORD, "shortest password accepted, characters" },
    { "issuer", T_STR, F(issuer), CFG_G_HTTP, 0, 0, "issuer URL (https, or http on loopback)" },
    { "listen", T_STR, F(listen), CFG_G_HTTP, 0, 0, "ADDR:PORT to serve on (port 0: any free)" },
    { "port_file", T_STR, F(port_file), CFG_G_HTTP, 0, 0, "write the bound port to this file" },
    { "metrics_listen", T_STR, F(metrics_listen), CFG_G_HTTP, 0, 0,
        "ADDR:PORT serving GET /metrics (Prometheus), apart from listen (none: off)" },
    { "threads", T_U32, F(threads), CFG_G_HTTP, 0, 64, "worker threads (0: one per core)" },
    { "max_connections", T_U32, F(max_connections), CFG_G_HTTP, 1, 65536,
        "open connections, in all" },
    { "max_connections_per_ip", T_U32, F(max_connections_per_ip), CFG_G_HTTP, 1, 65536,
        "open connections from one address" },
    { "connection_timeout", T_U32, F(connection_timeout), CFG_G_HTTP, 1, 3600,
        "seconds an idle or slow connection may live" },
    { "cache_max_age", T_U32, F(cache_max_age), CFG_G_HTTP, 0, 604800,
        "Cache-Control max-age of discovery and JWKS, seconds" },
    { "key_rotation_interval", T_U32, F(key_rotation_interval), CFG_G_HTTP, 0, 3650 * 86400,
        "serve rotates a signing key active this many seconds (0: never; keys rotate by hand)" },
    { "key_poll_interval", T_U32, F(key_poll_interval), CFG_G_HTTP, 1, GH_KEY_POLL_S,
        "seconds between two reads of the key list (keys added or retired elsewhere)" },
    { "access_log", T_BOOL, F(access_log), CFG_G_HTTP, 0, 0, "log one line per request: on|off" },
    { "templates", T_STR, F(templates_dir), CFG_G_HTTP, 0, 0,
        "directory of the HTML page templates" },
    { "static", T_STR, F(static_dir), CFG_G_HTTP, 0, 0, "directory of the CSS and images" },
    { "session_idle_timeout", T_U32, F(session_idle_timeout), CFG_G_HTTP, 60, 30 * 86400,
        "seconds a sign-in session survives without use" },
    { "session_lifetime", T_U32, F(session_lifetime), CFG_G_HTTP, 60, 90 * 86400,
        "seconds a sign-in session lasts at most" },
    { "access_token_ttl", T_U32, F(access_token_ttl), CFG_G_HTTP, 30, 86400,
        "access token lifetime, seconds" },
    { "id_token_ttl", T_U32, F(id_token_ttl), CFG_G_HTTP, 30, 86400, "ID token lifetime, seconds" },
    { "refresh_token_idle", T_U32, F(refresh_token_idle), CFG_G_HTTP, 60, 365 * 86400,
        "seconds a refresh token family survives without use" },
    { "refresh_token_lifetime", T_U32, F(refresh_token_lifetime), CFG_G_HTTP, 60, 365 * 86400,
        "seconds a refresh token family lasts at most" },
    { "issuer_jwks_cache_ttl", T_U32, F(issuer_jwks_cache_ttl), CFG_G_HTTP, 10, 86400,
        "seconds a trusted issuer's keys fetched from its jwks_uri are used" },
    { "issuer_jwks_refetch_interval", T_U32, F(issuer_jwks_refetch_interval), CFG_G_HTTP, 1,
        3600, "seconds between two fetches of one issuer's jwks_uri (unknown kid, failure)" },
    { "login_free_failures", T_U32, F(login_free_failures), CFG_G_HTTP, 0, 100,
        "failed sign-ins on one account before each next try must wait" },
    { "login_max_delay", T_U32, F(login_max_delay), CFG_G_HTTP, 1, 86400,
        "longest wait between tries on one account, seconds" },
    { "login_lock_failures", T_U32, F(login_lock_failures), CFG_G_HTTP, 1, 100,
        "consecutive failed sign-ins that lock an account for login_lock_time" },
    { "login_lock_time", T_U32, F(login_lock_time), CFG_G_HTTP, 60, 30 * 86400,
        "seconds such a lock lasts (gatehouse user unlock ends it)" },
    { "login_ip_failures", T_U32, F(login_ip_failures), CFG_G_HTTP, 0, 1000000,
        "failed sign-ins per client address per 5 minutes (0: no limit)" },
    { "client_rate", T_U32, F(client_rate), CFG_G_HTTP, 0, 1000000,
        "token, introspection and revocation requests per second per client (0: no limit)" },
    { "client_burst", T_U32, F(client_burst), CFG_G_HTTP, 0, 1000000,
        "requests a client may make at once before client_rate applies (0: client_rate)" },
    { "client_auth_ip_failures", T_U32, F(client_auth_ip_failures), CFG_G_HTTP, 0, 1000000,
        "failed client authentications per client address per minute (0: no limit)" },
    { "clock_skew", T_U32, F(clock_skew), CFG_G_HTTP | CFG_G_CLOCK, 0, GH_CLOCK_SKEW_MAX_S,
        "seconds of clock difference allowed on exp, nbf and iat of assertions and tokens" },
    { "trusted_proxies", T_STR, F(trusted_proxies), CFG_G_HTTP, 0, 0,
        "LIST of proxy addresses/networks whose X-Forwarded-For names the client" },
    { "tls_cert", T_STR, F(tls_cert), CFG_G_HTTP, 0, 0,
        "PEM certificate (chain) for native HTTPS; needs tls_key" },
    { "tls_key", T_STR, F(tls_key), CFG_G_HTTP, 0, 0,
        "PEM private key of tls_cert, mode 0600; needs tls_cert" },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

void
cfg_defaults(struct cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->db = x_strdup("./gatehouse.db");
    c->keys_dir = x_strdup("./keys");
    c->listen = x_strdup("127.0.0.1:8080");
    c->log_level = LOG_INFO;
    c->access_log = true;
    c->argon2_memory_kib = GH_ARGON2_M_DEFAULT;
    c->argon2_iterations = GH_ARGON2_T_DEFAULT;
    c->argon2_parallelism = GH_ARGON2_P_DEFAULT;
    c->password_min_length = GH_MIN_PASSWORD_DEFAULT;
    c->threads = 0;
    c->max_connections = GH_MAX_CONNECTIONS;
    c->max_connections_per_ip = GH_MAX_CONN_PER_IP;
    c->connection_timeout = GH_CONN_TIMEOUT_S;
    c->cache_max_age = 3600;
    c->key_poll_interval = GH_KEY_POLL_S;
    c->templates_dir = x_strdup("./templates");
    c->static_dir = x_strdup("./static");
    c->session_idle_timeout = 2 * 3600;      /* OWASP session cheat sheet: idle timeouts of */
    c->session_lifetime = 12 * 3600;         /* hours, an absolute end within a working day */
    c->access_token_ttl = 600;
    c->id_token_ttl = 600;
    c->refresh_token_idle = 14 * 86400;
    c->refresh_token_lifetime = 30 * 86400;
    c->issuer_jwks_cache_ttl = GH_ISSUER_JWKS_TTL_S;
    c->issuer_jwks_refetch_interval = GH_ISSUER_JWKS_REFETCH_S;
    c->login_free_failures = 5;              /* SECURITY.md (d): progressive delay after 5, */
    c->login_max_delay = 900;                /* 1 s doubling to 15 min (Keycloak's max wait), */
    c->login_lock_failures = 100;            /* NIST SP 800-63B §3.2.2: at most 100 in a row */
    c->login_lock_time = 86400;
    c->login_ip_failures = 20;               /* 20 per 5 min per address (Authelia, OWASP) */
    c->client_rate = 0;                      /* SECURITY.md (d): successes are not limited */
    c->client_burst = 0;
    c->client_auth_ip_failures = 100;        /* 256-bit secrets: a cost bound, not a guess bound */
    c->clock_skew = GH_CLOCK_SKEW_DEFAULT_S;
}

void
cfg_free(struct cfg *c)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (settings[i].type == T_STR) {
            char **p = (char **)((char *)c + settings[i].off);
            free(*p);
            *p = NULL;
        }
    }
}

static const struct setting *
find(const char *key)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (strcmp(settings[i].key, key) == 0)
            return &settings[i];
    }
    return NULL;
}

int
cfg_set(struct cfg *c, const char *key, const char *value, char *err, size_t errsz)
{
    const struct setting *s = find(key);
    void *field;
    uint64_t v;
    size_t n = strlen(value);

    if (!s) {
        snprintf(err, errsz, "unknown setting '%s'", key);
        return GH_ENOTFOUND;
    }
    field = (char *)c + s->off;
    if (n > GH_MAX_CONFIG_LINE || str_has_ctl(value, n) || !str_utf8_valid(value, n)) {
        snprintf(err, errsz, "%s: value is too long or has control characters", key);
        return GH_EINVAL;
    }
    switch (s->type) {
    case T_STR:
        if (n == 0) {
            snprintf(err, errsz, "%s: value is empty", key);
            return GH_EINVAL;
        }
        free(*(char **)field);
        *(char **)field = x_strdup(value);
        return GH_OK;
    case T_U32:
        if (str_to_u64(value, s->min, s->max, &v) != GH_OK) {
            snprintf(err, errsz, "%s: '%s' is not a whole number from %u to %u", key, value,
                s->min, s->max);
            return GH_EINVAL;
        }
        *(uint32_t *)field = (uint32_t)v;
        return GH_OK;
    case T_BOOL:
        if (str_eq(value, "on") || str_eq(value, "true") || str_eq(value, "yes") ||
            str_eq(value, "1")) {
            *(bool *)field = true;
        } else if (str_eq(value, "off") || str_eq(value, "false") || str_eq(value, "no") ||
            str_eq(value, "0")) {
            *(bool *)field = false;
        } else {
            snprintf(err, errsz, "%s: '%s' is not on or off", key, value);
            return GH_EINVAL;
        }
        return GH_OK;
    case T_LEVEL:
        if (log_level_parse(value, (enum log_level *)field) != GH_OK) {
            snprintf(err, errsz, "%s: '%s' is not one of err, warn, info, debug", key, value);
            return GH_EINVAL;
        }
        return GH_OK;
    }
    return GH_EINTERNAL;
}

const char *
cfg_key_for_flag(const char *flag, unsigned groups)
{
    char key[64];

    if (str_copy(key, sizeof(key), flag) != GH_OK)
        return NULL;
    for (char *p = key; *p; p++) {
        if (*p == '-')
            *p = '_';
        else if (*p == '_')
            return NULL; /* flags are spelled with dashes only */
    }
    for (size_t i = 0; i < NSETTINGS; i++) {
        if ((settings[i].groups & groups) && strcmp(settings[i].key, key) == 0)
            return settings[i].key;
    }
    return NULL;
}

static char *
trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

int
cfg_load_file(struct cfg *c, const char *path, char *err, size_t errsz)
{
    char *text = NULL, *line, *next;
    bool seen[NSETTINGS] = { false };
    struct stat st;
    ssize_t got;
    size_t lineno = 0;
    int fd = -1, rc = GH_EIO;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > GH_MAX_CONFIG_FILE) {
        snprintf(err, errsz, "%s: not a regular file of at most %d bytes", path,
            GH_MAX_CONFIG_FILE);
        rc = GH_ETOOBIG;
        goto out;
    }
    text = x_malloc((size_t)st.st_size + 1);
    got = read(fd, text, (size_t)st.st_size);
    if (got != st.st_size) {
        snprintf(err, errsz, "%s: short read", path);
        goto out;
    }
    text[got] = '\0';
    if (memchr(text, '\0', (size_t)got)) {
        snprintf(err, errsz, "%s: file contains a NUL byte", path);
        rc = GH_EINVAL;
        goto out;
    }
    for (line = text; line; line = next) {
        char *eq, *key, *val, sub[256];
        const struct setting *s;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (strlen(line) > GH_MAX_CONFIG_LINE) {
            snprintf(err, errsz, "%s:%zu: line is longer than %d bytes", path, lineno,
                GH_MAX_CONFIG_LINE);
            rc = GH_EINVAL;
            goto out;
        }
        line = trim(line);
        if (*line == '\0' || *line == '#')
            continue;
        if (!(eq = strchr(line, '='))) {
            snprintf(err, errsz, "%s:%zu: expected `key = value`", path, lineno);
            rc = GH_EINVAL;
            goto out;
        }
        *eq = '\0';
        key = trim(line);
        val = trim(eq + 1);
        s = find(key);
        if (!s || str_eq(key, "config")) {
            snprintf(err, errsz, "%s:%zu: unknown setting '%.64s'", path, lineno, key);
            rc = GH_EINVAL;
            goto out;
        }
        if (seen[s - settings]) {
            snprintf(err, errsz, "%s:%zu: '%s' is set twice", path, lineno, key);
            rc = GH_EINVAL;
            goto out;
        }
        seen[s - settings] = true;
        if ((rc = cfg_set(c, key, val, sub, sizeof(sub))) != GH_OK) {
            snprintf(err, errsz, "%s:%zu: %s", path, lineno, sub);
            goto out;
        }
    }
    rc = GH_OK;
out:
    if (fd >= 0)
        close(fd);
    free(text);
    return rc;
}

/* GATEHOUSE_<KEY>: the environment variable of a setting */
static void
env_name(const struct setting *s, char *out, size_t outsz)
{
    size_t k = (size_t)snprintf(out, outsz, "GATEHOUSE_%s", s->key);

    for (size_t j = 10; j < k && j < outsz; j++) {
        if (out[j] >= 'a' && out[j] <= 'z')
            out[j] = (char)(out[j] - 'a' + 'A');
    }
}

int
cfg_load_env(struct cfg *c, unsigned groups, char *err, size_t errsz)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        char name[80], sub[256];
        const char *v;
        int rc;

        if (!(settings[i].groups & groups))
            continue;
        env_name(&settings[i], name, sizeof(name));
        if (str_eq(settings[i].key, "config") || !(v = getenv(name)))
            continue;
        if ((rc = cfg_set(c, settings[i].key, v, sub, sizeof(sub))) != GH_OK) {
            snprintf(err, errsz, "%s: %s", name, sub);
            return rc;
        }
    }
    return GH_OK;
}

int
cfg_issuer_check(const char *issuer, const char **why)
{
    struct url u;
    size_t n = strlen(issuer);

    if (url_parse(issuer, &u, why) != GH_OK)
        return GH_EINVAL;
    /* OIDC Discovery §3 / RFC 8414 §2: https, no query, no fragment. */
    if (!u.has_authority || u.has_query) {
        *why = "issuer must be an absolute URL with a host and no query or fragment";
        return GH_EINVAL;
    }
    if (!str_eq(u.scheme, "https") &&
        !(str_eq(u.scheme, "http") && url_host_is_loopback(u.host))) {
        *why = "issuer must use https (plain http only for a loopback host)";
        return GH_EINVAL;
    }
    if (n > 1 && issuer[n - 1] == '/') {
        *why = "issuer must not end with '/'";
        return GH_EINVAL;
    }
    if (strncmp(issuer, u.scheme, strlen(u.scheme)) != 0) { /* url_parse lower-cased it */
        *why = "issuer scheme must be lower-case";
        return GH_EINVAL;
    }
    return GH_OK;
}

int
cfg_validate(const struct cfg *c, char *err, size_t errsz)
{
    const char *why = NULL;

    if (c->issuer && cfg_issuer_check(c->issuer, &why) != GH_OK) {
        snprintf(err, errsz, "issuer '%.200s': %s", c->issuer, why);
        return GH_EINVAL;
    }
    struct net_list proxies;
    if (net_list_parse(c->trusted_proxies, &proxies, &why) != GH_OK) {
        snprintf(err, errsz, "trusted_proxies '%.200s': %s", c->trusted_proxies, why);
        return GH_EINVAL;
    }
    /* native HTTPS needs both files; an https-only server cannot be a plain http issuer */
    if (!c->tls_cert != !c->tls_key) {
        snprintf(err, errsz, "tls_cert and tls_key go together: set both or neither");
        return GH_EINVAL;
    }
    if (c->tls_cert && c->issuer && strncmp(c->issuer, "https://", 8) != 0) {
        snprintf(err, errsz, "issuer '%.200s': with tls_cert the issuer must be https",
            c->issuer);
        return GH_EINVAL;
    }
    if (!strrchr(c->listen, ':')) {
        snprintf(err, errsz, "listen '%.200s': expected ADDR:PORT", c->listen);
        return GH_EINVAL;
    }
    if (c->metrics_listen && !strrchr(c->metrics_listen, ':')) {
        snprintf(err, errsz, "metrics_listen '%.200s': expected ADDR:PORT", c->metrics_listen);
        return GH_EINVAL;
    }
    if (c->metrics_listen && strcmp(c->metrics_listen, c->listen) == 0 &&
        strcmp(strrchr(c->listen, ':'), ":0") != 0) {
        snprintf(err, errsz, "metrics_listen must differ from listen: the metrics are never "
            "served on the main port");
        return GH_EINVAL;
    }
    if (c->session_idle_timeout > c->session_lifetime) {
        snprintf(err, errsz, "session_idle_timeout must not exceed session_lifetime");
        return GH_EINVAL;
    }
    if (c->refresh_token_idle > c->refresh_token_lifetime) {
        snprintf(err, errsz, "refresh_token_idle must not exceed refresh_token_lifetime");
        return GH_EINVAL;
    }
    return GH_OK;
}

static void
format_value(const struct cfg *c, const struct setting *s, char *out, size_t outsz)
{
    const void *field = (const char *)c + s->off;

    switch (s->type) {
    case T_STR:
        snprintf(out, outsz, "%s", *(char *const *)field ? *(char *const *)field : "none");
        break;
    case T_U32:
        snprintf(out, outsz, "%u", *(const uint32_t *)field);
        break;
    case T_BOOL:
        snprintf(out, outsz, "%s", *(const bool *)field ? "on" : "off");
        break;
    case T_LEVEL:
        snprintf(out, outsz, "%s", log_level_name(*(const enum log_level *)field));
        break;
    }
}

void
cfg_print_flags(unsigned groups, void *file)
{
    static const char *const metavar[] = { "VALUE", "N", "on|off", "LEVEL" };
    struct cfg def;
    FILE *f = file;

    cfg_defaults(&def);
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        char flag[96], env[80], dflt[64];
        size_t k;

        if (!(s->groups & groups))
            continue;
        k = (size_t)snprintf(flag, sizeof(flag), "--%s %s", s->key, metavar[s->type]);
        for (size_t j = 2; j < k && flag[j] != ' '; j++) {
            if (flag[j] == '_')
                flag[j] = '-';
        }
        env_name(s, env, sizeof(env));
        format_value(&def, s, dflt, sizeof(dflt));
        fprintf(f, "  %-32s %s\n  %-32s [env %s; default %s]\n", flag, s->help, "", env,
            str_eq(s->key, "issuer") ? "recorded by init, else http(s)://LISTEN" : dflt);
    }
    cfg_free(&def);
}
