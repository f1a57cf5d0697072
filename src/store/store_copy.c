/* store_copy.c — copying a realm from one database into an empty one (`gatehouse migrate`),
 * whatever the two backends: every table in an order that satisfies the foreign keys, every
 * row as typed values (store.h struct store_val), read in one snapshot of the source and written
 * in one transaction of the destination, then counted there before the commit. The schema
 * version of both must be this build's: the two dialects then have the same tables and
 * columns, apart from the few a backend keeps for itself (private_cols). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/store.h"
#include "store/store_impl.h"
#include "util/str.h"
#include "util/xmem.h"

/* Parents before children (REFERENCES), so every row finds the rows it refers to. */
static const char *const tables[] = {
    "meta", "users", "retired_subs", "clients", "client_uris", "signing_keys", "interactions",
    "sessions", "auth_codes", "grants", "refresh_tokens", "consents", "revoked_tokens",
    "resources", "resource_clients", "used_jtis", "trusted_issuers", "issuer_clients",
    "login_failures",
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* Columns one backend has and the other need not: PostgreSQL's signing_keys.seq stands in for
 * SQLite's rowid (the order of keys created in the same second). Never copied: the destination
 * numbers the rows itself, in the order they are read (tab_read orders signing_keys by it). */
static const char *const private_cols[] = { "signing_keys.seq" };

bool
store_ident_ok(const char *s)
{
    size_t n = 0;

    if (!s || !((*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
            return false;
    return n <= 63;
}

/* "a, b, c" (param 0) or "?1, ?2, ?3" / "$1, $2, $3" for the n columns cols into buf. */
static int
col_list(char *buf, size_t sz, const char *const *cols, size_t n, char param)
{
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w;

        if (!store_ident_ok(cols[i]))
            return GH_EINVAL;
        w = param ? snprintf(buf + len, sz - len, "%s%c%zu", i ? ", " : "", param, i + 1) :
            snprintf(buf + len, sz - len, "%s%s", i ? ", " : "", cols[i]);
        if (w < 0 || (size_t)w >= sz - len)
            return GH_EINVAL;
        len += (size_t)w;
    }
    return GH_OK;
}

int
store_select_sql(char *sql, size_t sz, const char *table, const char *const *cols, size_t n,
    const char *key_seq)
{
    char list[2048];
    int w;

    if (!store_ident_ok(table) || !store_ident_ok(key_seq) ||
        col_list(list, sizeof(list), cols, n, 0) != GH_OK)
        return GH_EINVAL;
    w = snprintf(sql, sz, "SELECT %s FROM %s%s%s", list, table,
        str_eq(table, "signing_keys") ? " ORDER BY created_at, " : "",
        str_eq(table, "signing_keys") ? key_seq : "");
    return w > 0 && (size_t)w < sz ? GH_OK : GH_EINVAL;
}

int
store_insert_sql(char *sql, size_t sz, const char *table, const char *const *cols, size_t n,
    char param)
{
    char list[2048], params[1024];
    int w;

    if (!store_ident_ok(table) || col_list(list, sizeof(list), cols, n, 0) != GH_OK ||
        col_list(params, sizeof(params), cols, n, param) != GH_OK)
        return GH_EINVAL;
    w = snprintf(sql, sz, "INSERT INTO %s (%s) VALUES (%s)", table, list, params);
    return w > 0 && (size_t)w < sz ? GH_OK : GH_EINVAL;
}

static bool
is_private(const char *table, const char *col)
{
    char name[128];

    snprintf(name, sizeof(name), "%s.%s", table, col);
    for (size_t i = 0; i < sizeof(private_cols) / sizeof(private_cols[0]); i++)
        if (str_eq(name, private_cols[i]))
            return true;
    return false;
}

static bool
in_list(char *const *list, const char *s)
{
    for (size_t i = 0; list && list[i]; i++)
        if (str_eq(list[i], s))
            return true;
    return false;
}

static bool
known_table(const char *t)
{
    for (size_t i = 0; i < NTABLES; i++)
        if (str_eq(tables[i], t))
            return true;
    return false;
}

/* The columns to copy for table: those both sides have. Any other difference is a schema
 * mismatch (GH_EINVAL): a column only one side has would be lost or left empty. */
static int
common_cols(struct store *src, struct store *dst, const char *table, char ***out, size_t *nout,
    char *err, size_t errsz)
{
    char **a = NULL, **b = NULL;
    size_t na = 0, nb = 0, n = 0;
    int rc;

    *out = NULL;
    *nout = 0;
    if ((rc = src->ops->tab_columns(src->impl, table, &a, &na)) != GH_OK ||
        (rc = dst->ops->tab_columns(dst->impl, table, &b, &nb)) != GH_OK) {
        str_fmt(err, errsz, "cannot read the columns of table %s", table);
        goto out;
    }
    *out = x_calloc(na + 1, sizeof(char *));
    for (size_t i = 0; i < na; i++) {
        if (in_list(b, a[i]) && !is_private(table, a[i])) {
            (*out)[n++] = x_strdup(a[i]);
        } else if (!is_private(table, a[i])) {
            str_fmt(err, errsz, "table %s: the destination has no column %s (schemas differ)",
                table, a[i]);
            rc = GH_EINVAL;
            goto out;
        }
    }
    for (size_t i = 0; i < nb; i++) {
        if (!in_list(a, b[i]) && !is_private(table, b[i])) {
            str_fmt(err, errsz, "table %s: the source has no column %s (schemas differ)",
                table, b[i]);
            rc = GH_EINVAL;
            goto out;
        }
    }
    *nout = n;
out:
    if (rc != GH_OK) {
        str_list_free(*out);
        *out = NULL;
    }
    str_list_free(a);
    str_list_free(b);
    return rc;
}

struct copy_run {
    struct store *dst;
    store_copy_hook hook;
    void *ctx;
    struct store_row row;
    struct store_copy_count *count;
    char *err;
    size_t errsz;
};

static int
copy_one(void *arg, struct store_val *vals)
{
    struct copy_run *r = arg;
    int rc = GH_OK;

    r->row.vals = vals;
    r->count->src++;
    if (r->hook)
        rc = r->hook(r->ctx, &r->row, r->err, r->errsz);
    if (rc == GH_ENOTFOUND) {
        r->count->skipped++;
        return GH_OK;
    }
    if (rc != GH_OK)
        return rc;
    rc = r->dst->ops->copy_insert(r->dst->impl, r->row.table, r->row.cols, r->row.vals,
        r->row.ncols);
    if (rc != GH_OK)
        str_fmt(r->err, r->errsz, "table %s: cannot write row %lld: %s", r->row.table,
            (long long)r->count->src, gh_strerror(rc));
    return rc;
}

/* The source's tables are ours, all of them (a table this build does not know would be left
 * behind), and the destination holds no row. */
static int
check_sides(struct store *src, struct store *dst, char *err, size_t errsz)
{
    char **names = NULL;
    size_t n = 0;
    int cur = 0, sup = 0, dcur = 0, rc;

    if ((rc = store_schema_version(src, &cur, &sup)) != GH_OK ||
        (rc = store_schema_version(dst, &dcur, &sup)) != GH_OK) {
        str_fmt(err, errsz, "cannot read the schema versions");
        return rc;
    }
    if (cur != sup || dcur != sup) {
        str_fmt(err, errsz, "the %s is at schema %d, this gatehouse at %d (run gatehouse init "
            "on it first)", cur != sup ? "source" : "destination", cur != sup ? cur : dcur, sup);
        return GH_EINVAL;
    }
    if ((rc = src->ops->tab_list(src->impl, &names, &n)) != GH_OK) {
        str_fmt(err, errsz, "cannot list the source's tables");
        return rc;
    }
    for (size_t i = 0; i < n && rc == GH_OK; i++) {
        if (!known_table(names[i])) {
            str_fmt(err, errsz, "the source has a table this gatehouse does not know: %s",
                names[i]);
            rc = GH_EINVAL;
        }
    }
    str_list_free(names);
    for (size_t i = 0; i < NTABLES && rc == GH_OK; i++) {
        int64_t rows = 0;

        if ((rc = dst->ops->tab_count(dst->impl, tables[i], &rows)) != GH_OK)
            str_fmt(err, errsz, "cannot count the destination's table %s", tables[i]);
        else if (rows > 0) {
            str_fmt(err, errsz, "the destination is not empty (table %s has %lld rows); "
                "migrate copies a realm into an empty database only", tables[i],
                (long long)rows);
            rc = GH_EEXIST;
        }
    }
    return rc;
}

int
store_copy(struct store *src, struct store *dst, store_copy_hook hook, void *ctx,
    const struct store_row *extra, size_t nextra, struct store_copy_count **counts,
    size_t *ncounts, char *err, size_t errsz)
{
    struct store_copy_count *cnt = x_calloc(NTABLES, sizeof(*cnt));
    char **cols = NULL;
    size_t ncols = 0;
    bool open_tx = false, snap = false;
    int rc;

    *counts = NULL;
    *ncounts = 0;
    for (size_t e = 0; e < nextra; e++) {
        if (!known_table(extra[e].table)) {
            str_fmt(err, errsz, "no table %s to add a row to", extra[e].table);
            rc = GH_EINVAL;
            goto out;
        }
    }
    if ((rc = check_sides(src, dst, err, errsz)) != GH_OK)
        goto out;
    if ((rc = store_read_begin(src)) != GH_OK) {
        str_fmt(err, errsz, "cannot open a read snapshot of the source");
        goto out;
    }
    snap = true;
    if ((rc = dst->ops->copy_begin(dst->impl)) != GH_OK) {
        str_fmt(err, errsz, "cannot begin a transaction in the destination");
        goto out;
    }
    open_tx = true;
    for (size_t t = 0; t < NTABLES; t++) {
        struct copy_run run = { .dst = dst, .hook = hook, .ctx = ctx, .count = &cnt[t],
            .err = err, .errsz = errsz };

        cnt[t].table = tables[t];
        if ((rc = common_cols(src, dst, tables[t], &cols, &ncols, err, errsz)) != GH_OK)
            goto out;
        run.row = (struct store_row){ .table = tables[t], .ncols = ncols,
            .cols = (const char *const *)cols };
        rc = src->ops->tab_read(src->impl, tables[t], (const char *const *)cols, ncols,
            copy_one, &run);
        if (rc != GH_OK) {
            if (!*err)
                str_fmt(err, errsz, "cannot read table %s of the source", tables[t]);
            goto out;
        }
        for (size_t e = 0; e < nextra; e++) {
            if (!str_eq(extra[e].table, tables[t]))
                continue;
            rc = dst->ops->copy_insert(dst->impl, tables[t], extra[e].cols, extra[e].vals,
                extra[e].ncols);
            if (rc != GH_OK) {
                str_fmt(err, errsz, "table %s: cannot add a row: %s", tables[t],
                    gh_strerror(rc));
                goto out;
            }
            cnt[t].added++;
        }
        str_list_free(cols);
        cols = NULL;
        if ((rc = dst->ops->tab_count(dst->impl, tables[t], &cnt[t].dst)) != GH_OK) {
            str_fmt(err, errsz, "cannot count table %s of the destination", tables[t]);
            goto out;
        }
        if (cnt[t].dst != cnt[t].src - cnt[t].skipped + cnt[t].added) {
            str_fmt(err, errsz, "table %s: %lld rows in the destination, %lld expected; "
                "nothing was written", tables[t], (long long)cnt[t].dst,
                (long long)(cnt[t].src - cnt[t].skipped + cnt[t].added));
            rc = GH_EINVAL;
            goto out;
        }
    }
    open_tx = false;
    if ((rc = dst->ops->copy_end(dst->impl, true)) != GH_OK) {
        str_fmt(err, errsz, "the destination did not commit: %s", gh_strerror(rc));
        goto out;
    }
    *counts = cnt;
    *ncounts = NTABLES;
    cnt = NULL;
out:
    str_list_free(cols);
    if (open_tx)
        (void)dst->ops->copy_end(dst->impl, false);
    if (snap)
        store_read_end(src);
    free(cnt);
    return rc;
}
