/* test_store_fault.c — storage faults (store_fault.c, store_sqlite.c): one log line per fault
 * episode however many operations fail, its end logged when an operation of the kind that
 * failed works again; a real lock held by another connection fails a write after the busy
 * timeout and a read still works; a group-commit sync that fails reports no write as done and
 * leaves no waiter hanging; parallel writers give up after one busy timeout each, not one
 * after another; a connection SQLite made read-only (READONLY_DBMOVED) is opened
 * again and works.
 *
 * The sync and write failures come from a VFS shim over SQLite's default VFS whose xSync /
 * xWrite of the -wal file fail while a flag is set (as a failing disk would). Log lines are
 * counted in a file that stderr is pointed at. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_impl.h"
#include "t.h"
#include "vfs_shim.h"

/* --- the shim ------------------------------------------------------------------------------ */

static atomic_int fail_sync;      /* xSync of a -wal fails with SQLITE_IOERR_FSYNC */
static atomic_int fail_write;     /* the next xWrite of a -wal fails with this code (once) */

static bool
is_wal(sqlite3_file *f)
{
    return (((struct shim_file *)f)->flags & SQLITE_OPEN_WAL) != 0;
}

static int
shim_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    int code;

    if (is_wal(f) && (code = atomic_exchange(&fail_write, 0)) != 0)
        return code;
    return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}

static int
shim_sync(sqlite3_file *f, int flags)
{
    if (is_wal(f) && atomic_load(&fail_sync))
        return SQLITE_IOERR_FSYNC;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

/* --- helpers -------------------------------------------------------------------------------- */

static char tmpdir[64];
static char logpath[128];

/* stderr goes to logpath from now on; log_count counts the lines holding both needles. */
static void
log_capture(void)
{
    snprintf(logpath, sizeof(logpath), "%s/log", tmpdir);
    if (!freopen(logpath, "a", stderr))
        abort();
    setvbuf(stderr, NULL, _IONBF, 0);
}

static int
log_count(const char *a, const char *b)
{
    FILE *f = fopen(logpath, "r");
    char line[4096];
    int n = 0;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strstr(line, a) && (!b || strstr(line, b)))
            n++;
    }
    fclose(f);
    return n;
}

static struct store *
open_db(const char *name, char *path, size_t pathsz)
{
    struct store *st = NULL;
    char err[256];

    snprintf(path, pathsz, "%s/%s", tmpdir, name);
    if (store_open(path, STORE_CREATE, &st, err, sizeof(err)) != GH_OK) {
        printf("open %s: %s\n", path, err);
        fflush(stdout);
        abort();
    }
    return st;
}

/* Any fault left by the previous test ends (a write works). */
static void
fault_clear(void)
{
    atomic_store(&fail_sync, 0);
    atomic_store(&fail_write, 0);
    store_fault_ok(true);
    T_EQ_INT(store_fault_now(NULL, 0), STORE_FAULT_NONE);
}

/* --- tests ---------------------------------------------------------------------------------- */

static void
test_one_line_per_episode_and_one_when_it_ends(void)
{
    int before = log_count("store_fault", "kind=full");

    fault_clear();
    for (int i = 0; i < 50; i++)
        store_fault_note(STORE_FAULT_FULL, true, "/x/gh.db", "token", 13, "database or disk is full");
    T_EQ_INT(log_count("store_fault", "kind=full"), before + 1);
    T_EQ_INT(log_count("store_fault", "db=\"/x/gh.db\""), before + 1);
    /* a read that works does not end a write fault */
    store_fault_ok(false);
    char msg[256];
    T_EQ_INT(store_fault_now(msg, sizeof(msg)), STORE_FAULT_FULL);
    T_ASSERT(strstr(msg, "/x/gh.db") && strstr(msg, "full"));
    T_EQ_INT(log_count("store_recovered", "kind=full"), 0);
    store_fault_ok(true);
    T_EQ_INT(store_fault_now(msg, sizeof(msg)), STORE_FAULT_NONE);
    T_EQ_INT(log_count("store_recovered", "kind=full"), 1);
    T_EQ_INT(log_count("store_recovered", "failures=50"), 1);
    /* the same fault back within the minute (a disk at the edge of full): counted, not
     * logged again, and its end not either */
    store_fault_note(STORE_FAULT_FULL, true, "/x/gh.db", "token", 13, "full");
    T_EQ_INT(store_fault_now(NULL, 0), STORE_FAULT_FULL);
    store_fault_ok(true);
    T_EQ_INT(log_count("store_fault", "kind=full"), before + 1);
    T_EQ_INT(log_count("store_recovered", "kind=full"), 1);
    /* another kind is a new line; a fault met by a read ends with a read */
    store_fault_note(STORE_FAULT_READONLY, false, "/x/gh.db", "user_get", 8, "read-only");
    T_EQ_INT(log_count("store_fault", "kind=read_only"), 1);
    store_fault_ok(false);
    T_EQ_INT(store_fault_now(NULL, 0), STORE_FAULT_NONE);
    T_EQ_INT(log_count("store_recovered", "kind=read_only"), 1);
}

static void
test_quiet_keeps_the_fault_for_the_cli_only(void)
{
    char msg[256];

    fault_clear();
    store_fault_log(false);
    store_fault_note(STORE_FAULT_CORRUPT, true, "/q/gh.db", "user_add", 11, "malformed");
    T_EQ_INT(store_fault_now(msg, sizeof(msg)), STORE_FAULT_CORRUPT);
    T_ASSERT(strstr(msg, "database /q/gh.db is corrupt") != NULL);
    T_EQ_INT(log_count("store_fault", "kind=corrupt"), 0);
    store_fault_ok(true);
    store_fault_log(true);
    T_EQ_INT(log_count("store_recovered", "kind=corrupt"), 0);
}

static void
test_locked_by_another_process_fails_writes_not_reads(void)
{
    char path[128], msg[512], *v = NULL;
    struct store *st;
    sqlite3 *other = NULL;
    time_t t0;

    fault_clear();
    st = open_db("locked.db", path, sizeof(path));
    T_EQ_INT(store_meta_set(st, "k", "v1"), GH_OK);
    T_EQ_INT(sqlite3_open(path, &other), SQLITE_OK);
    T_EQ_INT(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    t0 = time(NULL);
    T_EQ_INT(store_meta_set(st, "k", "v2"), GH_ESTORE);
    T_ASSERT(time(NULL) - t0 >= 4);                  /* it waited out the busy timeout */
    T_EQ_INT(store_fault_now(msg, sizeof(msg)), STORE_FAULT_LOCKED);
    T_ASSERT(strstr(msg, path) && strstr(msg, "locked by another process"));
    T_EQ_INT(store_meta_get(st, "k", &v), GH_OK);    /* WAL: readers are not blocked */
    T_EQ_STR(v, "v1");
    free(v);
    v = NULL;
    T_EQ_INT(store_fault_now(NULL, 0), STORE_FAULT_LOCKED);   /* a read does not end it */
    T_EQ_INT(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    T_EQ_INT(store_meta_set(st, "k", "v3"), GH_OK);
    T_EQ_INT(store_fault_now(NULL, 0), STORE_FAULT_NONE);
    T_EQ_INT(store_meta_get(st, "k", &v), GH_OK);
    T_EQ_STR(v, "v3");
    free(v);
    T_EQ_INT(log_count("store_fault", "kind=locked"), 1);
    T_EQ_INT(log_count("store_recovered", "kind=locked"), 1);
    store_close(st);
}

#define LOCKED_WRITERS 4

struct lwriter {
    const char *path;
    int rc;
    double secs;
};

static void *
locked_write(void *arg)
{
    struct lwriter *w = arg;
    struct store *st = NULL;
    struct timespec a, b;
    char err[256];

    w->rc = store_open(w->path, STORE_WORKER, &st, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (w->rc == GH_OK)
        w->rc = store_meta_set(st, "k", "parallel");
    clock_gettime(CLOCK_MONOTONIC, &b);
    w->secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    store_close(st);
    return NULL;
}

/* Writers of this process queue on one mutex before SQLite's busy wait: each must still give
 * up after about the busy timeout (5 s), not after the ones before it (5, 10, 15, 20 s). */
static void
test_parallel_writers_wait_once_for_a_lock_held_elsewhere(void)
{
    char path[128];
    struct store *st;
    struct lwriter w[LOCKED_WRITERS];
    pthread_t th[LOCKED_WRITERS];
    sqlite3 *other = NULL;

    fault_clear();
    st = open_db("queued.db", path, sizeof(path));
    T_EQ_INT(sqlite3_open(path, &other), SQLITE_OK);
    T_EQ_INT(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    for (int i = 0; i < LOCKED_WRITERS; i++) {
        w[i] = (struct lwriter){ .path = path };
        T_EQ_INT(pthread_create(&th[i], NULL, locked_write, &w[i]), 0);
    }
    for (int i = 0; i < LOCKED_WRITERS; i++)
        pthread_join(th[i], NULL);
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
    for (int i = 0; i < LOCKED_WRITERS; i++) {
        T_EQ_INT(w[i].rc, GH_ESTORE);
        T_ASSERT(w[i].secs > 4.0 && w[i].secs < 8.0);
    }
    T_EQ_INT(store_fault_now(NULL, 0), STORE_FAULT_LOCKED);
    T_EQ_INT(store_meta_set(st, "k", "after"), GH_OK);
    store_close(st);
}

#define SYNCERS 4

struct syncer {
    const char *path;
    int id, rc;
};

static void *
durable_write(void *arg)
{
    struct syncer *w = arg;
    struct store *st = NULL;
    char err[256], jti[32];

    w->rc = store_open(w->path, STORE_WORKER, &st, err, sizeof(err));
    if (w->rc == GH_OK) {
        snprintf(jti, sizeof(jti), "sync-%d", w->id);
        w->rc = store_token_revoke(st, jti, 4000000000LL);
    }
    store_close(st);
    return NULL;
}

static void
test_failed_sync_reports_nothing_done_and_hangs_nobody(void)
{
    char path[128];
    struct store *st;
    struct syncer w[SYNCERS];
    pthread_t th[SYNCERS];

    fault_clear();
    st = open_db("sync.db", path, sizeof(path));
    atomic_store(&fail_sync, 1);
    alarm(60);   /* a waiter left hanging fails the test instead of hanging it */
    for (int i = 0; i < SYNCERS; i++) {
        w[i] = (struct syncer){ .path = path, .id = i };
        T_EQ_INT(pthread_create(&th[i], NULL, durable_write, &w[i]), 0);
    }
    for (int i = 0; i < SYNCERS; i++)
        pthread_join(th[i], NULL);
    alarm(0);
    for (int i = 0; i < SYNCERS; i++)
        T_EQ_INT(w[i].rc, GH_ESTORE);   /* never "done" for a write whose sync failed */
    T_EQ_INT(store_fault_now(NULL, 0), STORE_FAULT_IO);
    T_EQ_INT(log_count("store_fault", "kind=io_error"), 1);   /* one line, four failures */
    atomic_store(&fail_sync, 0);
    T_EQ_INT(store_token_revoke(st, "after", 4000000000LL), GH_OK);
    T_EQ_INT(store_fault_now(NULL, 0), STORE_FAULT_NONE);
    T_EQ_INT(store_token_check(st, "after", NULL), GH_EDENIED);
    store_close(st);
}

static void
test_connection_made_read_only_is_opened_again(void)
{
    char path[128], *v = NULL;
    struct store *st;
    int before = log_count("store_reopened", NULL);

    fault_clear();
    st = open_db("moved.db", path, sizeof(path));
    T_EQ_INT(store_meta_set(st, "k", "a"), GH_OK);
    atomic_store(&fail_write, SQLITE_READONLY_DBMOVED);
    T_EQ_INT(store_meta_set(st, "k", "b"), GH_ESTORE);
    T_EQ_INT(store_fault_now(NULL, 0), STORE_FAULT_READONLY);
    T_EQ_INT(store_meta_set(st, "k", "c"), GH_OK);   /* on a new connection */
    T_EQ_INT(log_count("store_reopened", NULL), before + 1);
    T_EQ_INT(store_fault_now(NULL, 0), STORE_FAULT_NONE);
    T_EQ_INT(store_meta_get(st, "k", &v), GH_OK);
    T_EQ_STR(v, "c");
    free(v);
    store_close(st);
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

int
main(void)
{
    int rc;

    t_prog = "store_fault";
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gh-test-fault-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    shim_install("faulty");
    log_capture();
    T_RUN(test_one_line_per_episode_and_one_when_it_ends);
    T_RUN(test_quiet_keeps_the_fault_for_the_cli_only);
    T_RUN(test_locked_by_another_process_fails_writes_not_reads);
    T_RUN(test_parallel_writers_wait_once_for_a_lock_held_elsewhere);
    T_RUN(test_failed_sync_reports_nothing_done_and_hangs_nobody);
    T_RUN(test_connection_made_read_only_is_opened_again);
    rc = t_done();
    if (rc != 0) {   /* the harness wrote its findings into the captured stderr */
        FILE *f = fopen(logpath, "r");
        char line[4096];
        while (f && fgets(line, sizeof(line), f)) {
            if (strstr(line, "FAIL"))
                fputs(line, stdout);
        }
        if (f)
            fclose(f);
    }
    nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return rc;
}
