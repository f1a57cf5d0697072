/* store_sqlite_s2s.c — service-to-service records of the SQLite backend (0004_s2s.sql):
 * client-assertion replay (used jtis) and resources with the clients allowed to use them.
 * Helpers and transactions: store_sqlite.c. */
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

/* --- assertion replay ------------------------------------------------------------------ */

/* RFC 7523 §3 item 7: the primary key makes a second (iss, jti) a constraint error. */
int
sq_jti_use(void *impl, const char *iss, const char *jti, int64_t expires_at)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, Q_JTI_USE, "jti_use", false, &s)) != GH_OK)
        return rc;
    sq_bind_text(s, 1, iss, &brc);
    sq_bind_text(s, 2, jti, &brc);
    sq_bind_int(s, 3, expires_at, &brc);
    return sq_write_commit(b, s, brc, "jti_use", false);
}

/* --- service-to-service: resources (0004_s2s.sql) ------------------------------------------ */

/* A resources row (id, name, scopes, created_at) into a new struct resource at slot (struct
 * resource **): the sq_list reader, used by resource_get too. */
static int
row_resource(struct sq *b, sqlite3_stmt *s, const char *op, void *slot)
{
    struct resource *r = x_calloc(1, sizeof(*r));

    (void)b;
    (void)op;
    r->id = sq_col_str(s, 0);
    r->name = sq_col_str(s, 1);
    r->scopes = store_split_spaces((const char *)sqlite3_column_text(s, 2));
    r->created_at = sqlite3_column_int64(s, 3);
    *(struct resource **)slot = r;
    return GH_OK;
}

static const struct sq_rows resource_rows = { &store_elems_resource, false, row_resource };

/* sq_list reader: column 0 (text) into slot (char **). */
static int
row_text(struct sq *b, sqlite3_stmt *s, const char *op, void *slot)
{
    (void)b;
    (void)op;
    *(char **)slot = x_strdup((const char *)sqlite3_column_text(s, 0));
    return GH_OK;
}

static const struct sq_rows text_rows = { &store_elems_text, false, row_text };

int
sq_resource_add(void *impl, const struct resource *r)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    char *scopes = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, Q_RES_ADD, "resource_add", false, &s)) != GH_OK)
        return rc;
    scopes = str_list_join(r->scopes, " ");
    sq_bind_text(s, 1, r->id, &brc);
    sq_bind_text(s, 2, r->name, &brc);
    sq_bind_text(s, 3, scopes, &brc);
    sq_bind_int(s, 4, r->created_at, &brc);
    rc = sq_write_commit(b, s, brc, "resource_add", false);
    free(scopes);
    return rc;
}

int
sq_resource_get(void *impl, const char *id, struct resource **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = sq_prep(b, Q_RES_GET, "resource_get", &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, id, &brc);
    if ((rc = sq_bound(b, "resource_get", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_row(b, s, "resource_get")) != GH_OK)
        goto out;
    rc = row_resource(b, s, "resource_get", out);
out:
    sq_done(s);
    return rc;
}

int
sq_resource_list(void *impl, struct resource ***out, size_t *n)
{
    void *list = NULL;
    int rc = sq_list(impl, Q_RES_LIST, "resource_list", NULL, &resource_rows, &list, n);

    *out = list;
    return rc;
}

/* Its resource_clients rows go with it (ON DELETE CASCADE). */
int
sq_resource_delete(void *impl, const char *id)
{
    return sq_write_keyed(impl, Q_RES_DELETE, "resource_delete", NULL, id, 0);
}

/* An upsert: a second allow replaces the scopes. A resource or client that does not exist
 * fails the foreign key: GH_ENOTFOUND (map_rc). */
int
sq_resource_allow(void *impl, const char *resource, const char *client_id, const char *scope,
    int64_t now)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, Q_RES_ALLOW, "resource_allow", false, &s)) != GH_OK)
        return rc;
    sq_bind_text(s, 1, resource, &brc);
    sq_bind_text(s, 2, client_id, &brc);
    sq_bind_text(s, 3, scope ? scope : "", &brc);
    sq_bind_int(s, 4, now, &brc);
    return sq_write_commit(b, s, brc, "resource_allow", false);
}

/* One statement keyed by two texts (?1, ?2) in its own write transaction: an insert, or a
 * delete (GH_ENOTFOUND when no row matched). */
static int
write_pair(struct sq *b, enum q_id id, const char *op, const char *k1, const char *k2)
{
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, id, op, false, &s)) != GH_OK)
        return rc;
    sq_bind_text(s, 1, k1, &brc);
    sq_bind_text(s, 2, k2, &brc);
    return sq_write_commit(b, s, brc, op, true);
}

int
sq_resource_disallow(void *impl, const char *resource, const char *client_id)
{
    return write_pair(impl, Q_RES_DISALLOW, "resource_disallow", resource, client_id);
}

int
sq_resource_client_scope(void *impl, const char *resource, const char *client_id,
    char **scope)
{
    return sq_row_text(impl, Q_RES_CLIENT_SCOPE, "resource_client_scope", resource, client_id,
        scope);
}

/* sq_list reader: a resource_clients row (client_id, scope, created_at) into slot. */
static int
row_resource_client(struct sq *b, sqlite3_stmt *s, const char *op, void *slot)
{
    struct resource_client *e = slot;

    (void)b;
    (void)op;
    e->client_id = sq_col_str(s, 0);
    e->scope = sq_col_str(s, 1);
    e->created_at = sqlite3_column_int64(s, 2);
    return GH_OK;
}

static const struct sq_rows resource_client_rows = { &store_elems_resource_client, false,
    row_resource_client };

int
sq_resource_clients(void *impl, const char *resource, struct resource_client **out, size_t *n)
{
    void *list = NULL;
    int rc = sq_list(impl, Q_RES_CLIENTS, "resource_clients", resource, &resource_client_rows,
        &list, n);

    *out = list;
    return rc;
}

int
sq_client_resources(void *impl, const char *client_id, char ***ids, size_t *n)
{
    void *list = NULL;
    int rc = sq_list(impl, Q_CLIENT_RESOURCES, "client_resources", client_id, &text_rows, &list,
        n);

    *ids = list;
    return rc;
}

/* --- trusted issuers of JWT-bearer grant assertions (0005_issuers.sql) --------------------- */

static char *
col_str_or_null(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? NULL : sq_col_str(s, i);
}

/* A trusted_issuers row (ISS_COLS) into a new struct trusted_issuer without its clients. */
static struct trusted_issuer *
row_issuer(sqlite3_stmt *s)
{
    struct trusted_issuer *ti = x_calloc(1, sizeof(*ti));

    ti->issuer = sq_col_str(s, 0);
    ti->jwks = col_str_or_null(s, 1);
    ti->jwks_uri = col_str_or_null(s, 2);
    ti->disabled = sqlite3_column_int64(s, 3) != 0;
    ti->created_at = sqlite3_column_int64(s, 4);
    ti->updated_at = sqlite3_column_int64(s, 5);
    return ti;
}

/* ti->clients from issuer_clients, inside the caller's read transaction. */
static int
load_issuer_clients(struct sq *b, struct trusted_issuer *ti, const char *op)
{
    void *clients = NULL;
    size_t n;
    int rc = sq_list(b, Q_ISS_CLIENTS, op, ti->issuer, &text_rows, &clients, &n);

    if (rc == GH_OK) {
        str_list_free(ti->clients);
        ti->clients = clients;
    }
    return rc;
}

/* sq_list reader: a trusted_issuers row with its clients into slot (struct trusted_issuer **). */
static int
row_issuer_clients(struct sq *b, sqlite3_stmt *s, const char *op, void *slot)
{
    struct trusted_issuer *ti = row_issuer(s);

    *(struct trusted_issuer **)slot = ti;
    return load_issuer_clients(b, ti, op);
}

static const struct sq_rows issuer_rows = { &store_elems_issuer, true, row_issuer_clients };

/* The issuer row and its client rows in one transaction: a client that does not exist fails
 * the foreign key (GH_ENOTFOUND) and nothing is stored. */
int
sq_issuer_add(void *impl, const struct trusted_issuer *ti)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_tx_write(b, "issuer_add")) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, Q_ISS_ADD, "issuer_add", &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, ti->issuer, &brc);
    sq_bind_text(s, 2, ti->jwks, &brc);
    sq_bind_text(s, 3, ti->jwks_uri, &brc);
    sq_bind_int(s, 4, ti->disabled ? 1 : 0, &brc);
    sq_bind_int(s, 5, ti->created_at, &brc);
    if ((rc = sq_bound(b, "issuer_add", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_done(b, s, "issuer_add")) != GH_OK)
        goto out;
    sq_done(s);
    s = NULL;
    for (size_t i = 0; ti->clients && ti->clients[i]; i++) {
        if ((rc = sq_prep(b, Q_ISS_CLIENT_ADD, "issuer_add", &s)) != GH_OK)
            goto out;
        sq_bind_text(s, 1, ti->issuer, &brc);
        sq_bind_text(s, 2, ti->clients[i], &brc);
        if ((rc = sq_bound(b, "issuer_add", brc)) != GH_OK)
            goto out;
        rc = sq_step_done(b, s, "issuer_add");
        if (rc == GH_EEXIST)
            rc = GH_OK;   /* a client listed twice is listed */
        if (rc != GH_OK)
            goto out;
        sq_done(s);
        s = NULL;
    }
    rc = sq_tx_commit(b, "issuer_add");
out:
    sq_done(s);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    return rc;
}

int
sq_issuer_get(void *impl, const char *issuer, struct trusted_issuer **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct trusted_issuer *ti = NULL;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = sq_tx_read(b, "issuer_get")) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, Q_ISS_GET, "issuer_get", &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, issuer, &brc);
    if ((rc = sq_bound(b, "issuer_get", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_row(b, s, "issuer_get")) != GH_OK)
        goto out;
    ti = row_issuer(s);
    sq_done(s);
    s = NULL;
    if ((rc = load_issuer_clients(b, ti, "issuer_get")) != GH_OK)
        goto out;
    if ((rc = sq_tx_commit(b, "issuer_get")) != GH_OK)
        goto out;
    *out = ti;
    ti = NULL;
out:
    sq_done(s);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    trusted_issuer_free(ti);
    return rc;
}

int
sq_issuer_list(void *impl, struct trusted_issuer ***out, size_t *n)
{
    void *list = NULL;
    int rc = sq_list(impl, Q_ISS_LIST, "issuer_list", NULL, &issuer_rows, &list, n);

    *out = list;
    return rc;
}

int
sq_issuer_set_disabled(void *impl, const char *issuer, bool disabled, int64_t now)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, Q_ISS_SET_DISABLED, "issuer_set_disabled", false, &s)) != GH_OK)
        return rc;
    sq_bind_text(s, 1, issuer, &brc);
    sq_bind_int(s, 2, disabled ? 1 : 0, &brc);
    sq_bind_int(s, 3, now, &brc);
    return sq_write_commit(b, s, brc, "issuer_set_disabled", true);
}

/* Its issuer_clients rows go with it (ON DELETE CASCADE). */
int
sq_issuer_delete(void *impl, const char *issuer)
{
    return sq_write_keyed(impl, Q_ISS_DELETE, "issuer_delete", NULL, issuer, 0);
}

int
sq_issuer_allow(void *impl, const char *issuer, const char *client_id)
{
    return write_pair(impl, Q_ISS_CLIENT_ADD, "issuer_allow", issuer, client_id);
}

int
sq_issuer_disallow(void *impl, const char *issuer, const char *client_id)
{
    return write_pair(impl, Q_ISS_CLIENT_DEL, "issuer_disallow", issuer, client_id);
}

/* One step of the grant re-check: the single row of statement id bound to a (and b), or
 * GH_ENOTFOUND. */
static int
jg_row(struct sq *b, enum q_id id, const char *a, const char *a2, sqlite3_stmt **out)
{
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = sq_prep(b, id, "jwt_grant_check", &s)) != GH_OK)
        return rc;
    sq_bind_text(s, 1, a, &brc);
    if (a2)
        sq_bind_text(s, 2, a2, &brc);
    if ((rc = sq_bound(b, "jwt_grant_check", brc)) == GH_OK &&
        (rc = sq_step_row(b, s, "jwt_grant_check")) == GH_OK) {
        *out = s;
        return GH_OK;
    }
    sq_done(s);
    return rc;
}

/* Every row read in one snapshot, so the answer holds for one moment, not for a mix of two. */
int
sq_jwt_grant_check(void *impl, const char *client_id, const char *grant_type,
    const char *issuer, const char *user_sub, const char **why)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    char **gts = NULL;
    int rc;

    if ((rc = sq_tx_read(b, "jwt_grant_check")) != GH_OK)
        return rc;
    rc = jg_row(b, Q_JG_CLIENT, client_id, NULL, &s);
    if (rc == GH_ENOTFOUND) {
        *why = "the client no longer exists";
        rc = GH_EDENIED;
    }
    if (rc != GH_OK)
        goto out;
    gts = store_split_spaces((const char *)sqlite3_column_text(s, 2));
    if (sqlite3_column_int64(s, 0) != 0 ||
        str_eq((const char *)sqlite3_column_text(s, 1), "none")) {
        *why = "the client is no longer confidential";
        rc = GH_EDENIED;
        goto out;
    }
    if (!str_list_has(gts, grant_type)) {
        *why = "the client no longer has the grant type";
        rc = GH_EDENIED;
        goto out;
    }
    sq_done(s);
    s = NULL;
    if (issuer) {
        rc = jg_row(b, Q_JG_ISSUER, issuer, client_id, &s);
        if (rc == GH_ENOTFOUND) {
            *why = "the issuer no longer exists";
            rc = GH_EDENIED;
        }
        if (rc != GH_OK)
            goto out;
        if (sqlite3_column_int64(s, 0) != 0) {
            *why = "the issuer is disabled";
            rc = GH_EDENIED;
            goto out;
        }
        if (sqlite3_column_int64(s, 1) == 0) {
            *why = "the issuer no longer lists the client";
            rc = GH_EDENIED;
            goto out;
        }
        sq_done(s);
        s = NULL;
    }
    if (user_sub) {
        rc = jg_row(b, Q_JG_USER, user_sub, NULL, &s);
        if (rc == GH_ENOTFOUND) {
            *why = "the user no longer exists";
            rc = GH_EDENIED;
        }
        if (rc != GH_OK)
            goto out;
        if (sqlite3_column_int64(s, 0) != 0) {
            *why = "the user is disabled";
            rc = GH_EDENIED;
            goto out;
        }
        sq_done(s);
        s = NULL;
    }
    rc = sq_tx_commit(b, "jwt_grant_check");
out:
    sq_done(s);
    str_list_free(gts);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    return rc;
}
