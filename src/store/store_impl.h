/* store_impl.h — the backend ops table (STYLE.md §7). Only store.c and store_*.c include this.
 * A backend implements every entry; store.c picks the table by DSN and forwards calls
 * unchanged, so the contracts are the ones in store.h. `impl` is the backend's own handle.
 * Backends log GH_ESTORE failures themselves (once) and never log GH_EEXIST/GH_ENOTFOUND. */
#ifndef GH_STORE_STORE_IMPL_H
#define GH_STORE_STORE_IMPL_H

#include "store/store.h"

struct store_ops {
    const char *scheme; /* "sqlite", later "postgres" */
    /* target is the DSN without its scheme prefix (for sqlite: the file path). */
    int  (*open)(const char *target, unsigned flags, void **impl, char *err, size_t errsz);
    void (*close)(void *impl);
    int  (*schema_version)(void *impl, int *current, int *supported);
    int  (*check)(void *impl, bool full, char **report);

    int  (*meta_get)(void *impl, const char *name, char **value);
    int  (*meta_set)(void *impl, const char *name, const char *value);

    int  (*user_add)(void *impl, const struct user *u);
    int  (*user_get)(void *impl, const char *username, struct user **out);
    int  (*user_get_by_sub)(void *impl, const char *sub, struct user **out);
    int  (*user_list)(void *impl, struct user ***out, size_t *n);
    int  (*user_set_password)(void *impl, const char *username, const char *hash, int64_t now);
    int  (*user_set_disabled)(void *impl, const char *username, bool disabled, int64_t now);
    int  (*user_delete)(void *impl, const char *username);

    int  (*client_add)(void *impl, const struct client *c);
    int  (*client_get)(void *impl, const char *client_id, struct client **out);
    int  (*client_list)(void *impl, struct client ***out, size_t *n);
    int  (*client_set_secret)(void *impl, const char *client_id, const unsigned char *hash,
             const unsigned char *sealed, size_t sealed_len, int64_t now);
    int  (*client_delete)(void *impl, const char *client_id);

    int  (*key_add)(void *impl, const char *kid, const char *alg, int64_t created_at);
    int  (*key_list)(void *impl, struct key_meta **out, size_t *n);
};

extern const struct store_ops store_sqlite_ops;

#endif
