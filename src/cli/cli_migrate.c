/* cli_migrate.c — `gatehouse migrate --from DSN --to DSN`: copy a realm into an empty database,
 * from either backend to either backend (SQLite to PostgreSQL when one machine is no longer
 * enough; back again, or into a SQLite file as an offline copy).
 *
 * The rows go through store_copy (one snapshot of the source, one transaction in the
 * destination, every table counted before the commit). What is not plain rows is carried
 * across here, because it lives in different places per backend:
 *   - the realm secret: keys/secret.key beside a SQLite database; in a PostgreSQL database the
 *     meta row realm_secret, sealed under the KEK (app.c). Its bytes are kept, so every stored
 *     client secret, sealed client_secret_jwt secret and session stays valid;
 *   - the private signing keys: keys/<kid>.pem beside SQLite; sealed in their rows (column
 *     sealed) in PostgreSQL. Each is read and checked as a key ring would before anything is
 *     written (its thumbprint must be its kid), then written as a file or sealed under the
 *     destination's KEK. A removed key whose file is gone goes without its private half (it is
 *     never loaded again anyway).
 * Nothing is left half-done on failure: files this run wrote (and a KEK file it created) are
 * removed again and the destination transaction is rolled back. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "cli/cli.h"
#include "core/err.h"
#include "crypto/keys.h"
#include "crypto/secret.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

#define PATH_MAX_MIG 4200

struct mig {
    struct cli_ctx *ctx;
    struct store *src, *dst;
    const char *from_keys, *to_keys;
    char src_kek_path[PATH_MAX_MIG], dst_kek_path[PATH_MAX_MIG];
    struct kek *src_kek, *dst_kek;
    bool kek_created;              /* this run made the destination's KEK file */
    struct secrets *secrets;       /* the realm secret */
    struct key_meta *keys;         /* the source's keys, with their private halves in pems */
    struct key_pem *pems;
    size_t nkeys;
    char **written;                /* files this run wrote, removed again on failure */
    size_t nwritten;
    char *dst_file;                /* a SQLite destination this run created (removed on failure) */
    unsigned char *sealed;         /* the sealed key of the row the hook last changed */
    size_t sealed_len;
};

static void
written_add(struct mig *m, const char *path)
{
    m->written = x_realloc(m->written, (m->nwritten + 1) * sizeof(char *));
    m->written[m->nwritten++] = x_strdup(path);
}

static void
undo_files(struct mig *m)
{
    for (size_t i = m->nwritten; i-- > 0;)
        if (unlink(m->written[i]) != 0 && errno != ENOENT)
            fprintf(stderr, "gatehouse migrate: could not remove %s: %s\n", m->written[i],
                strerror(errno));
    if (m->kek_created && unlink(m->dst_kek_path) != 0 && errno != ENOENT)
        fprintf(stderr, "gatehouse migrate: could not remove %s: %s\n", m->dst_kek_path,
            strerror(errno));
    if (m->dst_file) {
        static const char *const suffix[] = { "", "-wal", "-shm" };
        char path[PATH_MAX_MIG];

        store_close(m->dst);
        m->dst = NULL;
        for (size_t i = 0; i < 3; i++) {
            snprintf(path, sizeof(path), "%s%s", m->dst_file, suffix[i]);
            if (unlink(path) != 0 && errno != ENOENT)
                fprintf(stderr, "gatehouse migrate: could not remove %s: %s\n", path,
                    strerror(errno));
        }
    }
}

static void
mig_free(struct mig *m)
{
    for (size_t i = 0; i < m->nkeys; i++)
        mem_wipe_free((void *)(uintptr_t)m->pems[i].p, m->pems[i].len);
    free(m->pems);
    store_key_list_free(m->keys, m->nkeys);
    for (size_t i = 0; i < m->nwritten; i++)
        free(m->written[i]);
    free(m->written);
    free(m->sealed);
    free(m->dst_file);
    sec_free(m->secrets);
    if (m->dst_kek != m->src_kek)
        sec_kek_free(m->dst_kek);
    sec_kek_free(m->src_kek);
    store_close(m->src);
    store_close(m->dst);
}

/* The KEK file of a PostgreSQL side: --kek-file, else kek.key in that side's keys directory. */
static void
kek_path(const struct cli_ctx *ctx, const char *keys_dir, char *buf, size_t sz)
{
    struct cfg c = ctx->cfg;
    char tmp[PATH_MAX_MIG];

    c.keys_dir = (char *)(uintptr_t)keys_dir;
    snprintf(buf, sz, "%s", app_kek_path(&c, tmp, sizeof(tmp)));
}

static int
load_kek(struct mig *m, const char *path, bool create, struct kek **out, bool *created)
{
    char why[PATH_MAX_MIG + 256];
    int rc = sec_kek_load(path, create, out, created, why, sizeof(why));

    if (rc != GH_OK)
        return cli_fail(m->ctx, "key-encryption key (--kek-file): %s", why);
    return CLI_OK;
}

/* The source's realm secret: its file, or its sealed row. */
static int
source_secret(struct mig *m)
{
    char err[PATH_MAX_MIG + 256];
    int rc;

    if (!store_shared(m->src)) {
        if (sec_load(m->from_keys, false, &m->secrets, err, sizeof(err)) != GH_OK)
            return cli_fail(m->ctx, "the source's realm secret: %s (--from-keys names the "
                "source's keys directory)", err);
        return CLI_OK;
    }
    if ((rc = load_kek(m, m->src_kek_path, false, &m->src_kek, NULL)) != CLI_OK)
        return rc;
    rc = app_secret_get(m->src, m->src_kek, &m->secrets);
    if (rc == GH_EDENIED)
        return cli_fail(m->ctx, "the key-encryption key %s does not open the source's realm "
            "secret: wrong --kek-file?", m->src_kek_path);
    if (rc != GH_OK)
        return cli_fail(m->ctx, "the source's realm secret: %s", gh_strerror(rc));
    return CLI_OK;
}

/* Every private key of the source, checked the way a server loads them: a ring is built from
 * them (thumbprint = kid, key fits its alg) before anything is written. */
static int
source_keys(struct mig *m)
{
    struct key_ref *refs = NULL;
    struct keyring *ring = NULL;
    char err[PATH_MAX_MIG + 256];
    int64_t now = clock_now(), hold = app_key_hold(&m->ctx->cfg);
    int rc;

    if ((rc = store_key_list(m->src, &m->keys, &m->nkeys)) != GH_OK)
        return cli_fail(m->ctx, "cannot list the source's signing keys: %s", gh_strerror(rc));
    if (m->nkeys == 0)
        return cli_fail(m->ctx, "the source has no signing keys: not a realm (run gatehouse "
            "init on it first)");
    m->pems = x_calloc(m->nkeys, sizeof(*m->pems));
    if (!(refs = app_key_refs(m->keys, m->nkeys, err, sizeof(err))))
        return cli_fail(m->ctx, "the source: %s", err);
    for (size_t i = 0; i < m->nkeys; i++) {
        const struct key_meta *k = &m->keys[i];
        unsigned char *pem = NULL;
        size_t len = 0;

        if (k->sealed) {
            rc = app_key_unseal(m->src_kek, k, &pem, &len);
            if (rc != GH_OK) {
                free(refs);
                return cli_fail(m->ctx, "the key-encryption key %s does not open signing key "
                    "%s of the source: wrong --kek-file?", m->src_kek_path, k->kid);
            }
        } else if ((rc = keys_read_pem(m->from_keys, k->kid, &pem, &len, err, sizeof(err))) !=
                   GH_OK) {
            /* a removed key's file may be gone for good: it is never loaded again */
            if (rc == GH_ENOTFOUND &&
                keys_state_at(refs, m->nkeys, i, now, hold, NULL) == KEY_REMOVED)
                continue;
            free(refs);
            return cli_fail(m->ctx, "signing key %s of the source: %s", k->kid, err);
        }
        m->pems[i].p = pem;
        m->pems[i].len = len;
    }
    rc = keys_ring_load_pems(m->from_keys, refs, m->pems, m->nkeys, hold, &ring, err,
        sizeof(err));
    keys_ring_free(ring);
    free(refs);
    if (rc != GH_OK)
        return cli_fail(m->ctx, "the source's signing keys: %s", err);
    return CLI_OK;
}

/* The destination's KEK (PostgreSQL): made when absent, which is only done for an empty
 * database (store_copy refuses any other; a KEK made for one would be a stray file). */
static int
dest_kek(struct mig *m)
{
    struct key_meta *keys = NULL;
    char *secret = NULL;
    size_t n = 0;
    bool empty;
    int rc;

    if (m->src_kek && str_eq(m->src_kek_path, m->dst_kek_path)) {
        m->dst_kek = m->src_kek;      /* PostgreSQL to PostgreSQL under one KEK */
        return CLI_OK;
    }
    if ((rc = store_key_list(m->dst, &keys, &n)) != GH_OK)
        return cli_fail(m->ctx, "cannot read the destination: %s", gh_strerror(rc));
    store_key_list_free(keys, n);
    rc = store_meta_get(m->dst, APP_META_SECRET, &secret);
    free(secret);
    empty = n == 0 && rc == GH_ENOTFOUND;
    if (!empty)
        return cli_fail(m->ctx, "the destination already holds a realm; migrate copies a "
            "realm into an empty database only");
    /* the default home of the KEK, 0700 as init makes it */
    if (!m->ctx->cfg.kek_file && mkdir(m->to_keys, 0700) != 0 && errno != EEXIST)
        return cli_fail(m->ctx, "%s: %s", m->to_keys, strerror(errno));
    return load_kek(m, m->dst_kek_path, true, &m->dst_kek, &m->kek_created);
}

/* A SQLite destination: the realm secret and the private keys as files in --to-keys, none of
 * which may exist yet (no realm is overwritten, and no stray file taken for ours). */
static int
dest_files(struct mig *m)
{
    char err[PATH_MAX_MIG + 256], path[PATH_MAX_MIG];
    int rc;

    if ((rc = sec_save(m->secrets, m->to_keys, err, sizeof(err))) != GH_OK)
        return cli_fail(m->ctx, "the destination's realm secret: %s%s", err,
            rc == GH_EEXIST ? " (give --to-keys a directory without a realm)" : "");
    snprintf(path, sizeof(path), "%s/%s", m->to_keys, SEC_FILE);
    written_add(m, path);
    for (size_t i = 0; i < m->nkeys; i++) {
        if (!m->pems[i].p)
            continue;
        snprintf(path, sizeof(path), "%s/%s.pem", m->to_keys, m->keys[i].kid);
        if (access(path, F_OK) == 0)
            return cli_fail(m->ctx, "%s exists already (give --to-keys a directory without a "
                "realm)", path);
        rc = keys_save_pem(m->to_keys, m->keys[i].kid, m->pems[i].p, m->pems[i].len, err,
            sizeof(err));
        if (rc != GH_OK)
            return cli_fail(m->ctx, "signing key %s: %s", m->keys[i].kid, err);
        written_add(m, path);
    }
    return CLI_OK;
}

static ssize_t
col_index(const struct store_row *row, const char *name)
{
    for (size_t i = 0; i < row->ncols; i++)
        if (str_eq(row->cols[i], name))
            return (ssize_t)i;
    return -1;
}

static bool
val_is(const struct store_val *v, const char *s)
{
    return v->type == STORE_V_TEXT && v->n == strlen(s) && memcmp(v->p, s, v->n) == 0;
}

/* store_copy's hook: the source's sealed realm secret stays behind (the destination gets its
 * own, see cli_migrate), and each signing key row gets its private half for the destination:
 * sealed under its KEK, or NULL where the key is a file. */
static int
hook(void *arg, struct store_row *row, char *err, size_t errsz)
{
    struct mig *m = arg;
    ssize_t ci, cs;

    if (str_eq(row->table, "meta")) {
        ci = col_index(row, "name");
        return ci >= 0 && val_is(&row->vals[ci], APP_META_SECRET) ? GH_ENOTFOUND : GH_OK;
    }
    if (!str_eq(row->table, "signing_keys"))
        return GH_OK;
    ci = col_index(row, "kid");
    cs = col_index(row, "sealed");
    if (ci < 0 || cs < 0 || row->vals[ci].type != STORE_V_TEXT) {
        str_fmt(err, errsz, "signing_keys: no kid or sealed column");
        return GH_EINVAL;
    }
    free(m->sealed);
    m->sealed = NULL;
    row->vals[cs] = (struct store_val){ .type = STORE_V_NULL };
    if (!store_shared(m->dst))
        return GH_OK;
    for (size_t i = 0; i < m->nkeys; i++) {
        const struct key_meta *k = &m->keys[i];

        if (!val_is(&row->vals[ci], k->kid) || !m->pems[i].p)
            continue;
        if (app_key_seal(m->dst_kek, k->kid, k->alg, m->pems[i].p, m->pems[i].len, &m->sealed,
                &m->sealed_len) != GH_OK) {
            str_fmt(err, errsz, "cannot seal signing key %s", k->kid);
            return GH_ECRYPTO;
        }
        row->vals[cs] = (struct store_val){ .type = STORE_V_BLOB, .p = m->sealed,
            .n = m->sealed_len };
    }
    return GH_OK;
}

static void
report(const struct mig *m, const struct store_copy_count *c, size_t n)
{
    int64_t rows = 0;

    printf("copied the realm (%s to %s); rows per table:\n",
        store_shared(m->src) ? "PostgreSQL" : "SQLite",
        store_shared(m->dst) ? "PostgreSQL" : "SQLite");
    for (size_t i = 0; i < n; i++) {
        printf("  %-16s %8lld", c[i].table, (long long)c[i].dst);
        if (c[i].skipped || c[i].added)
            printf("   (source %lld: %lld left behind, %lld added: the realm secret)",
                (long long)c[i].src, (long long)c[i].skipped, (long long)c[i].added);
        printf("\n");
        rows += c[i].dst;
    }
    printf("verified: every table holds the rows it should (%lld in all)\n", (long long)rows);
    if (store_shared(m->dst)) {
        printf("realm secret and %zu signing keys: sealed in the database under the "
            "key-encryption key %s (%s)\n", m->nkeys, m->dst_kek_path,
            m->kek_created ? "created" : "existing");
        printf("Copy %s (mode 0600) to every instance of the realm and start them with this "
            "--db.\n", m->dst_kek_path);
    } else {
        printf("realm secret and signing keys: files in %s\n", m->to_keys);
    }
}

int
cli_migrate(struct cli_ctx *ctx)
{
    struct mig m = { .ctx = ctx };
    struct store_copy_count *counts = NULL;
    struct store_row extra = { 0 };
    struct store_val ev[2];
    const char *from = cli_opt(ctx, "from"), *to = cli_opt(ctx, "to");
    const char *ecols[2] = { "name", "value" };
    char err[1024], *sealed_secret = NULL;
    size_t ncounts = 0;
    int rc;

    if (!from || !to)
        return cli_usage(ctx, "--from and --to are both required");
    if (str_eq(from, to))
        return cli_usage(ctx, "--from and --to name the same database");
    m.from_keys = cli_opt(ctx, "from-keys") ? cli_opt(ctx, "from-keys") : ctx->cfg.keys_dir;
    m.to_keys = cli_opt(ctx, "to-keys") ? cli_opt(ctx, "to-keys") : ctx->cfg.keys_dir;
    kek_path(ctx, m.from_keys, m.src_kek_path, sizeof(m.src_kek_path));
    kek_path(ctx, m.to_keys, m.dst_kek_path, sizeof(m.dst_kek_path));

    rc = CLI_FAIL;
    if (store_open(from, STORE_READONLY, &m.src, err, sizeof(err)) != GH_OK) {
        cli_fail(ctx, "the source: %s", err);
        goto out;
    }
    if ((rc = source_secret(&m)) != CLI_OK || (rc = source_keys(&m)) != CLI_OK)
        goto out;
    rc = CLI_FAIL;
    {
        /* a SQLite file that does not exist yet is made by the open: note it, so a failure
         * removes it again (a PostgreSQL database must exist; the schema stays, with no row) */
        const char *file = str_has_prefix(to, "sqlite:") ? to + 7 : strstr(to, "://") ? NULL : to;
        struct stat st;

        if (file && stat(file, &st) != 0 && errno == ENOENT)
            m.dst_file = x_strdup(file);
    }
    if (store_open(to, STORE_CREATE, &m.dst, err, sizeof(err)) != GH_OK) {
        cli_fail(ctx, "the destination: %s", err);
        goto out;
    }
    if (store_shared(m.dst)) {
        if ((rc = dest_kek(&m)) != CLI_OK)
            goto out;
        rc = CLI_FAIL;
        if (app_secret_seal(m.dst_kek, m.secrets, &sealed_secret) != GH_OK) {
            cli_fail(ctx, "cannot seal the realm secret");
            goto out;
        }
        ev[0] = (struct store_val){ .type = STORE_V_TEXT,
            .p = (const unsigned char *)APP_META_SECRET, .n = strlen(APP_META_SECRET) };
        ev[1] = (struct store_val){ .type = STORE_V_TEXT,
            .p = (const unsigned char *)sealed_secret, .n = strlen(sealed_secret) };
        extra = (struct store_row){ .table = "meta", .ncols = 2, .cols = ecols, .vals = ev };
    } else if ((rc = dest_files(&m)) != CLI_OK) {
        goto out;
    }
    rc = CLI_FAIL;
    err[0] = '\0';
    if (store_copy(m.src, m.dst, hook, &m, extra.table ? &extra : NULL, extra.table ? 1 : 0,
            &counts, &ncounts, err, sizeof(err)) != GH_OK) {
        cli_fail(ctx, "%s; the destination is unchanged", err);
        goto out;
    }
    report(&m, counts, ncounts);
    cli_audit("realm_migrated", NULL, NULL, "from", store_shared(m.src) ? "postgresql" : "sqlite",
        "to", store_shared(m.dst) ? "postgresql" : "sqlite", NULL);
    rc = CLI_OK;
out:
    if (rc != CLI_OK)
        undo_files(&m);
    free(counts);
    free(sealed_secret);
    mig_free(&m);
    return rc;
}
