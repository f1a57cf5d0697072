/* cli.c — the command table, argument parsing and shared helpers of the admin CLI.
 * Parsing is strict: an unknown command or option, a missing value or a wrong number of
 * arguments is a usage error (exit 2) before anything is opened, so a typo never half-runs a
 * command. Options may follow the command words in any order; `--` ends them. Settings from
 * cfg.c are accepted as flags by the commands whose groups include them. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "cli/cli.h"
#include "core/audit.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"


static void report_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const struct cli_opt opt_none[] = { { NULL, NULL, NULL } };
static const struct cli_opt opt_json[] = {
    { "json", NULL, "print JSON" },
    { NULL, NULL, NULL },
};
static const struct cli_opt opt_init[] = {
    { "issuer", "URL", "record the issuer URL in the database" },
    { "demo", NULL,
        "also make sure the demo user 'demo' and the demo app's client 'demo-app' exist; "
        "print the demo password" },
    { NULL, NULL, NULL },
};
static const struct cli_opt opt_serve[] = {
    { "demo", NULL,
        "demo mode: serve the built-in demo app at /demo and print where to open it and the "
        "demo user's password" },
    { NULL, NULL, NULL },
};
static const struct cli_opt opt_user_add[] = {
    { "email", "EMAIL", "e-mail address" },
    { "name", "NAME", "full name" },
    { "password-stdin", NULL, "read the password from one line of standard input" },
    { "json", NULL, "print the new user as JSON" },
    { NULL, NULL, NULL },
};
static const struct cli_opt opt_passwd[] = {
    { "password-stdin", NULL, "read the password from one line of standard input" },
    { NULL, NULL, NULL },
};
static const struct cli_opt opt_client_add[] = {
    { "name", "NAME", "display name (default: the client_id)" },
    { "redirect-uri", "URI", "a redirect URI (repeatable)" },
    { "post-logout-redirect-uri", "URI", "a post-logout redirect URI (repeatable)" },
    { "public", NULL, "a public client (no secret; auth method none)" },
    { "auth-method", "METHOD",
        "client_secret_basic (default), client_secret_post, client_secret_jwt, "
        "private_key_jwt, none" },
    { "grant-types", "LIST", "default: authorization_code,refresh_token" },
    { "scopes", "LIST", "default: openid,profile,email" },
    { "jwks", "FILE", "the client's public keys (JWKS), for private_key_jwt" },
    { "jwks-uri", "URL",
        "or where the server fetches them (https; http only to loopback), for private_key_jwt" },
    { "secret-stdin", NULL, "read the client secret (32+ characters) from standard input" },
    { "consent", NULL, "show the consent page before the first authorization (default: skip)" },
    { "pkce-optional", NULL, "let a confidential client skip PKCE (public clients never may)" },
    { "signing-alg", "ALG", "RS256 (default), ES256 or PS256: signs the client's tokens" },
    { "json", NULL, "print {\"client_id\":…,\"client_secret\":…} as JSON" },
    { NULL, NULL, NULL },
};
static const struct cli_opt opt_rotate[] = {
    { "secret-stdin", NULL, "read the new secret (32+ characters) from standard input" },
    { "json", NULL, "print {\"client_id\":…,\"client_secret\":…} as JSON" },
    { NULL, NULL, NULL },
};
static const struct cli_opt opt_keygen[] = {
    { "alg", "ALG", "RS256, ES256 or PS256 (required)" },
    { "json", NULL, "print {\"kid\":…,\"alg\":…} as JSON" },
    { NULL, NULL, NULL },
};
static const struct cli_opt opt_keys_rotate[] = {
    { "alg", "ALG", "RS256, ES256 or PS256 (default: every alg that has a key)" },
    { "json", NULL, "print the new keys as JSON" },
    { NULL, NULL, NULL },
};
static const struct cli_opt opt_calibrate[] = {
    { "target-ms", "N", "time one hash should take (default 500)" },
    { "max-memory-kib", "N", "most memory to suggest per hash (default 262144)" },
    { NULL, NULL, NULL },
};

static const struct cli_opt opt_resource_add[] = {
    { "name", "NAME", "display name (default: the identifier)" },
    { "scopes", "LIST", "the scopes the API defines (default: none)" },
    { "json", NULL, "print the new resource as JSON" },
    { NULL, NULL, NULL },
};
static const struct cli_opt opt_resource_allow[] = {
    { "scopes", "LIST", "which of the resource's scopes the client may get (default: none)" },
    { NULL, NULL, NULL },
};
static const struct cli_opt opt_issuer_add[] = {
    { "jwks", "FILE", "the issuer's public keys (a JWKS file)" },
    { "jwks-uri", "URL", "where the server fetches the issuer's JWKS (https; http on loopback)" },
    { "client", "CLIENT_ID", "a client that may present the issuer's assertions (repeatable)" },
    { "json", NULL, "print the new issuer as JSON" },
    { NULL, NULL, NULL },
};

static const struct cli_opt opt_migrate[] = {
    { "from", "DSN", "the realm to copy: FILE, sqlite:FILE or postgresql://… (required)" },
    { "to", "DSN", "an empty database to copy it into (required; a SQLite file is created)" },
    { "from-keys", "DIR", "the source's keys directory (default: --keys)" },
    { "to-keys", "DIR", "the destination's keys directory (default: --keys)" },
    { NULL, NULL, NULL },
};

static const struct cli_opt opt_token_verify[] = {
    { "jwks", "URL|FILE", "a JWKS file or URL (default: this data location's keys)" },
    { "issuer", "URL", "the iss the token must have (default: the realm's issuer)" },
    { "audience", "AUD", "a value aud must contain (default: aud not checked)" },
    { NULL, NULL, NULL },
};

static const struct cli_cmd commands[] = {
    { "init", "", 0, 0, CFG_G_PW, opt_init, cli_init,
        "create or migrate the database and create keys if there are none",
        "Idempotent: creates ./gatehouse.db (or --db), keys/secret.key and one signing key\n"
        "each for RS256 (RSA-2048), ES256 (P-256) and PS256 (its own RSA-2048 key) when\n"
        "absent, and migrates an older database schema. With a postgresql:// database the\n"
        "keys and the realm secret are sealed into it instead, under --kek-file (created\n"
        "for a new realm; copy it to every instance). --demo also does what serve --demo\n"
        "does to the data (user 'demo', client 'demo-app' for --issuer, the configured or\n"
        "recorded issuer, else http://127.0.0.1:8080) and prints the demo password." },
    { "serve", "", 0, 0, CFG_G_PW | CFG_G_HTTP, opt_serve, cli_serve,
        "serve HTTP (initialises an empty data location first)",
        "SIGTERM or SIGINT: stop accepting, finish in-flight requests (up to 10 s), exit 0.\n"
        "--demo (what `make run` uses) also creates or updates the user 'demo' and the public\n"
        "client 'demo-app' (redirect URI <issuer>/demo/callback), keeps the demo password in\n"
        "a 0600 file beside the database (gatehouse.db -> gatehouse.demo), serves a page at\n"
        "/demo that signs in as that client and shows the tokens and userinfo it receives,\n"
        "and prints the page's address and the password on stdout. Without --demo, /demo is\n"
        "404. Not for production: anyone who can read the file can sign in as 'demo'." },
    { "user add", "USERNAME", 1, 1, CFG_G_PW, opt_user_add, cli_user_add, "add a user",
        "Without --password-stdin the password is asked twice on the terminal, without echo." },
    { "user list", "", 0, 0, 0, opt_json, cli_user_list, "list users", NULL },
    { "user show", "USERNAME", 1, 1, 0, opt_json, cli_user_show, "show one user", NULL },
    { "user passwd", "USERNAME", 1, 1, CFG_G_PW, opt_passwd, cli_user_passwd,
        "set a user's password", NULL },
    { "user disable", "USERNAME", 1, 1, 0, opt_none, cli_user_disable,
        "stop a user from signing in", NULL },
    { "user enable", "USERNAME", 1, 1, 0, opt_none, cli_user_enable, "let a user sign in again",
        NULL },
    { "user unlock", "USERNAME", 1, 1, 0, opt_none, cli_user_unlock,
        "clear a user's failed sign-ins (ends a lock or a wait)",
        "After login_free_failures failed sign-ins in a row each next try must wait (1 s,\n"
        "doubling up to login_max_delay); at login_lock_failures the name is locked for\n"
        "login_lock_time. Counts are kept for any name typed, so this also works for a name\n"
        "no user has yet." },
    { "user delete", "USERNAME", 1, 1, 0, opt_none, cli_user_delete,
        "delete a user (the sub is never reused)", NULL },
    { "client add", "CLIENT_ID", 1, 1, 0, opt_client_add, cli_client_add, "register a client",
        "A confidential client without --secret-stdin gets a generated 256-bit secret, printed\n"
        "once. LIST is comma- or space-separated. Redirect URIs must be absolute, without a\n"
        "fragment; https, or http on a loopback host; a private-use scheme (com.example.app:/cb)\n"
        "only for --public (native) clients." },
    { "client list", "", 0, 0, 0, opt_json, cli_client_list, "list clients", NULL },
    { "client show", "CLIENT_ID", 1, 1, 0, opt_json, cli_client_show, "show one client", NULL },
    { "client delete", "CLIENT_ID", 1, 1, 0, opt_none, cli_client_delete, "delete a client",
        NULL },
    { "client rotate-secret", "CLIENT_ID", 1, 1, 0, opt_rotate, cli_client_rotate_secret,
        "replace a confidential client's secret (printed once)", NULL },
    { "resource add", "IDENTIFIER", 1, 1, 0, opt_resource_add, cli_resource_add,
        "register an API that accepts gatehouse tokens (RFC 8707)",
        "IDENTIFIER is an absolute URI without a fragment (https://api.example/, urn:…); it\n"
        "becomes the aud of the access tokens issued for the API." },
    { "resource list", "", 0, 0, 0, opt_json, cli_resource_list, "list resources", NULL },
    { "resource show", "IDENTIFIER", 1, 1, 0, opt_json, cli_resource_show,
        "show a resource and the clients allowed to use it", NULL },
    { "resource delete", "IDENTIFIER", 1, 1, 0, opt_none, cli_resource_delete,
        "delete a resource (clients lose access to it)", NULL },
    { "resource allow", "IDENTIFIER CLIENT_ID", 2, 2, 0, opt_resource_allow, cli_resource_allow,
        "let a client obtain tokens for a resource", NULL },
    { "resource disallow", "IDENTIFIER CLIENT_ID", 2, 2, 0, opt_none, cli_resource_disallow,
        "stop a client obtaining tokens for a resource", NULL },
    { "issuer add", "ISSUER", 1, 1, 0, opt_issuer_add, cli_issuer_add,
        "trust an issuer's assertions for the JWT-bearer grant (RFC 7523)",
        "ISSUER is the iss its assertions carry (an https URL or another identifier; never\n"
        "this server's own issuer). Give its keys with exactly one of --jwks FILE (an inline\n"
        "JWKS: RSA or P-256 public keys) and --jwks-uri URL (https, or http to a loopback\n"
        "host; fetched by the server without redirects or proxies, within 3 s and 64 KiB,\n"
        "and cached). Each --client must be an existing confidential client; it may present\n"
        "the issuer's assertions about a user (the user's sub) or about itself, and needs the\n"
        "grant type urn:ietf:params:oauth:grant-type:jwt-bearer." },
    { "issuer list", "", 0, 0, 0, opt_json, cli_issuer_list, "list trusted issuers", NULL },
    { "issuer show", "ISSUER", 1, 1, 0, opt_json, cli_issuer_show, "show one trusted issuer",
        NULL },
    { "issuer disable", "ISSUER", 1, 1, 0, opt_none, cli_issuer_disable,
        "refuse an issuer's assertions (until enabled again)", NULL },
    { "issuer enable", "ISSUER", 1, 1, 0, opt_none, cli_issuer_enable,
        "accept a disabled issuer's assertions again", NULL },
    { "issuer delete", "ISSUER", 1, 1, 0, opt_none, cli_issuer_delete,
        "forget a trusted issuer", NULL },
    { "issuer allow", "ISSUER CLIENT_ID", 2, 2, 0, opt_none, cli_issuer_allow,
        "let a client present an issuer's assertions", NULL },
    { "issuer disallow", "ISSUER CLIENT_ID", 2, 2, 0, opt_none, cli_issuer_disallow,
        "stop a client presenting an issuer's assertions (at its next request)", NULL },
    { "token verify", "TOKEN", 1, 1, CFG_G_CLOCK, opt_token_verify, cli_token_verify,
        "verify an access token as a resource server would; print its claims",
        "A TOKEN of - is read from one line of standard input. Checks the signature against\n"
        "the key set (alg RS256, PS256 or ES256 and fitting the key its kid names),\n"
        "typ at+jwt, iss (default: --config's issuer, else the one init --issuer recorded),\n"
        "aud (with --audience), and exp, nbf and iat (allowing --clock-skew seconds, default\n"
        "30). A --jwks URL must be https, or http to a loopback host; it is fetched once,\n"
        "without proxies or redirects, within 5 s and 64 KiB. Exit 0 with the claims as JSON,\n"
        "or 1 with the reason the token is not valid. Revocation is not checked (POST\n"
        "/introspect does that)." },
    { "db check", "", 0, 0, 0, opt_none, cli_db_check,
        "check the database: SQLite's full integrity check, or for PostgreSQL the schema",
        "With SQLite: PRAGMA integrity_check over every page and index. With PostgreSQL: the\n"
        "schema version is this binary's and every table is present (pages and indexes are\n"
        "PostgreSQL's to check: data checksums, pg_amcheck). Exit 0 when it is ok." },
    { "migrate", "", 0, 0, CFG_G_HTTP, opt_migrate, cli_migrate,
        "copy a realm into an empty database (SQLite <-> PostgreSQL), verifying counts",
        "Copies every row of every table from one snapshot of --from into --to in one\n"
        "transaction, counts each table there before committing, and refuses a --to that\n"
        "holds any row. The realm secret and the private signing keys go with it: beside a\n"
        "SQLite database they are files in its keys directory (secret.key, <kid>.pem); in\n"
        "PostgreSQL they are sealed in the database under the key-encryption key\n"
        "(--kek-file, default kek.key in that side's keys directory; created for an empty\n"
        "destination). Users, client secrets, sessions, refresh tokens and keys stay valid.\n"
        "Stop the servers of the source first: writes after the snapshot are not copied.\n"
        "On any failure nothing is written (files made by the run are removed again)." },
    { "keys list", "", 0, 0, CFG_G_HTTP, opt_json, cli_keys_list,
        "list signing keys with their state (next, active, retired, removed) and dates",
        "A key is next (published in the JWKS, not signing), then active (signing), then\n"
        "retired (published, not signing), then removed (not published). The dates follow\n"
        "from cache_max_age, access_token_ttl and id_token_ttl: give the server's settings." },
    { "keys rotate", "", 0, 0, CFG_G_HTTP, opt_keys_rotate, cli_keys_rotate,
        "add a next key per alg; it signs after the JWKS cache lifetime",
        "The new key is published at once and signs from now + cache_max_age + 120 s, so\n"
        "verifiers caching the JWKS have it before they meet it; then the key it replaces\n"
        "is retired and stays published for max(access_token_ttl, id_token_ttl) plus\n"
        "max(300 s, clock_skew).\n"
        "A running server picks the key up within 60 s, or at once on SIGHUP." },
    { "keys retire", "KID", 1, 1, CFG_G_HTTP, opt_none, cli_keys_retire,
        "stop a key signing now; it stays published until its tokens expired",
        "Refused when no other key of its alg can sign now (rotate first and wait until the\n"
        "next key is active)." },
    { "keys generate", "", 0, 0, 0, opt_keygen, cli_keys_generate,
        "add a signing key that signs at once (prefer keys rotate)",
        "The key is active at once: verifiers with a cached JWKS do not know it yet. Use it\n"
        "to add an algorithm; rotate existing ones with keys rotate." },
    { "passwords calibrate", "", 0, 0, 0, opt_calibrate, cli_passwords_calibrate,
        "measure Argon2id here and suggest parameters", NULL },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
print_usage(FILE *f)
{
    fprintf(f, "usage: gatehouse [--db FILE] [--keys DIR] [--config FILE] COMMAND [ARGS]\n"
               "       gatehouse --help | --version\n\n"
               "gatehouse is an OAuth 2.0 / OpenID Connect provider. Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char left[64];
        snprintf(left, sizeof(left), "%s %s", commands[i].words, commands[i].args);
        fprintf(f, "  %-40s %s\n", left, commands[i].summary);
    }
    fprintf(f, "\n`gatehouse COMMAND --help` describes a command. Exit status: 0 success,\n"
               "1 failure, 2 usage error. Settings: flags over GATEHOUSE_* environment over\n"
               "the --config file over defaults; see docs/configuration.md.\n");
}

static void
print_cmd_help(const struct cli_cmd *c)
{
    printf("usage: gatehouse %s%s%s [OPTIONS]\n\n%s.\n", c->words, *c->args ? " " : "", c->args,
        c->summary);
    if (c->help)
        printf("\n%s\n", c->help);
    printf("\nOptions:\n");
    for (const struct cli_opt *o = c->opts; o && o->name; o++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
            o->metavar ? o->metavar : "");
        printf("  %-32s %s\n", left, o->help);
    }
    printf("  %-32s %s\n", "--help", "show this help");
    printf("\nSettings (flag, environment, config key):\n");
    cfg_print_flags(CFG_G_DATA | c->groups, stdout);
}

static const struct cli_opt *
find_opt(const struct cli_cmd *c, const char *name)
{
    for (const struct cli_opt *o = c->opts; o && o->name; o++) {
        if (strcmp(o->name, name) == 0)
            return o;
    }
    return NULL;
}

/* Find the command named by argv[i] (and argv[i+1]); *used gets how many words it took. */
static const struct cli_cmd *
find_cmd(int argc, char **argv, int i, int *used)
{
    for (size_t k = 0; k < NCOMMANDS; k++) {
        const char *w = commands[k].words, *sp = strchr(w, ' ');
        if (!sp) {
            if (strcmp(argv[i], w) == 0) {
                *used = 1;
                return &commands[k];
            }
        } else if (strlen(argv[i]) == (size_t)(sp - w) && strncmp(argv[i], w, (size_t)(sp - w)) == 0 &&
            i + 1 < argc && strcmp(argv[i + 1], sp + 1) == 0) {
            *used = 2;
            return &commands[k];
        }
    }
    return NULL;
}

static bool
is_group_word(const char *w)
{
    for (size_t k = 0; k < NCOMMANDS; k++) {
        const char *sp = strchr(commands[k].words, ' ');
        if (sp && strlen(w) == (size_t)(sp - commands[k].words) &&
            strncmp(w, commands[k].words, (size_t)(sp - commands[k].words)) == 0)
            return true;
    }
    return false;
}

/* "add, list, show" — the sub-commands of group, for one-line messages */
static void
group_words(const char *group, char *out, size_t outsz)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t k = 0; k < NCOMMANDS; k++) {
        const char *w = commands[k].words;
        if (str_has_prefix(w, group) && w[strlen(group)] == ' ' && o < outsz) {
            int n = snprintf(out + o, outsz - o, "%s%s", o ? ", " : "", w + strlen(group) + 1);
            o += n > 0 ? (size_t)n : 0;
        }
    }
}

struct pending {
    const char *key[CLI_MAX_ARGS];
    const char *val[CLI_MAX_ARGS];
    size_t n;
};

/* Split "--name=value" / "--name value". Returns the name in buf and the value (or NULL). */
static const char *
split_opt(char *arg, char *buf, size_t bufsz, char **inline_val)
{
    char *eq = strchr(arg + 2, '=');
    size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);

    *inline_val = eq ? eq + 1 : NULL;
    if (n >= bufsz)
        n = bufsz - 1;
    memcpy(buf, arg + 2, n);
    buf[n] = '\0';
    return buf;
}

int
cli_main(int argc, char **argv)
{
    static struct cli_ctx ctx; /* large; one per process */
    struct pending pend = { .n = 0 };
    char err[512];
    const char *cfgfile;
    int i = 1, used = 0, rc;
    bool opts_done = false, help = false;

    clock_init();
    /* the database holds password and secret hashes, keys/ private keys: nothing we create is
     * for other users (files 0600, directories 0700) */
    umask(077);
    memset(&ctx, 0, sizeof(ctx));
    /* leading data options: gatehouse --db X user list */
    while (i < argc && str_has_prefix(argv[i], "--") && strcmp(argv[i], "--") != 0) {
        char name[64], *val;
        const char *key;

        split_opt(argv[i], name, sizeof(name), &val);
        if (str_eq(name, "help") && !val) {
            print_usage(stdout);
            return CLI_OK;
        }
        if (str_eq(name, "version") && !val) {
            printf("gatehouse %s\n", GATEHOUSE_VERSION);
            return CLI_OK;
        }
        if (!(key = cfg_key_for_flag(name, CFG_G_DATA))) {
            report_line("gatehouse: unknown option '--%s' before the command (see gatehouse "
                        "--help)", name);
            return CLI_USAGE;
        }
        if (!val) {
            if (i + 1 >= argc) {
                report_line("gatehouse: option '--%s' needs a value", name);
                return CLI_USAGE;
            }
            val = argv[++i];
        }
        if (pend.n == CLI_MAX_ARGS)
            return CLI_USAGE;
        pend.key[pend.n] = key;
        pend.val[pend.n++] = val;
        i++;
    }
    if (i >= argc) {
        print_usage(stderr);
        return CLI_USAGE;
    }
    if (str_eq(argv[i], "help")) {
        print_usage(stdout);
        return CLI_OK;
    }
    if (!(ctx.cmd = find_cmd(argc, argv, i, &used))) {
        if (is_group_word(argv[i])) {
            char words[256];

            group_words(argv[i], words, sizeof(words));
            if (i + 1 < argc && (str_eq(argv[i + 1], "--help") || str_eq(argv[i + 1], "help"))) {
                printf("usage:\n");
                for (size_t k = 0; k < NCOMMANDS; k++) {
                    const char *w = commands[k].words;
                    if (str_has_prefix(w, argv[i]) && w[strlen(argv[i])] == ' ')
                        printf("  gatehouse %s %s\n", w, commands[k].args);
                }
                printf("`gatehouse %s COMMAND --help` describes one.\n", argv[i]);
                return CLI_OK;
            }
            if (i + 1 < argc)
                report_line("gatehouse %s: unknown command '%s' (commands: %s; see gatehouse %s "
                            "--help)", argv[i], argv[i + 1], words, argv[i]);
            else
                report_line("gatehouse %s: missing command (commands: %s; see gatehouse %s "
                            "--help)", argv[i], words, argv[i]);
        } else {
            report_line("gatehouse: unknown command '%s' (see gatehouse --help)", argv[i]);
        }
        return CLI_USAGE;
    }
    for (i += used; i < argc; i++) {
        char *a = argv[i], *val, name[64];
        const char *key;
        const struct cli_opt *o;

        /* options are --long only, so "-x" is an argument: a kid (base64url) may start with
         * '-'; one that starts with "--" goes after "--" */
        if (opts_done || !str_has_prefix(a, "--") || str_eq(a, "-")) {
            if (ctx.npos == CLI_MAX_ARGS || ctx.npos == ctx.cmd->max_pos)
                return cli_usage(&ctx, "unexpected argument '%s'", a);
            ctx.pos[ctx.npos++] = a;
            continue;
        }
        if (str_eq(a, "--")) {
            opts_done = true;
            continue;
        }
        split_opt(a, name, sizeof(name), &val);
        if (str_eq(name, "help")) {
            help = true;
            continue;
        }
        if ((o = find_opt(ctx.cmd, name))) {
            if (!o->metavar && val)
                return cli_usage(&ctx, "option '--%s' takes no value", name);
            if (o->metavar && !val) {
                if (i + 1 >= argc)
                    return cli_usage(&ctx, "option '--%s' needs a value", name);
                val = argv[++i];
            }
            if (ctx.nopt == CLI_MAX_ARGS)
                return cli_usage(&ctx, "too many options");
            ctx.opt_name[ctx.nopt] = o->name;
            ctx.opt_val[ctx.nopt++] = val;
            continue;
        }
        if ((key = cfg_key_for_flag(name, CFG_G_DATA | ctx.cmd->groups))) {
            if (!val) {
                if (i + 1 >= argc)
                    return cli_usage(&ctx, "option '--%s' needs a value", name);
                val = argv[++i];
            }
            if (pend.n == CLI_MAX_ARGS)
                return cli_usage(&ctx, "too many options");
            pend.key[pend.n] = key;
            pend.val[pend.n++] = val;
            continue;
        }
        return cli_usage(&ctx, "unknown option '--%s' (an argument that starts with \"--\" goes "
            "after --)", name);
    }
    if (help) {
        print_cmd_help(ctx.cmd);
        return CLI_OK;
    }
    if (ctx.npos < ctx.cmd->min_pos)
        return cli_usage(&ctx, "missing %s", ctx.cmd->args);

    /* settings: defaults < config file < environment < flags */
    cfg_defaults(&ctx.cfg);
    if (!str_eq(ctx.cmd->words, "serve"))
        ctx.cfg.log_level = LOG_WARN; /* keep command output clean unless asked */
    cfgfile = getenv("GATEHOUSE_CONFIG");
    for (size_t k = 0; k < pend.n; k++) {
        if (str_eq(pend.key[k], "config"))
            cfgfile = pend.val[k];
    }
    rc = CLI_FAIL;
    if (cfgfile && *cfgfile && cfg_load_file(&ctx.cfg, cfgfile, err, sizeof(err)) != GH_OK) {
        cli_fail(&ctx, "%s", err);
        goto out;
    }
    if (cfg_load_env(&ctx.cfg, CFG_G_DATA | ctx.cmd->groups, err, sizeof(err)) != GH_OK) {
        cli_fail(&ctx, "%s", err);
        goto out;
    }
    for (size_t k = 0; k < pend.n; k++) {
        if (cfg_set(&ctx.cfg, pend.key[k], pend.val[k], err, sizeof(err)) != GH_OK) {
            rc = cli_usage(&ctx, "--%s", err);
            goto out;
        }
    }
    if (cfg_validate(&ctx.cfg, err, sizeof(err)) != GH_OK) {
        cli_fail(&ctx, "%s", err);
        goto out;
    }
    log_set_level(ctx.cfg.log_level);
    /* a command that meets a storage fault says so in its one error line (cli_fail) */
    store_fault_log(ctx.cmd->run == cli_serve);
    json_set_alloc_funcs(x_malloc, free);
    /* opened for every command, before any thread: a command that changes something records
     * it there, and an audit log that cannot be opened stops the command before it acts */
    if (audit_open(ctx.cfg.audit_log, ctx.cmd->run == cli_serve, err, sizeof(err)) != GH_OK) {
        cli_fail(&ctx, "%s", err);
        goto out;
    }
    rc = ctx.cmd->run(&ctx);
    audit_close();
out:
    cfg_free(&ctx.cfg);
    return rc;
}

const char *
cli_opt(const struct cli_ctx *ctx, const char *name)
{
    const char *v = NULL;

    for (size_t i = 0; i < ctx->nopt; i++) {
        if (str_eq(ctx->opt_name[i], name))
            v = ctx->opt_val[i];
    }
    return v;
}

bool
cli_flag(const struct cli_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->nopt; i++) {
        if (str_eq(ctx->opt_name[i], name))
            return true;
    }
    return false;
}

size_t
cli_opt_all(const struct cli_ctx *ctx, const char *name, char **out, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < ctx->nopt && n < max; i++) {
        if (str_eq(ctx->opt_name[i], name))
            out[n++] = ctx->opt_val[i];
    }
    out[n] = NULL;
    return n;
}

/* Print one line on stderr. Anything echoed from the command line or a file may hold control
 * characters; they become '?' so an error can never fake further output lines. */
static void
vreport_line(const char *fmt, va_list ap)
{
    char msg[1024];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    for (char *p = msg; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
    fprintf(stderr, "%s\n", msg);
}

static void
report_line(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport_line(fmt, ap);
    va_end(ap);
}

int
cli_fail(const struct cli_ctx *ctx, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    /* the store failed because of its environment (locked, read-only, full...): that is what
     * went wrong, in words, rather than "storage error" */
    if (ctx->cmd->run != cli_serve && store_fault_now(msg, sizeof(msg)) != STORE_FAULT_NONE) {
        report_line("gatehouse %s: %s", ctx->cmd->words, msg);
        return CLI_FAIL;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report_line("gatehouse %s: %s", ctx->cmd->words, msg);
    return CLI_FAIL;
}

int
cli_usage(const struct cli_ctx *ctx, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report_line("gatehouse %s: %s (see gatehouse %s --help)", ctx->cmd->words, msg,
        ctx->cmd->words);
    return CLI_USAGE;
}

/* Read one line of at most max bytes from fd; the newline (and a CR before it) is dropped.
 * Longer lines are drained and rejected so nothing of an over-long secret is kept. */
static int
read_line(int fd, size_t max, char **out, size_t *len)
{
    char *buf = x_malloc(max + 2);
    size_t n = 0;
    bool toolong = false, eol = false, nul = false;

    while (!eol) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (c == '\n') {
            eol = true;
            break;
        }
        if (c == '\0')
            nul = true; /* a secret holds no NUL; refusing it also keeps str_wipe_free exact */
        if (n <= max)
            buf[n++] = c;
        else
            toolong = true;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (toolong || n > max || nul) {
        mem_wipe_free(buf, max + 2);
        return nul ? GH_EINVAL : GH_ETOOBIG;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return GH_OK;
}

static int
prompt_tty(int tty, const char *prompt, size_t max, char **out, size_t *len)
{
    struct termios old, noecho;
    int rc;

    if (tcgetattr(tty, &old) != 0)
        return GH_EIO;
    noecho = old;
    noecho.c_lflag &= ~(tcflag_t)ECHO;
    noecho.c_lflag |= ECHONL;
    /* echo off (dropping type-ahead) before the prompt appears, so nothing typed in answer to
     * it is ever echoed or discarded */
    if (tcsetattr(tty, TCSAFLUSH, &noecho) != 0)
        return GH_EIO;
    if (write(tty, prompt, strlen(prompt)) < 0) {
        tcsetattr(tty, TCSAFLUSH, &old);
        return GH_EIO;
    }
    rc = read_line(tty, max, out, len);
    tcsetattr(tty, TCSAFLUSH, &old);
    return rc;
}

int
cli_read_secret(bool from_stdin, const char *what, bool confirm, size_t max, char **out,
    size_t *len, const char **why)
{
    char *a = NULL, *b = NULL, prompt[96];
    size_t alen = 0, blen = 0;
    int tty = -1, rc;

    *out = NULL;
    *len = 0;
    if (from_stdin) {
        rc = read_line(STDIN_FILENO, max, &a, &alen);
    } else {
        if ((tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0 || !isatty(tty)) {
            *why = "no terminal to prompt on; use --password-stdin";
            if (tty >= 0)
                close(tty);
            return GH_EIO;
        }
        snprintf(prompt, sizeof(prompt), "New %s: ", what);
        rc = prompt_tty(tty, prompt, max, &a, &alen);
        if (rc == GH_OK && confirm) {
            snprintf(prompt, sizeof(prompt), "Repeat %s: ", what);
            rc = prompt_tty(tty, prompt, max, &b, &blen);
            if (rc == GH_OK && (alen != blen || !str_ct_eq(a, b, alen))) {
                *why = "the two entries differ";
                rc = GH_EINVAL;
            }
        }
        close(tty);
    }
    if (rc == GH_ETOOBIG)
        *why = "input is too long";
    else if (rc == GH_EINVAL && !*why)
        *why = "input contains a NUL byte";
    else if (rc == GH_EIO)
        *why = "cannot read the terminal";
    else if (rc == GH_OK && alen == 0) {
        *why = "input is empty";
        rc = GH_EINVAL;
    }
    str_wipe_free(b);
    if (rc != GH_OK) {
        str_wipe_free(a);
        return rc;
    }
    *out = a;
    *len = alen;
    return GH_OK;
}

void
cli_print_json(void *json)
{
    json_dumpf(json, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(json);
}

const char *
cli_time(long long t, char *buf, size_t bufsz)
{
    clock_fmt((int64_t)t, buf, bufsz);
    return buf;
}

void
cli_audit(const char *type, const char *sub, const char *client, ...)
{
    static const struct audit_src src = { .cli = true };
    va_list ap;

    va_start(ap, client);
    audit_eventv(&src, type, sub, client, ap);
    va_end(ap);
}

int
cli_app_open(const struct cli_ctx *ctx, struct app *app, unsigned flags)
{
    char err[512];

    if (app_open(app, &ctx->cfg, flags, err, sizeof(err)) != GH_OK)
        return cli_fail(ctx, "%s", err);
    return CLI_OK;
}
