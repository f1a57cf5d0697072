/* store_pg_copy.c — the PostgreSQL side of copying a realm (store_copy.c, `gatehouse
 * migrate`): list, count and read tables as typed values (binary results, one row at a time),
 * and insert rows in one write transaction. Names are ours (store_copy.c's list, or the
 * catalogue of the current schema), checked by store_ident_ok before they are put into SQL;
 * values always go as parameters. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/store_impl.h"
#include "store/store_pg_int.h"
#include "util/str.h"
#include "util/xmem.h"

#define SQL_MAX 4096
/* type OIDs (pg_type.dat): the only column types our schema uses */
#define OID_INT2  21
#define OID_INT4  23
#define OID_INT8  20
#define OID_TEXT  25
#define OID_BYTEA 17

static uint64_t
be(const unsigned char *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* A binary integer field of n = 2, 4 or 8 bytes, sign-extended. */
static bool
bin_int(const PGresult *r, int row, int col, int64_t *out)
{
    int n = PQgetlength(r, row, col);
    uint64_t v;

    if (n != 2 && n != 4 && n != 8)
        return false;
    v = be((const unsigned char *)PQgetvalue(r, row, col), n);
    if (n == 2)
        *out = (int16_t)v;
    else if (n == 4)
        *out = (int32_t)v;
    else
        *out = (int64_t)v;
    return true;
}

/* One-column rows of sql (binary results) as a NULL-terminated list of strings. */
static int
names_query(struct pg *b, const char *op, const char *sql, int np, const char *const *pv,
    char ***out, size_t *n)
{
    PGresult *r = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = pg_exec_sql(b, op, sql, np, pv, NULL, NULL, &r)) != GH_OK)
        return rc;
    *out = x_calloc((size_t)PQntuples(r) + 1, sizeof(char *));
    for (int i = 0; i < PQntuples(r); i++)
        (*out)[i] = x_strndup(PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
    *n = (size_t)PQntuples(r);
    PQclear(r);
    return GH_OK;
}

int
pg_tab_list(void *impl, char ***names, size_t *n)
{
    return names_query(impl, "tab_list", "SELECT tablename::text FROM pg_catalog.pg_tables "
        "WHERE schemaname = current_schema() AND tablename <> 'gatehouse_schema' "
        "ORDER BY tablename", 0, NULL, names, n);
}

int
pg_tab_columns(void *impl, const char *table, char ***cols, size_t *n)
{
    const char *pv[1] = { table };

    if (!store_ident_ok(table))
        return GH_EINVAL;
    return names_query(impl, "tab_columns", "SELECT column_name::text FROM "
        "information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 "
        "ORDER BY ordinal_position", 1, pv, cols, n);
}

int
pg_tab_count(void *impl, const char *table, int64_t *n)
{
    PGresult *r = NULL;
    char sql[SQL_MAX];
    int rc;

    *n = 0;
    if (!store_ident_ok(table))
        return GH_EINVAL;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    if ((rc = pg_exec_sql(impl, "tab_count", sql, 0, NULL, NULL, NULL, &r)) != GH_OK)
        return rc;
    if (PQntuples(r) != 1 || !bin_int(r, 0, 0, n))
        rc = pg_bad_row("tab_count", "count(*) is not one integer");
    PQclear(r);
    return rc;
}

/* Field c of a single-row result as a value (pointers into r). */
static int
field(const PGresult *r, int c, struct store_val *v)
{
    memset(v, 0, sizeof(*v));
    if (PQgetisnull(r, 0, c)) {
        v->type = STORE_V_NULL;
        return GH_OK;
    }
    switch (PQftype(r, c)) {
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
        v->type = STORE_V_INT;
        return bin_int(r, 0, c, &v->i) ? GH_OK : pg_bad_row("tab_read", "a bad integer");
    case OID_TEXT:
        v->type = STORE_V_TEXT;
        break;
    case OID_BYTEA:
        v->type = STORE_V_BLOB;
        break;
    default:
        return pg_bad_row("tab_read", "a column type gatehouse does not use");
    }
    v->p = (const unsigned char *)PQgetvalue(r, 0, c);
    v->n = (size_t)PQgetlength(r, 0, c);
    return GH_OK;
}

int
pg_tab_read(void *impl, const char *table, const char *const *cols, size_t n,
    int (*fn)(void *ctx, struct store_val *vals), void *ctx)
{
    struct pg *b = impl;
    struct store_val *v = x_calloc(n ? n : 1, sizeof(*v));
    PGresult *row = NULL;
    char sql[SQL_MAX];
    int rc;

    if ((rc = store_select_sql(sql, sizeof(sql), table, cols, n, "seq")) != GH_OK)
        goto out;
    if ((rc = pg_send_rows(b, "tab_read", sql)) != GH_OK)
        goto out;
    while ((rc = pg_next_row(b, "tab_read", &row)) == GH_OK) {
        for (size_t i = 0; i < n && rc == GH_OK; i++)
            rc = field(row, (int)i, &v[i]);
        if (rc == GH_OK)
            rc = fn(ctx, v);
        PQclear(row);
        row = NULL;
        if (rc != GH_OK) {
            pg_drain(b);
            goto out;
        }
    }
    if (rc == GH_ENOTFOUND)
        rc = GH_OK;
out:
    free(v);
    return rc;
}

int
pg_copy_begin(void *impl)
{
    return pg_tx_write(impl, "copy");
}

/* Integers go as text (the column's type parses them, whatever its width), text and bytes in
 * binary format: raw bytes, so nothing needs escaping and a NUL cannot cut a value short. */
int
pg_copy_insert(void *impl, const char *table, const char *const *cols,
    const struct store_val *vals, size_t n)
{
    char sql[SQL_MAX];
    const char **pv = NULL;
    int *len = NULL, *fmt = NULL, rc;
    char (*num)[24] = NULL;

    if (n > 1000 || (rc = store_insert_sql(sql, sizeof(sql), table, cols, n, '$')) != GH_OK)
        return GH_EINVAL;
    pv = x_calloc(n ? n : 1, sizeof(*pv));
    len = x_calloc(n ? n : 1, sizeof(*len));
    fmt = x_calloc(n ? n : 1, sizeof(*fmt));
    num = x_calloc(n ? n : 1, sizeof(*num));
    for (size_t i = 0; i < n; i++) {
        switch (vals[i].type) {
        case STORE_V_NULL:
            break;
        case STORE_V_INT:
            snprintf(num[i], sizeof(num[i]), "%lld", (long long)vals[i].i);
            pv[i] = num[i];
            break;
        case STORE_V_TEXT:
        case STORE_V_BLOB:
            if (vals[i].n > INT32_MAX) {
                rc = GH_ETOOBIG;
                goto out;
            }
            pv[i] = vals[i].p ? (const char *)vals[i].p : "";
            len[i] = (int)vals[i].n;
            fmt[i] = 1;
            break;
        }
    }
    rc = pg_exec_sql(impl, "copy_insert", sql, (int)n, pv, len, fmt, NULL);
out:
    free(pv);
    free(len);
    free(fmt);
    free(num);
    return rc;
}

/* Identity columns (users.id, clients.id, signing_keys.seq) were given ids by the copy: move
 * each sequence past the largest, or the next insert would collide with a copied row. */
static int
advance_identities(struct pg *b)
{
    char **pairs = NULL;
    size_t n = 0;
    int rc;

    rc = names_query(b, "copy_ids", "SELECT table_name::text || '.' || column_name::text FROM "
        "information_schema.columns WHERE table_schema = current_schema() AND "
        "is_identity = 'YES' ORDER BY 1", 0, NULL, &pairs, &n);
    for (size_t i = 0; i < n && rc == GH_OK; i++) {
        char sql[SQL_MAX], *dot = strchr(pairs[i], '.');
        const char *t = pairs[i], *c = dot ? dot + 1 : NULL;

        if (!dot)
            continue;
        *dot = '\0';
        if (!store_ident_ok(t) || !store_ident_ok(c)) {
            rc = GH_EINVAL;
            break;
        }
        snprintf(sql, sizeof(sql), "SELECT setval(pg_get_serial_sequence('%s', '%s'), "
            "COALESCE(max(%s), 0) + 1, false) FROM %s", t, c, c, t);
        rc = pg_exec_sql(b, "copy_ids", sql, 0, NULL, NULL, NULL, NULL);
    }
    str_list_free(pairs);
    return rc;
}

int
pg_copy_end(void *impl, bool commit)
{
    int rc;

    if (!commit) {
        pg_tx_rollback(impl);
        return GH_OK;
    }
    if ((rc = advance_identities(impl)) != GH_OK) {
        pg_tx_rollback(impl);
        return rc;
    }
    return pg_tx_commit(impl, "copy");
}
