/* store_pg_s2s.c — service-to-service records of the PostgreSQL backend (0004_s2s.sql,
 * 0005_issuers.sql): client-assertion replay (used jtis), resources with the clients allowed
 * to use them, and trusted issuers. Helpers and transactions: store_pg.c. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_pg_int.h"
#include "util/str.h"
#include "util/xmem.h"

/* --- assertion replay -------------------------------------------------------------------- */

/* RFC 7523 §3 item 7: INSERT … ON CONFLICT DO NOTHING, one statement: the row count says
 * whether this (iss, jti) is new. Of two instances inserting one pair at once, the second
 * waits for the first's commit and then inserts nothing: exactly one GH_OK. */
int
pg_jti_use(void *impl, const char *iss, const char *jti, int64_t expires_at)
{
    struct pgp p = { 0 };
    int rc;

    pgp_text(&p, iss);
    pgp_text(&p, jti);
    pgp_int(&p, expires_at);
    rc = pg_write1(impl, P_JTI_USE, "jti_use", &p, true);
    return rc == GH_ENOTFOUND ? GH_EEXIST : rc;   /* no row inserted: seen before */
}

/* --- resources --------------------------------------------------------------------------- */

/* A resources row (id, name, scopes, created_at) into a new struct resource at slot (struct
 * resource **): the pg_list reader, used by resource_get too. */
static int
row_resource(struct pg *b, const PGresult *r, int i, const char *op, void *slot)
{
    struct resource *res = x_calloc(1, sizeof(*res));

    (void)b;
    (void)op;
    res->id = pg_str(r, i, 0);
    res->name = pg_str(r, i, 1);
    res->scopes = store_split_spaces(PQgetvalue(r, i, 2));
    res->created_at = pg_int(r, i, 3);
    *(struct resource **)slot = res;
    return GH_OK;
}

static const struct pg_rows resource_rows = { &store_elems_resource, false, row_resource };

/* pg_list reader: column 0 (text) into slot (char **). */
static int
row_text(struct pg *b, const PGresult *r, int i, const char *op, void *slot)
{
    (void)b;
    (void)op;
    *(char **)slot = x_strdup(PQgetvalue(r, i, 0));
    return GH_OK;
}

static const struct pg_rows text_rows = { &store_elems_text, false, row_text };

int
pg_resource_add(void *impl, const struct resource *res)
{
    struct pgp p = { 0 };
    char *scopes = str_list_join(res->scopes, " ");
    int rc;

    pgp_text(&p, res->id);
    pgp_text(&p, res->name);
    pgp_text(&p, scopes);
    pgp_int(&p, res->created_at);
    rc = pg_write1(impl, P_RES_ADD, "resource_add", &p, false);
    free(scopes);
    return rc;
}

int
pg_resource_get(void *impl, const char *id, struct resource **out)
{
    struct pgp p = { 0 };
    PGresult *r = NULL;
    int rc;

    *out = NULL;
    pgp_text(&p, id);
    if ((rc = pg_row(impl, P_RES_GET, "resource_get", &p, &r)) == GH_OK)
        rc = row_resource(impl, r, 0, "resource_get", out);
    PQclear(r);
    return rc;
}

int
pg_resource_list(void *impl, struct resource ***out, size_t *n)
{
    void *list = NULL;
    int rc = pg_list(impl, P_RES_LIST, "resource_list", NULL, &resource_rows, &list, n);

    *out = list;
    return rc;
}

int
pg_resource_delete(void *impl, const char *id)
{
    struct pgp p = { 0 };

    pgp_text(&p, id);
    return pg_write1(impl, P_RES_DELETE, "resource_delete", &p, true);
}

/* An upsert; a missing resource or client fails the foreign key: GH_ENOTFOUND. */
int
pg_resource_allow(void *impl, const char *resource, const char *client_id, const char *scope,
    int64_t now)
{
    struct pgp p = { 0 };

    pgp_text(&p, resource);
    pgp_text(&p, client_id);
    pgp_text(&p, scope ? scope : "");
    pgp_int(&p, now);
    return pg_write1(impl, P_RES_ALLOW, "resource_allow", &p, false);
}

static int
write_pair(struct pg *b, enum pq_id id, const char *op, const char *k1, const char *k2)
{
    struct pgp p = { 0 };

    pgp_text(&p, k1);
    pgp_text(&p, k2);
    return pg_write1(b, id, op, &p, true);
}

int
pg_resource_disallow(void *impl, const char *resource, const char *client_id)
{
    return write_pair(impl, P_RES_DISALLOW, "resource_disallow", resource, client_id);
}

int
pg_resource_client_scope(void *impl, const char *resource, const char *client_id,
    char **scope)
{
    struct pgp p = { 0 };
    PGresult *r = NULL;
    int rc;

    *scope = NULL;
    pgp_text(&p, resource);
    pgp_text(&p, client_id);
    if ((rc = pg_row(impl, P_RES_CLIENT_SCOPE, "resource_client_scope", &p, &r)) == GH_OK)
        *scope = pg_str(r, 0, 0);
    PQclear(r);
    return rc;
}

/* pg_list reader: a resource_clients row (client_id, scope, created_at) into slot. */
static int
row_resource_client(struct pg *b, const PGresult *r, int i, const char *op, void *slot)
{
    struct resource_client *e = slot;

    (void)b;
    (void)op;
    e->client_id = pg_str(r, i, 0);
    e->scope = pg_str(r, i, 1);
    e->created_at = pg_int(r, i, 2);
    return GH_OK;
}

static const struct pg_rows resource_client_rows = { &store_elems_resource_client, false,
    row_resource_client };

int
pg_resource_clients(void *impl, const char *resource, struct resource_client **out, size_t *n)
{
    struct pgp p = { 0 };
    void *list = NULL;
    int rc;

    pgp_text(&p, resource);
    rc = pg_list(impl, P_RES_CLIENTS, "resource_clients", &p, &resource_client_rows, &list, n);
    *out = list;
    return rc;
}

/* The values of column 0 of a statement keyed by one text, as a NULL-terminated list. */
static int
text_column(struct pg *b, enum pq_id id, const char *op, const char *key, char ***out,
    size_t *n)
{
    struct pgp p = { 0 };
    void *list = NULL;
    int rc;

    pgp_text(&p, key);
    rc = pg_list(b, id, op, &p, &text_rows, &list, n);
    *out = list;
    return rc;
}

int
pg_client_resources(void *impl, const char *client_id, char ***ids, size_t *n)
{
    return text_column(impl, P_CLIENT_RESOURCES, "client_resources", client_id, ids, n);
}

/* --- trusted issuers --------------------------------------------------------------------- */

static struct trusted_issuer *
row_issuer(const PGresult *r, int i)
{
    struct trusted_issuer *ti = x_calloc(1, sizeof(*ti));

    ti->issuer = pg_str(r, i, 0);
    ti->jwks = pg_str(r, i, 1);
    ti->jwks_uri = pg_str(r, i, 2);
    ti->disabled = pg_int(r, i, 3) != 0;
    ti->created_at = pg_int(r, i, 4);
    ti->updated_at = pg_int(r, i, 5);
    return ti;
}

static int
load_issuer_clients(struct pg *b, struct trusted_issuer *ti, const char *op)
{
    char **clients = NULL;
    size_t n;
    int rc = text_column(b, P_ISS_CLIENTS, op, ti->issuer, &clients, &n);

    if (rc == GH_OK) {
        str_list_free(ti->clients);
        ti->clients = clients;
    }
    return rc;
}

/* pg_list reader: a trusted_issuers row with its clients into slot (struct trusted_issuer **). */
static int
row_issuer_clients(struct pg *b, const PGresult *r, int i, const char *op, void *slot)
{
    struct trusted_issuer *ti = row_issuer(r, i);

    *(struct trusted_issuer **)slot = ti;
    return load_issuer_clients(b, ti, op);
}

static const struct pg_rows issuer_rows = { &store_elems_issuer, true, row_issuer_clients };

/* The issuer row and its client rows in one transaction: a client that does not exist fails
 * the foreign key (GH_ENOTFOUND) and nothing is stored. */
int
pg_issuer_add(void *impl, const struct trusted_issuer *ti)
{
    struct pg *b = impl;
    struct pgp p = { 0 };
    int rc;

    if ((rc = pg_tx_write(b, "issuer_add")) != GH_OK)
        return rc;
    pgp_text(&p, ti->issuer);
    pgp_text(&p, ti->jwks);
    pgp_text(&p, ti->jwks_uri);
    pgp_int(&p, ti->disabled ? 1 : 0);
    pgp_int(&p, ti->created_at);
    if ((rc = pg_cmd(b, P_ISS_ADD, "issuer_add", &p, NULL)) != GH_OK)
        goto out;
    for (size_t i = 0; ti->clients && ti->clients[i]; i++) {
        struct pgp q = { 0 };
        pgp_text(&q, ti->issuer);
        pgp_text(&q, ti->clients[i]);
        if ((rc = pg_cmd(b, P_ISS_CLIENT_ADD_ONCE, "issuer_add", &q, NULL)) != GH_OK)
            goto out;
    }
    rc = pg_tx_commit(b, "issuer_add");
out:
    if (rc != GH_OK)
        pg_tx_rollback(b);
    return rc;
}

int
pg_issuer_get(void *impl, const char *issuer, struct trusted_issuer **out)
{
    struct pg *b = impl;
    struct pgp p = { 0 };
    PGresult *r = NULL;
    struct trusted_issuer *ti = NULL;
    int rc;

    *out = NULL;
    if ((rc = pg_tx_read(b, "issuer_get")) != GH_OK)
        return rc;
    pgp_text(&p, issuer);
    if ((rc = pg_row(b, P_ISS_GET, "issuer_get", &p, &r)) != GH_OK)
        goto out;
    ti = row_issuer(r, 0);
    if ((rc = load_issuer_clients(b, ti, "issuer_get")) != GH_OK)
        goto out;
    if ((rc = pg_tx_commit(b, "issuer_get")) != GH_OK)
        goto out;
    *out = ti;
    ti = NULL;
out:
    PQclear(r);
    if (rc != GH_OK)
        pg_tx_rollback(b);
    trusted_issuer_free(ti);
    return rc;
}

int
pg_issuer_list(void *impl, struct trusted_issuer ***out, size_t *n)
{
    void *list = NULL;
    int rc = pg_list(impl, P_ISS_LIST, "issuer_list", NULL, &issuer_rows, &list, n);

    *out = list;
    return rc;
}

int
pg_issuer_set_disabled(void *impl, const char *issuer, bool disabled, int64_t now)
{
    struct pgp p = { 0 };

    pgp_text(&p, issuer);
    pgp_int(&p, disabled ? 1 : 0);
    pgp_int(&p, now);
    return pg_write1(impl, P_ISS_SET_DISABLED, "issuer_set_disabled", &p, true);
}

int
pg_issuer_delete(void *impl, const char *issuer)
{
    struct pgp p = { 0 };

    pgp_text(&p, issuer);
    return pg_write1(impl, P_ISS_DELETE, "issuer_delete", &p, true);
}

/* allow: GH_EEXIST when already listed (unique violation), GH_ENOTFOUND (foreign key). */
int
pg_issuer_allow(void *impl, const char *issuer, const char *client_id)
{
    return write_pair(impl, P_ISS_CLIENT_ADD, "issuer_allow", issuer, client_id);
}

int
pg_issuer_disallow(void *impl, const char *issuer, const char *client_id)
{
    return write_pair(impl, P_ISS_CLIENT_DEL, "issuer_disallow", issuer, client_id);
}

/* The single row of statement id bound to a (and a2): GH_OK with *out, or GH_ENOTFOUND. */
static int
jg_row(struct pg *b, enum pq_id id, const char *a, const char *a2, PGresult **out)
{
    struct pgp p = { 0 };

    pgp_text(&p, a);
    if (a2)
        pgp_text(&p, a2);
    return pg_row(b, id, "jwt_grant_check", &p, out);
}

/* Every row read in one snapshot (REPEATABLE READ), so the answer holds for one moment. */
int
pg_jwt_grant_check(void *impl, const char *client_id, const char *grant_type,
    const char *issuer, const char *user_sub, const char **why)
{
    struct pg *b = impl;
    PGresult *r = NULL;
    char **gts = NULL;
    int rc;

    if ((rc = pg_tx_read(b, "jwt_grant_check")) != GH_OK)
        return rc;
    rc = jg_row(b, P_JG_CLIENT, client_id, NULL, &r);
    if (rc == GH_ENOTFOUND) {
        *why = "the client no longer exists";
        rc = GH_EDENIED;
    }
    if (rc != GH_OK)
        goto out;
    gts = store_split_spaces(PQgetvalue(r, 0, 2));
    if (pg_int(r, 0, 0) != 0 || str_eq(PQgetvalue(r, 0, 1), "none")) {
        *why = "the client is no longer confidential";
        rc = GH_EDENIED;
        goto out;
    }
    if (!str_list_has(gts, grant_type)) {
        *why = "the client no longer has the grant type";
        rc = GH_EDENIED;
        goto out;
    }
    PQclear(r);
    r = NULL;
    if (issuer) {
        rc = jg_row(b, P_JG_ISSUER, issuer, client_id, &r);
        if (rc == GH_ENOTFOUND) {
            *why = "the issuer no longer exists";
            rc = GH_EDENIED;
        }
        if (rc != GH_OK)
            goto out;
        if (pg_int(r, 0, 0) != 0) {
            *why = "the issuer is disabled";
            rc = GH_EDENIED;
            goto out;
        }
        if (pg_int(r, 0, 1) == 0) {
            *why = "the issuer no longer lists the client";
            rc = GH_EDENIED;
            goto out;
        }
        PQclear(r);
        r = NULL;
    }
    if (user_sub) {
        rc = jg_row(b, P_JG_USER, user_sub, NULL, &r);
        if (rc == GH_ENOTFOUND) {
            *why = "the user no longer exists";
            rc = GH_EDENIED;
        }
        if (rc != GH_OK)
            goto out;
        if (pg_int(r, 0, 0) != 0) {
            *why = "the user is disabled";
            rc = GH_EDENIED;
            goto out;
        }
    }
    rc = pg_tx_commit(b, "jwt_grant_check");
out:
    PQclear(r);
    str_list_free(gts);
    if (rc != GH_OK)
        pg_tx_rollback(b);
    return rc;
}
