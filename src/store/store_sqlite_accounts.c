/* store_sqlite_accounts.c — users and clients in the SQLite backend (store_impl.h ops).
 * Helpers and transactions: store_sqlite.c; what they share: store_sqlite_int.h. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/err.h"
#include "core/log.h"
#include "model/client.h"
#include "model/user.h"
#include "store/store.h"
#include "store/store_sqlite_int.h"
#include "util/str.h"
#include "util/xmem.h"

#define URI_REDIRECT    0           /* client_uris.kind */
#define URI_POST_LOGOUT 1

/* --- users ------------------------------------------------------------------------------- */

/* A users row (USER_COLS) into a new struct user at slot (struct user **): the sq_list reader,
 * used by the single-row reads too. */
static int
row_user(struct sq *b, sqlite3_stmt *s, const char *op, void *slot)
{
    struct user *u = x_calloc(1, sizeof(*u));

    (void)b;
    (void)op;
    u->sub = sq_col_str(s, 0);
    u->username = sq_col_str(s, 1);
    u->email = sq_col_str(s, 2);
    u->name = sq_col_str(s, 3);
    u->password_hash = sq_col_str(s, 4);
    u->disabled = sqlite3_column_int(s, 5) != 0;
    u->created_at = sqlite3_column_int64(s, 6);
    u->updated_at = sqlite3_column_int64(s, 7);
    *(struct user **)slot = u;
    return GH_OK;
}

static const struct sq_rows user_rows = { &store_elems_user, false, row_user };

int
sq_user_add(void *impl, const struct user *u)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, Q_USER_ADD, "user_add", false, &s)) != GH_OK)
        return rc;
    sq_bind_text(s, 1, u->sub, &brc);
    sq_bind_text(s, 2, u->username, &brc);
    sq_bind_text(s, 3, u->email, &brc);
    sq_bind_text(s, 4, u->name, &brc);
    sq_bind_text(s, 5, u->password_hash, &brc);
    sq_bind_int(s, 6, u->disabled ? 1 : 0, &brc);
    sq_bind_int(s, 7, u->created_at, &brc);
    sq_bind_int(s, 8, u->updated_at, &brc);
    return sq_write_commit(b, s, brc, "user_add", false);
}

static int
user_get_by(struct sq *b, enum q_id id, const char *key, struct user **out, const char *op)
{
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = sq_prep(b, id, op, &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, key, &brc);
    if ((rc = sq_bound(b, op, brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_row(b, s, op)) != GH_OK)
        goto out;
    rc = row_user(b, s, op, out);
out:
    sq_done(s);
    return rc;
}

int
sq_user_get(void *impl, const char *username, struct user **out)
{
    return user_get_by(impl, Q_USER_GET, username, out, "user_get");
}

int
sq_user_get_by_sub(void *impl, const char *sub, struct user **out)
{
    return user_get_by(impl, Q_USER_GET_BY_SUB, sub, out, "user_get_by_sub");
}

int
sq_user_list(void *impl, struct user ***out, size_t *n)
{
    void *list = NULL;
    int rc = sq_list(impl, Q_USER_LIST, "user_list", NULL, &user_rows, &list, n);

    *out = list;
    return rc;
}

/* One UPDATE/DELETE of a user row by username in its own write transaction;
 * GH_ENOTFOUND when no row matched. */
static int
user_write(struct sq *b, enum q_id id, const char *op, const char *username, bool with_text,
    const char *text, int64_t num, int64_t now)
{
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, id, op, false, &s)) != GH_OK)
        return rc;
    sq_bind_text(s, 1, username, &brc);
    if (id != Q_USER_DELETE) {
        if (with_text)
            sq_bind_text(s, 2, text, &brc);
        else
            sq_bind_int(s, 2, num, &brc);
        sq_bind_int(s, 3, now, &brc);
    }
    return sq_write_commit(b, s, brc, op, true);
}

int
sq_user_set_password(void *impl, const char *username, const char *hash, int64_t now)
{
    return user_write(impl, Q_USER_SET_PASSWORD, "user_set_password", username, true, hash, 0,
        now);
}

int
sq_user_set_disabled(void *impl, const char *username, bool disabled, int64_t now)
{
    return user_write(impl, Q_USER_SET_DISABLED, "user_set_disabled", username, false, NULL,
        disabled ? 1 : 0, now);
}

/* The users_retire_sub trigger records the sub in the same transaction. */
int
sq_user_delete(void *impl, const char *username)
{
    return user_write(impl, Q_USER_DELETE, "user_delete", username, false, NULL, 0, 0);
}

/* --- clients ----------------------------------------------------------------------------- */

/* A client row (CLIENT_COLS) into a new struct client without URIs; *id gets the row id.
 * GH_ESTORE for a row this build cannot have written. */
static int
row_client(sqlite3_stmt *s, const char *op, struct client **out, int64_t *id)
{
    struct client *c = x_calloc(1, sizeof(*c));
    const void *blob;
    int n, rc = GH_ESTORE;

    *out = NULL;
    *id = sqlite3_column_int64(s, 0);
    c->client_id = sq_col_str(s, 1);
    c->name = sq_col_str(s, 2);
    c->is_public = sqlite3_column_int(s, 3) != 0;
    if (!sqlite3_column_text(s, 4) ||
        client_auth_parse((const char *)sqlite3_column_text(s, 4), &c->auth_method) != GH_OK) {
        log_err("store_error", "op=%s rc=0 msg=\"client row %lld: unknown auth_method\"", op,
            (long long)*id);
        goto out;
    }
    c->grant_types = store_split_spaces((const char *)sqlite3_column_text(s, 5));
    c->scopes = store_split_spaces((const char *)sqlite3_column_text(s, 6));
    c->jwks = sq_col_str(s, 7);
    blob = sqlite3_column_blob(s, 8);
    n = sqlite3_column_bytes(s, 8);
    if (blob) {
        if (n != (int)sizeof(c->secret_hash)) {
            log_err("store_error", "op=%s rc=0 msg=\"client row %lld: bad secret_hash\"", op,
                (long long)*id);
            goto out;
        }
        memcpy(c->secret_hash, blob, sizeof(c->secret_hash));
        c->has_secret = true;
    }
    blob = sqlite3_column_blob(s, 9);
    n = sqlite3_column_bytes(s, 9);
    if (blob && n > 0) {
        c->secret_sealed = x_malloc((size_t)n);
        memcpy(c->secret_sealed, blob, (size_t)n);
        c->secret_sealed_len = (size_t)n;
    }
    c->created_at = sqlite3_column_int64(s, 10);
    c->updated_at = sqlite3_column_int64(s, 11);
    c->consent = sqlite3_column_int(s, 12) != 0;
    c->pkce_required = sqlite3_column_int(s, 13) != 0;
    c->signing_alg = sq_col_str(s, 14);
    c->jwks_uri = sq_col_str(s, 15);
    if (!client_signing_alg_ok(c->signing_alg)) {
        log_err("store_error", "op=%s rc=0 msg=\"client row %lld: unknown signing_alg\"", op,
            (long long)*id);
        goto out;
    }
    *out = c;
    c = NULL;
    rc = GH_OK;
out:
    client_free(c);
    return rc;
}

/* Load the URI lists of client row id into c. */
static int
load_uris(struct sq *b, int64_t id, struct client *c, const char *op)
{
    struct store_strvec redir = { 0 }, logout = { 0 };
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc, src;

    if ((rc = sq_prep(b, Q_CLIENT_URIS, op, &s)) != GH_OK)
        goto out;
    sq_bind_int(s, 1, id, &brc);
    if ((rc = sq_bound(b, op, brc)) != GH_OK)
        goto out;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *uri = (const char *)sqlite3_column_text(s, 1);
        if (!uri)
            continue;
        store_strvec_push(sqlite3_column_int(s, 0) == URI_POST_LOGOUT ? &logout : &redir, uri);
    }
    if (src != SQLITE_DONE) {
        rc = sq_fail(b, op, src);
        goto out;
    }
    str_list_free(c->redirect_uris);
    str_list_free(c->post_logout_redirect_uris);
    c->redirect_uris = store_strvec_take(&redir);
    c->post_logout_redirect_uris = store_strvec_take(&logout);
out:
    sq_done(s);
    str_list_free(redir.v);
    str_list_free(logout.v);
    return rc;
}

int
sq_client_add(void *impl, const struct client *c)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    char *grants = NULL, *scopes = NULL;
    const char *method = client_auth_name(c->auth_method);
    int64_t id;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_tx_write(b, "client_add")) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, Q_CLIENT_ADD, "client_add", &s)) != GH_OK)
        goto out;
    grants = str_list_join(c->grant_types, " ");
    scopes = str_list_join(c->scopes, " ");
    sq_bind_text(s, 1, c->client_id, &brc);
    sq_bind_text(s, 2, c->name, &brc);
    sq_bind_int(s, 3, c->is_public ? 1 : 0, &brc);
    sq_bind_text(s, 4, method, &brc);
    sq_bind_text(s, 5, grants, &brc);
    sq_bind_text(s, 6, scopes, &brc);
    sq_bind_text(s, 7, c->jwks, &brc);
    sq_bind_blob(s, 8, c->has_secret ? c->secret_hash : NULL, sizeof(c->secret_hash), &brc);
    sq_bind_blob(s, 9, c->secret_sealed, c->secret_sealed_len, &brc);
    sq_bind_int(s, 10, c->created_at, &brc);
    sq_bind_int(s, 11, c->updated_at, &brc);
    sq_bind_int(s, 12, c->consent ? 1 : 0, &brc);
    sq_bind_int(s, 13, c->pkce_required ? 1 : 0, &brc);
    sq_bind_text(s, 14, c->signing_alg ? c->signing_alg : client_signing_algs[0], &brc);
    sq_bind_text(s, 15, c->jwks_uri, &brc);
    if ((rc = sq_bound(b, "client_add", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_done(b, s, "client_add")) != GH_OK)
        goto out;
    id = sqlite3_last_insert_rowid(b->db);
    sq_done(s);
    s = NULL;
    if ((rc = sq_prep(b, Q_CLIENT_URI_ADD, "client_add", &s)) != GH_OK)
        goto out;
    for (int kind = URI_REDIRECT; kind <= URI_POST_LOGOUT; kind++) {
        char *const *uris = kind == URI_REDIRECT ? c->redirect_uris
                                                 : c->post_logout_redirect_uris;
        for (size_t i = 0; uris && uris[i]; i++) {
            sq_bind_int(s, 1, id, &brc);
            sq_bind_int(s, 2, kind, &brc);
            sq_bind_int(s, 3, (int64_t)i, &brc);
            sq_bind_text(s, 4, uris[i], &brc);
            if ((rc = sq_bound(b, "client_add", brc)) != GH_OK)
                goto out;
            if ((rc = sq_step_done(b, s, "client_add")) != GH_OK)
                goto out;
            sq_done(s);
        }
    }
    sq_done(s);
    s = NULL;
    rc = sq_tx_commit(b, "client_add");
out:
    sq_done(s);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    free(grants);
    free(scopes);
    return rc;
}

int
sq_client_get(void *impl, const char *client_id, struct client **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct client *c = NULL;
    int64_t id = 0;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = sq_tx_read(b, "client_get")) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, Q_CLIENT_GET, "client_get", &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, client_id, &brc);
    if ((rc = sq_bound(b, "client_get", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_row(b, s, "client_get")) != GH_OK)
        goto out;
    if ((rc = row_client(s, "client_get", &c, &id)) != GH_OK)
        goto out;
    sq_done(s);
    s = NULL;
    if ((rc = load_uris(b, id, c, "client_get")) != GH_OK)
        goto out;
    if ((rc = sq_tx_commit(b, "client_get")) != GH_OK)
        goto out;
    *out = c;
    c = NULL;
out:
    sq_done(s);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    client_free(c);
    return rc;
}

/* sq_list reader: a client row with its URIs into slot (struct client **). */
static int
row_client_uris(struct sq *b, sqlite3_stmt *s, const char *op, void *slot)
{
    struct client **c = slot;
    int64_t id = 0;
    int rc;

    if ((rc = row_client(s, op, c, &id)) != GH_OK)
        return rc;
    return load_uris(b, id, *c, op);
}

static const struct sq_rows client_rows = { &store_elems_client, true, row_client_uris };

int
sq_client_list(void *impl, struct client ***out, size_t *n)
{
    void *list = NULL;
    int rc = sq_list(impl, Q_CLIENT_LIST, "client_list", NULL, &client_rows, &list, n);

    *out = list;
    return rc;
}

int
sq_client_set_secret(void *impl, const char *client_id, const unsigned char *hash,
    const unsigned char *sealed, size_t sealed_len, int64_t now)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, Q_CLIENT_SET_SECRET, "client_set_secret", false, &s)) != GH_OK)
        return rc;
    sq_bind_text(s, 1, client_id, &brc);
    sq_bind_blob(s, 2, hash, 32, &brc);
    sq_bind_blob(s, 3, sealed, sealed_len, &brc);
    sq_bind_int(s, 4, now, &brc);
    return sq_write_commit(b, s, brc, "client_set_secret", true);
}

/* client_uris rows go with it (ON DELETE CASCADE; foreign_keys is on for every connection). */
int
sq_client_delete(void *impl, const char *client_id)
{
    return sq_write_keyed(impl, Q_CLIENT_DELETE, "client_delete", NULL, client_id, 0);
}
