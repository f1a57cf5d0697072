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

    if ((rc = sq_tx_write(b, "jti_use")) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, Q_JTI_USE, "jti_use", &s)) != GH_OK) {
        sq_tx_rollback(b);
        return rc;
    }
    sq_bind_text(s, 1, iss, &brc);
    sq_bind_text(s, 2, jti, &brc);
    sq_bind_int(s, 3, expires_at, &brc);
    return sq_write_commit(b, s, brc, "jti_use");
}

/* --- service-to-service: resources (0004_s2s.sql) ------------------------------------------ */

/* A resources row (id, name, scopes, created_at) into a new struct resource. */
static struct resource *
row_resource(sqlite3_stmt *s)
{
    struct resource *r = x_calloc(1, sizeof(*r));

    r->id = sq_col_str(s, 0);
    r->name = sq_col_str(s, 1);
    r->scopes = sq_split_spaces((const char *)sqlite3_column_text(s, 2));
    r->created_at = sqlite3_column_int64(s, 3);
    return r;
}

int
sq_resource_add(void *impl, const struct resource *r)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    char *scopes = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_tx_write(b, "resource_add")) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, Q_RES_ADD, "resource_add", &s)) != GH_OK) {
        sq_tx_rollback(b);
        return rc;
    }
    scopes = str_list_join(r->scopes, " ");
    sq_bind_text(s, 1, r->id, &brc);
    sq_bind_text(s, 2, r->name, &brc);
    sq_bind_text(s, 3, scopes, &brc);
    sq_bind_int(s, 4, r->created_at, &brc);
    rc = sq_write_commit(b, s, brc, "resource_add");
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
    *out = row_resource(s);
out:
    sq_done(s);
    return rc;
}

int
sq_resource_list(void *impl, struct resource ***out, size_t *n)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct resource **list = NULL;
    size_t len = 0, cap = 0;
    int rc, src;

    *out = NULL;
    *n = 0;
    if ((rc = sq_prep(b, Q_RES_LIST, "resource_list", &s)) != GH_OK)
        goto out;
    list = x_calloc(1, sizeof(*list));
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (len + 1 >= cap) {
            cap = cap ? cap * 2 : 16;
            list = x_realloc(list, cap * sizeof(*list));
        }
        list[len++] = row_resource(s);
        list[len] = NULL;
    }
    if (src != SQLITE_DONE) {
        rc = sq_fail(b, "resource_list", src);
        goto out;
    }
    *out = list;
    *n = len;
    list = NULL;
out:
    sq_done(s);
    resource_list_free(list, len);
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

    if ((rc = sq_tx_write(b, "resource_allow")) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, Q_RES_ALLOW, "resource_allow", &s)) != GH_OK) {
        sq_tx_rollback(b);
        return rc;
    }
    sq_bind_text(s, 1, resource, &brc);
    sq_bind_text(s, 2, client_id, &brc);
    sq_bind_text(s, 3, scope ? scope : "", &brc);
    sq_bind_int(s, 4, now, &brc);
    return sq_write_commit(b, s, brc, "resource_allow");
}

/* One statement keyed by two texts (?1, ?2) in its own write transaction: an insert, or a
 * delete (GH_ENOTFOUND when no row matched). */
static int
write_pair(struct sq *b, enum q_id id, const char *op, const char *k1, const char *k2)
{
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_tx_write(b, op)) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, id, op, &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, k1, &brc);
    sq_bind_text(s, 2, k2, &brc);
    if ((rc = sq_bound(b, op, brc)) != GH_OK || (rc = sq_step_done(b, s, op)) != GH_OK)
        goto out;
    if (sqlite3_changes(b->db) == 0) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    sq_done(s);
    s = NULL;
    rc = sq_tx_commit(b, op);
out:
    sq_done(s);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    return rc;
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
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    *scope = NULL;
    if ((rc = sq_prep(b, Q_RES_CLIENT_SCOPE, "resource_client_scope", &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, resource, &brc);
    sq_bind_text(s, 2, client_id, &brc);
    if ((rc = sq_bound(b, "resource_client_scope", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_row(b, s, "resource_client_scope")) != GH_OK)
        goto out;
    *scope = sq_col_str(s, 0);
out:
    sq_done(s);
    return rc;
}

int
sq_resource_clients(void *impl, const char *resource, struct resource_client **out, size_t *n)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct resource_client *list = NULL;
    size_t len = 0, cap = 0;
    int brc = SQLITE_OK, rc, src;

    *out = NULL;
    *n = 0;
    if ((rc = sq_prep(b, Q_RES_CLIENTS, "resource_clients", &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, resource, &brc);
    if ((rc = sq_bound(b, "resource_clients", brc)) != GH_OK)
        goto out;
    list = x_calloc(1, sizeof(*list));
    cap = 1;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) {
            cap *= 2;
            list = x_realloc(list, cap * sizeof(*list));
        }
        list[len].client_id = sq_col_str(s, 0);
        list[len].scope = sq_col_str(s, 1);
        list[len].created_at = sqlite3_column_int64(s, 2);
        len++;
    }
    if (src != SQLITE_DONE) {
        rc = sq_fail(b, "resource_clients", src);
        goto out;
    }
    *out = list;
    *n = len;
    list = NULL;
out:
    sq_done(s);
    resource_client_list_free(list, len);
    return rc;
}

int
sq_client_resources(void *impl, const char *client_id, char ***ids, size_t *n)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct strvec sv = { 0 };
    int brc = SQLITE_OK, rc, src;

    *ids = NULL;
    *n = 0;
    if ((rc = sq_prep(b, Q_CLIENT_RESOURCES, "client_resources", &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, client_id, &brc);
    if ((rc = sq_bound(b, "client_resources", brc)) != GH_OK)
        goto out;
    while ((src = sqlite3_step(s)) == SQLITE_ROW)
        sq_strvec_push(&sv, (const char *)sqlite3_column_text(s, 0));
    if (src != SQLITE_DONE) {
        rc = sq_fail(b, "client_resources", src);
        goto out;
    }
    *n = sv.n;
    *ids = sq_strvec_take(&sv);
out:
    sq_done(s);
    str_list_free(sv.v);
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
    sqlite3_stmt *s = NULL;
    struct strvec sv = { 0 };
    int brc = SQLITE_OK, rc, src;

    if ((rc = sq_prep(b, Q_ISS_CLIENTS, op, &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, ti->issuer, &brc);
    if ((rc = sq_bound(b, op, brc)) != GH_OK)
        goto out;
    while ((src = sqlite3_step(s)) == SQLITE_ROW)
        sq_strvec_push(&sv, (const char *)sqlite3_column_text(s, 0));
    if (src != SQLITE_DONE) {
        rc = sq_fail(b, op, src);
        goto out;
    }
    str_list_free(ti->clients);
    ti->clients = sq_strvec_take(&sv);
out:
    sq_done(s);
    str_list_free(sv.v);
    return rc;
}

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
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct trusted_issuer **list = NULL;
    size_t len = 0, cap = 0;
    int rc, src;

    *out = NULL;
    *n = 0;
    if ((rc = sq_tx_read(b, "issuer_list")) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, Q_ISS_LIST, "issuer_list", &s)) != GH_OK)
        goto out;
    list = x_calloc(1, sizeof(*list));
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (len + 1 >= cap) {
            cap = cap ? cap * 2 : 16;
            list = x_realloc(list, cap * sizeof(*list));
        }
        list[len++] = row_issuer(s);
        list[len] = NULL;
    }
    if (src != SQLITE_DONE) {
        rc = sq_fail(b, "issuer_list", src);
        goto out;
    }
    sq_done(s);
    s = NULL;
    for (size_t i = 0; i < len; i++) {
        if ((rc = load_issuer_clients(b, list[i], "issuer_list")) != GH_OK)
            goto out;
    }
    if ((rc = sq_tx_commit(b, "issuer_list")) != GH_OK)
        goto out;
    *out = list;
    *n = len;
    list = NULL;
out:
    sq_done(s);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    trusted_issuer_list_free(list, len);
    return rc;
}

int
sq_issuer_set_disabled(void *impl, const char *issuer, bool disabled, int64_t now)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_tx_write(b, "issuer_set_disabled")) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, Q_ISS_SET_DISABLED, "issuer_set_disabled", &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, issuer, &brc);
    sq_bind_int(s, 2, disabled ? 1 : 0, &brc);
    sq_bind_int(s, 3, now, &brc);
    if ((rc = sq_bound(b, "issuer_set_disabled", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_done(b, s, "issuer_set_disabled")) != GH_OK)
        goto out;
    if (sqlite3_changes(b->db) == 0) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    sq_done(s);
    s = NULL;
    rc = sq_tx_commit(b, "issuer_set_disabled");
out:
    sq_done(s);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    return rc;
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
    gts = sq_split_spaces((const char *)sqlite3_column_text(s, 2));
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
