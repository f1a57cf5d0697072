/* store.h — what the rest of gatehouse sees of storage (STYLE.md §7). An opaque handle per
 * thread; the backend is chosen by the DSN ("./gatehouse.db" or "sqlite:FILE" today, a
 * "postgresql://" backend can sit beside it). Every function returns GH_OK or a negative
 * gh_err; GH_ESTORE means the backend failed (logged once, where it happened). */
#ifndef GH_STORE_STORE_H
#define GH_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/client.h"
#include "model/user.h"

struct store;

enum store_flags {
    STORE_CREATE = 1,     /* create the database when it does not exist */
    STORE_READONLY = 2,   /* open for reading only; never migrates */
    STORE_WORKER = 4,     /* one more handle on a database this process already opened and
                           * checked: no quick_check (it reads the whole file), no migration */
};

/* Open dsn, apply PRAGMAs, check it (quick_check) and migrate an older schema. A schema newer
 * than this build, a missing file (without STORE_CREATE), a corrupt or unwritable database:
 * GH_ESTORE / GH_ENOTFOUND / GH_EINVAL with one line for the operator in err. */
int  store_open(const char *dsn, unsigned flags, struct store **out, char *err, size_t errsz);
void store_close(struct store *st);   /* NULL is a no-op */
int  store_schema_version(struct store *st, int *current, int *supported);
/* PRAGMA integrity_check (full) or quick_check; *report gets "ok" or the findings (caller frees). */
int  store_check(struct store *st, bool full, char **report);

/* Realm settings (e.g. the issuer recorded by `gatehouse init`). get: GH_ENOTFOUND if unset. */
int  store_meta_get(struct store *st, const char *name, char **value);
int  store_meta_set(struct store *st, const char *name, const char *value);

/* Users. Usernames are compared case-insensitively (callers pass them normalised). */
int  store_user_add(struct store *st, const struct user *u);   /* GH_EEXIST: username or sub taken/retired */
int  store_user_get(struct store *st, const char *username, struct user **out);
int  store_user_get_by_sub(struct store *st, const char *sub, struct user **out);
int  store_user_list(struct store *st, struct user ***out, size_t *n);  /* ordered by username */
int  store_user_set_password(struct store *st, const char *username, const char *hash, int64_t now);
int  store_user_set_disabled(struct store *st, const char *username, bool disabled, int64_t now);
int  store_user_delete(struct store *st, const char *username);  /* its sub is retired forever */

/* Clients, with their redirect URIs, written in one transaction. */
int  store_client_add(struct store *st, const struct client *c);  /* GH_EEXIST */
int  store_client_get(struct store *st, const char *client_id, struct client **out);
int  store_client_list(struct store *st, struct client ***out, size_t *n); /* ordered by client_id */
int  store_client_set_secret(struct store *st, const char *client_id,
         const unsigned char hash[32], const unsigned char *sealed, size_t sealed_len, int64_t now);
int  store_client_delete(struct store *st, const char *client_id);

/* Signing keys: which key files are part of the realm. */
struct key_meta {
    char *kid;
    char *alg;          /* "RS256" / "ES256" */
    int64_t created_at;
};
int  store_key_add(struct store *st, const char *kid, const char *alg, int64_t created_at);
int  store_key_list(struct store *st, struct key_meta **out, size_t *n);  /* oldest first */
void store_key_list_free(struct key_meta *list, size_t n);

#endif
