/* store_sqlite_copy.c — the SQLite side of copying a realm (store_copy.c, `gatehouse
 * migrate`): list, count and read tables as typed values, and insert rows in one write
 * transaction. Names are ours (store_copy.c's list, or sqlite_schema), checked once more by
 * store_ident_ok before they are put into SQL; values are always bound. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/store_impl.h"
#include "store/store_sqlite_int.h"
#include "util/str.h"
#include "util/xmem.h"

#define SQL_MAX 4096

/* "SELECT ... FROM table": prepared, or GH_EINVAL for a name we would not write into SQL. */
static int
prep_sql(struct sq *b, const char *op, const char *sql, sqlite3_stmt **out)
{
    int rc;

    *out = NULL;
    if (!b->db)
        return sq_fail(b, op, SQLITE_CANTOPEN);
    rc = sqlite3_prepare_v2(b->db, sql, -1, out, NULL);
    return rc == SQLITE_OK ? GH_OK : sq_fail(b, op, rc);
}

/* The column names of a statement's result, NULL-terminated (str_list_free). */
static char **
names_of(sqlite3_stmt *s, size_t *n)
{
    int cols = sqlite3_column_count(s);
    char **v = x_calloc((size_t)cols + 1, sizeof(char *));

    for (int i = 0; i < cols; i++)
        v[i] = x_strdup(sqlite3_column_name(s, i));
    *n = (size_t)cols;
    return v;
}

int
sq_tab_list(void *impl, char ***names, size_t *n)
{
    struct sq *b = impl;
    struct store_strvec sv = { 0 };
    sqlite3_stmt *s = NULL;
    int rc;

    *names = NULL;
    *n = 0;
    rc = prep_sql(b, "tab_list", "SELECT name FROM sqlite_schema WHERE type = 'table' AND "
        "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name", &s);
    while (rc == GH_OK && (rc = sq_step_row(b, s, "tab_list")) == GH_OK) {
        store_strvec_push(&sv, (const char *)sqlite3_column_text(s, 0));
        (*n)++;
    }
    sqlite3_finalize(s);
    *names = store_strvec_take(&sv);
    if (rc == GH_ENOTFOUND)
        return GH_OK;
    str_list_free(*names);
    *names = NULL;
    *n = 0;
    return rc;
}

int
sq_tab_columns(void *impl, const char *table, char ***cols, size_t *n)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    char sql[SQL_MAX];
    int rc;

    *cols = NULL;
    *n = 0;
    if (!store_ident_ok(table))
        return GH_EINVAL;
    snprintf(sql, sizeof(sql), "SELECT * FROM %s LIMIT 0", table);
    if ((rc = prep_sql(b, "tab_columns", sql, &s)) == GH_OK)
        *cols = names_of(s, n);
    sqlite3_finalize(s);
    return rc;
}

int
sq_tab_count(void *impl, const char *table, int64_t *n)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    char sql[SQL_MAX];
    int rc;

    *n = 0;
    if (!store_ident_ok(table))
        return GH_EINVAL;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    if ((rc = prep_sql(b, "tab_count", sql, &s)) == GH_OK &&
        (rc = sq_step_row(b, s, "tab_count")) == GH_OK)
        *n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc;
}

int
sq_tab_read(void *impl, const char *table, const char *const *cols, size_t n,
    int (*fn)(void *ctx, struct store_val *vals), void *ctx)
{
    struct sq *b = impl;
    struct store_val *v = x_calloc(n ? n : 1, sizeof(*v));
    sqlite3_stmt *s = NULL;
    char sql[SQL_MAX];
    int rc;

    /* keys in key_list's order, which a PostgreSQL destination numbers in its seq column */
    if ((rc = store_select_sql(sql, sizeof(sql), table, cols, n, "rowid")) != GH_OK)
        goto out;
    if ((rc = prep_sql(b, "tab_read", sql, &s)) != GH_OK)
        goto out;
    while ((rc = sq_step_row(b, s, "tab_read")) == GH_OK) {
        for (size_t i = 0; i < n; i++) {
            int c = (int)i;

            memset(&v[i], 0, sizeof(v[i]));
            switch (sqlite3_column_type(s, c)) {
            case SQLITE_NULL:
                v[i].type = STORE_V_NULL;
                break;
            case SQLITE_INTEGER:
                v[i].type = STORE_V_INT;
                v[i].i = sqlite3_column_int64(s, c);
                break;
            case SQLITE_TEXT:
                v[i].type = STORE_V_TEXT;
                v[i].p = sqlite3_column_text(s, c);
                v[i].n = (size_t)sqlite3_column_bytes(s, c);
                break;
            case SQLITE_BLOB:
                v[i].type = STORE_V_BLOB;
                v[i].p = sqlite3_column_blob(s, c);
                v[i].n = (size_t)sqlite3_column_bytes(s, c);
                break;
            default:   /* REAL: no column of ours holds one */
                rc = sq_bad_row("tab_read", "a floating-point value");
                goto out;
            }
        }
        if ((rc = fn(ctx, v)) != GH_OK)
            goto out;
    }
    if (rc == GH_ENOTFOUND)
        rc = GH_OK;
out:
    sqlite3_finalize(s);
    free(v);
    return rc;
}

int
sq_copy_begin(void *impl)
{
    return sq_tx_write(impl, "copy");
}

int
sq_copy_insert(void *impl, const char *table, const char *const *cols,
    const struct store_val *vals, size_t n)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    char sql[SQL_MAX];
    int brc = SQLITE_OK, rc;

    if ((rc = store_insert_sql(sql, sizeof(sql), table, cols, n, '?')) != GH_OK)
        return rc;
    if ((rc = prep_sql(b, "copy_insert", sql, &s)) != GH_OK)
        return rc;
    for (size_t i = 0; i < n && brc == SQLITE_OK; i++) {
        int c = (int)i + 1;

        switch (vals[i].type) {
        case STORE_V_NULL:
            brc = sqlite3_bind_null(s, c);
            break;
        case STORE_V_INT:
            brc = sqlite3_bind_int64(s, c, vals[i].i);
            break;
        case STORE_V_TEXT:
            brc = vals[i].n > INT32_MAX ? SQLITE_TOOBIG :
                sqlite3_bind_text(s, c, (const char *)vals[i].p, (int)vals[i].n, SQLITE_STATIC);
            break;
        case STORE_V_BLOB:
            brc = vals[i].n > INT32_MAX ? SQLITE_TOOBIG :
                sqlite3_bind_blob(s, c, vals[i].p ? (const void *)vals[i].p : "",
                    (int)vals[i].n, SQLITE_STATIC);
            break;
        }
    }
    if ((rc = sq_bound(b, "copy_insert", brc)) == GH_OK)
        rc = sq_step_done(b, s, "copy_insert");
    sqlite3_finalize(s);
    return rc;
}

int
sq_copy_end(void *impl, bool commit)
{
    if (commit)
        return sq_tx_commit(impl, "copy");
    sq_tx_rollback(impl);
    return GH_OK;
}
