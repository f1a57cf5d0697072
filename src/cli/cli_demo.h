/* cli_demo.h — demo mode's data (cli_demo.c), shared by `init --demo` and `serve --demo`. */
#ifndef GH_CLI_CLI_DEMO_H
#define GH_CLI_CLI_DEMO_H

#include <stdbool.h>

struct app;
struct cli_ctx;

#define DEMO_USERNAME "demo"
/* The issuer `make run` serves as (serve's default for --listen 127.0.0.1:8080), for
 * `init --demo` when no issuer is given, configured or recorded. */
#define DEMO_DEFAULT_ISSUER "http://127.0.0.1:8080"

struct cli_demo {
    char *password;        /* the demo user's password (wipe: str_wipe_free) */
    char file[4096];       /* where it is kept: the database path with .db -> .demo */
    bool user_made;        /* the user was created now */
    bool password_reset;   /* the kept password was missing or stale: a new one was set */
    bool client_changed;   /* the client was created or re-registered now */
};

/* Make sure the demo user and the demo app's client exist and fit issuer:
 * - user "demo" with the password kept in d->file (a 0600 file beside the database), created
 *   with a random password when absent, and given a new one when the file is missing or no
 *   longer matches;
 * - the public client "demo-app" (PKCE, auth method none) with the redirect URI
 *   <issuer>/demo/callback and the post-logout redirect URI <issuer>/demo, re-registered when
 *   it differs (an older `init --demo` made it confidential with another redirect URI).
 * A user or client of that name that demo mode did not create is never touched: CLI_FAIL with
 * one line saying so. Nothing is written when everything already fits. CLI_OK fills d
 * (release with cli_demo_clear); CLI_FAIL has printed the reason. */
int  cli_demo_ensure(const struct cli_ctx *ctx, struct app *app, const char *issuer,
         struct cli_demo *d);
void cli_demo_clear(struct cli_demo *d);

#endif
