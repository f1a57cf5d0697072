/* test_store_durable.c — a power cut after a store call returned keeps every durable write
 * (SECURITY.md F2), with group commit (store_sqlite.c group_sync) in place of synchronous=FULL.
 *
 * A VFS shim wraps SQLite's default VFS: every file keeps a "disk" copy, path + ".disk", which
 * only xSync updates (to the whole live file, as fsync does). A power cut is copying the disk
 * copies of the database and its WAL to a new place and opening that: what was written but
 * never synced is gone. Several threads on their own handles make durable writes (revoked
 * token jtis) at once; each that returned GH_OK must be there after the cut. A light write
 * made after the last durable one (an interaction) must not be, which shows the shim really
 * drops unsynced data, so the first assertion can fail. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "core/err.h"
#include "store/store.h"
#include "t.h"
#include "vfs_shim.h"

/* --- the shim ------------------------------------------------------------------------------ */

static atomic_long syncs;

/* Copy path to path.disk: what a sync leaves on the platter. */
static int
disk_copy(const char *path)
{
    char dst[600], buf[65536];
    FILE *in, *out;
    size_t n;
    int ok = 1;

    snprintf(dst, sizeof(dst), "%s.disk", path);
    if (!(in = fopen(path, "rb")))
        return SQLITE_IOERR_FSYNC;
    if (!(out = fopen(dst, "wb"))) {
        fclose(in);
        return SQLITE_IOERR_FSYNC;
    }
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        ok &= fwrite(buf, 1, n, out) == n;
    ok &= !ferror(in);
    ok &= fclose(out) == 0;
    fclose(in);
    return ok ? SQLITE_OK : SQLITE_IOERR_FSYNC;
}

static int
shim_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}

static int
shim_sync(sqlite3_file *f, int flags)
{
    struct shim_file *s = (struct shim_file *)f;
    int rc = s->real->pMethods->xSync(s->real, flags);

    atomic_fetch_add(&syncs, 1);
    if (rc == SQLITE_OK && s->path)
        rc = disk_copy(s->path);
    return rc;
}

/* --- the test ------------------------------------------------------------------------------ */

static char tmpdir[64];

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* The files as a power cut leaves them: each file's last synced copy, or nothing. */
static void
power_cut(const char *from, const char *to)
{
    static const char *suffix[] = { "", "-wal" };

    for (size_t i = 0; i < 2; i++) {
        char src[300], dst[300];
        snprintf(src, sizeof(src), "%s%s.disk", from, suffix[i]);
        snprintf(dst, sizeof(dst), "%s%s", to, suffix[i]);
        (void)rename(src, dst);   /* a file never synced does not exist after the cut */
    }
}

#define WRITERS 4
#define WRITES  40

struct writer {
    const char *path;
    unsigned id;
    int rc[WRITES];
    int open_rc;
};

static void *
write_jtis(void *arg)
{
    struct writer *w = arg;
    struct store *st = NULL;
    char err[256], jti[32];

    w->open_rc = store_open(w->path, STORE_WORKER, &st, err, sizeof(err));
    for (unsigned i = 0; i < WRITES; i++) {
        snprintf(jti, sizeof(jti), "j-%u-%u", w->id, i);
        w->rc[i] = w->open_rc == GH_OK ? store_token_revoke(st, jti, 4000000000LL) : -1;
    }
    store_close(st);
    return NULL;
}

static void
test_power_cut_keeps_every_acknowledged_write(void)
{
    char path[128], cut[128], err[256], jti[32];
    struct store *st = NULL, *after = NULL;
    struct writer w[WRITERS];
    pthread_t th[WRITERS];
    struct interaction ia = { .request = "{}", .created_at = 1, .expires_at = 1000 };
    struct interaction *got = NULL;
    long before;
    size_t ok = 0;

    snprintf(path, sizeof(path), "%s/live.db", tmpdir);
    snprintf(cut, sizeof(cut), "%s/cut.db", tmpdir);
    /* The first handle stays open, as the server's do, so the WAL is never checkpointed away
     * on close. */
    T_EQ_INT(store_open(path, STORE_CREATE, &st, err, sizeof(err)), GH_OK);
    before = atomic_load(&syncs);
    for (unsigned i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){ .path = path, .id = i };
        T_EQ_INT(pthread_create(&th[i], NULL, write_jtis, &w[i]), 0);
    }
    for (unsigned i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    /* A light write after the last durable one: its commit is never synced. */
    memset(ia.id_hash, 0x11, sizeof(ia.id_hash));
    memset(ia.bind_hash, 0x22, sizeof(ia.bind_hash));
    T_EQ_INT(store_interaction_add(st, &ia), GH_OK);

    power_cut(path, cut);
    store_close(st);
    fprintf(stderr, "  %d durable writes, %ld syncs\n", WRITERS * WRITES,
        atomic_load(&syncs) - before);

    T_EQ_INT(store_open(cut, 0, &after, err, sizeof(err)), GH_OK);
    for (unsigned i = 0; i < WRITERS; i++) {
        T_EQ_INT(w[i].open_rc, GH_OK);
        for (unsigned j = 0; j < WRITES; j++) {
            if (w[i].rc[j] != GH_OK)
                continue;
            ok++;
            snprintf(jti, sizeof(jti), "j-%u-%u", i, j);
            if (store_token_check(after, jti, "grant") != GH_EDENIED)
                fprintf(stderr, "  lost after the cut: %s\n", jti);
            T_EQ_INT(store_token_check(after, jti, "grant"), GH_EDENIED);
        }
    }
    T_EQ_INT(ok, WRITERS * WRITES);
    /* the shim does drop what was not synced */
    T_EQ_INT(store_interaction_get(after, ia.id_hash, 1, &got), GH_ENOTFOUND);
    interaction_free(got);
    store_close(after);
}

int
main(void)
{
    int rc;

    t_prog = "store_durable";
    shim_install("powercut");
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gh-durable.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    T_RUN(test_power_cut_keeps_every_acknowledged_write);
    rc = t_done();
    nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return rc;
}
