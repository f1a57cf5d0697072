/* store_pg_accounts.c — users and clients in the PostgreSQL backend (store_impl.h ops).
 * Helpers and transactions: store_pg.c; what they share: store_pg_int.h. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/err.h"
#include "core/log.h"
#include "model/client.h"
#include "model/user.h"
#include "store/store.h"
#include "store/store_pg_int.h"
#include "util/str.h"
#include "util/xmem.h"

#define URI_REDIRECT    0           /* client_uris.kind */
#define URI_POST_LOGOUT 1

/* --- users ------------------------------------------------------------------------------- */

/* A users row (USER_COLS) into a new struct user at slot (struct user **): the pg_list reader,
 * used by the single-row reads too. */
static int
row_user(struct pg *b, const PGresult *r, int i, const char *op, void *slot)
{
    struct user *u = x_calloc(1, sizeof(*u));

    (void)b;
    (void)op;
    u->sub = pg_str(r, i, 0);
    u->username = pg_str(r, i, 1);
    u->email = pg_str(r, i, 2);
    u->name = pg_str(r, i, 3);
    u->password_hash = pg_str(r, i, 4);
    u->disabled = pg_int(r, i, 5) != 0;
    u->created_at = pg_int(r, i, 6);
    u->updated_at = pg_int(r, i, 7);
    *(struct user **)slot = u;
    return GH_OK;
}

static const struct pg_rows user_rows = { &store_elems_user, false, row_user };

/* The retired-sub trigger raises unique_violation: GH_EEXIST like a taken username. */
int
pg_user_add(void *impl, const struct user *u)
{
    struct pgp p = { 0 };

    pgp_text(&p, u->sub);
    pgp_text(&p, u->username);
    pgp_text(&p, u->email);
    pgp_text(&p, u->name);
    pgp_text(&p, u->password_hash);
    pgp_int(&p, u->disabled ? 1 : 0);
    pgp_int(&p, u->created_at);
    pgp_int(&p, u->updated_at);
    return pg_write1(impl, P_USER_ADD, "user_add", &p, false);
}

static int
user_get_by(struct pg *b, enum pq_id id, const char *key, struct user **out, const char *op)
{
    struct pgp p = { 0 };
    PGresult *r = NULL;
    int rc;

    *out = NULL;
    pgp_text(&p, key);
    if ((rc = pg_row(b, id, op, &p, &r)) == GH_OK)
        rc = row_user(b, r, 0, op, out);
    PQclear(r);
    return rc;
}

int
pg_user_get(void *impl, const char *username, struct user **out)
{
    return user_get_by(impl, P_USER_GET, username, out, "user_get");
}

int
pg_user_get_by_sub(void *impl, const char *sub, struct user **out)
{
    return user_get_by(impl, P_USER_GET_BY_SUB, sub, out, "user_get_by_sub");
}

int
pg_user_list(void *impl, struct user ***out, size_t *n)
{
    void *list = NULL;
    int rc = pg_list(impl, P_USER_LIST, "user_list", NULL, &user_rows, &list, n);

    *out = list;
    return rc;
}

int
pg_user_set_password(void *impl, const char *username, const char *hash, int64_t now)
{
    struct pgp p = { 0 };

    pgp_text(&p, username);
    pgp_text(&p, hash);
    pgp_int(&p, now);
    return pg_write1(impl, P_USER_SET_PASSWORD, "user_set_password", &p, true);
}

int
pg_user_set_disabled(void *impl, const char *username, bool disabled, int64_t now)
{
    struct pgp p = { 0 };

    pgp_text(&p, username);
    pgp_int(&p, disabled ? 1 : 0);
    pgp_int(&p, now);
    return pg_write1(impl, P_USER_SET_DISABLED, "user_set_disabled", &p, true);
}

/* One statement: the triggers (retire the sub, delete the grants) and the cascades run
 * inside it. */
int
pg_user_delete(void *impl, const char *username)
{
    struct pgp p = { 0 };

    pgp_text(&p, username);
    return pg_write1(impl, P_USER_DELETE, "user_delete", &p, true);
}

/* --- clients ----------------------------------------------------------------------------- */

/* A client row (CLIENT_COLS) into a new struct client without URIs; *id gets the row id.
 * GH_ESTORE for a row this build cannot have written. */
static int
row_client(const PGresult *r, int i, const char *op, struct client **out, int64_t *id)
{
    struct client *c = x_calloc(1, sizeof(*c));
    const char *method = PQgetvalue(r, i, 4);
    unsigned char *bytes = NULL;
    size_t n = 0;
    int rc = GH_ESTORE;

    *out = NULL;
    *id = pg_int(r, i, 0);
    c->client_id = pg_str(r, i, 1);
    c->name = pg_str(r, i, 2);
    c->is_public = pg_int(r, i, 3) != 0;
    if (pg_isnull(r, i, 4) || client_auth_parse(method, &c->auth_method) != GH_OK) {
        log_err("store_error", "op=%s state=- msg=\"client row %lld: unknown auth_method\"", op,
            (long long)*id);
        goto out;
    }
    c->grant_types = store_split_spaces(PQgetvalue(r, i, 5));
    c->scopes = store_split_spaces(PQgetvalue(r, i, 6));
    c->jwks = pg_str(r, i, 7);
    if (!pg_bytes(r, i, 8, &bytes, &n) || (bytes && n != sizeof(c->secret_hash))) {
        log_err("store_error", "op=%s state=- msg=\"client row %lld: bad secret_hash\"", op,
            (long long)*id);
        goto out;
    }
    if (bytes) {
        memcpy(c->secret_hash, bytes, sizeof(c->secret_hash));
        c->has_secret = true;
    }
    free(bytes);
    bytes = NULL;
    if (!pg_bytes(r, i, 9, &bytes, &n)) {
        log_err("store_error", "op=%s state=- msg=\"client row %lld: bad secret_sealed\"", op,
            (long long)*id);
        goto out;
    }
    if (bytes && n > 0) {
        c->secret_sealed = bytes;
        c->secret_sealed_len = n;
        bytes = NULL;
    }
    c->created_at = pg_int(r, i, 10);
    c->updated_at = pg_int(r, i, 11);
    c->consent = pg_int(r, i, 12) != 0;
    c->pkce_required = pg_int(r, i, 13) != 0;
    c->signing_alg = pg_str(r, i, 14);
    c->jwks_uri = pg_str(r, i, 15);
    if (!client_signing_alg_ok(c->signing_alg)) {
        log_err("store_error", "op=%s state=- msg=\"client row %lld: unknown signing_alg\"",
            op, (long long)*id);
        goto out;
    }
    *out = c;
    c = NULL;
    rc = GH_OK;
out:
    free(bytes);
    client_free(c);
    return rc;
}

/* Load the URI lists of client row id into c (inside the caller's read transaction). */
static int
load_uris(struct pg *b, int64_t id, struct client *c, const char *op)
{
    struct store_strvec redir = { 0 }, logout = { 0 };
    struct pgp p = { 0 };
    PGresult *r = NULL;
    int rc;

    pgp_int(&p, id);
    if ((rc = pg_exec(b, P_CLIENT_URIS, op, &p, &r)) != GH_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        if (pg_isnull(r, i, 1))
            continue;
        store_strvec_push(pg_int(r, i, 0) == URI_POST_LOGOUT ? &logout : &redir,
            PQgetvalue(r, i, 1));
    }
    PQclear(r);
    str_list_free(c->redirect_uris);
    str_list_free(c->post_logout_redirect_uris);
    c->redirect_uris = store_strvec_take(&redir);
    c->post_logout_redirect_uris = store_strvec_take(&logout);
    return GH_OK;
}

/* The client row and its URIs in one transaction. */
int
pg_client_add(void *impl, const struct client *c)
{
    struct pg *b = impl;
    struct pgp p = { 0 };
    PGresult *r = NULL;
    char *grants = NULL, *scopes = NULL;
    int64_t id;
    int rc;

    if ((rc = pg_tx_write(b, "client_add")) != GH_OK)
        return rc;
    grants = str_list_join(c->grant_types, " ");
    scopes = str_list_join(c->scopes, " ");
    pgp_text(&p, c->client_id);
    pgp_text(&p, c->name);
    pgp_int(&p, c->is_public ? 1 : 0);
    pgp_text(&p, client_auth_name(c->auth_method));
    pgp_text(&p, grants);
    pgp_text(&p, scopes);
    pgp_text(&p, c->jwks);
    pgp_bytes(&p, c->has_secret ? c->secret_hash : NULL, sizeof(c->secret_hash));
    pgp_bytes(&p, c->secret_sealed, c->secret_sealed_len);
    pgp_int(&p, c->created_at);
    pgp_int(&p, c->updated_at);
    pgp_int(&p, c->consent ? 1 : 0);
    pgp_int(&p, c->pkce_required ? 1 : 0);
    pgp_text(&p, c->signing_alg ? c->signing_alg : client_signing_algs[0]);
    pgp_text(&p, c->jwks_uri);
    if ((rc = pg_row(b, P_CLIENT_ADD, "client_add", &p, &r)) != GH_OK) {
        if (rc == GH_ENOTFOUND)
            rc = pg_bad_row("client_add", "INSERT RETURNING returned no row");
        goto out;
    }
    id = pg_int(r, 0, 0);
    for (int kind = URI_REDIRECT; kind <= URI_POST_LOGOUT; kind++) {
        char *const *uris = kind == URI_REDIRECT ? c->redirect_uris
                                                 : c->post_logout_redirect_uris;
        for (size_t i = 0; uris && uris[i]; i++) {
            struct pgp q = { 0 };
            pgp_int(&q, id);
            pgp_int(&q, kind);
            pgp_int(&q, (int64_t)i);
            pgp_text(&q, uris[i]);
            if ((rc = pg_cmd(b, P_CLIENT_URI_ADD, "client_add", &q, NULL)) != GH_OK)
                goto out;
        }
    }
    rc = pg_tx_commit(b, "client_add");
out:
    PQclear(r);
    if (rc != GH_OK)
        pg_tx_rollback(b);
    free(grants);
    free(scopes);
    return rc;
}

int
pg_client_get(void *impl, const char *client_id, struct client **out)
{
    struct pg *b = impl;
    struct pgp p = { 0 };
    PGresult *r = NULL;
    struct client *c = NULL;
    int64_t id = 0;
    int rc;

    *out = NULL;
    if ((rc = pg_tx_read(b, "client_get")) != GH_OK)
        return rc;
    pgp_text(&p, client_id);
    if ((rc = pg_row(b, P_CLIENT_GET, "client_get", &p, &r)) != GH_OK)
        goto out;
    if ((rc = row_client(r, 0, "client_get", &c, &id)) != GH_OK)
        goto out;
    if ((rc = load_uris(b, id, c, "client_get")) != GH_OK)
        goto out;
    if ((rc = pg_tx_commit(b, "client_get")) != GH_OK)
        goto out;
    *out = c;
    c = NULL;
out:
    PQclear(r);
    if (rc != GH_OK)
        pg_tx_rollback(b);
    client_free(c);
    return rc;
}

/* pg_list reader: a client row with its URIs into slot (struct client **). */
static int
row_client_uris(struct pg *b, const PGresult *r, int i, const char *op, void *slot)
{
    struct client **c = slot;
    int64_t id = 0;
    int rc;

    if ((rc = row_client(r, i, op, c, &id)) != GH_OK)
        return rc;
    return load_uris(b, id, *c, op);
}

static const struct pg_rows client_rows = { &store_elems_client, true, row_client_uris };

int
pg_client_list(void *impl, struct client ***out, size_t *n)
{
    void *list = NULL;
    int rc = pg_list(impl, P_CLIENT_LIST, "client_list", NULL, &client_rows, &list, n);

    *out = list;
    return rc;
}

int
pg_client_set_secret(void *impl, const char *client_id, const unsigned char *hash,
    const unsigned char *sealed, size_t sealed_len, int64_t now)
{
    struct pgp p = { 0 };

    pgp_text(&p, client_id);
    pgp_bytes(&p, hash, 32);
    pgp_bytes(&p, sealed, sealed_len);
    pgp_int(&p, now);
    return pg_write1(impl, P_CLIENT_SET_SECRET, "client_set_secret", &p, true);
}

/* client_uris, codes, grants, consents… go with it (ON DELETE CASCADE), in the statement. */
int
pg_client_delete(void *impl, const char *client_id)
{
    struct pgp p = { 0 };

    pgp_text(&p, client_id);
    return pg_write1(impl, P_CLIENT_DELETE, "client_delete", &p, true);
}
