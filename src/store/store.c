/* store.c — the storage front: picks a backend by DSN and forwards every call to its ops table
 * (STYLE.md §7). It knows no SQL and holds no state beyond the backend handle; the contracts
 * are in store.h. DSNs: "sqlite:FILE" or a plain path (SQLite); "postgresql://…" is reserved
 * for a PostgreSQL backend that does not exist yet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/store.h"
#include "store/store_impl.h"
#include "util/str.h"
#include "util/xmem.h"

struct store {
    const struct store_ops *ops;
    void *impl;
};

static void
set_err(char *err, size_t errsz, const char *msg)
{
    if (err && errsz)
        snprintf(err, errsz, "%s", msg);
}

/* "name://": anything that looks like a URL with a scheme we do not know is refused rather than
 * taken for a file name. */
static bool
looks_like_url(const char *dsn)
{
    const char *p = dsn;

    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return false;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.')
        p++;
    return str_has_prefix(p, "://");
}

int
store_open(const char *dsn, unsigned flags, struct store **out, char *err, size_t errsz)
{
    const struct store_ops *ops = NULL;
    const char *target = NULL;
    struct store *st = NULL;
    void *impl = NULL;
    int rc = GH_EINVAL;

    *out = NULL;
    set_err(err, errsz, "");
    if (!dsn || !*dsn) {
        set_err(err, errsz, "no database given");
        return GH_EINVAL;
    }
    if (str_has_prefix(dsn, "postgresql://") || str_has_prefix(dsn, "postgres://")) {
        set_err(err, errsz, "PostgreSQL support is not built in yet");
        return GH_EINVAL;
    }
    if (str_has_prefix(dsn, "sqlite:")) {
        ops = &store_sqlite_ops;
        target = dsn + strlen("sqlite:");
    } else if (looks_like_url(dsn)) {
        set_err(err, errsz, "unknown database type (use a file path or sqlite:FILE)");
        return GH_EINVAL;
    } else {
        ops = &store_sqlite_ops;
        target = dsn;
    }
    if (!*target) {
        set_err(err, errsz, "no database file given after sqlite:");
        return GH_EINVAL;
    }
    if ((rc = ops->open(target, flags, &impl, err, errsz)) != GH_OK)
        return rc;
    st = x_calloc(1, sizeof(*st));
    st->ops = ops;
    st->impl = impl;
    *out = st;
    return GH_OK;
}

void
store_close(struct store *st)
{
    if (!st)
        return;
    st->ops->close(st->impl);
    free(st);
}

int
store_schema_version(struct store *st, int *current, int *supported)
{
    return st->ops->schema_version(st->impl, current, supported);
}

int
store_check(struct store *st, bool full, char **report)
{
    *report = NULL;
    return st->ops->check(st->impl, full, report);
}

int
store_meta_get(struct store *st, const char *name, char **value)
{
    *value = NULL;
    return st->ops->meta_get(st->impl, name, value);
}

int
store_meta_set(struct store *st, const char *name, const char *value)
{
    return st->ops->meta_set(st->impl, name, value);
}

int
store_user_add(struct store *st, const struct user *u)
{
    return st->ops->user_add(st->impl, u);
}

int
store_user_get(struct store *st, const char *username, struct user **out)
{
    *out = NULL;
    return st->ops->user_get(st->impl, username, out);
}

int
store_user_get_by_sub(struct store *st, const char *sub, struct user **out)
{
    *out = NULL;
    return st->ops->user_get_by_sub(st->impl, sub, out);
}

int
store_user_list(struct store *st, struct user ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    return st->ops->user_list(st->impl, out, n);
}

int
store_user_set_password(struct store *st, const char *username, const char *hash, int64_t now)
{
    return st->ops->user_set_password(st->impl, username, hash, now);
}

int
store_user_set_disabled(struct store *st, const char *username, bool disabled, int64_t now)
{
    return st->ops->user_set_disabled(st->impl, username, disabled, now);
}

int
store_user_delete(struct store *st, const char *username)
{
    return st->ops->user_delete(st->impl, username);
}

int
store_client_add(struct store *st, const struct client *c)
{
    return st->ops->client_add(st->impl, c);
}

int
store_client_get(struct store *st, const char *client_id, struct client **out)
{
    *out = NULL;
    return st->ops->client_get(st->impl, client_id, out);
}

int
store_client_list(struct store *st, struct client ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    return st->ops->client_list(st->impl, out, n);
}

int
store_client_set_secret(struct store *st, const char *client_id, const unsigned char hash[32],
    const unsigned char *sealed, size_t sealed_len, int64_t now)
{
    return st->ops->client_set_secret(st->impl, client_id, hash, sealed, sealed_len, now);
}

int
store_client_delete(struct store *st, const char *client_id)
{
    return st->ops->client_delete(st->impl, client_id);
}

int
store_key_add(struct store *st, const char *kid, const char *alg, int64_t created_at)
{
    return st->ops->key_add(st->impl, kid, alg, created_at);
}

int
store_key_list(struct store *st, struct key_meta **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    return st->ops->key_list(st->impl, out, n);
}

void
store_key_list_free(struct key_meta *list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++) {
        free(list[i].kid);
        free(list[i].alg);
    }
    free(list);
}
