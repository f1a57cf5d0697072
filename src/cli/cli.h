/* cli.h — the admin command line: one table of commands (cli.c), each command in
 * cli_<area>.c. Exit status: 0 success, 1 failure (one line on stderr), 2 usage error. */
#ifndef GH_CLI_CLI_H
#define GH_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cfg.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

#define GATEHOUSE_VERSION "0.1.0"   /* --version, gatehouse_build_info */
#define CLI_MAX_ARGS 64

struct cli_opt {
    const char *name;      /* without dashes; NULL ends a table */
    const char *metavar;   /* NULL for a plain switch */
    const char *help;
};

struct cli_ctx;

struct cli_cmd {
    const char *words;           /* "user add" */
    const char *args;            /* "USERNAME" (usage text) */
    size_t min_pos, max_pos;     /* positional arguments */
    unsigned groups;             /* settings accepted as flags (enum cfg_group), besides data */
    const struct cli_opt *opts;  /* command options, or NULL */
    int (*run)(struct cli_ctx *ctx);
    const char *summary;         /* one line for `gatehouse --help` */
    const char *help;            /* paragraph for `gatehouse <cmd> --help`, or NULL */
};

struct cli_ctx {
    const struct cli_cmd *cmd;
    struct cfg cfg;
    const char *pos[CLI_MAX_ARGS];       /* positional arguments */
    size_t npos;
    const char *opt_name[CLI_MAX_ARGS];  /* command options in order given (may repeat) */
    char *opt_val[CLI_MAX_ARGS];         /* value (an argv string), or NULL for a switch */
    size_t nopt;
};

int  cli_main(int argc, char **argv);

/* Option access: the last value of --name, or NULL; whether a switch was given; all values of a
 * repeatable option (NULL-terminated array in out, at most max entries). */
const char *cli_opt(const struct cli_ctx *ctx, const char *name);
bool cli_flag(const struct cli_ctx *ctx, const char *name);
size_t cli_opt_all(const struct cli_ctx *ctx, const char *name, char **out, size_t max);

/* Print "gatehouse <words>: <message>" on stderr; return CLI_FAIL / CLI_USAGE. */
int  cli_fail(const struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int  cli_usage(const struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Read a secret: from_stdin reads one line from stdin; otherwise prompt on the terminal without
 * echo (twice when confirm). At most max bytes; longer input is GH_ETOOBIG without keeping it.
 * *out is wiped+freed by the caller (str_wipe_free). GH_OK, GH_ETOOBIG, GH_EINVAL (empty or
 * mismatched), GH_EIO (no terminal). *why set on error. */
int  cli_read_secret(bool from_stdin, const char *what, bool confirm, size_t max, char **out,
         size_t *len, const char **why);

/* An audit event of a command that changed something (core/audit.h; "ip":"cli" and the
 * operator's uid and name): key/value string pairs ended by NULL, as for audit_event. */
void cli_audit(const char *type, const char *sub, const char *client, ...)
    __attribute__((sentinel));

struct app;
/* app_open() for a command; prints the reason and returns CLI_FAIL on failure. */
int  cli_app_open(const struct cli_ctx *ctx, struct app *app, unsigned flags);

/* Print a JSON value (new reference, consumed) on stdout, indented, with a newline. */
void cli_print_json(void *json /* json_t * */);
/* RFC 3339 UTC text for t, in a static-free caller buffer of >= 32 bytes. */
const char *cli_time(long long t, char *buf, size_t bufsz);

/* The commands (cli_db.c: init, db check; cli_serve.c, cli_user.c, cli_client.c, cli_key.c, cli_pw.c). */
int cli_init(struct cli_ctx *ctx);
int cli_serve(struct cli_ctx *ctx);
int cli_db_check(struct cli_ctx *ctx);
int cli_migrate(struct cli_ctx *ctx);
int cli_user_add(struct cli_ctx *ctx);
int cli_user_list(struct cli_ctx *ctx);
int cli_user_show(struct cli_ctx *ctx);
int cli_user_passwd(struct cli_ctx *ctx);
int cli_user_disable(struct cli_ctx *ctx);
int cli_user_enable(struct cli_ctx *ctx);
int cli_user_unlock(struct cli_ctx *ctx);
int cli_user_delete(struct cli_ctx *ctx);
int cli_client_add(struct cli_ctx *ctx);
int cli_client_list(struct cli_ctx *ctx);
int cli_client_show(struct cli_ctx *ctx);
int cli_client_delete(struct cli_ctx *ctx);
int cli_client_rotate_secret(struct cli_ctx *ctx);
int cli_keys_list(struct cli_ctx *ctx);
int cli_keys_generate(struct cli_ctx *ctx);
int cli_keys_rotate(struct cli_ctx *ctx);
int cli_keys_retire(struct cli_ctx *ctx);
int cli_passwords_calibrate(struct cli_ctx *ctx);
int cli_resource_add(struct cli_ctx *ctx);
int cli_resource_list(struct cli_ctx *ctx);
int cli_resource_show(struct cli_ctx *ctx);
int cli_resource_delete(struct cli_ctx *ctx);
int cli_resource_allow(struct cli_ctx *ctx);
int cli_resource_disallow(struct cli_ctx *ctx);
int cli_token_verify(struct cli_ctx *ctx);
int cli_issuer_add(struct cli_ctx *ctx);
int cli_issuer_list(struct cli_ctx *ctx);
int cli_issuer_show(struct cli_ctx *ctx);
int cli_issuer_disable(struct cli_ctx *ctx);
int cli_issuer_enable(struct cli_ctx *ctx);
int cli_issuer_delete(struct cli_ctx *ctx);
int cli_issuer_allow(struct cli_ctx *ctx);
int cli_issuer_disallow(struct cli_ctx *ctx);

#endif
